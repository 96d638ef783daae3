//! One-time codes (decision 0018): a forgotten password, and a patient's new
//! phone number, proven by a code sent through the notification outbox.
//!
//! - Asking for a reset answers the same, in the same time, whether or not
//!   the login is anyone's: the lookup and the code's hash are done on both
//!   paths, and the code is issued after the answer is decided.
//! - A code is stored as an Argon2id hash, works for 15 minutes, once, and
//!   survives five wrong tries; tries are throttled per login (or account)
//!   and per client address in the database, like logins.
//! - Requests are limited per login and per address by the abuse limits
//!   ([`super::limits::admit_for_login`], `--limit-codes-*`).

use super::sessions::{Login, refund, reserve};
use super::{Caller, Clinic, Error, Result, limits};
use crate::auth;
use crate::domain::codes::{self, Fate, Purpose};
use crate::domain::ids::AccountId;
use crate::domain::limits::Action;
use crate::domain::person::{Email, Errors, Password, Patient, Phone};
use crate::domain::throttle::ThrottlePolicy;
use crate::store::{CodeOf, CodeRow, NewCode};

/// What asking for a code answers: always the same for the same settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSent {
    /// How long the code works.
    pub expires_in_secs: i64,
}

/// A new password set with a code, as typed.
#[derive(Clone)]
pub struct ResetRequest {
    pub login: Login,
    pub code: String,
    pub new_password: String,
    /// The client's address (throttling).
    pub client: String,
}

impl std::fmt::Debug for ResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetRequest").finish_non_exhaustive()
    }
}

/// The one answer to a wrong, used, expired or unknown code (or login).
pub(super) fn wrong_code() -> Error {
    Error::invalid(
        "code",
        "is wrong, already used or expired: check it, or ask for a new one",
    )
}

/// The login typed, normalized, or the field's error.
fn parse_login(clinic: &Clinic, login: &Login) -> Result<String> {
    let region = clinic.settings().phone_region;
    match login {
        Login::Phone(p) => Phone::parse(p, region)
            .map(|p| p.as_str().to_owned())
            .map_err(|e| Error::Invalid(vec![e])),
        Login::Email(e) => Email::parse("email", e)
            .map(|e| e.as_str().to_owned())
            .map_err(|e| Error::Invalid(vec![e])),
    }
}

/// A fresh code and its hash (the hash is the work every request does).
pub(super) async fn new_code() -> Result<(String, String)> {
    let code = codes::format_code(rand::random());
    let hash = auth::hash_password_async(code.clone())
        .await
        .map_err(|e| Error::internal(&e))?;
    Ok((code, hash))
}

pub(super) fn sent() -> CodeSent {
    CodeSent {
        expires_in_secs: codes::LIFETIME_SECS,
    }
}

/// Asks for a code to set a new password: by SMS to a patient's phone, by
/// email to a doctor's or admin's login. The same answer whether or not the
/// login is an active account's.
pub async fn request_password_reset(
    clinic: &Clinic,
    login: &Login,
    client: &str,
) -> Result<CodeSent> {
    let address = parse_login(clinic, login)?;
    limits::admit_for_login(clinic, &address, client)?;
    let account = clinic
        .store
        .find_account_by_login(&address)
        .await?
        .filter(|a| a.active);
    // Hashed whoever asks: an unknown login takes as long as a known one.
    let (code, hash) = new_code().await?;
    let Some(account) = account else {
        tracing::info!("password reset asked for an unknown login");
        return Ok(sent());
    };
    let channel = match login {
        Login::Phone(_) => "sms",
        Login::Email(_) => "email",
    };
    // Issued after the answer is decided, so that its write does not make
    // a known login's answer slower than an unknown one's.
    let clinic = clinic.clone();
    tokio::spawn(async move {
        let now = clinic.now().as_second();
        let issued = clinic
            .store
            .issue_code(
                &NewCode {
                    purpose: Purpose::PasswordReset,
                    account_id: Some(account.id),
                    channel,
                    address: &address,
                    code_hash: &hash,
                    code: Some(&code),
                    expires_at: now + codes::LIFETIME_SECS,
                    pending: None,
                },
                now,
            )
            .await;
        match issued {
            Ok(_) => tracing::info!(account_id = %account.id, "password reset code issued"),
            Err(e) => tracing::warn!(error = %e, "password reset code not issued"),
        }
    });
    Ok(sent())
}

/// Reserves one code try on the address's and the key's throttles.
pub(super) async fn reserve_try(clinic: &Clinic, key: &str, client: &str) -> Result<String> {
    let now = clinic.now().as_second();
    let addr_key = format!("code-addr:{client}");
    reserve(clinic, &addr_key, ThrottlePolicy::ADDRESS, now).await?;
    if let Err(e) = reserve(clinic, key, ThrottlePolicy::ACCOUNT, now).await {
        refund(clinic, &addr_key, ThrottlePolicy::ADDRESS).await?;
        return Err(e);
    }
    Ok(addr_key)
}

/// The live code `found` if `typed` is it; a wrong try is counted on it.
pub(super) async fn check(
    clinic: &Clinic,
    found: Option<CodeRow>,
    typed: String,
) -> Result<Option<CodeRow>> {
    let now = clinic.now().as_second();
    let live = found.filter(|c| codes::fate(c.stored(), now) == Fate::Live);
    let hash = live
        .as_ref()
        .map_or_else(|| auth::DUMMY_HASH.to_owned(), |c| c.code_hash.clone());
    if auth::verify_password_async(typed, hash).await {
        return Ok(live);
    }
    if let Some(c) = live {
        clinic.store.code_failed(c.id).await?;
    }
    Ok(None)
}

/// After a good code: the key's count is cleared, the address's try given back.
pub(super) async fn succeeded(clinic: &Clinic, key: &str, addr_key: &str) -> Result<()> {
    clinic.store.throttle_update(key, |_| (None, ())).await?;
    refund(clinic, addr_key, ThrottlePolicy::ADDRESS).await
}

/// Sets a new password with a code: the new password follows the
/// registration rules, the code is used up, and every session of the
/// account ends. A wrong, used or expired code, or a login that is no
/// account's, all get the same `Invalid` on `code`.
pub async fn reset_password(clinic: &Clinic, req: ResetRequest) -> Result<()> {
    let mut errs = Errors::default();
    let address = match parse_login(clinic, &req.login) {
        Ok(a) => Some(a),
        Err(Error::Invalid(fields)) => {
            errs.0.extend(fields);
            None
        }
        Err(e) => return Err(e),
    };
    let code = errs.check(codes::parse_code("code", &req.code));
    let password = errs.check(Password::parse("new_password", &req.new_password));
    let (Some(address), Some(code), Some(password)) = (address, code, password) else {
        return Err(Error::Invalid(errs.0));
    };
    let key = format!("code:reset:{address}");
    let addr_key = reserve_try(clinic, &key, &req.client).await?;
    let found = clinic
        .store
        .newest_code(Purpose::PasswordReset, CodeOf::Address(&address))
        .await?;
    let Some(row) = check(clinic, found, code).await? else {
        tracing::info!("password reset with a wrong code");
        return Err(wrong_code());
    };
    let account = row
        .account_id
        .ok_or_else(|| Error::internal(&"a password reset code without an account"))?;
    let hash = super::password_hash(&password).await?;
    let now = clinic.now().as_second();
    let Some(ended) = clinic
        .store
        .reset_password(row.id, account, &hash, now)
        .await?
    else {
        return Err(wrong_code());
    };
    succeeded(clinic, &key, &addr_key).await?;
    // Whoever reads the account's phone or email may log in again at once.
    clinic
        .store
        .throttle_update(&format!("login:{address}"), |_| (None, ()))
        .await?;
    tracing::info!(account_id = %account, ended, "password reset with a code");
    Ok(())
}

/// The patient's account, or why the caller cannot change a phone.
fn patient_account(caller: &Caller) -> Result<(crate::domain::ids::PatientId, AccountId)> {
    match (caller.patient_id(), caller.account()) {
        (Some(p), Some(a)) => Ok((p, a)),
        (_, None) => Err(Error::Unauthenticated),
        _ => Err(Error::Forbidden(
            "Only a patient changes their own phone number here.",
        )),
    }
}

/// Asks for a code by SMS to a new phone number; the patient's phone and
/// login stay as they are until the code is entered.
pub async fn request_phone_change(
    clinic: &Clinic,
    caller: &Caller,
    phone: &str,
    client: &str,
) -> Result<CodeSent> {
    let (patient, account) = patient_account(caller)?;
    let phone =
        Phone::parse(phone, clinic.settings().phone_region).map_err(|e| Error::Invalid(vec![e]))?;
    let current = clinic
        .store
        .get_patient(patient)
        .await?
        .ok_or(Error::NotFound(super::Thing::Patient))?;
    if current.phone == phone.as_str() {
        return Err(Error::invalid("phone", "is already your phone number"));
    }
    if clinic
        .store
        .find_account_by_login(phone.as_str())
        .await?
        .is_some()
    {
        return Err(Error::Conflict(super::Conflict::AlreadyRegistered));
    }
    limits::admit(clinic, Action::CodeRequest, caller, client)?;
    let (code, hash) = new_code().await?;
    let now = clinic.now().as_second();
    clinic
        .store
        .issue_code(
            &NewCode {
                purpose: Purpose::PhoneChange,
                account_id: Some(account),
                channel: "sms",
                address: phone.as_str(),
                code_hash: &hash,
                code: Some(&code),
                expires_at: now + codes::LIFETIME_SECS,
                pending: None,
            },
            now,
        )
        .await?;
    tracing::info!(account_id = %account, "phone change code issued");
    Ok(sent())
}

/// The new phone waiting for its code, if a code for one is live.
pub async fn pending_phone(clinic: &Clinic, caller: &Caller) -> Result<Option<String>> {
    let Ok((_, account)) = patient_account(caller) else {
        return Ok(None);
    };
    let now = clinic.now().as_second();
    Ok(clinic
        .store
        .newest_code(Purpose::PhoneChange, CodeOf::Account(account))
        .await?
        .filter(|c| codes::fate(c.stored(), now) == Fate::Live)
        .map(|c| c.address))
}

/// Makes the new phone the patient's phone and login with the code sent to
/// it; the profile as changed.
pub async fn confirm_phone_change(
    clinic: &Clinic,
    caller: &Caller,
    code: &str,
    client: &str,
) -> Result<Patient> {
    let (patient, account) = patient_account(caller)?;
    let code = codes::parse_code("code", code).map_err(|e| Error::Invalid(vec![e]))?;
    let key = format!("code:phone:{account}");
    let addr_key = reserve_try(clinic, &key, client).await?;
    let found = clinic
        .store
        .newest_code(Purpose::PhoneChange, CodeOf::Account(account))
        .await?;
    let Some(row) = check(clinic, found, code).await? else {
        return Err(wrong_code());
    };
    let now = clinic.now().as_second();
    if !clinic
        .store
        .change_phone(row.id, account, &row.address, now)
        .await?
    {
        return Err(wrong_code());
    }
    succeeded(clinic, &key, &addr_key).await?;
    tracing::info!(account_id = %account, "phone changed");
    clinic
        .store
        .get_patient(patient)
        .await?
        .ok_or(Error::NotFound(super::Thing::Patient))
}
