//! medimeet: a telehealth appointment system in one binary.
//!
//! A guided tour, from the inside out:
//! - [`domain`]: the rules, pure and clock-free: slot generation, the appointment
//!   lifecycle, validated personal data, login throttling.
//! - [`store`]: all SQL, one [`store::Store`] over SQLite or PostgreSQL.
//! - [`auth`]: password hashing and session tokens.
//! - [`http`]: the JSON API (handlers parse and authorize, the domain decides,
//!   the store persists), its OpenAPI document and health checks, and the web
//!   pages ([`http::pages`]), which call the API's own functions.
//! - [`startup`]: building and running the server; [`demo`]: a demo clinic.
//! - [`config`], [`clock`]: settings and the one place that reads the time.
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod startup;
pub mod store;
pub mod usecases;
