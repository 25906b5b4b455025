//! Screening routes.
use axum::Router;
use utoipa::OpenApi;

use crate::ServerContext;

#[derive(OpenApi)]
#[openapi(paths())]
pub struct ScreeningApi;

pub async fn router(_ctx: &ServerContext) -> anyhow::Result<Router> {
    Ok(Router::new())
}
