//! Signed notes, verifier and signer keys, and checkpoints from any text (C2SP signed-note and
//! tlog-checkpoint): every parser returns, never panics, and what parses re-encodes to the same
//! bytes (one encoding per value, so a signed note cannot be rewritten into another form that
//! still verifies).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stackport_ledger::{Checkpoint, Note, SignerKey, VerifierKey};

/// The log key the seeds' notes are signed with (a fixed, public test seed).
fn key() -> &'static SignerKey {
    static K: OnceLock<SignerKey> = OnceLock::new();
    K.get_or_init(|| SignerKey::from_seed("fuzz.example/log", &[7; 32]).expect("valid name"))
}

/// A parsed note written out again: its text, a blank line, one line per signature.
fn encode(note: &Note) -> String {
    use base64::Engine;
    let mut out = format!("{}\n", note.text);
    for s in &note.signatures {
        let mut blob = s.key_id.to_be_bytes().to_vec();
        blob.extend_from_slice(&s.signature);
        out.push_str(&format!(
            "\u{2014} {} {}\n",
            s.name,
            base64::engine::general_purpose::STANDARD.encode(blob)
        ));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = VerifierKey::parse(text) {
        assert_eq!(v.to_string(), text, "a verifier key with two encodings");
    }
    if let Ok(k) = SignerKey::parse(text) {
        let again = SignerKey::parse(&k.to_secret_string()).expect("own encoding parses");
        assert_eq!(again.verifier(), k.verifier());
    }
    if let Ok(cp) = Checkpoint::parse_body(text) {
        assert_eq!(Checkpoint::parse_body(&cp.body()).ok(), Some(cp));
    }
    if let Ok(note) = Note::parse(text) {
        assert_eq!(encode(&note), text, "a note with two encodings");
        // Any text the parser accepts can be signed, and the signed note opens to it.
        let signed = key()
            .sign(&note.text)
            .expect("parsed note text is signable");
        let opened = Note::open(&signed, key().verifier()).expect("own note opens");
        assert_eq!(opened.text, note.text);
    }
    if let Ok(cp) = Checkpoint::open(text, key().verifier()) {
        assert_eq!(cp.origin, key().name());
    }
});
