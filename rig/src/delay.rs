//! A slow link: a loopback TCP relay that holds every byte for a fixed time in each direction,
//! so a client on this machine pays what a round trip to another availability zone costs
//! (0.5 ms each way is a 1 ms round trip). Benchmarks compare tools through it; any client can
//! use it (tokio-postgres, sqlx, libpq).
//!
//! Each direction is a delay line, not a pause per message: a reader thread stamps each chunk
//! as it arrives and a writer thread sends it when its stamp is `delay` old, so pipelined
//! messages overlap as they would on a real link. Plain threads and blocking sockets, because
//! the async runtime's timers have a granularity of a millisecond; the writers ask the kernel
//! for a timer slack of a microsecond. [`DelayRelay::measured_round_trip`] says what the link
//! really adds.

use crate::conn::{addresses, Address};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tidemark::tokio_postgres::Config;

type Halves = (
    Box<dyn Read + Send>,
    Box<dyn Write + Send>,
    Box<dyn FnOnce() + Send>,
);

/// Where the relay connects: the upstream server's hosts, tried in order.
#[derive(Clone)]
struct Upstream(Vec<Address>);

impl Upstream {
    fn of(config: &Config) -> std::io::Result<Self> {
        let hosts = addresses(config);
        if hosts.is_empty() {
            return Err(std::io::Error::other("the upstream config names no host"));
        }
        Ok(Self(hosts))
    }

    /// A connection to the first host that accepts one, as a reading and a writing half, and a
    /// way to close it.
    fn connect(&self) -> std::io::Result<Halves> {
        let mut last = std::io::Error::other("no host");
        for address in &self.0 {
            match connect(address) {
                Ok(halves) => return Ok(halves),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A blocking connection to `address`.
fn connect(address: &Address) -> std::io::Result<Halves> {
    match address {
        Address::Unix(path) => {
            let s = UnixStream::connect(path)?;
            let closer = s.try_clone()?;
            Ok((
                Box::new(s.try_clone()?),
                Box::new(s),
                Box::new(move || drop(closer.shutdown(Shutdown::Both))),
            ))
        }
        Address::Tcp(host, port) => {
            let s = TcpStream::connect((host.as_str(), *port))?;
            s.set_nodelay(true)?;
            let closer = s.try_clone()?;
            Ok((
                Box::new(s.try_clone()?),
                Box::new(s),
                Box::new(move || drop(closer.shutdown(Shutdown::Both))),
            ))
        }
    }
}

/// A relay on 127.0.0.1 that delays each direction by the same time; see the module docs.
/// It runs until the process ends.
pub struct DelayRelay {
    port: u16,
    upstream: Config,
}

impl DelayRelay {
    /// Listens on a free loopback port and relays each connection to `upstream`, holding every
    /// chunk for `one_way` in each direction.
    pub fn start(upstream: Config, one_way: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let target = Upstream::of(&upstream)?;
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let target = target.clone();
                std::thread::spawn(move || {
                    let _ = relay(client, &target, one_way);
                });
            }
        });
        Ok(Self { port, upstream })
    }

    /// The loopback port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A tokio-postgres config for `dbname` through the relay (the upstream's user and
    /// password).
    pub fn config(&self, dbname: &str) -> Config {
        let mut c = Config::new();
        c.host("127.0.0.1").port(self.port).dbname(dbname);
        c.user(self.upstream.get_user().unwrap_or("postgres"));
        if let Some(p) = self.upstream.get_password() {
            c.password(p);
        }
        c
    }

    /// A `postgres://` URL for `dbname` through the relay (for libpq and sqlx).
    pub fn url(&self, dbname: &str) -> String {
        crate::conn::loopback_url(&self.upstream, self.port, dbname)
    }

    /// The median time of `SELECT 1` through the relay minus the same on a direct connection,
    /// over `n` tries each on one connection: what a round trip on this link adds.
    pub async fn measured_round_trip(&self, dbname: &str, n: usize) -> std::io::Result<Duration> {
        let mut direct = self.upstream.clone();
        direct.dbname(dbname);
        let slow = median_select(&self.config(dbname), n).await?;
        let fast = median_select(&direct, n).await?;
        Ok(slow.saturating_sub(fast))
    }
}

async fn median_select(config: &Config, n: usize) -> std::io::Result<Duration> {
    let (client, connection) = config
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let t = Instant::now();
        client
            .simple_query("SELECT 1")
            .await
            .map_err(std::io::Error::other)?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn relay(client: TcpStream, target: &Upstream, one_way: Duration) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let (server_read, server_write, close_server) = target.connect()?;
    let (client_read, client_write) = (client.try_clone()?, client.try_clone()?);
    // Whichever side ends first ends both: the client going away closes the server's
    // connection, and the other way round.
    let up = std::thread::spawn(move || {
        line(Box::new(client_read), server_write, one_way);
        close_server();
    });
    line(server_read, Box::new(client_write), one_way);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}

/// One direction: what `from` sends reaches `to` `delay` later.
fn line(mut from: Box<dyn Read + Send>, mut to: Box<dyn Write + Send>, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        // The kernel's default slack (50 µs) would be a tenth of the delay.
        let _ = nix::sys::prctl::set_timerslack(1_000);
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).and_then(|()| to.flush()).is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}
