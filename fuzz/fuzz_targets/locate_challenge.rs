//! Any bytes: the challenge decoder and the kind dispatcher return, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_locate::protocol::{Message, SignedChallenge};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = SignedChallenge::decode(data) {
        // Re-decoding the exact bytes gives the same value.
        assert_eq!(SignedChallenge::decode(c.encoded()).ok(), Some(c));
    }
    let _ = Message::decode(data);
});
