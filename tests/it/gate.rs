//! The gate without races (design §11), through the API: registering and running a contract
//! are serialised by the lock in both orders, and a contract's transaction re-reads the
//! registry.

use crate::support::{fresh_db, set_of, strings};
use std::time::Duration;
use tidemark::{Error, Phase, Registration};

const USERS: &str = "CREATE TABLE users (id int, name text);";

fn old_set() -> &'static tidemark::Migrations {
    set_of(&[("V1__users.sql", USERS)])
}

#[tokio::test]
async fn an_old_instance_registering_while_a_contract_runs_waits_for_the_lock_and_is_refused() {
    let db = fresh_db().await;
    let old = old_set();
    old.migrator().run(&db.pool).await.unwrap();
    // A contract that holds the lock a while: the old instance registers meanwhile.
    let new = set_of(&[
        ("V1__users.sql", USERS),
        (
            "V2__drop_name.sql",
            "-- tidemark:contract\nSELECT pg_sleep(0.5);\nALTER TABLE users DROP COLUMN name;",
        ),
    ]);
    assert_eq!(new.iter().nth(1).unwrap().phase(), Phase::Contract);
    let pool = db.new_pool(4);
    let contract = tokio::spawn(async move { new.migrator().run(&pool).await });
    // Wait until the contract's run holds the lock.
    while db.advisory_locks().await == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused = old
        .migrator()
        .register(&db.pool, Registration::new("old"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::MissingContract { version, name } if version == "2" && name == "drop_name"),
        "{refused:?}"
    );
    assert_eq!(refused.kind(), "missing_contract");
    let report = contract.await.unwrap().unwrap();
    assert_eq!(report.versions(), ["2"]);
    // Refused before anything is written: no row, not even the registry it would have made.
    assert!(
        !db.table_exists("tidemark_history_instances").await,
        "the refused instance left no row"
    );
}

#[tokio::test]
async fn an_instance_that_registered_first_holds_the_contract_and_its_shutdown_releases_it() {
    let db = fresh_db().await;
    let old = old_set();
    old.migrator().run(&db.pool).await.unwrap();
    let instance = old
        .migrator()
        .register(&db.pool, Registration::new("old"))
        .await
        .unwrap();
    let new = set_of(&[
        ("V1__users.sql", USERS),
        (
            "V2__drop_name.sql",
            "-- tidemark:contract\nALTER TABLE users DROP COLUMN name;",
        ),
        ("V3__email.sql", "ALTER TABLE users ADD COLUMN email text;"),
    ]);
    let report = new.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["3"], "the later expand ran");
    assert_eq!(report.waiting.len(), 1);
    assert_eq!(report.waiting[0].version, "2");
    assert_eq!(report.waiting[0].holders[0].id, instance.id());
    assert!(db.column_exists("users", "name").await);
    let plan = new.migrator().plan(&db.pool).await.unwrap();
    assert!(plan.is_empty() && plan.waiting().len() == 1, "{plan:?}");
    new.migrator().validate(&db.pool).await.unwrap();
    let status = new.migrator().status(&db.pool).await.unwrap();
    assert_eq!(status.instances.len(), 1);
    assert_eq!(status.entries[1].phase, Phase::Contract);

    instance.shutdown().await.unwrap();
    let report = new.migrator().run(&db.pool).await.unwrap();
    assert_eq!(
        report.versions(),
        ["2"],
        "below version 3: a contract may land there"
    );
    assert!(report.waiting.is_empty());
    assert!(!db.column_exists("users", "name").await);
    new.migrator().validate(&db.pool).await.unwrap();
    assert!(new.migrator().is_up_to_date(&db.pool).await.unwrap());
}

#[tokio::test]
async fn a_contracts_transaction_rereads_the_registry_and_applies_nothing_when_it_changed() {
    let db = fresh_db().await;
    let old = old_set();
    old.migrator().run(&db.pool).await.unwrap();
    // Make the registry, then leave it empty: the gate reads open.
    old.migrator()
        .register(&db.pool, Registration::new("old"))
        .await
        .unwrap()
        .shutdown()
        .await
        .unwrap();
    // Version 2 (expand) does what a heartbeat the lock does not serialise could do: a row for
    // an instance without the contract appears after the gate was read, before the contract's
    // transaction.
    let new = set_of(&[
        ("V1__users.sql", USERS),
        (
            "V2__appears.sql",
            "INSERT INTO tidemark_history_instances (id, application, host, pid, set_digest, contracts, expires_at) \
             VALUES ('late', 'old', 'h', 1, '', '{}', now() + interval '1 hour');",
        ),
        (
            "V3__drop_name.sql",
            "-- tidemark:contract\nALTER TABLE users DROP COLUMN name;",
        ),
    ]);
    let err = new.migrator().run(&db.pool).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.version, "3");
    assert!(
        err.to_string().contains(
            "contract 3 waits: a live instance registered since the gate was read lacks it"
        ),
        "{err}"
    );
    assert_eq!(
        f.applied.versions(),
        ["2"],
        "the report says what did commit"
    );
    assert!(
        db.column_exists("users", "name").await,
        "the contract applied nothing"
    );
    let versions: Vec<String> = db.history().await.into_iter().map(|r| r.0).collect();
    assert_eq!(versions, ["1", "2"]);
}

static CODE_CONTRACT: tidemark::Migrations =
    tidemark::embed_migrations!("tests/fixtures/code/contract");

#[tokio::test]
async fn code_and_no_transaction_migrations_can_be_contract_ones() {
    let db = fresh_db().await;
    let old = set_of(&[(
        "V1__items.sql",
        "CREATE TABLE items (id int, legacy text);\nCREATE INDEX items_legacy ON items (legacy);\n",
    )]);
    old.migrator().run(&db.pool).await.unwrap();
    let phases: Vec<Phase> = CODE_CONTRACT.iter().map(|m| m.phase()).collect();
    assert_eq!(phases, [Phase::Expand, Phase::Contract, Phase::Contract]);
    assert!(CODE_CONTRACT.iter().nth(2).unwrap().up().no_transaction());
    let instance = old
        .migrator()
        .register(&db.pool, Registration::new("old"))
        .await
        .unwrap();
    let report = CODE_CONTRACT.migrator().run(&db.pool).await.unwrap();
    let waiting: Vec<&str> = report.waiting.iter().map(|w| w.version.as_str()).collect();
    assert_eq!(waiting, ["2", "3"]);
    assert!(report.steps.is_empty());
    instance.shutdown().await.unwrap();
    let report = CODE_CONTRACT.migrator().run(&db.pool).await.unwrap();
    assert_eq!(report.versions(), ["2", "3"]);
    assert!(!db.column_exists("items", "legacy").await);
    let phases = strings(
        &db.pool,
        "SELECT phase FROM tidemark_history ORDER BY version_key",
    )
    .await;
    assert_eq!(phases, ["expand", "contract", "contract"]);
}

#[tokio::test]
async fn an_expired_instance_registers_again_and_is_refused_once_a_contract_it_lacks_ran() {
    let db = fresh_db().await;
    let old = old_set();
    old.migrator().run(&db.pool).await.unwrap();
    let mut instance = old
        .migrator()
        .register(
            &db.pool,
            Registration::new("old").heartbeat(Duration::from_millis(50)),
        )
        .await
        .unwrap();
    let c = db.pool.get().await.unwrap();
    let expire = "UPDATE tidemark_history_instances SET expires_at = now() - interval '1 second'";
    let next = async |instance: &mut tidemark::Instance| {
        tokio::time::timeout(Duration::from_secs(20), instance.next_event())
            .await
            .expect("an event within 20 s")
            .expect("the heartbeat runs")
    };
    // A pause longer than the time-to-live: the next heartbeat finds the row expired.
    c.batch_execute(expire).await.unwrap();
    assert!(matches!(
        next(&mut instance).await,
        tidemark::InstanceEvent::Renewed
    ));
    let live: i64 = c
        .query_one(
            "SELECT count(*) FROM tidemark_history_instances WHERE expires_at > now()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 1, "registered again");
    // Expired again, and meanwhile a contract it lacks runs (its gate is open: no live row).
    // This session holds the migration lock throughout (advisory locks are re-entrant within a
    // session, so the run on it takes it again): the instance's registering again waits for it.
    let new = set_of(&[
        ("V1__users.sql", USERS),
        (
            "V2__drop_name.sql",
            "-- tidemark:contract\nALTER TABLE users DROP COLUMN name;",
        ),
    ]);
    let key = new.migrator().effective_lock_key();
    c.batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .await
        .unwrap();
    c.batch_execute(expire).await.unwrap();
    assert_eq!(new.migrator().run(&c).await.unwrap().versions(), ["2"]);
    c.batch_execute(&format!("SELECT pg_advisory_unlock({key})"))
        .await
        .unwrap();
    match next(&mut instance).await {
        tidemark::InstanceEvent::Refused(Error::MissingContract { version, .. }) => {
            assert_eq!(version, "2");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        instance.next_event().await.is_none(),
        "no heartbeat follows"
    );
}
