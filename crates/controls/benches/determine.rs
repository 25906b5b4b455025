//! Determinations per second for catalog items, and rulebook load + validation time.
//!
//! cargo bench -p stackport-controls --bench determine

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use stackport_controls::case::CaseInput;
use stackport_controls::{PreparedCase, Rulebook};

fn cases(rb: &Rulebook) -> Vec<PreparedCase> {
    let ids = [
        "nvidia-h100-sxm",
        "nvidia-h200",
        "nvidia-h20",
        "nvidia-a100-sxm",
        "nvidia-b200",
        "amd-mi300x",
        "nvidia-rtx-4090",
        "nvidia-a30",
    ];
    let dests = [
        ("FR", "FR"),
        ("QA", "QA"),
        ("CN", "CN"),
        ("EG", "CN"),
        ("MN", "MN"),
        ("IN", "IN"),
        ("KP", "KP"),
        ("ZW", "ZW"),
    ];
    let dates = [
        "2023-03-01",
        "2024-02-15",
        "2024-08-01",
        "2025-08-01",
        "2026-03-01",
    ];
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for (j, (d, hq)) in dests.iter().enumerate() {
            for (k, date) in dates.iter().enumerate() {
                let posture = if (i + j + k) % 2 == 0 {
                    "enforced"
                } else {
                    "codified"
                };
                let c: CaseInput = serde_json::from_value(serde_json::json!({
                    "id": "b", "date": date, "item": {"catalog": id}, "destination": d,
                    "end_user": {"name": "B", "hq_country": hq}, "posture": posture
                }))
                .expect("case");
                out.push(rb.prepare(&c, &[]).expect("prepared"));
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let rb = Rulebook::embedded().expect("rulebook");
    let cases = cases(&rb);
    let mut g = c.benchmark_group("determine");
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("catalog_items", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in &cases {
                let d = rb.determine(&p.as_case()).expect("determination");
                n += d.rules.len();
            }
            black_box(n)
        })
    });
    g.finish();
    let mut g = c.benchmark_group("rulebook");
    g.bench_function("load_validate_compile_embedded", |b| {
        b.iter(|| black_box(Rulebook::embedded().expect("rulebook")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
