use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ListsCommand {
    /// Store a new snapshot from a directory of list files.
    Load,
}
#[derive(Args)]
pub struct RescreenArgs {}

pub fn run(_: ListsCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("lists: not built yet")
}
pub fn rescreen(_: RescreenArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("rescreen: not built yet")
}
