//! Login throttling: after too many failures in a window, an account's login
//! is locked for a while; a client address with many recent failures has its
//! failed attempts answered slower ([`SlowDown`]), never locked, since a
//! whole clinic may share one address (decision 0026).
//!
//! The state lives in the database so that every app instance sees the same
//! counts; this module only decides.
//!
//! An attempt is *reserved* before its password is checked ([`ThrottlePolicy::reserve`]):
//! it counts as a failure up front, atomically with the check of the lock, so
//! that however many guesses arrive at once, at most `max_failures` of them are
//! evaluated in a window. A success then clears the account's count, or hands
//! the address its attempt back ([`ThrottlePolicy::refund`]).

/// One key's recorded failures. Times are unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i64,
    pub window_start: i64,
    pub locked_until: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed inside one window before the key is locked.
    pub max_failures: i64,
    /// Length of the counting window, seconds.
    pub window_secs: i64,
    /// How long a locked key stays locked, seconds.
    pub lockout_secs: i64,
}

impl ThrottlePolicy {
    /// Per account: 5 failures in 15 minutes lock the account's logins for 15 minutes.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window_secs: 15 * 60,
        lockout_secs: 15 * 60,
    };
    /// Per client address, for one-time code tries: 20 failures in 15
    /// minutes lock the address for 15 minutes.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        max_failures: 20,
        window_secs: 15 * 60,
        lockout_secs: 15 * 60,
    };
    /// Per client address, for logins: failures are counted in 15-minute
    /// windows but never lock (the count only slows failed attempts down,
    /// [`SlowDown`]): everyone behind one proxy or NAT shares the address
    /// (decision 0026).
    pub const LOGIN_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        max_failures: i64::MAX,
        window_secs: 15 * 60,
        lockout_secs: 0,
    };

    /// Seconds the caller must wait before trying again, if the key is locked.
    pub fn retry_after(&self, state: Option<ThrottleState>, now: i64) -> Option<i64> {
        let until = state?.locked_until?;
        (until > now).then_some(until - now)
    }

    /// The state after one more failure at `now`.
    pub fn on_failure(&self, state: Option<ThrottleState>, now: i64) -> ThrottleState {
        let fresh = ThrottleState {
            failures: 1,
            window_start: now,
            locked_until: None,
        };
        let mut s = match state {
            None => fresh,
            Some(s) if now - s.window_start >= self.window_secs => fresh,
            Some(s) => ThrottleState {
                failures: s.failures.saturating_add(1),
                ..s
            },
        };
        if s.failures >= self.max_failures {
            s.locked_until = Some(now + self.lockout_secs);
            // A new window starts after the lockout: the next failure after it
            // counts from one again.
            s.window_start = now + self.lockout_secs - self.window_secs;
            s.failures = 0;
        }
        s
    }
}

impl ThrottlePolicy {
    /// Reserves one attempt at `now`: `Err(seconds to wait)` if the key is
    /// locked, otherwise the state with this attempt counted as a failure
    /// (which locks the key if it is the last one allowed: the attempt itself
    /// is still evaluated, the next ones are not).
    pub fn reserve(&self, state: Option<ThrottleState>, now: i64) -> Result<ThrottleState, i64> {
        if let Some(wait) = self.retry_after(state, now) {
            return Err(wait);
        }
        Ok(self.on_failure(state, now))
    }

    /// Gives back the attempt reserved by a login that succeeded; a lock that
    /// this attempt's reservation set is lifted.
    pub fn refund(&self, state: ThrottleState) -> ThrottleState {
        if state.failures > 0 {
            return ThrottleState {
                failures: state.failures - 1,
                ..state
            };
        }
        match state.locked_until {
            Some(_) => ThrottleState {
                failures: self.max_failures - 1,
                locked_until: None,
                ..state
            },
            None => state,
        }
    }
}

/// How much slower the answer to a failed login is, by how many failures
/// its client address has had in the current window (decision 0026). Only
/// failures are slowed: a right password is answered at once whatever the
/// address has done, so an attacker cannot keep a clinic that shares one
/// address logged out.
#[derive(Debug, Clone, Copy)]
pub struct SlowDown {
    /// Failures an address may have in a window before any is slowed.
    pub free_failures: i64,
    /// Each failure beyond the free ones waits this much longer, ms.
    pub step_ms: u64,
    /// The longest wait, ms.
    pub cap_ms: u64,
}

impl SlowDown {
    /// 20 failures free (what used to lock the address), then half a second
    /// more per failure, at most 3 seconds.
    pub const ADDRESS: SlowDown = SlowDown {
        free_failures: 20,
        step_ms: 500,
        cap_ms: 3000,
    };

    /// The wait before answering a failure that made the address's count
    /// `failures`.
    pub fn delay_ms(&self, failures: i64) -> u64 {
        let over = u64::try_from(failures.saturating_sub(self.free_failures)).unwrap_or(0);
        over.saturating_mul(self.step_ms).min(self.cap_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: ThrottlePolicy = ThrottlePolicy::ACCOUNT;

    #[test]
    fn the_fifth_failure_locks_for_fifteen_minutes() {
        let mut s = None;
        for i in 0..4 {
            s = Some(P.on_failure(s, 1000 + i));
            assert_eq!(P.retry_after(s, 1000 + i), None);
        }
        s = Some(P.on_failure(s, 1010));
        assert_eq!(P.retry_after(s, 1010), Some(900));
        assert_eq!(P.retry_after(s, 1909), Some(1));
        assert_eq!(P.retry_after(s, 1910), None);
    }

    #[test]
    fn an_address_is_never_locked_however_many_failures() {
        let a = ThrottlePolicy::LOGIN_ADDRESS;
        let mut s = None;
        for i in 0..500 {
            s = Some(a.reserve(s, 1000 + i).expect("never refused"));
        }
        assert_eq!(s.map(|s| s.failures), Some(500));
        assert_eq!(a.retry_after(s, 1500), None);
        // A new window counts from one again.
        let next = a.reserve(s, 1000 + 15 * 60).expect("never refused");
        assert_eq!(next.failures, 1);
    }

    #[test]
    fn failures_beyond_the_free_ones_are_slowed_more_up_to_the_cap() {
        let d = SlowDown::ADDRESS;
        assert_eq!(d.delay_ms(0), 0);
        assert_eq!(d.delay_ms(20), 0);
        assert_eq!(d.delay_ms(21), 500);
        assert_eq!(d.delay_ms(24), 2000);
        assert_eq!(d.delay_ms(26), 3000);
        assert_eq!(d.delay_ms(i64::MAX), 3000);
        assert_eq!(d.delay_ms(-5), 0);
    }

    proptest! {
        #[test]
        fn the_slow_down_grows_with_the_count_and_stays_under_the_cap(a in -10i64..10_000, b in -10i64..10_000) {
            let d = SlowDown::ADDRESS;
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(d.delay_ms(lo) <= d.delay_ms(hi));
            prop_assert!(d.delay_ms(hi) <= d.cap_ms);
        }
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock() {
        let mut s = None;
        for i in 0..20 {
            s = Some(P.on_failure(s, i * 300));
            assert_eq!(P.retry_after(s, i * 300), None, "locked at failure {i}");
        }
    }

    proptest! {
        #[test]
        fn a_lock_never_lasts_longer_than_the_lockout(gaps in prop::collection::vec(0i64..2000, 1..40)) {
            let mut s = None;
            let mut now = 0;
            for g in gaps {
                now += g;
                s = Some(P.on_failure(s, now));
                if let Some(wait) = P.retry_after(s, now) {
                    prop_assert!(wait <= P.lockout_secs);
                }
            }
        }
    }

    #[test]
    fn reservations_let_through_at_most_the_limit_at_once() {
        // Forty attempts arrive together: each reserves before any is checked.
        let mut s = None;
        let mut evaluated = 0;
        for _ in 0..40 {
            match P.reserve(s, 1000) {
                Ok(next) => {
                    s = Some(next);
                    evaluated += 1;
                }
                Err(wait) => assert_eq!(wait, 900),
            }
        }
        assert_eq!(evaluated, 5);
        assert_eq!(P.retry_after(s, 1000), Some(900));
    }

    #[test]
    fn a_refund_gives_the_attempt_back_and_lifts_the_lock_it_set() {
        let one = P.reserve(None, 10).unwrap();
        assert_eq!(P.refund(one).failures, 0);
        let mut s = None;
        for _ in 0..5 {
            s = Some(P.reserve(s, 10).unwrap());
        }
        let locked = s.unwrap();
        assert!(P.retry_after(Some(locked), 10).is_some());
        let refunded = P.refund(locked);
        assert_eq!(P.retry_after(Some(refunded), 10), None);
        // The four failures before it still count: one more locks again.
        assert!(
            P.retry_after(Some(P.reserve(Some(refunded), 11).unwrap()), 11)
                .is_some()
        );
    }

    proptest! {
        #[test]
        fn reserving_never_evaluates_more_than_the_limit_per_lock(
            gaps in prop::collection::vec(0i64..120, 1..80)
        ) {
            // Between two refusals, at most max_failures attempts get through.
            let mut s: Option<ThrottleState> = None;
            let mut now = 0;
            let mut run = 0;
            for g in gaps {
                now += g;
                // A new window counts from zero.
                if let Some(st) = s && now - st.window_start >= P.window_secs {
                    run = 0;
                }
                match P.reserve(s, now) {
                    Ok(next) => {
                        s = Some(next);
                        run += 1;
                        prop_assert!(run <= P.max_failures);
                        if P.retry_after(s, now).is_some() {
                            run = 0;
                        }
                    }
                    Err(_) => run = 0,
                }
            }
        }
    }
}
