//! Persistence: every SQL statement of medimeet lives under this module.
//!
//! One [`Store`] serves two backends, chosen from the database URL at start-up:
//! SQLite (the embedded default) and PostgreSQL. The SQL text is shared: both
//! dialects accept `$1` placeholders, `RETURNING`, partial indexes and row values,
//! and every instant is a BIGINT of unix seconds, so each query is written once and
//! run on either pool by the [`on_read!`]/[`on_write!`] macros. Where the dialects
//! differ (the no-overlap rule: a trigger on SQLite, an exclusion constraint on
//! PostgreSQL) the difference lives in the migrations, not here.
//!
//! SQLite runs with one writer connection and a pool of readers (WAL mode): writes
//! are serialized in-process, which is what SQLite does anyway, and readers never
//! wait for them. `synchronous=FULL`: a commit is on disk before we answer.
//!
//! What comes out is the domain's types: ids as newtypes ([`crate::domain::ids`]),
//! statuses and roles as enums, instants as [`jiff::Timestamp`]. Each table's row
//! is read raw and converted in one place; a stored value that cannot be one of
//! those (an unknown status, an impossible instant) is [`StoreError::Corrupt`],
//! an internal error, never a plausible default.
//!
//! Error policy: constraint violations that mean something to a user become
//! [`StoreError::Conflict`] with a [`Conflict`] naming the rule; everything else is
//! [`StoreError::Database`] or [`StoreError::Corrupt`], which the use cases log
//! and answer as an internal error.

mod accounts;
mod admin;
mod appointments;
mod audit;
mod calendar;
mod changes;
pub mod checks;
mod codes;
mod commit;
mod doctors;
mod holds;
mod outbox;
mod patient_data;
mod relay;
mod schedule;
pub mod seed;
mod signup;
mod stats;
#[cfg(test)]
pub(crate) mod test_db;
mod totp;
mod visits;
mod webhooks;

pub use accounts::*;
pub use admin::*;
pub use appointments::*;
pub use audit::AuditFilter;
pub use calendar::*;
pub use changes::*;
pub use codes::{CodeOf, CodeRow, NewCode};
pub use commit::Booker;
pub use doctors::*;
pub use holds::HoldRow;
pub use outbox::{DeliveryRow, DeliveryState, EventRow, NewDelivery, Outcome, Recipients};
pub use patient_data::*;
pub use relay::Hub;
pub use schedule::*;
pub use signup::PendingSignup;
pub use stats::*;
pub use totp::TotpRow;
pub use visits::*;
pub use webhooks::*;

use crate::config::DatabaseConfig;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// A handle on the database; cheap to clone (pools are reference-counted).
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// The booking writer on `write` (group commit).
        booker: Booker,
    },
    Postgres(PgPool),
}

/// A rule of the data that a request broke; each maps to a 409 with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The phone or email is already someone's login.
    LoginTaken,
    /// The time overlaps another active visit of the doctor.
    SlotTaken,
    /// The patient already has an active visit with this doctor that day.
    OneVisitPerDay,
    /// The appointment changed under us (another request moved it first).
    Stale,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("not found")]
    NotFound,
    /// No connection came free in time: the database is overloaded, and a
    /// retry shortly after may work.
    #[error("database busy: no connection free")]
    Busy,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL: {0}")]
    Url(String),
    /// A stored value the domain cannot hold (data written by hand or by a
    /// newer version): an internal error, never guessed around.
    #[error("impossible stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

/// A stored unix-seconds instant as a [`jiff::Timestamp`].
pub(crate) fn instant(secs: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_second(secs)
        .map_err(|_| StoreError::corrupt(format_args!("instant {secs} out of range")))
}

/// The typed ids travel as plain BIGINTs on both backends.
macro_rules! sql_id {
    ($($t:ty),* $(,)?) => {$(
        impl<DB: sqlx::Database> sqlx::Type<DB> for $t
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $t
        where
            i64: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(&self.get(), buf)
            }
        }
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $t
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> std::result::Result<Self, sqlx::error::BoxDynError> {
                Ok(Self::new(<i64 as sqlx::Decode<'r, DB>>::decode(value)?))
            }
        }
    )*};
}

use crate::domain::ids::{AccountId, AppointmentId, DoctorId, PatientId, SlotId, TimeOffId};
sql_id!(
    AccountId,
    PatientId,
    DoctorId,
    AppointmentId,
    SlotId,
    TimeOffId
);

/// Constraint names (PostgreSQL) and message fragments (SQLite) that mean a
/// user-facing conflict. SQLite names columns, not indexes, in its messages.
const CONFLICTS: &[(&str, &str, Conflict)] = &[
    ("slots_no_overlap", "slots_no_overlap", Conflict::SlotTaken),
    (
        "appointments_one_per_day",
        "appointments.doctor_id, appointments.patient_id, appointments.local_date",
        Conflict::OneVisitPerDay,
    ),
    ("accounts_login_key", "accounts.login", Conflict::LoginTaken),
    ("patients_phone_key", "patients.phone", Conflict::LoginTaken),
    // Two bookings with one Idempotency-Key: the later one reads the first's answer.
    (
        "idempotency_keys_pkey",
        "idempotency_keys.account_id, idempotency_keys.key",
        Conflict::Stale,
    ),
];

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if matches!(err, sqlx::Error::PoolTimedOut) {
            return StoreError::Busy;
        }
        if let Some(db) = err.as_database_error() {
            let constraint = db.constraint().unwrap_or_default();
            let message = db.message();
            for (pg_name, sqlite_fragment, conflict) in CONFLICTS {
                if constraint == *pg_name || message.contains(sqlite_fragment) {
                    return StoreError::Conflict(*conflict);
                }
            }
        }
        StoreError::Database(err)
    }
}

impl StoreError {
    /// Whether the transaction lost a race the database detected (deadlock,
    /// serialization failure) and may simply be run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "40001" || c == "40P01"),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs `$body` with `$pool` bound to a pool fit for reads.
macro_rules! on_read {
    ($self:expr, $pool:ident => $body:expr) => {
        match $self {
            $crate::store::Store::Sqlite { read: $pool, .. } => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that writes, and `$begin` to the
/// statement that opens a write transaction (`BEGIN IMMEDIATE` on SQLite, so the
/// write lock is taken up front and never upgraded mid-transaction).
macro_rules! on_write {
    ($self:expr, $pool:ident => $body:expr) => {
        match $self {
            $crate::store::Store::Sqlite { write: $pool, .. } => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}

/// Opens a write transaction on whichever pool `on_write!` bound.
macro_rules! begin_write {
    ($pool:expr) => {
        $crate::store::BeginWrite::begin_write($pool)
    };
}

pub(crate) use {begin_write, on_read, on_write};

/// Opening a transaction that will write.
pub trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// The settings of every SQLite connection (the server's, and the load tool's
/// baseline and checks): WAL, `synchronous=FULL`, foreign keys on.
pub(crate) fn sqlite_options(url: &str) -> Result<SqliteConnectOptions> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::Url(
            "expected sqlite:PATH, a file path or postgres://...".into(),
        ));
    }
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("temp_store", "memory"))
}

/// Creates the SQLite file `path`, if missing, readable by its owner alone
/// (0600): it holds health data. SQLite gives the `-wal` and `-shm` files
/// it makes beside it the database file's permissions. An existing file
/// others may read is left as it is, with a warning (it is the operator's).
fn create_private(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{:o}", meta.permissions().mode() & 0o777),
                    "the database file can be read by others than its owner: chmod 600 it"
                );
            }
            Ok(())
        }
        Err(e) => Err(StoreError::Database(sqlx::Error::Io(e))),
    }
}

impl Store {
    /// Opens the database named by `db.url` (`sqlite:PATH` or a bare path for
    /// SQLite, `postgres://...` for PostgreSQL), creating a SQLite file if missing.
    /// Does not migrate: call [`Store::migrate`].
    ///
    /// `db.connections` is the PostgreSQL pool size (default 16: enough
    /// concurrent commits for PostgreSQL to flush them together), or the SQLite
    /// reader connections (default 4: each is a thread, and more than twice the
    /// cores adds thread switches, not throughput). See docs/PERFORMANCE.md.
    pub async fn connect(db: &DatabaseConfig) -> Result<Self> {
        let url = db.url.expose().trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url(e.to_string()))?
                .application_name("medimeet");
            // A connection busy moments ago is alive: ping only those idle
            // for a while (a ping is a round trip to the server, and pinging on
            // every acquire was one more round trip per query).
            let pool = PgPoolOptions::new()
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= Duration::from_secs(10) {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .max_connections(db.connections.unwrap_or(16).max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            return Ok(Store::Postgres(pool));
        }
        let base = sqlite_options(url)?;
        create_private(base.get_filename())?;
        // No ping before each acquire: a connection to a local file cannot drop,
        // and on SQLite every ping is a round trip to the connection's thread
        // (two thread switches per query; docs/PERFORMANCE.md).
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(db.connections.unwrap_or(4).max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(base.read_only(true))
            .await?;
        let booker = Booker::start(write.clone());
        Ok(Store::Sqlite {
            read,
            write,
            booker,
        })
    }

    /// Brings the schema up to date (idempotent; safe to run from several
    /// instances at once on PostgreSQL, which takes an advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Store::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_read!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// How much of each connection pool is in use now (`main` on
    /// PostgreSQL; `read` and `write` on SQLite).
    pub fn pool_use(&self) -> Vec<PoolUse> {
        fn of<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> PoolUse {
            PoolUse {
                pool: name,
                open: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        }
        match self {
            Store::Sqlite { read, write, .. } => vec![of("read", read), of("write", write)],
            Store::Postgres(pool) => vec![of("main", pool)],
        }
    }

    /// Closes every connection (on shutdown).
    pub async fn close(&self) {
        match self {
            Store::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

/// One connection pool's use (see [`Store::pool_use`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub pool: &'static str,
    /// Connections open, busy or idle.
    pub open: u32,
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// Queues a transaction behind other writers of the same doctor's bookings.
///
/// The no-overlap constraint is what guarantees correctness; this lock only
/// makes concurrent bookings of one doctor wait in line instead of colliding
/// inside PostgreSQL's exclusion index, where a crowd of racing inserts can
/// deadlock. SQLite needs nothing: its writer is already serialized. The lock is
/// the doctor's own row, so it stays within one doctor's data.
pub trait LockDoctor {
    fn lock_doctor(
        &mut self,
        doctor_id: i64,
    ) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;
}

impl LockDoctor for sqlx::Transaction<'static, sqlx::Sqlite> {
    async fn lock_doctor(&mut self, _doctor_id: i64) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl LockDoctor for sqlx::Transaction<'static, sqlx::Postgres> {
    async fn lock_doctor(&mut self, doctor_id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT id FROM doctors WHERE id = $1 FOR NO KEY UPDATE")
            .bind(doctor_id)
            .execute(&mut **self)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL the store cannot open is reported without the URL, so its
    /// password stays out of the error (which `main` prints).
    #[tokio::test]
    async fn a_bad_url_is_reported_without_its_password() {
        for url in [
            "postgres://medimeet:s3cret@localhost:99999999/clinic",
            "postgres://medimeet:s3cret@[::1/clinic",
            "mysql://medimeet:s3cret@localhost/clinic",
        ] {
            let err = Store::connect(&DatabaseConfig::new(url))
                .await
                .err()
                .unwrap_or_else(|| panic!("{url} opened"));
            assert!(matches!(err, StoreError::Url(_)), "{url}: {err:?}");
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains("s3cret"), "{text}");
            }
        }
    }
}
