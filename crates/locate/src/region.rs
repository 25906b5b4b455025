//! The region a chip can be in: the intersection of spherical caps, computed exactly.
//!
//! Each landmark's bound is a cap `{x : angle(x, c) ≤ θ}` on the unit sphere. The
//! intersection `K` of the caps is described by its *boundary*: arcs of the cap circles that
//! meet at *corners* (points where two circles cross inside every other cap). Two facts make
//! the description exact without any grid:
//!
//! 1. `K` is empty iff it has no corner and no cap circle lies wholly inside `K`. (The boundary
//!    of a non-empty `K` that is not the whole sphere is non-empty; each of its closed
//!    components either has a corner, or is a whole circle.) So the *witnesses* — corners in
//!    `K`, plus one point of every circle with no corner that lies in `K` — meet every
//!    connected component of `K`, and `K` is empty iff there are none.
//! 2. A circle that has no corner in `K` lies either wholly inside or wholly outside `K`
//!    (the end of a partial arc would be a corner), so one point decides it.
//!
//! Floating point: every cap is widened by [`SLACK_KM`] (1 m) before anything is decided.
//! Rounding errors of the formulas here are ~1e-15 rad (≈ 6 nm), nine orders of magnitude
//! below the slack, so a true intersection — even a single tangent point — is never lost;
//! the price is that the region is at most 1 m larger than the mathematical one.

use crate::geo::{
    add, angle, cross, dot, normalize, perpendicular, scale, sub, Vec3, EARTH_RADIUS_KM,
};
use smallvec::SmallVec;
use std::f64::consts::{PI, TAU};

/// Widening of every cap against rounding (km).
pub const SLACK_KM: f64 = 0.001;
/// Extra widening used when a region is tested against polygon edges (km): country edges are
/// replaced by great-circle arcs that stay within this distance of them ([`crate::countries`]).
pub const BOUNDARY_MARGIN_KM: f64 = 0.1;
/// Leniency of "point in cap" tests on the cosine (≈ 1e-12 rad ≈ 6 µm).
const IN_CAP_EPS: f64 = 1e-12;

/// A spherical cap: centre (unit vector) and angular radius θ, with cos θ and sin θ cached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    pub center: Vec3,
    pub angle: f64,
    pub cos: f64,
    pub sin: f64,
}

impl Cap {
    pub fn new(center: Vec3, angle: f64) -> Self {
        let angle = angle.clamp(0.0, PI);
        let (sin, cos) = angle.sin_cos();
        Self {
            center,
            angle,
            cos,
            sin,
        }
    }
    /// Cap of radius `radius_km` around `center`.
    pub fn from_km(center: Vec3, radius_km: f64) -> Self {
        Self::new(center, radius_km / EARTH_RADIUS_KM)
    }
    #[inline]
    pub fn contains(&self, p: Vec3) -> bool {
        dot(p, self.center) >= self.cos - IN_CAP_EPS
    }
    /// The same cap widened by `by` radians.
    pub fn widened(&self, by: f64) -> Self {
        Self::new(self.center, self.angle + by)
    }
    /// Whether this cap lies inside `outer` (θ_outer ≥ θ_self + angle between centres).
    #[inline]
    fn inside(&self, outer: &Cap) -> bool {
        let diff = outer.angle - self.angle;
        if diff < 0.0 {
            return false;
        }
        if diff >= PI {
            return true;
        }
        // cos(θo − θs) without a trig call.
        let cos_diff = outer.cos * self.cos + outer.sin * self.sin;
        dot(self.center, outer.center) >= cos_diff
    }
    /// Whether this cap and `other` share at least one point.
    #[inline]
    pub fn meets(&self, other: &Cap) -> bool {
        let sum = self.angle + other.angle;
        if sum >= PI {
            return true;
        }
        let cos_sum = self.cos * other.cos - self.sin * other.sin;
        dot(self.center, other.center) >= cos_sum - IN_CAP_EPS
    }
}

/// What the caps leave possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// No cap constrains anything (no measurement, or every disk covers the Earth).
    Unconstrained,
    /// The caps contradict each other: no point satisfies all of them.
    Empty,
    /// A non-empty region smaller than the sphere.
    Bounded,
}

/// One arc of the region's boundary: part of cap `cap`'s circle from angle `from` to `to`
/// (radians, counter-clockwise about the cap centre in the frame `u`, `v`), with the region on
/// its left.
#[derive(Debug, Clone, Copy)]
pub struct BoundaryArc {
    pub cap: usize,
    pub from: f64,
    pub to: f64,
}

/// The intersection of caps, with its witnesses and boundary.
#[derive(Debug, Clone)]
pub struct Region {
    extent: Extent,
    /// Non-redundant caps, widened by [`SLACK_KM`].
    caps: SmallVec<[Cap; 8]>,
    /// The same caps widened by a further [`BOUNDARY_MARGIN_KM`].
    caps_margin: SmallVec<[Cap; 8]>,
    frames: SmallVec<[(Vec3, Vec3); 8]>,
    witnesses: SmallVec<[Vec3; 16]>,
    arcs: SmallVec<[BoundaryArc; 16]>,
}

impl Region {
    /// The region allowed by disks `(centre, radius km)`. Disks of radius ≥ half the
    /// circumference constrain nothing and are skipped.
    pub fn from_disks(disks: impl IntoIterator<Item = (Vec3, f64)>) -> Self {
        let slack = SLACK_KM / EARTH_RADIUS_KM;
        let mut raw: SmallVec<[Cap; 64]> = SmallVec::new();
        for (center, radius_km) in disks {
            let theta = radius_km / EARTH_RADIUS_KM + slack;
            if theta < PI {
                raw.push(Cap::new(center, theta));
            }
        }
        Self::from_caps(raw)
    }

    fn from_caps(raw: SmallVec<[Cap; 64]>) -> Self {
        let mut region = Region {
            extent: Extent::Unconstrained,
            caps: SmallVec::new(),
            caps_margin: SmallVec::new(),
            frames: SmallVec::new(),
            witnesses: SmallVec::new(),
            arcs: SmallVec::new(),
        };
        if raw.is_empty() {
            return region;
        }
        // Drop redundant caps (those containing another cap): they do not change K, and the
        // rest of the work is quadratic or cubic in the number of caps. First against the
        // smallest cap (one pass), then pairwise among the few that remain.
        let smallest = raw
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.angle.total_cmp(&b.1.angle))
            .map(|(i, _)| i)
            .expect("raw is not empty");
        let s = raw[smallest];
        let mut kept: SmallVec<[Cap; 8]> = SmallVec::new();
        kept.push(s);
        for (i, cap) in raw.iter().enumerate() {
            if i != smallest && !s.inside(cap) {
                kept.push(*cap);
            }
        }
        let mut removed: SmallVec<[bool; 8]> = SmallVec::from_elem(false, kept.len());
        for j in 0..kept.len() {
            for i in 0..kept.len() {
                if i != j && !removed[i] && kept[i].inside(&kept[j]) {
                    removed[j] = true;
                    break;
                }
            }
        }
        let mut k = 0;
        kept.retain(|_| {
            k += 1;
            !removed[k - 1]
        });
        region.caps = kept;
        region.build();
        region
    }

    fn build(&mut self) {
        let margin = BOUNDARY_MARGIN_KM / EARTH_RADIUS_KM;
        self.caps_margin = self.caps.iter().map(|c| c.widened(margin)).collect();
        self.frames = self
            .caps
            .iter()
            .map(|c| {
                let u = perpendicular(c.center);
                (u, cross(c.center, u))
            })
            .collect();
        let n = self.caps.len();
        // Corner angles per circle.
        let mut on_circle: SmallVec<[SmallVec<[f64; 8]>; 8]> =
            SmallVec::from_elem(SmallVec::new(), n);
        for i in 0..n {
            for j in (i + 1)..n {
                for x in circle_crossings(&self.caps[i], &self.caps[j])
                    .into_iter()
                    .flatten()
                {
                    if self.contains(x) {
                        self.witnesses.push(x);
                        on_circle[i].push(self.param(i, x));
                        on_circle[j].push(self.param(j, x));
                    }
                }
            }
        }
        for (i, angles) in on_circle.iter_mut().enumerate() {
            if angles.is_empty() {
                let p = self.point_on_circle(i, 0.0);
                if self.contains(p) {
                    self.witnesses.push(p);
                    self.arcs.push(BoundaryArc {
                        cap: i,
                        from: 0.0,
                        to: TAU,
                    });
                }
                continue;
            }
            angles.sort_by(f64::total_cmp);
            for k in 0..angles.len() {
                let from = angles[k];
                let to = if k + 1 < angles.len() {
                    angles[k + 1]
                } else {
                    angles[0] + TAU
                };
                if to - from <= 1e-15 {
                    continue;
                }
                if self.contains(self.point_on_circle(i, 0.5 * (from + to))) {
                    self.arcs.push(BoundaryArc { cap: i, from, to });
                }
            }
        }
        self.extent = if self.witnesses.is_empty() {
            Extent::Empty
        } else {
            Extent::Bounded
        };
    }

    #[inline]
    fn param(&self, i: usize, x: Vec3) -> f64 {
        let (u, v) = self.frames[i];
        dot(x, v).atan2(dot(x, u))
    }

    /// The point at angle `s` on the circle of cap `i` (frame of [`Region::frame`]).
    pub fn point_on_circle(&self, i: usize, s: f64) -> Vec3 {
        let c = &self.caps[i];
        let (u, v) = self.frames[i];
        let (ss, cs) = s.sin_cos();
        add(
            scale(c.center, c.cos),
            scale(add(scale(u, cs), scale(v, ss)), c.sin),
        )
    }

    pub fn extent(&self) -> Extent {
        self.extent
    }
    pub fn is_empty(&self) -> bool {
        self.extent == Extent::Empty
    }
    /// The non-redundant caps (widened by [`SLACK_KM`]).
    pub fn caps(&self) -> &[Cap] {
        &self.caps
    }
    /// The same caps widened by a further [`BOUNDARY_MARGIN_KM`].
    pub fn caps_with_margin(&self) -> &[Cap] {
        &self.caps_margin
    }
    /// Points of the region meeting each of its connected components (empty iff the region is).
    pub fn witnesses(&self) -> &[Vec3] {
        &self.witnesses
    }
    pub fn boundary(&self) -> &[BoundaryArc] {
        &self.arcs
    }
    pub fn frame(&self, i: usize) -> (Vec3, Vec3) {
        self.frames[i]
    }

    /// Whether `p` lies in the region (within the 1 m slack). Unconstrained regions contain
    /// every point.
    #[inline]
    pub fn contains(&self, p: Vec3) -> bool {
        self.caps.iter().all(|c| c.contains(p))
    }

    /// Whether `p` lies in the region widened by [`BOUNDARY_MARGIN_KM`].
    #[inline]
    pub fn contains_with_margin(&self, p: Vec3) -> bool {
        self.caps_margin.iter().all(|c| c.contains(p))
    }

    /// Centre of the region: its area centroid (the normalised vector area, from the boundary
    /// by Stokes' theorem) when that lies in the region, else the mean of its witnesses and arc
    /// midpoints, else a witness. `None` unless bounded.
    pub fn centroid(&self) -> Option<Vec3> {
        if self.extent != Extent::Bounded {
            return None;
        }
        // ∫_K x dA = ½ ∮ x × dx for a region K of the unit sphere. On the circle of cap c
        // (frame u, v, c right-handed), x(s) = cosθ c + sinθ (cos s u + sin s v) and
        // x × x' = sin²θ c − sinθ cosθ (cos s u + sin s v), integrated in closed form.
        let mut area_vec = [0.0; 3];
        for arc in &self.arcs {
            let c = &self.caps[arc.cap];
            let (u, v) = self.frames[arc.cap];
            let ds = arc.to - arc.from;
            let (s1, c1) = arc.from.sin_cos();
            let (s2, c2) = arc.to.sin_cos();
            let k = c.sin * c.cos;
            area_vec = add(area_vec, scale(c.center, c.sin * c.sin * ds));
            area_vec = sub(area_vec, scale(u, k * (s2 - s1)));
            area_vec = add(area_vec, scale(v, k * (c2 - c1)));
        }
        if let Some(g) = normalize(area_vec) {
            if self.contains(g) {
                return Some(g);
            }
        }
        let mut sum = [0.0; 3];
        for w in &self.witnesses {
            sum = add(sum, *w);
        }
        for arc in &self.arcs {
            sum = add(
                sum,
                self.point_on_circle(arc.cap, 0.5 * (arc.from + arc.to)),
            );
        }
        if let Some(g) = normalize(sum) {
            if self.contains(g) {
                return Some(g);
            }
        }
        self.witnesses.first().copied()
    }

    /// Largest angle (radians) from `g` to any point of the region: the exact maximum, attained
    /// at the antipode of `g`, at a corner, or at the point of a boundary circle farthest from
    /// `g`.
    pub fn max_angle_from(&self, g: Vec3) -> f64 {
        match self.extent {
            Extent::Empty => return 0.0,
            Extent::Unconstrained => return PI,
            Extent::Bounded => {}
        }
        let anti = scale(g, -1.0);
        if self.contains(anti) {
            return PI;
        }
        let mut best: f64 = 0.0;
        for w in &self.witnesses {
            best = best.max(angle(g, *w));
        }
        for (i, c) in self.caps.iter().enumerate() {
            // Farthest point of circle i from g lies in the plane of g and the centre, on the
            // side away from g.
            let away = sub(scale(c.center, dot(g, c.center)), g);
            let dir = match normalize(away) {
                Some(d) => d,
                None => self.frames[i].0,
            };
            let dir = sub(dir, scale(c.center, dot(dir, c.center)));
            let Some(dir) = normalize(dir) else { continue };
            let far = add(scale(c.center, c.cos), scale(dir, c.sin));
            if self.contains(far) {
                best = best.max(angle(g, far));
            }
        }
        best
    }
}

/// The (up to two) points where the circles of caps `a` and `b` cross.
pub fn circle_crossings(a: &Cap, b: &Cap) -> [Option<Vec3>; 2] {
    let d = dot(a.center, b.center);
    let den = 1.0 - d * d;
    if den < 1e-18 {
        // Same or opposite centres: the circles coincide or are disjoint; no isolated corner.
        return [None, None];
    }
    let alpha = (a.cos - b.cos * d) / den;
    let beta = (b.cos - a.cos * d) / den;
    let base = add(scale(a.center, alpha), scale(b.center, beta));
    let g2 = (1.0 - dot(base, base)) / den;
    if g2 < 0.0 {
        return [None, None];
    }
    let w = cross(a.center, b.center);
    let g = g2.sqrt();
    let p = normalize(add(base, scale(w, g)));
    let q = normalize(sub(base, scale(w, g)));
    [p, q]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoPoint;

    fn p(lat: f64, lon: f64) -> Vec3 {
        GeoPoint::new(lat, lon).unwrap().to_unit()
    }

    #[test]
    fn single_cap_is_bounded_with_one_full_arc() {
        let r = Region::from_disks([(p(10.0, 20.0), 500.0)]);
        assert_eq!(r.extent(), Extent::Bounded);
        assert_eq!(r.boundary().len(), 1);
        let g = r.centroid().unwrap();
        assert!(angle(g, p(10.0, 20.0)) < 1e-9);
        let max_km = r.max_angle_from(g) * EARTH_RADIUS_KM;
        assert!((max_km - 500.001).abs() < 1e-6, "{max_km}");
    }

    #[test]
    fn disjoint_caps_are_empty_and_tangent_caps_are_not() {
        let a = p(0.0, 0.0);
        let b = p(0.0, 10.0);
        let d = angle(a, b) * EARTH_RADIUS_KM;
        assert!(Region::from_disks([(a, d / 2.0 - 0.01), (b, d / 2.0 - 0.01)]).is_empty());
        // Exactly tangent: the single common point must survive.
        let t = Region::from_disks([(a, d / 2.0), (b, d / 2.0)]);
        assert_eq!(t.extent(), Extent::Bounded);
        assert!(t.contains(p(0.0, 5.0)));
    }

    #[test]
    fn lens_centroid_and_radius() {
        let a = p(0.0, 0.0);
        let b = p(0.0, 10.0);
        let d = angle(a, b) * EARTH_RADIUS_KM; // ≈ 1112 km
        let r = Region::from_disks([(a, 800.0), (b, 800.0), (p(40.0, 5.0), 19_000.0)]);
        assert_eq!(r.caps().len(), 2, "the huge cap is redundant");
        let g = r.centroid().unwrap();
        assert!(
            angle(g, p(0.0, 5.0)) < 1e-6,
            "symmetric lens centred between"
        );
        // Farthest points are the two corners: half-chord of the lens.
        let half = d / 2.0;
        let corner = ((800.001f64 / EARTH_RADIUS_KM).cos() / (half / EARTH_RADIUS_KM).cos()).acos()
            * EARTH_RADIUS_KM;
        let max_km = r.max_angle_from(g) * EARTH_RADIUS_KM;
        assert!((max_km - corner).abs() < 1e-3, "{max_km} vs {corner}");
    }

    #[test]
    fn hole_from_large_cap_is_handled() {
        // A cap larger than a hemisphere excludes a small cap around the antipode of its centre.
        let big = Region::from_disks([(p(0.0, 0.0), 0.9 * PI * EARTH_RADIUS_KM)]);
        assert!(!big.contains(p(0.0, 180.0)));
        assert!(big.contains(p(0.0, 90.0)));
        assert_eq!(
            big.max_angle_from(p(0.0, 0.0)),
            0.9 * PI + SLACK_KM / EARTH_RADIUS_KM
        );
    }
}
