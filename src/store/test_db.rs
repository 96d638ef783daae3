//! Fresh databases for the crate's own tests of the layers above the store:
//! a temporary SQLite file, or a PostgreSQL database `medimeet_test_<random>`
//! on the server at `MEDIMEET_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), migrated, and removed when
//! the guard is dropped. PostgreSQL being down is a failure, never a skip.

use super::Store;
use crate::config::DatabaseConfig;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Keeps a test database alive; dropping it removes the database.
pub enum Guard {
    /// The directory of the SQLite file, deleted when dropped.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin: String,
        name: String,
    },
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Guard::Postgres { admin, name } = self else {
            return;
        };
        let (admin, name) = (admin.clone(), name.clone());
        // Drop may run inside a test's runtime: do the async work on a thread
        // of its own so that it completes even while a test unwinds.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A migrated store on a database of its own.
pub async fn fresh(backend: Backend) -> (Store, Guard) {
    let (url, guard) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite:{}", dir.path().join("test.db").display());
            (url, Guard::Sqlite { _dir: dir })
        }
        Backend::Postgres => {
            let admin = std::env::var("MEDIMEET_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let name = format!("medimeet_test_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL is required for the tests ({admin}): {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            let url = format!("{base}/{name}");
            (url, Guard::Postgres { admin, name })
        }
    };
    let store = Store::connect(&DatabaseConfig::new(url))
        .await
        .expect("open the test database");
    store.migrate().await.expect("migrate");
    (store, guard)
}
