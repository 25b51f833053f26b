//! A counting connection: a loopback relay between the client and the test server that reads
//! the frontend protocol and records every round trip (a simple `Query` or an extended-protocol
//! `Sync`).

use std::sync::{Arc, Mutex};
use tidemark::tokio_postgres::config::Host;
use tidemark::tokio_postgres::Config;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

/// What the relay saw.
#[derive(Default, Debug)]
pub(crate) struct Seen {
    /// The text of each simple query.
    pub(crate) queries: Vec<String>,
    /// Extended-protocol round trips (Sync messages).
    pub(crate) syncs: usize,
}

pub(crate) struct Proxy {
    port: u16,
    upstream: Config,
    seen: Arc<Mutex<Seen>>,
}

impl Proxy {
    pub(crate) async fn start(upstream: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (up, s) = (upstream.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (up, s) = (up.clone(), s.clone());
                tokio::spawn(async move { relay(client, &up, s).await });
            }
        });
        Self {
            port,
            upstream,
            seen,
        }
    }

    /// A pool whose connections go through the relay.
    pub(crate) fn pool(&self) -> tidemark::deadpool_postgres::Pool {
        let mut c = Config::new();
        c.host("127.0.0.1").port(self.port);
        if let Some(u) = self.upstream.get_user() {
            c.user(u);
        }
        if let Some(p) = self.upstream.get_password() {
            c.password(p);
        }
        c.dbname(self.upstream.get_dbname().unwrap_or("postgres"));
        let manager = tidemark::deadpool_postgres::Manager::new(c, tidemark::tokio_postgres::NoTls);
        tidemark::deadpool_postgres::Pool::builder(manager)
            .max_size(2)
            .build()
            .unwrap()
    }

    /// Takes what was seen since the last call.
    pub(crate) fn take(&self) -> Seen {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

async fn relay(client: TcpStream, upstream: &Config, seen: Arc<Mutex<Seen>>) {
    let port = upstream.get_ports().first().copied().unwrap_or(5432);
    let server: (
        Box<dyn AsyncRead + Unpin + Send>,
        Box<dyn AsyncWrite + Unpin + Send>,
    ) = match upstream.get_hosts().first() {
        Some(Host::Unix(dir)) => {
            let s = UnixStream::connect(dir.join(format!(".s.PGSQL.{port}")))
                .await
                .unwrap();
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w))
        }
        Some(Host::Tcp(h)) => {
            let s = TcpStream::connect((h.as_str(), port)).await.unwrap();
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w))
        }
        None => panic!("the test server config has no host"),
    };
    let (mut server_read, mut server_write) = server;
    let (mut client_read, mut client_write) = client.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    // The startup message has no type byte; every later frontend message has one.
    let mut len = [0u8; 4];
    if client_read.read_exact(&mut len).await.is_err() {
        return;
    }
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
    client_read.read_exact(&mut body).await.unwrap();
    server_write.write_all(&len).await.unwrap();
    server_write.write_all(&body).await.unwrap();
    loop {
        let mut head = [0u8; 5];
        if client_read.read_exact(&mut head).await.is_err() {
            return;
        }
        let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize - 4;
        let mut body = vec![0u8; n];
        if client_read.read_exact(&mut body).await.is_err() {
            return;
        }
        match head[0] {
            b'Q' => seen
                .lock()
                .unwrap()
                .queries
                .push(String::from_utf8_lossy(&body[..n.saturating_sub(1)]).into_owned()),
            b'S' => seen.lock().unwrap().syncs += 1,
            _ => {}
        }
        if server_write.write_all(&head).await.is_err()
            || server_write.write_all(&body).await.is_err()
        {
            return;
        }
    }
}
