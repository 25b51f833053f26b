//! The command line of the database verbs (clap).

/// `migrate <verb>` with the run-time options.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MigrateCommand,
    /// How to connect and run.
    #[command(flatten)]
    pub options: Options,
}

/// Connection and run-time options shared by every database verb.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Options {
    /// Connection string (URL or `key=value` form); never printed.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Schema of the history table.
    #[arg(long, default_value = "public", global = true)]
    pub schema: String,
    /// Name of the history table.
    #[arg(long, default_value = "tidemark_history", global = true)]
    pub table: String,
    /// Seconds to wait for the migration lock.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, global = true)]
    pub lock_timeout: u64,
    /// Run everything in one transaction (all or nothing).
    #[arg(long, global = true)]
    pub single_transaction: bool,
    /// Apply pending versions below the highest applied one.
    #[arg(long, global = true)]
    pub allow_out_of_order: bool,
    /// Accept applied versions unknown to the migrations.
    #[arg(long, global = true)]
    pub allow_missing: bool,
    /// Accept applied migrations whose file changed.
    #[arg(long, global = true)]
    pub allow_divergent: bool,
    /// Print JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The database verbs.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum MigrateCommand {
    /// Show every migration: applied (when, how long), pending, divergent, missing, failed.
    Status {
        /// Exit with code 3 unless everything is applied and clean.
        #[arg(long)]
        exit_code: bool,
    },
    /// Apply every pending migration.
    Up,
    /// Roll back the last N applied migrations.
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Move to version V, up or down, as history requires.
    To {
        /// The target version (`0` style or `initial`).
        version: String,
    },
    /// Run the pending migrations in a transaction that is rolled back.
    DryRun,
    /// Record the versions up to V as applied without running them.
    Baseline {
        /// The last version the database already has.
        version: String,
    },
    /// Clear failed rows and re-record the checksums of edited migrations.
    Repair,
    /// Check history against the migrations without changing anything.
    Validate,
}
