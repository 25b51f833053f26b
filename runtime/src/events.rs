//! The tracing events tidemark emits that programs may rely on: their targets and field names
//! are an interface (the CLI's progress lines are built from them); their messages are for
//! people and may change.
//!
//! | target | level | fields |
//! |---|---|---|
//! | [`STEP`] | INFO | `version`, `name`, `direction` (`up`/`down`), `duration_ms` (f64) |
//! | [`LOCK_WAIT`] | INFO | `key`, `holder`, `waited_ms` |
//! | [`LOCK_ACQUIRED`] | INFO | `key`, `waited_ms` (only after waiting) |
//! | [`FAILED`] | ERROR | `version`, `path` |
//! | [`FUTURE`] | WARN | `versions` (comma-separated) |
//! | [`STALE`] | WARN | `folder` (debug builds: the folder changed since the build) |
//! | [`CODE_START`] | INFO | `version`, `name`, `direction`: a code migration starts |
//! | [`LOCK_RETRY`] | WARN | `version`, `attempt`, `wait_ms`: a step gave up waiting for a lock and is retried |
//! | [`CONTRACT_WAITING`] | INFO | `version`, `holders` (how many live instances lack it) |
//! | [`INSTANCE`] | INFO/WARN/ERROR | `id`, `event` (`registered`, `expired`, `failed`, `refused`, `deregistered`) |
//! | [`PROGRESS`] | INFO | `done`, `total` (when known): sent by a code migration through [`progress`](crate::progress) |
//!
//! Every run is also inside a span named `tidemark.run` with `schema`, `table` and
//! `migrations`.

/// A migration step finished (applied or rolled back).
pub const STEP: &str = "tidemark::step";
/// The migration lock is held by someone else; tidemark waits (every 10 s while it waits).
pub const LOCK_WAIT: &str = "tidemark::lock_wait";
/// The migration lock was acquired after waiting.
pub const LOCK_ACQUIRED: &str = "tidemark::lock_acquired";
/// A migration failed.
pub const FAILED: &str = "tidemark::failed";
/// The database has versions newer than the set (a newer build migrated further); tolerated.
pub const FUTURE: &str = "tidemark::future";
/// A step gave up waiting for a lock under a DDL lock timeout and is retried.
pub const LOCK_RETRY: &str = "tidemark::lock_retry";
/// A fleet target finished (info; fields `target_name`, `outcome`: `migrated`, `up_to_date`,
/// `failed` or `skipped`). Each target's own events come inside a `fleet` span naming it.
pub const FLEET: &str = "tidemark::fleet";
/// A Rust code migration starts (SQL steps travel in batches and have no start event).
pub const CODE_START: &str = "tidemark::code_start";
/// A code migration reports how far it is ([`progress`](crate::progress)).
pub const PROGRESS: &str = "tidemark::progress";
/// Debug builds: the migration folder changed since this binary was built (new, changed or
/// gone files); the message lists them.
pub const STALE: &str = "tidemark::stale";
/// A contract migration waits: live registered instances embed sets without it (the message
/// names them).
pub const CONTRACT_WAITING: &str = "tidemark::contract_waiting";
/// A registered instance's life: `registered`, `expired` (its row outlived its time-to-live
/// without a heartbeat; it registers again), `failed` (a heartbeat), `refused` (it may not
/// register again) or `deregistered`.
pub const INSTANCE: &str = "tidemark::instance";
