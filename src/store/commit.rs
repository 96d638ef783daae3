//! Bookings in as few round trips as the engine allows.
//!
//! SQLite has one writer, so bookings queue for it anyway; the question is what
//! each one costs while it holds the writer. Written as six statements (begin,
//! slot, visit, audit, read back, commit) a booking is six hand-offs to the
//! connection's worker thread and one fsync, and the writer is busy for all of
//! it. Here a single task owns the booking path: it takes every booking that is
//! waiting, opens one `BEGIN IMMEDIATE` transaction, runs each booking as one
//! multi-statement call inside its own savepoint (a refused booking rolls back
//! to it and leaves the others alone), and commits once. Every booking of the
//! batch is durable (`synchronous=FULL`) before any of them is answered. Under
//! load that is one hand-off per booking and one fsync per batch (group
//! commit); alone, a booking waits for nobody.
//!
//! On PostgreSQL a booking is one statement (data-modifying CTEs) in its own
//! implicit transaction: one round trip instead of seven; concurrent commits
//! are grouped by PostgreSQL's WAL writer.
//!
//! The rules are still the database's: the no-overlap trigger or exclusion
//! constraint and the one-visit-a-day index refuse a booking exactly as before.

use super::appointments::BOOK_SQLITE;
use super::appointments::RawAppointment;
use super::{ActorId, NewBooking, Result, StoreError};
use crate::domain::appointment::Appointment;
use crate::domain::ids::{AccountId, DoctorId, PatientId};
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// Bookings committed together at most.
const MAX_BATCH: usize = 64;

/// A booking waiting for the writer.
struct Job {
    doctor_id: DoctorId,
    patient_id: PatientId,
    start_at: i64,
    end_at: i64,
    local_date: String,
    reason: Option<String>,
    /// `(account, Idempotency-Key, request hash)`.
    idempotency: Option<(AccountId, String, String)>,
    actor: ActorId,
    now: i64,
    reply: oneshot::Sender<Result<Appointment>>,
}

/// The handle on the SQLite booking writer (cheap to clone).
#[derive(Debug, Clone)]
pub struct Booker {
    jobs: mpsc::Sender<Job>,
}

fn gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

impl Booker {
    /// Starts the task that writes bookings on `write` (the one writer
    /// connection); it ends when the last handle is dropped.
    pub(crate) fn start(write: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(write, rx));
        Self { jobs }
    }

    /// Books and answers once the booking is committed (or refused).
    pub(crate) async fn book(
        &self,
        b: &NewBooking<'_>,
        actor: ActorId,
        now: i64,
    ) -> Result<Appointment> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            doctor_id: b.doctor_id,
            patient_id: b.patient_id,
            start_at: b.start_at.as_second(),
            end_at: b.end_at.as_second(),
            local_date: b.local_date.to_string(),
            reason: b.reason.map(str::to_owned),
            idempotency: b
                .idempotency
                .map(|(a, k, h)| (a, k.to_owned(), h.to_owned())),
            actor,
            now,
            reply,
        };
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(write: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = rx.recv().await {
        batch.push(job);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match commit_batch(&write, &batch).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    // A caller that went away finds its booking made anyway, as
                    // if its connection had dropped after the answer.
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, bookings = batch.len(), "booking batch failed; none committed");
                let msg = e.to_string();
                for job in batch.drain(..) {
                    let _ = job
                        .reply
                        .send(Err(StoreError::Database(sqlx::Error::Protocol(format!(
                            "booking batch not committed: {msg}"
                        )))));
                }
            }
        }
    }
}

/// Runs a batch in one transaction. The outer error means nothing was
/// committed; the inner results are each booking's own outcome.
async fn commit_batch(
    write: &SqlitePool,
    batch: &[Job],
) -> Result<Vec<Result<Appointment>>, sqlx::Error> {
    let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
    let mut out = Vec::with_capacity(batch.len());
    for job in batch {
        let key = job.idempotency.as_ref();
        let rows = sqlx::query_as::<_, RawAppointment>(BOOK_SQLITE)
            .bind(job.doctor_id)
            .bind(job.patient_id)
            .bind(job.start_at)
            .bind(job.end_at)
            .bind(&job.local_date)
            .bind(job.reason.as_deref())
            .bind(job.actor)
            .bind(job.now)
            .bind(key.map(|k| k.0))
            .bind(key.map(|k| k.1.as_str()))
            .bind(key.map(|k| k.2.as_str()))
            .fetch_all(&mut *tx)
            .await;
        match rows {
            Ok(mut rows) if rows.len() == 1 => out.push(
                rows.pop()
                    .ok_or(StoreError::NotFound)
                    .and_then(Appointment::try_from),
            ),
            Ok(_) => {
                sqlx::query("ROLLBACK TO booking; RELEASE booking")
                    .execute(&mut *tx)
                    .await?;
                out.push(Err(StoreError::NotFound));
            }
            Err(e) => {
                // Undo this booking only; the savepoint is still open.
                sqlx::query("ROLLBACK TO booking; RELEASE booking")
                    .execute(&mut *tx)
                    .await?;
                out.push(Err(StoreError::from(e)));
            }
        }
    }
    tx.commit().await?;
    Ok(out)
}
