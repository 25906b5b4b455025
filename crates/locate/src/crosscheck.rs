//! Landmark cross-checks: landmarks measure each other, and a pair whose round trip is faster
//! than 2/3 c allows for their stated distance proves that at least one of the two stated
//! places is wrong (location.md §2.5: 84 such pairs in the WonderProxy matrix, "all traceable
//! to wrongly stated server locations"). One lying landmark can otherwise "prove" a chip in
//! China to be in Singapore, so the verifier screens landmarks before building any region.
//!
//! Which endpoint of a contradicting pair is wrong cannot be decided from that pair alone; a
//! landmark that contradicts *several* others is the common factor. The screen removes, one at
//! a time, the landmark with the most contradictions among those left (ties: the first by
//! input order), while some landmark contradicts two or more others. Pairs left over are
//! isolated (each landmark contradicts just one other): both are flagged, since nothing
//! decides between them and dropping a landmark only widens regions, which stays sound.
//! On the WonderProxy matrix this flags the seven servers the reference names plus the two
//! partners of its isolated pairs (see `tests/wonderproxy.rs`).

use crate::bounds::FIBRE_KM_PER_MS_RTT;
use crate::geo::{angle, EARTH_RADIUS_KM};
use crate::verdict::LandmarkSet;
use std::collections::HashMap;

/// Tolerance for rounding in stated coordinates (km): a contradiction must exceed it.
pub const CONTRADICTION_TOLERANCE_KM: f64 = 0.001;

/// One contradicting pair: their stated distance exceeds what their round trip allows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contradiction {
    pub a: usize,
    pub b: usize,
    pub rtt_ms: f64,
    pub distance_km: f64,
    pub bound_km: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CrossCheck {
    /// Per landmark: its stated place contradicts physics.
    pub flagged: Vec<bool>,
    /// Per landmark: landmarks it contradicts, in input order.
    pub conflicts: Vec<Vec<usize>>,
    /// Evidence: every contradicting pair (min RTT over both directions).
    pub pairs: Vec<Contradiction>,
}

/// Screens landmarks using landmark-to-landmark round trips `(a, b, rtt_ms)` (either
/// direction, repeats allowed; the minimum per unordered pair counts; self-pairs and indices
/// out of range are ignored). No τ_min is subtracted: landmarks are not chips with certified
/// processing delays, and subtracting nothing keeps the test from flagging honest landmarks.
pub fn cross_check(landmarks: &LandmarkSet, rtts: &[(usize, usize, f64)]) -> CrossCheck {
    let n = landmarks.len();
    let mut best: HashMap<(usize, usize), f64> = HashMap::new();
    for &(a, b, rtt) in rtts {
        if a == b || a >= n || b >= n || !rtt.is_finite() {
            continue;
        }
        let key = (a.min(b), a.max(b));
        let e = best.entry(key).or_insert(rtt);
        if rtt < *e {
            *e = rtt;
        }
    }
    let mut keys: Vec<_> = best.keys().copied().collect();
    keys.sort_unstable();
    let mut pairs = Vec::new();
    let mut conflicts = vec![Vec::new(); n];
    for (a, b) in keys {
        let rtt = best[&(a, b)];
        let distance_km = angle(landmarks.unit(a), landmarks.unit(b)) * EARTH_RADIUS_KM;
        let bound_km = FIBRE_KM_PER_MS_RTT * rtt.max(0.0);
        if distance_km > bound_km + CONTRADICTION_TOLERANCE_KM {
            pairs.push(Contradiction {
                a,
                b,
                rtt_ms: rtt,
                distance_km,
                bound_km,
            });
            conflicts[a].push(b);
            conflicts[b].push(a);
        }
    }
    for c in &mut conflicts {
        c.sort_unstable();
    }
    let mut flagged = vec![false; n];
    let mut degree: Vec<usize> = conflicts.iter().map(Vec::len).collect();
    while let Some((worst, &d)) = degree
        .iter()
        .enumerate()
        .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(&x.0)))
    {
        if d == 0 {
            break;
        }
        if d == 1 {
            // Only isolated pairs remain: flag both ends of each.
            for i in 0..n {
                if degree[i] > 0 {
                    flagged[i] = true;
                }
            }
            break;
        }
        flagged[worst] = true;
        degree[worst] = 0;
        for &o in &conflicts[worst] {
            if !flagged[o] {
                degree[o] = degree[o].saturating_sub(1);
            }
        }
    }
    CrossCheck {
        flagged,
        conflicts,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoPoint;

    #[test]
    fn liar_is_flagged_with_its_evidence() {
        // Three honest landmarks in Europe and one "in Singapore" that answers like Frankfurt.
        let set = LandmarkSet::new([
            ("fra".to_string(), GeoPoint::new(50.11, 8.68).unwrap()),
            ("ams".to_string(), GeoPoint::new(52.37, 4.90).unwrap()),
            ("par".to_string(), GeoPoint::new(48.86, 2.35).unwrap()),
            ("sin".to_string(), GeoPoint::new(1.35, 103.82).unwrap()),
        ])
        .unwrap();
        let rtts = [
            (0, 1, 7.0),
            (0, 2, 9.0),
            (1, 2, 8.0),
            (3, 0, 1.0),
            (3, 1, 7.5),
            (2, 3, 9.5),
            (1, 0, 6.5),
        ];
        let check = cross_check(&set, &rtts);
        assert_eq!(check.flagged, [false, false, false, true]);
        assert_eq!(check.conflicts[3], [0, 1, 2]);
        assert_eq!(check.conflicts[0], [3]);
        assert_eq!(check.pairs.len(), 3);
    }

    #[test]
    fn isolated_pair_flags_both() {
        let set = LandmarkSet::new([
            ("a".to_string(), GeoPoint::new(0.0, 0.0).unwrap()),
            ("b".to_string(), GeoPoint::new(0.0, 10.0).unwrap()),
        ])
        .unwrap();
        let check = cross_check(&set, &[(0, 1, 5.0)]);
        assert_eq!(check.flagged, [true, true]);
        let fine = cross_check(&set, &[(0, 1, 11.2)]);
        assert_eq!(fine.flagged, [false, false]);
    }
}
