//! Sign-up by a text-message code (decision 0027): a new patient's details
//! wait in `signup_pending`, keyed by the code's row, until the code comes
//! back; then the account and the patient are made in the same transaction
//! that uses the code up.

use super::accounts::RawPatient;
use super::{Result, Store, audit, begin_write, on_write};
use crate::domain::ids::AccountId;
use crate::domain::person::Patient;
use jiff::civil::Date;

/// The details of a sign-up waiting for its code (written with the code,
/// see [`super::NewCode::pending`]).
pub struct PendingSignup<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub date_of_birth: Date,
    pub email: Option<&'a str>,
    pub password_hash: &'a str,
}

impl std::fmt::Debug for PendingSignup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignup").finish_non_exhaustive()
    }
}

/// Deletes the waiting sign-ups whose code can no longer be used; run in
/// the transaction that issues a sign-up code.
pub(super) const PRUNE_PENDING: &str = "DELETE FROM signup_pending WHERE code_id IN \
     (SELECT id FROM one_time_code WHERE purpose = 'signup' AND (used_at IS NOT NULL OR expires_at <= $1))";

/// Stores a sign-up's details under its code's row.
pub(super) const INSERT_PENDING: &str = "INSERT INTO signup_pending \
     (code_id, first_name, last_name, date_of_birth, email, password_hash) VALUES ($1, $2, $3, $4, $5, $6)";

impl Store {
    /// Uses the sign-up code `code_id` (only if it is still live) and makes
    /// the account and the patient of the details waiting under it, in one
    /// transaction (audited). `None` if the code was used or expired
    /// meanwhile, or nothing waits under it; `Conflict(LoginTaken)` if the
    /// phone became someone's login meanwhile (nothing changes then).
    pub async fn confirm_signup(
        &self,
        code_id: i64,
        phone: &str,
        now: i64,
    ) -> Result<Option<Patient>> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let used = sqlx::query(
                "UPDATE one_time_code SET used_at = $2 \
                 WHERE id = $1 AND purpose = 'signup' AND account_id IS NULL AND address = $3 \
                   AND used_at IS NULL AND expires_at > $2",
            )
            .bind(code_id)
            .bind(now)
            .bind(phone)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
                return Ok(None);
            }
            let pending: Option<(String, String, String, Option<String>, String)> = sqlx::query_as(
                "DELETE FROM signup_pending WHERE code_id = $1 \
                 RETURNING first_name, last_name, date_of_birth, email, password_hash",
            )
            .bind(code_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((first_name, last_name, date_of_birth, email, password_hash)) = pending else {
                return Ok(None);
            };
            let (account_id,): (AccountId,) = sqlx::query_as(
                "INSERT INTO accounts (role, login, password_hash, active, created_at) \
                 VALUES ('patient', $1, $2, TRUE, $3) RETURNING id",
            )
            .bind(phone)
            .bind(&password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row: RawPatient = sqlx::query_as(
                "INSERT INTO patients (account_id, first_name, last_name, phone, email, date_of_birth, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id, account_id, first_name, last_name, phone, email, date_of_birth, notify_email, notify_sms, created_at, updated_at",
            )
            .bind(account_id)
            .bind(&first_name)
            .bind(&last_name)
            .bind(phone)
            .bind(&email)
            .bind(&date_of_birth)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let row = Patient::try_from(row)?;
            audit!(tx, now, Some(account_id), "create", "patient", row.id, Some("signed up with a text-message code".to_owned()));
            tx.commit().await?;
            Ok(Some(row))
        })
    }
}
