use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Args)]
pub struct DetermineArgs {}
#[derive(Args)]
pub struct ClassifyArgs {}
#[derive(Args)]
pub struct DeMinimisArgs {}
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate the rulebook.
    Check,
}

pub fn determine(_: DetermineArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("determine: not built yet")
}
pub fn classify(_: ClassifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("classify: not built yet")
}
pub fn rules(_: RulesCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("rules: not built yet")
}
pub fn de_minimis(_: DeMinimisArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("de-minimis: not built yet")
}
