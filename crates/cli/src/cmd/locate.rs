use anyhow::Context;
use clap::{Args, Subcommand};
use stackport_locate::batch;
use stackport_locate::countries::{Atlas, CountryCode};
use stackport_locate::map::{render_svg, MapView};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LocateCommand {
    /// Verify chips' locations from landmark measurements (one JSON line per claim).
    Verify(VerifyArgs),
    /// Check landmarks against each other: flag those whose stated place contradicts 2/3 c.
    LandmarksCheck(LandmarksCheckArgs),
    /// Write an SVG world map of one target's verdict.
    Map(MapArgs),
}

/// Shared inputs of `verify` and `map`.
#[derive(Args)]
pub struct VerifyInputs {
    /// Landmarks CSV: id,lat,lon.
    #[arg(long)]
    landmarks: PathBuf,
    /// Measurements CSV: landmark,target,rtt_ms (the minimum per pair counts).
    #[arg(long)]
    measurements: PathBuf,
    /// Claims CSV: target,lat,lon,country (licensed sites).
    #[arg(long)]
    claims: PathBuf,
    /// Prohibited countries (ISO alpha-2 or Natural Earth ADM0_A3), comma-separated.
    #[arg(long, default_value = "CN,HK,MO")]
    prohibited: String,
    /// Certified lower bound of non-propagation delay (ms); 0 unless a device certificate says otherwise.
    #[arg(long = "tau-min-ms", default_value_t = 0.0)]
    tau_min_ms: f64,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    inputs: VerifyInputs,
    /// Output format (jsonl: one JSON object per line).
    #[arg(long, default_value = "jsonl")]
    format: String,
}

#[derive(Args)]
pub struct LandmarksCheckArgs {
    /// Landmarks CSV: id,lat,lon.
    #[arg(long)]
    landmarks: PathBuf,
    /// Measurements CSV: landmark,target,rtt_ms; rows whose target is a landmark are used.
    #[arg(long)]
    measurements: PathBuf,
    /// Output format (jsonl).
    #[arg(long, default_value = "jsonl")]
    format: String,
}

#[derive(Args)]
pub struct MapArgs {
    #[command(flatten)]
    inputs: VerifyInputs,
    /// The target (from the claims file) to draw.
    #[arg(long)]
    target: String,
    /// Output SVG file ("-" for standard output).
    #[arg(long, short = 'o', default_value = "-")]
    out: PathBuf,
}

// `stackport landmark` and `stackport agent` live in their own file (issue 5, network side).
#[path = "locate_net.rs"]
mod net;
pub use net::{agent, landmark, AgentArgs, LandmarkArgs};

pub fn run(cmd: LocateCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LocateCommand::Verify(a) => verify(a),
        LocateCommand::LandmarksCheck(a) => landmarks_check(a),
        LocateCommand::Map(a) => map(a),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn check_format(format: &str) -> anyhow::Result<()> {
    if format != "jsonl" {
        anyhow::bail!("--format {format:?} is not supported (use jsonl)");
    }
    Ok(())
}

struct Loaded {
    landmarks: stackport_locate::LandmarkSet,
    rows: Vec<batch::MeasurementRow>,
    claims: Vec<batch::ClaimRow>,
    atlas: Atlas,
    prohibited: Vec<CountryCode>,
}

fn load(i: &VerifyInputs) -> anyhow::Result<Loaded> {
    stackport_locate::bounds::validate_tau_min_ms(i.tau_min_ms).context("--tau-min-ms")?;
    let prohibited = CountryCode::parse_list(&i.prohibited).context("--prohibited")?;
    let landmarks =
        batch::parse_landmarks(&i.landmarks.display().to_string(), &read(&i.landmarks)?)?;
    let rows = batch::parse_measurements(
        &i.measurements.display().to_string(),
        &read(&i.measurements)?,
        &landmarks,
    )?;
    let claims = batch::parse_claims(&i.claims.display().to_string(), &read(&i.claims)?)?;
    let atlas = Atlas::natural_earth_50m()?;
    Ok(Loaded {
        landmarks,
        rows,
        claims,
        atlas,
        prohibited,
    })
}

fn report_flagged(landmarks: &stackport_locate::LandmarkSet, flagged: &[bool]) {
    let ids: Vec<&str> = (0..landmarks.len())
        .filter(|&i| flagged[i])
        .map(|i| landmarks.id(i))
        .collect();
    if !ids.is_empty() {
        eprintln!(
            "note: {} landmark(s) contradict 2/3 c with other landmarks and were not used: {}",
            ids.len(),
            ids.join(", ")
        );
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    check_format(&a.format)?;
    let l = load(&a.inputs)?;
    let zone = l.atlas.zone(&l.prohibited).context("--prohibited")?;
    let (check, lines, _) =
        batch::verify(&l.landmarks, &l.rows, &l.claims, &zone, a.inputs.tau_min_ms)?;
    report_flagged(&l.landmarks, &check.flagged);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in &lines {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn landmarks_check(a: LandmarksCheckArgs) -> anyhow::Result<ExitCode> {
    check_format(&a.format)?;
    let landmarks =
        batch::parse_landmarks(&a.landmarks.display().to_string(), &read(&a.landmarks)?)?;
    let rows = batch::parse_measurements(
        &a.measurements.display().to_string(),
        &read(&a.measurements)?,
        &landmarks,
    )?;
    let (_, lines) = batch::landmarks_check(&landmarks, &rows);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in &lines {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn map(a: MapArgs) -> anyhow::Result<ExitCode> {
    let l = load(&a.inputs)?;
    let zone = l.atlas.zone(&l.prohibited).context("--prohibited")?;
    let claim = l
        .claims
        .iter()
        .find(|c| c.target == a.target)
        .with_context(|| {
            format!(
                "target {:?} is not in {}",
                a.target,
                a.inputs.claims.display()
            )
        })?;
    let check = batch::screen(&l.landmarks, &l.rows);
    report_flagged(&l.landmarks, &check.flagged);
    let by_target = batch::observations_by_target(&l.landmarks, &l.rows, &check.flagged);
    let observations = by_target
        .get(a.target.as_str())
        .cloned()
        .unwrap_or_default();
    let svg = render_svg(&MapView {
        atlas: &l.atlas,
        zone: &zone,
        landmarks: &l.landmarks,
        observations: &observations,
        site: claim.site,
        tau_min_ms: a.inputs.tau_min_ms,
        title: &a.target,
    });
    if a.out.as_os_str() == "-" {
        std::io::stdout().write_all(svg.as_bytes())?;
    } else {
        std::fs::write(&a.out, svg).with_context(|| format!("writing {}", a.out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
