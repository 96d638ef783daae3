//! Read-only invariant checks, the raw commit-rate baseline and the plans of
//! the hot queries: the SQL behind the load tool's checks (`medimeet-load`),
//! kept here with the rest. The bulk loading is in [`super::seed`].
//!
//! Nothing in the server calls this module.

use super::{Result, Store, StoreError, on_read, on_write};
use crate::config::DatabaseUrl;
use sqlx::{AssertSqlSafe, QueryBuilder};

// ---------------------------------------------------------------------------
// Read-only checks

/// Broken rules found in the whole database; all must be 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvariantReport {
    /// Unreleased slots of one doctor that overlap an earlier one.
    pub overlapping_slots: i64,
    /// Appointments (not cancelled) of one doctor that overlap an earlier one.
    pub overlapping_appointments: i64,
    /// Appointments (not cancelled) whose slot is released or differs in time.
    pub inconsistent_appointments: i64,
    /// (doctor, patient, local day) with more than one active visit.
    pub one_per_day_violations: i64,
}

impl InvariantReport {
    pub fn is_clean(&self) -> bool {
        *self == Self::default()
    }
}

/// An appointment as the checks read it back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredAppointment {
    pub id: i64,
    pub doctor_id: i64,
    pub patient_id: i64,
    pub start_at: i64,
    pub status: String,
}

impl Store {
    /// Opens the database for checks only: SQLite read-only connections with the
    /// server's settings, PostgreSQL sessions in read-only transaction mode.
    pub async fn connect_read_only(url: &DatabaseUrl) -> Result<Self> {
        let url = url.expose().trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(url)
                .map_err(|e| StoreError::Url(e.to_string()))?
                .application_name("medimeet-check")
                .options([("default_transaction_read_only", "on")]);
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await?;
            return Ok(Store::Postgres(pool));
        }
        let base = super::sqlite_options(url)?.read_only(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(base)
            .await?;
        Ok(Store::Sqlite {
            read: pool.clone(),
            booker: super::Booker::start(pool.clone()),
            write: pool,
        })
    }

    /// Counts every kind of double booking and inconsistency in the database.
    pub async fn check_invariants(&self) -> Result<InvariantReport> {
        on_read!(self, pool => {
            let (overlapping_slots,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM ( \
                   SELECT start_at, MAX(end_at) OVER ( \
                     PARTITION BY doctor_id ORDER BY start_at, id \
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end \
                   FROM slots WHERE released_at IS NULL) t \
                 WHERE prev_end > start_at",
            )
            .fetch_one(pool)
            .await?;
            let (overlapping_appointments,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM ( \
                   SELECT start_at, MAX(end_at) OVER ( \
                     PARTITION BY doctor_id ORDER BY start_at, id \
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end \
                   FROM appointments WHERE status <> 'cancelled') t \
                 WHERE prev_end > start_at",
            )
            .fetch_one(pool)
            .await?;
            let (inconsistent_appointments,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM appointments a JOIN slots s ON s.id = a.slot_id \
                 WHERE a.status <> 'cancelled' \
                   AND (s.released_at IS NOT NULL OR s.doctor_id <> a.doctor_id \
                        OR s.start_at <> a.start_at OR s.end_at <> a.end_at)",
            )
            .fetch_one(pool)
            .await?;
            let (one_per_day_violations,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM ( \
                   SELECT doctor_id FROM appointments \
                   WHERE status IN ('booked', 'in_progress') \
                   GROUP BY doctor_id, patient_id, local_date HAVING COUNT(*) > 1) t",
            )
            .fetch_one(pool)
            .await?;
            Ok(InvariantReport {
                overlapping_slots,
                overlapping_appointments,
                inconsistent_appointments,
                one_per_day_violations,
            })
        })
    }

    /// The appointments with these ids that exist.
    pub async fn appointments_by_id(&self, ids: &[i64]) -> Result<Vec<StoredAppointment>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = on_read!(self, pool => {
                let mut q = QueryBuilder::new(
                    "SELECT id, doctor_id, patient_id, start_at, status FROM appointments WHERE id IN (",
                );
                let mut sep = q.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                q.push(")");
                q.build_query_as::<StoredAppointment>().fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// The raw commit-rate baseline

impl Store {
    /// Creates the scratch table of the baseline (dropped by [`Store::baseline_drop`]).
    pub async fn baseline_prepare(&self) -> Result<()> {
        match self {
            Store::Sqlite { write, .. } => {
                sqlx::query("DROP TABLE IF EXISTS medimeet_load_baseline")
                    .execute(write)
                    .await?;
                sqlx::query(
                    "CREATE TABLE medimeet_load_baseline (\
                       id INTEGER PRIMARY KEY, n BIGINT NOT NULL, at BIGINT NOT NULL, note TEXT)",
                )
                .execute(write)
                .await?;
            }
            Store::Postgres(pool) => {
                sqlx::query("DROP TABLE IF EXISTS medimeet_load_baseline")
                    .execute(pool)
                    .await?;
                sqlx::query(
                    "CREATE TABLE medimeet_load_baseline (\
                       id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
                       n BIGINT NOT NULL, at BIGINT NOT NULL, note TEXT)",
                )
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// One single-row INSERT in its own (autocommit) transaction, on the
    /// connection(s) the server writes with: durable when this returns.
    pub async fn baseline_insert(&self, n: i64, at: i64) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query("INSERT INTO medimeet_load_baseline (n, at, note) VALUES ($1, $2, 'baseline')")
                .bind(n)
                .bind(at)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn baseline_drop(&self) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query("DROP TABLE IF EXISTS medimeet_load_baseline")
                .execute(pool)
                .await?;
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------
// Query plans of the hot queries

/// A hot query, its SQL as the server sends it, and the database's plan for it.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub name: &'static str,
    pub sql: String,
    pub plan: String,
}

impl Store {
    /// Plans of the queries behind the free-slots and my-appointments pages,
    /// for one doctor and one patient, run with real parameters. PostgreSQL:
    /// `EXPLAIN (ANALYZE, BUFFERS)`; SQLite: `EXPLAIN QUERY PLAN`.
    pub async fn explain_hot_queries(
        &self,
        doctor_id: i64,
        patient_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<QueryPlan>> {
        let day = 86_400;
        let patient_filter = super::AppointmentFilter {
            patient_id: Some(crate::domain::ids::PatientId::new(patient_id)),
            ..Default::default()
        };
        let list_sql = match self {
            Store::Sqlite { .. } => {
                super::appointments::list_query::<sqlx::Sqlite>(&patient_filter, None, 51)
                    .sql()
                    .as_str()
                    .to_owned()
            }
            Store::Postgres(_) => {
                super::appointments::list_query::<sqlx::Postgres>(&patient_filter, None, 51)
                    .sql()
                    .as_str()
                    .to_owned()
            }
        };
        let queries: Vec<(&'static str, String, Vec<i64>)> = vec![
            (
                "taken slots of a doctor (alone; the same conditions as in the schedule query)",
                super::appointments::TAKEN_PERIODS.to_owned(),
                vec![doctor_id, from - day, to + day],
            ),
            (
                "a patient's appointments (my appointments), first page",
                list_sql,
                vec![patient_id, 51],
            ),
            (
                "a doctor's hours, time off and taken slots around a window (free slots, booking)",
                super::schedule::SCHEDULE.to_owned(),
                vec![doctor_id, from - day, to + day],
            ),
            (
                "a doctor's hours and overrides (the doctor's availability page)",
                super::schedule::AVAILABILITY.to_owned(),
                vec![doctor_id],
            ),
        ];
        let mut out = Vec::new();
        for (name, sql, params) in queries {
            let plan = match self {
                Store::Sqlite { read, .. } => {
                    let explain = format!("EXPLAIN QUERY PLAN {sql}");
                    let mut q =
                        sqlx::query_as::<_, (i64, i64, i64, String)>(AssertSqlSafe(explain));
                    for p in &params {
                        q = q.bind(*p);
                    }
                    q.fetch_all(read)
                        .await?
                        .into_iter()
                        .map(|(_, _, _, detail)| detail)
                        .collect::<Vec<_>>()
                        .join("\n")
                }
                Store::Postgres(pool) => {
                    let explain = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
                    let mut q = sqlx::query_as::<_, (String,)>(AssertSqlSafe(explain));
                    for p in &params {
                        q = q.bind(*p);
                    }
                    q.fetch_all(pool)
                        .await?
                        .into_iter()
                        .map(|(line,)| line)
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            };
            out.push(QueryPlan { name, sql, plan });
        }
        Ok(out)
    }
}
