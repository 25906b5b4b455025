//! `stackport admin bootstrap [--db URL]`: the first organisation and admin of a fresh
//! database (issue 11, item 1).
//!
//! The contract scripts rely on: the last line of standard output is `{"token": "<the admin's
//! API token>"}`, sent as `Authorization: Bearer <token>`; the database URL follows the rules
//! of `stackport ledger` (default: the database of `stackport serve`). A database that has
//! been bootstrapped before is refused with exit code 1 and nothing written.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use stackport_app::identity::IdentityService;

use super::serve::{default_db_url, open_store};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create the first organisation (kind `platform`) and its admin; prints {"token": "…"} last.
    Bootstrap(BootstrapArgs),
}

#[derive(Args)]
pub struct BootstrapArgs {
    /// Database: `sqlite://PATH` or `postgres://…` (default: the database of `stackport serve`:
    /// DATABASE_URL if it names PostgreSQL, else sqlite://stackport-data/stackport.sqlite).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The organisation's name.
    #[arg(long, default_value = "Stackport platform")]
    pub org: String,
    /// The admin's e-mail address.
    #[arg(long, default_value = "admin@stackport.invalid")]
    pub email: String,
}

pub fn run(c: AdminCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match c {
        AdminCommand::Bootstrap(a) => runtime.block_on(bootstrap(a)),
    }
}

async fn bootstrap(a: BootstrapArgs) -> anyhow::Result<ExitCode> {
    let url = a.db.clone().unwrap_or_else(default_db_url);
    let store = open_store(&url).await?;
    let identity = IdentityService::new(store);
    let now = stackport_store::timestamp::now_micros();
    let made = identity
        .bootstrap(&a.org, &a.email, now)
        .await
        .context("admin bootstrap")?;
    eprintln!(
        "created organisation {} ({}) and admin {} ({}); the token below is shown once, expires {}",
        made.org.name,
        made.org.id,
        made.admin.email,
        made.admin.id,
        stackport_app::registry::rfc3339(made.token_record.expires_at),
    );
    println!("{}", serde_json::json!({ "token": made.token.expose() }));
    Ok(ExitCode::SUCCESS)
}
