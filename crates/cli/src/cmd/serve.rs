use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {}

pub fn run(_: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("serve: not built yet")
}
