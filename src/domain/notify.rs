//! Notifications (decision 0013): when a reminder is due, whether a due one
//! still goes out, and when a failed delivery is tried again. Pure: the
//! outbox's worker and the booking use cases ask these with `now`.

use super::appointment::Status;
use jiff::{SignedDuration, Timestamp};

/// What happened, as a notification tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Booked,
    Rescheduled,
    Cancelled,
    /// A reminder this many hours before the start.
    Reminder {
        hours_before: i64,
    },
    /// The visit's video room is open.
    RoomOpen,
    /// The doctor wrote the visit's note.
    NoteReady,
    /// Started, completed or no-show (webhooks).
    StatusChanged,
}

/// When the reminders of a visit starting at `start` are due, for a visit
/// booked (or moved) at `now`: one per lead time, skipping those whose time
/// has already passed (a visit booked two hours ahead gets no "tomorrow"
/// reminder). `hours_before` is the clinic's setting, e.g. `[24, 1]`.
pub fn reminders(start: Timestamp, hours_before: &[i64], now: Timestamp) -> Vec<(i64, Timestamp)> {
    let mut due: Vec<(i64, Timestamp)> = hours_before
        .iter()
        .filter(|h| **h > 0)
        .filter_map(|h| {
            let at = start.checked_sub(SignedDuration::from_hours(*h)).ok()?;
            (at > now).then_some((*h, at))
        })
        .collect();
    due.sort_by_key(|(_, at)| *at);
    due.dedup_by_key(|(h, _)| *h);
    due
}

/// What the worker does with a reminder whose time has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderFate {
    Send,
    /// Not sent, and why (recorded with the row).
    Drop(&'static str),
}

/// Whether a reminder scheduled for a visit starting at `scheduled_start`
/// still goes out at `now`, given the visit as it is now (`None`: gone).
/// Only a visit still booked at that very start, and still ahead: a reminder
/// that came due while the system was down goes out late if the visit is
/// ahead, and is dropped otherwise.
pub fn reminder_fate(
    scheduled_start: Timestamp,
    visit: Option<(Status, Timestamp)>,
    now: Timestamp,
) -> ReminderFate {
    match visit {
        None => ReminderFate::Drop("the visit no longer exists"),
        Some((status, _)) if status != Status::Booked => {
            ReminderFate::Drop("the visit is no longer booked")
        }
        Some((_, start)) if start != scheduled_start => ReminderFate::Drop("the visit was moved"),
        Some((_, start)) if start <= now => ReminderFate::Drop("the visit has already begun"),
        Some(_) => ReminderFate::Send,
    }
}

/// When a failed delivery is tried again: exponential from `first`, doubling,
/// capped at `cap`, given up after `attempts` tries in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: SignedDuration,
    pub cap: SignedDuration,
    pub attempts: u32,
}

impl Default for Backoff {
    /// 30 s, 1 min, 2 min, ... capped at 2 h; 20 tries span about a day.
    fn default() -> Self {
        Self {
            first: SignedDuration::from_secs(30),
            cap: SignedDuration::from_hours(2),
            attempts: 20,
        }
    }
}

impl Backoff {
    /// The wait after the `failed`-th failure (1 for the first), shortened
    /// by up to a fifth by `jitter` in `[0, 1)` so that many deliveries that
    /// failed together do not all come back at once. `None`: give up.
    pub fn after(&self, failed: u32, jitter: f64) -> Option<SignedDuration> {
        if failed == 0 || failed >= self.attempts {
            return None;
        }
        let doublings = (failed - 1).min(40);
        let nominal = self
            .first
            .checked_mul(1i32 << doublings.min(30))
            .unwrap_or(self.cap)
            .min(self.cap);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let secs = nominal.as_secs_f64() * (1.0 - 0.2 * jitter);
        Some(SignedDuration::from_secs_f64(secs.max(1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(h: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + h * 3600).unwrap()
    }

    #[test]
    fn reminders_are_due_before_the_start_and_never_in_the_past() {
        assert_eq!(
            reminders(t(48), &[24, 1], t(0)),
            vec![(24, t(24)), (1, t(47))]
        );
        // Booked two hours ahead: only the one-hour reminder.
        assert_eq!(reminders(t(2), &[24, 1], t(0)), vec![(1, t(1))]);
        assert_eq!(reminders(t(1), &[24, 1], t(0)), vec![]);
        assert_eq!(reminders(t(48), &[], t(0)), vec![]);
        assert_eq!(reminders(t(48), &[0, -3, 1, 1], t(0)), vec![(1, t(47))]);
    }

    #[test]
    fn a_reminder_goes_out_only_for_the_visit_as_it_was_scheduled() {
        use ReminderFate::*;
        assert_eq!(
            reminder_fate(t(10), Some((Status::Booked, t(10))), t(9)),
            Send
        );
        // Came due while the system was down, visit still ahead: late, but sent.
        assert_eq!(
            reminder_fate(
                t(10),
                Some((Status::Booked, t(10))),
                t(9) + SignedDuration::from_mins(50)
            ),
            Send
        );
        assert!(matches!(
            reminder_fate(t(10), Some((Status::Booked, t(10))), t(10)),
            Drop(_)
        ));
        assert!(matches!(
            reminder_fate(t(10), Some((Status::Cancelled, t(10))), t(9)),
            Drop(_)
        ));
        assert!(matches!(
            reminder_fate(t(10), Some((Status::Booked, t(12))), t(9)),
            Drop(_)
        ));
        assert!(matches!(reminder_fate(t(10), None, t(9)), Drop(_)));
    }

    #[test]
    fn retries_double_up_to_the_cap_and_span_about_a_day() {
        let b = Backoff::default();
        assert_eq!(b.after(0, 0.0), None);
        assert_eq!(b.after(1, 0.0), Some(SignedDuration::from_secs(30)));
        assert_eq!(b.after(2, 0.0), Some(SignedDuration::from_secs(60)));
        assert_eq!(b.after(9, 0.0), Some(SignedDuration::from_hours(2)));
        assert_eq!(b.after(19, 0.0), Some(SignedDuration::from_hours(2)));
        assert_eq!(b.after(20, 0.0), None, "given up");
        let total: f64 = (1..20)
            .filter_map(|n| b.after(n, 0.0))
            .map(|d| d.as_secs_f64())
            .sum();
        assert!(
            (20.0 * 3600.0..=28.0 * 3600.0).contains(&total),
            "{total} s"
        );
    }

    proptest! {
        #[test]
        fn a_wait_is_positive_capped_and_jitter_only_shortens_it(
            failed in 1u32..40, jitter in proptest::num::f64::ANY,
        ) {
            let b = Backoff::default();
            if let Some(d) = b.after(failed, jitter) {
                let plain = b.after(failed, 0.0).unwrap();
                prop_assert!(d <= plain && d >= plain * 4 / 5 - SignedDuration::from_secs(1));
                prop_assert!(d >= SignedDuration::from_secs(1) && d <= b.cap);
                // Never shorter than the wait before it (without jitter).
                if failed > 1 {
                    prop_assert!(plain >= b.after(failed - 1, 0.0).unwrap());
                }
            } else {
                prop_assert!(failed >= b.attempts);
            }
        }

        #[test]
        fn reminders_are_ahead_of_now_and_before_the_start(
            start_h in -100i64..1000, now_h in -100i64..1000,
            leads in proptest::collection::vec(-5i64..200, 0..5),
        ) {
            for (h, at) in reminders(t(start_h), &leads, t(now_h)) {
                prop_assert!(at > t(now_h) && at < t(start_h));
                prop_assert_eq!(at, t(start_h - h));
            }
        }
    }
}
