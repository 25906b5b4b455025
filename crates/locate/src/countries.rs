//! Country shapes and the sound test "does the region meet country X".
//!
//! Shapes are Natural Earth Admin-0 polygons (public domain; the 1:50m file ships in
//! `data/geo/`). GeoJSON coordinates are longitude/latitude and, by RFC 7946 §3.1.1, "a line
//! between two positions is a straight Cartesian line" in that coordinate system: a polygon
//! edge is straight in longitude/latitude — neither a great-circle arc nor a rhumb line. That
//! is the interpretation used for "truly inside a country" here ([`Zone::contains`], an exact
//! planar point-in-polygon test).
//!
//! Testing a spherical region against such edges exactly would need the distance from a cap
//! centre to a curve with no closed form. Instead every edge is replaced by a chain of
//! great-circle arcs (same endpoints, subdivided as needed) together with a proven bound on
//! how far the lon/lat edge strays from the chain, made ≤ [`BOUNDARY_MARGIN_KM`] (100 m):
//!
//! * sample the edge at `N` evenly spaced parameters; its speed on the sphere is at most
//!   `R·√(Δφ² + Δλ²)` (radians), so every point of the edge is within `R·√(Δφ² + Δλ²) / 2N` of
//!   a sample (triangle inequality), and the samples' exact distances to the arc bound the rest;
//! * if that bound exceeds the margin, split the edge at its lon/lat midpoint and recurse.
//!
//! The region is then tested with every cap widened by the same margin (plus the 1 m slack of
//! [`crate::region`]). Soundness: if the region `K` meets the country `P`, either some point of
//! `∂P` lies in `K`, hence within 100 m of an arc, so the arc meets the widened caps — found
//! exactly by `arc_meets` (an arc meets an intersection of caps iff an endpoint lies in it or
//! one of its crossings with a cap circle does); or `K` does not touch `∂P` and every connected
//! component of `K` lies wholly inside or outside `P`, and the region's witnesses (one in every
//! component) are tested with the exact point-in-polygon test. "Misses" is claimed only when
//! both find nothing. Exactness: a miss is lost only when the region comes within ≈ 101 m of the
//! country, so the verifier proves what the 2/3 c disks allow to within 0.1 km.
//!
//! Speed: each ring's arcs are grouped in chunks of 16 with a bounding cap, each ring and each
//! country has a bounding cap, so a region far from a country is rejected with one dot product
//! per cap; point-in-polygon uses a latitude-band index of the ring's edges.

use crate::error::LocateError;
use crate::geo::{
    angle, cross, dot, lonlat_to_unit, normalize, unit_to_lonlat, Vec3, EARTH_RADIUS_KM,
};
use crate::region::{Cap, Extent, Region, BOUNDARY_MARGIN_KM};
use std::f64::consts::{FRAC_PI_2, PI};

/// Default prohibited destinations: the PRC as a whole (issue 5: "default CN, HK, MO").
pub const DEFAULT_PROHIBITED: [&str; 3] = ["CN", "HK", "MO"];

const CHUNK: usize = 16;

/// A country code as given by a user: ISO 3166-1 alpha-2 (`CN`) or Natural Earth `ADM0_A3`
/// (`CHN`), upper-case ASCII.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(s: &str) -> Result<Self, LocateError> {
        let t = s.trim();
        if (t.len() == 2 || t.len() == 3) && t.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(t.to_ascii_uppercase()))
        } else {
            Err(LocateError::CountryCode(s.to_string()))
        }
    }
    /// Parses a comma-separated list (`CN,HK,MO`).
    pub fn parse_list(s: &str) -> Result<Vec<Self>, LocateError> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Self::parse)
            .collect()
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// [`DEFAULT_PROHIBITED`] as codes.
    pub fn default_prohibited() -> Vec<Self> {
        DEFAULT_PROHIBITED
            .iter()
            .map(|c| Self(c.to_string()))
            .collect()
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One Admin-0 feature: codes, name and rings (each a closed list of `[lon, lat]`).
#[derive(Debug, Clone)]
pub struct Country {
    /// ISO 3166-1 alpha-2, when Natural Earth gives one (it gives `-99` for France and Norway;
    /// the World Bank code or a fix-up fills those in).
    pub iso_a2: Option<String>,
    pub adm0_a3: String,
    pub name: String,
    /// Polygons; each polygon is its outer ring followed by its holes.
    pub polygons: Vec<Vec<Vec<[f64; 2]>>>,
}

impl Country {
    fn matches(&self, code: &CountryCode) -> bool {
        self.iso_a2.as_deref() == Some(code.as_str()) || self.adm0_a3 == code.as_str()
    }
}

/// All country shapes of one Natural Earth file.
#[derive(Debug, Clone)]
pub struct Atlas {
    countries: Vec<Country>,
}

/// The Natural Earth 1:50m Admin-0 file shipped in `data/geo/` (v4.0.0, public domain).
pub const NATURAL_EARTH_50M: &str =
    include_str!("../../../data/geo/ne_50m_admin_0_countries.geojson");

impl Atlas {
    /// The shipped Natural Earth 1:50m countries.
    pub fn natural_earth_50m() -> Result<Self, LocateError> {
        Self::from_geojson(NATURAL_EARTH_50M)
    }

    /// Parses a GeoJSON FeatureCollection of Polygon/MultiPolygon features carrying Natural
    /// Earth's `ADM0_A3`, `ISO_A2` and `NAME` properties.
    pub fn from_geojson(text: &str) -> Result<Self, LocateError> {
        let shapes = |m: String| LocateError::Shapes(m);
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| shapes(format!("not JSON: {e}")))?;
        let features = doc
            .get("features")
            .and_then(|f| f.as_array())
            .ok_or_else(|| shapes("no \"features\" array".into()))?;
        let mut countries = Vec::with_capacity(features.len());
        for (k, f) in features.iter().enumerate() {
            let props = f
                .get("properties")
                .ok_or_else(|| shapes(format!("feature {k}: no properties")))?;
            let text_prop =
                |name: &str| props.get(name).and_then(|v| v.as_str()).map(str::to_string);
            let adm0_a3 =
                text_prop("ADM0_A3").ok_or_else(|| shapes(format!("feature {k}: no ADM0_A3")))?;
            let name = text_prop("NAME").unwrap_or_else(|| adm0_a3.clone());
            let valid =
                |c: &Option<String>| c.as_deref().is_some_and(|c| c.len() == 2 && c != "-99");
            let mut iso_a2 = text_prop("ISO_A2");
            for alt in ["ISO_A2_EH", "WB_A2"] {
                if !valid(&iso_a2) {
                    iso_a2 = text_prop(alt);
                }
            }
            if !valid(&iso_a2) {
                // Natural Earth v4 leaves Norway without any alpha-2 code.
                iso_a2 = (adm0_a3 == "NOR").then(|| "NO".to_string());
            }
            let geometry = f
                .get("geometry")
                .ok_or_else(|| shapes(format!("feature {k} ({adm0_a3}): no geometry")))?;
            let kind = geometry.get("type").and_then(|t| t.as_str()).unwrap_or("");
            let coords = geometry
                .get("coordinates")
                .ok_or_else(|| shapes(format!("feature {k} ({adm0_a3}): no coordinates")))?;
            let polys: Vec<&serde_json::Value> = match kind {
                "Polygon" => vec![coords],
                "MultiPolygon" => coords
                    .as_array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default(),
                other => {
                    return Err(shapes(format!(
                        "feature {k} ({adm0_a3}): geometry type {other:?}"
                    )))
                }
            };
            let mut polygons = Vec::with_capacity(polys.len());
            for poly in polys {
                let rings = poly
                    .as_array()
                    .ok_or_else(|| shapes(format!("{adm0_a3}: polygon is not an array")))?;
                let mut out = Vec::with_capacity(rings.len());
                for ring in rings {
                    let pts = ring
                        .as_array()
                        .ok_or_else(|| shapes(format!("{adm0_a3}: ring is not an array")))?;
                    let mut r = Vec::with_capacity(pts.len() + 1);
                    for p in pts {
                        let lon = p.get(0).and_then(|v| v.as_f64());
                        let lat = p.get(1).and_then(|v| v.as_f64());
                        match (lon, lat) {
                            (Some(lon), Some(lat))
                                if (-180.0..=180.0).contains(&lon)
                                    && (-90.0..=90.0).contains(&lat) =>
                            {
                                r.push([lon, lat])
                            }
                            _ => return Err(shapes(format!("{adm0_a3}: bad position {p}"))),
                        }
                    }
                    if r.len() < 3 {
                        continue;
                    }
                    if r.first() != r.last() {
                        let first = r[0];
                        r.push(first);
                    }
                    out.push(r);
                }
                if !out.is_empty() {
                    polygons.push(out);
                }
            }
            countries.push(Country {
                iso_a2,
                adm0_a3,
                name,
                polygons,
            });
        }
        if countries.is_empty() {
            return Err(shapes("no countries".into()));
        }
        Ok(Self { countries })
    }

    pub fn countries(&self) -> &[Country] {
        &self.countries
    }

    /// Prepares the prohibited zone: the union of the countries named by `codes`.
    pub fn zone(&self, codes: &[CountryCode]) -> Result<Zone, LocateError> {
        let mut countries = Vec::new();
        for code in codes {
            let mut found = false;
            for (index, c) in self.countries.iter().enumerate() {
                if c.matches(code) {
                    found = true;
                    if !countries.iter().any(|p: &PreparedCountry| p.index == index) {
                        countries.push(PreparedCountry::new(index, c));
                    }
                }
            }
            if !found {
                return Err(LocateError::UnknownCountry(code.to_string()));
            }
        }
        Ok(Zone {
            codes: codes.to_vec(),
            countries,
        })
    }
}

/// A great-circle arc `a → b` (shorter way) with its unit normal `a × b / |a × b|`.
#[derive(Debug, Clone, Copy)]
struct Arc {
    a: Vec3,
    b: Vec3,
    n: Vec3,
}

#[derive(Debug, Clone)]
struct Chunk {
    bound: Cap,
    start: usize,
    end: usize,
}

/// A ring prepared for both tests.
#[derive(Debug, Clone)]
struct PreparedRing {
    bound: Cap,
    arcs: Vec<Arc>,
    chunks: Vec<Chunk>,
    pip: PlanarRing,
}

#[derive(Debug, Clone)]
struct PreparedCountry {
    index: usize,
    name: String,
    adm0_a3: String,
    bound: Cap,
    rings: Vec<PreparedRing>,
}

/// How a region relates to a zone (a union of countries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Provably no point of the region is in the zone.
    Misses,
    /// The region may contain a point of the zone (or does).
    Meets,
    /// Provably every point of the region is in the zone.
    Inside,
}

/// Prohibited countries, prepared for fast region tests.
#[derive(Debug, Clone)]
pub struct Zone {
    codes: Vec<CountryCode>,
    countries: Vec<PreparedCountry>,
}

impl Zone {
    pub fn codes(&self) -> &[CountryCode] {
        &self.codes
    }
    /// Indices (into [`Atlas::countries`]) of the countries in the zone.
    pub fn country_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.countries.iter().map(|c| c.index)
    }
    /// Natural Earth `ADM0_A3` codes and names of the countries in the zone.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.countries
            .iter()
            .map(|c| (c.adm0_a3.as_str(), c.name.as_str()))
    }

    /// Whether a point lies in the zone (exact, edges straight in lon/lat per RFC 7946).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.countries.iter().any(|c| c.contains_lonlat(lon, lat))
    }

    /// Relation of a region to the zone. Unconstrained regions meet it; empty regions miss it.
    pub fn relation(&self, region: &Region) -> Relation {
        match region.extent() {
            Extent::Unconstrained => return Relation::Meets,
            Extent::Empty => return Relation::Misses,
            Extent::Bounded => {}
        }
        let caps = region.caps_with_margin();
        let witnesses = region.witnesses();
        let mut inside = smallvec::SmallVec::<[bool; 16]>::from_elem(false, witnesses.len());
        let mut lonlat =
            smallvec::SmallVec::<[Option<(f64, f64)>; 16]>::from_elem(None, witnesses.len());
        let mut met = false;
        for country in &self.countries {
            if !caps.iter().all(|c| c.meets(&country.bound)) {
                continue;
            }
            for ring in &country.rings {
                if !caps.iter().all(|c| c.meets(&ring.bound)) {
                    continue;
                }
                for chunk in &ring.chunks {
                    if !caps.iter().all(|c| c.meets(&chunk.bound)) {
                        continue;
                    }
                    if ring.arcs[chunk.start..chunk.end]
                        .iter()
                        .any(|arc| arc_meets(arc, caps))
                    {
                        return Relation::Meets;
                    }
                }
            }
            for (k, w) in witnesses.iter().enumerate() {
                if inside[k] || !country.bound.contains(*w) {
                    continue;
                }
                let (lon, lat) = *lonlat[k].get_or_insert_with(|| unit_to_lonlat(*w));
                if country.contains_lonlat(lon, lat) {
                    inside[k] = true;
                    met = true;
                }
            }
        }
        if !witnesses.is_empty() && inside.iter().all(|&b| b) {
            Relation::Inside
        } else if met {
            Relation::Meets
        } else {
            Relation::Misses
        }
    }
}

/// Whether the great-circle arc meets the intersection of `caps` (exact; see the module docs).
fn arc_meets(arc: &Arc, caps: &[Cap]) -> bool {
    let inside_all = |x: Vec3| caps.iter().all(|c| c.contains(x));
    if inside_all(arc.a) || inside_all(arc.b) {
        return true;
    }
    for cap in caps {
        let t = dot(cap.center, arc.n);
        let planar = [
            cap.center[0] - t * arc.n[0],
            cap.center[1] - t * arc.n[1],
            cap.center[2] - t * arc.n[2],
        ];
        let len2 = 1.0 - t * t;
        if len2 < 1e-24 {
            continue; // circle parallel to the arc's great circle: endpoints decide
        }
        let len = len2.sqrt();
        let cos_phi = cap.cos / len;
        if cos_phi.abs() > 1.0 {
            continue;
        }
        let sin_phi = (1.0 - cos_phi * cos_phi).sqrt();
        let chat = [planar[0] / len, planar[1] / len, planar[2] / len];
        let m = cross(arc.n, chat);
        for sign in [1.0, -1.0] {
            let x = [
                cos_phi * chat[0] + sign * sin_phi * m[0],
                cos_phi * chat[1] + sign * sin_phi * m[1],
                cos_phi * chat[2] + sign * sin_phi * m[2],
            ];
            if dot(cross(arc.a, x), arc.n) >= -1e-12
                && dot(cross(x, arc.b), arc.n) >= -1e-12
                && inside_all(x)
            {
                return true;
            }
        }
    }
    false
}

/// Angular distance from `x` to the arc (exact).
fn distance_to_arc(x: Vec3, arc: &Arc) -> f64 {
    let t = dot(x, arc.n);
    let proj = [
        x[0] - t * arc.n[0],
        x[1] - t * arc.n[1],
        x[2] - t * arc.n[2],
    ];
    if let Some(p) = normalize(proj) {
        if dot(cross(arc.a, p), arc.n) >= 0.0 && dot(cross(p, arc.b), arc.n) >= 0.0 {
            return t.abs().min(1.0).asin();
        }
    }
    angle(x, arc.a).min(angle(x, arc.b))
}

/// Appends great-circle arcs replacing the lon/lat-straight edge `p → q`, each within
/// `margin` (radians) of the part of the edge it replaces.
fn densify(p: [f64; 2], q: [f64; 2], margin: f64, depth: u32, out: &mut Vec<Arc>) {
    let a = lonlat_to_unit(p[0], p[1]);
    let b = lonlat_to_unit(q[0], q[1]);
    if angle(a, b) < 1e-12 {
        return; // repeated vertex (or both at a pole)
    }
    let n = normalize(cross(a, b));
    let dlon = (q[0] - p[0]).to_radians();
    let dlat = (q[1] - p[1]).to_radians();
    let speed = (dlon * dlon + dlat * dlat).sqrt(); // bound on the edge's length, radians
    if let Some(n) = n {
        let arc = Arc { a, b, n };
        // Arcs of half a circle or more are not "the shorter way": always split those.
        if angle(a, b) < FRAC_PI_2 {
            let samples = ((speed / margin).ceil() as usize).max(1);
            let lipschitz = speed / (2.0 * samples as f64);
            let mut worst: f64 = 0.0;
            for k in 1..samples {
                let t = k as f64 / samples as f64;
                let x = lonlat_to_unit(p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]));
                worst = worst.max(distance_to_arc(x, &arc));
                if worst + lipschitz > margin {
                    break;
                }
            }
            if worst + lipschitz <= margin || depth > 40 {
                out.push(arc);
                return;
            }
        }
    }
    let mid = [0.5 * (p[0] + q[0]), 0.5 * (p[1] + q[1])];
    densify(p, mid, margin, depth + 1, out);
    densify(mid, q, margin, depth + 1, out);
}

/// Smallest convenient cap around points: centre = normalised mean, radius = farthest point.
/// Radii of a quarter circle or more are widened to the whole sphere, because only caps
/// smaller than a hemisphere are convex (contain the arcs between their points).
fn bounding_cap<'a>(points: impl Iterator<Item = &'a Vec3> + Clone, margin: f64) -> Cap {
    let mut sum = [0.0; 3];
    for p in points.clone() {
        sum = [sum[0] + p[0], sum[1] + p[1], sum[2] + p[2]];
    }
    let Some(center) = normalize(sum) else {
        return Cap::new([0.0, 0.0, 1.0], PI);
    };
    let radius = points.map(|p| angle(center, *p)).fold(0.0, f64::max) + margin + 1e-12;
    if radius >= FRAC_PI_2 {
        Cap::new(center, PI)
    } else {
        Cap::new(center, radius)
    }
}

impl PreparedCountry {
    fn new(index: usize, c: &Country) -> Self {
        let margin = BOUNDARY_MARGIN_KM / EARTH_RADIUS_KM;
        let mut rings = Vec::new();
        for poly in &c.polygons {
            for ring in poly {
                let mut arcs = Vec::with_capacity(ring.len());
                for w in ring.windows(2) {
                    densify(w[0], w[1], margin, 0, &mut arcs);
                }
                if arcs.is_empty() {
                    continue;
                }
                let chunks = arcs
                    .chunks(CHUNK)
                    .enumerate()
                    .map(|(k, ch)| Chunk {
                        bound: bounding_cap(ch.iter().flat_map(|a| [&a.a, &a.b]), 0.0),
                        start: k * CHUNK,
                        end: k * CHUNK + ch.len(),
                    })
                    .collect();
                let bound = bounding_cap(arcs.iter().flat_map(|a| [&a.a, &a.b]), margin);
                rings.push(PreparedRing {
                    bound,
                    arcs,
                    chunks,
                    pip: PlanarRing::new(ring),
                });
            }
        }
        let bound = bounding_cap(
            rings
                .iter()
                .flat_map(|r| r.arcs.iter().flat_map(|a| [&a.a, &a.b])),
            margin,
        );
        Self {
            index,
            name: c.name.clone(),
            adm0_a3: c.adm0_a3.clone(),
            bound,
            rings,
        }
    }

    /// Even-odd rule over all rings (outer rings, holes and islands in holes alike).
    fn contains_lonlat(&self, lon: f64, lat: f64) -> bool {
        let mut inside = false;
        for ring in &self.rings {
            if ring.pip.crosses_odd(lon, lat) {
                inside = !inside;
            }
        }
        inside
    }
}

/// A ring for the planar (lon/lat) point-in-polygon test, with a latitude-band index.
#[derive(Debug, Clone)]
struct PlanarRing {
    pts: Vec<[f64; 2]>,
    min: [f64; 2],
    max: [f64; 2],
    band_height: f64,
    bands: Vec<Vec<u32>>,
}

impl PlanarRing {
    fn new(pts: &[[f64; 2]]) -> Self {
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for p in pts {
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        let edges = pts.len().saturating_sub(1);
        let nbands = (edges / 8).clamp(1, 1024);
        let band_height = ((max[1] - min[1]) / nbands as f64).max(1e-9);
        let mut bands = vec![Vec::new(); nbands];
        for e in 0..edges {
            let (y0, y1) = (pts[e][1].min(pts[e + 1][1]), pts[e][1].max(pts[e + 1][1]));
            let b0 = (((y0 - min[1]) / band_height) as usize).min(nbands - 1);
            let b1 = (((y1 - min[1]) / band_height) as usize).min(nbands - 1);
            for band in &mut bands[b0..=b1] {
                band.push(e as u32);
            }
        }
        Self {
            pts: pts.to_vec(),
            min,
            max,
            band_height,
            bands,
        }
    }

    /// Whether a ray from the point towards +longitude crosses the ring an odd number of times.
    fn crosses_odd(&self, x: f64, y: f64) -> bool {
        if x < self.min[0] || x > self.max[0] || y < self.min[1] || y > self.max[1] {
            return false;
        }
        let band = (((y - self.min[1]) / self.band_height) as usize).min(self.bands.len() - 1);
        let mut odd = false;
        for &e in &self.bands[band] {
            let [xi, yi] = self.pts[e as usize];
            let [xj, yj] = self.pts[e as usize + 1];
            if (yi > y) != (yj > y) {
                let xc = xi + (y - yi) / (yj - yi) * (xj - xi);
                if x < xc {
                    odd = !odd;
                }
            }
        }
        odd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoPoint;

    fn square_atlas() -> Atlas {
        // A 10° × 10° square at 40–50°N: its top edge follows the parallel, far from the great
        // circle through its corners (≈ 60 km at the middle), which tests the densification.
        Atlas::from_geojson(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ADM0_A3":"SQR","ISO_A2":"SQ","NAME":"Square"},
            "geometry":{"type":"Polygon","coordinates":[[[0,40],[10,40],[10,50],[0,50],[0,40]]]}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn densified_arcs_stay_close_to_lonlat_edges() {
        let mut arcs = Vec::new();
        let margin = BOUNDARY_MARGIN_KM / EARTH_RADIUS_KM;
        densify([0.0, 50.0], [10.0, 50.0], margin, 0, &mut arcs);
        assert!(arcs.len() > 4, "{}", arcs.len());
        for k in 0..=1000 {
            let x = lonlat_to_unit(10.0 * k as f64 / 1000.0, 50.0);
            let d = arcs
                .iter()
                .map(|a| distance_to_arc(x, a))
                .fold(f64::INFINITY, f64::min);
            assert!(
                d * EARTH_RADIUS_KM <= BOUNDARY_MARGIN_KM,
                "{}",
                d * EARTH_RADIUS_KM
            );
        }
    }

    #[test]
    fn cap_just_north_of_parallel_edge() {
        let zone = square_atlas()
            .zone(&[CountryCode::parse("SQ").unwrap()])
            .unwrap();
        // A disk centred at 50.5°N 5°E. The parallel 50°N is 55.6 km south of its centre.
        let c = GeoPoint::new(50.5, 5.0).unwrap().to_unit();
        let gap = 0.5f64.to_radians() * EARTH_RADIUS_KM;
        let miss = Region::from_disks([(c, gap - 0.5)]);
        assert_eq!(zone.relation(&miss), Relation::Misses);
        let meet = Region::from_disks([(c, gap + 0.05)]);
        assert_eq!(zone.relation(&meet), Relation::Meets);
        let inside = Region::from_disks([(GeoPoint::new(45.0, 5.0).unwrap().to_unit(), 100.0)]);
        assert_eq!(zone.relation(&inside), Relation::Inside);
        assert!(zone.contains(5.0, 49.99) && !zone.contains(5.0, 50.01));
    }

    #[test]
    fn natural_earth_prc() {
        let atlas = Atlas::natural_earth_50m().unwrap();
        let zone = atlas.zone(&CountryCode::default_prohibited()).unwrap();
        let names: Vec<_> = zone.members().map(|m| m.0.to_string()).collect();
        assert_eq!(names, ["CHN", "HKG", "MAC"]);
        assert!(zone.contains(116.4, 39.9)); // Beijing
        assert!(zone.contains(114.19, 22.40)); // Sha Tin, New Territories
        assert!(!zone.contains(121.56, 25.03)); // Taipei
        assert!(!zone.contains(103.82, 1.35)); // Singapore
        assert!(atlas.zone(&[CountryCode::parse("FR").unwrap()]).is_ok());
        assert!(atlas.zone(&[CountryCode::parse("NO").unwrap()]).is_ok());
        assert!(matches!(
            atlas.zone(&[CountryCode::parse("QQ").unwrap()]),
            Err(LocateError::UnknownCountry(_))
        ));
    }
}
