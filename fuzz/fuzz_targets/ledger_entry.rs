//! RFC 8785 canonical JSON and ledger decisions from any bytes: canonicalisation returns, never
//! panics; it is idempotent; and the in-memory path (`canonicalize_value`) agrees with the
//! text path on every document both accept.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_ledger::{canonicalize, canonicalize_value, Decision};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = canonicalize(data) {
        assert_eq!(
            canonicalize(c.as_bytes()).ok().as_ref(),
            Some(&c),
            "not idempotent"
        );
        let v: serde_json::Value = serde_json::from_str(&c).expect("canonical JSON is JSON");
        if let Ok(again) = canonicalize_value(&v) {
            assert_eq!(again, c, "the value path disagrees with the text path");
        }
    }
    if let Ok(d) = serde_json::from_slice::<Decision>(data) {
        if let Ok(c) = d.canonical_json() {
            assert_eq!(canonicalize(c.as_bytes()).ok().as_ref(), Some(&c));
        }
    }
});
