//! The `tidemark` binary's own verbs (feature `tool`): create, check and apply PostgreSQL
//! migrations from a folder, and the schema verbs that build on a scratch database.

mod check;
mod lockfile;
mod new;
mod source;

use crate::{exit, say, MigrateCommand};
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
    /// Write the folder's lock file, `tidemark.sum` (one line per migration, chained hashes):
    /// with it, a merge of two branches that each added a migration conflicts in git.
    Lock,
    /// Give a migration the next version above every other one in the folder (and rewrite the
    /// lock file): the answer to a merge conflict in `tidemark.sum`.
    Renumber(lockfile::RenumberArgs),
    #[command(flatten)]
    Db(MigrateCommand),
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
            Command::New(args) => new::run(&cli.dir, &cli.ignore, args),
            Command::Check(args) => check::run(&cli.dir, &cli.ignore, args).await,
            Command::Lock => lockfile::lock(&cli.dir, &cli.ignore),
            Command::Renumber(args) => lockfile::renumber(&cli.dir, &cli.ignore, args),
            Command::Db(command) => match source::load(&cli.dir, &cli.ignore, command.json()) {
                Ok(set) if command.is_schema_verb() => match refuse_code(&set, command) {
                    Some(code) => code,
                    None => crate::execute_in(&set, command, Some(&cli.dir)).await,
                },
                Ok(set) => crate::execute(&set, command).await,
                Err(code) => code,
            },
        }
    });
    ExitCode::from(code)
}

/// The schema verbs build on a scratch database migrated by the set, and this binary cannot run
/// a Rust code migration (its code is compiled into the application): refused before anything
/// starts, naming the verb that can run it.
fn refuse_code(set: &tidemark::Migrations, command: &MigrateCommand) -> Option<u8> {
    let code = set.iter().find(|m| m.up().is_code())?;
    let verb = match command {
        MigrateCommand::Drift(_) => "drift",
        MigrateCommand::Squash(_) => "squash",
        _ => "schema",
    };
    say::error(&format!(
        "{} is a Rust code migration, which this binary cannot run (the code is compiled into \
         your application); nothing was run: run `<your application> migrate {verb}` (the \
         `migrate` subcommand of tidemark-cli with its `schema` feature), which runs it",
        code.up().path()
    ));
    Some(exit::FAILURE)
}
