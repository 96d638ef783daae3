//! The second factor of staff accounts (decision 0019): the sealed TOTP
//! secret, the last step used, and the hashed recovery codes.

use super::accounts::audit;
use super::{Result, Store, begin_write, on_read, on_write};
use crate::domain::ids::AccountId;

/// An account's TOTP as stored.
#[derive(Clone, sqlx::FromRow)]
pub struct TotpRow {
    /// The secret, sealed (see `domain::totp::seal`).
    pub secret_sealed: String,
    /// `None` while it waits for its first code.
    pub enabled_at: Option<i64>,
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("enabled_at", &self.enabled_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The account's TOTP, on or waiting for confirmation.
    pub async fn totp_of(&self, account: AccountId) -> Result<Option<TotpRow>> {
        on_read!(self, pool => {
            Ok(sqlx::query_as::<_, TotpRow>(
                "SELECT secret_sealed, enabled_at, last_step FROM account_totp WHERE account_id = $1",
            )
            .bind(account)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Stores a new secret waiting for confirmation (replacing one that
    /// waited); `false` if the account's TOTP is already on.
    pub async fn totp_begin(&self, account: AccountId, sealed: &str, now: i64) -> Result<bool> {
        on_write!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO account_totp (account_id, secret_sealed, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
                   created_at = excluded.created_at, last_step = NULL \
                 WHERE account_totp.enabled_at IS NULL",
            )
            .bind(account)
            .bind(sealed)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Turns the waiting secret on, with the step of the code that
    /// confirmed it and the hashes of fresh recovery codes (audited);
    /// `false` if there was no waiting secret.
    pub async fn totp_enable(
        &self,
        account: AccountId,
        step: i64,
        recovery_hashes: &[String],
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "UPDATE account_totp SET enabled_at = $2, last_step = $3 \
                 WHERE account_id = $1 AND enabled_at IS NULL",
            )
            .bind(account)
            .bind(now)
            .bind(step)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM totp_recovery_code WHERE account_id = $1")
                .bind(account)
                .execute(&mut *tx)
                .await?;
            for h in recovery_hashes {
                sqlx::query("INSERT INTO totp_recovery_code (account_id, code_hash) VALUES ($1, $2)")
                    .bind(account)
                    .bind(h)
                    .execute(&mut *tx)
                    .await?;
            }
            audit!(tx, now, Some(account), "enable second factor", "account", account.get(), None::<String>);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Takes a step for a login: `true` only if the TOTP is on and no code
    /// of this step or a later one was taken before (one atomic UPDATE, so
    /// two requests with one code cannot both pass).
    pub async fn totp_take_step(&self, account: AccountId, step: i64) -> Result<bool> {
        on_write!(self, pool => {
            let done = sqlx::query(
                "UPDATE account_totp SET last_step = $2 WHERE account_id = $1 \
                 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)",
            )
            .bind(account)
            .bind(step)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Uses up a recovery code: `true` if it was the account's and unused.
    pub async fn totp_take_recovery(
        &self,
        account: AccountId,
        hash: &str,
        now: i64,
    ) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query(
                "UPDATE totp_recovery_code SET used_at = $3 \
                 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(account)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let used = done.rows_affected() == 1;
            if used {
                audit!(tx, now, Some(account), "use recovery code", "account", account.get(), None::<String>);
            }
            tx.commit().await?;
            Ok(used)
        })
    }

    /// How many unused recovery codes the account has.
    pub async fn totp_recovery_left(&self, account: AccountId) -> Result<i64> {
        on_read!(self, pool => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM totp_recovery_code WHERE account_id = $1 AND used_at IS NULL",
            )
            .bind(account)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    /// Turns the second factor off: secret and recovery codes go (audited);
    /// `false` if it was not on.
    pub async fn totp_disable(&self, account: AccountId, now: i64) -> Result<bool> {
        on_write!(self, pool => {
            let mut tx = begin_write!(pool).await?;
            let done = sqlx::query("DELETE FROM account_totp WHERE account_id = $1 AND enabled_at IS NOT NULL")
                .bind(account)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                sqlx::query("DELETE FROM totp_recovery_code WHERE account_id = $1")
                    .bind(account)
                    .execute(&mut *tx)
                    .await?;
                audit!(tx, now, Some(account), "disable second factor", "account", account.get(), None::<String>);
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
