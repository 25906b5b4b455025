//! `stackport lists load|diff|fetch` and `stackport rescreen`: list snapshots as compliance
//! tools keep them. A snapshot is loaded whole or not at all; two stored snapshots can be
//! compared entry by entry; parties screened before are re-screened against what changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use stackport_screening::Entity;
use stackport_store::Storage;

use super::serve::{default_db_url, open_store};

#[derive(Subcommand)]
pub enum ListsCommand {
    /// Store a new snapshot from a directory of list files (one transaction: a bad file loads nothing).
    Load(LoadArgs),
    /// Entries added, removed and changed between two stored snapshots (default: the last two).
    Diff(DiffArgs),
    /// Download the current list files from their official URLs into a directory.
    Fetch(FetchArgs),
}

#[derive(Args)]
pub struct LoadArgs {
    /// Directory of list files; every recognised file anywhere under it is read.
    pub dir: PathBuf,
    /// Database URL (default: DATABASE_URL if PostgreSQL, else ./stackport-data/stackport.sqlite).
    #[arg(long)]
    pub db: Option<String>,
}

#[derive(Args)]
pub struct DiffArgs {
    /// Older snapshot id (default: the one before --to).
    #[arg(long)]
    pub from: Option<i64>,
    /// Newer snapshot id (default: the newest).
    #[arg(long)]
    pub to: Option<i64>,
    /// Database URL (default: DATABASE_URL if PostgreSQL, else ./stackport-data/stackport.sqlite).
    #[arg(long)]
    pub db: Option<String>,
    /// Print one JSON object per changed entry instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct FetchArgs {
    /// Directory to write the lists into (replaced only when every file arrived and parses).
    #[arg(long, default_value = "lists-current")]
    pub dest: PathBuf,
    /// Fetch every file from BASE/NAME instead of the official URLs (a mirror, or a test server).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Seconds allowed per file.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

#[derive(Args)]
pub struct RescreenArgs {
    /// Database URL (default: DATABASE_URL if PostgreSQL, else ./stackport-data/stackport.sqlite).
    #[arg(long)]
    pub db: Option<String>,
    /// Older snapshot id (default: the one before --to).
    #[arg(long)]
    pub from: Option<i64>,
    /// Newer snapshot id (default: the newest).
    #[arg(long)]
    pub to: Option<i64>,
}

pub fn run(cmd: ListsCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cmd {
        ListsCommand::Load(a) => runtime.block_on(load(a)),
        ListsCommand::Diff(a) => runtime.block_on(diff(a)),
        ListsCommand::Fetch(a) => runtime.block_on(fetch(a)),
    }
}

pub fn rescreen(args: RescreenArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(rescreen_async(args))
}

// ---- load -----------------------------------------------------------------------------------

async fn load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    // Parse everything before touching the store: a malformed file fails here, naming the file,
    // the line and the reason, and nothing is written.
    let dir = args.dir.clone();
    let snapshot = tokio::task::spawn_blocking(move || stackport_screening::parse::load_dir(&dir))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if snapshot.sources.is_empty() {
        bail!(
            "{}: no recognised list file (sdn.csv, cons_prim.csv, a CSL .csv, a BIS DPL .txt)",
            args.dir.display()
        );
    }
    let url = args.db.unwrap_or_else(default_db_url);
    let store = open_store(&url).await?;
    let hash = snapshot.hash();
    if let Some(active) = store.active_snapshot().await? {
        if active.hash == hash {
            println!(
                "snapshot {hash} is already stored and active as #{}; nothing stored",
                active.id
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let info = store
        .store_snapshot(&snapshot)
        .await
        .context("storing the snapshot (nothing was stored)")?;
    println!(
        "stored snapshot #{} ({} entities, hash {}), now active",
        info.id, info.entity_count, info.hash
    );
    for s in &info.sources {
        println!(
            "  {:<48} {:<14} {:>7} records  data date {:<10}  sha256 {}",
            s.path,
            s.format,
            s.records,
            s.data_date.as_deref().unwrap_or("-"),
            s.sha256
        );
        for w in &s.warnings {
            println!("    warning: {w}");
        }
    }
    println!("next: `stackport lists diff` shows what changed; `stackport rescreen` re-screens stored parties");
    Ok(ExitCode::SUCCESS)
}

// ---- diff -----------------------------------------------------------------------------------

/// The two snapshots to compare: `--from`/`--to`, defaulting to the last two stored.
async fn pick_pair(
    store: &dyn Storage,
    from: Option<i64>,
    to: Option<i64>,
) -> anyhow::Result<(stackport_store::SnapshotInfo, stackport_store::SnapshotInfo)> {
    let all = store.snapshots().await?;
    let to = match to {
        Some(id) => store
            .snapshot(id)
            .await
            .with_context(|| format!("snapshot #{id}"))?,
        None => all
            .last()
            .cloned()
            .context("no list snapshot is stored; run `stackport lists load DIR`")?,
    };
    let from = match from {
        Some(id) => store
            .snapshot(id)
            .await
            .with_context(|| format!("snapshot #{id}"))?,
        None => all
            .iter()
            .filter(|s| s.id < to.id)
            .max_by_key(|s| s.id)
            .cloned()
            .with_context(|| {
                format!(
                    "no snapshot stored before #{}; load another one first",
                    to.id
                )
            })?,
    };
    Ok((from, to))
}

async fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.unwrap_or_else(default_db_url);
    let store = open_store(&url).await?;
    let (from, to) = pick_pair(store.as_ref(), args.from, args.to).await?;
    let old = store.snapshot_entities(from.id).await?;
    let new = store.snapshot_entities(to.id).await?;
    let d = stackport_screening::diff::diff(&old, &new);
    let old_by_id: HashMap<&str, &Entity> = old.iter().map(|e| (e.id.as_str(), e)).collect();
    let new_by_id: HashMap<&str, &Entity> = new.iter().map(|e| (e.id.as_str(), e)).collect();
    let name = |m: &HashMap<&str, &Entity>, id: &str| {
        m.get(id).map(|e| e.name.clone()).unwrap_or_default()
    };
    let rows = d
        .added
        .iter()
        .map(|id| ("added", id, name(&new_by_id, id)))
        .chain(
            d.removed
                .iter()
                .map(|id| ("removed", id, name(&old_by_id, id))),
        )
        .chain(
            d.changed
                .iter()
                .map(|id| ("changed", id, name(&new_by_id, id))),
        );
    let mut out = String::new();
    if args.json {
        for (change, id, name) in rows {
            out.push_str(&serde_json::json!({"change": change, "entity": id, "name": name, "from": from.id, "to": to.id}).to_string());
            out.push('\n');
        }
    } else {
        out.push_str(&format!(
            "snapshot #{} ({}) -> #{} ({}): {} added, {} removed, {} changed\n",
            from.id,
            short(&from.hash),
            to.id,
            short(&to.hash),
            d.added.len(),
            d.removed.len(),
            d.changed.len()
        ));
        for (change, id, name) in rows {
            let mark = match change {
                "added" => '+',
                "removed" => '-',
                _ => '~',
            };
            out.push_str(&format!("{mark} {id:<28} {name}\n"));
        }
    }
    print_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Writes to stdout, treating a closed pipe (`| head`) as the end rather than an error.
fn print_all(s: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

// ---- fetch ----------------------------------------------------------------------------------

/// One file of the official list distribution.
struct ListFile {
    /// Official download URL.
    url: &'static str,
    /// Path under the destination directory; `{date}` is the fetch date, so that the folder
    /// name carries the data date the parsers record.
    local: &'static str,
}

/// The official sources. OFAC: the Sanctions List Service exports of the legacy CSV files
/// (SDN and consolidated non-SDN; layout in OFAC's `dat_spec.txt`). trade.gov: the
/// Consolidated Screening List bulk CSV (no key needed). BIS: the Denied Persons List file.
/// UN: the Security Council's consolidated list, XML (the English edition).
const LIST_FILES: &[ListFile] = &[
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV", local: "ofac/sdn_{date}/sdn.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADD.CSV", local: "ofac/sdn_{date}/add.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ALT.CSV", local: "ofac/sdn_{date}/alt.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_COMMENTS.CSV", local: "ofac/sdn_{date}/sdn_comments.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_PRIM.CSV", local: "ofac/cons_{date}/cons_prim.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_ADD.CSV", local: "ofac/cons_{date}/cons_add.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_ALT.CSV", local: "ofac/cons_{date}/cons_alt.csv" },
    ListFile { url: "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_COMMENTS.CSV", local: "ofac/cons_{date}/cons_comments.csv" },
    ListFile { url: "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv", local: "csl/consolidated_{date}.csv" },
    ListFile { url: "https://www.bis.doc.gov/dpl/dpl.txt", local: "bis/dpl_{date}.txt" },
    ListFile { url: "https://scsanctions.un.org/resources/xml/en/consolidated.xml", local: "un/un_consolidated_{date}.xml" },
];

impl ListFile {
    /// The file's name on its server (the last path segment of the URL).
    fn remote_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.url)
    }
    fn url_from(&self, base: Option<&str>) -> String {
        match base {
            Some(b) => format!("{}/{}", b.trim_end_matches('/'), self.remote_name()),
            None => self.url.to_string(),
        }
    }
}

fn today() -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm), to avoid a date
    // dependency in the binary for one folder name.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let dest = args.dest.clone();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("--dest needs a directory name")?;
    // The temporary directory sits beside the destination, so the final rename stays on one
    // file system and is atomic.
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing a stale {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = fetch_into(&staging, &args).await;
    match result {
        Ok(summary) => {
            replace_dir(&staging, &dest)?;
            print_all(&summary.replace("{dest}", &dest.display().to_string()))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e.context(format!("nothing was written to {}", dest.display())))
        }
    }
}

async fn fetch_into(staging: &Path, args: &FetchArgs) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!(
            "stackport/",
            env!("CARGO_PKG_VERSION"),
            " (restricted-party list fetch)"
        ))
        .build()
        .context("building the HTTP client")?;
    let date = today();
    let mut summary = String::new();
    for f in LIST_FILES {
        let url = f.url_from(args.base_url.as_deref());
        let resp = client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("downloading {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            bail!("downloading {url}: HTTP {status}");
        }
        let bytes = resp
            .bytes()
            .await
            .with_context(|| format!("downloading {url}: reading the body"))?;
        if bytes.is_empty() {
            bail!("downloading {url}: the file is empty");
        }
        let local = staging.join(f.local.replace("{date}", &date));
        if let Some(dir) = local.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&local, &bytes).with_context(|| format!("writing {}", local.display()))?;
        summary.push_str(&format!(
            "  {:<40} {:>10} bytes  from {url}\n",
            f.local.replace("{date}", &date),
            bytes.len()
        ));
    }
    // Every file must parse, and every file must be recognised as what it should be.
    let dir = staging.to_path_buf();
    let snapshot = tokio::task::spawn_blocking(move || stackport_screening::parse::load_dir(&dir))
        .await?
        .map_err(|e| anyhow::anyhow!("a downloaded file does not parse: {e}"))?;
    for f in LIST_FILES {
        let rel = f.local.replace("{date}", &date);
        if !snapshot
            .sources
            .iter()
            .any(|s| Path::new(&s.path) == Path::new(&rel))
        {
            bail!(
                "the downloaded {rel} ({}) was not recognised as a list file",
                f.url_from(args.base_url.as_deref())
            );
        }
    }
    Ok(format!(
        "fetched {} files into {{dest}}: {} entities, snapshot hash {}\n{summary}next: `stackport lists load {{dest}}`\n",
        LIST_FILES.len(),
        snapshot.entities.len(),
        snapshot.hash()
    ))
}

/// Moves `staging` to `dest`, replacing what was there (kept aside until the move succeeded).
fn replace_dir(staging: &Path, dest: &Path) -> anyhow::Result<()> {
    let aside = dest.with_file_name(format!(
        ".{}.old-{}",
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let had_old = dest.exists();
    if had_old {
        std::fs::rename(dest, &aside)
            .with_context(|| format!("moving the previous {} aside", dest.display()))?;
    }
    if let Err(e) = std::fs::rename(staging, dest) {
        if had_old {
            let _ = std::fs::rename(&aside, dest);
        }
        return Err(e)
            .with_context(|| format!("moving {} to {}", staging.display(), dest.display()));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&aside);
    }
    Ok(())
}

// ---- rescreen -------------------------------------------------------------------------------

async fn rescreen_async(args: RescreenArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.unwrap_or_else(default_db_url);
    let store = open_store(&url).await?;
    let (from, to) = pick_pair(store.as_ref(), args.from, args.to).await?;
    let loaded = stackport_app::screening::load_snapshot(store.as_ref(), to.clone()).await?;
    let summary =
        stackport_app::screening::rescreen(store.clone(), &from, &to, loaded.screener.clone())
            .await?;
    // Every new hit recorded for this snapshot, including those an earlier run (or the server)
    // already recorded, so that the output does not depend on who got there first.
    let all = store.new_hits(to.id).await?;
    let mut names = HashMap::new();
    for p in store.parties().await? {
        names.insert(p.id, p.name);
    }
    let mut out = String::new();
    for h in &all {
        if h.hit.from_snapshot_id != from.id {
            continue;
        }
        let line = serde_json::json!({
            "party": h.hit.party_id,
            "party_name": names.get(&h.hit.party_id),
            "entity": h.hit.entity_id,
            "change": h.hit.change,
            "score": h.hit.score,
            "from_snapshot": h.hit.from_snapshot_id,
            "to_snapshot": h.hit.to_snapshot_id,
            "hit": h.hit.hit,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    print_all(&out)?;
    eprintln!(
        "re-screened {} stored parties against snapshot #{} -> #{} ({} added, {} changed, {} removed entries): {} new hits recorded now{}",
        summary.parties,
        from.id,
        to.id,
        summary.added,
        summary.changed,
        summary.removed,
        summary.new_hits.len(),
        if summary.skipped > 0 { format!(", {} parties skipped (no longer valid queries)", summary.skipped) } else { String::new() }
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_and_mirror_urls() {
        assert_eq!(LIST_FILES[0].remote_name(), "SDN.CSV");
        assert_eq!(
            LIST_FILES[8].url_from(Some("http://127.0.0.1:9/m/")),
            "http://127.0.0.1:9/m/consolidated.csv"
        );
        assert_eq!(
            LIST_FILES[9].url_from(None),
            "https://www.bis.doc.gov/dpl/dpl.txt"
        );
        assert_eq!(
            LIST_FILES[10].url_from(Some("http://127.0.0.1:9/m")),
            "http://127.0.0.1:9/m/consolidated.xml"
        );
    }

    #[test]
    fn today_is_a_date() {
        let t = today();
        assert_eq!(t.len(), 10);
        assert!(t.starts_with("20"));
    }
}
