//! Logging in and out, and who the caller behind a session is.

use super::{Caller, Clinic, Error, Result};
use crate::auth;
use crate::domain::caller::Role;
use crate::domain::person::{Email, Phone, PhoneRegion};
use crate::domain::throttle::ThrottlePolicy;
use crate::metrics::LoginOutcome;
use crate::store::SessionUser;
use jiff::{SignedDuration, Timestamp};

/// The login someone typed: patients log in with a phone, staff with an email.
#[derive(Clone)]
pub enum Login {
    Phone(String),
    Email(String),
}

/// A login attempt.
#[derive(Clone)]
pub struct Credentials {
    pub login: Login,
    pub password: String,
    /// Where the attempt comes from (an IP address), for throttling and
    /// the session list.
    pub client: String,
    /// The client's `User-Agent`, shown in the session list.
    pub device: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// A session that [`log_in`] opened.
#[derive(Debug)]
pub struct NewSession {
    /// The bearer token (also the cookie value); only its hash is stored.
    pub token: String,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub role: Role,
}

/// The person behind a live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub login: String,
    /// The hash of the session's token (what logging out deletes).
    pub token_hash: String,
    /// What forms and cookie-authenticated API writes must carry.
    pub csrf_token: String,
}

/// The login as stored; `None` if it cannot be anyone's.
fn normalize(login: &Login, region: PhoneRegion) -> Option<String> {
    match login {
        Login::Phone(p) => Phone::parse(p, region).ok().map(|p| p.as_str().to_owned()),
        Login::Email(e) => Email::parse("email", e).ok().map(|e| e.as_str().to_owned()),
    }
}

/// Reserves one attempt on a throttle key: `Err` with the wait if it is locked.
pub(super) async fn reserve(
    clinic: &Clinic,
    key: &str,
    policy: ThrottlePolicy,
    now: i64,
) -> Result<()> {
    clinic
        .store
        .throttle_update(key, |st| match policy.reserve(st, now) {
            Ok(next) => (Some(next), Ok(())),
            Err(wait) => (st, Err(wait)),
        })
        .await?
        .map_err(|wait| Error::TooManyAttempts {
            retry_after_secs: wait,
        })
}

/// Checks the credentials and opens a session. Each attempt is reserved on
/// the address's and the account's throttle before the password is checked
/// (see [`crate::domain::throttle`]), so a crowd of guesses at once gets at
/// most the limit evaluated. Every attempt is counted by its outcome
/// (`/metrics`), never by who tried.
pub async fn log_in(clinic: &Clinic, creds: Credentials) -> Result<NewSession> {
    let result = check_and_open(clinic, creds).await;
    let outcome = match &result {
        Ok(_) => Some(LoginOutcome::Ok),
        Err(Error::BadCredentials) => Some(LoginOutcome::Failed),
        Err(Error::TooManyAttempts { .. }) => Some(LoginOutcome::Throttled),
        Err(_) => None,
    };
    if let Some(o) = outcome {
        clinic.metrics().login(o);
    }
    result
}

async fn check_and_open(clinic: &Clinic, creds: Credentials) -> Result<NewSession> {
    let now = clinic.now();
    let secs = now.as_second();
    let settings = clinic.settings();
    let login = normalize(&creds.login, settings.phone_region);
    let addr_key = format!("addr:{}", creds.client);
    let login_key = login.as_ref().map(|l| format!("login:{l}"));

    reserve(clinic, &addr_key, ThrottlePolicy::ADDRESS, secs).await?;
    if let Some(k) = &login_key
        && let Err(e) = reserve(clinic, k, ThrottlePolicy::ACCOUNT, secs).await
    {
        // Not evaluated: the address gets its attempt back.
        refund(clinic, &addr_key, ThrottlePolicy::ADDRESS).await?;
        return Err(e);
    }

    let account = match &login {
        Some(l) => clinic.store.find_account_by_login(l).await?,
        None => None,
    };
    let hash = account
        .as_ref()
        .filter(|a| a.active)
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| auth::DUMMY_HASH.to_owned());
    let ok = auth::verify_password_async(creds.password, hash).await;
    let account = match account {
        Some(a) if ok && a.active => a,
        _ => {
            // The reservations stand as the failures they were.
            tracing::info!("login failed");
            return Err(Error::BadCredentials);
        }
    };
    if let Some(k) = &login_key {
        clinic.store.throttle_update(k, |_| (None, ())).await?;
    }
    refund(clinic, &addr_key, ThrottlePolicy::ADDRESS).await?;

    let token = auth::new_token();
    let csrf = auth::new_token();
    let hours = settings.session_hours;
    let expires_at = now
        .checked_add(SignedDuration::from_hours(hours))
        .map_err(|e| Error::internal(&e))?;
    clinic
        .store
        .create_session(
            &auth::token_hash(&token),
            account.id,
            &csrf,
            secs,
            expires_at.as_second(),
            creds
                .device
                .as_deref()
                .map(|d| {
                    d.chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect::<String>()
                })
                .as_deref(),
            &creds.client,
        )
        .await?;
    tracing::info!(account_id = %account.id, "logged in");
    Ok(NewSession {
        token,
        csrf_token: csrf,
        expires_at,
        role: account.role,
    })
}

pub(super) async fn refund(clinic: &Clinic, key: &str, policy: ThrottlePolicy) -> Result<()> {
    clinic
        .store
        .throttle_update(key, |st| (st.map(|s| policy.refund(s)), ()))
        .await?;
    Ok(())
}

/// The session behind a token, if it is live and its account active.
pub async fn session(clinic: &Clinic, token: &str) -> Result<Option<Session>> {
    let hash = auth::token_hash(token);
    let now = clinic.now().as_second();
    let Some(u) = clinic.store.session_user(&hash, now).await? else {
        return Ok(None);
    };
    let caller = caller_of(&u)?;
    // "Last used", at most one write a minute per session (decision 0017).
    if u.last_used_at.is_none_or(|t| now - t >= 60) {
        clinic.store.touch_session(&hash, now).await?;
    }
    Ok(Some(Session {
        caller,
        login: u.login,
        token_hash: hash,
        csrf_token: u.csrf_token,
    }))
}

/// The caller a stored session stands for; a role without its profile is
/// impossible data.
fn caller_of(u: &SessionUser) -> Result<Caller> {
    let account = u.account_id;
    match (u.role, u.patient_id, u.doctor_id) {
        (Role::Patient, Some(patient), _) => Ok(Caller::Patient { account, patient }),
        (Role::Doctor, _, Some(doctor)) => Ok(Caller::Doctor { account, doctor }),
        (Role::Admin, _, _) => Ok(Caller::Admin { account }),
        (role, _, _) => Err(Error::internal(&format_args!(
            "account {account} is a {} with no profile",
            role.as_str()
        ))),
    }
}

/// Ends a session on the server: its token stops working at once.
pub async fn log_out(clinic: &Clinic, session: &Session) -> Result<()> {
    clinic.store.delete_session(&session.token_hash).await?;
    Ok(())
}

/// Whether this exact login belongs to an active account (the landing page
/// offers the public demo logins only where the demo clinic is loaded).
pub async fn is_active_login(clinic: &Clinic, login: &str) -> Result<bool> {
    Ok(clinic
        .store
        .find_account_by_login(login)
        .await?
        .is_some_and(|a| a.active))
}

/// A live session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The first 16 hex digits of the token's hash: names the session
    /// without revealing its token.
    pub id: String,
    pub created: Timestamp,
    pub last_used: Option<Timestamp>,
    /// As the client's `User-Agent` told it.
    pub device: Option<String>,
    pub address: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

fn session_id(token_hash: &str) -> String {
    token_hash.chars().take(16).collect()
}

/// The caller's live sessions, newest first.
pub async fn list(clinic: &Clinic, session: &Session) -> Result<Vec<SessionInfo>> {
    let account = session.caller.account().ok_or(Error::Unauthenticated)?;
    let now = clinic.now().as_second();
    let at = super::stored_instant;
    clinic
        .store
        .sessions_of(account, now)
        .await?
        .into_iter()
        .map(|r| {
            Ok(SessionInfo {
                id: session_id(&r.token_hash),
                created: at(r.created_at)?,
                last_used: r.last_used_at.map(at).transpose()?,
                device: r.user_agent,
                address: r.address,
                current: r.token_hash == session.token_hash,
            })
        })
        .collect()
}

/// Ends one of the caller's own sessions (another's is not found).
pub async fn end(clinic: &Clinic, session: &Session, id: &str) -> Result<()> {
    let account = session.caller.account().ok_or(Error::Unauthenticated)?;
    let well_formed = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed
        || clinic
            .store
            .end_session(account, &id.to_ascii_lowercase(), clinic.now().as_second())
            .await?
            == 0
    {
        return Err(Error::NotFound(super::Thing::Resource));
    }
    Ok(())
}

/// Ends every session of the caller but this one; how many.
pub async fn end_others(clinic: &Clinic, session: &Session) -> Result<u64> {
    let account = session.caller.account().ok_or(Error::Unauthenticated)?;
    Ok(clinic
        .store
        .end_other_sessions(account, &session.token_hash, clinic.now().as_second())
        .await?)
}

/// Changes the caller's password: the current one must be right (a wrong
/// one counts on the account's login throttle), the new one follows the
/// registration rules, and every other session ends at once.
pub async fn change_password(
    clinic: &Clinic,
    session: &Session,
    current: &str,
    new: &str,
) -> Result<()> {
    let account = session.caller.account().ok_or(Error::Unauthenticated)?;
    let new = crate::domain::person::Password::parse("new_password", new)
        .map_err(|e| Error::Invalid(vec![e]))?;
    let now = clinic.now().as_second();
    let key = format!("login:{}", session.login);
    reserve(clinic, &key, ThrottlePolicy::ACCOUNT, now).await?;
    let hash = clinic
        .store
        .password_hash_of(account)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if !auth::verify_password_async(current.to_owned(), hash).await {
        return Err(Error::invalid("current_password", "is wrong"));
    }
    clinic.store.throttle_update(&key, |_| (None, ())).await?;
    let password = new.expose().to_owned();
    let new_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| Error::internal(&e))?
        .map_err(|e| Error::internal(&e))?;
    let ended = clinic
        .store
        .change_password(account, &new_hash, &session.token_hash, now)
        .await?;
    tracing::info!(account_id = %account, ended, "password changed");
    Ok(())
}
