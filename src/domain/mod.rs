//! Pure domain rules: no I/O, no clock, no HTTP, no SQL. Callers pass `now`.
//!
//! - [`appointment`], [`doctor`], [`person`], [`audit`], [`patient_data`]: the clinic's records
//!   (what the store returns and the use cases hand to faces).
//! - [`caller`]: who is asking, and every rule of who may see or act on what.
//! - [`ids`]: typed ids of the clinic's records.
//! - [`schedule`]: free slots from working hours, time off and taken slots.
//! - [`appointment`]: the status lifecycle and who may cancel or reschedule when.
//! - [`person`]: validated names, phones, emails, passwords and birth dates.
//! - [`throttle`]: when repeated login failures lock an account or address.
//! - [`totp`]: one-time codes (RFC 6238), recovery codes, the sealed secret.
//! - [`visit`]: when a video visit's room is open.
//! - [`notify`]: when reminders are due and still go out; retry backoff.
//! - [`reach`]: the years an instant from outside may name (1900 to 2199).
//! - [`text`]: control characters refused by every face; names in NFC without
//!   invisible characters; bidirectional controls out of free text.
//! - [`codes`]: one-time codes (password reset, phone change): their form and life.
pub mod appointment;
pub mod audit;
pub mod caller;
pub mod codes;
pub mod doctor;
pub mod ids;
pub mod limits;
pub mod notify;
pub mod patient_data;
pub mod payment;
pub mod person;
pub mod reach;
pub mod schedule;
pub mod text;
pub mod throttle;
pub mod totp;
pub mod visit;
