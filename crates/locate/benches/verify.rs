//! Chip verification throughput (issue 5 speed bars: ≥ 200,000 verifications/s on one core
//! with 20–40 measurements each; 1,000,000 chips re-verified in under a minute on 2 cores).
//!
//! Synthetic but realistic fleet: 300 landmarks at random places, chips at random places,
//! each measured by its 8 nearest landmarks plus 12–32 random others, RTT = stretch × the
//! fibre minimum for the true distance (stretch 1.2–2.5, location.md §2.3) plus 0.2–3 ms of
//! processing and queuing. Countries: the shipped Natural Earth 1:50m file, prohibited CN, HK, MO.
//!
//! Run: `cargo bench -p stackport-locate --bench verify`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stackport_locate::bounds::FIBRE_KM_PER_MS_RTT;
use stackport_locate::countries::{Atlas, CountryCode};
use stackport_locate::verdict::{Chip, LandmarkSet, Observation, Verifier};
use stackport_locate::GeoPoint;

fn random_point(rng: &mut StdRng) -> GeoPoint {
    // Uniform on the sphere, latitudes limited to where data centres are.
    loop {
        let z: f64 = rng.gen_range(-1.0..1.0);
        let lat = z.asin().to_degrees();
        if (-50.0..70.0).contains(&lat) {
            return GeoPoint::new(lat, rng.gen_range(-180.0..180.0)).unwrap();
        }
    }
}

pub fn fleet(n_chips: usize, seed: u64) -> (LandmarkSet, Vec<Chip>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let points: Vec<GeoPoint> = (0..300).map(|_| random_point(&mut rng)).collect();
    let landmarks = LandmarkSet::new(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("L{i}"), *p)),
    )
    .unwrap();
    let chips = (0..n_chips)
        .map(|_| {
            let site = random_point(&mut rng);
            let mut by_distance: Vec<(f64, usize)> = points
                .iter()
                .enumerate()
                .map(|(i, p)| (site.distance_km(p), i))
                .collect();
            by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
            let extra = rng.gen_range(12..=32);
            let mut chosen: Vec<usize> = by_distance[..8].iter().map(|d| d.1).collect();
            while chosen.len() < 8 + extra {
                let k = rng.gen_range(0..points.len());
                if !chosen.contains(&k) {
                    chosen.push(k);
                }
            }
            let observations = chosen
                .into_iter()
                .map(|l| {
                    let d = site.distance_km(&points[l]);
                    let rtt =
                        d / FIBRE_KM_PER_MS_RTT * rng.gen_range(1.2..2.5) + rng.gen_range(0.2..3.0);
                    Observation {
                        landmark: l,
                        rtt_ms: rtt,
                    }
                })
                .collect();
            Chip { observations, site }
        })
        .collect();
    (landmarks, chips)
}

fn bench(c: &mut Criterion) {
    let atlas = Atlas::natural_earth_50m().unwrap();
    let zone = atlas.zone(&CountryCode::default_prohibited()).unwrap();
    let verifier = Verifier::new(&zone, 0.0).unwrap();
    let (landmarks, chips) = fleet(20_000, 7);
    let mut mix = [0usize; 3];
    let mut caps = 0usize;
    let mut honest_violations = 0usize;
    for chip in &chips {
        let a = verifier.verify(&landmarks, &chip.observations, chip.site);
        mix[a.verdict as usize] += 1;
        if a.verdict == stackport_locate::Verdict::Violation
            && !zone.contains(chip.site.lon(), chip.site.lat())
        {
            honest_violations += 1;
        }
        caps += chip.observations.len();
    }
    eprintln!(
        "fleet: {} chips, {:.1} measurements each on average; verified {}, inconclusive {}, violation {} \
         ({} of them outside the PRC)",
        chips.len(),
        caps as f64 / chips.len() as f64,
        mix[0],
        mix[1],
        mix[2],
        honest_violations
    );

    let mut group = c.benchmark_group("locate");
    group.throughput(Throughput::Elements(chips.len() as u64));
    group.bench_function("verify_20k_chips_one_core", |b| {
        b.iter(|| {
            let mut verified = 0usize;
            for chip in &chips {
                let a = verifier.verify(&landmarks, &chip.observations, chip.site);
                verified += a.outside_prohibited as usize;
            }
            verified
        })
    });
    group.finish();

    // 1,000,000 verifications: the 20,000-chip fleet 50 times over, on a 2-thread pool.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("locate_fleet");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("verify_1m_chips_two_threads", |b| {
        b.iter_batched(
            || (),
            |_| {
                pool.install(|| {
                    let mut n = 0;
                    for _ in 0..50 {
                        n += verifier.verify_many(&landmarks, &chips).len();
                    }
                    n
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("locate_setup");
    group.sample_size(10);
    group.bench_function("prepare_zone_cn_hk_mo", |b| {
        b.iter(|| atlas.zone(&CountryCode::default_prohibited()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
