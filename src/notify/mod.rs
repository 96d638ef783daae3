//! The notification face (decision 0013): what a notification looks like on
//! each channel. Rendering only; what is sent, to whom and when is the use
//! cases' and the domain's ([`crate::domain::notify`]).
//!
//! - [`email`]: a notification as an email, sent over SMTP.
//! - [`ics`]: the calendar attachment of a visit's emails (RFC 5545).
//! - [`worker`]: expands events and handles due deliveries.

pub mod email;
pub mod ics;
pub mod worker;
