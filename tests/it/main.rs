//! Integration tests against a real PostgreSQL: `TIDEMARK_TEST_DATABASE_URL`, or a throwaway cluster the
//! harness starts itself. One binary, one module per behaviour.

mod code;
mod concurrency;
mod corpora;
mod data_tests;
mod ddl_locks;
mod embed;
mod errors;
mod failure;
mod fleet;
mod folders;
mod gate;
mod lock;
mod no_transaction;
mod policies;
mod privileges;
mod readme;
mod rolling;
mod roundtrips;
mod run;
mod schema;
mod self_migrating;
mod smoke;
mod stale;
mod support;
mod targets;
mod testing_kit;
mod tls;
mod verbs;
