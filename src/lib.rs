//! medimeet: a telehealth appointment system in one binary.
//!
//! A guided tour, from the inside out:
//! One rule of the house: faces parse and render, the use cases decide with the
//! domain, the store persists. A face never calls the store or another face.
//!
//! - [`domain`]: the rules, pure and clock-free: who the caller is and what they
//!   may see, typed ids, slot generation, the appointment lifecycle, validated
//!   personal data, login throttling.
//! - [`usecases`]: every operation of the clinic, taking typed input and a
//!   [`domain::caller::Caller`], answering one [`usecases::Error`].
//! - [`store`]: all SQL, one [`store::Store`] over SQLite or PostgreSQL,
//!   returning domain types.
//! - [`auth`]: password hashing and session tokens.
//! - [`http`]: the faces on HTTP: the JSON API (parse, call one operation,
//!   render; the one mapping of errors to problem+json), its OpenAPI document
//!   and health checks, and the web pages ([`http::pages`]), which call the
//!   same operations and map the same error to page messages.
//! - [`startup`]: building and running the server; [`demo`]: a demo clinic.
//! - [`config`], [`clock`]: settings and the one place that reads the time.
//! - [`metrics`]: the counters and gauges of `GET /metrics`, behind a facade.
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod startup;
pub mod store;
pub mod usecases;
