//! Reports for compliance officers and auditors (issue 11, item 6; F15, F17 of
//! `shared/reference/ecosystem.md` §2.2): blocked documents and their holds, release reasons,
//! review decisions, parties found to be true matches, licence utilisation. Each as JSON (an
//! array of rows) or CSV (RFC 4180, a header row), scoped like every read: the caller's own
//! organisation's, or every organisation's for those who oversee (Commerce, the platform,
//! auditors).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stackport_app::holds::ReviewService;
use stackport_app::licences::{warnings, LicenceService};
use stackport_app::registry::rfc3339;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{Path, Query};
use crate::ApiError;

/// The reports there are, with their columns.
pub const REPORTS: &[(&str, &[&str])] = &[
    (
        "holds",
        &[
            "id",
            "subject_kind",
            "subject_id",
            "status",
            "reason",
            "placed_at",
            "requested_by",
            "request_reason",
            "released_by",
            "release_reason",
            "released_at",
        ],
    ),
    (
        "releases",
        &[
            "id",
            "subject_kind",
            "subject_id",
            "requested_by",
            "request_reason",
            "released_by",
            "release_reason",
            "released_at",
            "ledger_index",
        ],
    ),
    (
        "review_decisions",
        &[
            "id",
            "proposal",
            "party",
            "party_name",
            "entity",
            "entity_name",
            "list",
            "score",
            "status",
            "reason_code",
            "remembered",
            "decided_by",
            "decided_at",
            "ledger_index",
        ],
    ),
    (
        "blocked_parties",
        &[
            "proposal",
            "party",
            "party_name",
            "entity",
            "entity_name",
            "list",
            "score",
            "decided_by",
            "decided_at",
        ],
    ),
    (
        "licence_utilisation",
        &[
            "id",
            "number",
            "kind",
            "destination",
            "eccns",
            "valid_from",
            "valid_to",
            "value_limit_usd",
            "value_used_usd",
            "value_used_pct",
            "quantity_limit",
            "quantity_used",
            "warnings",
        ],
    ),
];

/// RFC 4180 §2: quote fields with commas, quotes or line breaks; double inner quotes.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV table: the header row, then each row, CRLF line ends.
pub fn csv_table(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFormatQuery {
    /// json (default) or csv.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

pub struct Reports {
    pub reviews: Arc<ReviewService>,
    pub licences: Arc<LicenceService>,
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn time(v: Option<i64>) -> String {
    v.map(rfc3339).unwrap_or_default()
}

/// One report, as JSON (`format=json`) or CSV (`format=csv`).
#[utoipa::path(get, path = "/v1/reports/{report}", tag = "review",
    params(("report" = String, Path, description = "holds, releases, review_decisions, blocked_parties or licence_utilisation", pattern = "^(holds|releases|review_decisions|blocked_parties|licence_utilisation)$"), ReportFormatQuery),
    responses((status = 200, description = "An array of rows (JSON) or a CSV table with a header row", content(
        (Vec<Object> = "application/json"),
        (String = "text/csv"),
    ))))]
async fn report(
    State(r): State<Arc<Reports>>,
    Caller(p): Caller,
    Path(name): Path<String>,
    Query(q): Query<ReportFormatQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format: {other:?} is neither json nor csv"
            )))
        }
    };
    let Some((_, columns)) = REPORTS.iter().find(|(n, _)| *n == name) else {
        return Err(ApiError::new(
            "not_found",
            format!(
                "no report {name:?} (there are {})",
                REPORTS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let rows: Vec<Vec<String>> = match name.as_str() {
        "holds" | "releases" => r
            .reviews
            .holds(&p)
            .await?
            .into_iter()
            .filter(|h| name == "holds" || h.status == "released")
            .map(|h| {
                if name == "holds" {
                    vec![
                        h.id,
                        h.subject_kind,
                        h.subject_id,
                        h.status,
                        h.reason,
                        rfc3339(h.placed_at),
                        opt(h.requested_by),
                        opt(h.request_reason),
                        opt(h.released_by),
                        opt(h.release_reason),
                        time(h.released_at),
                    ]
                } else {
                    vec![
                        h.id,
                        h.subject_kind,
                        h.subject_id,
                        opt(h.requested_by),
                        opt(h.request_reason),
                        opt(h.released_by),
                        opt(h.release_reason),
                        time(h.released_at),
                        h.ledger_index.map(|i| i.to_string()).unwrap_or_default(),
                    ]
                }
            })
            .collect(),
        "review_decisions" => r
            .reviews
            .items(&p, None)
            .await?
            .into_iter()
            .filter(|i| i.status != "open")
            .map(|i| {
                vec![
                    i.id,
                    i.proposal_id,
                    i.party,
                    i.party_name,
                    i.entity_id,
                    i.entity_name,
                    i.list,
                    format!("{:.4}", i.score),
                    i.status,
                    opt(i.reason_code),
                    i.remembered.to_string(),
                    opt(i.decided_by),
                    time(i.decided_at),
                    i.ledger_index.map(|x| x.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
        "blocked_parties" => r
            .reviews
            .items(&p, Some("true_match"))
            .await?
            .into_iter()
            .map(|i| {
                vec![
                    i.proposal_id,
                    i.party,
                    i.party_name,
                    i.entity_id,
                    i.entity_name,
                    i.list,
                    format!("{:.4}", i.score),
                    opt(i.decided_by),
                    time(i.decided_at),
                ]
            })
            .collect(),
        _ => {
            let today = stackport_store::timestamp::now().date();
            r.licences
                .licences(&p)
                .await?
                .into_iter()
                .map(|l| {
                    let (_, w) = warnings(&l, today);
                    let pct = l
                        .value_limit
                        .filter(|v| *v > 0)
                        .map(|v| format!("{:.1}", 100.0 * l.value_used as f64 / v as f64))
                        .unwrap_or_default();
                    vec![
                        l.id,
                        l.number,
                        l.kind,
                        l.destination,
                        l.eccns.join(";"),
                        l.valid_from,
                        l.valid_to,
                        l.value_limit
                            .map(|v| format!("{:.2}", v as f64 / 100.0))
                            .unwrap_or_default(),
                        format!("{:.2}", l.value_used as f64 / 100.0),
                        pct,
                        l.quantity_limit.map(|q| q.to_string()).unwrap_or_default(),
                        l.quantity_used.to_string(),
                        w.join(";"),
                    ]
                })
                .collect()
        }
    };
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv_table(columns, &rows),
        )
            .into_response());
    }
    let json: Vec<serde_json::Map<String, serde_json::Value>> = rows
        .into_iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| c.to_string())
                .zip(row.into_iter().map(serde_json::Value::String))
                .collect()
        })
        .collect();
    Ok(axum::Json(json).into_response())
}

pub fn router(reports: Arc<Reports>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(report))
        .with_state(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(
            csv_table(&["a", "b"], &[vec!["1".into(), "x,y".into()]]),
            "a,b\r\n1,\"x,y\"\r\n"
        );
    }
}
