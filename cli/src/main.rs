//! `tidemark`: create, check and apply PostgreSQL migrations from a folder.

mod check;
mod new;
mod say;
mod source;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tidemark::cli::exit;

/// Create, check and apply PostgreSQL migrations. Exit codes: 0 ok, 1 failure, 2 usage,
/// 3 pending (status --exit-code), 4 lock timeout, 5 no connection, 6 dry run incomplete.
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
    #[command(flatten)]
    Db(tidemark::cli::MigrateCommand),
}

fn main() -> ExitCode {
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
            Command::Db(command) => {
                let json = command.database().json;
                match source::load(&cli.dir, &cli.ignore, json) {
                    Ok(set) => tidemark::cli::execute(&set, command).await,
                    Err(code) => code,
                }
            }
        }
    });
    ExitCode::from(code)
}
