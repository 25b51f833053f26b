//! The embedded migration set: what `embed_migrations!` builds at compile time.

use crate::migrator::Migrator;
use std::borrow::Cow;

/// One SQL script of a migration (its forward or its rollback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) path: Cow<'static, str>,
    pub(crate) checksum: [u8; 32],
    pub(crate) no_transaction: bool,
}

impl Script {
    /// The SQL as it runs: a byte-order mark removed, line ends as in the file.
    pub fn sql(&self) -> &str {
        self.sql.strip_prefix('\u{feff}').unwrap_or(&self.sql)
    }

    /// The file's path relative to the crate root, e.g. `migrations/V1__init.sql`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// SHA-256 of the normalized text (BOM removed, CRLF as LF).
    pub fn checksum(&self) -> &[u8; 32] {
        &self.checksum
    }

    /// Whether the script runs outside a transaction, statement by statement.
    pub fn no_transaction(&self) -> bool {
        self.no_transaction
    }
}

/// Versioned (applied once, in order) or repeatable (re-applied when it changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MigrationKind {
    /// `V{ver}__…`, `{ver}_…`: applied once, in version order.
    Versioned,
    /// `R__…`: applied after the versioned ones whenever its checksum changed.
    Repeatable,
}

impl MigrationKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Versioned => "versioned",
            Self::Repeatable => "repeatable",
        }
    }
}

/// One migration: a version, a name, a forward script and maybe a rollback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    pub(crate) id: Cow<'static, str>,
    pub(crate) version_parts: Cow<'static, [u64]>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: MigrationKind,
    pub(crate) up: Script,
    pub(crate) down: Option<Script>,
}

impl Migration {
    /// The canonical version text recorded in history (`2.1`, `20240131120000.0`), or
    /// `R__{name}` for a repeatable migration.
    pub fn version(&self) -> &str {
        &self.id
    }

    /// The version's parts (empty for a repeatable migration).
    pub fn version_parts(&self) -> &[u64] {
        &self.version_parts
    }

    /// The descriptive name from the file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Versioned or repeatable.
    pub fn kind(&self) -> MigrationKind {
        self.kind
    }

    /// The forward script.
    pub fn up(&self) -> &Script {
        &self.up
    }

    /// The rollback script, if the folder has one.
    pub fn down(&self) -> Option<&Script> {
        self.down.as_ref()
    }

    pub(crate) fn digest_kind(&self) -> tidemark_core::DigestKind {
        match self.kind {
            MigrationKind::Versioned => tidemark_core::DigestKind::Versioned,
            MigrationKind::Repeatable => tidemark_core::DigestKind::Repeatable,
        }
    }
}

/// An ordered set of migrations, usually built at compile time by
/// [`embed_migrations!`](crate::embed_migrations) and kept in a `static`.
#[derive(Clone, Debug)]
pub struct Migrations {
    pub(crate) items: Cow<'static, [Migration]>,
    pub(crate) digest: [u8; 32],
    pub(crate) source_dir: Option<Cow<'static, str>>,
}

impl Migrations {
    /// The migrations in run order: versioned by version, then repeatables by name.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.items.iter()
    }

    /// The number of migrations.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The digest of the whole set, computed at build time. A database whose recorded digest is
    /// equal has exactly these migrations applied.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The folder the set was read from at build time, if known.
    pub fn source_dir(&self) -> Option<&str> {
        self.source_dir.as_deref()
    }

    /// Builds a set at run time from a folder scanned by [`tidemark_core::scan`]: what the
    /// `tidemark` CLI does with a folder on disk. Programs that embed their migrations use
    /// [`embed_migrations!`](crate::embed_migrations) instead; both give the same set.
    pub fn from_scanned(set: tidemark_core::MigrationSet) -> Self {
        let owned = |s: tidemark_core::Script| Script {
            sql: Cow::Owned(s.text),
            path: Cow::Owned(s.path),
            checksum: s.checksum,
            no_transaction: s.no_transaction,
        };
        let items = set
            .migrations
            .into_iter()
            .map(|m| Migration {
                id: Cow::Owned(m.id()),
                version_parts: Cow::Owned(
                    m.version
                        .as_ref()
                        .map(|v| v.parts().to_vec())
                        .unwrap_or_default(),
                ),
                name: Cow::Owned(m.name),
                kind: match m.kind {
                    tidemark_core::Kind::Versioned => MigrationKind::Versioned,
                    tidemark_core::Kind::Repeatable => MigrationKind::Repeatable,
                },
                up: owned(m.up),
                down: m.down.map(owned),
            })
            .collect::<Vec<_>>();
        Self {
            items: Cow::Owned(items),
            digest: set.digest,
            source_dir: None,
        }
    }

    /// A [`Migrator`] with the default options, to configure and run.
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator::new(self)
    }

    /// Whether the database has exactly this set applied, with the default history table: one
    /// query, no lock, for readiness probes. Use [`Migrator::is_up_to_date`] for another
    /// schema or table.
    ///
    /// ```no_run
    /// # async fn ready(pool: tidemark::deadpool_postgres::Pool) -> Result<bool, tidemark::Error> {
    /// static MIGRATIONS: tidemark::Migrations = tidemark::embed_migrations!("examples/migrations");
    /// MIGRATIONS.is_up_to_date(&pool).await
    /// # }
    /// ```
    pub async fn is_up_to_date<'a>(
        &self,
        db: impl Into<crate::Db<'a>>,
    ) -> Result<bool, crate::Error> {
        self.migrator().is_up_to_date(db).await
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Const constructors for the code `embed_migrations!` generates. Not public API.
#[doc(hidden)]
pub mod private {
    use super::*;

    /// The set a failing `embed_migrations!` expands to, so the error is the only one shown.
    pub const EMPTY: Migrations = Migrations {
        items: Cow::Borrowed(&[]),
        digest: [0; 32],
        source_dir: None,
    };

    pub const fn migrations(
        items: &'static [Migration],
        digest: [u8; 32],
        dir: &'static str,
    ) -> Migrations {
        Migrations {
            items: Cow::Borrowed(items),
            digest,
            source_dir: Some(Cow::Borrowed(dir)),
        }
    }

    pub const fn migration(
        id: &'static str,
        version_parts: &'static [u64],
        name: &'static str,
        repeatable: bool,
        up: Script,
        down: Option<Script>,
    ) -> Migration {
        Migration {
            id: Cow::Borrowed(id),
            version_parts: Cow::Borrowed(version_parts),
            name: Cow::Borrowed(name),
            kind: if repeatable {
                MigrationKind::Repeatable
            } else {
                MigrationKind::Versioned
            },
            up,
            down,
        }
    }

    pub const fn script(
        sql: &'static str,
        path: &'static str,
        checksum: [u8; 32],
        no_transaction: bool,
    ) -> Script {
        Script {
            sql: Cow::Borrowed(sql),
            path: Cow::Borrowed(path),
            checksum,
            no_transaction,
        }
    }
}
