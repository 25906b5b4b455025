//! The batch contract of `stackport locate verify` and `stackport locate landmarks-check`
//! (issue 5, item 5), as pure functions over CSV text so the CLI, the server and tests share
//! one implementation.
//!
//! * `L.csv`: `id,lat,lon` — landmarks.
//! * `M.csv`: `landmark,target,rtt_ms` — several rows per pair allowed, the minimum counts. A row
//!   whose target is a landmark id is a landmark-to-landmark measurement: those rows screen
//!   landmarks ([`crate::crosscheck`]) before any region is built, and measurements by flagged
//!   landmarks are dropped.
//! * `C.csv`: `target,lat,lon,country` — one output line per row, in order; a target with no
//!   measurement still gets a line (`inconclusive`).
//!
//! When a claimed target is itself a landmark (a landmark network verifying its own members),
//! a round trip between it and another landmark bounds their distance whichever side started
//! it, so rows in both directions count, and the target never serves as its own landmark.

use crate::bounds::validate_rtt_ms;
use crate::countries::Zone;
use crate::crosscheck::{cross_check, CrossCheck};
use crate::error::LocateError;
use crate::geo::GeoPoint;
use crate::verdict::{Assessment, LandmarkSet, Observation, Verifier};
use rayon::prelude::*;
use std::collections::HashMap;

/// One row of `M.csv`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementRow {
    pub landmark: usize,
    pub target: String,
    pub rtt_ms: f64,
}

/// One row of `C.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub target: String,
    pub site: GeoPoint,
    pub country: String,
}

/// One output line of `locate verify`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetLine {
    pub target: String,
    pub verdict: crate::verdict::Verdict,
    pub outside_prohibited: bool,
    pub claim_consistent: bool,
    pub region: Option<crate::verdict::RegionSummary>,
}

/// One output line of `locate landmarks-check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LandmarkLine {
    pub landmark: String,
    pub flagged: bool,
    pub conflicts: Vec<String>,
}

fn input_err(file: &str, line: u64, message: String) -> LocateError {
    LocateError::Input {
        file: file.to_string(),
        line,
        message,
    }
}

/// Reads a CSV with a header, returning `(line, fields by column name)` rows.
fn read_rows(
    file: &str,
    text: &str,
    columns: &[&str],
) -> Result<Vec<(u64, Vec<String>)>, LocateError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| input_err(file, 1, format!("unreadable header: {e}")))?
        .clone();
    let mut idx = Vec::with_capacity(columns.len());
    for col in columns {
        let Some(i) = headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(col))
        else {
            return Err(input_err(
                file,
                1,
                format!(
                    "missing column {col:?} (header must contain {})",
                    columns.join(",")
                ),
            ));
        };
        idx.push(i);
    }
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            input_err(file, line, format!("malformed CSV: {e}"))
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let mut fields = Vec::with_capacity(idx.len());
        for (k, &i) in idx.iter().enumerate() {
            match rec.get(i) {
                Some(f) if !f.is_empty() => fields.push(f.to_string()),
                _ => {
                    return Err(input_err(
                        file,
                        line,
                        format!("empty or missing field {:?}", columns[k]),
                    ))
                }
            }
        }
        rows.push((line, fields));
    }
    Ok(rows)
}

fn number(file: &str, line: u64, field: &str, value: &str) -> Result<f64, LocateError> {
    value.parse::<f64>().map_err(|_| {
        input_err(
            file,
            line,
            format!("field {field:?}: {value:?} is not a number"),
        )
    })
}

fn point(file: &str, line: u64, lat: &str, lon: &str) -> Result<GeoPoint, LocateError> {
    let (la, lo) = (
        number(file, line, "lat", lat)?,
        number(file, line, "lon", lon)?,
    );
    GeoPoint::new(la, lo).map_err(|e| input_err(file, line, e.to_string()))
}

/// Parses `L.csv` (`id,lat,lon`).
pub fn parse_landmarks(file: &str, text: &str) -> Result<LandmarkSet, LocateError> {
    let rows = read_rows(file, text, &["id", "lat", "lon"])?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (line, f) in rows {
        if let Some(first) = seen.insert(f[0].clone(), line) {
            return Err(input_err(
                file,
                line,
                format!("duplicate landmark id {:?} (first on line {first})", f[0]),
            ));
        }
        out.push((f[0].clone(), point(file, line, &f[1], &f[2])?));
    }
    LandmarkSet::new(out)
}

/// Parses `M.csv` (`landmark,target,rtt_ms`); every landmark must be in `landmarks`.
pub fn parse_measurements(
    file: &str,
    text: &str,
    landmarks: &LandmarkSet,
) -> Result<Vec<MeasurementRow>, LocateError> {
    let rows = read_rows(file, text, &["landmark", "target", "rtt_ms"])?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, f) in rows {
        let Some(landmark) = landmarks.index(&f[0]) else {
            return Err(input_err(
                file,
                line,
                format!("unknown landmark {:?} (not in the landmarks file)", f[0]),
            ));
        };
        let rtt = number(file, line, "rtt_ms", &f[2])?;
        let rtt_ms = validate_rtt_ms(rtt)
            .map_err(|e| input_err(file, line, format!("field \"rtt_ms\": {e}")))?;
        out.push(MeasurementRow {
            landmark,
            target: f[1].clone(),
            rtt_ms,
        });
    }
    Ok(out)
}

/// Parses `C.csv` (`target,lat,lon,country`).
pub fn parse_claims(file: &str, text: &str) -> Result<Vec<ClaimRow>, LocateError> {
    let rows = read_rows(file, text, &["target", "lat", "lon", "country"])?;
    rows.into_iter()
        .map(|(line, f)| {
            Ok(ClaimRow {
                target: f[0].clone(),
                site: point(file, line, &f[1], &f[2])?,
                country: f[3].clone(),
            })
        })
        .collect()
}

/// Landmark-to-landmark rows as `(a, b, rtt)` for [`cross_check`].
fn landmark_pairs(landmarks: &LandmarkSet, rows: &[MeasurementRow]) -> Vec<(usize, usize, f64)> {
    rows.iter()
        .filter_map(|r| {
            landmarks
                .index(&r.target)
                .map(|t| (r.landmark, t, r.rtt_ms))
        })
        .collect()
}

/// Observations per target, leaving out landmarks flagged by the cross-check (`flagged[i]`).
/// A landmark-to-landmark row also bounds the landmark that started it (module docs).
pub fn observations_by_target<'a>(
    landmarks: &'a LandmarkSet,
    rows: &'a [MeasurementRow],
    flagged: &[bool],
) -> HashMap<&'a str, Vec<Observation>> {
    let mut by_target: HashMap<&str, Vec<Observation>> = HashMap::new();
    for r in rows {
        if flagged[r.landmark] {
            continue;
        }
        if landmarks.id(r.landmark) != r.target {
            by_target
                .entry(r.target.as_str())
                .or_default()
                .push(Observation {
                    landmark: r.landmark,
                    rtt_ms: r.rtt_ms,
                });
        }
        if let Some(t) = landmarks.index(&r.target) {
            if t != r.landmark && !flagged[t] {
                by_target
                    .entry(landmarks.id(r.landmark))
                    .or_default()
                    .push(Observation {
                        landmark: t,
                        rtt_ms: r.rtt_ms,
                    });
            }
        }
    }
    by_target
}

/// The cross-check of the landmark-to-landmark rows.
pub fn screen(landmarks: &LandmarkSet, rows: &[MeasurementRow]) -> CrossCheck {
    cross_check(landmarks, &landmark_pairs(landmarks, rows))
}

/// `locate landmarks-check`: one line per landmark, in `L.csv` order.
pub fn landmarks_check(
    landmarks: &LandmarkSet,
    rows: &[MeasurementRow],
) -> (CrossCheck, Vec<LandmarkLine>) {
    let check = cross_check(landmarks, &landmark_pairs(landmarks, rows));
    let lines = (0..landmarks.len())
        .map(|i| LandmarkLine {
            landmark: landmarks.id(i).to_string(),
            flagged: check.flagged[i],
            conflicts: check.conflicts[i]
                .iter()
                .map(|&o| landmarks.id(o).to_string())
                .collect(),
        })
        .collect();
    (check, lines)
}

/// `locate verify`: screens landmarks, then one [`TargetLine`] per claim, in order. Also returns
/// the cross-check and the full assessments.
pub fn verify(
    landmarks: &LandmarkSet,
    rows: &[MeasurementRow],
    claims: &[ClaimRow],
    zone: &Zone,
    tau_min_ms: f64,
) -> Result<(CrossCheck, Vec<TargetLine>, Vec<Assessment>), LocateError> {
    let verifier = Verifier::new(zone, tau_min_ms)?;
    let check = cross_check(landmarks, &landmark_pairs(landmarks, rows));
    let by_target = observations_by_target(landmarks, rows, &check.flagged);
    let empty = Vec::new();
    let assessments: Vec<Assessment> = claims
        .par_iter()
        .map(|c| {
            let obs = by_target.get(c.target.as_str()).unwrap_or(&empty);
            verifier.verify(landmarks, obs, c.site)
        })
        .collect();
    let lines = claims
        .iter()
        .zip(&assessments)
        .map(|(c, a)| TargetLine {
            target: c.target.clone(),
            verdict: a.verdict,
            outside_prohibited: a.outside_prohibited,
            claim_consistent: a.claim_consistent,
            region: a.region,
        })
        .collect();
    Ok((check, lines, assessments))
}
