//! The embedded migration set: what `embed_migrations!` builds at compile time. Data only: the
//! verbs that act on it live with the [`Migrator`](crate::Migrator).

use std::borrow::Cow;
use std::fmt;

/// How a migration is applied: versioned (once, in order) or repeatable (whenever it changes).
pub use tidemark_core::Kind as MigrationKind;

/// One SQL script of a migration (its forward or its rollback).
#[derive(Clone, PartialEq, Eq)]
pub struct Script {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) path: Cow<'static, str>,
    pub(crate) checksum: [u8; 32],
    pub(crate) no_transaction: bool,
    /// Wrapped in its own `BEGIN` … `COMMIT`, which tidemark's transaction replaces.
    pub(crate) own_transaction: bool,
    /// A Rust code migration's function (its `sql` is then empty).
    pub(crate) code: Option<crate::code::Code>,
    /// May apply below the highest applied version (`-- tidemark:out-of-order`).
    pub(crate) out_of_order: bool,
    /// A contract migration (`-- tidemark:contract`): waits until no live instance lacks it.
    pub(crate) contract: bool,
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

    /// Whether the file says `-- tidemark:out-of-order` (`//` in Rust): this migration may
    /// apply below the highest applied version, where every other one is refused unless
    /// [`allow_out_of_order`](crate::Migrator::allow_out_of_order) is set for the whole set.
    pub fn out_of_order(&self) -> bool {
        self.out_of_order
    }

    /// Whether the file says `-- tidemark:contract` (`//` in Rust): the migration removes or
    /// renames what the previous release uses, so [`run`](crate::Migrator::run) applies it only
    /// once no live registered instance embeds a set without it (see [`Phase`](crate::Phase)).
    pub fn contract(&self) -> bool {
        self.contract
    }

    /// Whether it is a Rust code migration's `up` or `down` (the file's path and checksum; no
    /// SQL).
    pub fn is_code(&self) -> bool {
        self.code.is_some()
    }

    /// Whether the file is wrapped in its own `BEGIN` … `COMMIT`: it runs in tidemark's
    /// transaction instead, without those two statements.
    pub fn own_transaction(&self) -> bool {
        self.own_transaction
    }

    /// The SQL sent to the server: [`sql`](Self::sql), with the file's own `BEGIN` and
    /// `COMMIT` blanked out when it is [wrapped](Self::own_transaction) (every byte offset,
    /// line and column stays the file's).
    pub fn sql_to_run(&self) -> Cow<'_, str> {
        let sql = self.sql();
        if self.own_transaction {
            if let Some(unwrapped) = tidemark_core::without_own_transaction(sql) {
                return Cow::Owned(unwrapped);
            }
        }
        Cow::Borrowed(sql)
    }
}

impl fmt::Debug for Script {
    /// The path, size and checksum, not the SQL (a set's `Debug` would print every script).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("path", &self.path)
            .field("bytes", &self.sql.len())
            .field("checksum", &tidemark_core::to_hex(&self.checksum))
            .field("no_transaction", &self.no_transaction)
            .field("own_transaction", &self.own_transaction)
            .field("code", &self.code)
            .finish()
    }
}

/// One migration: a version, a name, a forward script and maybe a rollback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    pub(crate) id: Cow<'static, str>,
    pub(crate) version_parts: Cow<'static, [u64]>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: MigrationKind,
    /// The version text an earlier tidemark recorded for this (diesel) migration.
    pub(crate) legacy: Option<Cow<'static, str>>,
    pub(crate) up: Script,
    pub(crate) down: Option<Script>,
}

impl Migration {
    /// The canonical version text recorded in history (`2.1`, `20240131120000.0`), or
    /// `R__{name}` for a repeatable migration.
    pub fn version(&self) -> &str {
        &self.id
    }

    /// The version's numeric parts (empty for a repeatable migration, and in a diesel folder,
    /// whose versions order as strings).
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

    /// Expand (the default) or contract (`-- tidemark:contract` in its forward file).
    pub fn phase(&self) -> crate::Phase {
        if self.up.contract {
            crate::Phase::Contract
        } else {
            crate::Phase::Expand
        }
    }

    /// The migration's entry in the set digest, as recorded when it is applied.
    pub(crate) fn entry_digest(&self) -> [u8; 32] {
        tidemark_core::entry_digest(self.kind, &self.id, &self.up.checksum)
    }
}

/// An ordered set of migrations, usually built at compile time by
/// [`embed_migrations!`](crate::embed_migrations) and kept in a `static`.
#[derive(Clone)]
pub struct Migrations {
    pub(crate) items: Cow<'static, [Migration]>,
    pub(crate) digest: [u8; 32],
    /// Where the folder was at build time (debug builds only), for the stale-binary check.
    pub(crate) source: Option<crate::__private::Source>,
    /// How versions compare: diesel's string order for a diesel folder, else numeric.
    pub(crate) order: tidemark_core::Order,
    /// The folder's checkpoint (`B{ver}__{name}.sql`), if it has one.
    pub(crate) checkpoint: Option<Checkpoint>,
}

/// A checkpoint (`B{ver}__{name}.sql`, written by `tidemark squash`): the schema as of its
/// version, which a database with no migration applied runs instead of the migrations it
/// stands for, recording each of them as applied. Those are the set's first `squashes`
/// versioned migrations; where a file is gone its entry stays, without a script
/// ([`Migrations::is_squashed`]).
#[derive(Clone, Debug)]
pub(crate) struct Checkpoint {
    /// The checkpoint as a migration: the newest version it squashes, its own name, its
    /// script. It has no history row of its own.
    pub(crate) migration: Migration,
    pub(crate) squashes: usize,
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

    /// The migration folder's absolute path when the set was built, in debug builds of a set
    /// from [`embed_migrations!`](crate::embed_migrations) (`None` in release builds, and for a
    /// set read at run time): where a development tool, such as `migrate squash`, writes.
    pub fn folder(&self) -> Option<&std::path::Path> {
        self.source.as_ref().map(|s| std::path::Path::new(s.dir))
    }

    /// How the set's versions compare: diesel's string order for a folder of diesel
    /// directories, else numeric.
    pub fn order(&self) -> tidemark_core::Order {
        self.order
    }

    /// Whether `m` is a migration whose file is gone, squashed into the set's checkpoint: it
    /// has no script of its own (its `up` is empty, at the checkpoint's path, with the
    /// checksum it had), and only the checkpoint can apply it.
    pub fn is_squashed(&self, m: &Migration) -> bool {
        self.checkpoint.as_ref().is_some_and(|c| {
            m.kind.is_versioned()
                && m.up.sql.is_empty()
                && m.up.code.is_none()
                && m.up.path == c.migration.up.path
        })
    }

    /// The checkpoint's file, version and how many migrations it stands for, if the set has
    /// one (see [`tidemark squash`](crate#the-schema)).
    pub fn checkpoint(&self) -> Option<(&Script, &str, usize)> {
        self.checkpoint
            .as_ref()
            .map(|c| (&c.migration.up, c.migration.version(), c.squashes))
    }

    /// The migration with this canonical version (or `R__{name}`), if the set has it.
    pub fn get(&self, version: &str) -> Option<&Migration> {
        self.items.iter().find(|m| m.id == version)
    }
}

impl fmt::Debug for Migrations {
    /// The digest and one line per migration (version, name, files), never the SQL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Line<'a>(&'a Migration);
        impl fmt::Debug for Line<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let m = self.0;
                write!(f, "{} {} ({}", m.id, m.name, m.up.path)?;
                if let Some(d) = &m.down {
                    write!(f, ", {}", d.path)?;
                }
                f.write_str(")")
            }
        }
        f.debug_struct("Migrations")
            .field("digest", &tidemark_core::to_hex(&self.digest))
            .field(
                "migrations",
                &self.items.iter().map(Line).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
