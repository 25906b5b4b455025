//! The UN Security Council consolidated list (XML) from any bytes: `rel 0xFF file`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_fuzz::fuzz_single_file;
use stackport_screening::parse::ListFile;

fuzz_target!(|data: &[u8]| {
    // The reader refuses a repeated reference number, so ids are unique.
    fuzz_single_file(data, "consolidated.xml", ListFile::Un, true);
});
