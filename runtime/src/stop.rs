//! Stopping a run from outside, as a signal handler does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// A switch that stops a run: give a clone to [`Migrator::stop_on`](crate::Migrator::stop_on)
/// and call [`stop`](Self::stop) (from a signal handler, say). The statement running is
/// cancelled on the server (its transaction rolls back), nothing after it starts, a wait for the
/// lock ends, the lock is released, and the run returns
/// [`Error::Interrupted`](crate::Error::Interrupted) with what committed before.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    stopped: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// A switch that is off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the runs this switch was given to (and any later one).
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once the switch is stopped.
    pub(crate) async fn stopped(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a stop in between is not missed.
            notified.as_mut().enable();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// A stop switch that may not be there: what the executor and the lock consult.
pub(crate) fn is_stopped(stop: Option<&Stop>) -> bool {
    stop.is_some_and(Stop::is_stopped)
}

/// Resolves when `stop` is stopped; never when there is none.
pub(crate) async fn stopped(stop: Option<&Stop>) {
    match stop {
        Some(s) => s.stopped().await,
        None => std::future::pending().await,
    }
}

/// What a locked run shares with whoever may stop it: the switch, and the backend pid of the
/// session running the migrations (so its statement can be cancelled).
#[derive(Debug, Default)]
pub(crate) struct Watch {
    pub(crate) stop: Option<Stop>,
    pub(crate) pid: std::sync::atomic::AtomicI32,
}

impl Watch {
    pub(crate) fn is_stopped(&self) -> bool {
        is_stopped(self.stop.as_ref())
    }
}
