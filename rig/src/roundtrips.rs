//! A counting connection: a loopback relay between a client and the test server that reads the
//! frontend protocol and records every round trip (a simple `Query` or an extended-protocol
//! `Sync`). Any client can go through it (tokio-postgres, sqlx, libpq), so round trips can be
//! compared across tools.

use std::sync::{Arc, Mutex};
use tidemark::tokio_postgres::{self as tokio_postgres, Config};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

/// The request codes of SSLRequest and GSSENCRequest, sent before the startup message.
const ENCRYPTION_REQUEST_SSL: u32 = 80_877_103;
const ENCRYPTION_REQUEST_GSS: u32 = 80_877_104;

/// What the relay saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// The text of each simple query.
    pub queries: Vec<String>,
    /// Extended-protocol round trips (Sync messages).
    pub syncs: usize,
}

/// A relay that counts round trips; see the module docs.
pub struct RoundTripCounter {
    port: u16,
    upstream: Config,
    seen: Arc<Mutex<Seen>>,
}

impl RoundTripCounter {
    /// Listens on 127.0.0.1 (a free port) and relays each connection to `upstream`.
    pub async fn start(upstream: Config) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (up, s) = (upstream.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (up, s) = (up.clone(), s.clone());
                tokio::spawn(async move { relay(client, &up, s).await });
            }
        });
        Ok(Self {
            port,
            upstream,
            seen,
        })
    }

    /// The loopback port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `postgres://` URL for `dbname` through the relay (password included: for clients, not
    /// for printing).
    pub fn url(&self, dbname: &str) -> String {
        crate::conn::loopback_url(&self.upstream, self.port, dbname)
    }

    /// A pool whose connections go through the relay, to the upstream database.
    pub fn pool(&self) -> tidemark::deadpool_postgres::Pool {
        let mut c = Config::new();
        c.host("127.0.0.1").port(self.port);
        if let Some(u) = self.upstream.get_user() {
            c.user(u);
        }
        if let Some(p) = self.upstream.get_password() {
            c.password(p);
        }
        c.dbname(self.upstream.get_dbname().unwrap_or("postgres"));
        let manager = tidemark::deadpool_postgres::Manager::new(c, tokio_postgres::NoTls);
        tidemark::deadpool_postgres::Pool::builder(manager)
            .max_size(2)
            .build()
            .unwrap()
    }

    /// Takes what was seen since the last call.
    pub fn take(&self) -> Seen {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

type Halves = (
    Box<dyn AsyncRead + Unpin + Send>,
    Box<dyn AsyncWrite + Unpin + Send>,
);

/// The first of the upstream's hosts that accepts a connection, as libpq tries them: a
/// `DATABASE_URL` may name a TCP host and a socket directory (`?host=/run/pg`) together.
async fn connect_upstream(upstream: &Config) -> Option<Halves> {
    for address in crate::conn::addresses(upstream) {
        match address {
            crate::conn::Address::Unix(path) => {
                if let Ok(s) = UnixStream::connect(path).await {
                    let (r, w) = s.into_split();
                    return Some((Box::new(r), Box::new(w)));
                }
            }
            crate::conn::Address::Tcp(h, port) => {
                if let Ok(s) = TcpStream::connect((h.as_str(), port)).await {
                    let (r, w) = s.into_split();
                    return Some((Box::new(r), Box::new(w)));
                }
            }
        }
    }
    None
}

async fn relay(client: TcpStream, upstream: &Config, seen: Arc<Mutex<Seen>>) {
    let Some((mut server_read, mut server_write)) = connect_upstream(upstream).await else {
        return; // the client sees its connection closed
    };
    let (mut client_read, mut client_write) = client.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    // The startup message has no type byte; libpq may send an SSLRequest or GSSENCRequest
    // first (also untyped), which the server answers with one byte. Every later frontend
    // message has a type byte.
    loop {
        let mut len = [0u8; 4];
        if client_read.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut body = vec![
            0u8;
            usize::try_from(u32::from_be_bytes(len))
                .unwrap_or(4)
                .saturating_sub(4)
        ];
        if client_read.read_exact(&mut body).await.is_err()
            || server_write.write_all(&len).await.is_err()
            || server_write.write_all(&body).await.is_err()
        {
            return;
        }
        let code = body
            .get(..4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        if !matches!(code, Some(ENCRYPTION_REQUEST_SSL | ENCRYPTION_REQUEST_GSS)) {
            break;
        }
    }
    loop {
        let mut head = [0u8; 5];
        if client_read.read_exact(&mut head).await.is_err() {
            return;
        }
        let n = usize::try_from(u32::from_be_bytes([head[1], head[2], head[3], head[4]]))
            .unwrap_or(4)
            .saturating_sub(4);
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
