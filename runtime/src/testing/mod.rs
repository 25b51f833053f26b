//! Test support (feature `testing`): a throwaway PostgreSQL server for tests and examples.

mod server;

pub use server::{server, TestServer};
