//! An OFAC legacy CSV set from any bytes: `rel 0xFF primary 0xFF add 0xFF alt 0xFF comments`.
//! `rel` is the path the snapshot records (its date is the data date); a path ending in
//! `cons_prim.csv` reads the consolidated non-SDN list; a missing part is a missing companion.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use stackport_fuzz::{check_list, parts};
use stackport_screening::parse::{read_list, FileBytes, ListFile};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 5);
    let rel = String::from_utf8_lossy(p[0]);
    let consolidated = rel.to_ascii_lowercase().ends_with("cons_prim.csv");
    let file = |i: usize, name: &'static str| {
        p.get(i).map(|bytes| FileBytes {
            path: Path::new(name),
            bytes,
        })
    };
    let primary = file(1, "sdn.csv").unwrap_or(FileBytes {
        path: Path::new("sdn.csv"),
        bytes: b"",
    });
    let set = ListFile::Ofac {
        consolidated,
        primary,
        add: file(2, "add.csv"),
        alt: file(3, "alt.csv"),
        comments: file(4, "sdn_comments.csv"),
    };
    // One OFAC set may repeat an entry number (load_dir keeps the newer); ids need not be unique.
    check_list(read_list(&rel, set), false);
});
