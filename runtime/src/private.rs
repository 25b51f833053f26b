//! Not public API: what the code `embed_migrations!` generates calls, and what the `tidemark`
//! binary uses to build a set from a folder at run time. Exempt from semver, like the
//! `tidemark-core` and `tidemark-macros` crates it pairs with (pinned with `=` versions).

use crate::migrations::{Migration, MigrationKind, Migrations, Script};
use std::borrow::Cow;
use tidemark_core::Order;

/// The set a failing `embed_migrations!` expands to, so the error is the only one shown.
pub const EMPTY: Migrations = Migrations {
    items: Cow::Borrowed(&[]),
    digest: [0; 32],
    source: None,
    order: Order::Numeric,
    checkpoint: None,
};

/// The kinds and orders, short for the generated code.
pub const VERSIONED: MigrationKind = MigrationKind::Versioned;
/// See [`VERSIONED`].
pub const REPEATABLE: MigrationKind = MigrationKind::Repeatable;
/// See [`VERSIONED`].
pub const CODE: MigrationKind = MigrationKind::Code;

pub use crate::code::{boxed, BoxError, Code, CodeFuture};
pub use tokio_postgres::{Client, Transaction};
/// Versions ordered numerically.
pub const NUMERIC: Order = Order::Numeric;
/// Versions ordered as strings (a diesel folder).
pub const TEXT: Order = Order::Text;
/// A migration without a rollback script.
pub const NO_DOWN: Option<Script> = None;

/// A rollback script.
pub const fn down(script: Script) -> Option<Script> {
    Some(script)
}

/// Where an embedded set was read from: given in debug builds only, for the check that the
/// binary is not stale; release builds hold no build-machine path.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// The folder's absolute path at build time.
    pub dir: &'static str,
    /// The folder as written in the macro call.
    pub shown: &'static str,
    /// The macro's `ignore` list.
    pub ignore: &'static [&'static str],
    /// Whether a build script watches the folder.
    pub watched: bool,
}

/// A set built at compile time.
pub const fn migrations(
    items: &'static [Migration],
    digest: [u8; 32],
    source: Option<Source>,
    order: Order,
) -> Migrations {
    Migrations {
        items: Cow::Borrowed(items),
        digest,
        source,
        order,
        checkpoint: None,
    }
}

/// A set built at compile time with its checkpoint: `migration` is the checkpoint (the newest
/// version it squashes, its name, its script) and it stands for the first `squashes`
/// versioned migrations of `items`.
pub const fn checkpointed(
    items: &'static [Migration],
    digest: [u8; 32],
    source: Option<Source>,
    order: Order,
    migration: Migration,
    squashes: usize,
) -> Migrations {
    Migrations {
        items: Cow::Borrowed(items),
        digest,
        source,
        order,
        checkpoint: Some(crate::migrations::Checkpoint {
            migration,
            squashes,
        }),
    }
}

/// The script of a migration squashed into the checkpoint at `path`, whose file is gone: no
/// SQL, the checksum it had.
pub const fn squashed(path: &'static str, checksum: [u8; 32]) -> Script {
    Script {
        sql: Cow::Borrowed(""),
        path: Cow::Borrowed(path),
        checksum,
        no_transaction: false,
        own_transaction: false,
        code: None,
        out_of_order: false,
        contract: false,
    }
}

/// One migration built at compile time; `legacy` is what an earlier tidemark recorded as its
/// version (`""` when nothing else).
pub const fn migration(
    id: &'static str,
    version_parts: &'static [u64],
    name: &'static str,
    kind: MigrationKind,
    legacy: &'static str,
    up: Script,
    down: Option<Script>,
) -> Migration {
    Migration {
        id: Cow::Borrowed(id),
        version_parts: Cow::Borrowed(version_parts),
        name: Cow::Borrowed(name),
        kind,
        legacy: if legacy.is_empty() {
            None
        } else {
            Some(Cow::Borrowed(legacy))
        },
        up,
        down,
    }
}

/// One script built at compile time.
pub const fn script(
    sql: &'static str,
    path: &'static str,
    checksum: [u8; 32],
    no_transaction: bool,
    own_transaction: bool,
) -> Script {
    Script {
        sql: Cow::Borrowed(sql),
        path: Cow::Borrowed(path),
        checksum,
        no_transaction,
        own_transaction,
        code: None,
        out_of_order: false,
        contract: false,
    }
}

/// `script` marked `-- tidemark:out-of-order` (`//` in Rust).
pub const fn out_of_order(mut script: Script) -> Script {
    script.out_of_order = true;
    script
}

/// `script` marked `-- tidemark:contract` (`//` in Rust): a contract migration.
pub const fn contract(mut script: Script) -> Script {
    script.contract = true;
    script
}

/// A code migration's `up` or `down`: its file, the checksum of its source, and the generated
/// wrapper around the function.
pub const fn code_script(path: &'static str, checksum: [u8; 32], code: Code) -> Script {
    Script {
        sql: Cow::Borrowed(""),
        path: Cow::Borrowed(path),
        checksum,
        no_transaction: matches!(code, Code::Client(_)),
        own_transaction: false,
        code: Some(code),
        out_of_order: false,
        contract: false,
    }
}

/// A scanned script as the run time holds it (a code migration's without its code, which only
/// the compiler has).
fn owned_script(s: tidemark_core::Script) -> Script {
    Script {
        code: s.code.then_some(Code::NotEmbedded),
        sql: if s.code {
            Cow::Borrowed("")
        } else {
            Cow::Owned(s.text)
        },
        path: Cow::Owned(s.path),
        checksum: s.checksum,
        no_transaction: s.no_transaction,
        own_transaction: s.own_transaction,
        out_of_order: s.out_of_order,
        contract: s.contract,
    }
}

/// A set built at run time from a folder scanned by `tidemark_core::scan`: what the `tidemark`
/// CLI does with a folder on disk. Gives the same set as `embed_migrations!` on that folder.
pub fn from_scanned(set: tidemark_core::MigrationSet) -> Migrations {
    let numeric = set.order == Order::Numeric;
    let items = set
        .migrations
        .into_iter()
        .map(|m| Migration {
            id: Cow::Owned(m.id()),
            version_parts: Cow::Owned(
                m.version
                    .as_ref()
                    .and_then(|v| v.parts())
                    .filter(|_| numeric)
                    .map(<[u64]>::to_vec)
                    .unwrap_or_default(),
            ),
            legacy: m
                .version
                .as_ref()
                .and_then(|v| v.legacy_text())
                .map(|l| Cow::Owned(l.to_owned())),
            name: Cow::Owned(m.name),
            kind: m.kind,
            // Only the compiler knows whether a code migration's file has a `down`: assume one,
            // so that a plan across it names the migration instead of a missing rollback (the
            // binary refuses to run code it does not have either way).
            down: if m.kind == MigrationKind::Code && !m.squashed {
                Some(Script {
                    sql: Cow::Borrowed(""),
                    path: Cow::Owned(m.up.path.clone()),
                    checksum: m.up.checksum,
                    no_transaction: m.up.no_transaction,
                    own_transaction: false,
                    code: Some(Code::NotEmbedded),
                    out_of_order: false,
                    contract: false,
                })
            } else {
                m.down.map(owned_script)
            },
            up: owned_script(m.up),
        })
        .collect::<Vec<_>>();
    let checkpoint = set.checkpoint.map(|c| crate::migrations::Checkpoint {
        migration: Migration {
            id: Cow::Owned(c.version.to_string()),
            version_parts: Cow::Owned(
                c.version
                    .parts()
                    .filter(|_| numeric)
                    .map(<[u64]>::to_vec)
                    .unwrap_or_default(),
            ),
            name: Cow::Owned(c.name),
            kind: MigrationKind::Versioned,
            legacy: None,
            up: owned_script(c.script),
            down: None,
        },
        squashes: c.squashes,
    });
    Migrations {
        items: Cow::Owned(items),
        digest: set.digest,
        source: None,
        order: set.order,
        checkpoint,
    }
}

pub use crate::locate::script_offset;

/// The runtime `#[tidemark::test]` runs a test on.
#[cfg(feature = "testing")]
pub fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds")
}

/// `#[tidemark::test(at = "…")]`'s build-time check: `set` has the version, spelled
/// `numeric` (its canonical text and parts) in a numeric set or `diesel` in a diesel one;
/// otherwise a compile error (a panic during `const` evaluation) that names the versions around
/// it. `written` is the version as the attribute spells it.
#[cfg(feature = "testing")]
pub const fn require_version(
    set: &Migrations,
    numeric: (&str, &[u64]),
    diesel: &str,
    written: &str,
) {
    let items: &[Migration] = match &set.items {
        Cow::Borrowed(items) => items,
        Cow::Owned(_) => return, // a set built at run time: checked when the test runs
    };
    let by_text = matches!(set.order, Order::Text);
    let wanted = if by_text { diesel } else { numeric.0 };
    let (mut below, mut above) = ("(none)", "(none)");
    let mut i = 0;
    while i < items.len() {
        let m = &items[i];
        i += 1;
        if !matches!(m.kind, MigrationKind::Versioned | MigrationKind::Code) {
            continue;
        }
        let (Cow::Borrowed(id), Cow::Borrowed(parts)) = (&m.id, &m.version_parts) else {
            continue;
        };
        if !less(id.as_bytes(), wanted.as_bytes()) && !less(wanted.as_bytes(), id.as_bytes()) {
            return;
        }
        let lower = if by_text {
            less(id.as_bytes(), wanted.as_bytes())
        } else {
            less_parts(parts, numeric.1)
        };
        if lower {
            below = id;
        } else if matches!(above.as_bytes(), b"(none)") {
            above = id;
        }
    }
    const_panic::concat_panic!(
        "\n#[tidemark::test(at = \"",
        {}: written,
        "\")]: the set has no such version; the versions around it are ",
        {}: below,
        " and ",
        {}: above,
        " (`at` takes any spelling of a version of the set: `41`, `V1_2`, a diesel timestamp)"
    );
}

#[cfg(feature = "testing")]
const fn less(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

#[cfg(feature = "testing")]
const fn less_parts(a: &[u64], b: &[u64]) -> bool {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}
