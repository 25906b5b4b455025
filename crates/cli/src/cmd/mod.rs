//! One module per domain; each owns its subcommands' arguments and wiring.
pub mod admin;
pub mod bench;
pub mod bundled;
pub mod controls;
pub mod ledger;
pub mod lists;
pub mod locate;
pub mod proposal;
pub mod screen;
pub mod serve;
