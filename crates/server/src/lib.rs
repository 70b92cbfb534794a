//! Fieldbook's sync server: accounts, sessions, and sync (push, pull and the per-field
//! merge). One port serves the API under `/api` and the built app everywhere else.
//!
//! Code map:
//! - [`cli`]: the command line (`serve`, `team add`, `user add`, `user reset-password`,
//!   `purge`).
//! - [`config`]: which database to open and the HTTP settings.
//! - [`http`]: the router ([`http::app`]), its handlers, the error type and static files.
//! - [`accounts`]: teams, users, one-time passwords, signing in and the login throttle.
//! - [`attachments`]: attachments' bytes on disk (partial uploads, verified files).
//! - [`secrets`]: argon2id, session tokens and their hashes, one-time passwords.
//! - [`storage`]: the [`storage::Storage`] trait and its SQLite and PostgreSQL backends;
//!   [`storage::sync`] holds the push/pull rules both backends share.
//! - [`clock`]: where "now" comes from, so tests can move time.
//! - [`demo`]: `serve --demo`'s sample team and records.
//!
//! No state that correctness depends on lives in process memory: sessions and failed
//! logins are in the database, so several servers can share one PostgreSQL (attachments'
//! bytes are files in the data directory, which such servers must then share).

#![warn(missing_docs)]

pub mod accounts;
pub mod attachments;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod http;
pub mod secrets;
pub mod storage;
