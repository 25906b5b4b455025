//! `stackport determine`, `classify`, `rules check|timeline` and `de-minimis`: thin wiring
//! over `stackport-controls`.
//!
//! The rulebook is found via `--rulebook DIR`, else the `STACKPORT_RULEBOOK` environment
//! variable, else the rulebook compiled into the binary (so a fresh install needs no files).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use stackport_controls::case::{CaseInput, EndUserInput, EndUses, HitInput};
use stackport_controls::item::{ChipSpec, ItemSpec, MemorySpec, ModelSpec};
use stackport_controls::{Posture, Rulebook};

/// Where the rulebook comes from.
#[derive(Args, Clone, Debug, Default)]
pub struct RulebookArg {
    /// Rulebook directory (default: $STACKPORT_RULEBOOK, else the rulebook built into the binary).
    #[arg(long, env = "STACKPORT_RULEBOOK", value_name = "DIR")]
    pub rulebook: Option<PathBuf>,
}

impl RulebookArg {
    pub fn load(&self) -> anyhow::Result<Rulebook> {
        match &self.rulebook {
            Some(dir) => Rulebook::load_dir(dir)
                .with_context(|| format!("loading rulebook from {}", dir.display())),
            None => Rulebook::embedded().context("loading the built-in rulebook"),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Json,
    Text,
}

/// The item, from flags: a catalog id or figures.
#[derive(Args, Clone, Debug, Default)]
pub struct ItemFlags {
    /// Catalog id (e.g. nvidia-h100-sxm); see `stackport classify --list`.
    #[arg(long)]
    pub catalog: Option<String>,
    /// Total Processing Performance of a chip.
    #[arg(long)]
    pub tpp: Option<f64>,
    /// Dense throughput per precision as BITS:TOPS (repeatable), e.g. --throughput 16:989.5.
    #[arg(long, value_name = "BITS:TOPS")]
    pub throughput: Vec<String>,
    /// Applicable die area in mm2 (logic dies on a non-planar process).
    #[arg(long)]
    pub die_area_mm2: Option<f64>,
    /// Designed or marketed for datacenters (true/false).
    #[arg(long)]
    pub datacenter: Option<bool>,
    #[arg(long)]
    pub io_bandwidth_gbps: Option<f64>,
    #[arg(long)]
    pub dram_bandwidth_gbps: Option<f64>,
    /// The ECCN the item is otherwise specified in (for `.z` paragraphs), e.g. 5A992.
    #[arg(long)]
    pub specified_in: Option<String>,
    /// Treat the item as a computer/assembly containing the chip (4A090).
    #[arg(long)]
    pub computer: bool,
    /// AI model weights: training operations (e.g. 2e26).
    #[arg(long)]
    pub training_operations: Option<f64>,
    /// AI model weights: published (open-weight) or not.
    #[arg(long)]
    pub published: Option<bool>,
    /// HBM: memory bandwidth density in GB/s/mm2.
    #[arg(long)]
    pub memory_bandwidth_density: Option<f64>,
}

impl ItemFlags {
    fn spec(&self) -> anyhow::Result<ItemSpec> {
        let mut spec = ItemSpec::default();
        let chip_given = self.tpp.is_some()
            || !self.throughput.is_empty()
            || self.die_area_mm2.is_some()
            || self.datacenter.is_some();
        let model_given = self.training_operations.is_some() || self.published.is_some();
        if let Some(c) = &self.catalog {
            if self.computer {
                spec.computer = Some(stackport_controls::item::ComputerSpec {
                    catalog: Some(c.clone()),
                    chip: None,
                    specified_in: self.specified_in.clone(),
                });
            } else {
                spec.catalog = Some(c.clone());
            }
        } else if model_given {
            spec.model = Some(ModelSpec {
                training_operations: self.training_operations,
                published: self.published,
            });
        } else if let Some(d) = self.memory_bandwidth_density {
            spec.memory = Some(MemorySpec {
                memory_bandwidth_density: Some(d),
                ..Default::default()
            });
        } else if chip_given {
            let mut throughput = Vec::new();
            for t in &self.throughput {
                let (bits, tops) = t
                    .split_once(':')
                    .with_context(|| format!("--throughput {t:?}: expected BITS:TOPS"))?;
                throughput.push(stackport_controls::item::Throughput {
                    bits: bits
                        .trim()
                        .parse()
                        .with_context(|| format!("--throughput {t:?}: bad bit length"))?,
                    tops: tops
                        .trim()
                        .parse()
                        .with_context(|| format!("--throughput {t:?}: bad TOPS"))?,
                    sparse: false,
                });
            }
            let chip = ChipSpec {
                tpp: self.tpp,
                throughput,
                die_area_mm2: self.die_area_mm2,
                performance_density: None,
                datacenter: self.datacenter,
                io_bandwidth_gbps: self.io_bandwidth_gbps,
                dram_bandwidth_gbps: self.dram_bandwidth_gbps,
                specified_in: if self.computer {
                    None
                } else {
                    self.specified_in.clone()
                },
            };
            if self.computer {
                spec.computer = Some(stackport_controls::item::ComputerSpec {
                    catalog: None,
                    chip: Some(chip),
                    specified_in: self.specified_in.clone(),
                });
            } else {
                spec.chip = Some(chip);
            }
        } else {
            anyhow::bail!("no item given: use --catalog, chip figures (--tpp/--throughput, --die-area-mm2, --datacenter), or --training-operations/--published");
        }
        Ok(spec)
    }
}

/// The transaction, from flags.
#[derive(Args, Clone, Debug, Default)]
pub struct CaseFlags {
    /// Day of the export, YYYY-MM-DD.
    #[arg(long)]
    pub date: Option<String>,
    /// Country of the ultimate consignee (ISO alpha-2; HK is treated as CN).
    #[arg(long)]
    pub destination: Option<String>,
    /// Country the item ships from (default US; anything else is a reexport).
    #[arg(long, default_value = "US")]
    pub export_from: String,
    /// Name of the end user.
    #[arg(long)]
    pub end_user: Option<String>,
    /// Country where the end user (or its ultimate parent) is headquartered.
    #[arg(long)]
    pub hq: Option<String>,
    /// End-use code (repeatable), e.g. supercomputer, military.
    #[arg(long)]
    pub end_use: Vec<String>,
    /// Screening hit on the end user, by list code (repeatable), e.g. EL, MEU, SDN, DPL, UVL.
    #[arg(long = "hit")]
    pub hits: Vec<String>,
    /// enforced (default) or codified.
    #[arg(long)]
    pub posture: Option<String>,
    /// Exporter name, for exporter-specific is-informed letters.
    #[arg(long)]
    pub exporter: Option<String>,
}

impl CaseFlags {
    fn case(&self, item: ItemSpec, need_date: bool) -> anyhow::Result<CaseInput> {
        let date = match (&self.date, need_date) {
            (Some(d), _) => d.clone(),
            (None, true) => anyhow::bail!("--date YYYY-MM-DD is required"),
            (None, false) => String::new(),
        };
        Ok(CaseInput {
            id: serde_json::Value::String("cli".into()),
            date,
            item,
            export_from: Some(self.export_from.clone()),
            destination: self
                .destination
                .clone()
                .context("--destination is required")?,
            end_user: Some(EndUserInput {
                name: self.end_user.clone(),
                hq_country: self.hq.clone(),
                screening_hits: self
                    .hits
                    .iter()
                    .map(|l| HitInput {
                        list: l.clone(),
                        ..Default::default()
                    })
                    .collect(),
            }),
            end_use: EndUses::Many(self.end_use.clone()),
            posture: self.posture.clone(),
            exporter: self.exporter.clone(),
        })
    }
}

#[derive(Args)]
pub struct DetermineArgs {
    #[command(flatten)]
    pub rulebook: RulebookArg,
    /// JSONL file of cases (one JSON object per line; `-` for stdin).
    #[arg(long, value_name = "CASES.jsonl")]
    pub batch: Option<PathBuf>,
    /// Output format: jsonl (one result per line), json (array/object), text.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Batch: stop at the first bad line and print nothing (default: an error object in its place).
    #[arg(long)]
    pub strict: bool,
    /// Add the reasoning (one line per rule used) to each result.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub item: ItemFlags,
    #[command(flatten)]
    pub case: CaseFlags,
}

#[derive(Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub rulebook: RulebookArg,
    /// List the catalog and exit.
    #[arg(long)]
    pub list: bool,
    /// Day for the classification (default: the rulebook's sources date).
    #[arg(long)]
    pub date: Option<String>,
    /// enforced (default) or codified.
    #[arg(long)]
    pub posture: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub item: ItemFlags,
}

#[derive(Args)]
pub struct DeMinimisArgs {
    #[command(flatten)]
    pub rulebook: RulebookArg,
    /// Destination of the foreign-made item.
    #[arg(long)]
    pub destination: String,
    /// US-controlled content as a percentage of the item's value.
    #[arg(long)]
    pub us_content_percent: f64,
    /// The US content includes 3A090/4A090/.z items (advanced computing).
    #[arg(long)]
    pub advanced_computing: bool,
    /// Day (default: the rulebook's sources date).
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long)]
    pub posture: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate the rulebook (every problem with file, line and field).
    Check(RulesCheckArgs),
    /// How the outcome for an item and destination changed over time, and which rule changed it.
    Timeline(Box<TimelineArgs>),
}

#[derive(Args)]
pub struct RulesCheckArgs {
    #[command(flatten)]
    pub rulebook: RulebookArg,
}

#[derive(Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub rulebook: RulebookArg,
    /// Catalog id of the item (or give chip/model figures with the flags below).
    #[arg(long)]
    pub item: Option<String>,
    #[command(flatten)]
    pub figures: ItemFlags,
    #[command(flatten)]
    pub case: CaseFlags,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn determine(args: DetermineArgs) -> anyhow::Result<ExitCode> {
    let rb = args.rulebook.load()?;
    match &args.batch {
        Some(path) => batch(&rb, path, &args),
        None => {
            let case = args.case.case(args.item.spec()?, true)?;
            let out = rb
                .determine_input(&case, &[], true)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match args.format {
                Format::Text => {
                    println!("ECCN:          {}", out.eccn.as_deref().unwrap_or("(none)"));
                    println!("Outcome:       {}", out.outcome);
                    println!("Exception:     {}", out.exception.as_deref().unwrap_or("-"));
                    println!("Notification:  {}", out.notification_required);
                    println!(
                        "Review policy: {}",
                        out.review_policy.as_deref().unwrap_or("-")
                    );
                    println!(
                        "Posture:       {}   Confidence: {}",
                        out.posture, out.confidence
                    );
                    if !out.missing.is_empty() {
                        println!("Missing:       {}", out.missing.join(", "));
                    }
                    println!("Because:");
                    for r in &out.reasons {
                        println!("  - {r}");
                    }
                }
                Format::Json => println!("{}", serde_json::to_string_pretty(&out)?),
                Format::Jsonl => println!("{}", serde_json::to_string(&out)?),
            }
            Ok(if out.outcome == "undetermined" {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn batch(rb: &Rulebook, path: &std::path::Path, args: &DetermineArgs) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        ))
    };
    let name = path.display().to_string();
    let mut results: Vec<serde_json::Value> = Vec::new();
    let mut errors = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{name}:{}: reading", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Result<CaseInput, String> =
            serde_json::from_str(&line).map_err(|e| format!("invalid case JSON: {e}"));
        let result = parsed.and_then(|c| {
            rb.determine_input(&c, &[], args.explain)
                .map_err(|e| e.to_string())
                .map_err(|m| (c.id.clone(), m))
                .map_err(|(id, m)| {
                    // Keep the id so the error line can be matched to its case.
                    format!("{}\u{0}{m}", serde_json::to_string(&id).unwrap_or_default())
                })
        });
        match result {
            Ok(out) => results.push(serde_json::to_value(out)?),
            Err(msg) => {
                errors += 1;
                let (id, msg) = match msg.split_once('\u{0}') {
                    Some((id, m)) => (
                        serde_json::from_str(id).unwrap_or(serde_json::Value::Null),
                        m.to_string(),
                    ),
                    None => (
                        serde_json::from_str::<serde_json::Value>(&line)
                            .ok()
                            .and_then(|v| v.get("id").cloned())
                            .unwrap_or(serde_json::Value::Null),
                        msg,
                    ),
                };
                eprintln!("error: {name}:{}: {msg}", i + 1);
                if args.strict {
                    anyhow::bail!("{name}:{}: {msg} (nothing written: --strict)", i + 1);
                }
                results
                    .push(serde_json::json!({"id": id, "error": {"line": i + 1, "message": msg}}));
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&results)?)?,
        Format::Jsonl | Format::Text => {
            for r in &results {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            }
        }
    }
    out.flush()?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn posture(p: &Option<String>) -> anyhow::Result<Posture> {
    match p.as_deref() {
        None => Ok(Posture::Enforced),
        Some(s) => Posture::parse(s)
            .with_context(|| format!("--posture {s:?}: expected enforced or codified")),
    }
}

fn date_or_default(rb: &Rulebook, d: &Option<String>) -> anyhow::Result<stackport_controls::Day> {
    match d {
        Some(s) => rb.parse_date(s).map_err(|e| anyhow::anyhow!("--date: {e}")),
        None => Ok(rb.sources_as_of),
    }
}

pub fn classify(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let rb = args.rulebook.load()?;
    if args.list {
        for e in rb.catalog() {
            let tpp = e.item.param(stackport_controls::rulebook::Param::Tpp);
            println!(
                "{:<20} {:<8} {:<28} TPP {}",
                e.id,
                e.vendor,
                e.name,
                tpp.map(|t| format!("{t:.1}")).unwrap_or_else(|| "?".into())
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let date = date_or_default(&rb, &args.date)?;
    let posture = posture(&args.posture)?;
    let item = rb
        .resolve_item(&args.item.spec()?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let c = rb
        .classify(&item, date, posture)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    use stackport_controls::rulebook::Param;
    let json = serde_json::json!({
        "date": date.to_string(),
        "posture": posture.as_str(),
        "eccn": c.eccn.as_deref(),
        "paragraph": c.paragraph,
        "determined": c.determined,
        "missing": c.missing.to_vec(),
        "tpp": item.param(Param::Tpp),
        "performance_density": item.param(Param::PerformanceDensity),
        "datacenter": item.datacenter,
        "citations": c.rules.iter().map(|r| rb.rule(*r).citation.clone()).collect::<Vec<_>>(),
        "reasons": c.rules.iter().map(|r| { let r = rb.rule(*r); format!("{} [{}; {}; {}]", r.title, r.citation, r.fr, r.version()) }).collect::<Vec<_>>(),
        "not_enforced": c.not_enforced.iter().map(|r| rb.rule(*r).version()).collect::<Vec<_>>(),
    });
    match args.format {
        Format::Json | Format::Jsonl => println!("{}", serde_json::to_string_pretty(&json)?),
        Format::Text => {
            println!("On {date} ({} posture):", posture.as_str());
            if let Some(t) = item.param(Param::Tpp) {
                println!("  TPP                 {t:.1}");
            }
            if let Some(pd) = item.param(Param::PerformanceDensity) {
                println!("  performance density {pd:.3}");
            }
            if let Some(dc) = item.datacenter {
                println!("  datacenter          {dc}");
            }
            if c.determined {
                println!(
                    "  ECCN                {}",
                    c.eccn.as_deref().unwrap_or("not subject to the EAR")
                );
            } else {
                println!(
                    "  ECCN                undetermined; missing: {}",
                    c.missing.join(", ")
                );
            }
            for r in &c.rules {
                let r = rb.rule(*r);
                println!("  because: {} [{}; {}]", r.title, r.citation, r.fr);
            }
            for r in &c.not_enforced {
                let r = rb.rule(*r);
                println!(
                    "  not applied: {} [{}] is codified but not enforced",
                    r.title, r.citation
                );
            }
        }
    }
    Ok(if c.determined {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

pub fn rules(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Check(a) => match a.rulebook.load() {
            Ok(rb) => {
                println!(
                    "rulebook {} OK: {} entries, {} country groups, {} catalog items, {} epochs ({} to {})",
                    rb.version,
                    rb.rules.len(),
                    rb.group_ids().count(),
                    rb.catalog().len(),
                    rb.change_dates().len(),
                    rb.valid_from,
                    rb.valid_through
                );
                let low = rb
                    .rules
                    .iter()
                    .filter(|r| r.confidence == stackport_controls::Confidence::Low)
                    .count();
                println!("{low} entries are marked low confidence (see their `uncertain` notes)");
                // The program's own rules live beside the export-control rules.
                match super::proposal::program_rules(&a.rulebook) {
                    Ok(p) => {
                        println!(
                            "program rules {} OK: {}, {} layers, eligibility per the {}",
                            p.version,
                            p.meta.name,
                            p.layers.len(),
                            p.meta.call
                        );
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        Ok(ExitCode::from(2))
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                Ok(ExitCode::from(2))
            }
        },
        RulesCommand::Timeline(a) => {
            let rb = a.rulebook.load()?;
            let mut flags = a.figures.clone();
            if a.item.is_some() {
                flags.catalog = a.item.clone();
            }
            let mut input = a.case.case(flags.spec()?, false)?;
            input.date = rb.valid_from.to_string();
            let prepared = rb
                .prepare(&input, &[])
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let steps = rb
                .timeline(&prepared.as_case())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match a.format {
                Format::Json | Format::Jsonl => {
                    println!("{}", serde_json::to_string_pretty(&steps)?)
                }
                Format::Text => {
                    for s in &steps {
                        println!(
                            "{} .. {}  {:<10} {:<18} {:<5} notify={:<5} {}",
                            s.from,
                            s.through.as_deref().unwrap_or("          "),
                            s.eccn.as_deref().unwrap_or("-"),
                            s.outcome,
                            s.exception.as_deref().unwrap_or("-"),
                            s.notification_required,
                            s.review_policy.as_deref().unwrap_or("-")
                        );
                        for c in &s.changed_by {
                            println!("      changed by {c}");
                        }
                        if !s.missing.is_empty() {
                            println!(
                                "      missing: {} (give it to decide)",
                                s.missing.join(", ")
                            );
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn de_minimis(args: DeMinimisArgs) -> anyhow::Result<ExitCode> {
    let rb = args.rulebook.load()?;
    let date = date_or_default(&rb, &args.date)?;
    let posture = posture(&args.posture)?;
    let dest = rb.country(&args.destination).with_context(|| {
        format!(
            "--destination {:?} is not a known ISO alpha-2 country code",
            args.destination
        )
    })?;
    let r = rb
        .de_minimis(
            date,
            posture,
            dest,
            args.us_content_percent,
            args.advanced_computing,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match args.format {
        Format::Json | Format::Jsonl => println!("{}", serde_json::to_string_pretty(&r)?),
        Format::Text => {
            println!(
                "US-controlled content {:.2} % against a de minimis level of {:.2} % ({}): {}",
                r.us_content_percent,
                r.threshold_percent,
                r.citation,
                if r.subject_to_ear {
                    "the foreign-made item IS subject to the EAR"
                } else {
                    "the foreign-made item is not subject to the EAR"
                }
            );
            println!("rule {} (confidence {})", r.rule, r.confidence);
        }
    }
    Ok(ExitCode::SUCCESS)
}
