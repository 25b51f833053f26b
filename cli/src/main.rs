//! `tidemark`: create, check and apply PostgreSQL migrations from a folder.

fn main() -> std::process::ExitCode {
    tidemark_cli::tool::main()
}
