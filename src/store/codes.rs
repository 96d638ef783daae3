//! One-time codes (decision 0018): issued with the delivery that carries
//! them in one transaction, and used at most once (the row is marked used
//! in the same transaction as the change the code allows).

use super::signup::{INSERT_PENDING, PRUNE_PENDING};
use super::{Result, Store, audit, begin_write, on_read, on_write};
use crate::domain::codes::{Purpose, Stored};
use crate::domain::ids::AccountId;

/// Marks code `$1` used at `$2`, only if it is still live (unused, not
/// expired): the first statement of every change a code allows, so two
/// uses of one code cannot both win.
const USE_LIVE_CODE: &str =
    "UPDATE one_time_code SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2";

/// A code to issue.
pub struct NewCode<'a> {
    pub purpose: Purpose,
    pub account_id: Option<AccountId>,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// Where it goes: an email address or an E.164 phone.
    pub address: &'a str,
    pub code_hash: &'a str,
    /// The code itself, kept on its delivery until it is sent. `None` for
    /// a message that carries no code: the warning to a number's owner that
    /// someone tried to sign up with it (a `signup` code with an account,
    /// decision 0027; its hash is of a code nobody is told).
    pub code: Option<&'a str>,
    pub expires_at: i64,
    /// A sign-up's details, waiting under the code until it comes back
    /// (decision 0027).
    pub pending: Option<super::PendingSignup<'a>>,
}

/// A stored code.
#[derive(Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub purpose: String,
    pub account_id: Option<AccountId>,
    pub channel: String,
    pub address: String,
    pub code_hash: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl std::fmt::Debug for CodeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRow")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl CodeRow {
    pub fn stored(&self) -> Stored {
        Stored {
            expires_at: self.expires_at,
            used_at: self.used_at,
            attempts: self.attempts,
        }
    }
}

macro_rules! code_select {
    ($where:literal) => {
        concat!(
            "SELECT id, purpose, account_id, channel, address, code_hash, attempts, created_at, expires_at, used_at \
             FROM one_time_code WHERE ",
            $where
        )
    };
}

/// The live codes a new one replaces: of the same purpose, for the same
/// account (or, with none, the same address).
macro_rules! earlier_codes {
    () => {
        "SELECT id FROM one_time_code WHERE purpose = $1 AND used_at IS NULL AND expires_at > $3 \
         AND (account_id = $2 OR ($2 IS NULL AND account_id IS NULL AND address = $4))"
    };
}

/// Which code a lookup wants: the newest of a purpose for an account, or
/// for an address.
#[derive(Debug, Clone, Copy)]
pub enum CodeOf<'a> {
    Account(AccountId),
    Address(&'a str),
}

impl Store {
    /// Issues a code and queues its delivery, in one transaction; the
    /// account's (or the address's) earlier live codes of the same purpose
    /// stop working, and their deliveries not yet sent are dropped. The
    /// code's id.
    pub async fn issue_code(&self, c: &NewCode<'_>, now: i64) -> Result<i64> {
        let purpose = c.purpose.as_str();
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            sqlx::query(concat!(
                "UPDATE delivery SET state = 'dropped', last_error = 'a newer code was sent', \
                   code_text = NULL, lease_owner = NULL, lease_until = NULL \
                 WHERE state = 'pending' AND code_id IN (",
                earlier_codes!(),
                ")"
            ))
            .bind(purpose)
            .bind(c.account_id)
            .bind(now)
            .bind(c.address)
            .execute(&mut *tx)
            .await?;
            sqlx::query(concat!(
                "UPDATE one_time_code SET expires_at = $3 WHERE id IN (",
                earlier_codes!(),
                ")"
            ))
            .bind(purpose)
            .bind(c.account_id)
            .bind(now)
            .bind(c.address)
            .execute(&mut *tx)
            .await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO one_time_code (purpose, account_id, channel, address, code_hash, attempts, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $7) RETURNING id",
            )
            .bind(purpose)
            .bind(c.account_id)
            .bind(c.channel)
            .bind(c.address)
            .bind(c.code_hash)
            .bind(now)
            .bind(c.expires_at)
            .fetch_one(&mut *tx)
            .await?;
            if c.purpose == Purpose::SignUp {
                sqlx::query(PRUNE_PENDING).bind(now).execute(&mut *tx).await?;
            }
            if let Some(p) = &c.pending {
                sqlx::query(INSERT_PENDING)
                    .bind(id)
                    .bind(p.first_name)
                    .bind(p.last_name)
                    .bind(p.date_of_birth.to_string())
                    .bind(p.email)
                    .bind(p.password_hash)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO delivery (channel, kind, account_id, message_id, due_at, state, attempts, created_at, code_id, code_text) \
                 VALUES ($1, 'notice', $2, $3, $4, 'pending', 0, $4, $5, $6)",
            )
            .bind(c.channel)
            .bind(c.account_id)
            .bind(format!("c{id}.{}@medimeet", c.channel))
            .bind(now)
            .bind(id)
            .bind(c.code)
            .execute(&mut *tx)
            .await?;
            if let Some(account) = c.account_id {
                audit!(tx, now, Some(account), "send code", "account", account.get(), Some(purpose.to_owned()));
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The newest code of `purpose` for an account or an address (live or not).
    pub async fn newest_code(&self, purpose: Purpose, of: CodeOf<'_>) -> Result<Option<CodeRow>> {
        on_read!(self, pool => {
            Ok(match of {
                CodeOf::Account(a) => {
                    sqlx::query_as::<_, CodeRow>(code_select!(
                        "purpose = $1 AND account_id = $2 ORDER BY id DESC LIMIT 1"
                    ))
                    .bind(purpose.as_str())
                    .bind(a)
                    .fetch_optional(pool)
                    .await?
                }
                CodeOf::Address(a) => {
                    sqlx::query_as::<_, CodeRow>(code_select!(
                        "purpose = $1 AND address = $2 ORDER BY id DESC LIMIT 1"
                    ))
                    .bind(purpose.as_str())
                    .bind(a)
                    .fetch_optional(pool)
                    .await?
                }
            })
        })
    }

    /// One code by id.
    pub async fn code(&self, id: i64) -> Result<Option<CodeRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, CodeRow>(code_select!("id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Counts a wrong try of a code.
    pub async fn code_failed(&self, id: i64) -> Result<()> {
        on_write!(self, pool => {
            sqlx::query("UPDATE one_time_code SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Sets the account's password with a code: the code is marked used
    /// (only if it still is live), the password set and every session of
    /// the account ended, in one transaction (audited, without the
    /// password). `None` if the code was used or expired meanwhile; else how
    /// many sessions ended.
    pub async fn reset_password(
        &self,
        code_id: i64,
        account_id: AccountId,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<u64>> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let used = sqlx::query(
                USE_LIVE_CODE,
            )
            .bind(code_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
                return Ok(None);
            }
            sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                .bind(account_id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, Some(account_id), "reset password", "account", account_id.get(), Some(format!("{} sessions ended", ended.rows_affected())));
            tx.commit().await?;
            Ok(Some(ended.rows_affected()))
        })
    }

    /// Makes the code's address the patient's phone and login: the code is
    /// marked used (only if still live) in the same transaction. `false` if
    /// it was used or expired meanwhile; `Conflict(LoginTaken)` if the phone
    /// became someone else's login.
    pub async fn change_phone(
        &self,
        code_id: i64,
        account_id: AccountId,
        phone: &str,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let used = sqlx::query(
                USE_LIVE_CODE,
            )
            .bind(code_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query("UPDATE accounts SET login = $2 WHERE id = $1")
                .bind(account_id)
                .bind(phone)
                .execute(&mut *tx)
                .await?;
            let patient: Option<(i64,)> = sqlx::query_as(
                "UPDATE patients SET phone = $2, updated_at = $3 WHERE account_id = $1 RETURNING id",
            )
            .bind(account_id)
            .bind(phone)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((id,)) = patient {
                audit!(tx, now, Some(account_id), "change phone", "patient", id, None::<String>);
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}
