//! Merkle inclusion and consistency proofs (RFC 9162 §2.1.3–2.1.4) from any bytes: the
//! verifiers return, never panic, for any sizes and proof elements; honest proofs of a tree
//! built from the input verify; and a proof that verifies is the honest one (proofs are unique).
#![no_main]
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use stackport_ledger::merkle::{
    consistency_ranges, inclusion_ranges, verify_consistency, verify_inclusion, MemoryTree,
};
use stackport_ledger::{Frontier, Hash};

fn hash(u: &mut Unstructured<'_>) -> Result<Hash> {
    Ok(Hash(u.arbitrary()?))
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    // Sizes and indices anywhere in u64: the plans and verifiers must not overflow.
    let (a, b): (u64, u64) = (u.arbitrary()?, u.arbitrary()?);
    let _ = inclusion_ranges(a, b);
    let _ = consistency_ranges(a, b);
    let _ = Frontier::node_ids(b);
    let n = u.int_in_range(0..=32usize)?;
    let proof = (0..n).map(|_| hash(u)).collect::<Result<Vec<_>>>()?;
    let (leaf, root, other) = (hash(u)?, hash(u)?, hash(u)?);
    let _ = verify_inclusion(a, b, &leaf, &proof, &root);
    let _ = verify_consistency(a, b, &root, &other, &proof);
    let _ = Frontier::from_nodes(b, &proof);

    // A real tree of up to 300 leaves.
    let mut tree = MemoryTree::new();
    let leaves = u.int_in_range(1..=300u64)?;
    for i in 0..leaves {
        tree.push(&i.to_be_bytes());
    }
    let size = u.int_in_range(1..=leaves)?;
    let index = u.int_in_range(0..=size - 1)?;
    let from = u.int_in_range(0..=size)?;
    let root = tree.root_at(size).expect("size within the tree");
    let old_root = tree.root_at(from).expect("from within the tree");
    let leaf = tree
        .node(stackport_ledger::NodeId::new(0, index))
        .expect("leaf");

    let honest = tree
        .inclusion_proof(index, size)
        .expect("index within size");
    verify_inclusion(index, size, &leaf, &honest, &root).expect("honest inclusion proof");
    if verify_inclusion(index, size, &leaf, &proof, &root).is_ok() {
        assert_eq!(proof, honest, "a second inclusion proof verifies");
    }
    let honest = tree
        .consistency_proof(from, size)
        .expect("from within size");
    verify_consistency(from, size, &old_root, &root, &honest).expect("honest consistency proof");
    if verify_consistency(from, size, &old_root, &root, &proof).is_ok() {
        assert_eq!(proof, honest, "a second consistency proof verifies");
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
