//! Accounts, patients, sessions and login throttling.

use super::{Result, Store, StoreError, begin_write, instant, on_read, on_write};
use crate::domain::caller::Role;
use crate::domain::ids::{AccountId, DoctorId, PatientId};
use crate::domain::person::Patient;
use crate::domain::throttle::ThrottleState;
use jiff::Timestamp;
use jiff::civil::Date;

/// Who did something, for the audit log; `None` for the system or an anonymous
/// caller (such as a patient registering).
pub type ActorId = Option<AccountId>;

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

/// A login with its role and password hash.
#[derive(Clone)]
pub struct AccountRow {
    pub id: AccountId,
    pub role: Role,
    pub login: String,
    pub password_hash: String,
    pub active: bool,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct RawAccount {
    id: AccountId,
    role: String,
    login: String,
    password_hash: String,
    active: bool,
}

fn role(account: AccountId, stored: &str) -> Result<Role> {
    Role::parse(stored)
        .ok_or_else(|| StoreError::corrupt(format_args!("account {account}: role {stored:?}")))
}

impl TryFrom<RawAccount> for AccountRow {
    type Error = StoreError;
    fn try_from(r: RawAccount) -> Result<Self> {
        Ok(Self {
            role: role(r.id, &r.role)?,
            id: r.id,
            login: r.login,
            password_hash: r.password_hash,
            active: r.active,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RawPatient {
    id: PatientId,
    account_id: AccountId,
    first_name: String,
    last_name: String,
    phone: String,
    email: Option<String>,
    date_of_birth: String,
    notify_email: bool,
    notify_sms: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<RawPatient> for Patient {
    type Error = StoreError;
    fn try_from(r: RawPatient) -> Result<Self> {
        Ok(Self {
            date_of_birth: r.date_of_birth.parse().map_err(|_| {
                StoreError::corrupt(format_args!("patient {}: date of birth", r.id))
            })?,
            created_at: instant(r.created_at)?,
            updated_at: instant(r.updated_at)?,
            id: r.id,
            account_id: r.account_id,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            email: r.email,
            notify_email: r.notify_email,
            notify_sms: r.notify_sms,
        })
    }
}

pub struct NewPatient<'a> {
    pub phone: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: Option<&'a str>,
    pub date_of_birth: Date,
}

#[derive(Debug, Default)]
pub struct PatientPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Option<String>>,
    pub date_of_birth: Option<Date>,
    pub notify_email: Option<bool>,
    pub notify_sms: Option<bool>,
}

/// The signed-in user behind a session token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub account_id: AccountId,
    pub role: Role,
    pub login: String,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub patient_id: Option<PatientId>,
    pub doctor_id: Option<DoctorId>,
    /// When the session was last used (`None`: not since the login).
    pub last_used_at: Option<i64>,
    /// Whether the account's second factor is on (decision 0019).
    pub totp_on: bool,
}

#[derive(sqlx::FromRow)]
struct RawSessionUser {
    account_id: AccountId,
    role: String,
    login: String,
    csrf_token: String,
    expires_at: i64,
    patient_id: Option<PatientId>,
    doctor_id: Option<DoctorId>,
    last_used_at: Option<i64>,
    totp_enabled_at: Option<i64>,
}

/// A live session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

impl TryFrom<RawSessionUser> for SessionUser {
    type Error = StoreError;
    fn try_from(r: RawSessionUser) -> Result<Self> {
        Ok(Self {
            role: role(r.account_id, &r.role)?,
            expires_at: instant(r.expires_at)?,
            account_id: r.account_id,
            login: r.login,
            csrf_token: r.csrf_token,
            patient_id: r.patient_id,
            doctor_id: r.doctor_id,
            last_used_at: r.last_used_at,
            totp_on: r.totp_enabled_at.is_some(),
        })
    }
}

impl Store {
    /// Creates a patient and the account they log in with, in one transaction.
    pub async fn create_patient(&self, p: NewPatient<'_>, now: i64) -> Result<Patient> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let (account_id,): (AccountId,) = sqlx::query_as(
                "INSERT INTO accounts (role, login, password_hash, active, created_at) \
                 VALUES ('patient', $1, $2, TRUE, $3) RETURNING id",
            )
            .bind(p.phone)
            .bind(p.password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row: RawPatient = sqlx::query_as(
                "INSERT INTO patients (account_id, first_name, last_name, phone, email, date_of_birth, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id, account_id, first_name, last_name, phone, email, date_of_birth, notify_email, notify_sms, created_at, updated_at",
            )
            .bind(account_id)
            .bind(p.first_name)
            .bind(p.last_name)
            .bind(p.phone)
            .bind(p.email)
            .bind(p.date_of_birth.to_string())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row = Patient::try_from(row)?;
            audit!(tx, now, Some(account_id), "create", "patient", row.id, None::<String>);
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Creates an account with the admin role.
    pub async fn create_admin(
        &self,
        email: &str,
        password_hash: &str,
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
            audit!(tx, now, None::<AccountId>, "create", "admin", id, None::<String>);
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn get_patient(&self, id: PatientId) -> Result<Option<Patient>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawPatient>(
                "SELECT id, account_id, first_name, last_name, phone, email, date_of_birth, notify_email, notify_sms, created_at, updated_at \
                 FROM patients WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .map(Patient::try_from)
            .transpose()
        })
    }

    /// Changes a patient's profile; `None` if there is no such patient.
    pub async fn update_patient(
        &self,
        id: PatientId,
        patch: &PatientPatch,
        actor: ActorId,
        now: i64,
    ) -> Result<Option<Patient>> {
        let set_email = patch.email.is_some();
        let email = patch.email.clone().flatten();
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let row = sqlx::query_as::<_, RawPatient>(
                "UPDATE patients SET \
                   first_name = COALESCE($2, first_name), \
                   last_name = COALESCE($3, last_name), \
                   email = CASE WHEN $4 THEN $5 ELSE email END, \
                   notify_email = COALESCE($7, notify_email), \
                   notify_sms = COALESCE($8, notify_sms), \
                   date_of_birth = COALESCE($9, date_of_birth), \
                   updated_at = $6 \
                 WHERE id = $1 \
                 RETURNING id, account_id, first_name, last_name, phone, email, date_of_birth, notify_email, notify_sms, created_at, updated_at",
            )
            .bind(id)
            .bind(patch.first_name.as_deref())
            .bind(patch.last_name.as_deref())
            .bind(set_email)
            .bind(email)
            .bind(now)
            .bind(patch.notify_email)
            .bind(patch.notify_sms)
            .bind(patch.date_of_birth.map(|d| d.to_string()))
            .fetch_optional(&mut *tx)
            .await?
            .map(Patient::try_from)
            .transpose()?;
            if row.is_some() {
                audit!(tx, now, actor, "update", "patient", id, None::<String>);
            }
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Records that a doctor or admin read a patient's record.
    pub async fn audit_read(
        &self,
        actor: AccountId,
        entity: &str,
        id: i64,
        now: i64,
    ) -> Result<()> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            audit!(tx, now, Some(actor), "read", entity, id, None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn find_account_by_login(&self, login: &str) -> Result<Option<AccountRow>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawAccount>(
                "SELECT id, role, login, password_hash, active FROM accounts WHERE login = $1",
            )
            .bind(login)
            .fetch_optional(pool)
            .await?
            .map(AccountRow::try_from)
            .transpose()
        })
    }

    /// An account by its id (a login's second step names it).
    pub async fn find_account(&self, id: AccountId) -> Result<Option<AccountRow>> {
        on_read!(self, pool => {
            sqlx::query_as::<_, RawAccount>(
                "SELECT id, role, login, password_hash, active FROM accounts WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            .map(AccountRow::try_from)
            .transpose()
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_session(
        &self,
        token_hash: &str,
        account_id: AccountId,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
        user_agent: Option<&str>,
        address: &str,
    ) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query(
                "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at, \
                   last_used_at, user_agent, address) \
                 VALUES ($1, $2, $3, $4, $5, $4, $6, $7)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .bind(user_agent)
            .bind(address)
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
            sqlx::query_as::<_, RawSessionUser>(
                "SELECT a.id AS account_id, a.role, a.login, s.csrf_token, s.expires_at, \
                        p.id AS patient_id, d.id AS doctor_id, s.last_used_at, \
                        t.enabled_at AS totp_enabled_at \
                 FROM sessions s \
                 JOIN accounts a ON a.id = s.account_id \
                 LEFT JOIN patients p ON p.account_id = a.id \
                 LEFT JOIN doctors d ON d.account_id = a.id \
                 LEFT JOIN account_totp t ON t.account_id = a.id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
            .map(SessionUser::try_from)
            .transpose()
        })
    }

    /// Notes that a session was used now.
    pub async fn touch_session(&self, token_hash: &str, now: i64) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// An account's live sessions, newest first.
    pub async fn sessions_of(&self, account_id: AccountId, now: i64) -> Result<Vec<SessionRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, SessionRow>(
                "SELECT token_hash, created_at, last_used_at, user_agent, address FROM sessions \
                 WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC, token_hash",
            )
            .bind(account_id)
            .bind(now)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Ends the account's sessions whose token hash starts with `prefix`
    /// (audited); how many.
    pub async fn end_session(&self, account_id: AccountId, prefix: &str, now: i64) -> Result<u64> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "DELETE FROM sessions WHERE account_id = $1 AND substr(token_hash, 1, 16) = $2",
            )
            .bind(account_id)
            .bind(prefix)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                audit!(tx, now, Some(account_id), "end session", "account", account_id.get(), None::<String>);
            }
            tx.commit().await?;
            Ok(done.rows_affected())
        })
    }

    /// Ends every session of the account but `keep` (audited); how many.
    pub async fn end_other_sessions(
        &self,
        account_id: AccountId,
        keep: &str,
        now: i64,
    ) -> Result<u64> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
                .bind(account_id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, Some(account_id), "end other sessions", "account", account_id.get(), Some(done.rows_affected().to_string()));
            tx.commit().await?;
            Ok(done.rows_affected())
        })
    }

    /// The account's password hash, if it is active.
    pub async fn password_hash_of(&self, account_id: AccountId) -> Result<Option<String>> {
        on_read!(self, pool => {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT password_hash FROM accounts WHERE id = $1 AND active",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(h,)| h))
        })
    }

    /// Sets a new password and ends every other session of the account, in
    /// one transaction (audited, without the password).
    pub async fn change_password(
        &self,
        account_id: AccountId,
        password_hash: &str,
        keep_session: &str,
        now: i64,
    ) -> Result<u64> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                .bind(account_id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
                .bind(account_id)
                .bind(keep_session)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, Some(account_id), "change password", "account", account_id.get(), Some(format!("{} other sessions ended", ended.rows_affected())));
            tx.commit().await?;
            Ok(ended.rows_affected())
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

    /// Reads, decides and writes one throttle key atomically: `decide` gets
    /// the key's state and returns the state to keep (`None` deletes it) and
    /// an answer. Concurrent updates of one key wait for each other (the
    /// key's row is locked on PostgreSQL; SQLite's writer is serialized), so
    /// a crowd of logins cannot all read the same count before any writes it.
    pub async fn throttle_update<R>(
        &self,
        key: &str,
        decide: impl FnOnce(Option<ThrottleState>) -> (Option<ThrottleState>, R),
    ) -> Result<R> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            // The row exists (blank) so that there is one to lock; the UPDATE
            // takes the lock and reads it back.
            sqlx::query(
                "INSERT INTO login_throttle (key, failures, window_start, locked_until) \
                 VALUES ($1, -1, 0, NULL) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .execute(&mut *tx)
            .await?;
            let (failures, window_start, locked_until): (i32, i64, Option<i64>) = sqlx::query_as(
                "UPDATE login_throttle SET key = key WHERE key = $1 \
                 RETURNING failures, window_start, locked_until",
            )
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            // -1 marks the blank row just made: no state yet.
            let current = (failures >= 0).then_some(ThrottleState {
                failures: i64::from(failures),
                window_start,
                locked_until,
            });
            let (next, answer) = decide(current);
            match next {
                Some(st) => {
                    sqlx::query(
                        "UPDATE login_throttle SET failures = $2, window_start = $3, locked_until = $4 \
                         WHERE key = $1",
                    )
                    .bind(key)
                    .bind(i32::try_from(st.failures).unwrap_or(i32::MAX))
                    .bind(st.window_start)
                    .bind(st.locked_until)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(answer)
        })
    }

    /// Turns an account's login on or off; turning it off ends its sessions.
    pub async fn set_account_active(&self, account_id: AccountId, active: bool) -> Result<()> {
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
