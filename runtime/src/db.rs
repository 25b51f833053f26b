//! What the verbs accept: a deadpool pool or a tokio-postgres client.

use crate::error::Error;
use deadpool_postgres::{ClientWrapper, Object, Pool};
use std::ops::Deref;
use tokio_postgres::Client;

/// A database to migrate: a [`deadpool_postgres::Pool`] or a [`tokio_postgres::Client`].
///
/// Verbs take `impl Into<Db>`, so `run(&pool)` and `run(&client)` both work. With a pool the
/// advisory lock is held on a connection detached from the pool, which is closed afterwards, so a
/// lock can never return to the pool. With a client the lock is taken on that client's session
/// and released before the verb returns (if the future is dropped midway, the session keeps the
/// lock until it ends).
#[derive(Clone, Copy)]
pub enum Db<'a> {
    /// A pool: short reads use a pooled connection, locked work a detached one.
    Pool(&'a Pool),
    /// One client, used for everything.
    Client(&'a Client),
}

impl<'a> From<&'a Pool> for Db<'a> {
    fn from(p: &'a Pool) -> Self {
        Self::Pool(p)
    }
}

impl<'a> From<&'a Client> for Db<'a> {
    fn from(c: &'a Client) -> Self {
        Self::Client(c)
    }
}

impl<'a> From<&'a Object> for Db<'a> {
    fn from(o: &'a Object) -> Self {
        Self::Client(o)
    }
}

/// A connection in use by a verb.
pub(crate) enum Conn<'a> {
    Pooled(Object),
    Detached(ClientWrapper),
    Borrowed(&'a Client),
}

impl Deref for Conn<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        match self {
            Self::Pooled(o) => o,
            Self::Detached(c) => c,
            Self::Borrowed(c) => c,
        }
    }
}

impl Conn<'_> {
    /// The same session detached from its pool (closed, never reused, when dropped): the
    /// session a run's fast path used becomes the one its migrations run on, its catalog caches
    /// already warm with the bookkeeping tables.
    pub(crate) fn detach(self) -> Self {
        match self {
            Self::Pooled(o) => Self::Detached(Object::take(o)),
            other => other,
        }
    }

    /// The client for exclusive use, when this connection is tidemark's own (detached from the
    /// pool): what a code migration's `Transaction` needs.
    pub(crate) fn exclusive(&mut self) -> Option<&mut Client> {
        match self {
            Self::Detached(c) => Some(c),
            _ => None,
        }
    }
}

/// The session a locked verb works on: tidemark's own (a detached pool connection, which code
/// migrations can open a `Transaction` on) or the caller's client, shared.
pub(crate) enum Session<'s> {
    Owned(&'s mut Client),
    Shared(&'s Client),
}

impl Session<'_> {
    pub(crate) fn client(&self) -> &Client {
        match self {
            Self::Owned(c) => c,
            Self::Shared(c) => c,
        }
    }

    /// Whether the session is tidemark's own.
    pub(crate) fn is_owned(&self) -> bool {
        matches!(self, Self::Owned(_))
    }

    /// The client for a `Transaction`, when the session is tidemark's own.
    pub(crate) fn exclusive(&mut self) -> Option<&mut Client> {
        match self {
            Self::Owned(c) => Some(c),
            Self::Shared(_) => None,
        }
    }
}

impl<'a> Db<'a> {
    /// A connection for a short read.
    pub(crate) async fn shared(self) -> Result<Conn<'a>, Error> {
        Ok(match self {
            Self::Pool(p) => Conn::Pooled(p.get().await?),
            Self::Client(c) => Conn::Borrowed(c),
        })
    }

    /// A connection that will hold the advisory lock: detached from the pool, so it is closed,
    /// never reused, when it is dropped.
    pub(crate) async fn dedicated(self) -> Result<Conn<'a>, Error> {
        Ok(match self {
            Self::Pool(p) => Conn::Detached(Object::take(p.get().await?)),
            Self::Client(c) => Conn::Borrowed(c),
        })
    }
}
