//! SVG world map of one verdict: countries, landmarks and their 2/3 c disks, the region, the
//! licensed site, prohibited countries shaded. Equirectangular projection (x = longitude,
//! y = −latitude), so the picture matches the lon/lat polygons exactly.
//!
//! [`render_svg`] is pure (returns the document as a `String`) so that the CLI (`stackport
//! locate map`) and the server's picture endpoint draw the same thing.

use crate::bounds::max_distance_km;
use crate::countries::Atlas;
use crate::countries::Zone;
use crate::geo::{add, scale, unit_to_lonlat, GeoPoint, Vec3};
use crate::region::{Cap, Region};
use crate::verdict::{Assessment, LandmarkSet, Observation, Verifier};
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 1440.0;
const HEIGHT: f64 = 720.0;
const PX_PER_DEG: f64 = WIDTH / 360.0;

/// Everything one picture shows.
#[derive(Debug, Clone, Copy)]
pub struct MapView<'a> {
    pub atlas: &'a Atlas,
    pub zone: &'a Zone,
    pub landmarks: &'a LandmarkSet,
    pub observations: &'a [Observation],
    pub site: GeoPoint,
    pub tau_min_ms: f64,
    /// Caption, e.g. the chip id.
    pub title: &'a str,
}

fn x(lon: f64) -> f64 {
    (lon + 180.0) * PX_PER_DEG
}
fn y(lat: f64) -> f64 {
    (90.0 - lat) * PX_PER_DEG
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Path data for a sequence of lon/lat points, broken where it wraps across ±180°.
fn polyline(points: &[(f64, f64)], close: bool) -> String {
    let mut d = String::new();
    let mut prev: Option<f64> = None;
    let mut wrapped = false;
    for &(lon, lat) in points {
        let cmd = match prev {
            Some(p) if (lon - p).abs() <= 180.0 => 'L',
            Some(_) => {
                wrapped = true;
                'M'
            }
            None => 'M',
        };
        let _ = write!(d, "{cmd}{:.2},{:.2}", x(lon), y(lat));
        prev = Some(lon);
    }
    if close && !wrapped && !d.is_empty() {
        d.push('Z');
    }
    d
}

/// Points along the circle of a cap (lon/lat).
fn circle_points(cap: &Cap, n: usize) -> Vec<(f64, f64)> {
    let u = crate::geo::perpendicular(cap.center);
    let v = crate::geo::cross(cap.center, u);
    (0..=n)
        .map(|k| {
            let s = k as f64 / n as f64 * std::f64::consts::TAU;
            let p: Vec3 = add(
                scale(cap.center, cap.cos),
                scale(add(scale(u, s.cos()), scale(v, s.sin())), cap.sin),
            );
            unit_to_lonlat(p)
        })
        .collect()
}

/// Renders one verdict as a standalone SVG document.
pub fn render_svg(view: &MapView<'_>) -> String {
    let verifier = Verifier::new(view.zone, view.tau_min_ms).ok();
    let tau = verifier.as_ref().map(|v| v.tau_min_ms()).unwrap_or(0.0);
    let region = Region::from_disks(
        view.observations
            .iter()
            .filter(|o| o.landmark < view.landmarks.len())
            .map(|o| {
                (
                    view.landmarks.unit(o.landmark),
                    max_distance_km(o.rtt_ms, tau),
                )
            }),
    );
    let assessment: Option<Assessment> = verifier.as_ref().map(|v| v.assess(&region, view.site));
    let prohibited: Vec<usize> = view.zone.country_indices().collect();

    let mut s = String::with_capacity(1 << 20);
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif">"##
    );
    let _ = writeln!(
        s,
        r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#dbe9f4"/>"##
    );
    let _ = writeln!(
        s,
        r##"<g id="countries" stroke="#888" stroke-width="0.3">"##
    );
    for (i, c) in view.atlas.countries().iter().enumerate() {
        let is_prohibited = prohibited.contains(&i);
        let fill = if is_prohibited { "#e8a0a0" } else { "#f4f1e8" };
        let mut d = String::new();
        for poly in &c.polygons {
            for ring in poly {
                let pts: Vec<(f64, f64)> = ring.iter().map(|p| (p[0], p[1])).collect();
                d.push_str(&polyline(&pts, true));
            }
        }
        let class = if is_prohibited {
            " class=\"prohibited\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r##"<path{class} d="{d}" fill="{fill}" fill-rule="evenodd"><title>{}</title></path>"##,
            escape(&c.name)
        );
    }
    s.push_str("</g>\n");

    // The minimum per landmark is the disk that counts.
    let mut best: BTreeMap<usize, f64> = BTreeMap::new();
    for o in view
        .observations
        .iter()
        .filter(|o| o.landmark < view.landmarks.len())
    {
        let e = best.entry(o.landmark).or_insert(o.rtt_ms);
        *e = e.min(o.rtt_ms);
    }
    let _ = writeln!(
        s,
        r##"<g id="disks" fill="none" stroke="#3a6ea5" stroke-width="0.8" stroke-opacity="0.45">"##
    );
    for (&l, &rtt) in &best {
        let radius = max_distance_km(rtt, tau);
        let cap = Cap::from_km(view.landmarks.unit(l), radius);
        if cap.angle >= std::f64::consts::PI {
            continue;
        }
        let _ = writeln!(
            s,
            r##"<path d="{}"><title>{}: {rtt:.3} ms, r ≤ {radius:.0} km</title></path>"##,
            polyline(&circle_points(&cap, 180), false),
            escape(view.landmarks.id(l))
        );
    }
    s.push_str("</g>\n");

    // The region: arcs sampled once, chained into closed loops (an arc ends at the corner
    // where the next begins) for a translucent fill, then stroked.
    let arcs: Vec<Vec<Vec3>> = region
        .boundary()
        .iter()
        .map(|arc| {
            let n = (((arc.to - arc.from) / std::f64::consts::TAU) * 180.0)
                .ceil()
                .max(2.0) as usize;
            (0..=n)
                .map(|k| {
                    region.point_on_circle(
                        arc.cap,
                        arc.from + (arc.to - arc.from) * k as f64 / n as f64,
                    )
                })
                .collect()
        })
        .collect();
    let poles = [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]];
    if !poles.iter().any(|p| region.contains(*p)) {
        let _ = writeln!(
            s,
            r##"<g id="region-fill" fill="#0b3d91" fill-opacity="0.18" stroke="none">"##
        );
        let mut used = vec![false; arcs.len()];
        for first in 0..arcs.len() {
            if used[first] {
                continue;
            }
            used[first] = true;
            let mut lp: Vec<Vec3> = arcs[first].clone();
            loop {
                let end = *lp.last().expect("arcs have points");
                let next = (0..arcs.len())
                    .filter(|&k| !used[k])
                    .map(|k| (crate::geo::angle(end, arcs[k][0]), k))
                    .filter(|(d, _)| *d < 1e-6)
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                match next {
                    Some((_, k)) => {
                        used[k] = true;
                        lp.extend_from_slice(&arcs[k][1..]);
                    }
                    None => break,
                }
            }
            let pts: Vec<(f64, f64)> = lp.iter().map(|v| unit_to_lonlat(*v)).collect();
            let d = polyline(&pts, true);
            if d.ends_with('Z') {
                let _ = writeln!(s, r##"<path d="{d}"/>"##);
            }
        }
        s.push_str("</g>\n");
    }
    let _ = writeln!(
        s,
        r##"<g id="region" fill="none" stroke="#0b3d91" stroke-width="2.5">"##
    );
    for pts in &arcs {
        let pts: Vec<(f64, f64)> = pts.iter().map(|v| unit_to_lonlat(*v)).collect();
        let _ = writeln!(s, r##"<path d="{}"/>"##, polyline(&pts, false));
    }
    s.push_str("</g>\n");

    let _ = writeln!(s, r##"<g id="landmarks" fill="#1b5e20" font-size="7">"##);
    for &l in best.keys() {
        let p = view.landmarks.point(l);
        let (px, py) = (x(p.lon()), y(p.lat()));
        let _ = writeln!(
            s,
            r##"<path d="M{:.2},{:.2}l3,5h-6z"/><text x="{:.2}" y="{:.2}">{}</text>"##,
            px,
            py - 3.0,
            px + 4.0,
            py - 2.0,
            escape(view.landmarks.id(l))
        );
    }
    s.push_str("</g>\n");

    let (sx, sy) = (x(view.site.lon()), y(view.site.lat()));
    let _ = writeln!(
        s,
        r##"<g id="site" stroke="#000" stroke-width="1.5" fill="#ffd600"><circle cx="{sx:.2}" cy="{sy:.2}" r="4"/><path d="M{:.2},{sy:.2}h14M{sx:.2},{:.2}v14" fill="none"/></g>"##,
        sx - 7.0,
        sy - 7.0
    );

    let caption = match &assessment {
        Some(a) => {
            let radius = a
                .region
                .map(|r| format!("{:.0} km", r.max_radius_km))
                .unwrap_or_else(|| "-".into());
            format!(
                "{}: {} (outside prohibited: {}, site consistent: {}, region radius {radius}, tau_min {tau} ms)",
                view.title,
                a.verdict.as_str(),
                a.outside_prohibited,
                a.claim_consistent
            )
        }
        None => format!("{}: invalid tau_min", view.title),
    };
    let _ = writeln!(
        s,
        r##"<text id="caption" x="8" y="{:.0}" font-size="14" fill="#000">{}</text>"##,
        HEIGHT - 10.0,
        escape(&caption)
    );
    s.push_str("</svg>\n");
    s
}
