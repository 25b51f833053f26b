//! Migration sets and history rows for unit tests (no server, no folder).

use crate::migrations::{Migration, MigrationKind, Migrations, Script};
use std::borrow::Cow;

fn script(sql: &str, path: String, no_transaction: bool) -> Script {
    Script {
        sql: Cow::Owned(sql.to_owned()),
        path: Cow::Owned(path),
        checksum: tidemark_core::checksum(sql),
        no_transaction,
        own_transaction: false,
        code: None,
        out_of_order: false,
        contract: false,
    }
}

/// A versioned migration `V{version}__m.sql` with SQL `up` and, if given, rollback `down`.
pub(crate) fn versioned(version: &str, up: &str, down: Option<&str>) -> Migration {
    let parts = tidemark_core::Version::parse_canonical(version)
        .expect("a canonical test version")
        .parts()
        .expect("numeric")
        .to_vec();
    Migration {
        id: Cow::Owned(version.to_owned()),
        version_parts: Cow::Owned(parts),
        name: Cow::Borrowed("m"),
        kind: MigrationKind::Versioned,
        legacy: None,
        up: script(up, format!("migrations/V{version}__m.sql"), false),
        down: down.map(|d| script(d, format!("migrations/U{version}__m.sql"), false)),
    }
}

/// A repeatable migration `R__{name}.sql`.
pub(crate) fn repeatable(name: &str, sql: &str) -> Migration {
    Migration {
        id: Cow::Owned(format!("R__{name}")),
        version_parts: Cow::Borrowed(&[]),
        name: Cow::Owned(name.to_owned()),
        kind: MigrationKind::Repeatable,
        legacy: None,
        up: script(sql, format!("migrations/R__{name}.sql"), false),
        down: None,
    }
}

/// A set of these migrations, in the order given, with its digest.
pub(crate) fn set(items: Vec<Migration>) -> Migrations {
    let digest =
        tidemark_core::set_digest(items.iter().map(|m| (m.kind, m.version(), &m.up.checksum)));
    Migrations {
        items: Cow::Owned(items),
        digest,
        source: None,
        order: tidemark_core::Order::Numeric,
        checkpoint: None,
    }
}
