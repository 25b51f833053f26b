//! What the verbs accept: a deadpool pool or a tokio-postgres client.

use crate::error::Error;
use deadpool_postgres::{Object, Pool};
use std::ops::Deref;
use tokio_postgres::Client;

/// A database to migrate: a [`deadpool_postgres::Pool`] or a [`tokio_postgres::Client`].
///
/// Verbs take `impl Into<Db>`, so `run(&pool)` and `run(&client)` both work. With a pool the
/// advisory lock is held on a session of tidemark's own and the migrations run on another; each
/// goes back to the pool only when its part ended cleanly (the lock released, the work done:
/// every setting tidemark makes is transaction-local or put back), and is closed otherwise (an
/// error, a stop, a dropped future), so a lock or a half-done session never returns to the
/// pool. With a client the lock is taken on that client's session and released before the verb
/// returns (if the future is dropped midway, the session keeps the lock until it ends).
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
    /// From the pool for a short read; back to the pool when dropped.
    Pooled(Object),
    /// tidemark's own for locked work (see [`Owned`]).
    Owned(Owned),
    Borrowed(&'a Client),
}

/// A pool session tidemark holds for the lock or the work: back to the pool when dropped only
/// once [`Conn::clean`] said its part ended cleanly; otherwise detached and closed, whatever
/// state it is in (a lock held, a transaction open, a cancelled statement).
pub(crate) struct Owned {
    object: Option<Object>,
    clean: bool,
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(o) = self.object.take() {
            if !self.clean {
                drop(Object::take(o));
            }
        }
    }
}

impl Deref for Conn<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        match self {
            Self::Pooled(o) => o,
            Self::Owned(o) => o.object.as_ref().expect("held until dropped"),
            Self::Borrowed(c) => c,
        }
    }
}

impl Conn<'_> {
    /// The same session, now tidemark's own for locked work: the session a run's fast path used
    /// becomes the one its migrations run on, its catalog caches already warm with the
    /// bookkeeping tables.
    pub(crate) fn owned(self) -> Self {
        match self {
            Self::Pooled(o) => Self::Owned(Owned {
                object: Some(o),
                clean: false,
            }),
            other => other,
        }
    }

    /// Its part ended cleanly: an owned session goes back to the pool when dropped (the
    /// application's next `pool.get()` opens no connection).
    pub(crate) fn clean(&mut self) {
        if let Self::Owned(o) = self {
            o.clean = true;
        }
    }

    /// The client for exclusive use, when this connection is tidemark's own: what a code
    /// migration's `Transaction` needs.
    pub(crate) fn exclusive(&mut self) -> Option<&mut Client> {
        match self {
            Self::Owned(o) => o.object.as_deref_mut().map(|w| &mut **w),
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

    /// A connection of tidemark's own for the lock or the work ([`Conn::owned`]).
    pub(crate) async fn dedicated(self) -> Result<Conn<'a>, Error> {
        Ok(self.shared().await?.owned())
    }
}
