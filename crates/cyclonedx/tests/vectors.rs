//! The specification's own test documents: every `valid-*.json` accepted, every
//! `invalid-*.json` rejected with a violation that names the offending path.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use stackport_cyclonedx::Schema;

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cyclonedx-1.6")
}

fn vectors(prefix: &str) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = std::fs::read_dir(reference().join("test-vectors"))
        .expect("the CycloneDX test vectors in ../shared")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (
                name,
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn every_valid_vector_is_accepted() {
    let schema = Schema::embedded().expect("schema embedded at build time");
    let valid = vectors("valid-");
    assert_eq!(valid.len(), 45);
    for (name, doc) in &valid {
        if let Err(v) = schema.validate(doc) {
            panic!("{name} rejected: {v:?}");
        }
    }
}

#[test]
fn every_invalid_vector_is_rejected_naming_the_path() {
    let schema = Schema::embedded().unwrap();
    let invalid = vectors("invalid-");
    assert_eq!(invalid.len(), 25);
    for (name, doc) in &invalid {
        let v = schema
            .validate(doc)
            .err()
            .unwrap_or_else(|| panic!("{name} accepted"));
        assert!(!v.is_empty());
        assert!(
            v.iter()
                .all(|x| !x.message.is_empty() && !x.schema_path.is_empty()),
            "{name}: {v:?}"
        );
        // All but a root-level problem name where in the document it is.
        assert!(
            v.iter().any(|x| x.instance_path.starts_with('/')),
            "{name}: {v:?}"
        );
    }
}

#[test]
fn specific_vectors_name_their_offending_value() {
    let schema = Schema::embedded().unwrap();
    let all: std::collections::HashMap<String, Value> = vectors("invalid-").into_iter().collect();
    let paths = |n: &str| -> Vec<String> {
        schema
            .validate(&all[n])
            .unwrap_err()
            .into_iter()
            .map(|v| v.instance_path)
            .collect()
    };
    assert_eq!(paths("invalid-bomformat-1.6.json"), ["/bomFormat"]);
    assert!(paths("invalid-metadata-timestamp-1.6.json")
        .iter()
        .any(|p| p == "/metadata/timestamp"));
    assert!(paths("invalid-component-type-1.6.json")
        .iter()
        .any(|p| p.starts_with("/components/0")));
    assert!(paths("invalid-serialnumber-1.6.json")
        .iter()
        .any(|p| p == "/serialNumber"));
}

#[test]
fn other_spec_versions_are_refused_by_name() {
    let schema = Schema::embedded().unwrap();
    let v = schema
        .validate(&json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}))
        .unwrap_err();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].instance_path, "/specVersion");
    assert!(v[0].message.contains("1.5"));
    let v = schema.validate(&json!([1, 2])).unwrap_err();
    assert_eq!(v[0].instance_path, "");
}

#[test]
fn the_schema_loads_from_a_directory_too() {
    let schema = Schema::load_dir(&reference().join("schema")).unwrap();
    assert!(schema
        .validate(&json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}))
        .is_ok());
    assert!(Schema::load_dir(Path::new("/nonexistent")).is_err());
}

#[test]
fn a_large_bom_validates() {
    let schema = Schema::embedded().unwrap();
    let components: Vec<Value> = (0..10_000)
        .map(|i| {
            json!({"bom-ref": format!("c{i}"), "type": "device", "name": format!("Component {i}"),
                   "properties": [{"name": "stackport:layer", "value": "hardware"}]})
        })
        .collect();
    let mut doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components});
    assert!(schema.validate(&doc).is_ok());
    doc["components"][9_999]["type"] = json!("spaceship");
    let v = schema.validate(&doc).unwrap_err();
    assert!(
        v.iter().any(|x| x.instance_path == "/components/9999/type"),
        "{v:?}"
    );
}
