//! Accounts, patients, sessions and login throttling.

use super::{Result, Store, StoreError, begin_write, on_read, on_write};
use crate::domain::throttle::ThrottleState;

/// Who did something, for the audit log; `None` for the system or an anonymous
/// caller (such as a patient registering).
pub type ActorId = Option<i64>;

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6)";

/// Appends an audit row inside the caller's transaction.
macro_rules! audit {
    ($tx:expr, $now:expr, $actor:expr, $action:expr, $entity:expr, $id:expr, $detail:expr) => {
        sqlx::query($crate::store::accounts::INSERT_AUDIT)
            .bind($now)
            .bind($actor)
            .bind($action)
            .bind($entity)
            .bind($id)
            .bind($detail)
            .execute(&mut *$tx)
            .await?
    };
}
pub(crate) use audit;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub role: String,
    pub login: String,
    pub password_hash: String,
    pub active: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatientRow {
    pub id: i64,
    pub account_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: Option<String>,
    pub date_of_birth: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewPatient<'a> {
    pub phone: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: Option<&'a str>,
    pub date_of_birth: &'a str,
}

#[derive(Debug, Default)]
pub struct PatientPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Option<String>>,
}

/// The signed-in user behind a session token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub account_id: i64,
    pub role: String,
    pub login: String,
    pub csrf_token: String,
    pub expires_at: i64,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
}

impl Store {
    /// Creates a patient and the account they log in with, in one transaction.
    pub async fn create_patient(&self, p: NewPatient<'_>, now: i64) -> Result<PatientRow> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (account_id,): (i64,) = sqlx::query_as(
                "INSERT INTO accounts (role, login, password_hash, active, created_at) \
                 VALUES ('patient', $1, $2, TRUE, $3) RETURNING id",
            )
            .bind(p.phone)
            .bind(p.password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row: PatientRow = sqlx::query_as(
                "INSERT INTO patients (account_id, first_name, last_name, phone, email, date_of_birth, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id, account_id, first_name, last_name, phone, email, date_of_birth, created_at, updated_at",
            )
            .bind(account_id)
            .bind(p.first_name)
            .bind(p.last_name)
            .bind(p.phone)
            .bind(p.email)
            .bind(p.date_of_birth)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, Some(account_id), "create", "patient", row.id, None::<String>);
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Creates an account with the admin role.
    pub async fn create_admin(&self, email: &str, password_hash: &str, now: i64) -> Result<i64> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO accounts (role, login, password_hash, active, created_at) \
                 VALUES ('admin', $1, $2, TRUE, $3) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, None::<i64>, "create", "admin", id, None::<String>);
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn get_patient(&self, id: i64) -> Result<Option<PatientRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, PatientRow>(
                "SELECT id, account_id, first_name, last_name, phone, email, date_of_birth, created_at, updated_at \
                 FROM patients WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Changes a patient's profile; `None` if there is no such patient.
    pub async fn update_patient(
        &self,
        id: i64,
        patch: &PatientPatch,
        actor: ActorId,
        now: i64,
    ) -> Result<Option<PatientRow>> {
        let set_email = patch.email.is_some();
        let email = patch.email.clone().flatten();
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let row = sqlx::query_as::<_, PatientRow>(
                "UPDATE patients SET \
                   first_name = COALESCE($2, first_name), \
                   last_name = COALESCE($3, last_name), \
                   email = CASE WHEN $4 THEN $5 ELSE email END, \
                   updated_at = $6 \
                 WHERE id = $1 \
                 RETURNING id, account_id, first_name, last_name, phone, email, date_of_birth, created_at, updated_at",
            )
            .bind(id)
            .bind(patch.first_name.as_deref())
            .bind(patch.last_name.as_deref())
            .bind(set_email)
            .bind(email)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if row.is_some() {
                audit!(tx, now, actor, "update", "patient", id, None::<String>);
            }
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Records that a doctor or admin read a patient's record.
    pub async fn audit_read(&self, actor: i64, entity: &str, id: i64, now: i64) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            audit!(tx, now, Some(actor), "read", entity, id, None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn find_account_by_login(&self, login: &str) -> Result<Option<AccountRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, AccountRow>(
                "SELECT id, role, login, password_hash, active FROM accounts WHERE login = $1",
            )
            .bind(login)
            .fetch_optional(pool)
            .await?)
        })
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        account_id: i64,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query(
                "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
            // Housekeeping: expired sessions of this account go with each new login.
            sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND expires_at <= $2")
                .bind(account_id)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The active user of an unexpired session.
    pub async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<SessionUser>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, SessionUser>(
                "SELECT a.id AS account_id, a.role, a.login, s.csrf_token, s.expires_at, \
                        p.id AS patient_id, d.id AS doctor_id \
                 FROM sessions s \
                 JOIN accounts a ON a.id = s.account_id \
                 LEFT JOIN patients p ON p.account_id = a.id \
                 LEFT JOIN doctors d ON d.account_id = a.id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?)
        })
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn throttle_get(&self, key: &str) -> Result<Option<ThrottleState>> {
        on_read!(self, pool => {
            let row: Option<(i32, i64, Option<i64>)> = sqlx::query_as(
                "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(failures, window_start, locked_until)| ThrottleState {
                failures: i64::from(failures),
                window_start,
                locked_until,
            }))
        })
    }

    pub async fn throttle_put(&self, key: &str, s: ThrottleState) -> Result<()> {
        let failures = i32::try_from(s.failures).unwrap_or(i32::MAX);
        on_write!(self, pool => {
            sqlx::query(
                "INSERT INTO login_throttle (key, failures, window_start, locked_until) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures, \
                   window_start = EXCLUDED.window_start, locked_until = EXCLUDED.locked_until",
            )
            .bind(key)
            .bind(failures)
            .bind(s.window_start)
            .bind(s.locked_until)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    pub async fn throttle_clear(&self, key: &str) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(key)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Turns an account's login on or off; turning it off ends its sessions.
    pub async fn set_account_active(&self, account_id: i64, active: bool) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query("UPDATE accounts SET active = $2 WHERE id = $1")
                .bind(account_id)
                .bind(active)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            if !active {
                sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

impl Store {
    /// How many accounts exist (to tell an empty clinic).
    pub async fn count_accounts(&self) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
                .fetch_one(pool)
                .await?;
            Ok(n)
        })
    }
}
