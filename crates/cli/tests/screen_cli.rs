//! End-to-end tests of `stackport screen`: the real binary on the real list files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stackport"))
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs stackport")
}

#[test]
fn batch_contract_in_input_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "id,name,type,country,dob\nb2,BANCO NACIONAL DE CUBA,entity,CU,\na1,Nobody Atall Xyzzy,,,\nc3,\"MA'TUQ, Yusuf\",individual,,\n").expect("write");
    let lists = shared("data/screening/ofac/sdn_2021-07-07");
    let out = run(&[
        "screen",
        "--lists",
        lists.to_str().expect("utf-8"),
        "--batch",
        csv.to_str().expect("utf-8"),
        "--top",
        "3",
        "--format",
        "jsonl",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "nothing extra when piped: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["id"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        vec!["b2", "a1", "c3"]
    );
    let hit = &lines[0]["hits"][0];
    assert_eq!(hit["entity"], "ofac-sdn:306");
    assert_eq!(hit["list"], "SDN");
    assert_eq!(hit["name"], "BANCO NACIONAL DE CUBA");
    assert_eq!(hit["matched"], "BANCO NACIONAL DE CUBA");
    assert_eq!(hit["score"].as_f64(), Some(1.0));
    assert_eq!(
        lines[1]["hits"].as_array().map(Vec::len),
        Some(0),
        "no hit below the default threshold"
    );
    assert_eq!(lines[2]["hits"][0]["entity"], "ofac-sdn:22015");
    // A threshold above every score leaves no hits; --top bounds the list.
    let out = run(&[
        "screen",
        "--lists",
        lists.to_str().expect("utf-8"),
        "--batch",
        csv.to_str().expect("utf-8"),
        "--top",
        "1",
        "--threshold",
        "0.2",
        "--format",
        "jsonl",
    ]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.lines().all(
        |l| serde_json::from_str::<serde_json::Value>(l).expect("json")["hits"]
            .as_array()
            .is_some_and(|h| h.len() <= 1)
    ));
}

#[test]
fn bad_batches_fail_whole_with_line_and_nothing_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let lists = shared("data/screening/ofac/sdn_tiny_2025-05");
    let cases: &[(&[u8], &str)] = &[
        (b"id,label\n1,x\n", "unknown column \"label\""),
        (b"id,type\n1,entity\n", "no `name` column"),
        (b"id,name\n1,ACME\n2,\n", "line 3"),
        (b"id,name\n1,AC\xffME\n", "UTF-8"),
        (b"id,name,country\n1,ACME,ZZ\n", "\"ZZ\""),
    ];
    for (body, needle) in cases {
        let csv = dir.path().join("bad.csv");
        std::fs::write(&csv, body).expect("write");
        let out = run(&[
            "screen",
            "--lists",
            lists.to_str().expect("utf-8"),
            "--batch",
            csv.to_str().expect("utf-8"),
            "--top",
            "3",
            "--format",
            "jsonl",
        ]);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "nothing half-written");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains("bad.csv"),
            "{needle}: {err}"
        );
    }
    let long = format!("id,name\n1,{}\n", "N".repeat(10_000));
    let csv = dir.path().join("long.csv");
    std::fs::write(&csv, long).expect("write");
    let out = run(&[
        "screen",
        "--lists",
        lists.to_str().expect("utf-8"),
        "--batch",
        csv.to_str().expect("utf-8"),
        "--format",
        "jsonl",
    ]);
    assert!(!out.status.success() && out.stdout.is_empty());
    // A malformed list file fails the load with file and line.
    let ldir = tempfile::tempdir().expect("tmp");
    std::fs::write(ldir.path().join("sdn.csv"), "1,\"A\",-0- \r\n").expect("write");
    let out = run(&[
        "screen",
        "ACME",
        "--lists",
        ldir.path().to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sdn.csv:1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn one_name_table_explains_hits() {
    let lists = shared("data/screening/ofac/sdn_2021-07-07");
    let out = run(&[
        "screen",
        "Yusef MATUQ",
        "--lists",
        lists.to_str().expect("utf-8"),
        "--type",
        "individual",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("ofac-sdn:22015"), "{text}");
    assert!(
        text.contains("alignment:") && text.contains("yusef~yusuf"),
        "{text}"
    );
    assert!(text.contains("type +"), "{text}");
    let out = run(&["screen", "", "--lists", lists.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}
