//! `stackport serve`: the HTTP server, and the store and list-directory defaults other
//! commands share ([`default_db_url`], [`open_store`], [`lists_dir`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use stackport_store::Storage;

/// Directory of server-owned files (the SQLite file, keys) under the current directory.
pub const DEFAULT_DATA_DIR: &str = "stackport-data";
/// Name of the SQLite file inside the data directory.
pub const SQLITE_FILE: &str = "stackport.sqlite";

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory for server-owned files; the SQLite database is DIR/stackport.sqlite unless
    /// DATABASE_URL names a PostgreSQL database.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Directory of list files stored as the first snapshot when the store has none
    /// (default: STACKPORT_LISTS, else ./data/lists, else the bundled snapshot).
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// Seconds a client has to send a request's head (also how long an idle keep-alive
    /// connection stays open).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds from a request's head to its answer, reading the body included.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
}

/// The database URL commands use when given none: `DATABASE_URL` if it names a PostgreSQL
/// database, else the SQLite file `stackport-data/stackport.sqlite` under the current directory.
pub fn default_db_url() -> String {
    db_url_in(None)
}

/// Like [`default_db_url`], with the SQLite file inside `data_dir` when one is given.
pub fn db_url_in(data_dir: Option<&Path>) -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return url;
        }
    }
    let dir = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    format!("sqlite://{}", dir.join(SQLITE_FILE).display())
}

/// Opens the store at `url`, creating the directory of a SQLite file first (the file itself is
/// created on first open, with the migrations).
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Storage>> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the database directory {}", parent.display()))?;
        }
    }
    stackport_store::open(url)
        .await
        .with_context(|| format!("opening the store {}", redact(url)))
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The list directory to use: `explicit` (a `--lists` flag), else `STACKPORT_LISTS`, else
/// `data/lists` under the current directory, else the snapshot embedded in the binary,
/// extracted once to a directory of its own ([`super::bundled::extracted`]).
pub fn lists_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Ok(p) = std::env::var("STACKPORT_LISTS") {
        if !p.trim().is_empty() {
            return PathBuf::from(p);
        }
    }
    let local = PathBuf::from("data/lists");
    if local.is_dir() {
        return local;
    }
    match super::bundled::extracted() {
        Ok(dir) => dir,
        Err(e) => {
            // Nothing better to offer: the caller's read of the directory names it and fails.
            eprintln!("stackport: the embedded list snapshot could not be extracted: {e:#}");
            local
        }
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let url = db_url_in(Some(&data_dir));
    let store = open_store(&url).await?;
    let lists = lists_dir(args.lists.as_deref());
    tracing::info!(store = %redact(&url), backend = ?store.backend(), lists = %lists.display(), "starting");
    let config = stackport_server::ServerConfig {
        data_dir,
        bundled_lists: Some(lists),
        rulebook_dir: None,
    };
    let ctx = stackport_server::ServerContext::new(store, config).await?;
    let edge = stackport_server::edge::EdgeConfig {
        header_timeout: std::time::Duration::from_secs(args.header_timeout),
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        ..Default::default()
    };
    let app = stackport_server::app_with(ctx, &edge).await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to find the port when --addr ends in :0.
    eprintln!("stackport: listening on http://{local}");
    tracing::info!(addr = %local, "listening");
    stackport_server::edge::serve(listener, app, edge, shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM: requests in flight finish, new connections are refused.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_lives_in_the_data_dir() {
        if std::env::var("DATABASE_URL").is_err() {
            assert_eq!(
                db_url_in(Some(Path::new("/tmp/x"))),
                "sqlite:///tmp/x/stackport.sqlite"
            );
            assert_eq!(default_db_url(), "sqlite://stackport-data/stackport.sqlite");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://a.sqlite"), "sqlite://a.sqlite");
    }

    #[test]
    fn the_embedded_lists_are_the_repository_files_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists");
        let dir = super::super::bundled::extract_to(&tempfile_dir()).expect("extract");
        let mut n = 0;
        for (rel, bytes) in super::super::bundled::BUNDLED_LISTS {
            assert_eq!(
                std::fs::read(root.join(rel)).expect("repo file"),
                *bytes,
                "{rel}"
            );
            assert_eq!(
                std::fs::read(dir.join(rel)).expect("extracted"),
                *bytes,
                "{rel}"
            );
            n += 1;
        }
        assert!(n >= 10, "{n} files");
        assert!(dir.join("ofac/sdn_2021-07-07/sdn.csv").is_file());
        // A second extraction finds the first.
        assert_eq!(
            super::super::bundled::extract_to(&tempfile_dir()).expect("again"),
            dir
        );
        let _ = std::fs::remove_dir_all(tempfile_dir());
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("stackport-bundled-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }
}
