//! The chip side fed arbitrary datagrams: never panics; with pinned keys, nothing fuzzed is
//! admitted (the landmark's signature cannot be forged).
#![no_main]
use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackport_locate::protocol::{
    AgentGuard, ChipId, LandmarkId, PublicKey, SecretKey, SignatureAlgorithm,
};

fn pinned() -> &'static HashMap<LandmarkId, PublicKey> {
    static K: OnceLock<HashMap<LandmarkId, PublicKey>> = OnceLock::new();
    K.get_or_init(|| {
        HashMap::from([(
            LandmarkId::new("lm").expect("id"),
            SecretKey::generate(SignatureAlgorithm::Ed25519).public_key(),
        )])
    })
}

fuzz_target!(|data: &[u8]| {
    let mut strict = AgentGuard::new(
        ChipId::new("chip").expect("id"),
        pinned().clone(),
        true,
        u64::MAX,
    );
    assert!(strict.admit(data, 0).is_err());
    let mut open = AgentGuard::new(
        ChipId::new("chip").expect("id"),
        HashMap::new(),
        false,
        u64::MAX,
    );
    let _ = open.admit(data, 0);
});
