//! TLS as libpq's sslmode says, against real TLS servers: verify-full with the server's CA, a
//! wrong CA and a wrong host name refused, require refused by a server without TLS.

use crate::support::set_of;
use tidemark::{connect, Error};

async fn encrypted(pool: &tidemark::deadpool_postgres::Pool) -> bool {
    let c = pool.get().await.unwrap();
    c.query_one(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

fn one() -> &'static tidemark::Migrations {
    set_of(&[("V1__one.sql", "CREATE TABLE one (id int);")])
}

#[tokio::test]
async fn verify_full_with_the_servers_ca_migrates_over_tls() {
    let server = tidemark_rig::tls_server().unwrap();
    let ca = server.ca_file.display().to_string();
    let url = server.url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let pool = connect::pool(&url).unwrap();
    assert_eq!(one().migrator().run(&pool).await.unwrap().versions(), ["1"]);
    assert!(encrypted(&pool).await, "the session is encrypted");
    // verify-ca checks the chain, not the name: 127.0.0.1 is fine there.
    let by_ip = server.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    );
    let pool = connect::pool(&by_ip).unwrap();
    assert!(one().is_up_to_date(&pool).await.unwrap());
    // prefer (the default) takes TLS where the server offers it.
    let pool = connect::pool(&server.url("127.0.0.1", "postgres", "")).unwrap();
    assert!(encrypted(&pool).await);
}

#[tokio::test]
async fn a_wrong_ca_or_a_wrong_host_name_is_refused_clearly() {
    let server = tidemark_rig::tls_server().unwrap();
    let other = server.other_ca_file.display().to_string();
    let wrong_ca = server.url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={other}"),
    );
    let err = one()
        .migrator()
        .status(&connect::pool(&wrong_ca).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pool(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("error performing TLS handshake") && text.contains("UnknownIssuer"),
        "{text}"
    );
    let ca = server.ca_file.display().to_string();
    let wrong_name = server.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let err = one()
        .migrator()
        .status(&connect::pool(&wrong_name).unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("certificate not valid for name \"127.0.0.1\""),
        "{err}"
    );
    // verify-full needs a root certificate: said before connecting.
    let none = server.url("localhost", "postgres", "sslmode=verify-full&sslrootcert=");
    let err = connect::pool(&none).unwrap_err();
    assert_eq!(err.kind(), "connection_string");
    let err =
        connect::ConnectOptions::parse(&server.url("localhost", "postgres", "sslmode=sometimes"))
            .unwrap_err();
    assert!(
        err.to_string().contains("sslmode=sometimes is not one of"),
        "{err}"
    );
}

#[tokio::test]
async fn require_is_refused_by_a_server_without_tls_and_prefer_falls_back() {
    let (_plain, port) = tidemark_rig::plain_tcp_server().unwrap();
    let url = format!("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require");
    let err = one()
        .migrator()
        .status(&connect::pool(&url).unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("server does not support TLS"),
        "{err}"
    );
    let prefer = format!("postgresql://postgres@127.0.0.1:{port}/postgres");
    let pool = connect::pool(&prefer).unwrap();
    assert!(
        !encrypted(&pool).await,
        "prefer connects without TLS where there is none"
    );
}
