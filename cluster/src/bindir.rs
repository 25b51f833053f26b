//! Finding the PostgreSQL server binaries (`initdb`, `postgres`) on the machine.

use crate::ClusterError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The directory holding `initdb` and `postgres`: `PG_BINDIR`, then the directory of `initdb`
/// on `PATH`, `pg_config --bindir`, the highest `/usr/lib/postgresql/*/bin`, `/usr/pgsql-*/bin`,
/// `/usr/local/pgsql/bin` and Homebrew's.
pub(crate) fn find() -> Result<PathBuf, ClusterError> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("PG_BINDIR").map(PathBuf::from) {
        return if has_both(&d) {
            Ok(d)
        } else {
            Err(ClusterError::NoBinaries { pg_bindir: Some(d) })
        };
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if let Ok(real) = d.join("initdb").canonicalize() {
                candidates.extend(real.parent().map(Path::to_path_buf));
            }
        }
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    for pattern in ["/usr/lib/postgresql", "/usr"] {
        if let Ok(entries) = std::fs::read_dir(pattern) {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    pattern != "/usr"
                        || p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("pgsql-"))
                })
                .map(|p| p.join("bin"))
                .collect();
            found.sort_by_key(|p| std::cmp::Reverse(dir_major(p)));
            candidates.extend(found);
        }
    }
    candidates.push(PathBuf::from("/usr/local/pgsql/bin"));
    candidates.push(PathBuf::from("/opt/homebrew/bin"));
    candidates
        .into_iter()
        .find(|d| has_both(d))
        .ok_or(ClusterError::NoBinaries { pg_bindir: None })
}

/// The major version of the server binaries in `bindir`, from `postgres --version`
/// (`postgres (PostgreSQL) 13.23` → 13).
pub(crate) fn major(bindir: &Path) -> Result<u32, ClusterError> {
    let out = Command::new(bindir.join("postgres"))
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .map_err(ClusterError::io(format!(
            "cannot run {}/postgres",
            bindir.display()
        )))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_major(&text).ok_or_else(|| ClusterError::Version(text.into_owned()))
}

fn parse_major(version_line: &str) -> Option<u32> {
    let after = version_line.split_once("(PostgreSQL)")?.1;
    let number = after.split_whitespace().next()?;
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The major version in a `/usr/lib/postgresql/15/bin` style path, for ordering.
fn dir_major(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn majors_from_version_lines() {
        assert_eq!(
            super::parse_major("postgres (PostgreSQL) 13.23\n"),
            Some(13)
        );
        assert_eq!(super::parse_major("postgres (PostgreSQL) 18.4"), Some(18));
        assert_eq!(
            super::parse_major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(super::parse_major("postgres 16"), None);
    }
}
