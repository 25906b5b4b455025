//! Any bytes: the measurement decoder (with its embedded challenge and response) and the
//! signature checks return, never panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackport_locate::protocol::{PublicKey, SecretKey, SignatureAlgorithm, SignedMeasurement};

fn keys() -> &'static (PublicKey, PublicKey) {
    static K: OnceLock<(PublicKey, PublicKey)> = OnceLock::new();
    K.get_or_init(|| {
        (
            SecretKey::generate(SignatureAlgorithm::Ed25519).public_key(),
            SecretKey::generate(SignatureAlgorithm::EcdsaP384Sha384).public_key(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SignedMeasurement::decode(data) {
        let (ed, p) = keys();
        // Random keys: a fuzzed measurement can never carry valid signatures under them.
        assert!(m.verify(ed, p).is_err());
        let _ = m.measurement.check_plausible(0, 0, 0);
    }
    let _ = PublicKey::parse(&String::from_utf8_lossy(data));
});
