//! `stackport`: the one binary. Subcommands are thin calls into the library crates.

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(
    name = "stackport",
    version,
    about = "Compliance for full-stack AI exports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Screen parties against the restricted-party lists.
    Screen(cmd::screen::ScreenArgs),
    /// Restricted-party list snapshots: load, diff, fetch.
    #[command(subcommand)]
    Lists(cmd::lists::ListsCommand),
    /// Re-screen stored parties against entries changed between two snapshots.
    Rescreen(cmd::lists::RescreenArgs),
    /// Run the HTTP server.
    Serve(cmd::serve::ServeArgs),
    /// Licence determination for one case (flags) or a batch (JSONL).
    Determine(cmd::controls::DetermineArgs),
    /// Classify one item (ECCN) with readable reasoning.
    Classify(cmd::controls::ClassifyArgs),
    /// Rulebook tools: check, timeline.
    #[command(subcommand)]
    Rules(cmd::controls::RulesCommand),
    /// De minimis: US-controlled content against the applicable threshold.
    DeMinimis(cmd::controls::DeMinimisArgs),
    /// Tamper-evident ledger: append, checkpoint, prove, consistency, verify.
    Ledger(cmd::ledger::LedgerArgs),
    /// Chip location verification: verify, landmarks-check, map.
    #[command(subcommand)]
    Locate(cmd::locate::LocateCommand),
    /// Run a landmark (challenge server).
    Landmark(cmd::locate::LandmarkArgs),
    /// Run the chip agent (answers landmark challenges with the chip key).
    Agent(cmd::locate::AgentArgs),
    /// Program proposals: review (the batch contract), new (an example to start from).
    #[command(subcommand)]
    Proposal(cmd::proposal::ProposalCommand),
    /// CycloneDX packages: check against the official 1.6 schema and the stackport profile.
    #[command(subcommand)]
    Package(cmd::proposal::PackageCommand),
    /// Identity administration: bootstrap the first organisation and admin.
    #[command(subcommand)]
    Admin(cmd::admin::AdminCommand),
    /// Benchmarks and evaluation runs whose figures go into BENCHMARKS.md.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Screen(a) => cmd::screen::run(a),
        Command::Lists(c) => cmd::lists::run(c),
        Command::Rescreen(a) => cmd::lists::rescreen(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Determine(a) => cmd::controls::determine(a),
        Command::Classify(a) => cmd::controls::classify(a),
        Command::Rules(c) => cmd::controls::rules(c),
        Command::DeMinimis(a) => cmd::controls::de_minimis(a),
        Command::Ledger(c) => cmd::ledger::run(c),
        Command::Locate(c) => cmd::locate::run(c),
        Command::Landmark(a) => cmd::locate::landmark(a),
        Command::Agent(a) => cmd::locate::agent(a),
        Command::Proposal(c) => cmd::proposal::run(c),
        Command::Package(c) => cmd::proposal::package(c),
        Command::Bench(c) => cmd::bench::run(c),
        Command::Admin(c) => cmd::admin::run(c),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`stackport screen ... | head`) ends output quietly, as Unix tools do.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
