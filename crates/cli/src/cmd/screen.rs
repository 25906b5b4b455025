use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct ScreenArgs {}

pub fn run(_: ScreenArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("screen: not built yet")
}
