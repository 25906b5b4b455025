//! Integration tests of the rulebook and engine over the real `rulebook/` files.

use std::path::{Path, PathBuf};

use stackport_controls::case::CaseInput;
use stackport_controls::{DeterminationOutput, Rulebook};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rb() -> Rulebook {
    Rulebook::embedded().expect("the built-in rulebook is valid")
}

/// The eval README's matching rules for one expected line against one output.
pub fn matches(expected: &serde_json::Value, out: &DeterminationOutput) -> Result<(), String> {
    let norm_null = |s: Option<&str>| match s {
        None => None,
        Some(s)
            if s.is_empty()
                || s.eq_ignore_ascii_case("n/a")
                || s.eq_ignore_ascii_case("none")
                || s.eq_ignore_ascii_case("not_subject") =>
        {
            None
        }
        Some(s) => Some(s.to_ascii_lowercase()),
    };
    let got = norm_null(out.eccn.as_deref());
    let eccn_ok = |want: &str| -> bool {
        let want = want.to_ascii_lowercase();
        match &got {
            None => false,
            Some(g) => {
                if g == &want {
                    return true;
                }
                // More specific at a paragraph boundary matches, but .z never matches non-.z.
                g.starts_with(&format!("{want}.")) && !(g.contains(".z") && !want.contains(".z"))
                    || (g.starts_with(&want)
                        && g[want.len()..].starts_with('.')
                        && !g.ends_with(".z"))
            }
        }
    };
    let ok = match &expected["eccn"] {
        serde_json::Value::Null => got.is_none(),
        serde_json::Value::String(s) => eccn_ok(s),
        serde_json::Value::Array(a) => a.iter().any(|v| v.as_str().is_some_and(eccn_ok)),
        other => return Err(format!("bad expected eccn {other}")),
    };
    if !ok {
        return Err(format!(
            "eccn: expected {} got {:?}",
            expected["eccn"], out.eccn
        ));
    }
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    if s(&expected["outcome"]).as_deref() != Some(out.outcome.as_str()) {
        return Err(format!(
            "outcome: expected {} got {}",
            expected["outcome"], out.outcome
        ));
    }
    if s(&expected["exception"]) != out.exception {
        return Err(format!(
            "exception: expected {} got {:?}",
            expected["exception"], out.exception
        ));
    }
    if expected["notification_required"].as_bool() != Some(out.notification_required) {
        return Err(format!(
            "notification: expected {} got {}",
            expected["notification_required"], out.notification_required
        ));
    }
    if s(&expected["review_policy"]) != out.review_policy {
        return Err(format!(
            "review_policy: expected {} got {:?}",
            expected["review_policy"], out.review_policy
        ));
    }
    if out.citations.is_empty() {
        return Err("no citation".into());
    }
    Ok(())
}

#[test]
fn every_eval_sample_is_right_through_the_library() {
    let rb = rb();
    let dir = repo().join("../shared/eval/rules");
    let cases = std::fs::read_to_string(dir.join("sample_cases.jsonl")).expect("sample cases");
    let expected =
        std::fs::read_to_string(dir.join("sample_expected.jsonl")).expect("sample expected");
    let mut failures = Vec::new();
    let mut n = 0;
    for (c, e) in cases.lines().zip(expected.lines()) {
        let case: CaseInput = serde_json::from_str(c).expect("case JSON");
        let exp: serde_json::Value = serde_json::from_str(e).expect("expected JSON");
        assert_eq!(case.id, exp["id"]);
        let out = rb
            .determine_input(&case, &[], false)
            .expect("determination");
        if let Err(m) = matches(&exp, &out) {
            failures.push(format!("{}: {m}", exp["id"]));
        }
        n += 1;
    }
    assert_eq!(n, 18);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
