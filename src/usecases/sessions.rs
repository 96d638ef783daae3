//! Logging in and out, and who the caller behind a session is.

use super::security::{self, AuthOutcome};
use super::{Caller, Clinic, Error, Result};
use crate::auth;
use crate::domain::caller::Role;
use crate::domain::person::{Email, Phone, PhoneRegion};
use crate::domain::throttle::{SlowDown, ThrottlePolicy};
use crate::metrics::LoginOutcome;
use crate::store::{AccountRow, SessionUser};
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
    /// The second factor, for an account that has one on (decision 0019):
    /// a current code of its authenticator app or a recovery code. Ignored
    /// for an account without one.
    pub second_factor: Option<String>,
    /// The token of the session the login request came with, if any: it
    /// ends when the new one opens (decision 0026), so logging in again
    /// never leaves the old token alive.
    pub replaces: Option<String>,
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
    /// The clinic requires a second factor this account has not turned on
    /// yet: it must do that before anything else.
    pub must_set_up_totp: bool,
}

/// Where a login stands after the password ([`begin_login`]).
#[derive(Debug)]
pub enum LoginStep {
    /// Logged in.
    Done(NewSession),
    /// The password was right; the second factor must follow, with this
    /// short-lived token naming the login ([`finish_login`]).
    SecondFactor { pending: String },
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
    /// A staff member the clinic requires a second factor of, who has not
    /// turned it on: only setting it up (and logging out) is open to them.
    pub must_set_up_totp: bool,
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

/// Counts one attempt on a client address (decision 0026): never refused,
/// whatever the count; the address's failures in the window so far, this
/// one included, for [`slow_down`].
async fn reserve_address(clinic: &Clinic, key: &str, now: i64) -> Result<i64> {
    Ok(clinic
        .store
        .throttle_update(key, |st| {
            // A lock stored by an earlier version no longer applies.
            let st = st.map(|s| crate::domain::throttle::ThrottleState {
                locked_until: None,
                ..s
            });
            let next = ThrottlePolicy::LOGIN_ADDRESS.on_failure(st, now);
            (Some(next), next.failures)
        })
        .await?)
}

/// Waits before answering a failed attempt from an address with many
/// recent failures ([`SlowDown::ADDRESS`]): guessing from one address gets
/// slower and slower, a right password is never held up.
async fn slow_down(address_failures: i64) {
    let ms = SlowDown::ADDRESS.delay_ms(address_failures);
    if ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

/// Checks the credentials and opens a session. Each attempt is reserved on
/// the account's throttle before the password is checked (see
/// [`crate::domain::throttle`]), so a crowd of guesses at one account gets
/// at most its limit evaluated; the address's count only slows its failures
/// down, never refuses (decision 0026). An account with a second factor on
/// needs it in the same call ([`Credentials::second_factor`]), else
/// [`Error::SecondFactorRequired`]. Every attempt is counted by its outcome
/// (`/metrics`, never by who tried) and written to the security log
/// ([`security`]). A session named by [`Credentials::replaces`] ends when
/// the new one opens.
pub async fn log_in(clinic: &Clinic, creds: Credentials) -> Result<NewSession> {
    let (login, client) = logged_as(clinic, &creds);
    let result = check(clinic, creds, false).await;
    match counted(clinic, login.as_deref(), &client, result).await {
        Ok(LoginStep::Done(s)) => Ok(s),
        Ok(LoginStep::SecondFactor { .. }) => Err(Error::SecondFactorRequired),
        Err(e) => Err(e),
    }
}

/// Like [`log_in`], for a face that asks for the second factor on a page of
/// its own: a right password of an account with a second factor gives a
/// short-lived token to pass to [`finish_login`] with the code, so the
/// password is not asked (or carried) again.
pub async fn begin_login(clinic: &Clinic, creds: Credentials) -> Result<LoginStep> {
    let (login, client) = logged_as(clinic, &creds);
    let result = check(clinic, creds, true).await;
    counted(clinic, login.as_deref(), &client, result).await
}

/// The login (as stored when it parses, else as typed) and the client, for
/// the security log.
fn logged_as(clinic: &Clinic, creds: &Credentials) -> (Option<String>, String) {
    let login = normalize(&creds.login, clinic.settings().phone_region).or_else(|| {
        let typed = match &creds.login {
            Login::Phone(t) | Login::Email(t) => t.trim().to_lowercase(),
        };
        (!typed.is_empty()).then_some(typed)
    });
    (login, creds.client.clone())
}

/// How long the second step of a login may take.
const PENDING_SECS: i64 = 5 * 60;

/// The second step of a login begun with [`begin_login`]: the token it gave
/// and the code (or a recovery code). Wrong codes count on the same
/// throttle keys as wrong passwords.
pub async fn finish_login(
    clinic: &Clinic,
    pending: &str,
    code: &str,
    client: &str,
    device: Option<&str>,
    replaces: Option<&str>,
) -> Result<NewSession> {
    let mut login = None;
    let result = finish(clinic, pending, code, client, device, replaces, &mut login).await;
    match counted(
        clinic,
        login.as_deref(),
        client,
        result.map(LoginStep::Done),
    )
    .await
    {
        Ok(LoginStep::Done(s)) => Ok(s),
        Ok(LoginStep::SecondFactor { .. }) => Err(Error::SecondFactorRequired),
        Err(e) => Err(e),
    }
}

/// Counts the attempt by its outcome (`/metrics`) and writes it to the
/// security log with the login's pseudonym and the client address.
async fn counted(
    clinic: &Clinic,
    login: Option<&str>,
    client: &str,
    result: Result<LoginStep>,
) -> Result<LoginStep> {
    let outcome = match &result {
        Ok(LoginStep::Done(_)) => Some(LoginOutcome::Ok),
        Err(Error::BadCredentials | Error::BadSecondFactor) => Some(LoginOutcome::Failed),
        Err(Error::TooManyAttempts { .. }) => Some(LoginOutcome::Throttled),
        Ok(LoginStep::SecondFactor { .. }) | Err(_) => None,
    };
    if let Some(o) = outcome {
        clinic.metrics().login(o);
    }
    let event = match &result {
        Ok(LoginStep::Done(_)) => Some(AuthOutcome::Success),
        Ok(LoginStep::SecondFactor { .. }) => Some(AuthOutcome::SecondStep),
        Err(Error::BadCredentials) => Some(AuthOutcome::Failure),
        Err(Error::BadSecondFactor) => Some(AuthOutcome::TotpFailed),
        Err(Error::TooManyAttempts { .. }) => Some(AuthOutcome::Locked),
        Err(Error::SecondFactorRequired) => Some(AuthOutcome::TotpRequired),
        Err(Error::Unauthenticated) => Some(AuthOutcome::SecondStepExpired),
        Err(_) => None,
    };
    if let Some(event) = event {
        // The log line never changes the login's answer: without its key
        // (a database hiccup), the event goes without the login's hash.
        let pseudonym = match login {
            Some(l) => match security::login_pseudonym(clinic, l).await {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(error = %e, "no key for the security log's login hash");
                    None
                }
            },
            None => None,
        };
        security::auth_event(event, pseudonym.as_deref(), client);
    }
    result
}

/// What a pending login's token signs: the account, the deadline and the
/// password hash (a password changed meanwhile voids the token).
fn pending_purpose(expires: i64, password_hash: &str) -> String {
    format!(
        "login-pending:{expires}:{}",
        auth::token_hash(password_hash)
    )
}

async fn pending_token(clinic: &Clinic, account: &AccountRow, now: i64) -> Result<String> {
    let key = super::notifications::link_key(clinic).await?;
    let expires = now + PENDING_SECS;
    Ok(format!(
        "{expires}.{}",
        auth::signed_token(
            &key,
            &pending_purpose(expires, &account.password_hash),
            account.id.get()
        )
    ))
}

/// The active account a pending login's token names, if it is ours and
/// not expired.
async fn pending_account(clinic: &Clinic, token: &str, now: i64) -> Result<Option<AccountRow>> {
    let Some((expires, signed)) = token.trim().split_once('.') else {
        return Ok(None);
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return Ok(None);
    };
    let Some(id) = signed
        .split_once('.')
        .and_then(|(id, _)| id.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    if expires <= now || expires > now + PENDING_SECS {
        return Ok(None);
    }
    let Some(account) = clinic
        .store
        .find_account(crate::domain::ids::AccountId::new(id))
        .await?
        .filter(|a| a.active)
    else {
        return Ok(None);
    };
    let key = super::notifications::link_key(clinic).await?;
    let purpose = pending_purpose(expires, &account.password_hash);
    Ok((auth::verify_signed_token(&key, &purpose, signed) == Some(id)).then_some(account))
}

async fn finish(
    clinic: &Clinic,
    pending: &str,
    code: &str,
    client: &str,
    device: Option<&str>,
    replaces: Option<&str>,
    login: &mut Option<String>,
) -> Result<NewSession> {
    let secs = clinic.now().as_second();
    // An expired or forged token: the login starts again from the password.
    let Some(account) = pending_account(clinic, pending, secs).await? else {
        return Err(Error::Unauthenticated);
    };
    *login = Some(account.login.clone());
    let addr_key = format!("addr:{client}");
    let login_key = format!("login:{}", account.login);
    let address_failures = reserve_address(clinic, &addr_key, secs).await?;
    if let Err(e) = reserve(clinic, &login_key, ThrottlePolicy::ACCOUNT, secs).await {
        refund(clinic, &addr_key, ThrottlePolicy::LOGIN_ADDRESS).await?;
        return Err(e);
    }
    let opened = Opened {
        login_key: &login_key,
        addr_key: &addr_key,
        client,
        device,
        replaces,
    };
    let Some(row) = super::totp::on_for(clinic, account.id, account.role).await? else {
        // Turned off meanwhile: the password alone was enough.
        return open_checked(clinic, &account, &opened).await;
    };
    if !super::totp::check(clinic, account.id, &row, code).await? {
        tracing::info!("login failed at the second step");
        slow_down(address_failures).await;
        return Err(Error::BadSecondFactor);
    }
    open_checked(clinic, &account, &opened).await
}

/// Where a complete login comes from, and what it ends.
struct Opened<'a> {
    login_key: &'a str,
    addr_key: &'a str,
    client: &'a str,
    device: Option<&'a str>,
    /// The token of the session the request came with.
    replaces: Option<&'a str>,
}

/// Clears the account's failures, refunds the address's attempt and opens
/// a session: the login is complete.
async fn open_checked(
    clinic: &Clinic,
    account: &AccountRow,
    from: &Opened<'_>,
) -> Result<NewSession> {
    clinic
        .store
        .throttle_update(from.login_key, |_| (None, ()))
        .await?;
    refund(clinic, from.addr_key, ThrottlePolicy::LOGIN_ADDRESS).await?;
    open(clinic, account, from.client, from.device, from.replaces).await
}

async fn check(clinic: &Clinic, creds: Credentials, pending: bool) -> Result<LoginStep> {
    let now = clinic.now();
    let secs = now.as_second();
    let settings = clinic.settings();
    let login = normalize(&creds.login, settings.phone_region);
    let addr_key = format!("addr:{}", creds.client);
    let login_key = login.as_ref().map(|l| format!("login:{l}"));

    let address_failures = reserve_address(clinic, &addr_key, secs).await?;
    if let Some(k) = &login_key
        && let Err(e) = reserve(clinic, k, ThrottlePolicy::ACCOUNT, secs).await
    {
        // Not evaluated: the address gets its attempt back.
        refund(clinic, &addr_key, ThrottlePolicy::LOGIN_ADDRESS).await?;
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
    let (account, login_key) = match (account, login_key) {
        (Some(a), Some(k)) if ok && a.active => (a, k),
        _ => {
            // The reservations stand as the failures they were.
            tracing::info!("login failed");
            slow_down(address_failures).await;
            return Err(Error::BadCredentials);
        }
    };
    let opened = Opened {
        login_key: &login_key,
        addr_key: &addr_key,
        client: &creds.client,
        device: creds.device.as_deref(),
        replaces: creds.replaces.as_deref(),
    };
    let Some(row) = super::totp::on_for(clinic, account.id, account.role).await? else {
        return Ok(LoginStep::Done(
            open_checked(clinic, &account, &opened).await?,
        ));
    };
    match creds.second_factor.as_deref().map(str::trim) {
        Some(code) if !code.is_empty() => {
            if !super::totp::check(clinic, account.id, &row, code).await? {
                tracing::info!("login failed at the second step");
                slow_down(address_failures).await;
                return Err(Error::BadSecondFactor);
            }
            Ok(LoginStep::Done(
                open_checked(clinic, &account, &opened).await?,
            ))
        }
        _ => {
            // A right password is no failure, but it does not clear the
            // account's count either: that would let whoever knows the
            // password guess codes without end.
            refund(clinic, &login_key, ThrottlePolicy::ACCOUNT).await?;
            refund(clinic, &addr_key, ThrottlePolicy::LOGIN_ADDRESS).await?;
            if pending {
                Ok(LoginStep::SecondFactor {
                    pending: pending_token(clinic, &account, secs).await?,
                })
            } else {
                Err(Error::SecondFactorRequired)
            }
        }
    }
}

/// Opens a session for an account whose login is complete, and ends the
/// session the request came with (`replaces`), if any.
pub(super) async fn open(
    clinic: &Clinic,
    account: &AccountRow,
    client: &str,
    device: Option<&str>,
    replaces: Option<&str>,
) -> Result<NewSession> {
    let now = clinic.now();
    let secs = now.as_second();
    let settings = clinic.settings();
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
            device
                .map(|d| {
                    d.chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect::<String>()
                })
                .as_deref(),
            client,
        )
        .await?;
    tracing::info!(account_id = %account.id, "logged in");
    // Whoever holds a token may end its session (log out): a login that
    // came with one ends it, so the old token dies with the new login.
    if let Some(old) = replaces.filter(|t| !t.is_empty()) {
        let old_hash = auth::token_hash(old);
        if let Some(u) = clinic.store.session_user(&old_hash, secs).await? {
            clinic.store.delete_session(&old_hash).await?;
            security::session_ended(u.account_id, "replaced");
        }
    }
    let must_set_up_totp = settings.require_staff_totp
        && account.role != Role::Patient
        && super::totp::on_for(clinic, account.id, account.role)
            .await?
            .is_none();
    Ok(NewSession {
        token,
        csrf_token: csrf,
        expires_at,
        role: account.role,
        must_set_up_totp,
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
    // Staff sessions end after a while unused (decision 0026); "last used"
    // is at most a minute behind, so one may end up to a minute early.
    if u.role != Role::Patient
        && let Some(last) = u.last_used_at
        && now - last >= clinic.settings().staff_idle_minutes.saturating_mul(60)
    {
        clinic.store.delete_session(&hash).await?;
        security::session_ended(u.account_id, "idle");
        return Ok(None);
    }
    // "Last used", at most one write a minute per session (decision 0017).
    if u.last_used_at.is_none_or(|t| now - t >= 60) {
        clinic.store.touch_session(&hash, now).await?;
    }
    let must_set_up_totp =
        clinic.settings().require_staff_totp && u.role != Role::Patient && !u.totp_on;
    Ok(Some(Session {
        caller,
        login: u.login,
        token_hash: hash,
        csrf_token: u.csrf_token,
        must_set_up_totp,
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
    // A staff session unused past the idle time is over, though not yet
    // deleted (that happens when it is next presented).
    let idle_limit = (session.caller.role() != Some(Role::Patient))
        .then(|| clinic.settings().staff_idle_minutes.saturating_mul(60));
    clinic
        .store
        .sessions_of(account, now)
        .await?
        .into_iter()
        .filter(|r| match (idle_limit, r.last_used_at) {
            (Some(limit), Some(last)) => now - last < limit,
            _ => true,
        })
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

/// Checks the caller's own password again before a grave step (closing the
/// account): a wrong one is `Invalid` on `field` and counts on the
/// account's login throttle, like a wrong current password when changing it,
/// so this is no side door for guessing.
pub(crate) async fn confirm_password(
    clinic: &Clinic,
    session: &Session,
    field: &str,
    password: &str,
) -> Result<()> {
    let account = session.caller.account().ok_or(Error::Unauthenticated)?;
    let key = format!("login:{}", session.login);
    reserve(
        clinic,
        &key,
        ThrottlePolicy::ACCOUNT,
        clinic.now().as_second(),
    )
    .await?;
    let hash = clinic
        .store
        .password_hash_of(account)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if !auth::verify_password_async(password.to_owned(), hash).await {
        return Err(Error::invalid(field, "is wrong"));
    }
    clinic.store.throttle_update(&key, |_| (None, ())).await?;
    Ok(())
}
