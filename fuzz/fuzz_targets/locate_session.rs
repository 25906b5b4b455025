//! A landmark session fed arbitrary datagrams between honest rounds: never panics, and no
//! fuzzed datagram is ever accepted (only the chip can sign).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackport_locate::protocol::{
    ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, ResponseOutcome, SecretKey,
    SessionConfig, SignatureAlgorithm,
};

fn keys() -> &'static (LandmarkKey, ChipKey) {
    static K: OnceLock<(LandmarkKey, ChipKey)> = OnceLock::new();
    K.get_or_init(|| {
        (
            LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519)),
            ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519)),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (lm, chip) = keys();
    let mut s = LandmarkSession::new(
        LandmarkId::new("lm").expect("id"),
        ChipId::new("chip").expect("id"),
        stackport_locate::protocol::ChipSigner::public_key(chip),
        1,
        SessionConfig {
            rounds: 4,
            timeout_ns: 1_000,
        },
    );
    let mut t = 0u64;
    for piece in data.split(|b| *b == 0xff).take(16) {
        if !s.all_issued() && (piece.len() % 3 == 0) {
            let _ = s.issue(lm, [piece.len() as u8; 32], 0);
            let _ = s.mark_sent(t);
        }
        t += piece.len() as u64 * 10;
        let out = s.on_response(piece, t);
        assert!(
            !matches!(out, ResponseOutcome::Accepted { .. }),
            "a fuzzed datagram was accepted"
        );
    }
});
