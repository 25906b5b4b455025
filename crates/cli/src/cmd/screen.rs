//! `stackport screen`: one name with a readable explanation, or a CSV batch as JSONL.
//!
//! The batch form is a fixed contract other tools depend on:
//! `stackport screen --lists DIR --batch IN.csv --top K [--threshold T] --format jsonl`.
//! Every row is validated before anything is screened, so a bad row produces an error naming
//! its line and no output at all.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use stackport_screening::{parse, PartyType, Query, Screener, DEFAULT_THRESHOLD, MAX_NAME_CHARS};

#[derive(Args)]
pub struct ScreenArgs {
    /// The name to screen (one-name form). Omit with --batch.
    pub name: Option<String>,
    /// Directory of list files (every recognised file under it is loaded). Default: the bundled snapshot.
    #[arg(long, env = "STACKPORT_LISTS")]
    pub lists: Option<PathBuf>,
    /// CSV of parties: header row with `id,name` and optional `type,country,dob`.
    #[arg(long)]
    pub batch: Option<PathBuf>,
    /// Hits per party, at most.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Minimum score of a reported hit (default: the product's documented threshold).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Output format: `jsonl` for batches; `table` (default) or `json` for one name.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// ISO 3166-1 alpha-2 country of the party (one-name form).
    #[arg(long)]
    pub country: Option<String>,
    /// Party type: individual, entity, vessel or aircraft (one-name form).
    #[arg(long = "type")]
    pub party_type: Option<String>,
    /// Date of birth (one-name form).
    #[arg(long)]
    pub dob: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Jsonl,
    Json,
    Table,
}

/// The bundled list snapshot's directory (see [`super::serve::lists_dir`]).
pub fn bundled_lists_dir() -> PathBuf {
    super::serve::lists_dir(None)
}

/// Loads a snapshot and builds the screener, with context on failure.
pub fn load_screener(dir: &Path) -> anyhow::Result<(Screener, stackport_screening::Snapshot)> {
    let snapshot =
        parse::load_dir(dir).with_context(|| format!("loading lists from {}", dir.display()))?;
    if snapshot.entities.is_empty() {
        bail!("no recognised list file under {} (expected sdn.csv, cons_prim.csv, a CSL .csv or the BIS DPL .txt)", dir.display());
    }
    let screener = Screener::new(&snapshot);
    Ok((screener, snapshot))
}

pub fn run(a: ScreenArgs) -> anyhow::Result<ExitCode> {
    let threshold = a.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(0.0..=1.0).contains(&threshold) {
        bail!("--threshold {threshold} is outside [0, 1]");
    }
    if a.top == 0 {
        bail!("--top must be at least 1");
    }
    match (&a.name, &a.batch) {
        (Some(_), Some(_)) => bail!("give either a NAME or --batch FILE, not both"),
        (None, None) => bail!("give a NAME to screen, or --batch FILE"),
        (None, Some(batch)) => {
            if matches!(a.format, Some(Format::Table) | Some(Format::Json)) {
                bail!("--batch writes JSON Lines: use --format jsonl");
            }
            let queries = read_batch(batch)?;
            let dir = a.lists.clone().unwrap_or_else(bundled_lists_dir);
            let (screener, _) = load_screener(&dir)?;
            screen_batch(&screener, &queries, a.top, threshold)?;
            Ok(ExitCode::SUCCESS)
        }
        (Some(name), None) => {
            let party_type = match a.party_type.as_deref() {
                None => None,
                Some(t) => Some(PartyType::parse(t).with_context(|| {
                    format!("--type {t:?}: expected individual, entity, vessel or aircraft")
                })?),
            };
            let query = Query {
                name: name.clone(),
                party_type,
                country: a.country.clone(),
                dob: a.dob.clone(),
                identifiers: vec![],
            };
            let dir = a.lists.clone().unwrap_or_else(bundled_lists_dir);
            let (screener, _) = load_screener(&dir)?;
            let result = screener
                .screen(&query, a.top, threshold)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match a.format.unwrap_or(Format::Table) {
                Format::Json | Format::Jsonl => {
                    writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?
                }
                Format::Table => print_table(&mut out, &query, &result)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One row of a batch: the caller's id and the query.
pub struct BatchRow {
    pub id: String,
    pub query: Query,
}

/// Reads and validates a batch CSV. Errors name the file, the line and the column.
pub fn read_batch(path: &Path) -> anyhow::Result<Vec<BatchRow>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_batch(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Parses batch CSV bytes (see [`read_batch`]).
pub fn parse_batch(bytes: &[u8]) -> Result<Vec<BatchRow>, String> {
    const KNOWN: &[&str] = &["id", "name", "type", "country", "dob"];
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = rdr
        .byte_headers()
        .map_err(|e| format!("line 1: cannot read the header: {e}"))?
        .clone();
    let mut cols: Vec<String> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = std::str::from_utf8(h)
            .map_err(|_| format!("line 1, column {}: header is not valid UTF-8", i + 1))?;
        let h = h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
        if !KNOWN.contains(&h.as_str()) {
            return Err(format!("line 1, column {}: unknown column {h:?} (expected id, name and optionally type, country, dob)", i + 1));
        }
        if cols.contains(&h) {
            return Err(format!(
                "line 1, column {}: column {h:?} appears twice",
                i + 1
            ));
        }
        cols.push(h);
    }
    let col = |n: &str| cols.iter().position(|c| c == n);
    let c_id = col("id").ok_or("line 1: the header has no `id` column")?;
    let c_name = col("name").ok_or("line 1: the header has no `name` column")?;
    let (c_type, c_country, c_dob) = (col("type"), col("country"), col("dob"));
    let mut rows = Vec::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(format!("line {line}: malformed CSV: {e}"));
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let field = |c: usize, what: &str| -> Result<String, String> {
            let raw = rec.get(c).unwrap_or(b"");
            std::str::from_utf8(raw)
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    format!(
                        "line {line}, column `{what}`: not valid UTF-8 (byte {})",
                        e.valid_up_to() + 1
                    )
                })
        };
        let id = field(c_id, "id")?;
        if id.is_empty() {
            return Err(format!("line {line}: `id` is empty"));
        }
        let name = field(c_name, "name")?;
        if name.is_empty() {
            return Err(format!("line {line}: `name` is empty (id {id:?})"));
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(format!("line {line}: `name` is {chars} characters long; the limit is {MAX_NAME_CHARS} (id {id:?})"));
        }
        let party_type = match c_type.map(|c| field(c, "type")).transpose()?.filter(|s| !s.is_empty()) {
            None => None,
            Some(t) => Some(PartyType::parse(&t).ok_or_else(|| format!("line {line}: `type` {t:?} is not individual, entity, vessel or aircraft (id {id:?})"))?),
        };
        let country = c_country
            .map(|c| field(c, "country"))
            .transpose()?
            .filter(|s| !s.is_empty());
        if let Some(cc) = &country {
            if !stackport_screening::countries::is_alpha2(&cc.to_ascii_uppercase()) {
                return Err(format!(
                    "line {line}: `country` {cc:?} is not an ISO 3166-1 alpha-2 code (id {id:?})"
                ));
            }
        }
        let dob = c_dob
            .map(|c| field(c, "dob"))
            .transpose()?
            .filter(|s| !s.is_empty());
        rows.push(BatchRow {
            id,
            query: Query {
                name,
                party_type,
                country,
                dob,
                identifiers: vec![],
            },
        });
    }
    Ok(rows)
}

/// One output line of the batch contract, fields in contract order.
#[derive(serde::Serialize)]
struct BatchLine<'a> {
    id: &'a str,
    hits: Vec<BatchHit<'a>>,
}

#[derive(serde::Serialize)]
struct BatchHit<'a> {
    entity: &'a str,
    score: f64,
    list: &'a str,
    name: &'a str,
    matched: &'a str,
}

/// Screens validated rows on all cores and writes one JSON object per row, in input order.
fn screen_batch(
    screener: &Screener,
    rows: &[BatchRow],
    top: usize,
    threshold: f64,
) -> anyhow::Result<()> {
    use rayon::prelude::*;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(rows.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} parties [{bar:40}] {per_sec} eta {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        Some(b)
    } else {
        None
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for chunk in rows.chunks(8192) {
        let lines: Vec<Result<String, String>> = chunk
            .par_iter()
            .map(|row| {
                let r = screener
                    .screen(&row.query, top, threshold)
                    .map_err(|e| format!("id {:?}: {e}", row.id))?;
                let line = BatchLine {
                    id: &row.id,
                    hits: r
                        .hits
                        .iter()
                        .map(|h| BatchHit {
                            entity: &h.entity,
                            score: h.score,
                            list: &h.list,
                            name: &h.name,
                            matched: &h.matched,
                        })
                        .collect(),
                };
                Ok(serde_json::to_string(&line).expect("plain structs serialise"))
            })
            .collect();
        for l in lines {
            let l = l.map_err(|e| anyhow::anyhow!(e))?;
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        if let Some(b) = &bar {
            b.inc(chunk.len() as u64);
        }
    }
    out.flush()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(())
}

fn print_table(
    out: &mut impl Write,
    q: &Query,
    r: &stackport_screening::ScreeningResult,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "Screening {:?}{}{}",
        q.name,
        q.country
            .as_deref()
            .map(|c| format!(" country {c}"))
            .unwrap_or_default(),
        q.party_type
            .map(|t| format!(" type {}", t.as_str()))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "algorithm {}, threshold {}, {} list file(s)",
        r.algorithm,
        r.threshold,
        r.snapshot_hashes.len()
    )?;
    if r.hits.is_empty() {
        writeln!(out, "\nNo hits at or above the threshold.")?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:>3}  {:>6}  {:<8} {:<28} listed name",
        "#", "score", "list", "entity"
    )?;
    for (i, h) in r.hits.iter().enumerate() {
        writeln!(
            out,
            "{:>3}  {:>6.4}  {:<8} {:<28} {}",
            i + 1,
            h.score,
            h.list,
            truncate(&h.entity, 28),
            h.name
        )?;
        if h.matched != h.name {
            writeln!(out, "{:>19} matched alias: {}", "", h.matched)?;
        }
        let pairs: Vec<String> = h
            .explanation
            .alignment
            .iter()
            .map(|p| match (&p.query, &p.candidate) {
                (Some(a), Some(b)) if a == b => a.clone(),
                (Some(a), Some(b)) => format!("{a}~{b} ({:.2})", p.similarity),
                (Some(a), None) => format!("{a}→∅"),
                (None, Some(b)) => format!("∅→{b}"),
                (None, None) => String::new(),
            })
            .collect();
        writeln!(out, "{:>19} alignment: {}", "", pairs.join("  "))?;
        let feats: Vec<String> = h
            .explanation
            .features
            .iter()
            .map(|f| format!("{} {:+.4} ({})", f.feature, f.effect, f.detail))
            .collect();
        for f in feats {
            writeln!(out, "{:>19} {f}", "")?;
        }
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_validation_names_line_and_column() {
        assert!(parse_batch(b"id,name\n1,ACME\n").is_ok());
        let e = parse_batch(b"id,nom\n1,ACME\n").err().unwrap_or_default();
        assert!(e.contains("unknown column \"nom\""), "{e}");
        let e = parse_batch(b"id,type\n1,entity\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("no `name` column"), "{e}");
        let e = parse_batch(b"id,name\n1,ACME\n2,\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("line 3") && e.contains("empty"), "{e}");
        let e = parse_batch(b"id,name,country\n1,ACME,XX\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("line 2") && e.contains("\"XX\""), "{e}");
        let e = parse_batch(b"id,name\n1,AC\xffME\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
        let long = format!("id,name\n1,{}\n", "A".repeat(10_000));
        let e = parse_batch(long.as_bytes()).err().unwrap_or_default();
        assert!(e.contains("10000 characters"), "{e}");
        let e = parse_batch(b"id,name,type\n1,ACME,company\n")
            .map(|r| r[0].query.party_type)
            .err();
        assert!(e.is_none(), "company is a synonym of entity");
        let e = parse_batch(b"id,name,type\n1,ACME,robot\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("\"robot\""), "{e}");
    }
}
