//! The CycloneDX specification's own 1.6 test vectors, read from
//! `../shared/reference/cyclonedx-1.6` beside the workspace (never copied into the repository):
//! every `valid-*.json` must be accepted and every `invalid-*.json` rejected, with violations
//! that say where.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use stackport_cyclonedx::{Schema, Violation, MAX_VIOLATIONS};

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cyclonedx-1.6")
}

/// A valid BOM of `count` library components, each with a purl, a `bom-ref`, an SPDX licence
/// id, a SHA-256 hash, an external reference and three properties: the fields the schema checks
/// most expensively (the SPDX enum, the hash pattern, `iri-reference` formats).
fn large_bom(count: usize) -> Value {
    let components: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "type": "library",
                "bom-ref": format!("pkg:cargo/component-{i}@1.{}.0", i % 100),
                "group": "com.example",
                "name": format!("component-{i}"),
                "version": format!("1.{}.0", i % 100),
                "purl": format!("pkg:cargo/component-{i}@1.{}.0", i % 100),
                "licenses": [{ "license": { "id": "Apache-2.0" } }],
                "hashes": [{ "alg": "SHA-256", "content": format!("{i:064x}") }],
                "externalReferences": [{
                    "type": "vcs",
                    "url": format!("https://example.com/src/component-{i}.git")
                }],
                "properties": [
                    { "name": "stackport:eccn", "value": "5D992.c" },
                    { "name": "stackport:origin-country", "value": "US" },
                    { "name": "stackport:index", "value": i.to_string() }
                ]
            })
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": { "timestamp": "2026-01-01T00:00:00Z" },
        "components": components
    })
}

/// The schema compiled from `../shared` at run time: the tests check the official files
/// themselves, whether or not this build embedded them.
fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let dir = reference_dir().join("schema");
        Schema::load_dir(&dir).unwrap_or_else(|err| panic!("{err}"))
    })
}

/// The test vectors whose file name starts with `prefix`, parsed, sorted by name.
fn vectors(prefix: &str) -> Vec<(String, Value)> {
    let dir = reference_dir().join("test-vectors");
    let entries = fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    let mut found: Vec<(String, Value)> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            (name.starts_with(prefix) && name.ends_with(".json")).then_some((name, path))
        })
        .map(|(name, path)| {
            let text = fs::read_to_string(&path).expect("readable test vector");
            let doc = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (name, doc)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn vector(name: &str) -> Value {
    let path = reference_dir().join("test-vectors").join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).expect("test vector is JSON")
}

fn violations_of(name: &str) -> Vec<Violation> {
    schema()
        .validate(&vector(name))
        .expect_err("invalid vector must be rejected")
}

fn render(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  {v}  [schema {}]", v.schema_path))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that some violation sits at `path` and its message contains `needle`.
fn assert_violation(name: &str, path: &str, needle: &str) {
    let violations = violations_of(name);
    assert!(
        violations
            .iter()
            .any(|v| v.instance_path == path && v.message.contains(needle)),
        "{name}: expected a violation at {path} mentioning {needle:?}, got\n{}",
        render(&violations)
    );
}

#[test]
fn every_valid_vector_is_accepted() {
    let valid = vectors("valid-");
    assert_eq!(
        valid.len(),
        45,
        "the 1.6 test vectors hold 45 valid documents"
    );
    let rejected: Vec<String> = valid
        .iter()
        .filter_map(|(name, doc)| {
            let violations = schema().validate(doc).err()?;
            Some(format!("{name}:\n{}", render(&violations)))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "valid vectors rejected:\n{}",
        rejected.join("\n")
    );
}

#[test]
fn every_invalid_vector_is_rejected_with_a_located_violation() {
    let invalid = vectors("invalid-");
    assert_eq!(
        invalid.len(),
        25,
        "the 1.6 test vectors hold 25 invalid documents"
    );
    for (name, doc) in &invalid {
        let violations = schema()
            .validate(doc)
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(violations.len() <= MAX_VIOLATIONS);
        assert!(
            violations.iter().any(|v| !v.instance_path.is_empty()),
            "{name}: no violation names a place in the document:\n{}",
            render(&violations)
        );
        assert!(
            violations
                .iter()
                .all(|v| !v.message.is_empty() && !v.schema_path.is_empty()),
            "{name}:\n{}",
            render(&violations)
        );
    }
}

#[test]
fn invalid_vectors_name_the_offending_path_and_value() {
    assert_violation(
        "invalid-bomformat-1.6.json",
        "/bomFormat",
        "\"AnotherFormat\"",
    );
    assert_violation(
        "invalid-component-type-1.6.json",
        "/components/0/type",
        "\"foo\"",
    );
    assert_violation("invalid-scope-1.6.json", "/components/0/scope", "\"foo\"");
    assert_violation(
        "invalid-metadata-timestamp-1.6.json",
        "/metadata/timestamp",
        "\"2020-04-13\" is not a \"date-time\"",
    );
    assert_violation(
        "invalid-serialnumber-1.6.json",
        "/serialNumber",
        "urn:uuid:3e671687-395b-41f5-a30f",
    );
    assert_violation(
        "invalid-missing-component-type-1.6.json",
        "/components/0",
        "\"type\" is a required property",
    );
    assert_violation(
        "invalid-hash-md5-1.6.json",
        "/components/0/hashes/0/content",
        "\"foo\"",
    );
    assert_violation(
        "invalid-component-ref-1.6.json",
        "/components/1/bom-ref",
        "\"\"",
    );
}

#[test]
fn a_long_enum_is_not_quoted_whole() {
    // `license.id` is an enum of several hundred SPDX identifiers (spdx.schema.json).
    let violations = violations_of("invalid-license-id-1.6.json");
    assert!(
        violations.iter().all(|v| v.message.len() < 1_000),
        "{}",
        render(&violations)
    );
}

#[test]
fn a_failed_one_of_names_the_nearest_failure() {
    // `licenses` is a `oneOf` (licence list or expression); the message must still reach down
    // to the id that is not an SPDX identifier.
    assert_violation(
        "invalid-license-id-1.6.json",
        "/components/0/licenses",
        "nearest failure at /components/0/licenses/0/license/id: \"Apache-2\" is not one of",
    );
    assert_violation(
        "invalid-license-encoding-1.6.json",
        "/components/0/licenses",
        "/components/0/licenses/0/license/text/encoding: \"base85\"",
    );
}

#[test]
fn another_spec_version_gets_one_clear_violation() {
    let mut doc = vector("valid-bom-1.6.json");
    doc["specVersion"] = json!("1.5");
    let violations = schema().validate(&doc).expect_err("1.5 is not 1.6");
    assert_eq!(violations.len(), 1, "{}", render(&violations));
    assert_eq!(violations[0].instance_path, "/specVersion");
    assert!(
        violations[0].message.contains("\"1.5\""),
        "{}",
        violations[0]
    );
}

#[test]
fn a_document_that_is_not_an_object_is_refused_at_the_root() {
    let violations = schema().validate(&json!([1, 2])).expect_err("not a BOM");
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].instance_path, "");
}

#[test]
fn violations_are_capped() {
    let mut doc = large_bom(500);
    for component in doc["components"].as_array_mut().expect("components array") {
        component["type"] = json!("not-a-type");
    }
    let violations = schema()
        .validate(&doc)
        .expect_err("every component is wrong");
    assert_eq!(violations.len(), MAX_VIOLATIONS);
    assert_eq!(violations[0].instance_path, "/components/0/type");
}

#[test]
fn a_bom_of_ten_thousand_components_validates() {
    let doc = large_bom(10_000);
    if let Err(violations) = schema().validate(&doc) {
        panic!("generated BOM rejected:\n{}", render(&violations));
    }
    // One broken component among them is found and located.
    let mut doc = doc;
    doc["components"][9_999]["properties"][1] = json!({ "value": "no name" });
    let violations = schema()
        .validate(&doc)
        .expect_err("a property lacks its name");
    assert!(
        violations
            .iter()
            .any(|v| v.instance_path == "/components/9999/properties/1"),
        "{}",
        render(&violations)
    );
}

#[test]
fn the_embedded_schema_matches_the_reference_files() {
    // This build ran beside ../shared, so build.rs found and embedded the schema.
    let embedded = Schema::embedded().unwrap_or_else(|err| panic!("{err}"));
    for (name, doc) in vectors("") {
        assert_eq!(
            embedded.validate(&doc).is_ok(),
            schema().validate(&doc).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn load_dir_names_a_missing_file() {
    let err = Schema::load_dir(Path::new("/nonexistent/cyclonedx")).expect_err("no such dir");
    let message = err.to_string();
    assert!(
        message.contains("/nonexistent/cyclonedx/bom-1.6.schema.json"),
        "{message}"
    );
}
