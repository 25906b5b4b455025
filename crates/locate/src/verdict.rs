//! Verdicts per chip (issue 5, item 1):
//!
//! * `verified` — the region is non-empty, contains the licensed site and provably misses every
//!   prohibited country;
//! * `inconclusive` — the region is too large to exclude a prohibited country (or there is no
//!   measurement at all): not a pass (location.md §2.6 item 6);
//! * `violation` — the region is empty (contradictory measurements), or the licensed site lies
//!   outside it, or it lies wholly inside prohibited territory.

use crate::bounds::{max_distance_km, validate_tau_min_ms};
use crate::countries::{Relation, Zone};
use crate::error::LocateError;
use crate::geo::{GeoPoint, Vec3, EARTH_RADIUS_KM};
use crate::region::{Extent, Region};
use rayon::prelude::*;
use std::collections::HashMap;

/// Landmarks at known places, indexed for fast lookup (positions kept as unit vectors).
#[derive(Debug, Clone, Default)]
pub struct LandmarkSet {
    ids: Vec<String>,
    points: Vec<GeoPoint>,
    units: Vec<Vec3>,
    by_id: HashMap<String, usize>,
}

impl LandmarkSet {
    pub fn new(
        landmarks: impl IntoIterator<Item = (String, GeoPoint)>,
    ) -> Result<Self, LocateError> {
        let mut set = Self::default();
        for (id, p) in landmarks {
            if set.by_id.insert(id.clone(), set.ids.len()).is_some() {
                return Err(LocateError::DuplicateLandmark(id));
            }
            set.ids.push(id);
            set.units.push(p.to_unit());
            set.points.push(p);
        }
        Ok(set)
    }
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    pub fn index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }
    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }
    pub fn point(&self, i: usize) -> GeoPoint {
        self.points[i]
    }
    pub fn unit(&self, i: usize) -> Vec3 {
        self.units[i]
    }
}

/// One landmark's minimum round-trip time to a chip (validated with
/// [`crate::bounds::validate_rtt_ms`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub landmark: usize,
    pub rtt_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verified,
    Inconclusive,
    Violation,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Violation => "violation",
        }
    }
}

/// Why a verdict is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Region non-empty, contains the site, misses every prohibited country.
    Proven,
    /// No usable measurement.
    NoMeasurements,
    /// The region meets a prohibited country: it cannot be excluded.
    MayBeProhibited,
    /// The measurements contradict each other (no point satisfies all bounds).
    Contradictory,
    /// The licensed site lies outside the region.
    SiteOutsideRegion,
    /// Every point of the region is in prohibited territory.
    InsideProhibited,
}

/// Size and place of a region: centroid and the largest distance from it to a region point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegionSummary {
    pub max_radius_km: f64,
    /// `[lat, lon]` in degrees.
    pub centroid: [f64; 2],
}

/// The outcome for one chip.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Assessment {
    pub verdict: Verdict,
    /// The region provably misses every prohibited country (false for an empty region).
    pub outside_prohibited: bool,
    /// The licensed site lies inside the region.
    pub claim_consistent: bool,
    /// `None` when the region is empty or unconstrained.
    pub region: Option<RegionSummary>,
    pub reason: Reason,
}

/// Verifies chips against one prohibited zone and one certified τ_min.
#[derive(Debug, Clone)]
pub struct Verifier<'z> {
    zone: &'z Zone,
    tau_min_ms: f64,
}

impl<'z> Verifier<'z> {
    pub fn new(zone: &'z Zone, tau_min_ms: f64) -> Result<Self, LocateError> {
        Ok(Self {
            zone,
            tau_min_ms: validate_tau_min_ms(tau_min_ms)?,
        })
    }

    pub fn tau_min_ms(&self) -> f64 {
        self.tau_min_ms
    }

    /// The region allowed by the observations (exact intersection of the 2/3 c caps).
    pub fn region(&self, landmarks: &LandmarkSet, observations: &[Observation]) -> Region {
        Region::from_disks(
            observations
                .iter()
                .filter(|o| o.landmark < landmarks.len())
                .map(|o| {
                    (
                        landmarks.units[o.landmark],
                        max_distance_km(o.rtt_ms, self.tau_min_ms),
                    )
                }),
        )
    }

    /// Verdict for one chip claiming to be at `site`. Observations naming a landmark index out
    /// of range are ignored (callers resolve ids with [`LandmarkSet::index`] first).
    pub fn verify(
        &self,
        landmarks: &LandmarkSet,
        observations: &[Observation],
        site: GeoPoint,
    ) -> Assessment {
        let region = self.region(landmarks, observations);
        self.assess(&region, site)
    }

    /// Verdict for an already built region.
    pub fn assess(&self, region: &Region, site: GeoPoint) -> Assessment {
        match region.extent() {
            Extent::Unconstrained => Assessment {
                verdict: Verdict::Inconclusive,
                outside_prohibited: false,
                claim_consistent: true,
                region: None,
                reason: Reason::NoMeasurements,
            },
            Extent::Empty => Assessment {
                verdict: Verdict::Violation,
                outside_prohibited: false,
                claim_consistent: false,
                region: None,
                reason: Reason::Contradictory,
            },
            Extent::Bounded => {
                let claim_consistent = region.contains(site.to_unit());
                let relation = self.zone.relation(region);
                let outside_prohibited = relation == Relation::Misses;
                let (verdict, reason) = if !claim_consistent {
                    (Verdict::Violation, Reason::SiteOutsideRegion)
                } else if relation == Relation::Inside {
                    (Verdict::Violation, Reason::InsideProhibited)
                } else if outside_prohibited {
                    (Verdict::Verified, Reason::Proven)
                } else {
                    (Verdict::Inconclusive, Reason::MayBeProhibited)
                };
                Assessment {
                    verdict,
                    outside_prohibited,
                    claim_consistent,
                    region: summarize(region),
                    reason,
                }
            }
        }
    }

    /// Verifies many chips on rayon's thread pool, results in input order.
    pub fn verify_many<C>(&self, landmarks: &LandmarkSet, chips: &[C]) -> Vec<Assessment>
    where
        C: AsRef<[Observation]> + HasSite + Sync,
    {
        chips
            .par_iter()
            .map(|c| self.verify(landmarks, c.as_ref(), c.site()))
            .collect()
    }
}

/// A chip's claimed (licensed) site, for [`Verifier::verify_many`].
pub trait HasSite {
    fn site(&self) -> GeoPoint;
}

/// A chip to verify: its observations and licensed site.
#[derive(Debug, Clone)]
pub struct Chip {
    pub observations: Vec<Observation>,
    pub site: GeoPoint,
}
impl AsRef<[Observation]> for Chip {
    fn as_ref(&self) -> &[Observation] {
        &self.observations
    }
}
impl HasSite for Chip {
    fn site(&self) -> GeoPoint {
        self.site
    }
}

/// Centroid and exact maximal radius of a bounded region.
pub fn summarize(region: &Region) -> Option<RegionSummary> {
    let g = region.centroid()?;
    let c = GeoPoint::from_unit(g);
    Some(RegionSummary {
        max_radius_km: region.max_angle_from(g) * EARTH_RADIUS_KM,
        centroid: [c.lat(), c.lon()],
    })
}
