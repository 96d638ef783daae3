//! Pure domain rules: no I/O, no clock, no HTTP, no SQL. Callers pass `now`.
//!
//! - [`schedule`]: free slots from working hours, time off and taken slots.
//! - [`appointment`]: the status lifecycle and who may cancel or reschedule when.
//! - [`person`]: validated names, phones, emails, passwords and birth dates.
//! - [`throttle`]: when repeated login failures lock an account or address.
pub mod appointment;
pub mod person;
pub mod schedule;
pub mod throttle;
