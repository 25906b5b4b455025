//! A trade.gov Consolidated Screening List CSV from any bytes: `rel 0xFF file`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_fuzz::fuzz_single_file;
use stackport_screening::parse::ListFile;

fuzz_target!(|data: &[u8]| {
    // Rows sharing an `_id` are merged into one entity: ids are unique.
    fuzz_single_file(data, "consolidated.csv", ListFile::Csl, true);
});
