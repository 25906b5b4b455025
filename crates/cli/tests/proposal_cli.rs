//! End-to-end tests of `stackport proposal review` (the batch contract), `proposal new` and
//! `package check` through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stackport"));
    c.env_remove("STACKPORT_RULEBOOK");
    c.env_remove("STACKPORT_LISTS");
    c
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared().join("eval/proposals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('S') && n.ends_with(".json"))
        })
        .collect();
    v.sort();
    v
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run stackport")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn the_sample_set_scores_full_marks_with_the_eval_scorer() {
    let files = samples();
    assert_eq!(files.len(), 10);
    let out = run(bin()
        .args(["proposal", "review"])
        .args(&files)
        .args(["--format", "jsonl"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out);
    // One line per file, in argument order.
    let ids: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08", "S09", "S10"]
    );
    // The eval's own scorer, where python3 is installed.
    let dir = tempfile::tempdir().unwrap();
    let run_file = dir.path().join("run.jsonl");
    std::fs::write(&run_file, &out.stdout).unwrap();
    if let Ok(score) = Command::new("python3")
        .arg(shared().join("eval/proposals/score.py"))
        .arg(&run_file)
        .arg(shared().join("eval/proposals/expected.jsonl"))
        .output()
    {
        let text = String::from_utf8_lossy(&score.stdout).to_string();
        assert!(!text.contains("miss"), "{text}");
        assert!(text.contains("verdicts=10/10"), "{text}");
    }
}

#[test]
fn a_bad_file_gets_an_error_line_and_the_others_are_still_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&samples()[0]).unwrap()).unwrap();
    v["id"] = serde_json::json!("BAD-1");
    v["sites"][0]["operator"] = serde_json::json!("m42");
    std::fs::write(&bad, v.to_string()).unwrap();
    let notjson = dir.path().join("notjson.json");
    std::fs::write(&notjson, "{ this is not json").unwrap();
    let files = samples();
    let out = run(bin()
        .args(["proposal", "review"])
        .arg(&files[0])
        .arg(&bad)
        .arg(&notjson)
        .arg(&files[1])
        .args(["--format", "jsonl"]));
    assert_eq!(out.status.code(), Some(1));
    let got = lines(&out);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0]["id"], "S01");
    assert_eq!(got[1]["id"], "BAD-1");
    assert_eq!(got[1]["error"]["code"], "invalid_proposal");
    let msg = got[1]["error"]["problems"][0].as_str().unwrap();
    assert!(
        msg.contains("sites[0].operator") && msg.contains("m42"),
        "{msg}"
    );
    assert!(got[2]["error"].is_object());
    assert_eq!(got[3]["id"], "S02");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("sites[0].operator"),
        "{err}"
    );
}

#[test]
fn reports_cyclonedx_and_licence_csv_come_out_for_one_proposal() {
    let file = &samples()[1]; // S02: a licence with presumption of approval
    let md = run(bin()
        .args(["proposal", "review"])
        .arg(file)
        .args(["--format", "md"]));
    assert!(md.status.success());
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("S02") && md.contains("licences_required"),
        "{md}"
    );
    let html = run(bin()
        .args(["proposal", "review"])
        .arg(file)
        .args(["--format", "html"]));
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!") && html.contains("S02"));
    let cdx = run(bin()
        .args(["proposal", "review"])
        .arg(file)
        .args(["--format", "cyclonedx"]));
    assert!(cdx.status.success());
    let bom: serde_json::Value = serde_json::from_slice(&cdx.stdout).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    let chip = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["bom-ref"] == "chip-1")
        .unwrap();
    let props: Vec<(&str, &str)> = chip["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert!(
        props.contains(&("stackport:review:eccn", "3A090.a")),
        "{props:?}"
    );
    assert!(props
        .iter()
        .any(|(n, v)| *n == "stackport:review:determination" && v.contains("license_required")));
    // The annotated BOM is itself a valid package.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("annotated.json");
    std::fs::write(&path, &cdx.stdout).unwrap();
    let check = run(bin().args(["package", "check"]).arg(&path));
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let csv = run(bin()
        .args(["proposal", "review"])
        .arg(file)
        .args(["--format", "licence-csv"]));
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().next().unwrap().contains("block22a_eccn"));
    // Several files need jsonl.
    let two = run(bin()
        .args(["proposal", "review"])
        .args(&samples()[..2])
        .args(["--format", "md"]));
    assert!(!two.status.success());
}

#[test]
fn proposal_new_writes_an_example_that_reviews_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    let out = run(bin().args(["proposal", "new", "-o"]).arg(&path));
    assert!(out.status.success());
    let out = run(bin()
        .args(["proposal", "review"])
        .arg(&path)
        .args(["--format", "json"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verdict"], "licences_required");
    assert_eq!(r["licence_applications"].as_array().unwrap().len(), 2);
}

#[test]
fn package_check_names_the_bom_ref_and_property() {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&samples()[0]).unwrap()).unwrap();
    let mut bom = v["package"].clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.json");
    std::fs::write(&path, bom.to_string()).unwrap();
    assert!(run(bin().args(["package", "check"]).arg(&path))
        .status
        .success());
    bom["components"][1]["properties"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["name"] != "stackport:layer");
    std::fs::write(&path, bom.to_string()).unwrap();
    let out = run(bin().args(["package", "check"]).arg(&path));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("data-1") && err.contains("stackport:layer"),
        "{err}"
    );
    // The schema alone does not know the profile.
    assert!(
        run(bin().args(["package", "check", "--schema-only"]).arg(&path))
            .status
            .success()
    );
    std::fs::write(&path, "[1, 2").unwrap();
    assert_eq!(
        run(bin().args(["package", "check"]).arg(&path))
            .status
            .code(),
        Some(1)
    );
}
