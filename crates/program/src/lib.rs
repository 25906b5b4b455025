//! The American AI Exports Program (Executive Order 14320): consortia, full-stack packages and
//! proposals, and their review as a whole.
//!
//! A consortium (one anchor member and any number of others) proposes a package in five layers
//! — hardware, data, models, security, applications — for target countries, with end users,
//! sites and the federal support it asks for. The pieces:
//!
//! - [`model`] reads a proposal (the JSON of the proposals README) and checks every value,
//!   naming the JSON path of each problem;
//! - [`bom`] reads the package, a CycloneDX 1.6 BOM with the `stackport:` property profile,
//!   after [`stackport_cyclonedx`] has checked it against the official schema;
//! - [`rules`] holds the program's own rules (`rulebook/program.toml`): the layers, the
//!   eligibility checks of the 2026 Call for Proposals, the ownership rules and the
//!   location-verification duty, each dated and cited;
//! - [`review`] composes the export-control engine ([`stackport_controls`]) and restricted-party
//!   screening ([`stackport_screening`]) into one answer per proposal with a verdict;
//! - [`licence`] drafts BIS-748P-shaped licence applications for what needs a licence;
//! - [`report`] renders a review as Markdown and self-contained HTML for a compliance officer,
//!   and [`annotate`] writes the reviewed package back out as CycloneDX with each component's
//!   classification and determinations attached.
//!
//! The crate is pure: no I/O but reading a rules file when asked to.

pub mod annotate;
pub mod bom;
pub mod error;
pub mod example;
pub mod holds;
pub mod licence;
pub mod model;
pub mod reevaluate;
pub mod report;
pub mod review;
pub mod rules;
pub mod workflow;

pub use error::{Problem, ProposalError, RulesError};
pub use model::{Layer, Proposal, ProposalInput};
pub use review::{Review, Reviewer, Verdict};
pub use rules::ProgramRules;
