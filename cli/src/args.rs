//! The command line of the database verbs (clap). Each verb takes only the flags it uses.

/// `migrate <verb>`: the database verbs of a self-migrating binary.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MigrateCommand,
}

/// Where the database is and where its history lives.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Database {
    /// Connection string (URL or `key=value` form; `sslmode` and `sslrootcert` as libpq
    /// reads them); never printed.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Schema of the history table.
    #[arg(long, default_value = "public")]
    pub schema: String,
    /// Name of the history table.
    #[arg(long, default_value = "tidemark_history")]
    pub table: String,
    /// Print JSON on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// How long to wait for the migration lock.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Lock {
    /// Seconds to wait for the migration lock.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub lock_timeout: u64,
}

/// What history may hold that is otherwise an error.
#[derive(Debug, Clone, Default, clap::Args)]
#[non_exhaustive]
pub struct Policies {
    /// Apply pending versions below the highest applied one.
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Accept applied versions unknown to the migrations.
    #[arg(long)]
    pub allow_missing: bool,
    /// Accept applied migrations whose file changed.
    #[arg(long)]
    pub allow_divergent: bool,
    /// Refuse applied versions newer than every migration (left by a newer build) instead of
    /// tolerating them with a warning.
    #[arg(long)]
    pub refuse_future: bool,
}

/// The options of the verbs that run migrations.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Apply {
    /// Lock.
    #[command(flatten)]
    pub lock: Lock,
    /// Policies.
    #[command(flatten)]
    pub policies: Policies,
    /// Run everything in one transaction (all or nothing).
    #[arg(long)]
    pub single_transaction: bool,
    /// Give up a migration's DDL after this many seconds waiting for a lock (`SET LOCAL
    /// lock_timeout`), and retry it (see `--ddl-lock-retries`).
    #[arg(long, value_name = "SECONDS")]
    pub ddl_lock_timeout: Option<f64>,
    /// How many times to retry a migration that gave up waiting for a lock.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub ddl_lock_retries: u32,
    /// Placeholders.
    #[command(flatten)]
    pub substitution: Substitution,
}

/// `${name}` placeholder values (substitution is off unless one is given).
#[derive(Debug, Clone, Default, clap::Args)]
#[non_exhaustive]
pub struct Substitution {
    /// Replace `${NAME}` with VALUE in every SQL script (repeatable); a `${name}` without a
    /// value then fails the run before anything runs. `${tidemark.schema}` is built in.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_placeholder)]
    pub placeholder: Vec<(String, String)>,
}

fn parse_placeholder(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err("expected NAME=VALUE".to_owned()),
    }
}

/// Many targets instead of one database: each tenant schema, each database, or a list.
#[derive(Debug, Clone, Default, clap::Args)]
#[non_exhaustive]
pub struct FleetArgs {
    /// Every schema of the database whose name matches this SQL `LIKE` pattern
    /// (`tenant_%`): each with its own history and lock, its migrations with that schema as
    /// `search_path`.
    #[arg(long, value_name = "PATTERN", group = "fleet")]
    pub each_schema: Option<String>,
    /// The schemas a query lists (its first column), as with `--each-schema`.
    #[arg(long, value_name = "SQL", group = "fleet")]
    pub schemas_from: Option<String>,
    /// Every database of the server whose name matches this SQL `LIKE` pattern, with the
    /// rest of the connection string as given.
    #[arg(long, value_name = "PATTERN", group = "fleet")]
    pub each_database: Option<String>,
    /// A file with one connection string per line (`#` comments): each is a target.
    #[arg(long, value_name = "FILE", group = "fleet")]
    pub targets: Option<std::path::PathBuf>,
    /// How many targets run at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub concurrency: usize,
    /// Run the first K targets first, and the others only if all K succeeded.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub canary: usize,
    /// Go on with the other targets after one fails (default: stop starting new ones).
    #[arg(long)]
    pub continue_on_error: bool,
}

impl FleetArgs {
    /// Whether any target option was given.
    pub fn is_fleet(&self) -> bool {
        self.each_schema.is_some()
            || self.schemas_from.is_some()
            || self.each_database.is_some()
            || self.targets.is_some()
    }
}

/// The database verbs.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum MigrateCommand {
    /// Show every migration: applied (when, how long), pending, divergent, missing, future,
    /// failed.
    Status {
        /// Exit with code 3 unless everything is applied and clean.
        #[arg(long)]
        exit_code: bool,
        /// The database.
        #[command(flatten)]
        db: Database,
        /// Refuse future versions (they then show as missing).
        #[arg(long)]
        refuse_future: bool,
        /// Many targets.
        #[command(flatten)]
        fleet: Box<FleetArgs>,
    },
    /// Apply every pending migration.
    Up {
        /// The database.
        #[command(flatten)]
        db: Database,
        /// How to run.
        #[command(flatten)]
        apply: Apply,
        /// Many targets.
        #[command(flatten)]
        fleet: Box<FleetArgs>,
    },
    /// Roll back the last N applied migrations.
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
        /// The database.
        #[command(flatten)]
        db: Database,
        /// How to run.
        #[command(flatten)]
        apply: Apply,
    },
    /// Move to version V, up or down, as history requires.
    To {
        /// The target version, or `initial`.
        version: String,
        /// The database.
        #[command(flatten)]
        db: Database,
        /// How to run.
        #[command(flatten)]
        apply: Apply,
        /// Many targets.
        #[command(flatten)]
        fleet: Box<FleetArgs>,
    },
    /// Run the pending migrations in a transaction that is rolled back (exit code 6 when some
    /// could not run: a no-transaction migration and what follows it).
    DryRun {
        /// The database.
        #[command(flatten)]
        db: Database,
        /// Lock.
        #[command(flatten)]
        lock: Lock,
        /// Policies.
        #[command(flatten)]
        policies: Policies,
        /// Placeholders.
        #[command(flatten)]
        substitution: Substitution,
    },
    /// Record the versions up to V as applied without running them.
    Baseline {
        /// The last version the database already has.
        version: String,
        /// The database.
        #[command(flatten)]
        db: Database,
        /// Lock.
        #[command(flatten)]
        lock: Lock,
    },
    /// Take over a database another tool manages: check what sqlx, refinery, diesel or Flyway
    /// applied against the migrations and record it as applied (their table is only read).
    Adopt {
        /// The tool whose history to read; without it, the one whose default table exists.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(["sqlx", "refinery", "diesel", "flyway"]))]
        tool: Option<String>,
        /// The tool's history table, if not its default (`name` or `schema.name`).
        #[arg(long, value_name = "TABLE")]
        source_table: Option<String>,
        /// The database.
        #[command(flatten)]
        db: Database,
        /// Lock.
        #[command(flatten)]
        lock: Lock,
    },
    /// Clear failed rows and re-record the checksums of edited migrations.
    Repair {
        /// The database.
        #[command(flatten)]
        db: Database,
        /// Lock.
        #[command(flatten)]
        lock: Lock,
    },
    /// Check history against the migrations without changing anything.
    Validate {
        /// The database.
        #[command(flatten)]
        db: Database,
        /// Policies.
        #[command(flatten)]
        policies: Policies,
    },
    /// List the live registered instances (rolling deploys): each one's id, application,
    /// host, pid, newest embedded version and contract migrations.
    Instances {
        /// The database.
        #[command(flatten)]
        db: Database,
    },
    /// Apply the pending migrations, contract ones included: refuses, naming them, while live
    /// registered instances embed sets without a pending contract migration.
    Contract {
        /// Run them anyway, naming the instances that lack them (they may break).
        #[arg(long)]
        force: bool,
        /// The database.
        #[command(flatten)]
        db: Database,
        /// How to run.
        #[command(flatten)]
        apply: Apply,
    },
    /// Write the schema the migrations make, as a deterministic SQL file to commit and review.
    #[cfg(feature = "schema")]
    Schema(crate::schema::SchemaArgs),
    /// Compare a database's schema with what its applied migrations make (changes nothing).
    #[cfg(feature = "schema")]
    Drift(crate::schema::DriftArgs),
    /// Write a checkpoint that new databases run instead of the migrations up to a version.
    #[cfg(feature = "schema")]
    Squash(crate::schema::SquashArgs),
}

impl MigrateCommand {
    /// The fleet options of the verb, for the verbs that take them and were given some.
    pub fn fleet(&self) -> Option<&FleetArgs> {
        match self {
            Self::Status { fleet, .. } | Self::Up { fleet, .. } | Self::To { fleet, .. } => {
                Some(&**fleet).filter(|f| f.is_fleet())
            }
            _ => None,
        }
    }

    /// The database options of the verb (the schema verbs have their own).
    pub fn database(&self) -> Option<&Database> {
        Some(match self {
            Self::Status { db, .. }
            | Self::Up { db, .. }
            | Self::Down { db, .. }
            | Self::To { db, .. }
            | Self::DryRun { db, .. }
            | Self::Baseline { db, .. }
            | Self::Adopt { db, .. }
            | Self::Repair { db, .. }
            | Self::Validate { db, .. }
            | Self::Instances { db }
            | Self::Contract { db, .. } => db,
            #[cfg(feature = "schema")]
            Self::Schema(_) | Self::Drift(_) | Self::Squash(_) => return None,
        })
    }

    /// Whether it prints JSON.
    pub fn json(&self) -> bool {
        self.database().is_some_and(|db| db.json)
    }

    /// Whether it is one of the schema verbs, which build on a scratch database.
    pub fn is_schema_verb(&self) -> bool {
        self.database().is_none()
    }
}
