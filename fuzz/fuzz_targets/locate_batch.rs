//! The batch files of `stackport locate verify` (`L.csv 0xFF M.csv 0xFF C.csv 0xFF tau`) from any
//! bytes: each parser returns a clear error or rows, never panics, and parsed files go through
//! the landmark cross-check and the verdicts without panicking; one verdict line per claim.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackport_fuzz::parts;
use stackport_locate::batch;
use stackport_locate::countries::{Atlas, CountryCode, Zone};

fn zone() -> &'static Zone {
    static Z: OnceLock<Zone> = OnceLock::new();
    Z.get_or_init(|| {
        let atlas = Atlas::natural_earth_50m().expect("embedded map");
        atlas
            .zone(&CountryCode::default_prohibited())
            .expect("default zone")
    })
}

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 4);
    let text = |i: usize| String::from_utf8_lossy(p.get(i).copied().unwrap_or_default());
    let (l, m, c) = (text(0), text(1), text(2));
    let claims = batch::parse_claims("C.csv", &c);
    let Ok(landmarks) = batch::parse_landmarks("L.csv", &l) else {
        return;
    };
    let Ok(rows) = batch::parse_measurements("M.csv", &m, &landmarks) else {
        return;
    };
    let _ = batch::landmarks_check(&landmarks, &rows);
    let Ok(claims) = claims else {
        return;
    };
    let tau = text(3).trim().parse::<f64>().unwrap_or(0.0);
    if let Ok((_, lines, _)) = batch::verify(&landmarks, &rows, &claims, zone(), tau) {
        assert_eq!(lines.len(), claims.len());
    }
});
