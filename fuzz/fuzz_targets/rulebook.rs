//! The rulebook loader fed any text in place of one of its files: the first byte picks the file
//! (the eight of `stackport_controls::FILES`, then the program's `program.toml`), the rest is
//! its text; the other files are the repository's. Loading returns a rulebook or problems, never
//! panics; a rulebook that loads answers the sample cases without panicking.
#![no_main]
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackport_controls::{CaseInput, SourceFile, FILES};
use stackport_program::ProgramRules;

fn repository() -> &'static Path {
    static D: OnceLock<std::path::PathBuf> = OnceLock::new();
    D.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

fn sources() -> &'static [SourceFile] {
    static S: OnceLock<Vec<SourceFile>> = OnceLock::new();
    S.get_or_init(|| {
        FILES
            .iter()
            .map(|name| SourceFile {
                name: format!("rulebook/{name}"),
                text: std::fs::read_to_string(repository().join("rulebook").join(name))
                    .expect("rulebook file"),
            })
            .collect()
    })
}

fn cases() -> &'static [CaseInput] {
    static C: OnceLock<Vec<CaseInput>> = OnceLock::new();
    C.get_or_init(|| {
        let text = include_str!("../fixtures/cases.jsonl");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("sample case"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let which = usize::from(which) % (FILES.len() + 1);
    if which == FILES.len() {
        let _ = ProgramRules::parse("rulebook/program.toml", &text);
        return;
    }
    let mut files = sources().to_vec();
    files[which].text = text.into_owned();
    match stackport_controls::Rulebook::from_sources(&files) {
        Ok(rb) => {
            for c in cases() {
                let _ = rb.determine_input(c, &[], true);
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
