//! A determination case (the body of `POST /v1/determine`, a line of `stackport determine
//! --batch`) from any bytes: it is refused with an input error or decided, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_controls::CaseInput;
use stackport_fuzz::rulebook;

fuzz_target!(|data: &[u8]| {
    let Ok(case) = serde_json::from_slice::<CaseInput>(data) else {
        return;
    };
    let rb = rulebook();
    if let Ok(out) = rb.determine_input(&case, &[], true) {
        // The answer serialises (the API writes it as JSON).
        serde_json::to_string(&out).expect("a determination serialises");
    }
});
