//! Integration tests: the real server on a random port, over SQLite and
//! PostgreSQL. One binary, so it links once.

// Test code may unwrap: a panic is a failed test (Cargo.toml denies it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod admin_tools;
mod authz;
mod booking;
mod calendar;
mod cli;
mod concurrency;
mod connections;
mod durability;
mod fhir;
mod fhir_outside;
mod hardening;
mod input_hygiene;
mod limits;
mod metrics;
mod notifications;
mod openapi;
mod pages;
mod pages_notify;
mod patient_data;
mod proxy;
mod reset;
mod schedule_changes;
mod session_hardening;
mod sessions;
mod signup_code;
mod throttle;
mod totp;
mod validation;
mod visits;
mod webhooks;
