//! Abuse limits on sign-up, booking and chat (decision 0023), per client
//! address and per account, with the numbers of the clinic's settings.
//!
//! Counted in this instance's memory: a limit protects the instance from a
//! flood, a restart forgets it, and behind several instances each counts on
//! its own (the README says so). The login throttle and the chat's
//! per-account count, which guard accounts rather than capacity, live in the
//! database and hold across instances.
//!
//! A face calls [`admit`] right before the limited use case, with the
//! address it took from the request.

use super::{Caller, Clinic, Error, Result};
use crate::domain::ids::AccountId;
use crate::domain::limits::{Action, RateLimit};
use crate::domain::throttle::ThrottleState;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Who {
    Account(AccountId),
    /// A login as typed and normalized, whether or not it is anyone's (a
    /// forgotten password's request: the count must not tell who exists).
    Login(String),
    Address(String),
}

/// This instance's counts.
#[derive(Debug, Default)]
pub struct Limiter {
    keys: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    states: HashMap<(Action, Who), (ThrottleState, i64)>,
    /// The size at which stale keys are next swept.
    sweep_at: usize,
}

/// Keys are swept when their number reaches this (or twice the live ones).
const SWEEP_FLOOR: usize = 10_000;

impl Limiter {
    /// Counts one attempt of `who` at `now` under `limit`: `Err(seconds to
    /// wait)` when the key is closed.
    fn count(&self, action: Action, who: Who, limit: RateLimit, now: i64) -> Result<(), i64> {
        if limit.count.is_none() {
            return Ok(());
        }
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (action, who);
        let state = keys.states.get(&key).map(|(s, _)| *s);
        let next = limit.admit(state, now)?;
        if let Some(next) = next {
            // A key is of no use once its lock and its window are over.
            let stale_at = next
                .locked_until
                .unwrap_or(0)
                .max(next.window_start + limit.per_secs);
            keys.states.insert(key, (next, stale_at));
        }
        if keys.states.len() >= keys.sweep_at.max(SWEEP_FLOOR) {
            keys.states.retain(|_, (_, stale_at)| *stale_at > now);
            keys.sweep_at = keys.states.len() * 2;
        }
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.lock().map(|k| k.states.len()).unwrap_or(0)
    }
}

/// Lets one `action` of `caller` from `address` through, or refuses it with
/// how long to wait (`RateLimited`, 429 with `Retry-After`). The account's
/// limit is counted first: one account cannot use up a shared address's
/// allowance once its own is spent.
pub fn admit(clinic: &Clinic, action: Action, caller: &Caller, address: &str) -> Result<()> {
    let s = clinic.settings();
    let (per_account, per_address) = match action {
        Action::SignUp => (RateLimit::OFF, s.signups_per_address),
        Action::Booking => (s.bookings_per_account, s.bookings_per_address),
        // The per-account count of chat is the database's (visits::chat).
        Action::Chat => (RateLimit::OFF, s.chat_per_address),
        Action::CodeRequest => (s.codes_per_account, s.codes_per_address),
    };
    let now = clinic.now().as_second();
    let limiter = clinic.limiter();
    let refused = |retry_after_secs| {
        tracing::info!(action = action.noun(), "rate limit reached");
        Error::RateLimited {
            action,
            retry_after_secs,
        }
    };
    if let Some(account) = caller.account() {
        limiter
            .count(action, Who::Account(account), per_account, now)
            .map_err(refused)?;
    }
    limiter
        .count(action, Who::Address(address.to_owned()), per_address, now)
        .map_err(refused)
}

/// Lets one request for a code to `login` (a normalized phone or email)
/// from `address` through, or refuses it (`RateLimited`). The login is
/// counted as the per-account limit whether or not an account has it, so
/// a refusal is the same for everyone.
pub fn admit_for_login(clinic: &Clinic, login: &str, address: &str) -> Result<()> {
    let s = clinic.settings();
    let action = Action::CodeRequest;
    let now = clinic.now().as_second();
    let limiter = clinic.limiter();
    let refused = |retry_after_secs| {
        tracing::info!(action = action.noun(), "rate limit reached");
        Error::RateLimited {
            action,
            retry_after_secs,
        }
    };
    limiter
        .count(
            action,
            Who::Login(login.to_owned()),
            s.codes_per_account,
            now,
        )
        .map_err(refused)?;
    limiter
        .count(
            action,
            Who::Address(address.to_owned()),
            s.codes_per_address,
            now,
        )
        .map_err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_count_apart_and_stale_ones_are_swept() {
        let l = Limiter::default();
        let limit = RateLimit::per_minute(2);
        let a = || Who::Address("10.0.0.1".into());
        assert!(l.count(Action::Booking, a(), limit, 0).is_ok());
        assert!(l.count(Action::Booking, a(), limit, 1).is_ok());
        assert_eq!(l.count(Action::Booking, a(), limit, 2), Err(59));
        // Another action, account or address has its own count.
        assert!(l.count(Action::Chat, a(), limit, 2).is_ok());
        assert!(
            l.count(Action::Booking, Who::Account(AccountId::new(7)), limit, 2)
                .is_ok()
        );
        assert!(
            l.count(Action::Booking, Who::Address("10.0.0.2".into()), limit, 2)
                .is_ok()
        );
        // Off counts nothing and keeps nothing.
        let before = l.len();
        for _ in 0..100 {
            assert!(l.count(Action::SignUp, a(), RateLimit::OFF, 3).is_ok());
        }
        assert_eq!(l.len(), before);
        // A flood of addresses does not grow the map past the sweep once
        // their minutes are over.
        for i in 0..(3 * SWEEP_FLOOR) {
            let now = 1000 + i64::try_from(i / 100).unwrap_or(0) * 120;
            assert!(
                l.count(Action::SignUp, Who::Address(format!("a{i}")), limit, now)
                    .is_ok()
            );
        }
        assert!(l.len() <= SWEEP_FLOOR + 200, "{} keys kept", l.len());
    }
}
