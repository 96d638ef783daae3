//! Signing up with a text-message code (decision 0027).
//!
//! When the clinic sends text messages (`--sms-url`), a sign-up does not
//! tell anyone whether a phone number is a patient's, and nobody can take a
//! number they do not hold:
//!
//! - [`sign_up`] answers the same for a new and an existing number ("a code
//!   is on its way"), after the same work on both paths (the password and a
//!   code are hashed, one code row and its delivery written). A new number
//!   gets a code; the sign-up's details wait under it (`signup_pending`),
//!   and no account exists yet. The owner of an existing number gets a
//!   warning instead ("someone tried to sign up with your number"); their
//!   account is not touched.
//! - [`confirm`] with the phone and the code makes the account and the
//!   patient, uses the code up and opens a session. Tries are throttled per
//!   number and per client address, like a password reset's.
//!
//! Without text messages there is nobody to send a code to: the sign-up
//! makes the account at once, as before ([`super::patients::register`]).

use super::codes::{CodeSent, check, new_code, reserve_try, sent, succeeded, wrong_code};
use super::patients::{Registration, Valid, validate};
use super::sessions::NewSession;
use super::{Clinic, Error, Result, limits};
use crate::domain::codes::{self, Purpose};
use crate::domain::person::{Email, Patient, Phone};
use crate::store::{CodeOf, NewCode, PendingSignup};

/// Whether sign-ups go by a text-message code: the clinic sends text
/// messages (the notification worker's SMS channel is configured).
pub fn by_code(clinic: &Clinic) -> bool {
    let s = clinic.settings();
    s.sms_url.is_some() && s.sms_body.is_some()
}

/// What a sign-up answers.
#[derive(Debug)]
pub enum SignedUp {
    /// No text messages: the patient exists and may log in.
    Registered(Patient),
    /// A code is on its way (or, to an existing number, a warning): the
    /// same for any number.
    CodeSent(CodeSent),
}

/// Signs a patient up: at once without text messages, else by a code sent
/// to the phone (see the module). The faces count the sign-up limits first.
pub async fn sign_up(clinic: &Clinic, req: &Registration, client: &str) -> Result<SignedUp> {
    if !by_code(clinic) {
        return super::patients::register(clinic, req)
            .await
            .map(SignedUp::Registered);
    }
    let Valid {
        first,
        last,
        phone,
        password,
        dob,
        email,
    } = validate(clinic, req)?;
    // Each request texts a number: limited per number typed (whoever's it
    // is) and per address, like asking for a reset code.
    limits::admit_for_login(clinic, phone.as_str(), client)?;
    let existing = clinic.store.find_account_by_login(phone.as_str()).await?;
    // Both hashed on both paths: a known number takes as long as a new one.
    let password_hash = super::password_hash(&password).await?;
    let (code, code_hash) = new_code().await?;
    let now = clinic.now().as_second();
    let expires_at = now + codes::LIFETIME_SECS;
    match existing {
        Some(account) if account.active => {
            // A code nobody is told, so the row (and its delivery) exists
            // as for a new number; it never confirms anything.
            clinic
                .store
                .issue_code(
                    &NewCode {
                        purpose: Purpose::SignUp,
                        account_id: Some(account.id),
                        channel: "sms",
                        address: phone.as_str(),
                        code_hash: &code_hash,
                        code: None,
                        expires_at,
                        pending: None,
                    },
                    now,
                )
                .await?;
            tracing::info!(account_id = %account.id, "sign-up with an existing number: owner warned");
        }
        Some(_) => {
            // A closed account hears nothing any more (decision 0020).
            tracing::info!("sign-up with the number of an inactive account");
        }
        None => {
            clinic
                .store
                .issue_code(
                    &NewCode {
                        purpose: Purpose::SignUp,
                        account_id: None,
                        channel: "sms",
                        address: phone.as_str(),
                        code_hash: &code_hash,
                        code: Some(&code),
                        expires_at,
                        pending: Some(PendingSignup {
                            first_name: first.as_str(),
                            last_name: last.as_str(),
                            date_of_birth: dob.date(),
                            email: email.as_ref().map(Email::as_str),
                            password_hash: &password_hash,
                        }),
                    },
                    now,
                )
                .await?;
            tracing::info!("sign-up code issued");
        }
    }
    Ok(SignedUp::CodeSent(sent()))
}

/// The second step, as typed.
#[derive(Clone)]
pub struct Confirmation {
    pub phone: String,
    pub code: String,
    /// The client's address (throttling, the session).
    pub client: String,
    /// The client's device (the session's list), if it said.
    pub device: Option<String>,
}

impl std::fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmation").finish_non_exhaustive()
    }
}

/// Finishes a sign-up with the code sent to its phone: the account and the
/// patient are made, the code used up, and a session opened. A wrong, used
/// or expired code, and a number with no sign-up waiting (also an existing
/// patient's), all get the same `Invalid` on `code`.
pub async fn confirm(clinic: &Clinic, req: Confirmation) -> Result<(Patient, NewSession)> {
    let region = clinic.settings().phone_region;
    let phone = Phone::parse(&req.phone, region).map_err(|e| Error::Invalid(vec![e]));
    let code = codes::parse_code("code", &req.code).map_err(|e| Error::Invalid(vec![e]));
    let (phone, code) = match (phone, code) {
        (Ok(p), Ok(c)) => (p, c),
        (Err(Error::Invalid(mut a)), Err(Error::Invalid(b))) => {
            a.extend(b);
            return Err(Error::Invalid(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let key = format!("code:signup:{}", phone.as_str());
    let addr_key = reserve_try(clinic, &key, &req.client).await?;
    // Only a code with no account confirms: the warning's row never does.
    let found = clinic
        .store
        .newest_code(Purpose::SignUp, CodeOf::Address(phone.as_str()))
        .await?
        .filter(|c| c.account_id.is_none());
    let Some(row) = check(clinic, found, code).await? else {
        tracing::info!("sign-up with a wrong code");
        return Err(wrong_code());
    };
    let now = clinic.now().as_second();
    let Some(patient) = clinic
        .store
        .confirm_signup(row.id, phone.as_str(), now)
        .await?
    else {
        return Err(wrong_code());
    };
    succeeded(clinic, &key, &addr_key).await?;
    tracing::info!(patient_id = %patient.id, "patient registered with a text-message code");
    let account = clinic
        .store
        .find_account_by_login(phone.as_str())
        .await?
        .ok_or_else(|| Error::internal(&"the new account is gone"))?;
    let session =
        super::sessions::open(clinic, &account, &req.client, req.device.as_deref(), None).await?;
    Ok((patient, session))
}
