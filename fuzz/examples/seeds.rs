//! Writes the committed seed corpus, `fuzz/seeds/<target>/`: small excerpts of the real list
//! files (the repository's `data/lists` and `../shared/data/screening`), the repository's
//! rulebook and example proposal, and messages signed with fresh keys.
//!
//!     cd fuzz && cargo run --example seeds
//!
//! Signed seeds use fresh random keys, so a rerun changes their bytes, not their shape.

use std::fs;
use std::path::{Path, PathBuf};

use stackport_controls::FILES;
use stackport_fuzz::SEPARATOR;
use stackport_ledger::{Checkpoint, Decision, DecisionKind, DecisionVersions, Hash, SignerKey};
use stackport_locate::protocol::{
    ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, MeasurementId, SecretKey,
    SessionConfig, SignatureAlgorithm, SignedChallenge,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared(rel: &str) -> PathBuf {
    root().join("../shared/data/screening").join(rel)
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Seeds {
    dir: PathBuf,
}

impl Seeds {
    fn target(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("seed directory");
        Self { dir }
    }

    fn put(&self, name: &str, bytes: impl AsRef<[u8]>) {
        fs::write(self.dir.join(name), bytes).expect("seed written");
    }

    /// Several files in one input, cut at the separator.
    fn put_parts(&self, name: &str, parts: &[&[u8]]) {
        self.put(name, parts.join(&[SEPARATOR][..]));
    }
}

/// The first `n` lines (CRLF or LF ends kept).
fn head(bytes: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|b| *b == b'\n').take(n) {
        out.extend_from_slice(line);
    }
    out
}

/// The lines whose first field (an OFAC `ent_num`) is one of `ids`.
fn lines_for(bytes: &[u8], ids: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let first = line.split(|b| *b == b',').next().unwrap_or_default();
        if ids.iter().any(|id| id == first) {
            out.extend_from_slice(line);
        }
    }
    out
}

fn ofac_excerpt(seeds: &Seeds, name: &str, dir: &Path, names: [&str; 4], rel: &str, n: usize) {
    let primary = head(&read(&dir.join(names[0])), n);
    let ids: Vec<Vec<u8>> = primary
        .split(|b| *b == b'\n')
        .filter_map(|l| l.split(|b| *b == b',').next())
        .filter(|id| !id.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let companions: Vec<Vec<u8>> = names[1..]
        .iter()
        .map(|c| {
            let p = dir.join(c);
            if p.exists() {
                lines_for(&read(&p), &ids)
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut parts: Vec<&[u8]> = vec![rel.as_bytes(), &primary];
    parts.extend(companions.iter().map(Vec::as_slice));
    seeds.put_parts(name, &parts);
}

fn screening() {
    let s = Seeds::target("screening_ofac");
    let sdn = ["sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv"];
    let cons = [
        "cons_prim.csv",
        "cons_add.csv",
        "cons_alt.csv",
        "cons_comments.csv",
    ];
    let lists = root().join("data/lists/ofac");
    ofac_excerpt(
        &s,
        "sdn-2021",
        &lists.join("sdn_2021-07-07"),
        sdn,
        "ofac/sdn_2021-07-07/sdn.csv",
        12,
    );
    ofac_excerpt(
        &s,
        "cons-2025",
        &lists.join("cons_2025-12-19"),
        cons,
        "ofac/cons_2025-12-19/cons_prim.csv",
        12,
    );
    ofac_excerpt(
        &s,
        "sdn-tiny-2025",
        &shared("ofac/sdn_tiny_2025-05"),
        sdn,
        "ofac/sdn_tiny_2025-05/sdn.csv",
        8,
    );
    let sdn_2021 = read(&lists.join("sdn_2021-07-07/sdn.csv"));
    // The file's real end: the last records and the trailing 0x1A.
    let tail = &sdn_2021[sdn_2021.len() - 1500..];
    let tail = &tail[tail.iter().position(|b| *b == b'\n').expect("a line end") + 1..];
    s.put_parts("sdn-2021-end", &[b"sdn.csv", tail]);

    let s = Seeds::target("screening_csl");
    s.put_parts(
        "sample-2025-06",
        &[
            b"csl/consolidated_sample_2025-06.csv",
            &read(&shared("csl/consolidated_sample_2025-06.csv")),
        ],
    );
    s.put_parts(
        "legacy-2019-12",
        &[
            b"csl/csl_2019-12_legacy_format.csv",
            &head(&read(&shared("csl/csl_2019-12_legacy_format.csv")), 12),
        ],
    );
    // Cut in the middle of a record, as the real 2023 copy is.
    let partial = read(&root().join("data/lists/csl/consolidated_2023-11_partial.csv"));
    s.put_parts(
        "partial-2023-11",
        &[b"csl/consolidated_2023-11_partial.csv", &partial[..6000]],
    );

    let s = Seeds::target("screening_dpl");
    s.put_parts(
        "dpl-2023-11",
        &[
            b"bis/dpl_2023-11.txt",
            &head(&read(&root().join("data/lists/bis/dpl_2023-11.txt")), 16),
        ],
    );
}

fn rulebook() {
    let s = Seeds::target("rulebook");
    let mut names: Vec<&str> = FILES.to_vec();
    names.push("program.toml");
    for (i, name) in names.iter().enumerate() {
        let mut seed = vec![i as u8];
        seed.extend(read(&root().join("rulebook").join(name)));
        s.put(name, seed);
    }
    let s = Seeds::target("controls_case");
    let cases = include_str!("../fixtures/cases.jsonl");
    for (i, line) in cases.lines().enumerate() {
        s.put(&format!("case-{i}"), line);
    }
}

fn ledger() {
    let key = SignerKey::from_seed("fuzz.example/log", &[7; 32]).expect("valid name");
    let other = SignerKey::generate("witness.example/w1").expect("valid name");
    let cp = Checkpoint {
        origin: key.name().to_string(),
        size: 12,
        root: Hash([9; 32]),
    };
    let s = Seeds::target("ledger_note");
    s.put("verifier-key", key.verifier().to_string());
    s.put("signer-key", other.to_secret_string());
    s.put("checkpoint-body", cp.body());
    let signed = cp.sign(&key).expect("origin is the key's name");
    s.put("checkpoint", &signed);
    // A cosigned note: a witness's signature line after the log's.
    let cosigned = other.sign(&cp.body()).expect("signable");
    let witness_line = cosigned.lines().last().expect("signature line");
    s.put("cosigned", format!("{signed}{witness_line}\n"));
    s.put(
        "note-unicode",
        key.sign("İstanbul e\u{301} \u{5e9}\u{5dc}\u{5d5}\u{5dd}\nsecond line\n")
            .expect("signable"),
    );

    let s = Seeds::target("ledger_entry");
    let d = Decision {
        kind: DecisionKind::Determination,
        time: time::OffsetDateTime::UNIX_EPOCH,
        inputs: serde_json::json!({"item": {"catalog": "nvidia-h100-sxm"}, "destination": "FR"}),
        outputs: serde_json::json!({"outcome": "nlr", "citations": ["15 CFR 740.7"]}),
        versions: DecisionVersions {
            rules: Some("rulebook-2026-01".into()),
            lists: Some("snapshot-7".into()),
        },
    };
    s.put("decision", serde_json::to_string(&d).expect("serialises"));
    s.put(
        "numbers",
        r#"{"a":[0,-0,1e21,1e-7,123456789012345680000,0.1,-1.5e300,9007199254740992]}"#,
    );
    s.put(
        "strings",
        "{\"\u{10437}\":1,\"\u{e9}\":2,\"a\\u0000b\":\"\\ud83d\\ude00\",\"z\":\"\u{130}\u{200d}\"}",
    );

    let s = Seeds::target("ledger_proof");
    for (i, len) in [16usize, 120, 600].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len).map(|j| (j * 37 + i * 11) as u8).collect();
        s.put(&format!("bytes-{i}"), bytes);
    }
}

fn program() {
    let proposal = fs::read_to_string(root().join("examples/proposal.json")).expect("example");
    let s = Seeds::target("program_proposal");
    s.put("example", &proposal);
    let v: serde_json::Value = serde_json::from_str(&proposal).expect("example is JSON");
    let s = Seeds::target("cyclonedx_package");
    s.put(
        "example-package",
        serde_json::to_string_pretty(&v["package"]).expect("serialises"),
    );
    s.put(
        "minimal",
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"x","hashes":[{"alg":"SHA-256","content":"00"}]}]}"#,
    );
}

fn locate() {
    let lm = LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
    let landmark = LandmarkId::new("lm-sin-1").expect("valid id");
    let chip = ChipId::new("GPU-0001").expect("valid id");
    let mut challenges: Vec<SignedChallenge> = Vec::new();
    let mut measurements = Vec::new();
    for alg in [
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::EcdsaP384Sha384,
    ] {
        let chip_key = ChipKey(SecretKey::generate(alg));
        let mut session = LandmarkSession::new(
            landmark.clone(),
            chip.clone(),
            stackport_locate::protocol::ChipSigner::public_key(&chip_key),
            1,
            SessionConfig {
                rounds: 2,
                timeout_ns: 1_000_000_000,
            },
        );
        for i in 0..2u8 {
            let c = session
                .issue(&lm, [i; 32], 1_790_000_000_000_000)
                .expect("round available")
                .clone();
            session.mark_sent(u64::from(i) * 10_000).expect("fresh");
            let r = c.respond(&chip_key).expect("software key signs");
            let _ = session.on_response(r.encoded(), u64::from(i) * 10_000 + 2_000_000);
            challenges.push(c);
        }
        measurements.push((
            alg,
            session
                .finish(&lm, MeasurementId([7; 16]), 1_790_000_000_000_010)
                .expect("answered rounds"),
            chip_key,
        ));
    }
    let s = Seeds::target("locate_challenge");
    for (i, c) in challenges.iter().enumerate() {
        s.put(&format!("challenge-{i}"), c.encoded());
    }
    let s = Seeds::target("locate_agent");
    s.put("challenge", challenges[0].encoded());
    let s = Seeds::target("locate_response");
    let s2 = Seeds::target("locate_session");
    let s3 = Seeds::target("locate_measurement");
    for (alg, m, chip_key) in &measurements {
        let name = format!("{alg:?}").to_lowercase();
        s.put(&name, m.measurement.best_response.encoded());
        s2.put(&name, m.measurement.best_response.encoded());
        s3.put(&name, m.encoded());
        s3.put(&format!("{name}-key"), chip_key.0.public_key().to_string());
    }

    let s = Seeds::target("locate_batch");
    s.put_parts(
        "three-landmarks",
        &[
            b"id,lat,lon\ntpe,25.04,121.53\nsin,1.29,103.85\nfra,50.11,8.68\n",
            b"landmark,target,rtt_ms\ntpe,chip-tw,1.1\nsin,chip-tw,60\nsin,chip-sg,0.8\ntpe,sin,48\nsin,fra,160\n",
            b"target,lat,lon,country\nchip-sg,1.35,103.82,SG\nchip-tw,25.03,121.56,TW\nchip-none,48.85,2.35,FR\n",
            b"0.5",
        ],
    );
    s.put_parts(
        "near-china",
        &[
            b"id,lat,lon\nhkg,22.30,114.17\nsha,31.23,121.47\n",
            b"landmark,target,rtt_ms\nhkg,c1,0.4\nsha,c1,12\nhkg,sha,25\n",
            b"target,lat,lon,country\nc1,22.2,113.5,MO\n",
        ],
    );
}

fn main() {
    screening();
    rulebook();
    ledger();
    program();
    locate();
    println!(
        "seeds written under {}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .display()
    );
}
