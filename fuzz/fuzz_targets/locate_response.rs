//! Any bytes: the response decoder returns, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_locate::protocol::SignedResponse;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = SignedResponse::decode(data) {
        assert_eq!(r.encoded(), data);
    }
});
