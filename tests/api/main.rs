//! Integration tests: the real server on a random port, over SQLite and
//! PostgreSQL. One binary, so it links once.

mod helpers;

mod booking;
mod cli;
mod concurrency;
mod durability;
mod openapi;
mod throttle;
