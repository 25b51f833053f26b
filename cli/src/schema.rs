//! `tidemark schema`: the schema the folder's migrations make, as a deterministic SQL file to
//! commit and review; `tidemark check --schema FILE` fails while that file is out of date.

use crate::say;
use crate::scratch::{self, ScratchArgs};
use std::path::{Path, PathBuf};
use tidemark::cli::exit;
use tidemark::{Migrations, Target};

/// `tidemark schema`.
#[derive(clap::Args)]
pub(crate) struct SchemaArgs {
    /// Write it to this file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    scratch: ScratchArgs,
}

/// The file's first lines. Nothing in them depends on where or when it was written (the
/// folder's path, the server, the time), so the same migrations give the same bytes.
fn header(set: &Migrations) -> String {
    let newest = set
        .iter()
        .rfind(|m| m.kind().is_versioned())
        .map_or_else(|| "none".to_owned(), |m| m.version().to_owned());
    format!(
        "The schema the migrations make: {} up to version {newest}, then the repeatable ones.\n\
         Written by `tidemark schema`; do not edit: regenerate it, and `tidemark check --schema`\n\
         fails while it is out of date. Owners and privileges are left out.",
        say::count(set.len(), "migration")
    )
}

/// The rendering of `set`'s schema.
pub(crate) async fn render(set: &Migrations, args: &ScratchArgs) -> Result<String, String> {
    scratch::render(set, Target::Latest, &header(set), args).await
}

pub(crate) async fn run(set: &Migrations, args: &SchemaArgs) -> u8 {
    let sql = match render(set, &args.scratch).await {
        Ok(sql) => sql,
        Err(e) => {
            say::error(&e);
            return exit::FAILURE;
        }
    };
    match &args.output {
        None => {
            let _ = std::io::Write::write_all(&mut std::io::stdout(), sql.as_bytes());
            exit::OK
        }
        Some(path) => match std::fs::write(path, &sql) {
            Ok(()) => {
                say::err(&format!(
                    "wrote {} ({} lines)",
                    path.display(),
                    sql.lines().count()
                ));
                exit::OK
            }
            Err(e) => {
                say::error(&format!("cannot write {}: {e}", path.display()));
                exit::FAILURE
            }
        },
    }
}

/// `check --schema FILE`: `None` when `file` is what `schema` would write, else the problem.
pub(crate) async fn out_of_date(
    set: &Migrations,
    file: &Path,
    args: &ScratchArgs,
) -> Result<Option<String>, String> {
    let expected = render(set, args).await?;
    let committed = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if committed == expected {
        return Ok(None);
    }
    let (line, was, now) = first_difference(&committed, &expected);
    Ok(Some(format!(
        "out of date: the migrations make another schema; first difference at line {line}: \
         the file has `{was}`, the migrations make `{now}`"
    )))
}

fn first_difference<'a>(a: &'a str, b: &'a str) -> (usize, &'a str, &'a str) {
    let (mut x, mut y) = (a.lines(), b.lines());
    for line in 1.. {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) if p == q => {}
            (p, q) => return (line, p.unwrap_or("(end of file)"), q.unwrap_or("(end)")),
        }
    }
    unreachable!("the texts differ")
}
