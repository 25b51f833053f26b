//! The instance registry (design §11): a table beside history (`{table}_instances`) where each
//! running instance that registered keeps a row alive with a heartbeat, and the gate that holds
//! a contract migration while a live instance embeds a set without it.
//!
//! Liveness is judged by the server's clock: a row lives until its `expires_at`, which each
//! heartbeat pushes forward by the instance's own time-to-live. A heartbeat only extends a row
//! that is still alive; an instance whose row expired registers again, under the lock, where a
//! contract it lacks refuses it (see [`sql`]). So liveness is only ever gained under the lock
//! that contract runs take, and a contract run re-reads the registry in the transaction that
//! applies it.

mod gate;
#[cfg(feature = "rolling")]
mod instance;
pub(crate) mod sql;

pub(crate) use gate::{hold, needs_registry};
#[cfg(feature = "rolling")]
pub use instance::{Instance, InstanceEvent, Registration};
