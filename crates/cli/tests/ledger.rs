//! `stackport ledger …` end to end: the real binary on a real SQLite file and a real
//! PostgreSQL database. Crash safety (SIGKILL in the middle of a stream of appends), tamper
//! evidence (an entry edited in the database) and bad input.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use stackport_ledger::checkpoint::Checkpoint;
use stackport_ledger::merkle::{self, Hash};
use stackport_ledger::note::{SignerKey, VerifierKey};
use stackport_store::testing::{for_each_backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_stackport");

fn stackport(db: &TestDb, data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["ledger"])
        .args(args)
        .args(["--db", &db.url, "--data-dir"])
        .arg(data_dir)
        .env_remove("STACKPORT_LEDGER_ORIGIN")
        .output()
        .expect("run stackport")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stackport failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(ok(out).trim()).expect("JSON output")
}

fn verifier(data_dir: &Path) -> VerifierKey {
    let text =
        std::fs::read_to_string(data_dir.join("ledger-verifier.pub")).expect("verifier key file");
    VerifierKey::parse(text.trim()).expect("verifier key")
}

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .expect("proof array")
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

fn line(i: u64) -> String {
    format!("{{\"seq\": {i}, \"kind\": \"crash-test\", \"note\": \"entry {i}\"}}")
}

fn canonical(i: u64) -> String {
    format!("{{\"kind\":\"crash-test\",\"note\":\"entry {i}\",\"seq\":{i}}}")
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_stream_loses_no_acknowledged_entry() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let first = dir.path().join("first.json");
        std::fs::write(&first, r#"{"type":"test","seq":"before"}"#).unwrap();
        ok(&stackport(&db, data, &["append", first.to_str().unwrap()]));
        let mut child = Command::new(BIN)
            .args([
                "ledger",
                "append",
                "--jsonl",
                "-",
                "--db",
                &db.url,
                "--data-dir",
            ])
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn stackport ledger append --jsonl");
        let mut stdin = child.stdin.take().unwrap();
        // Keep feeding entries until the pipe breaks (the process is killed).
        let writer = std::thread::spawn(move || {
            for i in 0..2_000_000u64 {
                if writeln!(stdin, "{}", line(i)).is_err() {
                    return i;
                }
            }
            2_000_000
        });
        let mut acks: Vec<(u64, u64, Hash)> = Vec::new();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut buf = String::new();
        let mut first_checkpoint: Option<String> = None;
        while acks.len() < 6000 {
            buf.clear();
            if reader.read_line(&mut buf).unwrap() == 0 {
                panic!("append stream ended early after {} acks", acks.len());
            }
            let v: serde_json::Value = serde_json::from_str(buf.trim()).unwrap();
            let seq = v["line"].as_u64().unwrap() - 1;
            acks.push((
                seq,
                v["index"].as_u64().unwrap(),
                Hash::from_hex(v["leaf_hash"].as_str().unwrap()).unwrap(),
            ));
            if acks.len() == 2000 {
                // The last checkpoint before the crash, signed by another process mid-stream.
                let limit = std::time::Duration::from_secs(20);
                first_checkpoint = Some(ok(&stackport_within(&db, data, &["checkpoint"], limit)));
            }
        }
        child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
        child.wait().unwrap();
        let written = writer.join().unwrap();
        assert!(written > acks.len() as u64, "the kill must land mid-stream");

        // Restart: everything acknowledged is there, byte for byte.
        let store = db.open().await;
        let size = store.ledger_size().await.unwrap();
        assert!(size >= acks.len() as u64);
        let stored = store.ledger_entries(0, size).await.unwrap();
        for (seq, index, leaf) in &acks {
            let e = &stored[*index as usize];
            assert_eq!(e.entry, canonical(*seq), "entry {index}");
            assert_eq!(e.leaf_hash, *leaf);
            assert_eq!(merkle::leaf_hash(e.entry.as_bytes()), *leaf);
        }
        let report = stackport(&db, data, &["verify"]);
        assert!(
            report.status.success(),
            "verify after the crash: {}",
            String::from_utf8_lossy(&report.stderr)
        );

        // The tree after the crash is consistent with the checkpoint signed before it.
        let key = verifier(data);
        let before = Checkpoint::open(&first_checkpoint.unwrap(), &key).unwrap();
        let after = Checkpoint::open(&ok(&stackport(&db, data, &["checkpoint"])), &key).unwrap();
        assert_eq!(after.size, size);
        let proof = json(&stackport(
            &db,
            data,
            &[
                "consistency",
                "--from",
                &before.size.to_string(),
                "--to",
                &after.size.to_string(),
            ],
        ));
        merkle::verify_consistency(
            before.size,
            after.size,
            &before.root,
            &after.root,
            &hashes(&proof["proof"]),
        )
        .unwrap();

        // Appends continue where the log stopped.
        let file = dir.path().join("next.json");
        std::fs::write(&file, "{\"after\": \"restart\"}").unwrap();
        let receipt = json(&stackport(&db, data, &["append", file.to_str().unwrap()]));
        assert_eq!(receipt["index"].as_u64(), Some(size));
        let prove = json(&stackport(
            &db,
            data,
            &["prove", "--index", &size.to_string()],
        ));
        let cp = Checkpoint::open(&ok(&stackport(&db, data, &["checkpoint"])), &key).unwrap();
        assert_eq!(prove["size"].as_u64(), Some(cp.size));
        let leaf = Hash::from_hex(prove["leaf_hash"].as_str().unwrap()).unwrap();
        assert_eq!(leaf, merkle::leaf_hash(b"{\"after\":\"restart\"}"));
        merkle::verify_inclusion(size, cp.size, &leaf, &hashes(&prove["proof"]), &cp.root).unwrap();
    })
    .await;
}

/// Runs `stackport ledger ARGS` but gives up (killing it) after `limit`, so that a hang fails
/// the test with a message instead of stalling the suite.
fn stackport_within(
    db: &TestDb,
    data_dir: &Path,
    args: &[&str],
    limit: std::time::Duration,
) -> Output {
    let mut child = Command::new(BIN)
        .args(["ledger"])
        .args(args)
        .args(["--db", &db.url, "--data-dir"])
        .arg(data_dir)
        .env_remove("STACKPORT_LEDGER_ORIGIN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run stackport");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "stackport ledger {args:?} still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A checkpoint signed by another process while a stream of appends runs and whoever reads
/// the stream's acknowledgements has stopped reading (its pipe full). The appending process
/// must not hold the database's write lock while it waits to print: the checkpoint is signed
/// promptly, the stream goes on once read again, and the two agree.
#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_from_another_process_never_waits_on_a_stalled_stream() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        seed(&db, data, 10);
        let mut child = Command::new(BIN)
            .args([
                "ledger",
                "append",
                "--jsonl",
                "-",
                "--db",
                &db.url,
                "--data-dir",
            ])
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn stackport ledger append --jsonl");
        let mut stdin = child.stdin.take().unwrap();
        let total = 500_000u64;
        let writer = std::thread::spawn(move || {
            for i in 0..total {
                writeln!(stdin, "{}", line(i)).unwrap();
            }
            // Dropping stdin ends the stream.
        });
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut buf = String::new();
        let mut read = 0u64;
        let limit = std::time::Duration::from_secs(20);
        let mut signed = Vec::new();
        // Several rounds: read some acknowledgements, stop reading long enough for the pipe
        // to fill up (the stream stalls at a moment of its own), then sign from outside. The
        // stall has to catch the appender inside a transaction to show the fault this guards
        // against, which takes a few tries: the rounds stop at scattered points.
        let mut stop = 0u64;
        for round in 0..10u64 {
            stop += 600 + (round * 7_919 + 104_729) % 4_001;
            while read < stop {
                buf.clear();
                assert!(
                    reader.read_line(&mut buf).unwrap() > 0,
                    "stream ended early"
                );
                read += 1;
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
            let out = stackport_within(&db, data, &["checkpoint"], limit);
            signed.push(ok(&out));
        }
        // Read the rest: every line is acknowledged and the stream ends cleanly.
        while reader
            .read_line({
                buf.clear();
                &mut buf
            })
            .unwrap()
            > 0
        {
            read += 1;
        }
        writer.join().unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(read, total);
        // Each checkpoint signed meanwhile is a prefix of the final tree.
        let key = verifier(data);
        let last = Checkpoint::open(&ok(&stackport(&db, data, &["checkpoint"])), &key).unwrap();
        assert_eq!(last.size, total + 10);
        for note in signed {
            let cp = Checkpoint::open(&note, &key).unwrap();
            let proof = json(&stackport(
                &db,
                data,
                &[
                    "consistency",
                    "--from",
                    &cp.size.to_string(),
                    "--to",
                    &last.size.to_string(),
                ],
            ));
            merkle::verify_consistency(
                cp.size,
                last.size,
                &cp.root,
                &last.root,
                &hashes(&proof["proof"]),
            )
            .unwrap();
        }
    })
    .await;
}

/// Appends `n` entries through the CLI and signs a checkpoint.
fn seed(db: &TestDb, data: &Path, n: u64) {
    let file = data.join("seed.jsonl");
    std::fs::create_dir_all(data).unwrap();
    let body: String = (0..n).map(|i| line(i) + "\n").collect();
    std::fs::write(&file, body).unwrap();
    ok(&stackport(
        db,
        data,
        &["append", "--jsonl", file.to_str().unwrap()],
    ));
    ok(&stackport(db, data, &["checkpoint"]));
}

async fn tamper(db: &TestDb, sql: &str) {
    let store_url = db.url.clone();
    if store_url.starts_with("postgres") {
        let store = stackport_store::PgStore::connect(&store_url).await.unwrap();
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    } else {
        let store = stackport_store::SqliteStore::open(&store_url)
            .await
            .unwrap();
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_may_be_named_before_the_subcommand() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        seed(&db, data, 5);
        let out = Command::new(BIN)
            .args(["ledger", "--db", &db.url, "--data-dir"])
            .arg(data)
            .args(["prove", "--index", "3"])
            .env_remove("STACKPORT_LEDGER_ORIGIN")
            .output()
            .expect("run stackport");
        let v = json(&out);
        assert_eq!(
            (v["index"].as_u64(), v["size"].as_u64()),
            (Some(3), Some(5)),
            "{v}"
        );
        let out = Command::new(BIN)
            .args(["ledger", "--db", &db.url, "--data-dir"])
            .arg(data)
            .arg("verify")
            .env_remove("STACKPORT_LEDGER_ORIGIN")
            .output()
            .expect("run stackport");
        ok(&out);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_an_entry_edited_in_the_database() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        seed(&db, data, 100);
        let good = stackport(&db, data, &["verify"]);
        assert!(good.status.success());
        let good: serde_json::Value = serde_json::from_slice(&good.stdout).unwrap();
        tamper(&db, "UPDATE ledger_entries SET entry = REPLACE(entry, 'entry 37', 'entry 99') WHERE idx = 37").await;
        let out = stackport(&db, data, &["verify"]);
        assert_eq!(out.status.code(), Some(1), "verify must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("entry 37"), "{stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["problem"]["index"].as_u64(), Some(37));
        // The root the entries hash to now, recomputed in full although the check stopped at
        // entry 37: the edited content's, neither the empty tree's nor the signed one's.
        let mut now = merkle::Frontier::new();
        for i in 0..100 {
            let e = if i == 37 { canonical(37).replace("entry 37", "entry 99") } else { canonical(i) };
            now.push(merkle::leaf_hash(e.as_bytes()), &mut |_, _| {});
        }
        assert_eq!(report["root"], serde_json::json!(now.root().to_string()));
        assert_ne!(report["root"], good["root"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_catches_a_rewrite_that_also_fixes_the_leaf_hash() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        seed(&db, data, 64);
        let forged = canonical(1000);
        let hash = hex::encode(merkle::leaf_hash(forged.as_bytes()).0);
        let literal = if db.url.starts_with("postgres") { format!("'\\x{hash}'::bytea") } else { format!("X'{hash}'") };
        tamper(&db, &format!("UPDATE ledger_entries SET entry = '{forged}', leaf_hash = {literal} WHERE idx = 21")).await;
        let out = stackport(&db, data, &["verify"]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The lowest stored node over the forged leaf no longer matches: entries 20..22.
        assert!(stderr.contains("entries 20..22"), "{stderr}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_catches_removed_entries() {
    for_each_backend(|db| async move {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        seed(&db, data, 30);
        tamper(&db, "DELETE FROM ledger_entries WHERE idx >= 25").await;
        let out = stackport(&db, data, &["verify"]);
        assert_eq!(out.status.code(), Some(1));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["size"], 25);
        assert!(
            report["root"].as_str().is_some_and(|r| r.len() == 64),
            "{report}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("entry 25") && stderr.contains("removed"),
            "{stderr}"
        );
    })
    .await;
}

#[test]
fn bad_input_is_refused_and_appends_nothing() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    seed(&db, data, 5);
    let size = || {
        json(&stackport(&db, data, &["verify"]))["size"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(size(), 5);

    let bad = data.join("bad.json");
    for (content, expect) in [
        ("{\"a\": 1,\n \"b\": }", "line 2"),
        ("{\"a\": 1, \"a\": 2}", "duplicate member name \"a\""),
        (
            "{\"id\": 12345678901234567890}",
            "cannot be held exactly as a double",
        ),
        ("", "EOF"),
        ("{} {}", "trailing"),
    ] {
        std::fs::write(&bad, content).unwrap();
        let out = stackport(&db, data, &["append", bad.to_str().unwrap()]);
        assert!(!out.status.success(), "{content:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("bad.json") && stderr.contains(expect),
            "{content:?}: {stderr}"
        );
    }
    // A malformed line in a JSON Lines file: named, and nothing of the file is appended.
    std::fs::write(&bad, format!("{}\n{{oops\n{}\n", line(1), line(2))).unwrap();
    let out = stackport(&db, data, &["append", "--jsonl", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    assert_eq!(size(), 5, "nothing of a file with a malformed line");
    // On standard input (a stream), the lines before the malformed one are appended.
    let mut child = Command::new(BIN)
        .args([
            "ledger",
            "append",
            "--jsonl",
            "-",
            "--db",
            &db.url,
            "--data-dir",
        ])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n{{oops\n{}\n", line(1), line(2)).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("-: line 2"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "one acknowledgement"
    );
    assert_eq!(size(), 6);

    // Proofs past the tree.
    let out = stackport(&db, data, &["prove", "--index", "7"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("past the tree size"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = stackport(&db, data, &["prove", "--index", "0", "--size", "8"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than the log"));
    let out = stackport(&db, data, &["consistency", "--from", "4", "--to", "2"]);
    assert!(!out.status.success());

    // Checkpoints checked against another key.
    let other = SignerKey::generate("stackport.example/ledger").unwrap();
    let out = stackport(
        &db,
        data,
        &["verify", "--key", &other.verifier().to_string()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no signature by key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A key file for another origin is refused rather than silently used.
    let out = Command::new(BIN)
        .args([
            "ledger",
            "checkpoint",
            "--db",
            &db.url,
            "--origin",
            "other.example/log",
            "--data-dir",
        ])
        .arg(data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to log"));
}

#[test]
fn the_signing_key_is_private_and_never_printed() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = stackport(&db, data, &["checkpoint"]);
    let note = ok(&out);
    let secret = std::fs::read_to_string(data.join("ledger-signing.key")).unwrap();
    assert!(secret.starts_with("PRIVATE+KEY+stackport.example/ledger+"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("ledger-signing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // PRIVATE+KEY+<name>+<key hash>+<base64 key>: the key itself is everything after the fourth
    // `+` (base64 has `+` of its own, so the last `+` may cut it to a few characters).
    let key_part = secret.trim().splitn(5, '+').nth(4).unwrap();
    assert!(key_part.len() >= 40, "{key_part}");
    assert!(!note.contains(key_part) && !String::from_utf8_lossy(&out.stderr).contains(key_part));
    // The empty log's checkpoint: size 0, root SHA-256("").
    let cp = Checkpoint::open(&note, &verifier(data)).unwrap();
    assert_eq!((cp.size, cp.root), (0, merkle::empty_root()));
}
