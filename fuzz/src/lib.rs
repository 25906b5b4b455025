//! What the fuzz targets share: how one input is cut into several files, the checks every
//! parsed list must pass, and the fixtures (rulebook, program rules, a screener) built once per
//! process rather than once per input.
//!
//! A target that reads several files takes them from one input cut at 0xFF bytes. 0xFF never
//! occurs in UTF-8, so a seed made of real text files stays readable, and libFuzzer's mutators
//! still move, add and remove the cuts. The regression tests in the crates (run by plain
//! `cargo test`) cut their inputs the same way.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use stackport_controls::Rulebook;
use stackport_program::ProgramRules;
use stackport_screening::parse::{read_list, FileBytes, ListFile, ParseError};
use stackport_screening::{Entity, Query, Screener, Snapshot, SourceFile};

/// The byte that separates the files of one input.
pub const SEPARATOR: u8 = 0xff;

/// Cuts `data` into at most `n` parts at [`SEPARATOR`] bytes; the last part keeps any further
/// separators.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == SEPARATOR).collect()
}

/// A single-file list format (`rel 0xFF file`): `rel` is the path the snapshot records (lossy
/// UTF-8; a date in it is the data date of files that carry none), `file` the bytes handed to
/// `format`, under the name `name`.
pub fn fuzz_single_file<'a>(
    data: &'a [u8],
    name: &'a str,
    format: fn(FileBytes<'a>) -> ListFile<'a>,
    unique_ids: bool,
) {
    let p = parts(data, 2);
    let rel = String::from_utf8_lossy(p[0]);
    let file = FileBytes {
        path: Path::new(name),
        bytes: p.get(1).copied().unwrap_or_default(),
    };
    check_list(read_list(&rel, format(file)), unique_ids);
}

/// What a list reader returned for a fuzzed file: an error must name a file and a reason; a
/// snapshot must hold only entities with an id and a name, and screening against it must work.
pub fn check_list(result: Result<(Vec<SourceFile>, Vec<Entity>), ParseError>, unique_ids: bool) {
    let (sources, entities) = match result {
        Ok(v) => v,
        Err(e) => {
            assert!(!e.reason.is_empty(), "an error without a reason: {e:?}");
            return;
        }
    };
    assert!(!sources.is_empty(), "a list read without a source file");
    let mut ids = HashSet::new();
    for e in &entities {
        assert!(!e.id.is_empty() && !e.name.is_empty(), "{e:?}");
        if unique_ids {
            assert!(ids.insert(e.id.as_str()), "two entities with id {:?}", e.id);
        }
    }
    let snapshot = Snapshot { sources, entities };
    let screener = Screener::new(&snapshot);
    for e in snapshot.entities.iter().take(4) {
        let query = Query {
            name: e.name.clone(),
            ..Default::default()
        };
        // A name can be unscreenable (too long, nothing left after normalisation); it must
        // never panic.
        let _ = screener.screen(&query, 10, 0.0);
    }
}

/// The rulebook compiled into the binary.
pub fn rulebook() -> &'static Rulebook {
    static R: OnceLock<Rulebook> = OnceLock::new();
    R.get_or_init(|| Rulebook::embedded().expect("the embedded rulebook loads"))
}

/// The program rules compiled into the binary.
pub fn program_rules() -> &'static ProgramRules {
    static R: OnceLock<ProgramRules> = OnceLock::new();
    R.get_or_init(|| ProgramRules::embedded().expect("the embedded program rules load"))
}

/// A screener over the repository's bundled list snapshot.
pub fn screener() -> &'static Screener {
    static S: OnceLock<Screener> = OnceLock::new();
    S.get_or_init(|| {
        let lists = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/lists");
        let snapshot =
            stackport_screening::parse::load_dir(&lists).expect("the bundled lists load");
        Screener::new(&snapshot)
    })
}
