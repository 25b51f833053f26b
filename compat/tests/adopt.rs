//! Adopting databases that sqlx, refinery and diesel really migrated (each tool run through
//! its own API on a real server), and a Flyway history written in Flyway's documented format
//! (Flyway itself, a Java program fetched from Maven, cannot run here). Each tool applies all
//! but the newest migration of its folder; tidemark embeds the same folder, adopts, and its
//! next run applies exactly the newest one. A tampered row is refused with the file named,
//! leaving no trace (not even tidemark's tables), and the other tool's table is never changed.

use diesel::Connection;
use diesel_migrations::MigrationHarness;
use tidemark::testing::TestDatabase;
use tidemark::tokio_postgres::config::Host;
use tidemark::{Error, Migrations, Tool};

static SQLX: Migrations = tidemark::embed_migrations!("migrations/sqlx");
static REFINERY: Migrations = tidemark::embed_migrations!("migrations/refinery");
static DIESEL: Migrations = tidemark::embed_migrations!("migrations/diesel");
static FLYWAY: Migrations = tidemark::embed_migrations!("migrations/flyway");

mod refinery_set {
    refinery::embed_migrations!("migrations/refinery");
}
const DIESEL_SET: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations/diesel");

async fn query_strings(db: &TestDatabase, sql: &str) -> Vec<String> {
    let c = db.pool().get().await.unwrap();
    c.query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

async fn exec(db: &TestDatabase, sql: &str) {
    db.pool()
        .get()
        .await
        .unwrap()
        .batch_execute(sql)
        .await
        .unwrap();
}

/// What tidemark's history records, in order.
async fn tidemark_history(db: &TestDatabase) -> Vec<String> {
    query_strings(
        db,
        "SELECT version FROM tidemark_history ORDER BY version_key NULLS LAST, version",
    )
    .await
}

async fn has_tidemark_tables(db: &TestDatabase) -> bool {
    query_strings(
        db,
        "SELECT coalesce(to_regclass('tidemark_history')::text, '') \
         || coalesce(to_regclass('tidemark_history_state')::text, '')",
    )
    .await
    .first()
    .is_some_and(|t| !t.is_empty())
}

/// A table's rows as text, to show that adopting never changes the other tool's table.
async fn rows_of(db: &TestDatabase, table: &str) -> Vec<String> {
    query_strings(db, &format!("SELECT t::text FROM {table} t ORDER BY 1")).await
}

async fn index_exists(db: &TestDatabase) -> bool {
    query_strings(db, "SELECT coalesce(to_regclass('posts_user')::text, '')")
        .await
        .first()
        .is_some_and(|t| t == "posts_user")
}

/// One tool's database, as its tool left it.
struct Case<'a> {
    set: &'static Migrations,
    tool: Tool,
    table: &'a str,
    /// SQL that makes one row disagree with the folder, and SQL that restores it.
    tamper: &'a str,
    untamper: &'a str,
    /// What the refusal must name.
    file: &'a str,
    adopted: &'a [&'a str],
    newest: &'a str,
}

/// Adopting with a tampered row fails naming the file and leaves no trace; then the real
/// adoption records what the tool applied, and the next run applies only the newest migration.
async fn refuse_then_adopt(db: &TestDatabase, case: Case<'_>) {
    let Case {
        set,
        tool,
        table,
        tamper,
        untamper,
        file,
        adopted,
        newest,
    } = case;
    let theirs = rows_of(db, table).await;
    exec(db, tamper).await;
    let err = set.migrator().adopt(db.pool(), tool).await.unwrap_err();
    assert_eq!(err.kind(), "adopt_mismatch", "{err}");
    let text = err.to_string();
    assert!(text.contains(file), "{text}");
    assert!(text.contains("nothing was recorded"), "{text}");
    assert!(
        !has_tidemark_tables(db).await,
        "a refused adoption leaves no tables"
    );
    exec(db, untamper).await;
    assert_eq!(rows_of(db, table).await, theirs);

    let report = set.migrator().adopt(db.pool(), tool).await.unwrap();
    assert_eq!(report.tool, tool);
    assert_eq!(report.adopted, adopted);
    assert_eq!(report.pending, [newest]);
    assert_eq!(tidemark_history(db).await, adopted);
    assert!(set.migrator().validate(db.pool()).await.is_ok());
    // Adopting again records nothing more.
    let again = set.migrator().adopt(db.pool(), tool).await.unwrap();
    assert!(again.adopted.is_empty());
    assert_eq!(again.already_recorded, adopted);

    assert!(!index_exists(db).await);
    let run = set.migrator().run(db.pool()).await.unwrap();
    assert_eq!(run.versions(), [newest], "only the new migration runs");
    assert!(index_exists(db).await);
    assert!(set.is_up_to_date(db.pool()).await.unwrap());
    assert_eq!(rows_of(db, table).await, theirs, "their table is only read");
}

fn sqlx_options(config: &tidemark::tokio_postgres::Config) -> sqlx::postgres::PgConnectOptions {
    let mut o = sqlx::postgres::PgConnectOptions::new_without_pgpass();
    // sqlx takes one host: the socket directory where there is one (libpq's URL form
    // `postgresql://user@localhost/db?host=/dir` gives tokio-postgres both, and it tries them
    // in turn).
    let hosts = config.get_hosts();
    let host = hosts
        .iter()
        .find(|h| matches!(h, Host::Unix(_)))
        .or(hosts.first());
    match host {
        Some(Host::Unix(dir)) => o = o.socket(dir),
        Some(Host::Tcp(h)) => o = o.host(h),
        None => {}
    }
    if let Some(p) = config.get_ports().first() {
        o = o.port(*p);
    }
    if let Some(u) = config.get_user() {
        o = o.username(u);
    }
    if let Some(pw) = config.get_password() {
        o = o.password(&String::from_utf8_lossy(pw));
    }
    o.database(config.get_dbname().unwrap())
}

#[tokio::test]
async fn sqlx_history_is_adopted_and_only_the_new_migration_runs() {
    let db = TestDatabase::empty().await.unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx_options(&db.config()))
        .await
        .unwrap();
    sqlx::migrate!("migrations/sqlx")
        .run_to(2, &pool)
        .await
        .unwrap();
    pool.close().await;
    // sqlx's timestamps come along.
    let installed = query_strings(
        &db,
        "SELECT installed_on::text FROM _sqlx_migrations WHERE version = 1",
    )
    .await;
    refuse_then_adopt(
        &db,
        Case {
            set: &SQLX,
            tool: Tool::Sqlx,
            table: "_sqlx_migrations",
            tamper: "UPDATE _sqlx_migrations SET checksum = checksum || '\\x00'::bytea WHERE version = 2",
            untamper: "UPDATE _sqlx_migrations SET checksum = substring(checksum FROM 1 FOR 48) WHERE version = 2",
            file: "migrations/sqlx/2_posts.up.sql",
            adopted: &["1", "2"],
            newest: "3",
        },
    )
    .await;
    let recorded = query_strings(
        &db,
        "SELECT applied_at::text FROM tidemark_history WHERE version = '1'",
    )
    .await;
    assert_eq!(recorded, installed);
}

#[tokio::test]
async fn refinery_history_is_adopted_and_only_the_new_migration_runs() {
    let db = TestDatabase::empty().await.unwrap();
    let (mut client, connection) = db
        .config()
        .connect(tidemark::tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    refinery_set::migrations::runner()
        .set_target(refinery::Target::Version(2))
        .run_async(&mut client)
        .await
        .unwrap();
    refuse_then_adopt(
        &db,
        Case {
            set: &REFINERY,
            tool: Tool::Refinery,
            table: "refinery_schema_history",
            tamper: "UPDATE refinery_schema_history SET checksum = (checksum::numeric + 1)::text WHERE version = 2",
            untamper: "UPDATE refinery_schema_history SET checksum = (checksum::numeric - 1)::text WHERE version = 2",
            file: "migrations/refinery/V2__posts.sql",
            adopted: &["1", "2"],
            newest: "3",
        },
    )
    .await;
}

#[tokio::test]
async fn diesel_history_is_adopted_in_diesels_order_and_only_the_new_migration_runs() {
    let db = TestDatabase::empty().await.unwrap();
    let url = tidemark_rig::connection_string(&db.config());
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        // diesel's own order: the 13-digit 2020-12-7 sorts after 2020-01-01 as a string.
        conn.run_next_migration(DIESEL_SET).unwrap();
        conn.run_next_migration(DIESEL_SET).unwrap();
    })
    .await
    .unwrap();
    let theirs = query_strings(
        &db,
        "SELECT version::text FROM __diesel_schema_migrations ORDER BY 1",
    )
    .await;
    assert_eq!(theirs, ["20200101000000", "2020127190800"]);
    // diesel records no checksum: an unknown version is what it can get wrong.
    refuse_then_adopt(
        &db,
        Case {
            set: &DIESEL,
            tool: Tool::Diesel,
            table: "__diesel_schema_migrations",
            tamper: "INSERT INTO __diesel_schema_migrations (version) VALUES ('20990101000000')",
            untamper: "DELETE FROM __diesel_schema_migrations WHERE version = '20990101000000'",
            file: "version 20990101000000",
            adopted: &["20200101000000", "2020127190800"],
            newest: "20210101000000",
        },
    )
    .await;
}

/// Flyway's checksum as its Java code computes it, written independently of tidemark's: lines
/// as `BufferedReader.readLine` splits them (at `\r\n`, `\r` or `\n`), the first one without a
/// byte-order mark, fed to one CRC-32 without their line ends, cast to a signed int.
fn flyway_checksum(text: &str) -> i32 {
    let mut crc = crc32fast::Hasher::new();
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let mut line = &rest[..end];
        if first {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
            first = false;
        }
        crc.update(line.as_bytes());
        rest = &rest[end..];
        rest = rest
            .strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix('\r'))
            .or_else(|| rest.strip_prefix('\n'))
            .unwrap_or(rest);
    }
    crc.finalize() as i32
}

/// Applies the files as Flyway would (versioned by version, then repeatables) and writes
/// `flyway_schema_history` as Flyway 10 does on PostgreSQL.
async fn flyway_migrate(db: &TestDatabase, files: &[(&str, Option<&str>, &str)]) {
    exec(
        db,
        r#"CREATE TABLE "flyway_schema_history" (
            "installed_rank" INT NOT NULL,
            "version" VARCHAR(50),
            "description" VARCHAR(200) NOT NULL,
            "type" VARCHAR(20) NOT NULL,
            "script" VARCHAR(1000) NOT NULL,
            "checksum" INTEGER,
            "installed_by" VARCHAR(100) NOT NULL,
            "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
            "execution_time" INTEGER NOT NULL,
            "success" BOOLEAN NOT NULL,
            CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank"));
        CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");"#,
    )
    .await;
    let c = db.pool().get().await.unwrap();
    for (rank, (file, version, description)) in files.iter().enumerate() {
        let text = std::fs::read_to_string(format!("migrations/flyway/{file}")).unwrap();
        c.batch_execute(text.trim_start_matches('\u{feff}'))
            .await
            .unwrap();
        let rank = i32::try_from(rank).unwrap() + 1;
        c.execute(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, \
             script, checksum, installed_by, execution_time, success) \
             VALUES ($1, $2, $3, 'SQL', $4, $5, current_user, 5, true)",
            &[&rank, version, description, file, &flyway_checksum(&text)],
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn flyway_history_is_adopted_with_its_repeatable_and_only_the_new_migration_runs() {
    let db = TestDatabase::empty().await.unwrap();
    flyway_migrate(
        &db,
        &[
            ("V1__users.sql", Some("1"), "users"),
            ("V1_1__posts.sql", Some("1.1"), "posts"),
            ("R__post_counts.sql", None, "post counts"),
        ],
    )
    .await;
    refuse_then_adopt(
        &db,
        Case {
            set: &FLYWAY,
            tool: Tool::Flyway,
            table: "flyway_schema_history",
            tamper: "UPDATE flyway_schema_history SET checksum = -checksum WHERE version = '1.1'",
            untamper: "UPDATE flyway_schema_history SET checksum = -checksum WHERE version = '1.1'",
            file: "migrations/flyway/V1_1__posts.sql",
            adopted: &["1", "1.1", "R__post_counts"],
            newest: "2",
        },
    )
    .await;
}

#[tokio::test]
async fn detection_finds_the_one_tool_and_refuses_none_or_two() {
    let db = TestDatabase::empty().await.unwrap();
    let err = SQLX
        .migrator()
        .adopt(db.pool(), tidemark::Adopt::detect())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Adopt(e) if matches!(**e, tidemark::AdoptError::ForeignHistory { tool: None, .. })),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("_sqlx_migrations, refinery_schema_history"),
        "{err}"
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx_options(&db.config()))
        .await
        .unwrap();
    sqlx::migrate!("migrations/sqlx").run(&pool).await.unwrap();
    pool.close().await;
    // In a schema of its own, under another name: the table given explicitly.
    exec(&db, "CREATE SCHEMA legacy; ALTER TABLE _sqlx_migrations SET SCHEMA legacy; ALTER TABLE legacy._sqlx_migrations RENAME TO applied").await;
    let err = SQLX
        .migrator()
        .adopt(db.pool(), tidemark::Adopt::detect())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "foreign_history");
    let from = tidemark::Adopt::tool(Tool::Sqlx).source_table("legacy.applied");
    let report = SQLX.migrator().adopt(db.pool(), from).await.unwrap();
    assert_eq!(report.table, "legacy.applied");
    assert_eq!(report.adopted, ["1", "2", "3"]);
    assert!(report.pending.is_empty());
    assert!(SQLX.migrator().run(db.pool()).await.unwrap().is_noop());
    // Not a sqlx table: its columns say so.
    let err = REFINERY
        .migrator()
        .table("other_history")
        .adopt(
            db.pool(),
            tidemark::Adopt::tool(Tool::Refinery).source_table("tidemark_history"),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("has no column `applied_on`"),
        "{err}"
    );
}
