//! A visit's payment: which changes an admin may record.
//!
//! ```text
//! unpaid ──paid──> paid ──refunded──> refunded
//!   │  ^
//!   │  └──unpaid (the waiver withdrawn)
//!   └──waived──> waived
//! ```
//! A cancelled visit takes no payment (but one paid before it was cancelled
//! may be refunded); a refund is final. Marking a status the visit already has
//! is refused, so a double click cannot write two audit entries.

use super::appointment::{PaymentStatus, Status};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment is already {0}")]
    Unchanged(&'static str),
    #[error("a payment that is {from} cannot become {to}")]
    Illegal {
        from: &'static str,
        to: &'static str,
    },
    #[error("a cancelled visit takes no payment")]
    Cancelled,
}

/// Whether a visit in `visit` status whose payment is `from` may be marked `to`.
pub fn check_change(
    from: PaymentStatus,
    to: PaymentStatus,
    visit: Status,
) -> Result<(), PaymentError> {
    use PaymentStatus as P;
    if from == to {
        return Err(PaymentError::Unchanged(to.as_str()));
    }
    match (from, to) {
        (P::Unpaid, P::Paid) if visit == Status::Cancelled => Err(PaymentError::Cancelled),
        (P::Unpaid, P::Paid | P::Waived) | (P::Paid, P::Refunded) | (P::Waived, P::Unpaid) => {
            Ok(())
        }
        _ => Err(PaymentError::Illegal {
            from: from.as_str(),
            to: to.as_str(),
        }),
    }
}

/// Whether a visit counts as owed: it took place (completed, or booked or in
/// progress and over by `now`) and its fee was neither paid nor waived.
pub fn is_outstanding(status: Status, payment: PaymentStatus, ended: bool) -> bool {
    payment == PaymentStatus::Unpaid
        && match status {
            Status::Completed => true,
            Status::Booked | Status::InProgress => ended,
            Status::NoShow | Status::Cancelled => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus as P;
    use proptest::prelude::*;

    #[test]
    fn the_allowed_changes() {
        assert_eq!(check_change(P::Unpaid, P::Paid, Status::Completed), Ok(()));
        assert_eq!(check_change(P::Unpaid, P::Paid, Status::Booked), Ok(()));
        assert_eq!(check_change(P::Unpaid, P::Waived, Status::NoShow), Ok(()));
        assert_eq!(
            check_change(P::Paid, P::Refunded, Status::Cancelled),
            Ok(())
        );
        assert_eq!(
            check_change(P::Waived, P::Unpaid, Status::Completed),
            Ok(())
        );
    }

    #[test]
    fn refused_changes_say_why() {
        assert_eq!(
            check_change(P::Unpaid, P::Refunded, Status::Completed),
            Err(PaymentError::Illegal {
                from: "unpaid",
                to: "refunded"
            })
        );
        assert_eq!(
            check_change(P::Paid, P::Paid, Status::Completed),
            Err(PaymentError::Unchanged("paid"))
        );
        assert_eq!(
            check_change(P::Unpaid, P::Paid, Status::Cancelled),
            Err(PaymentError::Cancelled)
        );
        assert!(check_change(P::Paid, P::Unpaid, Status::Completed).is_err());
        assert!(check_change(P::Paid, P::Waived, Status::Completed).is_err());
    }

    fn payment() -> impl Strategy<Value = PaymentStatus> {
        prop::sample::select(PaymentStatus::ALL.to_vec())
    }

    fn status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        /// A refund is final, and nothing reaches `refunded` but a payment.
        #[test]
        fn refunds_only_follow_payments_and_are_final(from in payment(), to in payment(), visit in status()) {
            if from == P::Refunded {
                prop_assert!(check_change(from, to, visit).is_err());
            }
            if to == P::Refunded && from != P::Paid {
                prop_assert!(check_change(from, to, visit).is_err());
            }
        }

        /// Whatever the path, a cancelled visit never becomes paid.
        #[test]
        fn a_cancelled_visit_is_never_marked_paid(from in payment()) {
            prop_assert!(check_change(from, P::Paid, Status::Cancelled).is_err());
        }
    }

    #[test]
    fn what_is_owed() {
        assert!(is_outstanding(Status::Completed, P::Unpaid, false));
        assert!(is_outstanding(Status::Booked, P::Unpaid, true));
        assert!(!is_outstanding(Status::Booked, P::Unpaid, false));
        assert!(!is_outstanding(Status::Completed, P::Waived, true));
        assert!(!is_outstanding(Status::Completed, P::Paid, true));
        assert!(!is_outstanding(Status::NoShow, P::Unpaid, true));
        assert!(!is_outstanding(Status::Cancelled, P::Unpaid, true));
    }
}
