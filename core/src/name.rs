//! The file-name grammar of DESIGN §2. Pure string functions: no I/O.

use crate::version::Version;

/// What a file contributes to its migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A forward script (`V1__x.sql`, `1_x.up.sql`, `1_x.sql`, diesel `up.sql`).
    Forward,
    /// A rollback script (`U1__x.sql`, `1_x.down.sql`, diesel `down.sql`).
    Rollback,
    /// A repeatable script (`R__x.sql`).
    Repeatable,
    /// A checkpoint (`B{ver}__x.sql`, Flyway's baseline migration form): the schema as of
    /// version `ver`, which a new database runs instead of every migration up to it.
    Checkpoint,
}

/// The naming convention a file follows; `tidemark new` uses it to continue a folder's style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `V{ver}__{name}.sql` / `U{ver}__{name}.sql` (refinery, Flyway).
    Flyway,
    /// `{ver}_{name}.up.sql` / `.down.sql` (sqlx reversible, golang-migrate).
    SqlxReversible,
    /// `{ver}_{name}.sql` (sqlx simple).
    SqlxSimple,
    /// `{ver}_{name}/up.sql` + `down.sql` (diesel).
    Diesel,
    /// `R__{name}.sql` (Flyway repeatable).
    Repeatable,
}

/// A file name that matched one of the forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedName {
    /// The version; `None` for repeatable migrations.
    pub version: Option<Version>,
    /// The descriptive part of the name.
    pub name: String,
    /// Forward, rollback or repeatable.
    pub role: Role,
    /// The naming convention.
    pub form: Form,
    /// A Rust code migration (`.rs`), not SQL.
    pub code: bool,
}

/// Parses the name of a file at the top of a migration folder.
///
/// Returns `Ok(None)` for files that are not migrations (no `.sql` ending, dotfiles) and
/// `Err(reason)` for a `.sql` file that matches no form.
pub fn parse_file_name(file: &str) -> Result<Option<ParsedName>, String> {
    if file.starts_with('.') {
        return Ok(None);
    }
    if let Some(stem) = file.strip_suffix(".rs") {
        return parse_code_name(file, stem).map(Some);
    }
    let Some(stem) = file.strip_suffix(".sql") else {
        let lower = file.to_ascii_lowercase();
        if lower.ends_with(".sql") {
            return Err(format!(
                "`{file}` ends in `{}`, not `.sql`: tidemark reads `.sql` files only, and a misnamed \
                 migration is never skipped silently",
                &file[file.len() - 4..]
            ));
        }
        return Ok(None);
    };
    if let Some(name) = stem.strip_prefix("R__") {
        return named(None, name, Role::Repeatable, Form::Repeatable).map(Some);
    }
    if let Some(name) = stem.strip_prefix("UR__") {
        return named(None, name, Role::Rollback, Form::Repeatable).map(Some);
    }
    let flyway_role = match stem.as_bytes() {
        [b'V', d, ..] if d.is_ascii_digit() => Some(Role::Forward),
        [b'U', d, ..] if d.is_ascii_digit() => Some(Role::Rollback),
        [b'B', d, ..] if d.is_ascii_digit() => Some(Role::Checkpoint),
        _ => None,
    };
    if let Some(role) = flyway_role {
        let Some((ver, name)) = stem[1..].split_once("__") else {
            return Err(format!(
                "`{file}` starts like a Flyway name but has no `__` between version and name"
            ));
        };
        let version =
            Version::parse_separated(ver, &['.', '_']).ok_or_else(|| bad_version(file, ver))?;
        return named(Some(version), name, role, Form::Flyway).map(Some);
    }
    if stem.starts_with(|c: char| c.is_ascii_digit()) {
        let (ver, rest) = stem.split_once('_').unwrap_or((stem, ""));
        let version = Version::parse_separated(ver, &[]).ok_or_else(|| bad_version(file, ver))?;
        let (name, role, form) = if let Some(n) = rest.strip_suffix(".up") {
            (n, Role::Forward, Form::SqlxReversible)
        } else if let Some(n) = rest.strip_suffix(".down") {
            (n, Role::Rollback, Form::SqlxReversible)
        } else {
            (rest, Role::Forward, Form::SqlxSimple)
        };
        return named(Some(version), name, role, form).map(Some);
    }
    match did_you_mean(file) {
        Some(fixed) => Err(format!(
            "`{file}` matches no migration file form: did you mean `{fixed}`? (the prefix is upper case)"
        )),
        None => Err(format!("`{file}` matches no migration file form")),
    }
}

/// A lower-case Flyway prefix made upper case (`v8__x.sql` is `V8__x.sql`), when that is a
/// migration file name.
fn did_you_mean(file: &str) -> Option<String> {
    let prefix_len = ["ur__", "r__", "v", "u", "b"]
        .iter()
        .find(|p| file.starts_with(*p))?
        .trim_end_matches('_')
        .len();
    let fixed = file[..prefix_len].to_ascii_uppercase() + &file[prefix_len..];
    matches!(parse_file_name(&fixed), Ok(Some(_))).then_some(fixed)
}

/// A code migration's name: `V{ver}__{name}.rs` or `{ver}_{name}.rs`, one file holding `up`
/// and optionally `down` (so no `U`, `R__`, `.up.rs` or `.down.rs` forms).
fn parse_code_name(file: &str, stem: &str) -> Result<ParsedName, String> {
    let rule = "a code migration is one file named `V{ver}__{name}.rs` or `{ver}_{name}.rs` \
                that holds `up` and, optionally, `down`";
    let mut parsed = match parse_file_name(&format!("{stem}.sql")) {
        Ok(Some(p)) if p.role == Role::Forward && p.form != Form::SqlxReversible => p,
        Ok(_) => return Err(format!("`{file}` is not a code migration name: {rule}")),
        Err(reason) => {
            return Err(format!(
                "{}; {rule}",
                reason.replace(&format!("{stem}.sql"), file)
            ))
        }
    };
    parsed.code = true;
    Ok(parsed)
}

/// Parses a diesel migration directory name as diesel does: the version is the name up to the
/// first `_` (the whole name when there is none, which is then also the name); `None` when it
/// is not one (it must start with a digit, and a `_` must be followed by a name).
pub fn parse_diesel_dir(dir: &str) -> Option<(Version, String)> {
    let (ver, name) = dir.split_once('_').unwrap_or((dir, dir));
    if name.is_empty() {
        return None;
    }
    Some((Version::parse_diesel(ver)?, name.to_owned()))
}

fn named(
    version: Option<Version>,
    name: &str,
    role: Role,
    form: Form,
) -> Result<ParsedName, String> {
    if name.is_empty() {
        return Err("the name after the version is empty".to_owned());
    }
    Ok(ParsedName {
        version,
        name: name.to_owned(),
        role,
        form,
        code: false,
    })
}

fn bad_version(file: &str, ver: &str) -> String {
    format!(
        "`{file}` has version `{ver}`, which is not a sequence of non-negative integers \
         (each at most {})",
        crate::version::MAX_PART
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(f: &str) -> ParsedName {
        parse_file_name(f).unwrap().unwrap()
    }

    #[test]
    fn a_lower_case_prefix_gets_a_did_you_mean() {
        for (file, fixed) in [
            ("v8__x.sql", "V8__x.sql"),
            ("u8__x.sql", "U8__x.sql"),
            ("r__views.sql", "R__views.sql"),
            ("ur__views.sql", "UR__views.sql"),
        ] {
            let said = parse_file_name(file).unwrap_err();
            assert!(said.contains(&format!("did you mean `{fixed}`?")), "{said}");
        }
        let said = parse_file_name("view_helpers.sql").unwrap_err();
        assert!(!said.contains("did you mean"), "{said}");
    }

    #[test]
    fn every_form() {
        let p = parse("V2.1__add_users.sql");
        assert_eq!(p.version.unwrap().to_string(), "2.1");
        assert_eq!(
            (p.name.as_str(), p.role, p.form),
            ("add_users", Role::Forward, Form::Flyway)
        );
        assert_eq!(parse("V1_1__x.sql").version.unwrap().to_string(), "1.1");
        assert_eq!(parse("U3__x.sql").role, Role::Rollback);
        let p = parse("20240309082057_release_status_view.sql.up.sql");
        assert_eq!(p.name, "release_status_view.sql");
        assert_eq!(p.form, Form::SqlxReversible);
        assert_eq!(parse("0001_init.down.sql").role, Role::Rollback);
        assert_eq!(parse("7_simple.sql").form, Form::SqlxSimple);
        let r = parse("R__views.sql");
        assert_eq!((r.version, r.role), (None, Role::Repeatable));
        let u = parse("UR__views.sql");
        assert_eq!(
            (u.version, u.role, u.name.as_str()),
            (None, Role::Rollback, "views")
        );
    }

    #[test]
    fn code_migrations() {
        let p = parse("V3__backfill_emails.rs");
        assert_eq!(
            (
                p.version.unwrap().to_string(),
                p.name.as_str(),
                p.form,
                p.code
            ),
            ("3".to_owned(), "backfill_emails", Form::Flyway, true)
        );
        assert_eq!(parse("20240101_rehash.rs").form, Form::SqlxSimple);
        assert!(!parse("V3__x.sql").code);
        for bad in [
            "U3__x.rs",
            "R__x.rs",
            "UR__x.rs",
            "3_x.up.rs",
            "3_x.down.rs",
            "helpers.rs",
        ] {
            let e = parse_file_name(bad).unwrap_err();
            assert!(e.contains("a code migration is one file"), "{bad}: {e}");
        }
        let e = parse_file_name("V1_backfill.rs").unwrap_err();
        assert!(
            e.starts_with("`V1_backfill.rs` starts like a Flyway name"),
            "{e}"
        );
    }

    #[test]
    fn non_migrations_and_errors() {
        assert_eq!(parse_file_name("README.md"), Ok(None));
        assert_eq!(parse_file_name(".hidden.sql"), Ok(None));
        assert!(parse_file_name("seed.sql").is_err());
        assert!(parse_file_name("V1_init.sql").is_err());
        assert!(parse_file_name("V1x__init.sql").is_err());
        assert!(parse_file_name("1_.sql").is_err());
        assert!(parse_file_name("99999999999999999999_big.sql").is_err());
        assert!(parse_file_name("V2__shouting.SQL")
            .unwrap_err()
            .contains("ends in `.SQL`"));
        assert_eq!(parse_file_name("notes.sql.txt"), Ok(None));
    }

    #[test]
    fn diesel_directories() {
        let (v, n) = parse_diesel_dir("2024-01-31-120000-0000_add_x").unwrap();
        assert_eq!(
            (v.to_string().as_str(), n.as_str()),
            ("202401311200000000", "add_x")
        );
        assert!(parse_diesel_dir("fixtures").is_none());
        // diesel takes a name without `_` whole, as the version.
        let (v, n) =
            parse_diesel_dir("2023-05-23-1715-update-subgraph-deployment-assignment").unwrap();
        assert_eq!(
            v.to_string(),
            "202305231715updatesubgraphdeploymentassignment"
        );
        assert_eq!(n, "2023-05-23-1715-update-subgraph-deployment-assignment");
        assert!(parse_diesel_dir("2024_").is_none());
    }
}
