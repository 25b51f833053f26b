//! `tidemark`: create, check and apply PostgreSQL migrations from a folder.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod check;
mod new;
mod source;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Create, check and apply PostgreSQL migrations. Exit codes: 0 ok, 1 failure, 2 usage,
/// 3 pending (status --exit-code), 4 lock timeout, 5 no connection.
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
    #[command(flatten)]
    options: tidemark::cli::Options,
}

#[derive(Subcommand)]
enum Command {
    /// Create the next migration file(s) in the folder's own naming style.
    New(new::NewArgs),
    /// Check the folder as the compiler would (and, with a database, have the server parse it).
    Check,
    #[command(flatten)]
    Db(tidemark::cli::MigrateCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        eprintln!("error: cannot start the async runtime");
        return ExitCode::from(tidemark::cli::exit::FAILURE);
    };
    let code = runtime.block_on(async {
        match &cli.command {
            Command::New(args) => new::run(&cli.dir, args),
            Command::Check => check::run(&cli.dir, &cli.ignore, &cli.options).await,
            Command::Db(command) => match source::load(&cli.dir, &cli.ignore, cli.options.json) {
                Ok(set) => tidemark::cli::execute(&set, command, &cli.options).await,
                Err(code) => code,
            },
        }
    });
    ExitCode::from(code)
}
