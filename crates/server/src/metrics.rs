//! Prometheus metrics through the `metrics` crate and its Prometheus exporter
//! (https://prometheus.io/docs/instrumenting/exposition_formats/): request counts by method,
//! route template and status, a latency histogram by route template, and the counters the
//! services register by name.
//!
//! Every label is bounded: the route is the template the request matched (`/v1/locate/chips/{id}`,
//! never the raw path; `unmatched` otherwise), the method one of the nine RFC 9110 methods or
//! `other` (a client may send any token as a method), the status one of the codes the server
//! answers. The recorder is this server's own, not the process-wide one, so that several
//! servers in one process (the tests) keep separate figures; its registry is sharded, so a
//! request does not take a global lock.

use std::sync::Arc;
use std::time::Instant;

use ::metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const REQUESTS: &str = "stackport_http_requests_total";
const DURATION: &str = "stackport_http_request_duration_seconds";

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()))
}

/// The server's metrics registry.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        recorder.describe_counter(
            KeyName::from_const_str(REQUESTS),
            None,
            SharedString::const_str("HTTP requests by method, route and status."),
        );
        recorder.describe_histogram(
            KeyName::from_const_str(DURATION),
            Some(Unit::Seconds),
            SharedString::const_str("HTTP request latency by route."),
        );
        Self { recorder, handle }
    }
}

/// The method as a bounded label value.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

impl Metrics {
    /// A named counter (created on first use) that a module increments itself.
    /// `name` must be a valid Prometheus metric name; `help` is its HELP line.
    pub fn counter(&self, name: &str, help: &str) -> ::metrics::Counter {
        self.recorder.describe_counter(
            KeyName::from(name.to_string()),
            None,
            SharedString::from(help.to_string()),
        );
        self.recorder
            .register_counter(&Key::from_name(name.to_string()), &metadata())
    }

    fn observe(&self, method: &'static str, route: String, status: u16, seconds: f64) {
        let route = Label::new("route", route);
        let key = Key::from_parts(
            REQUESTS,
            vec![
                Label::new("method", method),
                route.clone(),
                Label::new("status", status.to_string()),
            ],
        );
        self.recorder
            .register_counter(&key, &metadata())
            .increment(1);
        self.recorder
            .register_histogram(&Key::from_parts(DURATION, vec![route]), &metadata())
            .record(seconds);
    }

    /// The exposition text.
    pub fn render_text(&self) -> String {
        self.handle.render()
    }
}

/// Middleware: times every request and counts it by its route template (not its raw path, so
/// ids in paths do not explode the label set).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.observe(
        method,
        route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// Prometheus metrics in the text exposition format (version 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Counters and request-duration histograms by route template", content_type = "text/plain", body = String)))]
pub async fn render(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        metrics.render_text(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_renders_with_its_help_and_value() {
        let m = Metrics::default();
        let c = m.counter("stackport_test_things_total", "Things counted.");
        c.increment(3);
        let text = m.render_text();
        assert!(
            text.contains("# HELP stackport_test_things_total Things counted."),
            "{text}"
        );
        assert!(text.contains("stackport_test_things_total 3"), "{text}");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let m = Metrics::default();
        for method in ["BREW", "WHEN", "PROPFIND"] {
            let method = axum::http::Method::from_bytes(method.as_bytes()).expect("token");
            m.observe(method_label(&method), "unmatched".into(), 405, 0.001);
        }
        m.observe("GET", "/v1/health".into(), 200, 0.001);
        let text = m.render_text();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("stackport_http_requests_total{"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("method=\"other\"") && l.ends_with(" 3")),
            "{text}"
        );
        assert!(text.contains("stackport_http_request_duration_seconds_bucket{route=\"/v1/health\",le=\"0.0025\"} 1"), "{text}");
    }
}
