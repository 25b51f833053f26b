//! Connecting from a connection string.

/// A pool for a connection string (URL or `key=value`); the message never repeats the string.
pub fn pool_from_url(url: &str, max_size: usize) -> Result<deadpool_postgres::Pool, String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("the connection string is not valid: {e}"))?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    deadpool_postgres::Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| format!("cannot set up the connection pool: {e}"))
}
