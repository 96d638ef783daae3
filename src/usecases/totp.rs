//! A second factor for doctors and admins (decision 0019): turning TOTP on
//! (a fresh secret, confirmed with a current code, ten recovery codes shown
//! once), off (a current code or the password), and checking an answer at
//! login. Patients are never asked and cannot turn it on.

use super::sessions::Session;
use super::{Clinic, Conflict, Error, Result, Thing};
use crate::auth;
use crate::domain::caller::Role;
use crate::domain::ids::AccountId;
use crate::domain::throttle::ThrottlePolicy;
use crate::domain::totp::{self, Answer};
use crate::store::TotpRow;

/// What an authenticator app needs to start: the key to type in, and the
/// `otpauth://` URI a QR code carries. Shown to its owner only.
pub struct Enrolment {
    /// The secret in base32 (RFC 4648, no padding).
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment").finish_non_exhaustive()
    }
}

/// Where an account's second factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    /// A secret was made and waits for its first code.
    pub pending: bool,
    pub recovery_codes_left: i64,
}

/// The issuer name apps show next to the code.
const ISSUER: &str = "medimeet";

/// The key that seals stored secrets, shared by every instance.
async fn seal_key(clinic: &Clinic) -> Result<[u8; 32]> {
    let candidate = auth::new_token();
    let secret = clinic
        .store
        .clinic_secret("totp-sealing", &candidate, clinic.now().as_second())
        .await?;
    Ok(totp::seal_key(&secret))
}

/// The staff account behind a session; patients have no second factor
/// (for them this page or call does not exist).
fn staff_account(session: &Session) -> Result<AccountId> {
    match session.caller.role() {
        Some(Role::Doctor | Role::Admin) => session.caller.account().ok_or(Error::Unauthenticated),
        Some(Role::Patient) => Err(Error::NotFound(Thing::Resource)),
        None => Err(Error::Unauthenticated),
    }
}

async fn secret_of(clinic: &Clinic, account: AccountId, row: &TotpRow) -> Result<Vec<u8>> {
    let key = seal_key(clinic).await?;
    totp::open(&key, account.get(), &row.secret_sealed).ok_or_else(|| {
        Error::internal(&format_args!(
            "the second factor of account {account} does not open with the clinic's key"
        ))
    })
}

/// Where the caller's second factor stands.
pub async fn status(clinic: &Clinic, session: &Session) -> Result<Status> {
    let account = staff_account(session)?;
    let row = clinic.store.totp_of(account).await?;
    let enabled = row.as_ref().is_some_and(|r| r.enabled_at.is_some());
    Ok(Status {
        enabled,
        pending: row.is_some() && !enabled,
        recovery_codes_left: if enabled {
            clinic.store.totp_recovery_left(account).await?
        } else {
            0
        },
    })
}

/// Makes a fresh secret that waits for confirmation (replacing one that
/// waited). Refused while the second factor is on.
pub async fn begin(clinic: &Clinic, session: &Session) -> Result<Enrolment> {
    let account = staff_account(session)?;
    let secret: [u8; totp::SECRET_BYTES] = rand::random();
    let key = seal_key(clinic).await?;
    let sealed = totp::seal(&key, account.get(), rand::random(), &secret)
        .ok_or_else(|| Error::internal(&"sealing a second factor failed"))?;
    if !clinic
        .store
        .totp_begin(account, &sealed, clinic.now().as_second())
        .await?
    {
        return Err(Error::Conflict(Conflict::SecondFactorState(
            "Two-step login is already on. Turn it off first to set up a new app.",
        )));
    }
    Ok(Enrolment {
        secret: totp::encode_secret(&secret),
        otpauth_uri: totp::otpauth_uri(ISSUER, &session.login, &secret),
    })
}

/// The secret that waits for confirmation, again (a page shown anew after
/// a wrong code); `None` if none waits.
pub async fn pending(clinic: &Clinic, session: &Session) -> Result<Option<Enrolment>> {
    let account = staff_account(session)?;
    match clinic.store.totp_of(account).await? {
        Some(row) if row.enabled_at.is_none() => {
            let secret = secret_of(clinic, account, &row).await?;
            Ok(Some(Enrolment {
                secret: totp::encode_secret(&secret),
                otpauth_uri: totp::otpauth_uri(ISSUER, &session.login, &secret),
            }))
        }
        _ => Ok(None),
    }
}

/// Turns the waiting secret on with a current code from the app; the ten
/// recovery codes, to show once (only their hashes are kept).
pub async fn confirm(clinic: &Clinic, session: &Session, code: &str) -> Result<Vec<String>> {
    let account = staff_account(session)?;
    let Some(row) = clinic
        .store
        .totp_of(account)
        .await?
        .filter(|r| r.enabled_at.is_none())
    else {
        return Err(Error::Conflict(Conflict::SecondFactorState(
            "There is no setup waiting for a code: start setting up two-step login first.",
        )));
    };
    let secret = secret_of(clinic, account, &row).await?;
    let now = clinic.now().as_second();
    let step = match totp::parse_answer(code) {
        Answer::Code(c) => totp::matching_step(&secret, &c, now),
        _ => None,
    };
    let Some(step) = step else {
        return Err(Error::invalid(
            "code",
            "is not the current code of your authenticator app",
        ));
    };
    let codes: Vec<String> = (0..totp::RECOVERY_CODES)
        .map(|_| totp::recovery_code(rand::random()))
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    if !clinic
        .store
        .totp_enable(account, step, &hashes, now)
        .await?
    {
        return Err(Error::Conflict(Conflict::SecondFactorState(
            "Two-step login was turned on meanwhile.",
        )));
    }
    tracing::info!(account_id = %account, "second factor on");
    Ok(codes)
}

/// What the database keeps of a recovery code: its SHA-256 (80 random
/// bits need no slow hash).
fn recovery_hash(code: &str) -> String {
    let normalized = match totp::parse_answer(code) {
        Answer::Recovery(r) => r,
        _ => code.to_owned(),
    };
    auth::token_hash(&normalized)
}

/// Turns the second factor off: a current code from the app (or an unused
/// recovery code) or the account's password proves it is its owner. Wrong
/// answers count on the account's login throttle.
pub async fn disable(
    clinic: &Clinic,
    session: &Session,
    code: Option<&str>,
    password: Option<&str>,
) -> Result<()> {
    let account = staff_account(session)?;
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let password = password.filter(|p| !p.is_empty());
    if code.is_none() && password.is_none() {
        return Err(Error::invalid(
            "code",
            "give a current code from your authenticator app, or your password",
        ));
    }
    let Some(row) = clinic
        .store
        .totp_of(account)
        .await?
        .filter(|r| r.enabled_at.is_some())
    else {
        return Err(Error::Conflict(Conflict::SecondFactorState(
            "Two-step login is not on.",
        )));
    };
    let now = clinic.now().as_second();
    let key = format!("login:{}", session.login);
    super::sessions::reserve(clinic, &key, ThrottlePolicy::ACCOUNT, now).await?;
    let ok = if let Some(code) = code {
        check(clinic, account, &row, code).await?
    } else {
        let hash = clinic
            .store
            .password_hash_of(account)
            .await?
            .ok_or(Error::Unauthenticated)?;
        auth::verify_password_async(password.unwrap_or_default().to_owned(), hash).await
    };
    if !ok {
        return Err(match code {
            Some(_) => Error::invalid("code", "is wrong or was already used"),
            None => Error::invalid("password", "is wrong"),
        });
    }
    clinic.store.throttle_update(&key, |_| (None, ())).await?;
    clinic.store.totp_disable(account, now).await?;
    tracing::info!(account_id = %account, "second factor off");
    Ok(())
}

/// Whether `answer` is a code of the account's app within one step of now
/// that no earlier login took (taking its step), or one of its unused
/// recovery codes (using it up).
pub(super) async fn check(
    clinic: &Clinic,
    account: AccountId,
    row: &TotpRow,
    answer: &str,
) -> Result<bool> {
    let now = clinic.now().as_second();
    match totp::parse_answer(answer) {
        Answer::Code(c) => {
            let secret = secret_of(clinic, account, row).await?;
            match totp::matching_step(&secret, &c, now) {
                Some(step) => Ok(clinic.store.totp_take_step(account, step).await?),
                None => Ok(false),
            }
        }
        Answer::Recovery(r) => Ok(clinic
            .store
            .totp_take_recovery(account, &auth::token_hash(&r), now)
            .await?),
        Answer::Malformed => Ok(false),
    }
}

/// The account's second factor if it is on (patients have none).
pub(super) async fn on_for(
    clinic: &Clinic,
    account: AccountId,
    role: Role,
) -> Result<Option<TotpRow>> {
    if role == Role::Patient {
        return Ok(None);
    }
    Ok(clinic
        .store
        .totp_of(account)
        .await?
        .filter(|r| r.enabled_at.is_some()))
}
