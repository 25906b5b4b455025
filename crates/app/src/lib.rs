//! Stackport's application services: what the HTTP server and the CLI both do with the domain
//! crates and the store, without HTTP.
//!
//! - [`ledger`]: the decision ledger ([`ledger::DecisionLedger`]): group-committed appends,
//!   signed C2SP checkpoints, inclusion and consistency proofs, verification of the whole log,
//!   and the log's signing key.
//! - [`screening`]: the list snapshot in use ([`screening::ScreeningState`]), screening results
//!   stored with their ledger entries by group commit, and re-screening of stored parties after
//!   a list update.
//! - [`proposals`]: proposals reviewed, stored with their ledger entries and re-evaluated when
//!   the lists or the rules change ([`proposals::ProposalService`]).
//! - [`financing`]: financing requests to the program's lenders, with their readiness
//!   ([`financing::FinancingService`]).
//! - [`holds`]: the review queue of potential matches and the holds they place
//!   ([`holds::ReviewService`]).
//! - [`identity`]: organisations, users and API tokens, and the authentication of each
//!   request's credential ([`identity::IdentityService`]).
//! - [`licences`]: the licence master and the shipments that draw it down
//!   ([`licences::LicenceService`]).
//! - [`webhooks`]: signed webhook deliveries of events, retried with backoff.
//! - [`registry`]: the chip registry ([`registry::LocateService`]): measurements checked,
//!   stored and verified with the landmark cross-check, verdicts and alerts in the ledger, the
//!   check-in sweep, and the JetStream consumer.
//!
//! The services share one store (`stackport-store`, SQLite or PostgreSQL) and one ledger; the
//! screening state holds the snapshot the proposal service screens with and tells it when the
//! snapshot changes.
//!
//! Every service returns [`AppError`] (or an error that converts into it): a kind that carries
//! the stable code the API answers with ([`AppError::code`]) and whether the same request may
//! succeed later ([`AppError::is_retryable`]). The server maps the kinds to HTTP statuses in
//! one table; the CLI prints the messages.
//!
//! Services count what they do in named counters ([`Counters`]): the server registers them on
//! `/metrics`, the CLI passes [`NoCounters`].

use std::sync::Arc;

pub mod error;
pub mod financing;
pub mod holds;
pub mod identity;
pub mod ledger;
pub mod licences;
pub mod proposals;
pub mod registry;
pub mod screening;
pub mod webhooks;

pub use error::{AppError, Rejection};

/// Where services register their counters: a registry that exports them (the server's
/// Prometheus metrics) or [`NoCounters`].
pub trait Counters: Send + Sync {
    /// A counter named `name` (a valid Prometheus metric name, created on first use) with its
    /// HELP line, as a handle of the `metrics` crate; the service increments it itself.
    fn counter(&self, name: &str, help: &str) -> metrics::Counter;
}

impl<T: Counters + ?Sized> Counters for Arc<T> {
    fn counter(&self, name: &str, help: &str) -> metrics::Counter {
        (**self).counter(name, help)
    }
}

/// Counters nobody reads (the CLI, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCounters;

impl Counters for NoCounters {
    fn counter(&self, _name: &str, _help: &str) -> metrics::Counter {
        metrics::Counter::noop()
    }
}
