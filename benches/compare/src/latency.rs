//! The deploy and no-op cases over a slow link: every tool reaches the server through a loopback
//! relay that holds each direction for 0.5 ms (a 1 ms round trip, as to another availability
//! zone). On the unix socket a round trip costs about 0.05 ms, which hides how many each tool
//! makes; here each one costs what it does in production.

use crate::tools::Target;
use std::fmt::Write as _;
use std::time::Duration;
use tidemark::testing::TestServer;
use tidemark_rig::DelayRelay;

/// Each direction's delay.
const ONE_WAY: Duration = Duration::from_micros(500);

pub async fn section(
    server: &TestServer,
    runs: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    let relay = DelayRelay::start(server.config(server.admin_database()), ONE_WAY)?;
    let added = relay
        .measured_round_trip(server.admin_database(), 200)
        .await?;
    let target = |db: &str| Target {
        config: relay.config(db),
        url: relay.url(db),
    };
    let mut md = String::new();
    writeln!(
        md,
        "\n## Over a 1 ms link\n\n\
         The same cases through a loopback TCP relay that delays each direction by {} µs \
         (measured: a `SELECT 1` round trip costs {:.2} ms more through it than on the socket).",
        ONE_WAY.as_micros(),
        added.as_secs_f64() * 1000.0
    )?;
    let link = " over the 1 ms link";
    md.push_str(&crate::deploy::section(server, target, runs, link).await?);
    md.push_str(&crate::noop_section(server, target, runs, link).await?);
    Ok(md)
}
