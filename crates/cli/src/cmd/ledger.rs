use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Print the latest signed checkpoint.
    Checkpoint,
}

pub fn run(_: LedgerCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("ledger: not built yet")
}
