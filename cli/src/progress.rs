//! Progress lines on stderr while a run goes, built from tidemark's structured tracing events
//! (their targets and fields, see [`tidemark::events`]), never from the wording of a message.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidemark::events;
use tracing::field::{Field, Visit};
use tracing::instrument::WithSubscriber;

/// How often a run that is not watched on a terminal says it is still going.
const TICK: Duration = Duration::from_secs(5);

/// On a terminal, a code migration's progress is shown at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Runs `fut`, printing a line to stderr as each migration completes when a person is watching
/// (stderr is a terminal), or, in a log (stderr is not a terminal), a line every few seconds
/// while a long run goes on. Nothing with `--json`.
pub(crate) async fn with_progress<F: Future>(json: bool, fut: F) -> F::Output {
    if json {
        return fut.await;
    }
    let done = Arc::new(AtomicUsize::new(0));
    let code = Arc::new(Mutex::new(Code::default()));
    let progress = Progress {
        lines: std::io::stderr().is_terminal(),
        done: done.clone(),
        code: code.clone(),
    };
    if progress.lines {
        return fut.with_subscriber(progress).await;
    }
    let fut = fut.with_subscriber(progress);
    tokio::pin!(fut);
    let started = std::time::Instant::now();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            _ = tick.tick() => crate::output::err(
                anstyle::Style::new(),
                &format!(
                    "  still running after {} s: {} done{}",
                    started.elapsed().as_secs(),
                    crate::output::count(done.load(Ordering::Relaxed), "migration"),
                    code.lock().map(|c| c.describe()).unwrap_or_default(),
                ),
            ),
        }
    }
}

/// A tracing subscriber that counts finished steps and, on a terminal, turns tidemark's events
/// into progress lines.
struct Progress {
    lines: bool,
    done: Arc<AtomicUsize>,
    code: Arc<Mutex<Code>>,
}

/// The code migration running and how far it said it is.
#[derive(Default)]
struct Code {
    running: Option<String>,
    done: String,
    total: String,
    shown: Option<Instant>,
}

impl Code {
    /// `; 3 (backfill) at 600 of 1200` for the log line, or nothing.
    fn describe(&self) -> String {
        let Some(running) = &self.running else {
            return String::new();
        };
        match (self.done.as_str(), self.total.as_str()) {
            ("", _) => format!("; {running} running"),
            (done, "") => format!("; {running} at {done}"),
            (done, total) => format!("; {running} at {done} of {total}"),
        }
    }
}

#[derive(Default)]
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.push((f.name(), format!("{v:?}")));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.push((f.name(), v.to_owned()));
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.push((f.name(), format!("{v:.1}")));
    }
}

impl tracing::Subscriber for Progress {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        [
            events::STEP,
            events::LOCK_WAIT,
            events::CODE_START,
            events::PROGRESS,
        ]
        .contains(&m.target())
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let target = event.metadata().target();
        let mut f = Fields::default();
        event.record(&mut f);
        if target == events::STEP {
            self.done.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut c) = self.code.lock() {
                *c = Code::default();
            }
        }
        if target == events::CODE_START || target == events::PROGRESS {
            let Ok(mut c) = self.code.lock() else { return };
            if target == events::CODE_START {
                *c = Code {
                    running: Some(format!("{} ({})", f.get("version"), f.get("name"))),
                    ..Code::default()
                };
            } else {
                (c.done, c.total) = (f.get("done").to_owned(), f.get("total").to_owned());
            }
            let due = c.shown.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
            if !self.lines || !due {
                return;
            }
            c.shown = Some(Instant::now());
            let line = format!("  code {}", c.describe().trim_start_matches("; "));
            drop(c);
            crate::output::err(anstyle::Style::new(), &line);
            return;
        }
        if !self.lines {
            return;
        }
        let line = match event.metadata().target() {
            events::STEP => format!(
                "  {:<4} {:<14} {}  ({} ms)",
                f.get("direction"),
                f.get("version"),
                f.get("name"),
                f.get("duration_ms")
            ),
            events::LOCK_WAIT => format!(
                "  waiting for the migration lock, held by {}",
                f.get("holder")
            ),
            _ => return,
        };
        crate::output::err(anstyle::Style::new(), &line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
