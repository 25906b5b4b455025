//! Export-control rulebook and determination engine for AI items.
//!
//! The law lives in data: the repository's `rulebook/` directory holds dated, cited TOML
//! entries (country groups and their changes, ECCN parameter tests, licence requirements,
//! licence exceptions, review policies, embargoes, list and end-use overlays, is-informed
//! letters, de minimis levels, and a chip catalog with datasheet sources). This crate:
//!
//! * [`Rulebook`] loads and validates those files (every problem names file, line and field;
//!   contradictory entries in force on the same day are errors) and compiles them into one
//!   snapshot per epoch and posture, so that a determination is a binary search and a few
//!   bitmap tests;
//! * [`item`] turns datasheet figures into the parameters the rules test (TPP, performance
//!   density);
//! * [`Rulebook::classify`] and [`Rulebook::determine`] answer for an item, a destination, an
//!   end user (headquarters and screening hits), an end use, an export-from country, a date and
//!   a posture (`enforced` or `codified`); every answer lists the entries it used with their
//!   citations, and what it could not decide for lack of a fact;
//! * [`case`] is the JSON contract of `stackport determine --batch` and `POST /v1/determine`.
//!
//! The crate is pure: no I/O except reading a rulebook directory when asked to.

pub mod case;
pub mod country;
pub mod date;
mod embedded;
pub mod engine;
pub mod error;
pub mod item;
pub mod raw;
pub mod rulebook;
pub mod tools;

pub use case::{CaseInput, DeterminationOutput, PreparedCase};
pub use country::{Country, CountryCode};
pub use date::Day;
pub use engine::{Case, Classification, Determination};
pub use error::{InputError, Problem, RulebookError};
pub use item::{ChipSpec, ItemSpec, ModelSpec, ResolvedItem};
pub use rulebook::{Confidence, Outcome, Posture, ReviewPolicy, Rule, Rulebook, SourceFile, FILES};
pub use tools::{DeMinimis, TimelineStep};
