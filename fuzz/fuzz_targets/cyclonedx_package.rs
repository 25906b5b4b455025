//! A CycloneDX package (the `package` of a proposal, `stackport package check`) from any bytes:
//! schema validation returns violations that point into the document, never panics, and the
//! `stackport:` profile check runs on every document the schema accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_cyclonedx::Schema;
use stackport_fuzz::rulebook;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let schema = Schema::embedded().expect("the schema is embedded (../shared/reference)");
    if let Err(violations) = schema.validate(&doc) {
        assert!(!violations.is_empty());
        for v in &violations {
            // A JSON pointer into this document: to the offending value, or to where a missing
            // member (`bomFormat`, `specVersion`) belongs.
            let parent = v.instance_path.rsplit_once('/').map_or("", |(p, _)| p);
            assert!(
                doc.pointer(&v.instance_path).is_some() || doc.pointer(parent).is_some(),
                "violation at {:?}, which is not in the document",
                v.instance_path
            );
        }
    }
    let _ = stackport_program::bom::check_package(&doc, rulebook());
});
