//! `stackport proposal review|new` and `stackport package check`: program proposals reviewed
//! as a whole (the batch contract of the proposals README) and CycloneDX packages checked
//! against the official schema and the `stackport:` profile.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use stackport_program::{ProgramRules, Proposal, Reviewer};

use super::controls::RulebookArg;
use super::screen::{bundled_lists_dir, load_screener};

#[derive(Subcommand)]
pub enum ProposalCommand {
    /// Review proposals: eligibility, US content, every item determined, every party
    /// screened, location duties, licence drafts, one verdict each.
    Review(ReviewArgs),
    /// Write a complete, realistic example proposal to start from.
    New(NewArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFormat {
    /// One JSON object per proposal, one line each (the contract).
    Jsonl,
    /// One proposal, pretty JSON.
    Json,
    /// Markdown report.
    Md,
    /// Self-contained HTML report.
    Html,
    /// The package as CycloneDX 1.6 with each component's review attached.
    Cyclonedx,
    /// The licence application drafts as CSV (one row per item).
    LicenceCsv,
}

#[derive(Args)]
pub struct ReviewArgs {
    /// Proposal files (JSON).
    #[arg(required = true, value_name = "FILE.json")]
    pub files: Vec<PathBuf>,
    /// Directory of list files (default: the bundled snapshot).
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    #[command(flatten)]
    pub rulebook: RulebookArg,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ReviewFormat,
}

#[derive(Args)]
pub struct NewArgs {
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum PackageCommand {
    /// Check a CycloneDX 1.6 package against the official schema, then the stackport profile.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The BOM (CycloneDX 1.6 JSON).
    #[arg(value_name = "BOM.json")]
    pub file: PathBuf,
    /// Only the official schema, not the stackport profile.
    #[arg(long)]
    pub schema_only: bool,
    #[command(flatten)]
    pub rulebook: RulebookArg,
}

/// The program rules beside the rulebook (`program.toml` of `--rulebook DIR`), else the
/// built-in ones.
pub fn program_rules(rb: &RulebookArg) -> anyhow::Result<ProgramRules> {
    match &rb.rulebook {
        Some(dir) => ProgramRules::load_dir(dir)
            .with_context(|| format!("loading program rules from {}", dir.display())),
        None => ProgramRules::embedded().context("loading the built-in program rules"),
    }
}

pub fn run(c: ProposalCommand) -> anyhow::Result<ExitCode> {
    match c {
        ProposalCommand::Review(a) => review(a),
        ProposalCommand::New(a) => {
            let text = stackport_program::example::proposal_json();
            match a.output {
                Some(p) => std::fs::write(&p, text.as_bytes())
                    .with_context(|| format!("writing {}", p.display()))?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn review(a: ReviewArgs) -> anyhow::Result<ExitCode> {
    if a.format != ReviewFormat::Jsonl && a.files.len() != 1 {
        bail!(
            "--format {:?} takes one proposal; use --format jsonl for several",
            a.format
        );
    }
    let rulebook = a.rulebook.load()?;
    let rules = program_rules(&a.rulebook)?;
    let dir = a.lists.clone().unwrap_or_else(bundled_lists_dir);
    let (screener, _) = load_screener(&dir)?;
    let reviewer = Reviewer {
        rulebook: &rulebook,
        rules: &rules,
        screener: &screener,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    for f in &a.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e}", f.display());
                if a.format == ReviewFormat::Jsonl {
                    writeln!(
                        out,
                        "{}",
                        error_line(f, None, &[format!("cannot read: {e}")])
                    )?;
                }
                continue;
            }
        };
        let result = Proposal::parse(&text, &rulebook, &rules).and_then(|p| {
            let r = reviewer.review(&p)?;
            Ok((p, r))
        });
        let (proposal, review) = match result {
            Ok(x) => x,
            Err(e) => {
                failed += 1;
                let problems: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
                for p in &problems {
                    eprintln!("error: {}: {p}", f.display());
                }
                if a.format == ReviewFormat::Jsonl {
                    let id = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
                    writeln!(out, "{}", error_line(f, id.as_deref(), &problems))?;
                }
                continue;
            }
        };
        match a.format {
            ReviewFormat::Jsonl => writeln!(out, "{}", serde_json::to_string(&review)?)?,
            ReviewFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&review)?)?,
            ReviewFormat::Md => {
                out.write_all(stackport_program::report::markdown(&review).as_bytes())?
            }
            ReviewFormat::Html => {
                out.write_all(stackport_program::report::html(&review).as_bytes())?
            }
            ReviewFormat::Cyclonedx => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&stackport_program::annotate::annotated_bom(
                    &proposal, &review
                ))?
            )?,
            ReviewFormat::LicenceCsv => out.write_all(
                stackport_program::licence::to_csv(&review.licence_applications).as_bytes(),
            )?,
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The line written for a proposal that could not be reviewed: the file, the id when it could
/// be read, and every problem.
fn error_line(file: &std::path::Path, id: Option<&str>, problems: &[String]) -> String {
    serde_json::json!({
        "id": id,
        "file": file.display().to_string(),
        "error": { "code": "invalid_proposal", "problems": problems },
    })
    .to_string()
}

pub fn package(c: PackageCommand) -> anyhow::Result<ExitCode> {
    match c {
        PackageCommand::Check(a) => check(a),
    }
}

fn check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let name = a.file.display().to_string();
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {name}"))?;
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{name}: not JSON: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let rulebook = a.rulebook.load()?;
    let problems = if a.schema_only {
        stackport_program::bom::schema_problems(&doc)
    } else {
        stackport_program::bom::check_package(&doc, &rulebook)
    };
    if problems.is_empty() {
        println!(
            "{name}: valid CycloneDX 1.6{}",
            if a.schema_only {
                ""
            } else {
                " and stackport profile"
            }
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{name}: {p}");
        }
        Ok(ExitCode::from(1))
    }
}
