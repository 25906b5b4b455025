//! Property tests of the geometry's soundness and exactness (issue 5 bars):
//!
//! * an honest chip's true position always lies in its region, so it never gets `violation`
//!   unless it truly sits in prohibited territory, and a chip truly inside a prohibited
//!   country is never reported `outside_prohibited`;
//! * "misses" is decided exactly: against a polygon edge that follows a parallel (the case
//!   where lon/lat-straight edges and great circles differ most), a disk that stops short of
//!   the edge by more than 0.2 km is proven to miss, one that reaches it never is;
//! * brute force: sampled points of the region that fall inside China contradict a "misses".

use proptest::prelude::*;
use stackport_locate::bounds::{max_distance_km, FIBRE_KM_PER_MS_RTT};
use stackport_locate::countries::{Atlas, CountryCode, Relation, Zone};
use stackport_locate::geo::EARTH_RADIUS_KM;
use stackport_locate::region::Region;
use stackport_locate::verdict::{LandmarkSet, Observation, Verdict, Verifier};
use stackport_locate::GeoPoint;
use std::sync::OnceLock;

fn prc() -> &'static (Atlas, Zone) {
    static CELL: OnceLock<(Atlas, Zone)> = OnceLock::new();
    CELL.get_or_init(|| {
        let atlas = Atlas::natural_earth_50m().unwrap();
        let zone = atlas.zone(&CountryCode::default_prohibited()).unwrap();
        (atlas, zone)
    })
}

/// A point `dist_km` from `from` at bearing `bearing_deg` (great circle).
fn destination(from: GeoPoint, bearing_deg: f64, dist_km: f64) -> GeoPoint {
    let (lat1, lon1) = (from.lat().to_radians(), from.lon().to_radians());
    let (b, d) = (bearing_deg.to_radians(), dist_km / EARTH_RADIUS_KM);
    let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * b.cos()).asin();
    let lon2 = lon1 + (b.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
    let lon2 = (lon2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
    GeoPoint::new(lat2.to_degrees().clamp(-90.0, 90.0), lon2).unwrap()
}

#[derive(Debug, Clone)]
struct Scenario {
    truth: GeoPoint,
    /// (bearing, distance km, stretch ≥ 1, extra delay ms ≥ 0)
    landmarks: Vec<(f64, f64, f64, f64)>,
    tau_fraction: f64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    // Chips around East and South-East Asia, where the prohibited border is near.
    (
        (5.0f64..50.0, 70.0f64..135.0),
        prop::collection::vec(
            (
                0.0f64..360.0,
                1.0f64..4000.0,
                prop_oneof![Just(1.0), 1.0f64..3.0],
                prop_oneof![Just(0.0), 0.0f64..8.0],
            ),
            1..25,
        ),
        prop_oneof![Just(0.0), 0.0f64..1.0],
    )
        .prop_map(|((lat, lon), landmarks, tau_fraction)| Scenario {
            truth: GeoPoint::new(lat, lon).unwrap(),
            landmarks,
            tau_fraction,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, .. ProptestConfig::default() })]

    #[test]
    fn honest_chips_are_never_violations_and_prc_chips_never_pass(s in scenario()) {
        let (_, zone) = prc();
        let points: Vec<GeoPoint> = s.landmarks.iter().map(|l| destination(s.truth, l.0, l.1)).collect();
        let set = LandmarkSet::new(points.iter().enumerate().map(|(i, p)| (format!("L{i}"), *p))).unwrap();
        // τ_min may only be a lower bound of the real extra delay: use a fraction of the
        // smallest extra delay.
        let min_extra = s.landmarks.iter().map(|l| l.3).fold(f64::INFINITY, f64::min);
        let tau = s.tau_fraction * min_extra;
        let obs: Vec<Observation> = s.landmarks.iter().enumerate().map(|(i, l)| {
            let d = s.truth.distance_km(&points[i]);
            Observation { landmark: i, rtt_ms: (d * l.2 / FIBRE_KM_PER_MS_RTT + l.3).max(1e-6) }
        }).collect();
        let verifier = Verifier::new(zone, tau).unwrap();
        let a = verifier.verify(&set, &obs, s.truth);
        let inside = zone.contains(s.truth.lon(), s.truth.lat());
        prop_assert!(a.claim_consistent, "truth outside its own region: {a:?}");
        if inside {
            prop_assert!(!a.outside_prohibited, "chip in the PRC reported outside: {a:?}");
            prop_assert_ne!(a.verdict, Verdict::Verified);
        } else {
            prop_assert_ne!(a.verdict, Verdict::Violation, "honest chip got a violation: {:?}", a);
        }
        if let Some(r) = a.region {
            let c = GeoPoint::new(r.centroid[0], r.centroid[1]).unwrap();
            prop_assert!(c.distance_km(&s.truth) <= r.max_radius_km + 0.01);
        }
    }

    #[test]
    fn brute_force_region_samples_never_contradict_a_miss(s in scenario(), seed in 0u64..1000) {
        let (_, zone) = prc();
        let points: Vec<GeoPoint> = s.landmarks.iter().map(|l| destination(s.truth, l.0, l.1)).collect();
        let disks: Vec<_> = s.landmarks.iter().enumerate().map(|(i, l)| {
            let d = s.truth.distance_km(&points[i]);
            (points[i].to_unit(), max_distance_km(d * l.2 / FIBRE_KM_PER_MS_RTT + l.3, 0.0))
        }).collect();
        let region = Region::from_disks(disks.clone());
        if zone.relation(&region) != Relation::Misses {
            return Ok(());
        }
        // Sample the smallest disk; any sample inside every disk and inside the PRC refutes.
        let (c, r) = disks.iter().min_by(|a, b| a.1.total_cmp(&b.1)).copied().unwrap();
        let centre = GeoPoint::from_unit(c);
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        for _ in 0..400 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = (x >> 11) as f64 / (1u64 << 53) as f64;
            let p = destination(centre, 360.0 * u, r * v.sqrt());
            let pu = p.to_unit();
            let in_all = disks.iter().all(|(c, r)| stackport_locate::geo::angle(*c, pu) * EARTH_RADIUS_KM <= *r);
            prop_assert!(!(in_all && zone.contains(p.lon(), p.lat())), "sample {p:?} in region and PRC");
        }
    }

    /// Exactness against a lon/lat-straight edge along the 50th parallel (10° long: the great
    /// circle through its ends bulges ≈ 60 km north of it).
    #[test]
    fn misses_are_proven_exactly_near_a_parallel_edge(lon in 0.5f64..9.5, lat in 50.02f64..56.0, frac in 0.0f64..1.0) {
        let atlas = Atlas::from_geojson(r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ADM0_A3":"SQR","ISO_A2":"SQ","NAME":"Square"},
            "geometry":{"type":"Polygon","coordinates":[[[0,40],[10,40],[10,50],[0,50],[0,40]]]}}]}"#).unwrap();
        let zone = atlas.zone(&[CountryCode::parse("SQ").unwrap()]).unwrap();
        let c = GeoPoint::new(lat, lon).unwrap();
        // Nearest point of the edge is straight south (along the meridian), or a corner.
        let gap = ((lat - 50.0).to_radians() * EARTH_RADIUS_KM)
            .min(c.distance_km(&GeoPoint::new(50.0, 0.0).unwrap()))
            .min(c.distance_km(&GeoPoint::new(50.0, 10.0).unwrap()));
        let short = Region::from_disks([(c.to_unit(), (gap - 0.2) * frac)]);
        prop_assert_eq!(zone.relation(&short), Relation::Misses);
        let reach = Region::from_disks([(c.to_unit(), gap + 0.001 + 100.0 * frac)]);
        prop_assert_ne!(zone.relation(&reach), Relation::Misses);
    }
}

#[test]
fn chip_deep_in_china_is_a_violation_and_taipei_can_be_verified() {
    let (_, zone) = prc();
    let chengdu = GeoPoint::new(30.66, 104.06).unwrap();
    let set = LandmarkSet::new([
        ("a".to_string(), destination(chengdu, 0.0, 50.0)),
        ("b".to_string(), destination(chengdu, 120.0, 50.0)),
    ])
    .unwrap();
    let obs = [
        Observation {
            landmark: 0,
            rtt_ms: 1.2,
        },
        Observation {
            landmark: 1,
            rtt_ms: 1.2,
        },
    ];
    let v = Verifier::new(zone, 0.0).unwrap();
    // Claimed in Singapore, measured in Chengdu: the site is outside the region.
    let a = v.verify(&set, &obs, GeoPoint::new(1.35, 103.82).unwrap());
    assert_eq!(a.verdict, Verdict::Violation);
    assert!(!a.outside_prohibited);
    // Claimed in Chengdu: the whole region is in China.
    let b = v.verify(&set, &obs, chengdu);
    assert_eq!(b.verdict, Verdict::Violation);
    assert_eq!(
        b.reason,
        stackport_locate::verdict::Reason::InsideProhibited
    );

    // Taipei with a landmark in the same metro, 1 ms RTT: 100 km < 181 km to the PRC border.
    let taipei = GeoPoint::new(25.03, 121.56).unwrap();
    let set = LandmarkSet::new([("tpe".to_string(), destination(taipei, 90.0, 10.0))]).unwrap();
    let a = v.verify(
        &set,
        &[Observation {
            landmark: 0,
            rtt_ms: 1.0,
        }],
        taipei,
    );
    assert_eq!(a.verdict, Verdict::Verified, "{a:?}");
    // A 2.5 ms budget reaches Fujian: inconclusive, not a pass.
    let b = v.verify(
        &set,
        &[Observation {
            landmark: 0,
            rtt_ms: 2.5,
        }],
        taipei,
    );
    assert_eq!(b.verdict, Verdict::Inconclusive, "{b:?}");
    // No measurements at all: inconclusive, no region.
    let c = v.verify(&set, &[], taipei);
    assert_eq!((c.verdict, c.region), (Verdict::Inconclusive, None));
    // Contradictory: two landmarks 1,000 km apart both within 1 ms.
    let set = LandmarkSet::new([
        ("x".to_string(), taipei),
        ("y".to_string(), destination(taipei, 180.0, 1000.0)),
    ])
    .unwrap();
    let obs = [
        Observation {
            landmark: 0,
            rtt_ms: 1.0,
        },
        Observation {
            landmark: 1,
            rtt_ms: 1.0,
        },
    ];
    let d = v.verify(&set, &obs, taipei);
    assert_eq!(
        (d.verdict, d.region, d.outside_prohibited),
        (Verdict::Violation, None, false)
    );
}

/// A worldwide honest fleet (the benchmark's generator: 8 nearest of 300 landmarks plus 12–32
/// random ones, stretch 1.2–2.5, 0.2–3 ms extra): violations only for chips truly in the PRC.
#[test]
fn honest_worldwide_fleet_has_no_violation_outside_the_prc() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let (_, zone) = prc();
    let mut rng = StdRng::seed_from_u64(11);
    let point = |rng: &mut StdRng| {
        let z: f64 = rng.gen_range(-0.77..0.94);
        GeoPoint::new(z.asin().to_degrees(), rng.gen_range(-180.0..180.0)).unwrap()
    };
    let points: Vec<GeoPoint> = (0..300).map(|_| point(&mut rng)).collect();
    let set = LandmarkSet::new(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("L{i}"), *p)),
    )
    .unwrap();
    let v = Verifier::new(zone, 0.0).unwrap();
    let (mut in_prc, mut verified) = (0, 0);
    for _ in 0..4000 {
        let site = point(&mut rng);
        let mut order: Vec<(f64, usize)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (site.distance_km(p), i))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut chosen: Vec<usize> = order[..8].iter().map(|o| o.1).collect();
        let extra = rng.gen_range(12..=32);
        while chosen.len() < 8 + extra {
            let k = rng.gen_range(0..points.len());
            if !chosen.contains(&k) {
                chosen.push(k);
            }
        }
        let obs: Vec<Observation> = chosen
            .iter()
            .map(|&l| Observation {
                landmark: l,
                rtt_ms: site.distance_km(&points[l]) / FIBRE_KM_PER_MS_RTT
                    * rng.gen_range(1.2..2.5)
                    + rng.gen_range(0.2..3.0),
            })
            .collect();
        let a = v.verify(&set, &obs, site);
        assert!(a.claim_consistent);
        if zone.contains(site.lon(), site.lat()) {
            in_prc += 1;
            assert!(
                !a.outside_prohibited && a.verdict != Verdict::Verified,
                "{site:?} {a:?}"
            );
        } else {
            assert_ne!(a.verdict, Verdict::Violation, "{site:?} {a:?}");
            verified += (a.verdict == Verdict::Verified) as usize;
        }
    }
    assert!(in_prc > 0 && verified > 3000, "{in_prc} {verified}");
}

/// Exactness on the real PRC polygons, single disks: against an independent oracle (every
/// lon/lat edge of CHN, HKG and MAC sampled every ≤ 200 m, so the sampled distance to the
/// border overestimates the true one by at most 0.1 km), a disk that stops 0.25 km short of
/// the border is proven to miss, and one that reaches past it is never.
#[test]
fn single_disks_against_the_real_prc_border_are_decided_exactly() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use stackport_locate::geo::{angle, lonlat_to_unit};
    let (atlas, zone) = prc();
    let mut samples = Vec::new();
    for c in atlas
        .countries()
        .iter()
        .filter(|c| ["CHN", "HKG", "MAC"].contains(&c.adm0_a3.as_str()))
    {
        for ring in c.polygons.iter().flatten() {
            for w in ring.windows(2) {
                let (p, q) = (w[0], w[1]);
                let len =
                    angle(lonlat_to_unit(p[0], p[1]), lonlat_to_unit(q[0], q[1])) * EARTH_RADIUS_KM;
                // Edge length on the sphere ≤ R·√(Δφ² + Δλ²); sample by that bound.
                let bound = EARTH_RADIUS_KM
                    * ((q[0] - p[0]).to_radians().hypot((q[1] - p[1]).to_radians()));
                let n = (bound.max(len) / 0.2).ceil().max(1.0) as usize;
                for k in 0..n {
                    let t = k as f64 / n as f64;
                    samples.push(lonlat_to_unit(
                        p[0] + t * (q[0] - p[0]),
                        p[1] + t * (q[1] - p[1]),
                    ));
                }
            }
        }
    }
    let mut rng = StdRng::seed_from_u64(5);
    let mut checked = 0;
    while checked < 40 {
        let centre = GeoPoint::new(rng.gen_range(15.0..50.0), rng.gen_range(75.0..130.0)).unwrap();
        if zone.contains(centre.lon(), centre.lat()) {
            continue;
        }
        let c = centre.to_unit();
        let gap = samples
            .iter()
            .map(|s| angle(c, *s))
            .fold(f64::INFINITY, f64::min)
            * EARTH_RADIUS_KM;
        if gap > 3000.0 {
            continue;
        }
        checked += 1;
        let short = Region::from_disks([(c, gap - 0.25)]);
        assert_eq!(
            zone.relation(&short),
            Relation::Misses,
            "{centre:?} gap {gap} km"
        );
        let reach = Region::from_disks([(c, gap + 0.01)]);
        assert_ne!(
            zone.relation(&reach),
            Relation::Misses,
            "{centre:?} gap {gap} km"
        );
    }
}

/// Every Natural Earth country can be a prohibited zone (poles, antimeridian, tiny islands),
/// and its own interior points are never proven outside it.
#[test]
fn every_country_prepares_and_contains_its_own_points() {
    let (atlas, _) = prc();
    let codes: Vec<CountryCode> = atlas
        .countries()
        .iter()
        .map(|c| CountryCode::parse(&c.adm0_a3).unwrap())
        .collect();
    let started = std::time::Instant::now();
    let world = atlas.zone(&codes).unwrap();
    eprintln!("whole-world zone prepared in {:?}", started.elapsed());
    for c in atlas.countries() {
        // A vertex of the country's largest ring: on its border, so any disk around it meets it.
        let ring = c.polygons.iter().flatten().max_by_key(|r| r.len()).unwrap();
        let v = ring[ring.len() / 2];
        let p = GeoPoint::new(v[1], v[0]).unwrap();
        let zone = atlas
            .zone(&[CountryCode::parse(&c.adm0_a3).unwrap()])
            .unwrap();
        let region = Region::from_disks([(p.to_unit(), 5.0)]);
        assert_ne!(zone.relation(&region), Relation::Misses, "{}", c.adm0_a3);
        assert_ne!(world.relation(&region), Relation::Misses, "{}", c.adm0_a3);
    }
}
