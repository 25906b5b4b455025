//! The issue-9 re-evaluation bar: 10,000 stored proposals re-evaluated after a list snapshot
//! changes in under 10 s on a 2-core machine, on SQLite and PostgreSQL.
//!
//! Setup (not timed): the bundled list snapshot is stored and loaded; 10,000 proposals made
//! from sample S01 with invented names (5 components, 6 to 10 parties each: five members, an
//! end user and up to four owners) are reviewed once on it and stored through the store, each
//! with a ledger entry. Then, three times, a new snapshot is stored that adds 100 SDN entries
//! named after a member of 100 other proposals (1%) and its index is built; what is timed is
//! `ProposalService::reevaluate_lists` on it: reading every party key, screening each distinct
//! party on the new index, reviewing the affected proposals again in full, and storing each
//! re-review with its re-evaluation record and ledger entry.
//!
//!     STACKPORT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!         cargo bench -p stackport-server --bench reevaluate
//!
//! Without `STACKPORT_TEST_POSTGRES` only SQLite runs. `STACKPORT_BENCH_PROPOSALS` changes the
//! count (default 10,000).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{json, Value};
use stackport_app::screening::{load_snapshot, LoadedSnapshot};
use stackport_controls::Rulebook;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_program::reevaluate::party_keys;
use stackport_program::{ProgramRules, Proposal, Reviewer};
use stackport_server::{proposals, screening};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::testing::TestDb;
use stackport_store::{ProposalRecord, ReviewedProposal, Storage};

const WORDS: [&str; 40] = [
    "Granite", "Harbor", "Summit", "Cedar", "Falcon", "Meridian", "Aurora", "Beacon", "Cobalt",
    "Delta", "Ember", "Fjord", "Glacier", "Horizon", "Iris", "Juniper", "Kestrel", "Lumen", "Mesa",
    "Nimbus", "Onyx", "Prairie", "Quartz", "Ridge", "Sable", "Tundra", "Umber", "Vesper", "Willow",
    "Xenon", "Yarrow", "Zenith", "Alder", "Basalt", "Cirrus", "Dune", "Estuary", "Flint", "Garnet",
    "Heron",
];
const KINDS: [&str; 6] = ["Systems", "Analytics", "Labs", "Networks", "Cloud", "Data"];
const REPEATS: u32 = 3;
const AFFECTED_PER_RUN: usize = 100;

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

/// An invented company name, different for each `(n, role)`.
fn name(n: usize, role: usize, suffix: &str) -> String {
    let k = n * 11 + role;
    let h = k.wrapping_mul(2654435761) % (40 * 40 * 40 * 6);
    format!(
        "{} {} {} {} {suffix}",
        WORDS[h % 40],
        WORDS[(h / 40) % 40],
        WORDS[(h / 1600) % 40],
        KINDS[(h / 64000) % 6]
    )
}

/// Proposal `n`: sample S01 with its own id and names, and `n % 5` owners.
fn proposal(template: &Value, n: usize) -> String {
    let mut p = template.clone();
    p["id"] = json!(format!("B{n:05}"));
    p["consortium"]["name"] = json!(format!("Consortium {n}"));
    let members = p["consortium"]["members"].as_array_mut().expect("members");
    for (i, m) in members.iter_mut().enumerate() {
        m["name"] = json!(name(n, i, "Inc."));
        m["owners"] = if i < n % 5 {
            json!([{"name": name(n, 6 + i, "Holdings Ltd"), "country": "US", "percent": 40.0}])
        } else {
            json!([])
        };
    }
    p["end_users"][0]["name"] = json!(name(n, 5, "S.A."));
    p.to_string()
}

/// The name of the member that run `run` puts on the SDN list for proposal `n`.
fn target(n: usize) -> String {
    name(n, 1, "Inc.")
}

/// The proposals run `run` (0-based) affects: 1% of them, different in each run.
fn affected(run: usize, count: usize) -> impl Iterator<Item = usize> {
    (0..AFFECTED_PER_RUN).map(move |i| (i * (count / AFFECTED_PER_RUN) + run * 7 + 3) % count)
}

async fn store_proposals(store: &Arc<dyn Storage>, loaded: &LoadedSnapshot, count: usize) {
    let rb = Arc::new(Rulebook::embedded().expect("rulebook"));
    let rules = Arc::new(ProgramRules::embedded().expect("program rules"));
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/proposals/S01.json"),
        )
        .expect("sample S01"),
    )
    .expect("S01 is JSON");
    let screener = loaded.screener.clone();
    let (snapshot_id, hash) = (loaded.info.id, loaded.info.hash.clone());
    let started = Instant::now();
    let items: Vec<ReviewedProposal> = tokio::task::spawn_blocking(move || {
        (0..count)
            .into_par_iter()
            .map(|n| {
                let text = proposal(&template, n);
                let p = Proposal::parse(&text, &rb, &rules).expect("valid proposal");
                let review = Reviewer {
                    rulebook: &rb,
                    rules: &rules,
                    screener: &screener,
                }
                .review(&p)
                .expect("review");
                let record = ProposalRecord {
                    id: review.id.clone(),
                    consortium: review.consortium.clone(),
                    date: review.date.clone(),
                    verdict: review.verdict.as_str().into(),
                    review: serde_json::to_string(&review).expect("review JSON"),
                    parties: party_keys(&review),
                    input: text,
                    list_snapshot_id: snapshot_id,
                    rulebook_version: review.versions.rulebook.clone(),
                    program_rules_version: review.versions.program_rules.clone(),
                    owner_org: None,
                };
                let ledger_entry = Decision::now(
                    DecisionKind::Determination,
                    json!({"proposal": record.id}),
                    json!({"proposal_review": {"verdict": record.verdict}}),
                    DecisionVersions {
                        rules: Some(record.rulebook_version.clone()),
                        lists: Some(hash.clone()),
                    },
                )
                .canonical_json()
                .expect("canonical entry");
                ReviewedProposal {
                    record,
                    ledger_entry,
                    status: stackport_program::workflow::Status::Submitted,
                }
            })
            .collect()
    })
    .await
    .expect("reviews");
    let parties: usize = items.iter().map(|i| i.record.parties.len()).sum();
    eprintln!(
        "  reviewed {count} proposals ({parties} parties) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for chunk in items.chunks(1000) {
        store.store_proposals(chunk).await.expect("stored");
    }
    eprintln!("  stored them in {:.1} s", started.elapsed().as_secs_f64());
}

/// Snapshot for run `run`: the bundled lists and one SDN file naming the targets of every run
/// so far (each run adds 100 entries).
fn snapshot_dir(run: usize, count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::os::unix::fs::symlink(lists_dir(), dir.path().join("bundled")).expect("link");
    let extra = dir.path().join(format!("extra/sdn_2026-0{}-15", run + 1));
    std::fs::create_dir_all(&extra).expect("mkdir");
    let mut csv = String::new();
    for r in 0..=run {
        for (i, n) in affected(r, count).enumerate() {
            csv.push_str(&format!(
                "{},\"{}\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n",
                990_000 + r * 1000 + i,
                target(n).to_uppercase()
            ));
        }
    }
    std::fs::write(extra.join("sdn.csv"), csv).expect("sdn.csv");
    dir
}

async fn run(db: TestDb, count: usize) {
    eprintln!("--- backend: {}", db.label());
    let store = db.open().await;
    let data = tempfile::tempdir().expect("data dir");
    let ctx = ServerContext::new(
        store.clone(),
        ServerConfig {
            data_dir: data.path().to_path_buf(),
            bundled_lists: Some(lists_dir()),
            rulebook_dir: None,
        },
    )
    .await
    .expect("context");
    let state = screening::start(&ctx).await.expect("screening");
    let loaded = state.loaded().expect("bundled snapshot loaded");
    store_proposals(&store, &loaded, count).await;
    // The proposals were stored directly: the service's start-up pass finds them compared.
    let service = proposals::start(&ctx, state.clone())
        .await
        .expect("proposal service");
    let mut times = Vec::new();
    for r in 0..REPEATS as usize {
        let dir = snapshot_dir(r, count);
        let snapshot = stackport_screening::parse::load_dir(dir.path()).expect("snapshot");
        let info = store
            .store_snapshot(&snapshot)
            .await
            .expect("stored snapshot");
        let started = Instant::now();
        let loaded = Arc::new(load_snapshot(store.as_ref(), info).await.expect("index"));
        let index_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let summary = service
            .reevaluate_lists(loaded)
            .await
            .expect("re-evaluation");
        let secs = started.elapsed().as_secs_f64();
        times.push(secs);
        eprintln!(
            "  run {}: re-evaluated {} proposals ({} distinct parties screened), {} re-reviewed, {} verdicts changed: {secs:.2} s (index build {index_s:.2} s, not counted)",
            r + 1,
            summary.proposals_checked,
            summary.parties_screened,
            summary.reevaluated,
            summary.verdicts_changed,
        );
        assert_eq!(summary.proposals_checked, count);
        let want: std::collections::HashSet<String> =
            affected(r, count).map(|n| format!("B{n:05}")).collect();
        let got: std::collections::HashSet<String> =
            summary.records.iter().map(|x| x.proposal.clone()).collect();
        assert!(
            want.is_subset(&got),
            "every targeted proposal was re-reviewed"
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "reevaluate/{}/{count}_proposals: median {:.2} s, min {:.2} s, max {:.2} s over {REPEATS} snapshot changes (bar < 10 s)",
        db.label(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    drop(service);
    drop(state);
    drop(ctx);
    drop(store);
    db.cleanup().await;
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let count: usize = std::env::var("STACKPORT_BENCH_PROPOSALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        run(TestDb::sqlite(), count).await;
        if let Some(pg) = TestDb::postgres().await {
            run(pg, count).await;
        }
    });
}
