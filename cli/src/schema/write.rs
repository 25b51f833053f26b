//! `schema`: the schema the migrations make, as a deterministic SQL file to commit and review;
//! `tidemark check --schema FILE` fails while that file is out of date.

use super::scratch::{self, LeaveOutArgs, ScratchArgs};
use crate::exit;
use crate::say;
use std::path::PathBuf;
use tidemark::{Migrations, Target};

/// `schema`'s options.
#[derive(clap::Args, Clone, Debug)]
pub struct SchemaArgs {
    /// Write it to this file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    scratch: ScratchArgs,
    #[command(flatten)]
    leave_out: LeaveOutArgs,
}

/// The rendering of `set`'s schema.
pub(crate) async fn render(
    set: &Migrations,
    args: &ScratchArgs,
    leave_out: &LeaveOutArgs,
) -> Result<String, String> {
    let header = tidemark::schema::file_header();
    scratch::render(set, Target::Latest, header, args, leave_out).await
}

pub(crate) async fn run(set: &Migrations, args: &SchemaArgs) -> u8 {
    let sql = match render(set, &args.scratch, &args.leave_out).await {
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
