//! `stackport bench`: measurement runs whose figures go into BENCHMARKS.md.
//!
//! `stackport bench screening` measures, in one process: list loading and index build time,
//! resident memory of the loaded index, single-core query throughput and latency percentiles
//! over a realistic query mix (the public evaluation queries), and the accuracy of the default
//! threshold on the public evaluation set, per family. `--export-names` writes the exact names
//! the engine indexed, so that the peer script (`scripts/bench-screening-peers.py`) scores the
//! same names and the same queries.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use stackport_screening::{parse, PartyType, Query, Screener, DEFAULT_THRESHOLD};

use super::screen::bundled_lists_dir;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Screening speed, memory and accuracy (issue bars).
    Screening(ScreeningBench),
    /// Proposal review speed on a synthetic package (issue 9 bar: 10,000 components, 50
    /// sites, 20 end users, 200 parties in under 1 s on one core), by stage.
    Proposals(ProposalsBench),
}

#[derive(Args)]
pub struct ProposalsBench {
    #[arg(long, default_value_t = 10_000)]
    pub components: usize,
    #[arg(long, default_value_t = 50)]
    pub sites: usize,
    #[arg(long, default_value_t = 20)]
    pub end_users: usize,
    #[arg(long, default_value_t = 200)]
    pub parties: usize,
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Also write the synthetic proposal here (for the peer validator).
    #[arg(long)]
    pub write: Option<PathBuf>,
}

#[derive(Args)]
pub struct ScreeningBench {
    /// Lists for the speed and memory run. Default: the bundled snapshot.
    #[arg(long)]
    pub lists: Option<PathBuf>,
    /// Lists the evaluation labels refer to (the eval README's directory of sdn_2021-07-07,
    /// cons_2025-12-19 and the 2023 CSL).
    #[arg(long)]
    pub eval_lists: Option<PathBuf>,
    /// Directory of the evaluation set (public_queries.csv, public_expected.csv).
    #[arg(long)]
    pub eval: Option<PathBuf>,
    /// Passes over the query set for the speed run.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Write the indexed names of the evaluation lists as TSV (entity id, name) for the peers.
    #[arg(long)]
    pub export_names: Option<PathBuf>,
    /// Threshold for the accuracy run (default: the product's).
    #[arg(long)]
    pub threshold: Option<f64>,
}

pub fn run(c: BenchCommand) -> anyhow::Result<ExitCode> {
    match c {
        BenchCommand::Screening(a) => screening(a),
        BenchCommand::Proposals(a) => proposals(a),
    }
}

/// Median and best of `rounds` timings of `f`, in milliseconds.
fn time_ms<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let mut v: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0])
}

fn proposals(a: ProposalsBench) -> anyhow::Result<ExitCode> {
    use stackport_program::example::{synthetic, Size};
    // One core, as the bar says.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    let rb = stackport_controls::Rulebook::embedded().context("rulebook")?;
    let rules = stackport_program::ProgramRules::embedded().context("program rules")?;
    let (screener, _) = super::screen::load_screener(&bundled_lists_dir())?;
    let reviewer = stackport_program::Reviewer {
        rulebook: &rb,
        rules: &rules,
        screener: &screener,
    };
    let size = Size {
        components: a.components,
        sites: a.sites,
        end_users: a.end_users,
        parties: a.parties,
    };
    let doc = synthetic(1, size);
    let text = doc.to_string();
    if let Some(w) = &a.write {
        std::fs::write(w, &text).with_context(|| format!("writing {}", w.display()))?;
    }
    let p = stackport_program::Proposal::parse(&text, &rb, &rules)
        .map_err(|e| anyhow::anyhow!("synthetic proposal refused: {e}"))?;
    let r = reviewer
        .review(&p)
        .map_err(|e| anyhow::anyhow!("review failed: {e}"))?;
    let n = a.rounds;
    let schema = time_ms(n, || {
        stackport_program::bom::schema_problems(&doc["package"])
    });
    let parse = time_ms(n, || {
        stackport_program::Proposal::parse(&text, &rb, &rules).is_ok()
    });
    let review = time_ms(n, || reviewer.review(&p).is_ok());
    let json = time_ms(n, || serde_json::to_vec(&r).map(|v| v.len()).unwrap_or(0));
    let total = time_ms(n, || {
        let p = stackport_program::Proposal::parse(&text, &rb, &rules).expect("valid");
        let r = reviewer.review(&p).expect("review");
        serde_json::to_vec(&r).map(|v| v.len()).unwrap_or(0)
    });
    let out = serde_json::json!({
        "proposal": {
            "bytes": text.len(), "components": p.package.components.len(), "sites": p.sites.len(),
            "end_users": p.end_users.len(), "parties": r.parties.len(), "items": r.items.len(),
            "verdict": r.verdict.as_str(),
        },
        "rounds": n,
        "ms_median_best": {
            "schema_validation": [schema.0, schema.1],
            "read_and_check (incl. schema)": [parse.0, parse.1],
            "review": [review.0, review.1],
            "review_json": [json.0, json.1],
            "end_to_end": [total.0, total.1],
        },
        "rss_kib": rss_kib(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn read_queries(path: &std::path::Path) -> anyhow::Result<Vec<(String, Query)>> {
    let mut out = Vec::new();
    let mut rdr =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    for r in rdr.records() {
        let r = r?;
        let q = Query {
            name: r.get(1).unwrap_or("").to_string(),
            party_type: r.get(2).and_then(PartyType::parse),
            country: r.get(3).map(str::to_string).filter(|c| !c.is_empty()),
            ..Default::default()
        };
        out.push((r.get(0).unwrap_or("").to_string(), q));
    }
    Ok(out)
}

fn screening(a: ScreeningBench) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let eval_dir = a.eval.clone();
    let queries = match &eval_dir {
        Some(d) => read_queries(&d.join("public_queries.csv"))?,
        None => {
            anyhow::bail!("--eval DIR is required (the query mix for the speed run comes from it)")
        }
    };

    // Speed and memory over the whole snapshot.
    let lists = a.lists.clone().unwrap_or_else(bundled_lists_dir);
    let rss0 = rss_kib();
    let t = Instant::now();
    let snapshot =
        parse::load_dir(&lists).with_context(|| format!("loading {}", lists.display()))?;
    let load = t.elapsed();
    let rss1 = rss_kib();
    let t = Instant::now();
    let screener = Screener::new(&snapshot);
    let build = t.elapsed();
    let rss2 = rss_kib();
    let entities = snapshot.entities.len();
    let aliases: usize = snapshot.entities.iter().map(|e| e.aliases.len()).sum();
    drop(snapshot);
    let rss3 = rss_kib();
    writeln!(out, "## Screening speed ({})", lists.display())?;
    writeln!(
        out,
        "entities {entities}, aliases {aliases}, indexed names {}, vocabulary {}",
        screener.name_count(),
        screener.vocabulary_size()
    )?;
    writeln!(
        out,
        "load {:.1} ms, index build {:.1} ms",
        load.as_secs_f64() * 1e3,
        build.as_secs_f64() * 1e3
    )?;
    if let (Some(r0), Some(r1), Some(r2), Some(r3)) = (rss0, rss1, rss2, rss3) {
        writeln!(out, "resident memory: process {:.1} MiB after load, +{:.1} MiB for the index; {:.1} MiB with the index alone (parsed snapshot dropped)", r1 as f64 / 1024.0, r2.saturating_sub(r1) as f64 / 1024.0, r3 as f64 / 1024.0)?;
        let _ = r0;
    }
    // Warm-up pass, then timed single-threaded passes.
    for (_, q) in &queries {
        std::hint::black_box(screener.screen(q, 10, DEFAULT_THRESHOLD).ok());
    }
    let mut lat: Vec<f64> = Vec::with_capacity(queries.len() * a.rounds);
    let t = Instant::now();
    for _ in 0..a.rounds.max(1) {
        for (_, q) in &queries {
            let t0 = Instant::now();
            std::hint::black_box(screener.screen(q, 10, DEFAULT_THRESHOLD).ok());
            lat.push(t0.elapsed().as_secs_f64());
        }
    }
    let total = t.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize] * 1e6;
    writeln!(
        out,
        "single core: {} queries in {:.3} s = {:.0} queries/s; latency p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        lat.len(),
        total,
        lat.len() as f64 / total,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        lat[lat.len() - 1] * 1e6
    )?;

    // Accuracy on the evaluation lists.
    if let (Some(eval_lists), Some(eval)) = (&a.eval_lists, &eval_dir) {
        let snap = parse::load_dir(eval_lists)
            .with_context(|| format!("loading {}", eval_lists.display()))?;
        if let Some(path) = &a.export_names {
            let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
            writeln!(f, "entity\ttype\tcountries\tprimary\tname")?;
            for e in &snap.entities {
                let t = e.party_type.map(|t| t.as_str()).unwrap_or("");
                let cc = e.countries.join(",");
                for (i, n) in std::iter::once(&e.name)
                    .chain(e.aliases.iter().map(|a| &a.name))
                    .enumerate()
                {
                    writeln!(
                        f,
                        "{}\t{t}\t{cc}\t{}\t{}",
                        e.id,
                        u8::from(i == 0),
                        n.replace(['\t', '\n'], " ")
                    )?;
                }
            }
        }
        let s = Screener::new(&snap);
        let threshold = a.threshold.unwrap_or(DEFAULT_THRESHOLD);
        let mut expected: HashMap<String, (String, Vec<String>)> = HashMap::new();
        for r in csv::Reader::from_path(eval.join("public_expected.csv"))?.records() {
            let r = r?;
            expected.insert(
                r[0].to_string(),
                (
                    r[1].to_string(),
                    r[2].split('|')
                        .filter(|x| !x.is_empty())
                        .map(String::from)
                        .collect(),
                ),
            );
        }
        let mut fam: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let (mut pos, mut r1, mut rk, mut neg, mut fp) = (0usize, 0usize, 0usize, 0usize, 0usize);
        for (id, q) in &queries {
            let Some((family, exp)) = expected.get(id) else {
                continue;
            };
            let res = s
                .screen(q, 10, threshold)
                .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
            let f = fam.entry(family.clone()).or_default();
            f.0 += 1;
            if exp.is_empty() {
                neg += 1;
                if !res.hits.is_empty() {
                    fp += 1;
                    f.1 += 1;
                }
            } else {
                pos += 1;
                if res.hits.first().is_some_and(|h| exp.contains(&h.entity)) {
                    r1 += 1;
                    f.1 += 1;
                }
                if res.hits.iter().any(|h| exp.contains(&h.entity)) {
                    rk += 1;
                }
            }
        }
        writeln!(
            out,
            "\n## Screening accuracy ({}, threshold {threshold})",
            eval.display()
        )?;
        writeln!(out, "recall@1 {:.4}, recall@10 {:.4} over {pos} positives; false-positive rate {:.4} over {neg} negatives", r1 as f64 / pos.max(1) as f64, rk as f64 / pos.max(1) as f64, fp as f64 / neg.max(1) as f64)?;
        writeln!(
            out,
            "| family | n | recall@1 (positives) / FP rate (negatives) |"
        )?;
        writeln!(out, "|---|---|---|")?;
        for (f, (n, k)) in fam {
            writeln!(out, "| {f} | {n} | {:.4} |", k as f64 / n.max(1) as f64)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
