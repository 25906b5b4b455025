use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LocateCommand {
    /// Verify chips' locations from landmark measurements.
    Verify,
}
#[derive(Args)]
pub struct LandmarkArgs {}
#[derive(Args)]
pub struct AgentArgs {}

pub fn run(_: LocateCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("locate: not built yet")
}
pub fn landmark(_: LandmarkArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("landmark: not built yet")
}
pub fn agent(_: AgentArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("agent: not built yet")
}
