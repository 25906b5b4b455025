//! RFC 6962 §2.1 Merkle tree hashing and the RFC 9162 §2.1.3–2.1.4 proofs.
//!
//! The tree over leaves `d[0..n)` is `MTH({}) = SHA-256()`, `MTH({d}) = SHA-256(0x00 ‖ d)` and,
//! for `n > 1` with `k` the largest power of two below `n`,
//! `MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))`.
//!
//! Every node of that tree covers a range `[a, b)` of leaves. A *complete* subtree covers
//! `2^level` leaves starting at a multiple of `2^level`; it never changes once its last leaf is
//! appended, so the store keeps each one under its [`NodeId`]. Every other range a proof needs
//! (the right edge of a tree whose size is not a power of two) is the right fold of at most
//! `log2(n)` complete subtrees ([`range_nodes`]). Proof production is therefore split into a
//! plan (which ranges, hence which stored nodes) and an assembly from whatever holds the nodes:
//! memory ([`MemoryTree`]) or a database, fetched in one round trip.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::LedgerError;

/// A SHA-256 digest: a leaf hash, a node hash or a root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Lower-case hex, the form proofs and receipts print.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, LedgerError> {
        let bytes = hex::decode(s).map_err(|e| LedgerError::InvalidHash {
            value: s.to_string(),
            reason: e.to_string(),
        })?;
        Self::from_slice(&bytes).map_err(|reason| LedgerError::InvalidHash {
            value: s.to_string(),
            reason,
        })
    }

    /// Takes exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, String> {
        <[u8; 32]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| format!("{} bytes, a SHA-256 hash has 32", bytes.len()))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Domain separation prefixes of RFC 6962 §2.1: they make a leaf hash and an interior node
/// hash impossible to confuse (second-preimage resistance of the tree).
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `MTH({d}) = SHA-256(0x00 ‖ d)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree, `SHA-256()` (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// A complete subtree: `2^level` leaves starting at leaf `index << level`. Level 0 is a leaf hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaves `[first, end)` this subtree covers.
    pub fn leaves(&self) -> (u64, u64) {
        (self.index << self.level, (self.index + 1) << self.level)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.leaves();
        write!(
            f,
            "(level {}, index {}; leaves {}..{})",
            self.level, self.index, a, b
        )
    }
}

/// `k` of RFC 6962 §2.1: the largest power of two strictly less than `n` (`n ≥ 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A range of leaves `[start, end)` whose RFC 6962 subtree hash is one proof element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRange {
    pub start: u64,
    pub end: u64,
}

/// The complete subtrees whose right fold is `MTH(D[start:end])`, largest first.
///
/// For the ranges RFC 6962's recursion produces, `start` is a multiple of a power of two at
/// least `end - start`, so cutting the largest power of two off the front each time yields
/// aligned complete subtrees, and the recursion's own split (largest power of two below the
/// size) is exactly that cut.
pub fn range_nodes(range: LeafRange) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(8);
    let mut start = range.start;
    while start < range.end {
        let rem = range.end - start;
        let mut level = 63 - rem.leading_zeros();
        // Alignment holds for every range this module plans; keep the decomposition valid
        // (if slower) for any other range too.
        if start != 0 {
            level = level.min(start.trailing_zeros());
        }
        out.push(NodeId {
            level: level as u8,
            index: start >> level,
        });
        start += 1u64 << level;
    }
    out
}

/// Hashes a range from its complete subtrees.
pub fn hash_range(
    range: LeafRange,
    lookup: &mut impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Hash, LedgerError> {
    let nodes = range_nodes(range);
    let mut iter = nodes.iter().rev();
    let Some(last) = iter.next() else {
        return Ok(empty_root());
    };
    let mut acc = lookup(*last).ok_or(LedgerError::MissingNode(*last))?;
    for id in iter {
        let left = lookup(*id).ok_or(LedgerError::MissingNode(*id))?;
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The ranges of `PATH(index, D[size])` (RFC 9162 §2.1.3.1), bottom-up.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<LeafRange>, LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::with_capacity(64);
    // Walk down from the root, remembering siblings; then reverse to bottom-up order.
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index - lo < k {
            out.push(LeafRange {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(LeafRange {
                start: lo,
                end: lo + k,
            });
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The ranges of `PROOF(from, D[to])` (RFC 9162 §2.1.4.1), in proof order.
pub fn consistency_ranges(from: u64, to: u64) -> Result<Vec<LeafRange>, LedgerError> {
    if from > to {
        return Err(LedgerError::BadRange { from, to });
    }
    let mut out = Vec::with_capacity(64);
    if from == 0 || from == to {
        return Ok(out);
    }
    // SUBPROOF(m, D[lo:hi], b), iteratively: the recursion always descends into one side and
    // appends the other side's hash after the sub-proof, so collect top-down and reverse.
    let (mut lo, mut hi, mut have_root) = (0u64, to, true);
    loop {
        if from == hi {
            if !have_root {
                out.push(LeafRange { start: lo, end: hi });
            }
            break;
        }
        let k = split(hi - lo);
        if from <= lo + k {
            out.push(LeafRange {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            out.push(LeafRange {
                start: lo,
                end: lo + k,
            });
            lo += k;
            have_root = false;
        }
    }
    // The terminal element (if any) was pushed last but belongs first.
    out.reverse();
    Ok(out)
}

/// Every stored node the given ranges need, for fetching in one round trip.
pub fn nodes_for(ranges: &[LeafRange]) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = ranges.iter().flat_map(|r| range_nodes(*r)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Assembles the hashes of planned ranges from stored nodes.
pub fn assemble(
    ranges: &[LeafRange],
    mut lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, LedgerError> {
    ranges.iter().map(|r| hash_range(*r, &mut lookup)).collect()
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, LedgerError> {
    assemble(&inclusion_ranges(index, size)?, lookup)
}

/// The consistency proof between the trees of the first `from` and the first `to` leaves.
pub fn consistency_proof(
    from: u64,
    to: u64,
    lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, LedgerError> {
    assemble(&consistency_ranges(from, to)?, lookup)
}

/// The root of the first `size` leaves, from stored nodes.
pub fn root_from_nodes(
    size: u64,
    mut lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Hash, LedgerError> {
    hash_range(
        LeafRange {
            start: 0,
            end: size,
        },
        &mut lookup,
    )
}

fn invalid(msg: impl Into<String>) -> LedgerError {
    LedgerError::ProofInvalid(msg.into())
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= size {
        return Err(LedgerError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(invalid(format!(
                "inclusion proof for leaf {index} in tree {size} has too many elements ({})",
                proof.len()
            )));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(invalid(format!(
            "inclusion proof for leaf {index} in tree {size} has too few elements ({})",
            proof.len()
        )));
    }
    if r != *root {
        return Err(invalid(format!(
            "inclusion proof for leaf {index} leads to root {r}, not {root}"
        )));
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2): the tree of size `to` with root `new_root`
/// extends the tree of size `from` with root `old_root`.
pub fn verify_consistency(
    from: u64,
    to: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    if from > to {
        return Err(LedgerError::BadRange { from, to });
    }
    if from == to {
        if !proof.is_empty() {
            return Err(invalid(
                "consistency proof between equal sizes must be empty",
            ));
        }
        if old_root != new_root {
            return Err(invalid(format!(
                "equal sizes {from} with different roots {old_root} and {new_root}"
            )));
        }
        return Ok(());
    }
    if from == 0 {
        // Every tree extends the empty tree; RFC 9162 defines no proof for it.
        if !proof.is_empty() {
            return Err(invalid(
                "consistency proof from the empty tree must be empty",
            ));
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(invalid(format!(
            "consistency proof from {from} to {to} is empty"
        )));
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (from - 1, to - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(invalid(format!(
                "consistency proof from {from} to {to} has too many elements ({})",
                proof.len()
            )));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(invalid(format!(
            "consistency proof from {from} to {to} has too few elements ({})",
            proof.len()
        )));
    }
    if fr != *old_root {
        return Err(invalid(format!(
            "consistency proof from {from} to {to} does not lead to the old root {old_root}"
        )));
    }
    if sr != *new_root {
        return Err(invalid(format!(
            "consistency proof from {from} to {to} does not lead to the new root {new_root}"
        )));
    }
    Ok(())
}

/// The right edge of a growing tree: the complete subtrees that partition `[0, size)`, largest
/// first (a "compact range"). Appending a leaf merges equal-sized subtrees and reports every
/// node that became complete, which is exactly what a store must persist.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    stack: Vec<(u8, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes a frontier at `size` consists of, to fetch from a store.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        range_nodes(LeafRange {
            start: 0,
            end: size,
        })
    }

    /// Rebuilds a frontier from the hashes of [`Frontier::node_ids`]`(size)`, in that order.
    pub fn from_nodes(size: u64, hashes: &[Hash]) -> Result<Self, LedgerError> {
        let ids = Self::node_ids(size);
        if ids.len() != hashes.len() {
            return Err(LedgerError::ProofInvalid(format!(
                "frontier of size {size} needs {} nodes, got {}",
                ids.len(),
                hashes.len()
            )));
        }
        Ok(Self {
            size,
            stack: ids
                .iter()
                .zip(hashes)
                .map(|(id, h)| (id.level, *h))
                .collect(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `completed` receives every interior node (level ≥ 1) completed by it.
    pub fn push(&mut self, leaf: Hash, completed: &mut impl FnMut(NodeId, Hash)) {
        self.size += 1;
        let mut level = 0u8;
        let mut hash = leaf;
        while let Some(&(top_level, top_hash)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&top_hash, &hash);
            level += 1;
            completed(
                NodeId {
                    level,
                    index: (self.size >> level) - 1,
                },
                hash,
            );
        }
        self.stack.push((level, hash));
    }

    /// `MTH` of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// An in-memory tree holding every complete subtree, for tests, benchmarks and small logs.
/// Stores the same node set a database-backed log stores.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` = hash of [`NodeId`] `(l, i)`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one leaf's data, returning its leaf hash.
    pub fn push(&mut self, data: &[u8]) -> Hash {
        let h = leaf_hash(data);
        self.push_hash(h);
        h
    }

    /// Appends one leaf hash.
    pub fn push_hash(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let levels = &mut self.levels;
        self.frontier.push(leaf, &mut |id, h| {
            let l = id.level as usize;
            if levels.len() <= l {
                levels.push(Vec::new());
            }
            debug_assert_eq!(levels[l].len() as u64, id.index);
            levels[l].push(h);
        });
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// A stored node.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        self.levels
            .get(id.level as usize)?
            .get(id.index as usize)
            .copied()
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        if size > self.size() {
            return Err(LedgerError::SizeOutOfRange {
                requested: size,
                size: self.size(),
            });
        }
        root_from_nodes(size, |id| self.node(id))
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        if size > self.size() {
            return Err(LedgerError::SizeOutOfRange {
                requested: size,
                size: self.size(),
            });
        }
        inclusion_proof(index, size, |id| self.node(id))
    }

    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        if to > self.size() {
            return Err(LedgerError::SizeOutOfRange {
                requested: to,
                size: self.size(),
            });
        }
        consistency_proof(from, to, |id| self.node(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook recursive definition, as a cross-check of the stored-node path.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        assert_eq!([2, 3, 4, 5, 8, 9].map(split), [1, 2, 2, 4, 4, 8]);
    }

    #[test]
    fn stored_roots_match_the_recursive_definition() {
        let mut tree = MemoryTree::new();
        let mut leaves = Vec::new();
        for i in 0..70u32 {
            leaves.push(tree.push(&i.to_be_bytes()));
            for s in 0..=tree.size() {
                assert_eq!(
                    tree.root_at(s).unwrap(),
                    reference_root(&leaves[..s as usize]),
                    "size {s}"
                );
            }
        }
    }

    #[test]
    fn frontier_rebuilds_from_its_nodes() {
        let mut tree = MemoryTree::new();
        for i in 0..37u32 {
            tree.push(&i.to_be_bytes());
        }
        let ids = Frontier::node_ids(37);
        let hashes: Vec<Hash> = ids.iter().map(|id| tree.node(*id).unwrap()).collect();
        let f = Frontier::from_nodes(37, &hashes).unwrap();
        assert_eq!(f.root(), tree.root());
    }
}
