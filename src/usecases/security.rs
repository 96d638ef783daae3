//! The security log (decision 0026): every authentication event and every
//! refused access, as structured `tracing` events under one fixed target,
//! [`TARGET`], so an operator can route them apart from the request lines
//! (`RUST_LOG=medimeet::security=info`, a JSON log collector's filter on
//! `target`).
//!
//! No personal data in clear: a login (a phone number or an email) is
//! written as a pseudonym, an HMAC-SHA256 under a secret of the clinic's
//! own, cut to 16 hex digits: the same login always gives the same
//! pseudonym (so repeated guesses at one account show), but nobody without
//! the database can turn it back into the phone number (a plain hash of a
//! phone number could be reversed by trying every number). The client
//! address is logged as it is: it is what the request lines show too.

use super::{Caller, Clinic, Result};
use crate::domain::ids::AccountId;

/// The `tracing` target of every security event.
pub const TARGET: &str = "medimeet::security";

/// The clinic's secret for login pseudonyms (made on first use).
async fn pseudonym_key(clinic: &Clinic) -> Result<String> {
    let candidate = crate::auth::new_token();
    Ok(clinic
        .store
        .clinic_secret("log-pseudonym", &candidate, clinic.now().as_second())
        .await?)
}

/// The pseudonym of a login as it was typed (or as stored, when known).
pub(crate) async fn login_pseudonym(clinic: &Clinic, login: &str) -> Result<String> {
    let key = pseudonym_key(clinic).await?;
    Ok(crate::auth::pseudonym(&key, login))
}

/// How a login attempt ended, as the security log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Logged in.
    Success,
    /// A wrong login or password.
    Failure,
    /// Refused unevaluated: the account is locked.
    Locked,
    /// The password was right; the second factor must follow.
    SecondStep,
    /// The password was right but the second factor was missing.
    TotpRequired,
    /// A wrong or used second factor.
    TotpFailed,
    /// The second step came after its time (or with a token not ours).
    SecondStepExpired,
}

impl AuthOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthOutcome::Success => "success",
            AuthOutcome::Failure => "failure",
            AuthOutcome::Locked => "locked",
            AuthOutcome::SecondStep => "second_step",
            AuthOutcome::TotpRequired => "totp_required",
            AuthOutcome::TotpFailed => "totp_failed",
            AuthOutcome::SecondStepExpired => "second_step_expired",
        }
    }
}

/// One login attempt's event: its outcome, the login's pseudonym and the
/// client address.
pub(crate) fn auth_event(outcome: AuthOutcome, login: Option<&str>, client: &str) {
    let outcome = outcome.as_str();
    let login_hash = login.unwrap_or("-");
    match outcome {
        "success" | "second_step" => tracing::info!(
            target: "medimeet::security",
            event = "authentication", outcome, login_hash, client,
            "authentication {outcome}"
        ),
        _ => tracing::warn!(
            target: "medimeet::security",
            event = "authentication", outcome, login_hash, client,
            "authentication {outcome}"
        ),
    }
}

/// A session that ended other than by its owner's logout: `idle` (a staff
/// session unused too long) or `replaced` (a new login from the same
/// client).
pub(crate) fn session_ended(account: AccountId, reason: &'static str) {
    tracing::info!(
        target: "medimeet::security",
        event = "session_ended", account_id = account.get(), reason,
        "session ended: {reason}"
    );
}

/// A caller was refused a record that is not theirs (answered as not found,
/// so ids cannot be probed): who, which kind of record and which id.
pub(crate) fn refused(caller: &Caller, resource: &'static str, id: i64) {
    let account = caller.account().map_or(0, AccountId::get);
    let role = caller.role().map_or("anonymous", |r| r.as_str());
    tracing::warn!(
        target: "medimeet::security",
        event = "access_refused", account_id = account, role, resource, resource_id = id,
        "access refused"
    );
}
