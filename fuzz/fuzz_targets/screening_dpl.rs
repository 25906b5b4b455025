//! A BIS Denied Persons List (tab-separated) from any bytes: `rel 0xFF file`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_fuzz::fuzz_single_file;
use stackport_screening::parse::ListFile;

fuzz_target!(|data: &[u8]| {
    // Identical rows get distinct, numbered ids.
    fuzz_single_file(data, "dpl.txt", ListFile::Dpl, true);
});
