//! The issue-9 speed bar: a package of 10,000 components with 50 sites, 20 end users and 200
//! parties reviewed in under 1 s on one core (checked and reviewed; reading the JSON and
//! writing the review's JSON measured beside it).
//!
//! cargo bench -p stackport-program --bench review

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use stackport_controls::Rulebook;
use stackport_program::example::{synthetic, Size};
use stackport_program::{ProgramRules, Proposal, Reviewer};
use stackport_screening::Screener;

fn bench(c: &mut Criterion) {
    let rb = Rulebook::embedded().expect("rulebook");
    let rules = ProgramRules::embedded().expect("program rules");
    let lists = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists");
    let snap = stackport_screening::parse::load_dir(&lists).expect("bundled lists");
    let screener = Screener::new(&snap);
    let reviewer = Reviewer {
        rulebook: &rb,
        rules: &rules,
        screener: &screener,
    };
    let size = Size {
        components: 10_000,
        sites: 50,
        end_users: 20,
        parties: 200,
    };
    let text = synthetic(1, size).to_string();
    let p = Proposal::parse(&text, &rb, &rules).expect("valid synthetic proposal");
    let r = reviewer.review(&p).expect("review");
    eprintln!(
        "proposal: {} bytes, {} components, {} parties, {} items, verdict {}",
        text.len(),
        p.package.components.len(),
        r.parties.len(),
        r.items.len(),
        r.verdict.as_str()
    );
    let mut g = c.benchmark_group("proposal_10k_components");
    g.sample_size(10);
    g.bench_function("parse_check_review", |b| {
        b.iter(|| {
            let p = Proposal::parse(&text, &rb, &rules).expect("valid");
            reviewer.review(&p).expect("review")
        })
    });
    g.bench_function("review_only", |b| {
        b.iter(|| reviewer.review(&p).expect("review"))
    });
    g.bench_function("review_to_json", |b| {
        b.iter(|| serde_json::to_vec(&r).expect("json"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
