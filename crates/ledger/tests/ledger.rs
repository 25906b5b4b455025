//! Conformance against published test vectors, and property tests of the proofs.

use proptest::prelude::*;
use stackport_ledger::checkpoint::Checkpoint;
use stackport_ledger::merkle::{
    self, empty_root, verify_consistency, verify_inclusion, MemoryTree,
};
use stackport_ledger::note::{key_id, Note, SignerKey, VerifierKey};
use stackport_ledger::{canonicalize, Hash, LedgerError};

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

// ---- RFC 6962 reference implementation vectors ------------------------------------------------
//
// Source: google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc (commit
// c25edc2cced17500dec7bdc4e1fb51e9aeca5683): the eight leaf inputs, the roots of the trees of
// their first 1..8 leaves, audit paths (`sha256_paths`, whose leaf numbers are 1-based) and
// consistency proofs (`sha256_proofs`). Facts (the hashes) are taken; the code is ours.

const CT_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, path).
fn ct_paths() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof).
fn ct_consistency() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

fn ct_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in CT_INPUTS {
        t.push(&hex::decode(i).unwrap());
    }
    t
}

#[test]
fn ct_empty_tree_hash() {
    // sha256_empty_tree_hash of the same file.
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(MemoryTree::new().root(), empty_root());
}

#[test]
fn ct_roots_incremental_and_at_every_size() {
    let mut t = MemoryTree::new();
    for (i, input) in CT_INPUTS.iter().enumerate() {
        t.push(&hex::decode(input).unwrap());
        assert_eq!(t.root(), h(CT_ROOTS[i]), "root after {} leaves", i + 1);
    }
    for (i, root) in CT_ROOTS.iter().enumerate() {
        assert_eq!(t.root_at(i as u64 + 1).unwrap(), h(root));
    }
}

#[test]
fn ct_inclusion_paths_are_produced_and_verify() {
    let t = ct_tree();
    for (index, size, path) in ct_paths() {
        assert_eq!(
            t.inclusion_proof(index, size).unwrap(),
            path,
            "path of leaf {index} in tree {size}"
        );
        let leaf = merkle::leaf_hash(&hex::decode(CT_INPUTS[index as usize]).unwrap());
        verify_inclusion(index, size, &leaf, &path, &h(CT_ROOTS[size as usize - 1])).unwrap();
    }
}

#[test]
fn ct_consistency_proofs_are_produced_and_verify() {
    let t = ct_tree();
    for (from, to, proof) in ct_consistency() {
        assert_eq!(
            t.consistency_proof(from, to).unwrap(),
            proof,
            "consistency {from} -> {to}"
        );
        verify_consistency(
            from,
            to,
            &h(CT_ROOTS[from as usize - 1]),
            &h(CT_ROOTS[to as usize - 1]),
            &proof,
        )
        .unwrap();
    }
}

#[test]
fn proofs_past_the_tree_are_refused() {
    let t = ct_tree();
    assert_eq!(
        t.inclusion_proof(8, 8).unwrap_err(),
        LedgerError::IndexOutOfRange { index: 8, size: 8 }
    );
    assert_eq!(
        t.inclusion_proof(0, 9).unwrap_err(),
        LedgerError::SizeOutOfRange {
            requested: 9,
            size: 8
        }
    );
    assert_eq!(
        t.consistency_proof(5, 3).unwrap_err(),
        LedgerError::BadRange { from: 5, to: 3 }
    );
    let leaf = merkle::leaf_hash(b"");
    assert!(verify_inclusion(8, 8, &leaf, &[], &h(CT_ROOTS[7])).is_err());
}

// ---- C2SP signed-note vectors -----------------------------------------------------------------
//
// The example key pair and note of the Go reference implementation the C2SP signed-note spec
// names (golang.org/x/mod/sumdb/note, package documentation and note_test.go). Ed25519 is
// deterministic (RFC 8032), so signing the same text must give the same note byte for byte.

const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_vector_signs_and_verifies_byte_for_byte() {
    let signer = SignerKey::parse(GO_SKEY).unwrap();
    assert_eq!(signer.verifier().to_string(), GO_VKEY);
    assert_eq!(signer.verifier().id(), 0xc74f20a3);
    assert_eq!(signer.to_secret_string(), GO_SKEY);
    assert_eq!(signer.sign(GO_TEXT).unwrap(), GO_NOTE);
    let vkey = VerifierKey::parse(GO_VKEY).unwrap();
    assert_eq!(key_id("PeterNeumann", 1, &base64_key(GO_VKEY)), 0xc74f20a3);
    let note = Note::open(GO_NOTE, &vkey).unwrap();
    assert_eq!(note.text, GO_TEXT);
}

fn base64_key(vkey: &str) -> Vec<u8> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(vkey.rsplit('+').next().unwrap())
        .unwrap();
    raw[1..].to_vec()
}

#[test]
fn go_bad_verifier_keys_are_refused() {
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
    ] {
        assert!(VerifierKey::parse(bad).is_err(), "{bad}");
    }
    // Every proper truncation of the real key must be refused too.
    for end in 0..GO_VKEY.len() {
        assert!(
            VerifierKey::parse(&GO_VKEY[..end]).is_err(),
            "truncated to {end}"
        );
    }
}

#[test]
fn unknown_signatures_are_ignored_but_the_expected_key_must_sign() {
    let other = SignerKey::generate("witness.example").unwrap();
    let extra = other.sign(GO_TEXT).unwrap();
    let sig_line = extra.rsplit_once("\n\n").unwrap().1;
    let cosigned = format!("{GO_NOTE}{sig_line}");
    let vkey = VerifierKey::parse(GO_VKEY).unwrap();
    assert_eq!(Note::open(&cosigned, &vkey).unwrap().text, GO_TEXT);
    // Signed by another key only.
    let err = Note::open(&extra, &vkey).unwrap_err();
    assert!(
        err.to_string()
            .contains("no signature by key PeterNeumann+c74f20a3"),
        "{err}"
    );
}

#[test]
fn truncated_and_malformed_notes_are_refused() {
    let vkey = VerifierKey::parse(GO_VKEY).unwrap();
    for end in 0..GO_NOTE.len() {
        if GO_NOTE.is_char_boundary(end) {
            assert!(
                Note::open(&GO_NOTE[..end], &vkey).is_err(),
                "truncated to {end} bytes"
            );
        }
    }
    assert!(Note::parse("text\n\nnot a signature\n").is_err());
    assert!(Note::parse("text\n\n\u{2014} name AAAA\n").is_err());
}

// ---- checkpoints ------------------------------------------------------------------------------

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    let log = SignerKey::generate("stackport.example/ledger").unwrap();
    let impostor = SignerKey::generate("stackport.example/ledger").unwrap();
    let cp = Checkpoint {
        origin: "stackport.example/ledger".into(),
        size: 8,
        root: h(CT_ROOTS[7]),
    };
    let forged = cp.sign(&impostor).unwrap();
    assert!(Checkpoint::open(&forged, log.verifier()).is_err());
    let real = cp.sign(&log).unwrap();
    assert_eq!(Checkpoint::open(&real, log.verifier()).unwrap(), cp);
    // The text format: origin, size, base64 root, blank line, signature line.
    let lines: Vec<&str> = real.lines().collect();
    assert_eq!(
        &lines[..4],
        &[
            "stackport.example/ledger",
            "8",
            "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
            ""
        ]
    );
    assert!(lines[4].starts_with("\u{2014} stackport.example/ledger "));
}

// ---- RFC 8785 ---------------------------------------------------------------------------------

#[test]
fn rfc8785_section_3_2_4_example() {
    // RFC 8785 §3.2.4 ("Canonicalization of JSON data"), input and expected output.
    let input = br#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(canonicalize(input).unwrap(), expected);
}

#[test]
fn rfc8785_section_3_2_3_sorting_by_utf16() {
    let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
    let out = canonicalize(input.as_bytes()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let order: Vec<&str> = v
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap())
        .collect();
    // serde_json's map is sorted by UTF-8 here, so compare positions in the text instead.
    let mut positions: Vec<(usize, &str)> = order
        .iter()
        .map(|name| (out.find(name).unwrap(), *name))
        .collect();
    positions.sort();
    let names: Vec<&str> = positions.into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh"
        ]
    );
}

#[test]
fn canonical_form_is_a_fixed_point() {
    let doc = br#"{ "b": [1.0, -0, 1e-7, "x\ty"], "a": {"z": null, "y": true} }"#;
    let once = canonicalize(doc).unwrap();
    assert_eq!(once, r#"{"a":{"y":true,"z":null},"b":[1,0,1e-7,"x\ty"]}"#);
    assert_eq!(canonicalize(once.as_bytes()).unwrap(), once);
}

// ---- properties -------------------------------------------------------------------------------

fn tree_of(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(&i.to_le_bytes());
    }
    t
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut b = h.0;
    b[bit / 8 % 32] ^= 1 << (bit % 8);
    Hash(b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_inclusion_proof_verifies_and_any_flip_fails(size in 1u64..600, index_seed in any::<u64>(), bit in 0usize..256, which in any::<usize>()) {
        let t = tree_of(size);
        let index = index_seed % size;
        let proof = t.inclusion_proof(index, size).unwrap();
        let root = t.root();
        let data = index.to_le_bytes();
        let leaf = merkle::leaf_hash(&data);
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
        // Flip a bit of the entry.
        let mut bad_data = data;
        bad_data[bit / 8 % 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(index, size, &merkle::leaf_hash(&bad_data), &proof, &root).is_err());
        // Of the root.
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, bit)).is_err());
        // Of a proof element.
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
            // A shortened proof.
            prop_assert!(verify_inclusion(index, size, &leaf, &proof[..proof.len() - 1], &root).is_err());
        }
        // A longer proof.
        let mut long = proof.clone();
        long.push(root);
        prop_assert!(verify_inclusion(index, size, &leaf, &long, &root).is_err());
    }

    #[test]
    fn every_consistency_proof_verifies_and_any_flip_fails(to in 1u64..600, from_seed in any::<u64>(), bit in 0usize..256, which in any::<usize>()) {
        let t = tree_of(to);
        let from = from_seed % (to + 1);
        let proof = t.consistency_proof(from, to).unwrap();
        let (old, new) = (t.root_at(from).unwrap(), t.root());
        prop_assert!(verify_consistency(from, to, &old, &new, &proof).is_ok());
        if from > 0 && from < to {
            prop_assert!(verify_consistency(from, to, &flip(&old, bit), &new, &proof).is_err());
            prop_assert!(verify_consistency(from, to, &old, &flip(&new, bit), &proof).is_err());
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_consistency(from, to, &old, &new, &bad).is_err());
        }
    }

    #[test]
    fn flipping_any_bit_of_a_signed_checkpoint_fails(size in 0u64..1000, bit in any::<usize>()) {
        let key = SignerKey::from_seed("stackport.example/ledger", &[9; 32]).unwrap();
        let t = tree_of(size.min(50));
        let cp = Checkpoint { origin: key.name().into(), size, root: t.root() };
        let note = cp.sign(&key).unwrap();
        prop_assert_eq!(Checkpoint::open(&note, key.verifier()).unwrap(), cp);
        let mut bytes = note.into_bytes();
        let i = bit % (bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        // A flip that leaves no valid UTF-8 is not even text: no verifier would accept it.
        if let Ok(s) = String::from_utf8(bytes) {
            prop_assert!(Checkpoint::open(&s, key.verifier()).is_err(), "flipped bit {} still verifies", i);
        }
    }
}
