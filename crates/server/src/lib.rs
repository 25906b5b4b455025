//! The Stackport HTTP API.
//!
//! The server is thin: each module (`screening`, `controls`, `ledger`, `locate`, `proposals`)
//! validates HTTP requests at the edge and turns them into calls on the application services
//! of `stackport-app` (the decision ledger, the screening state and re-screening, the proposal
//! service, the chip registry) or, for determinations, on its pure crate; each exposes its own
//! router and its own piece of the OpenAPI 3.1 document. [`app`] merges them with the health
//! endpoint, Prometheus metrics and the OpenAPI document. Every error leaves through
//! [`ApiError`], whose codes are listed in one table (`error.rs`); the services' errors
//! (`stackport_app::AppError`) are mapped to it there, in one `match`.
//!
//! State lives in the store (SQLite or PostgreSQL); the server itself holds only caches that
//! can be rebuilt from it, so several instances can share one PostgreSQL database.

use std::sync::Arc;

use axum::extract::State;
use axum::Router;
use stackport_store::Storage;
use utoipa_axum::{router::OpenApiRouter, routes};

pub mod auth;
pub mod controls;
pub mod edge;
pub mod error;
pub mod financing;
pub mod holds;
pub mod identity;
pub mod ledger;
pub mod licences;
pub mod locate;
pub mod metrics;
pub mod openapi;
pub mod proposals;
pub mod reports;
pub mod screening;
pub mod webhooks;

pub use error::ApiError;

/// The services register their counters on `/metrics`.
impl stackport_app::Counters for metrics::Metrics {
    fn counter(&self, name: &str, help: &str) -> ::metrics::Counter {
        metrics::Metrics::counter(self, name, help)
    }
}

/// Settings shared by every module, from the command line or the environment.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Directory for server-owned files (keys, the SQLite file by default).
    pub data_dir: std::path::PathBuf,
    /// Directory of list files to load as the first snapshot when the store has none.
    pub bundled_lists: Option<std::path::PathBuf>,
    /// Directory of the rulebook.
    pub rulebook_dir: Option<std::path::PathBuf>,
}

/// What every module's router is built from.
#[derive(Clone)]
pub struct ServerContext {
    pub store: Arc<dyn Storage>,
    pub config: ServerConfig,
    pub metrics: Arc<metrics::Metrics>,
    /// The tamper-evident ledger: `ctx.ledger.record(&decision).await?` appends a decision
    /// and returns its [`ledger::LedgerReceipt`] (see [`ledger::DecisionLedger`]).
    pub ledger: Arc<ledger::DecisionLedger>,
    /// Organisations, users, tokens, and the authentication of every request.
    pub identity: Arc<stackport_app::identity::IdentityService>,
}

impl ServerContext {
    /// Builds the context every module's router is made from. Modules that need shared
    /// handles (the ledger, the screening engine) add them here.
    pub async fn new(store: Arc<dyn Storage>, config: ServerConfig) -> anyhow::Result<Self> {
        let metrics = Arc::new(metrics::Metrics::default());
        let origin = std::env::var(ledger::ORIGIN_ENV)
            .ok()
            .filter(|o| !o.is_empty());
        // One signing key for every instance on one database: a shared key file when given.
        let key_file = std::env::var_os(stackport_app::ledger::KEY_FILE_ENV)
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| config.data_dir.join(stackport_app::ledger::KEY_FILE));
        let ledger =
            ledger::DecisionLedger::open_with_key_file(store.clone(), &key_file, origin.as_deref())
                .await?
                .with_append_counter(metrics.counter(
                    "stackport_ledger_appends_total",
                    "Decisions appended to the ledger.",
                ));
        Ok(Self {
            identity: Arc::new(stackport_app::identity::IdentityService::new(store.clone())),
            store,
            config,
            metrics,
            ledger: Arc::new(ledger),
        })
    }
}

/// How often an instance looks for webhook deliveries that are due.
pub const WEBHOOK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Builds the whole application: every module's routes, health, metrics and the OpenAPI
/// document, behind the edge middleware ([`edge::harden`]) with the default limits.
pub async fn app(ctx: ServerContext) -> anyhow::Result<Router> {
    app_with(ctx, &edge::EdgeConfig::default()).await
}

/// [`app`] with the edge limits given.
///
/// Every route is declared once, in its module, with its OpenAPI operation (utoipa-axum's
/// `routes!`): the router and the document served at `/openapi.json` are split from the same
/// [`OpenApiRouter`], so a route cannot exist without its documentation or the other way round.
pub async fn app_with(
    ctx: ServerContext,
    edge_config: &edge::EdgeConfig,
) -> anyhow::Result<Router> {
    // Proposals screen with the screening module's snapshot and are re-evaluated when it
    // switches: both share one started screening state.
    let screening_state = screening::start(&ctx).await?;
    // Webhook deliveries leave from every instance; each claims its own (the store's lease).
    stackport_app::webhooks::start_delivery(ctx.store.clone(), WEBHOOK_POLL);
    let reviews = Arc::new(stackport_app::holds::ReviewService::new(
        ctx.store.clone(),
        ctx.ledger.clone(),
    ));
    let licences = Arc::new(stackport_app::licences::LicenceService::new(
        ctx.store.clone(),
        ctx.ledger.clone(),
    ));
    let api = OpenApiRouter::with_openapi(openapi::root())
        .merge(screening::routes(screening_state.clone()))
        .merge(proposals::router(&ctx, screening_state).await?)
        .merge(ledger::router(&ctx))
        .merge(locate::router(&ctx).await?)
        .merge(controls::router(&ctx).await?)
        .merge(identity::router(ctx.identity.clone()))
        .merge(holds::router(reviews.clone()))
        .merge(licences::router(licences.clone()))
        .merge(reports::router(Arc::new(reports::Reports {
            reviews,
            licences,
        })))
        .merge(webhooks::router(Arc::new(
            stackport_app::webhooks::WebhookService::new(ctx.store.clone()),
        )))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(health))
                .with_state(ctx.store.clone()),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(metrics::render))
                .with_state(ctx.metrics.clone()),
        )
        .routes(routes!(openapi::document));
    let (router, doc) = api.split_for_parts();
    // Who may call each route is decided in one table (the identity crate's policy); a route
    // it does not know would be open or closed by accident, so the server does not start.
    let undecided = openapi::undecided_operations(&doc);
    if !undecided.is_empty() {
        anyhow::bail!(
            "routes missing from the policy's route table (stackport_identity::policy::ROUTES): {}",
            undecided.join(", ")
        );
    }
    let doc = openapi::Served::new(&openapi::finish(doc))?;
    let router = router
        .route_layer(axum::middleware::from_fn_with_state(
            ctx.identity.clone(),
            auth::authorise,
        ))
        .layer(axum::Extension(doc))
        .layer(axum::middleware::from_fn_with_state(
            ctx.metrics.clone(),
            metrics::track,
        ));
    Ok(edge::harden(router, edge_config))
}

/// What `GET /v1/health` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    #[schema(example = "ok")]
    pub status: String,
    /// The store's backend: `sqlite` or `postgres`.
    #[schema(value_type = String, example = "sqlite")]
    pub backend: stackport_store::Backend,
    /// The server's version.
    pub version: String,
}

/// Liveness: the server answers and names its store backend and version.
#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, description = "The server is up", body = Health)))]
async fn health(State(store): State<Arc<dyn Storage>>) -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".into(),
        backend: store.backend(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
