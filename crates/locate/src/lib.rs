//! Chip location verification: signed, delay-based proofs (issue 5).
//!
//! Pure: no sockets, no database. The crate turns landmark measurements (minimum round-trip
//! times from landmarks at known places) into a *sound* statement about where a chip can be:
//! signals cannot travel faster than light in fibre (2/3 c), so a chip answering a landmark
//! within RTT milliseconds lies within 99.93 km × (RTT − τ_min) of it
//! (`../shared/reference/location.md` §2.1 and §2.4). Delay can be added, never removed, so
//! every bound here is one-sided: the true position is always inside the region.
//!
//! # API for the registry
//!
//! Code that stores chips and measurements (store/server, the NATS consumer) calls only these:
//!
//! 1. Once at start-up, load the country shapes and prepare the prohibited zone:
//!    `let atlas = countries::Atlas::natural_earth_50m()?;` (the shipped Natural Earth file,
//!    compiled into the binary) or `Atlas::from_geojson(text)`; then
//!    `let zone = atlas.zone(&[CountryCode::parse("CN")?, ...])?;` (default set:
//!    [`countries::DEFAULT_PROHIBITED`]).
//! 2. Build the landmark table: `let landmarks = verdict::LandmarkSet::new(vec![(id, GeoPoint::new(lat, lon)?), ...])?;`
//!    (`landmarks.index(id)` gives the index used in observations).
//! 3. Screen landmarks against each other (landmark-to-landmark min RTTs):
//!    `let check = crosscheck::cross_check(&landmarks, &[(a_idx, b_idx, rtt_ms), ...]);`
//!    `check.flagged[i]` is true for a landmark whose stated place contradicts 2/3 c;
//!    `check.conflicts[i]` lists the landmarks that prove it; `check.pairs` the evidence.
//!    Drop observations from flagged landmarks before verifying chips.
//! 4. Verify one chip: `let verifier = verdict::Verifier::new(&zone, tau_min_ms)?;`
//!    `let a: verdict::Assessment = verifier.verify(&landmarks, &[Observation { landmark: idx, rtt_ms }], claimed_site);`
//!    `a.verdict` ([`verdict::Verdict`]: Verified / Inconclusive / Violation), `a.outside_prohibited`,
//!    `a.claim_consistent`, `a.region` (`Option<RegionSummary { max_radius_km, centroid }>`),
//!    `a.reason` (why a violation or inconclusive). Observations may repeat a landmark;
//!    the minimum RTT counts. RTTs must already be validated with [`bounds::validate_rtt_ms`].
//!    Fleets: `verifier.verify_many(&landmarks, chips)` runs on rayon's pool.
//! 5. Pictures: `map::render_svg(&map::MapView { atlas: &atlas, zone: &zone, landmarks: &landmarks,
//!    observations: &obs, site, tau_min_ms, title: chip_id }) -> String` (a standalone SVG
//!    document of one verdict: countries, prohibited ones shaded, landmarks and their disks, the
//!    region, the licensed site, a caption with the verdict).
//!
//! Batch CSV contract of `stackport locate verify` / `landmarks-check`: [`batch`].
//!
//! # Geometry
//!
//! Positions live on the WGS84 mean sphere (R = 6,371.0088 km). A landmark's constraint is a
//! spherical cap; the region is the exact intersection of the caps ([`region`]). Country
//! polygons follow RFC 7946 §3.1.1 (edges are straight in longitude/latitude); the test against
//! a region uses great-circle arcs densified so that they stay within 100 m of those edges, and
//! inflates the caps by that margin, so "misses country X" is never claimed falsely
//! ([`countries`]).

pub mod batch;
pub mod bounds;
pub mod countries;
pub mod crosscheck;
pub mod error;
pub mod geo;
pub mod map;
pub mod region;
pub mod verdict;

pub use bounds::FIBRE_KM_PER_MS_RTT;
pub use countries::{Atlas, CountryCode, Zone};
pub use error::LocateError;
pub use geo::GeoPoint;
pub use verdict::{Assessment, LandmarkSet, Observation, RegionSummary, Verdict, Verifier};

pub mod protocol;
