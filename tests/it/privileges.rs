//! Least privilege: a role that may create only in its own schema migrates with its history
//! there; a role with DML on history tables an administrator created migrates without any
//! CREATE on them; a missing privilege is an error that names it; creation races are no error.

use crate::support::{fresh_db, set_of, TestDb};
use tidemark::tokio_postgres::Config;
use tidemark::Error;

/// A login role unique to this test run, dropped (with what it owns) when the guard drops.
struct Role {
    name: String,
    admin: tidemark::deadpool_postgres::Pool,
}

impl Role {
    async fn create(db: &TestDb, tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "tm_role_{}_{tag}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let c = db.pool.get().await.unwrap();
        c.batch_execute(&format!(
            "CREATE ROLE {name} LOGIN; GRANT CONNECT ON DATABASE \"{}\" TO {name}; \
             REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            db.name
        ))
        .await
        .unwrap();
        Self {
            name,
            admin: db.pool.clone(),
        }
    }

    fn pool(&self, db: &TestDb) -> tidemark::deadpool_postgres::Pool {
        let mut config: Config = db.config();
        config.user(&self.name);
        let manager =
            tidemark::deadpool_postgres::Manager::new(config, tidemark::tokio_postgres::NoTls);
        tidemark::deadpool_postgres::Pool::builder(manager)
            .max_size(4)
            .build()
            .unwrap()
    }

    async fn drop_it(self) {
        let c = self.admin.get().await.unwrap();
        c.batch_execute(&format!(
            "DROP OWNED BY {n} CASCADE; DROP ROLE {n}",
            n = self.name
        ))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_role_with_create_only_on_its_own_schema_migrates_there() {
    let db = fresh_db().await;
    let role = Role::create(&db, "own").await;
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute(&format!("CREATE SCHEMA own AUTHORIZATION {}", role.name))
        .await
        .unwrap();
    let set = set_of(&[
        (
            "V1__items.sql",
            "CREATE TABLE own.items (id int PRIMARY KEY);",
        ),
        (
            "V2__more.sql",
            "ALTER TABLE own.items ADD COLUMN name text;",
        ),
    ]);
    let pool = role.pool(&db);
    let report = set.migrator().schema("own").run(&pool).await.unwrap();
    assert_eq!(report.versions(), ["1", "2"]);
    assert!(
        set.migrator()
            .schema("own")
            .run(&pool)
            .await
            .unwrap()
            .fast_path
    );
    assert!(db.table_exists("own.tidemark_history").await);
    // Its history in public would need CREATE there: named in the error.
    let err = set.migrator().run(&pool).await.unwrap_err();
    assert!(
        matches!(&err, Error::MissingPrivilege { needed, .. } if needed.starts_with("CREATE on schema \"public\"")),
        "{err:?}"
    );
    assert_eq!(err.kind(), "missing_privilege");
    assert!(
        err.to_string()
            .contains("permission denied for schema public"),
        "{err}"
    );
    pool.close();
    role.drop_it().await;
}

#[tokio::test]
async fn a_dml_only_role_migrates_on_history_tables_an_administrator_created() {
    let db = fresh_db().await;
    // The administrator creates the bookkeeping tables once (an empty set does just that).
    let nothing = set_of(&[]);
    nothing.migrator().run(&db.pool).await.unwrap();
    let role = Role::create(&db, "dml").await;
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON tidemark_history, tidemark_history_state TO {r}; \
             CREATE SCHEMA app AUTHORIZATION {r}",
            r = role.name
        ))
        .await
        .unwrap();
    let set = set_of(&[
        (
            "V1__items.sql",
            "CREATE TABLE app.items (id int PRIMARY KEY);",
        ),
        ("U1__items.sql", "DROP TABLE app.items;"),
        (
            "V2__index.sql",
            "-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY items_id ON app.items (id);",
        ),
    ]);
    let pool = role.pool(&db);
    let report = set.migrator().run(&pool).await.unwrap();
    assert_eq!(report.versions(), ["1", "2"]);
    assert!(set.is_up_to_date(&pool).await.unwrap());
    assert_eq!(db.history().await.len(), 2);
    set.migrator().repair(&pool).await.unwrap();
    pool.close();
    role.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_history_tables_in_one_new_schema_at_once() {
    let db = fresh_db().await;
    let set = set_of(&[("V1__noop.sql", "SELECT 1;")]);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let pool = db.new_pool(2);
        tasks.push(tokio::spawn(async move {
            set.migrator()
                .schema("shared")
                .table(format!("hist_{i}"))
                .run(&pool)
                .await
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("a lost creation race is not an error");
    }
    let c = db.pool.get().await.unwrap();
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'shared' AND tablename LIKE 'hist\\_%' AND tablename NOT LIKE '%\\_state'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 16);
}

#[tokio::test]
async fn a_history_row_deleted_by_hand_is_seen_by_the_fast_path() {
    let db = fresh_db().await;
    let set = set_of(&[
        ("V1__one.sql", "CREATE TABLE one (id int);"),
        ("V2__two.sql", "CREATE TABLE two (id int);"),
    ]);
    set.migrator().run(&db.pool).await.unwrap();
    assert!(set.is_up_to_date(&db.pool).await.unwrap());
    // An operator undoes version 2 by hand.
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute("DROP TABLE two; DELETE FROM tidemark_history WHERE version = '2'")
        .await
        .unwrap();
    assert!(!set.is_up_to_date(&db.pool).await.unwrap());
    let report = set.migrator().run(&db.pool).await.unwrap();
    assert_eq!(
        report.versions(),
        ["2"],
        "up applies what status says is pending"
    );
    assert!(db.table_exists("two").await);
    assert!(set.migrator().run(&db.pool).await.unwrap().fast_path);
}
