//! Measures the matcher on the stress set (`tests/support/stress.rs`): harder query families
//! built from the listed entities of a list directory, per-family recall@1 and FP rate.
//!
//! ```sh
//! cargo run --release -p stackport-screening --example stress -- DIR [--per-family N]
//!     [--seed S] [--threshold T] [--misses FAMILY] [--dump FILE.csv]
//! ```
//!
//! DIR is the evaluation list directory of `../shared/eval/screening/README.md`.

#[path = "../tests/support/stress.rs"]
mod stress;

use std::io::Write;
use std::path::PathBuf;

use stackport_screening::{parse, Query, Screener, DEFAULT_THRESHOLD};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let (mut per_family, mut seed, mut threshold) = (300usize, 20261121u64, DEFAULT_THRESHOLD);
    let (mut misses, mut dump): (Option<String>, Option<PathBuf>) = (None, None);
    let mut public: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--per-family" => per_family = val("--per-family")?.parse()?,
            "--seed" => seed = val("--seed")?.parse()?,
            "--threshold" => threshold = val("--threshold")?.parse()?,
            "--misses" => misses = Some(val("--misses")?),
            "--dump" => dump = Some(val("--dump")?.into()),
            "--public" => public = Some(val("--public")?.into()),
            _ => dir = Some(a.into()),
        }
    }
    let dir = dir.ok_or("usage: stress DIR [--per-family N] [--seed S] [--threshold T]")?;
    let snapshot = parse::load_dir(&dir)?;
    let screener = Screener::new(&snapshot);
    if let Some(p) = public {
        return public_check(&screener, &p, threshold);
    }
    let queries = stress::generate(&snapshot, seed, per_family);
    if let Some(path) = dump {
        let mut f = std::fs::File::create(&path)?;
        writeln!(f, "family,name,expected")?;
        for q in &queries {
            writeln!(
                f,
                "{},\"{}\",{}",
                q.family,
                q.name.replace('"', "\"\""),
                q.accepted.join("|")
            )?;
        }
    }
    println!(
        "stress set: {} queries, seed {seed}, threshold {threshold}",
        queries.len()
    );
    println!("| family | n | recall@1 / FP rate |");
    println!("|---|---|---|");
    let (mut pos, mut pos_ok, mut neg, mut neg_fp) = (0usize, 0f64, 0usize, 0f64);
    // The same totals without the script families added with 1.3, comparable with older runs.
    let (mut old_pos, mut old_ok, mut old_neg, mut old_fp) = (0usize, 0f64, 0usize, 0f64);
    for (family, n, v) in stress::evaluate(&screener, &queries, threshold) {
        println!("| {family} | {n} | {v:.4} |");
        if !stress::FAMILIES_1_3.contains(&family) {
            if family.starts_with("neg_") {
                old_neg += n;
                old_fp += v * n as f64;
            } else {
                old_pos += n;
                old_ok += v * n as f64;
            }
        }
        if family.starts_with("neg_") {
            neg += n;
            neg_fp += v * n as f64;
        } else {
            pos += n;
            pos_ok += v * n as f64;
        }
    }
    println!(
        "| all positives | {pos} | {:.4} |\n| all negatives | {neg} | {:.4} |",
        pos_ok / pos.max(1) as f64,
        neg_fp / neg.max(1) as f64
    );
    println!(
        "| positives of the families before 1.3 | {old_pos} | {:.4} |\n| negatives of the families before 1.3 | {old_neg} | {:.4} |",
        old_ok / old_pos.max(1) as f64,
        old_fp / old_neg.max(1) as f64
    );
    if let Some(f) = misses {
        for q in queries.iter().filter(|q| q.family == f) {
            let r = screener.screen(
                &Query {
                    name: q.name.clone(),
                    ..Default::default()
                },
                3,
                0.0,
            )?;
            let top = r.hits.first();
            let ok = if q.accepted.is_empty() {
                top.is_none_or(|h| h.score < threshold)
            } else {
                top.is_some_and(|h| q.accepted.contains(&h.entity) && h.score >= threshold)
            };
            if !ok {
                let want: Vec<String> = q
                    .accepted
                    .iter()
                    .filter_map(|id| snapshot.entities.iter().find(|e| &e.id == id))
                    .map(|e| e.name.clone())
                    .take(1)
                    .collect();
                println!(
                    "MISS {:?} want {:?} got {:?}",
                    q.name,
                    want,
                    top.map(|h| (h.matched.clone(), h.score))
                );
            }
        }
    }
    Ok(())
}

/// A quick look at the public set (recall@1 / FP per family, and single-thread speed) while
/// iterating; the figures of record come from `stackport bench screening`.
fn public_check(
    screener: &Screener,
    dir: &std::path::Path,
    threshold: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::collections::BTreeMap;
    let mut expected: std::collections::HashMap<String, (String, Vec<String>)> = Default::default();
    for r in csv::Reader::from_path(dir.join("public_expected.csv"))?.records() {
        let r = r?;
        let ids = r[2].split('|').filter(|x| !x.is_empty()).map(String::from);
        expected.insert(r[0].to_string(), (r[1].to_string(), ids.collect()));
    }
    let mut queries = Vec::new();
    for r in csv::Reader::from_path(dir.join("public_queries.csv"))?.records() {
        let r = r?;
        queries.push((
            r[0].to_string(),
            Query {
                name: r[1].to_string(),
                party_type: stackport_screening::PartyType::parse(&r[2]),
                country: Some(r[3].to_string()).filter(|c| !c.is_empty()),
                ..Default::default()
            },
        ));
    }
    let mut fam: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let t = std::time::Instant::now();
    for (id, q) in &queries {
        let r = screener.screen(q, 10, threshold)?;
        let (family, exp) = &expected[id];
        let ok = if exp.is_empty() {
            !r.hits.is_empty()
        } else {
            r.hits.first().is_some_and(|h| exp.contains(&h.entity))
        };
        if std::env::var_os("SHOW").is_some() && (ok == exp.is_empty()) {
            println!(
                "{family}: {:?} -> {:?}",
                q.name,
                r.hits.first().map(|h| (&h.matched, h.score))
            );
        }
        let e = fam.entry(family.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(ok);
    }
    let el = t.elapsed();
    for (f, (n, k)) in &fam {
        println!("{f}: {n} {:.4}", *k as f64 / *n as f64);
    }
    let (pos, pk): (usize, usize) = fam
        .iter()
        .filter(|(f, _)| !f.starts_with("neg_"))
        .fold((0, 0), |a, (_, v)| (a.0 + v.0, a.1 + v.1));
    let (neg, nk): (usize, usize) = fam
        .iter()
        .filter(|(f, _)| f.starts_with("neg_"))
        .fold((0, 0), |a, (_, v)| (a.0 + v.0, a.1 + v.1));
    println!(
        "recall@1 {:.4}  FP {:.4}  ({:.0} queries/s, one pass, unwarmed)",
        pk as f64 / pos as f64,
        nk as f64 / neg as f64,
        queries.len() as f64 / el.as_secs_f64()
    );
    Ok(())
}
