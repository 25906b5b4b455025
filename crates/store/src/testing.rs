//! Test harness: a fresh, empty store on each backend, for the test suites of every crate that
//! persists something (this crate, the server, the CLI). Enabled by the `testing` feature.
//!
//! ```ignore
//! #[tokio::test]
//! async fn stores_and_reads_back() {
//!     stackport_store::testing::for_each_backend(|db| async move {
//!         let store = db.open().await;
//!         // ... the same assertions on SQLite and on PostgreSQL
//!     })
//!     .await;
//! }
//! ```
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new database with a random name,
//! created through the database named by `STACKPORT_TEST_POSTGRES` (for example
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped afterwards, so that tests running in
//! parallel never see each other's rows. Without `STACKPORT_TEST_POSTGRES` the PostgreSQL run is
//! skipped with a note on stderr, unless `STACKPORT_REQUIRE_POSTGRES=1`, which turns the skip
//! into a failure (CI sets both).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::Connection;

use crate::{Backend, Storage};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "STACKPORT_TEST_POSTGRES";

/// One fresh, empty database for one test. Holds what must outlive the test (the temporary
/// directory of a SQLite file); [`TestDb::cleanup`] drops a PostgreSQL database.
pub struct TestDb {
    /// Which backend.
    pub backend: Backend,
    /// URL to give [`crate::open`], a `--db` flag or `DATABASE_URL`.
    pub url: String,
    /// PostgreSQL only: the server URL the database was created through, and its name.
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new SQLite file in its own temporary directory (the file is created on first open).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for a test database");
        let path = dir.path().join("stackport-test.sqlite");
        Self {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
            admin: None,
            _dir: Some(dir),
        }
    }

    /// A new PostgreSQL database, or `None` when `STACKPORT_TEST_POSTGRES` is not set.
    pub async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var(POSTGRES_ENV) {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                if std::env::var("STACKPORT_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("{POSTGRES_ENV} is not set but STACKPORT_REQUIRE_POSTGRES=1");
                }
                eprintln!(
                    "note: {POSTGRES_ENV} is not set; skipping the PostgreSQL run of this test"
                );
                return None;
            }
        };
        let name = unique_name();
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}={admin_url}: {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        let url = replace_database(&admin_url, &name);
        Some(Self {
            backend: Backend::Postgres,
            url,
            admin: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// Opens the store on this database (runs the migrations).
    pub async fn open(&self) -> Arc<dyn Storage> {
        crate::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {} test store {}: {e}", self.label(), self.url))
    }

    /// `sqlite` or `postgres`, for messages.
    pub fn label(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Drops the PostgreSQL database (closing other sessions on it first); removes the SQLite
    /// directory. Failures are reported, not fatal: the test has already passed.
    pub async fn cleanup(self) {
        if let Some((admin_url, name)) = &self.admin {
            match sqlx::PgConnection::connect(admin_url).await {
                Ok(mut conn) => {
                    // WITH (FORCE): PostgreSQL 13+; closes pools the test left open.
                    if let Err(e) =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                    {
                        eprintln!("note: could not drop test database {name}: {e}");
                    }
                    let _ = conn.close().await;
                }
                Err(e) => eprintln!("note: could not connect to drop test database {name}: {e}"),
            }
        }
    }
}

/// Runs `test` once on a fresh SQLite database and once on a fresh PostgreSQL database (when
/// `STACKPORT_TEST_POSTGRES` is set). A panic in `test` fails the test and names the backend.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut dbs = vec![TestDb::sqlite()];
    if let Some(pg) = TestDb::postgres().await {
        dbs.push(pg);
    }
    for db in dbs {
        let db = Arc::new(db);
        let label = db.label();
        eprintln!("--- backend: {label}");
        test(db.clone()).await;
        match Arc::try_unwrap(db) {
            Ok(db) => db.cleanup().await,
            Err(_) => eprintln!("note: the {label} test database is still referenced; not dropped"),
        }
    }
}

/// A database name no other test (in this process or another) uses.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "stackport_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `postgres://u@h:p/test?x=y` with the database part replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // The database is the path after the authority (`scheme://authority/db`).
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..authority_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
