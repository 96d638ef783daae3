//! The admin's tools: visits' payments and the figures they make, admin
//! accounts, and removing the demo clinic (decision 0021).

use super::{ActorId, Result, Store, StoreError, audit, begin_write, instant, on_read, on_write};
use crate::domain::appointment::PaymentStatus;
use crate::domain::ids::{AccountId, AppointmentId, DoctorId};
use jiff::Timestamp;
// Every dynamic statement here is built from this file's constants (and, in
// `row_counts`, table names read from the catalog, quoted): no input reaches it.
use sqlx::AssertSqlSafe;

/// One doctor's money: what was paid, and what visits that took place still owe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorMoney {
    pub doctor_id: DoctorId,
    /// Visits marked paid (not refunded) and the sum recorded with them.
    pub paid_visits: i64,
    pub revenue_cents: i64,
    /// Visits that took place, neither paid nor waived (see
    /// [`crate::domain::payment::is_outstanding`]), at the doctor's fee now.
    pub outstanding_visits: i64,
    pub outstanding_cents: i64,
}

/// An admin account as the admins' page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccount {
    pub id: AccountId,
    pub login: String,
    pub active: bool,
    /// Made by the demo loader.
    pub demo: bool,
    pub created_at: Timestamp,
}

/// What turning an admin on or off did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSwitch {
    Done,
    /// There is no admin account with this id.
    NotFound,
    /// It is the last active admin: turning it off would lock the clinic out.
    LastActive,
}

/// The accounts the demo loader made (see migration 0010).
const DEMO_ACCOUNTS: &str = "(SELECT id FROM accounts WHERE demo)";
const DEMO_PATIENTS: &str =
    "(SELECT id FROM patients WHERE account_id IN (SELECT id FROM accounts WHERE demo))";
const DEMO_DOCTORS: &str =
    "(SELECT id FROM doctors WHERE account_id IN (SELECT id FROM accounts WHERE demo))";

/// Tables whose rows belong to one account through an `account_id`-like
/// column and hang on nothing else: removing the demo deletes their rows of
/// demo accounts. **A new table that references `accounts` (one-time codes,
/// TOTP secrets, recovery codes, account closure, ...) must be added here**
/// (one line: table, column), or to the ordered steps in
/// [`Store::remove_demo`] when it references visits, patients or doctors;
/// otherwise the foreign key stops the removal (or, without one, leaves rows
/// of accounts that no longer exist).
const ACCOUNT_OWNED: &[(&str, &str)] = &[
    ("sessions", "account_id"),
    ("idempotency_keys", "account_id"),
    ("one_time_code", "account_id"),
    ("account_totp", "account_id"),
    ("totp_recovery_code", "account_id"),
];

impl Store {
    /// Records a visit's new payment status if it is still `from`, audited in
    /// the same transaction. Marking it paid records the doctor's fee as the
    /// sum paid. `Conflict::Stale` if it changed meanwhile.
    pub async fn set_payment(
        &self,
        id: AppointmentId,
        from: PaymentStatus,
        to: PaymentStatus,
        actor: ActorId,
        now: i64,
    ) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "UPDATE appointments SET payment_status = $3, updated_at = $4, \
                   paid_cents = CASE WHEN $3 = 'paid' \
                     THEN (SELECT fee_cents FROM doctors WHERE doctors.id = appointments.doctor_id) \
                     WHEN $3 = 'unpaid' THEN NULL ELSE paid_cents END \
                 WHERE id = $1 AND payment_status = $2",
            )
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict(super::Conflict::Stale));
            }
            audit!(tx, now, actor, "payment", "appointment", id, Some(format!("{} -> {}", from.as_str(), to.as_str())));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every doctor's paid and outstanding money (doctors with neither are left out).
    pub async fn money_per_doctor(&self, now: i64) -> Result<Vec<DoctorMoney>> {
        // The outstanding rule is the domain's `is_outstanding`, in SQL.
        on_read!(self, pool => {
            let rows: Vec<(DoctorId, i64, i64, i64, i64)> = sqlx::query_as(
                "SELECT d.id, \
                   CAST(COALESCE(SUM(CASE WHEN ap.payment_status = 'paid' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN ap.payment_status = 'paid' THEN COALESCE(ap.paid_cents, 0) ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN ap.payment_status = 'unpaid' AND (ap.status = 'completed' \
                     OR (ap.status IN ('booked', 'in_progress') AND ap.end_at <= $1)) THEN 1 ELSE 0 END), 0) AS BIGINT), \
                   d.fee_cents \
                 FROM doctors d JOIN appointments ap ON ap.doctor_id = d.id \
                 GROUP BY d.id, d.fee_cents ORDER BY d.id",
            )
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .filter(|r| r.1 > 0 || r.3 > 0)
                .map(|(doctor_id, paid_visits, revenue_cents, outstanding_visits, fee)| DoctorMoney {
                    doctor_id,
                    paid_visits,
                    revenue_cents,
                    outstanding_visits,
                    outstanding_cents: outstanding_visits.saturating_mul(fee),
                })
                .collect())
        })
    }

    /// Every admin account, oldest first.
    pub async fn list_admins(&self) -> Result<Vec<AdminAccount>> {
        on_read!(self, pool => {
            let rows: Vec<(AccountId, String, bool, bool, i64)> = sqlx::query_as(
                "SELECT id, login, active, demo, created_at FROM accounts \
                 WHERE role = 'admin' ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, login, active, demo, at)| {
                    Ok(AdminAccount { id, login, active, demo, created_at: instant(at)? })
                })
                .collect()
        })
    }

    /// Creates an admin account on behalf of `actor` (audited).
    pub async fn add_admin(
        &self,
        email: &str,
        password_hash: &str,
        actor: ActorId,
        now: i64,
    ) -> Result<AccountId> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (id,): (AccountId,) = sqlx::query_as(
                "INSERT INTO accounts (role, login, password_hash, active, created_at) \
                 VALUES ('admin', $1, $2, TRUE, $3) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, actor, "create", "admin", id, None::<String>);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Turns an admin account on or off (off ends its sessions), audited;
    /// never the last active admin. The admins' rows are locked first, so two
    /// admins turning each other off at once cannot both succeed.
    pub async fn switch_admin(
        &self,
        id: AccountId,
        active: bool,
        actor: ActorId,
        now: i64,
    ) -> Result<AdminSwitch> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let lock = if self.backend() == "postgres" {
                "SELECT id, active FROM accounts WHERE role = 'admin' ORDER BY id FOR UPDATE"
            } else {
                "SELECT id, active FROM accounts WHERE role = 'admin' ORDER BY id"
            };
            let admins: Vec<(AccountId, bool)> = sqlx::query_as(lock).fetch_all(&mut *tx).await?;
            let Some(&(_, was)) = admins.iter().find(|(a, _)| *a == id) else {
                return Ok(AdminSwitch::NotFound);
            };
            let others = admins.iter().filter(|(a, on)| *a != id && *on).count();
            if !active && others == 0 {
                return Ok(AdminSwitch::LastActive);
            }
            if was != active {
                sqlx::query("UPDATE accounts SET active = $2 WHERE id = $1")
                    .bind(id)
                    .bind(active)
                    .execute(&mut *tx)
                    .await?;
                if !active {
                    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                let action = if active { "activate" } else { "deactivate" };
                audit!(tx, now, actor, action, "admin", id, None::<String>);
            }
            tx.commit().await?;
            Ok(AdminSwitch::Done)
        })
    }

    /// Marks accounts as the demo clinic's.
    pub async fn mark_demo(&self, ids: &[AccountId]) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            for id in ids {
                sqlx::query("UPDATE accounts SET demo = TRUE WHERE id = $1")
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// How many demo accounts exist.
    pub async fn count_demo_accounts(&self) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE demo")
                .fetch_one(pool)
                .await?;
            Ok(n)
        })
    }

    /// Whether `login` is an active demo account's (the landing page's buttons).
    pub async fn is_active_demo_login(&self, login: &str) -> Result<bool> {
        on_read!(self, pool => {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM accounts WHERE login = $1 AND demo AND active",
            )
            .bind(login)
            .fetch_optional(pool)
            .await?;
            Ok(row.is_some())
        })
    }

    /// Whether the account is one of the demo clinic's.
    pub async fn is_demo_account(&self, id: AccountId) -> Result<bool> {
        on_read!(self, pool => {
            let row: Option<(bool,)> = sqlx::query_as("SELECT demo FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some_and(|(d,)| d))
        })
    }

    /// Removes the demo clinic in one transaction: its accounts and every row
    /// that hangs on them (their visits, wherever they are: a real patient's
    /// visit with a demo doctor goes, as does a demo patient's with a real
    /// doctor, whose slot is freed). Audit entries about demo records go;
    /// entries by a demo account about a real record stay (that record's
    /// history is not rewritten). Rows deleted per table, in deletion order.
    pub async fn remove_demo(&self, actor: ActorId, now: i64) -> Result<Vec<(&'static str, u64)>> {
        let appts = format!(
            "(SELECT id FROM appointments WHERE doctor_id IN {DEMO_DOCTORS} OR patient_id IN {DEMO_PATIENTS})"
        );
        let holds = format!(
            "(SELECT id FROM slot_hold WHERE doctor_id IN {DEMO_DOCTORS} OR patient_id IN {DEMO_PATIENTS})"
        );
        let a = DEMO_ACCOUNTS;
        // Children before parents, each with the sets above still intact.
        let mut steps: Vec<(&'static str, String)> = vec![
            (
                "delivery",
                format!(
                    "DELETE FROM delivery WHERE appointment_id IN {appts} OR account_id IN {a} \
                 OR event_id IN (SELECT id FROM notification_event WHERE appointment_id IN {appts}) \
                 OR code_id IN (SELECT id FROM one_time_code WHERE account_id IN {a})"
                ),
            ),
            (
                "notification_event",
                format!("DELETE FROM notification_event WHERE appointment_id IN {appts}"),
            ),
            (
                "visit_message",
                format!(
                    "DELETE FROM visit_message WHERE appointment_id IN {appts} OR author_account_id IN {a}"
                ),
            ),
            (
                "visit_note",
                format!(
                    "DELETE FROM visit_note WHERE appointment_id IN {appts} OR author_account_id IN {a}"
                ),
            ),
            (
                "visit_presence",
                format!(
                    "DELETE FROM visit_presence WHERE appointment_id IN {appts} OR account_id IN {a}"
                ),
            ),
            (
                "visit_signal",
                format!(
                    "DELETE FROM visit_signal WHERE appointment_id IN {appts} OR from_account_id IN {a}"
                ),
            ),
            (
                "audit_log",
                format!(
                    "DELETE FROM audit_log WHERE \
                 (entity IN ('appointment', 'visit') AND entity_id IN {appts}) \
                 OR (entity = 'patient' AND entity_id IN {DEMO_PATIENTS}) \
                 OR (entity = 'doctor' AND entity_id IN {DEMO_DOCTORS}) \
                 OR (entity IN ('admin', 'account', 'calendar') AND entity_id IN {a}) \
                 OR (entity = 'slot' AND entity_id IN {holds})"
                ),
            ),
            (
                "idempotency_keys",
                format!("DELETE FROM idempotency_keys WHERE appointment_id IN {appts}"),
            ),
        ];
        // Kept rows that name a demo account as who acted lose the link.
        let unlink = [
            format!(
                "UPDATE notification_event SET actor_account_id = NULL WHERE actor_account_id IN {a}"
            ),
            format!(
                "UPDATE appointments SET cancelled_by = NULL WHERE cancelled_by IN {a} AND id NOT IN {appts}"
            ),
        ];
        // Slots of real doctors taken by demo patients' visits or holds.
        let foreign_slots = format!(
            "SELECT slot_id FROM appointments WHERE id IN {appts} AND doctor_id NOT IN {DEMO_DOCTORS} \
             UNION SELECT slot_id FROM slot_hold WHERE id IN {holds} AND doctor_id NOT IN {DEMO_DOCTORS}"
        );
        let mut after: Vec<(&'static str, String)> = vec![
            (
                "appointments",
                format!("DELETE FROM appointments WHERE id IN {appts}"),
            ),
            (
                "slot_hold",
                format!("DELETE FROM slot_hold WHERE id IN {holds}"),
            ),
            (
                "slots",
                format!("DELETE FROM slots WHERE doctor_id IN {DEMO_DOCTORS}"),
            ),
            (
                "working_hours",
                format!("DELETE FROM working_hours WHERE doctor_id IN {DEMO_DOCTORS}"),
            ),
            (
                "date_overrides",
                format!("DELETE FROM date_overrides WHERE doctor_id IN {DEMO_DOCTORS}"),
            ),
            (
                "time_off",
                format!("DELETE FROM time_off WHERE doctor_id IN {DEMO_DOCTORS}"),
            ),
        ];
        for (table, column) in ACCOUNT_OWNED {
            after.push((table, format!("DELETE FROM {table} WHERE {column} IN {a}")));
        }
        after.extend([
            ("login_throttle", "DELETE FROM login_throttle WHERE key IN (SELECT 'login:' || login FROM accounts WHERE demo)".to_owned()),
            ("patients", format!("DELETE FROM patients WHERE id IN {DEMO_PATIENTS}")),
            ("doctors", format!("DELETE FROM doctors WHERE id IN {DEMO_DOCTORS}")),
            ("accounts", "DELETE FROM accounts WHERE demo".to_owned()),
        ]);
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let mut counts: Vec<(&'static str, u64)> = Vec::new();
            let mut count = |table: &'static str, n: u64| {
                match counts.iter_mut().find(|(t, _)| *t == table) {
                    Some((_, c)) => *c += n,
                    None => counts.push((table, n)),
                }
            };
            for (table, sql) in steps.drain(..) {
                let n = sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?.rows_affected();
                count(table, n);
            }
            for sql in &unlink {
                sqlx::query(AssertSqlSafe(sql.as_str())).execute(&mut *tx).await?;
            }
            let slot_ids: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(foreign_slots.as_str())).fetch_all(&mut *tx).await?;
            for (table, sql) in after.drain(..) {
                let n = sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?.rows_affected();
                count(table, n);
                if table == "slots" {
                    for (slot,) in &slot_ids {
                        let n = sqlx::query("DELETE FROM slots WHERE id = $1")
                            .bind(*slot)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        count("slots", n);
                    }
                }
            }
            let accounts = counts.iter().find(|(t, _)| *t == "accounts").map_or(0, |(_, n)| *n);
            if accounts > 0 {
                let rows: u64 = counts.iter().map(|(_, n)| *n).sum();
                audit!(tx, now, actor, "remove demo", "clinic", 0_i64, Some(format!("{accounts} accounts, {rows} rows")));
            }
            tx.commit().await?;
            Ok(counts)
        })
    }

    /// Rows in every table of the schema (but the migrations' own), by name:
    /// for operators and for the tests that check what a removal left.
    pub async fn row_counts(&self) -> Result<Vec<(String, i64)>> {
        let list = if self.backend() == "postgres" {
            "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename NOT LIKE '\\_sqlx%' ORDER BY 1"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY 1"
        };
        on_read!(self, pool => {
            let names: Vec<(String,)> = sqlx::query_as(list).fetch_all(pool).await?;
            let mut out = Vec::new();
            for (name,) in names {
                // The name comes from the catalog, quoted as an identifier.
                let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
                let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(sql)).fetch_one(pool).await?;
                out.push((name, n));
            }
            Ok(out)
        })
    }
}
