//! Integration tests: the real server on a random port, over SQLite and
//! PostgreSQL. One binary, so it links once.

mod helpers;

mod accounts;
mod authz;
mod booking;
mod cli;
mod concurrency;
mod durability;
mod openapi;
mod pages;
mod throttle;
mod validation;
