//! The `tidemark` binary's own verbs (feature `tool`): create, check and apply PostgreSQL
//! migrations from a folder, and the schema verbs that build on a scratch database.

mod check;
mod drift;
mod new;
mod say;
mod schema;
mod scratch;
mod source;
mod squash;

use crate::exit;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Create, check and apply PostgreSQL migrations. Exit codes: 0 ok, 1 failure, 2 usage,
/// 3 pending (status --exit-code), 4 lock timeout, 5 no connection, 6 dry run incomplete,
/// 7 drift found.
/// A `.env` file in the current directory or above is read first, as sqlx-cli and diesel do.
#[derive(Parser)]
#[command(name = "tidemark", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The migration folder.
    #[arg(long, global = true, default_value = "migrations")]
    dir: PathBuf,
    /// A `.sql` file in the folder that is not a migration (repeatable).
    #[arg(long = "ignore", value_name = "FILE", global = true)]
    ignore: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the next migration file(s) in the folder's own naming style.
    New(new::NewArgs),
    /// Check the folder as the compiler would (and, with a database, have the server parse it).
    Check(check::CheckArgs),
    /// Write the schema the migrations make, as a deterministic SQL file to commit and review.
    Schema(schema::SchemaArgs),
    /// Compare a database's schema with what its applied migrations make (changes nothing).
    Drift(drift::DriftArgs),
    /// Write a checkpoint that new databases run instead of the migrations up to a version.
    Squash(squash::SquashArgs),
    #[command(flatten)]
    Db(crate::MigrateCommand),
}

/// The `tidemark` binary: parses its command line, runs the verb, returns the exit code.
pub fn main() -> ExitCode {
    // Before parsing, so `DATABASE_URL` from `.env` feeds `--database-url`.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    if cli.dir.exists() && !cli.dir.is_dir() {
        say::error(&format!(
            "--dir {} is a file, not a migration folder",
            cli.dir.display()
        ));
        return ExitCode::from(exit::USAGE);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        say::error("cannot start the async runtime");
        return ExitCode::from(exit::FAILURE);
    };
    let code = runtime.block_on(async {
        match &cli.command {
            Command::New(args) => new::run(&cli.dir, args),
            Command::Check(args) => check::run(&cli.dir, &cli.ignore, args).await,
            Command::Schema(args) => match source::load(&cli.dir, &cli.ignore, false) {
                Ok(set) => schema::run(&set, args).await,
                Err(code) => code,
            },
            Command::Drift(args) => match source::load(&cli.dir, &cli.ignore, false) {
                Ok(set) => drift::run(&set, args).await,
                Err(code) => code,
            },
            Command::Squash(args) => match source::load(&cli.dir, &cli.ignore, false) {
                Ok(set) => squash::run(&cli.dir, &set, args).await,
                Err(code) => code,
            },
            Command::Db(command) => {
                let json = command.database().json;
                match source::load(&cli.dir, &cli.ignore, json) {
                    Ok(set) => crate::execute(&set, command).await,
                    Err(code) => code,
                }
            }
        }
    });
    ExitCode::from(code)
}
