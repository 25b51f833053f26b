//! A registered instance's handle (feature `rolling`): what
//! [`Migrator::register`](crate::Migrator::register) returns. Its heartbeat runs in a task of
//! its own; dropping the handle or awaiting [`Instance::shutdown`] ends it and removes the row.

use crate::error::Error;
use crate::report::Report;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How an instance registers (see [`Migrator::register`](crate::Migrator::register)).
///
/// ```
/// use std::time::Duration;
/// let r = tidemark::Registration::new("billing")
///     .heartbeat(Duration::from_secs(5))
///     .time_to_live(Duration::from_secs(20));
/// assert_eq!(r.ttl(), Duration::from_secs(20));
/// ```
#[derive(Clone, Debug)]
pub struct Registration {
    pub(crate) application: String,
    pub(crate) heartbeat: Duration,
    ttl: Option<Duration>,
}

impl Registration {
    /// Registers as `application` (shown in status and in what holds a contract), with a
    /// heartbeat every 10 s and a time-to-live of three heartbeats.
    pub fn new(application: impl Into<String>) -> Self {
        Self {
            application: application.into(),
            heartbeat: Duration::from_secs(10),
            ttl: None,
        }
    }

    /// How often the row is refreshed and the gate of a waiting contract migration looked at
    /// (default 10 s; at least 10 ms).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every.max(Duration::from_millis(10));
        self
    }

    /// How long the row lives without a heartbeat, by the server's clock: an instance killed
    /// without a clean shutdown holds contract migrations this long (default three heartbeats;
    /// never less than two).
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The time-to-live in use.
    pub fn ttl(&self) -> Duration {
        self.ttl
            .unwrap_or(self.heartbeat * 3)
            .max(self.heartbeat * 2)
    }
}

/// What a registered instance's heartbeat did that the application may want to log or act on.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstanceEvent {
    /// Contract migrations whose gate opened were applied (by this instance, under the lock,
    /// once for the whole fleet): the report lists them.
    Contracted(Report),
    /// The row had outlived its time-to-live without a heartbeat (the process was paused, the
    /// database unreachable); the instance registered again.
    Renewed,
    /// A heartbeat, or the contract run it started, failed; the next heartbeat tries again.
    Failed(Error),
    /// The row had expired and the instance could not register again (a contract migration it
    /// lacks ran meanwhile: [`Error::MissingContract`]). It is no longer registered and no
    /// heartbeat follows: stop serving.
    Refused(Error),
}

/// A live registration: the instance's row in the registry, kept alive by a heartbeat task.
///
/// Dropping it stops the heartbeat and removes the row in the background (if the runtime is
/// still running; otherwise the row expires after its time-to-live). Prefer
/// [`shutdown`](Self::shutdown) on a clean stop, which waits for the row to be gone.
#[derive(Debug)]
pub struct Instance {
    pub(crate) id: String,
    pub(crate) events: mpsc::Receiver<InstanceEvent>,
    pub(crate) stop: Option<oneshot::Sender<()>>,
    pub(crate) task: Option<JoinHandle<Result<(), Error>>>,
}

impl Instance {
    /// The instance's id in the registry.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next thing the heartbeat did (see [`InstanceEvent`]); `None` once the heartbeat
    /// ended. Up to 64 wait unread; later ones are dropped (each is also a `tracing` event,
    /// target [`events::INSTANCE`](crate::events::INSTANCE) or the run's own).
    pub async fn next_event(&mut self) -> Option<InstanceEvent> {
        self.events.recv().await
    }

    /// Stops the heartbeat and removes the row: contract migrations this instance held may
    /// run as soon as another instance's heartbeat sees it gone.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
