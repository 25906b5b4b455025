//! The HTTP edge: what happens to a request before a handler sees it and after it answers.
//!
//! - [`serve`] accepts connections itself (HTTP/1.1 over hyper) so that a slow or stalled client
//!   cannot hold a connection: the request head must arrive within
//!   [`EdgeConfig::header_timeout`] (this also closes idle keep-alive connections), and the
//!   whole request, body included, must be answered within [`EdgeConfig::request_timeout`].
//! - [`harden`] gives every failure the same JSON error shape: unknown routes (404
//!   `route_not_found`), wrong methods (405 `method_not_allowed`), timeouts (408
//!   `request_timeout`); it answers an oversized body with 413 `body_too_large` after reading
//!   and discarding the rest of it (bounded), so that a client that sent the body without
//!   `Expect: 100-continue` reads the answer instead of a reset connection; and it writes one
//!   structured access-log event per request (method, route template, status, user id, duration, bytes;
//!   never the query string, headers or body, which may hold names of parties or secrets).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::ApiError;

/// Limits of the HTTP edge.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Time a client has to send a request's head, counted from when the connection is ready
    /// for one (accepted, or idle after the previous answer).
    pub header_timeout: Duration,
    /// Time from a request's head to its answer, reading the body included.
    pub request_timeout: Duration,
    /// Most bytes of an oversized body read and discarded before the 413 answer; past that,
    /// or past `drain_timeout`, the connection is closed.
    pub drain_limit: u64,
    pub drain_timeout: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            drain_limit: 64 << 20,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; connections in flight are then asked
/// to finish their current request and closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: EdgeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let app = harden(app, &config);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that went away or timed out is not a server error.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The edge middleware over `app`: JSON errors for unknown routes and methods, the request
/// timeout, the drained 413 and the access log.
pub fn harden(app: Router, config: &EdgeConfig) -> Router {
    let config = Arc::new(config.clone());
    app.fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(config, edge))
}

async fn route_not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        "route_not_found",
        format!("no route {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}

async fn edge(
    axum::extract::State(config): axum::extract::State<Arc<EdgeConfig>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let (parts, body) = req.into_parts();
    let slot: Arc<Mutex<Option<Body>>> = Arc::default();
    let counted = Reclaim {
        inner: Some(body),
        slot: slot.clone(),
        read: Arc::default(),
    };
    let read = counted.read.clone();
    let req = Request::from_parts(parts, Body::new(counted));
    let mut resp = match tokio::time::timeout(config.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            "request_timeout",
            format!(
                "the request was not received and answered within {} s",
                config.request_timeout.as_secs()
            ),
        )
        .into_response(),
    };
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // Read what is left of the body so the client, still sending, gets to read the answer.
        let rest = slot.lock().ok().and_then(|mut s| s.take());
        if let Some(rest) = rest {
            if !drain(rest, config.drain_limit, config.drain_timeout).await {
                resp.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
        }
    }
    let status = resp.status().as_u16();
    // Who, by user id: never the credential itself.
    let user = resp
        .extensions()
        .get::<crate::auth::AuthenticatedUser>()
        .map(|u| u.0.clone());
    tracing::info!(
        target: "stackport::access",
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
        status,
        user = user.as_deref().unwrap_or("-"),
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        request_bytes = read.load(std::sync::atomic::Ordering::Relaxed),
        "request"
    );
    resp
}

/// Reads and discards `body` up to `limit` bytes and `timeout`; whether it reached its end.
async fn drain(mut body: Body, limit: u64, timeout: Duration) -> bool {
    let run = async {
        let mut seen = 0u64;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Some(d) = f.data_ref() {
                        seen += d.len() as u64;
                        if seen > limit {
                            return false;
                        }
                    }
                }
                Err(_) => return false,
            }
        }
        true
    };
    tokio::time::timeout(timeout, run).await.unwrap_or(false)
}

/// A request body that hands what is left of itself back to the edge when a handler drops it
/// unread (an extractor refusing an oversized body), and counts the bytes read.
struct Reclaim {
    inner: Option<Body>,
    slot: Arc<Mutex<Option<Body>>>,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl HttpBody for Reclaim {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &polled {
            if let Some(d) = f.data_ref() {
                self.read
                    .fetch_add(d.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if let Poll::Ready(None) = &polled {
            self.inner = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(HttpBody::size_hint)
            .unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for Reclaim {
    fn drop(&mut self) {
        if let Some(rest) = self.inner.take() {
            if !rest.is_end_stream() {
                if let Ok(mut slot) = self.slot.lock() {
                    *slot = Some(rest);
                }
            }
        }
    }
}
