//! `stackport ledger …`: the tamper-evident ledger from the command line.
//!
//! The contract other tools depend on (issue 4, item 5): every command takes `--db URL`
//! (a `sqlite://` path or a `postgres://` URL; default: the database `stackport serve` uses,
//! [`super::serve::default_db_url`]);
//! `append FILE.json` stores the RFC 8785 form of the document as one leaf and prints
//! `{"index": N, "leaf_hash": "<hex>"}`; `checkpoint` prints the signed C2SP checkpoint;
//! `prove --index N [--size S]` prints `{"index", "size", "leaf_hash", "proof"}`;
//! `consistency --from A --to B` prints `{"from", "to", "proof"}`; `verify` re-derives every
//! hash, checks every signed checkpoint and exits 1 naming the first entry that does not match.
//!
//! The signing key is the server's (`--data-dir`, default `stackport-data`, as for `serve`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use stackport_app::ledger::{DecisionLedger, KEY_FILE_ENV, ORIGIN_ENV};
use stackport_ledger::note::VerifierKey;

use super::serve::{default_db_url, open_store, DEFAULT_DATA_DIR};

/// Where the ledger lives; shared by every subcommand, and accepted before the subcommand
/// (`stackport ledger --db URL verify`) as well as after it (`stackport ledger verify --db URL`).
#[derive(Args, Clone)]
pub struct LedgerDb {
    /// Database: `sqlite://PATH` or `postgres://…` (default: the database of `stackport serve`:
    /// DATABASE_URL if it names PostgreSQL, else sqlite://stackport-data/stackport.sqlite).
    #[arg(long, value_name = "URL", global = true)]
    pub db: Option<String>,
    /// Directory holding the log's signing key (created there on first use, mode 0600).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// The log's origin (the key's name), used when the key is created.
    #[arg(long, env = ORIGIN_ENV, value_name = "ORIGIN", global = true)]
    pub origin: Option<String>,
    /// The signing key file shared by every instance on the database (default:
    /// DATA_DIR/ledger-signing.key).
    #[arg(long, env = KEY_FILE_ENV, value_name = "PATH", global = true)]
    pub key_file: Option<PathBuf>,
}

/// `stackport ledger [--db URL] <command>`.
#[derive(Args)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub db: LedgerDb,
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Append a JSON document (RFC 8785 canonical form) as one entry; prints {"index", "leaf_hash"}.
    Append(AppendArgs),
    /// Print the latest signed checkpoint (C2SP tlog-checkpoint), signing one if the log grew.
    Checkpoint(CheckpointArgs),
    /// Inclusion proof of entry N in the tree of S entries (default: the current checkpoint's size).
    Prove(ProveArgs),
    /// Consistency proof between the trees of A and B entries.
    Consistency(ConsistencyArgs),
    /// Re-derive every hash, check every signed checkpoint; exit 1 naming the first bad entry.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct AppendArgs {
    /// The JSON document (`-` for standard input).
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,
    /// Treat the input as JSON Lines: append each line as its own entry and print one
    /// {"line", "index", "leaf_hash"} per line once it is durable. A file is appended in order
    /// in one transaction (all or nothing); standard input is streamed, its lines appended
    /// concurrently and group-committed.
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(Args)]
pub struct CheckpointArgs {}

#[derive(Args)]
pub struct ProveArgs {
    /// 0-based entry index.
    #[arg(long)]
    pub index: u64,
    /// Tree size (default: the size of the current signed checkpoint).
    #[arg(long)]
    pub size: Option<u64>,
}

#[derive(Args)]
pub struct ConsistencyArgs {
    #[arg(long)]
    pub from: u64,
    #[arg(long)]
    pub to: u64,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Check checkpoint signatures with this verifier key (`name+id+base64`, or a file holding
    /// it) instead of the key in the data directory.
    #[arg(long, value_name = "VKEY|FILE")]
    pub key: Option<String>,
}

pub fn run(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let db = args.db;
    runtime.block_on(async move {
        match args.command {
            LedgerCommand::Append(a) => append(a, &db).await,
            LedgerCommand::Checkpoint(_) => {
                let ledger = open(&db).await?;
                let cp = ledger.checkpoint().await?;
                print!("{}", cp.note);
                Ok(ExitCode::SUCCESS)
            }
            LedgerCommand::Prove(a) => {
                let ledger = open(&db).await?;
                let proof = ledger.inclusion_proof(a.index, a.size).await?;
                println!("{}", serde_json::to_string(&proof)?);
                Ok(ExitCode::SUCCESS)
            }
            LedgerCommand::Consistency(a) => {
                let ledger = open(&db).await?;
                let proof = ledger.consistency_proof(a.from, a.to).await?;
                println!("{}", serde_json::to_string(&proof)?);
                Ok(ExitCode::SUCCESS)
            }
            LedgerCommand::Verify(a) => verify(a, &db).await,
        }
    })
}

async fn open(db: &LedgerDb) -> anyhow::Result<DecisionLedger> {
    let url = db.db.clone().unwrap_or_else(default_db_url);
    let store = open_store(&url).await?;
    let key_file = db
        .key_file
        .clone()
        .unwrap_or_else(|| db.data_dir.join(stackport_app::ledger::KEY_FILE));
    DecisionLedger::open_with_key_file(store, &key_file, db.origin.as_deref())
        .await
        .context("opening the ledger")
}

async fn append(a: AppendArgs, db: &LedgerDb) -> anyhow::Result<ExitCode> {
    let name = a.file.display().to_string();
    if a.jsonl {
        return append_stream(a, db).await;
    }
    // Parse and canonicalise before touching the database: a malformed entry appends nothing.
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        buf
    } else {
        std::fs::read(&a.file).with_context(|| format!("reading {name}"))?
    };
    let canonical =
        stackport_ledger::canonicalize(&bytes).with_context(|| format!("{name}: not appended"))?;
    let ledger = open(db).await?;
    let receipt = ledger.append_canonical(canonical).await?;
    println!("{}", serde_json::to_string(&receipt)?);
    Ok(ExitCode::SUCCESS)
}

/// JSON Lines: every line is canonicalised, then appended concurrently so that group commit
/// batches them; each acknowledgement is printed (and flushed) only once its entry is durable.
///
/// A file is checked whole, then appended in its order in one transaction: a malformed line
/// appends nothing. Standard input is a stream (acknowledgements may come out of line order):
/// lines before a malformed one are appended and acknowledged, then the command fails naming
/// the line.
async fn append_stream(a: AppendArgs, db: &LedgerDb) -> anyhow::Result<ExitCode> {
    use tokio::io::AsyncBufReadExt;
    let name = a.file.display().to_string();
    let canonical_line = |lineno: u64, line: &str| {
        stackport_ledger::canonicalize(line.as_bytes())
            .with_context(|| format!("{name}: line {lineno}: not appended"))
    };
    if name != "-" {
        // A file: every line checked first, then appended in file order in one transaction.
        let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {name}"))?;
        let mut numbers = Vec::new();
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                entries.push(canonical_line(i as u64 + 1, line)?);
                numbers.push(i as u64 + 1);
            }
        }
        let ledger = open(db).await?;
        let receipts = ledger.append_batch(&entries).await?;
        let mut out = std::io::stdout().lock();
        for (n, r) in numbers.iter().zip(receipts) {
            let ack = serde_json::json!({ "line": n, "index": r.index, "leaf_hash": r.leaf_hash });
            writeln!(out, "{ack}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let ledger = Arc::new(open(db).await?);
    // Acknowledgements go through one writer task on tokio's (non-blocking) stdout. Writing
    // them from the append tasks with a blocking `write` would park the runtime's worker threads
    // whenever the reader of the stream is slow; the group-commit task, then never polled again
    // in the middle of its transaction, would keep SQLite's write lock (or PostgreSQL's ledger
    // lock) for as long as nobody reads, and every other writer (a checkpoint signed by another
    // process) would wait out its busy timeout. With the writer apart, a stalled reader stops
    // the input (the bounded queue and `in_flight` fill up), never the database.
    let (acks, mut ack_queue) = tokio::sync::mpsc::channel::<String>(4096);
    let printer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut out = tokio::io::BufWriter::new(tokio::io::stdout());
        while let Some(ack) = ack_queue.recv().await {
            out.write_all(ack.as_bytes()).await?;
            // Print everything already durable, then flush: an acknowledgement is never held
            // back waiting for a later one.
            while let Ok(more) = ack_queue.try_recv() {
                out.write_all(more.as_bytes()).await?;
            }
            out.flush().await?;
        }
        out.flush().await?;
        anyhow::Ok(())
    });
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(16_384));
    let mut tasks = tokio::task::JoinSet::new();
    let mut lineno = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    loop {
        let Some(line) = lines.next_line().await.context("reading standard input")? else {
            break;
        };
        lineno += 1;
        if line.trim().is_empty() {
            continue;
        }
        let (n, canonical) = match canonical_line(lineno, &line) {
            Ok(c) => (lineno, c),
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        let permit = in_flight
            .clone()
            .acquire_owned()
            .await
            .context("append queue closed")?;
        let ledger = ledger.clone();
        let acks = acks.clone();
        tasks.spawn(async move {
            let r = ledger.append_canonical(canonical).await;
            let r = r.with_context(|| format!("line {n}"))?;
            let ack = serde_json::json!({ "line": n, "index": r.index, "leaf_hash": r.leaf_hash });
            // The permit is held until the acknowledgement is queued for printing, so a reader
            // that stops reading stops the input here.
            acks.send(format!("{ack}\n"))
                .await
                .map_err(|_| anyhow::anyhow!("the acknowledgement printer stopped"))?;
            drop(permit);
            anyhow::Ok(())
        });
        // Reap finished tasks as we go so errors surface early: a failed append stops the input.
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done.context("append task").and_then(|r| r) {
                failure.get_or_insert(e);
            }
        }
        if failure.is_some() {
            break;
        }
    }
    // Appends already submitted finish, and every durable one is acknowledged, before any
    // error is reported.
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done.context("append task").and_then(|r| r) {
            failure.get_or_insert(e);
        }
    }
    drop(acks);
    printer
        .await
        .context("acknowledgement printer")?
        .context("writing acknowledgements to standard output")?;
    match failure {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn verify(a: VerifyArgs, db: &LedgerDb) -> anyhow::Result<ExitCode> {
    let key = match &a.key {
        None => None,
        Some(k) => {
            let text = if std::path::Path::new(k).is_file() {
                std::fs::read_to_string(k).with_context(|| format!("reading {k}"))?
            } else {
                k.clone()
            };
            Some(VerifierKey::parse(text.trim()).context("--key")?)
        }
    };
    let ledger = open(db).await?;
    let report = ledger.verify(key.as_ref()).await?;
    println!("{}", serde_json::to_string(&report)?);
    match &report.problem {
        None => Ok(ExitCode::SUCCESS),
        Some(p) => {
            match p.index {
                Some(i) => eprintln!("ledger verify: FAILED at entry {i}: {}", p.message),
                None => eprintln!("ledger verify: FAILED: {}", p.message),
            }
            Ok(ExitCode::from(1))
        }
    }
}
