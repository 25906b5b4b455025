//! End-to-end tests of `stackport determine --batch`, `classify`, `rules` and `de-minimis`
//! through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stackport"));
    // The built-in rulebook must work with no environment at all.
    c.env_remove("STACKPORT_RULEBOOK");
    c
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The eval README's matching rules.
fn eccn_matches(expected: &serde_json::Value, got: &serde_json::Value) -> bool {
    let got = match got.as_str() {
        None => None,
        Some(s)
            if s.is_empty()
                || ["n/a", "none", "not_subject"].contains(&s.to_ascii_lowercase().as_str()) =>
        {
            None
        }
        Some(s) => Some(s.to_ascii_lowercase()),
    };
    let one = |want: &str| {
        let want = want.to_ascii_lowercase();
        got.as_ref().is_some_and(|g| {
            g == &want
                || (g.starts_with(&want)
                    && g[want.len()..].starts_with('.')
                    && (!g.ends_with(".z") || want.ends_with(".z")))
        })
    };
    match expected {
        serde_json::Value::Null => got.is_none(),
        serde_json::Value::String(s) => one(s),
        serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).any(one),
        _ => false,
    }
}

#[test]
fn batch_contract_matches_every_eval_sample() {
    let dir = shared().join("eval/rules");
    let out = bin()
        .args(["determine", "--batch"])
        .arg(dir.join("sample_cases.jsonl"))
        .args(["--format", "jsonl"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run stackport");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let expected = std::fs::read_to_string(dir.join("sample_expected.jsonl")).expect("expected");
    let got: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let want: Vec<serde_json::Value> = expected
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(got.len(), want.len(), "one result per case, in input order");
    let mut failures = Vec::new();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["id"], w["id"], "input order");
        let mut bad = Vec::new();
        if !eccn_matches(&w["eccn"], &g["eccn"]) {
            bad.push(format!("eccn {} vs {}", g["eccn"], w["eccn"]));
        }
        for f in [
            "outcome",
            "exception",
            "notification_required",
            "review_policy",
        ] {
            if g[f] != w[f] {
                bad.push(format!("{f} {} vs {}", g[f], w[f]));
            }
        }
        if g["citations"].as_array().is_none_or(|c| c.is_empty()) {
            bad.push("no citation".into());
        }
        for f in [
            "id",
            "eccn",
            "outcome",
            "exception",
            "notification_required",
            "review_policy",
            "citations",
            "rule_versions",
        ] {
            if g.get(f).is_none() {
                bad.push(format!("field {f} missing"));
            }
        }
        if !bad.is_empty() {
            failures.push(format!("{}: {}", w["id"], bad.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_lines_are_named_and_exit_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(
        &cases,
        concat!(
            r#"{"id": "ok", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "AE", "end_user": {"hq_country": "AE"}}"#,
            "\n",
            r#"{"id": "bad", "date": "2025-09-01", "item": {"catalog": "nvidia-h100-sxm"}, "destination": "QQ"}"#,
            "\n",
        ),
    )
    .expect("write");
    let out = bin()
        .args(["determine", "--batch"])
        .arg(&cases)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["outcome"], "license_required");
    assert_eq!(lines[1]["id"], "bad");
    assert!(lines[1]["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("destination") && m.contains("QQ")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cases.jsonl:2"), "{stderr}");
    // --strict writes nothing.
    let out = bin()
        .args(["determine", "--strict", "--batch"])
        .arg(&cases)
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn single_case_classify_rules_and_de_minimis() {
    let out = bin()
        .args([
            "determine",
            "--catalog",
            "nvidia-h200",
            "--date",
            "2026-03-01",
            "--destination",
            "CN",
            "--hq",
            "CN",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["review_policy"], "case_by_case");
    assert!(v["reasons"].as_array().is_some_and(|r| r
        .iter()
        .any(|l| l.as_str().unwrap_or("").contains("91 FR 1684"))));

    let out = bin()
        .args([
            "classify",
            "--tpp",
            "2900",
            "--die-area-mm2",
            "900",
            "--datacenter",
            "true",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["eccn"], "3A090.b");

    let out = bin().args(["rules", "check"]).output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));

    let out = bin()
        .args([
            "rules",
            "timeline",
            "--item",
            "nvidia-h200",
            "--destination",
            "CN",
            "--hq",
            "CN",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let froms: Vec<&str> = v
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["from"].as_str())
        .collect();
    assert_eq!(froms, vec!["2022-01-01", "2022-10-21", "2026-01-15"]);

    let out = bin()
        .args([
            "de-minimis",
            "--destination",
            "CN",
            "--us-content-percent",
            "3",
            "--advanced-computing",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["subject_to_ear"], true);
    assert_eq!(v["threshold_percent"], 0.0);

    // A malformed rulebook directory is refused with file and line.
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rulebook");
    for f in [
        "rulebook.toml",
        "countries.toml",
        "country_groups.toml",
        "classification.toml",
        "licensing.toml",
        "overlays.toml",
        "de_minimis.toml",
        "catalog.toml",
    ] {
        std::fs::copy(src.join(f), dir.path().join(f)).expect("copy");
    }
    std::fs::write(dir.path().join("overlays.toml"), "[[embargo]]\nid = 3\n").expect("write");
    let out = bin()
        .args(["rules", "check", "--rulebook"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("overlays.toml:2"), "{stderr}");
    // STACKPORT_RULEBOOK is honoured.
    let out = bin()
        .env("STACKPORT_RULEBOOK", dir.path())
        .args(["rules", "check"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
