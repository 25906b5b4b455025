//! The decision ledger: [`DecisionLedger`] joins the pure `stackport-ledger` crate, the store
//! and the log's signing key. It appends decisions through group commit, signs C2SP
//! checkpoints, produces proofs from the stored subtree hashes and verifies the whole log. The
//! server holds one (its `ServerContext::ledger`) and serves it under `/v1/ledger/…`; the CLI
//! (`stackport ledger …`) opens its own on the same database and data directory. A verifier
//! holding only the log's public key (`ledger-verifier.pub` in the data directory) and two
//! checkpoints can check every answer without trusting either.
//!
//! The signing key is an Ed25519 key created on first use in the data directory
//! (`ledger-signing.key`, mode 0600, Go `note` signer-key encoding), named after the log's
//! origin (`STACKPORT_LEDGER_ORIGIN`, default [`DEFAULT_ORIGIN`]). It is never logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stackport_ledger::checkpoint::Checkpoint;
use stackport_ledger::merkle::{self, Hash, LeafRange, NodeId};
use stackport_ledger::note::{SignerKey, VerifierKey};
use stackport_ledger::{Decision, Frontier, LedgerError};
use stackport_store::{GroupCommit, Storage, StoreError, StoredCheckpoint};

use crate::AppError;

/// The log's origin (and key name) unless configured otherwise.
pub const DEFAULT_ORIGIN: &str = "stackport.example/ledger";
/// Environment variable that names the origin when the key is first created.
pub const ORIGIN_ENV: &str = "STACKPORT_LEDGER_ORIGIN";
/// The private key file in the data directory.
pub const KEY_FILE: &str = "ledger-signing.key";
/// Environment variable naming a shared key file instead: every instance on one database must
/// sign with the same key, so that checkpoints verify with one published key whichever instance
/// signed them (issue 11, item 7).
pub const KEY_FILE_ENV: &str = "STACKPORT_LEDGER_KEY_FILE";
/// The public verifier key (C2SP `name+id+key` text) beside it, for auditors.
pub const VERIFIER_FILE: &str = "ledger-verifier.pub";

/// Entries read per round trip while verifying (a power of two keeps node ranges aligned).
const VERIFY_CHUNK: u64 = 1 << 14;

/// Failures of the ledger service.
#[derive(Debug, thiserror::Error)]
pub enum LedgerServiceError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ledger signing key {}: {message}", path.display())]
    Key { path: PathBuf, message: String },
}

impl From<LedgerServiceError> for AppError {
    fn from(e: LedgerServiceError) -> Self {
        match e {
            LedgerServiceError::Ledger(e) => AppError::Ledger(e),
            LedgerServiceError::Store(StoreError::Corrupt(m)) => AppError::LedgerCorrupt(m),
            LedgerServiceError::Store(e) => AppError::from(e),
            LedgerServiceError::Key { path, message } => AppError::Key { path, message },
        }
    }
}

/// Where a decision went in the ledger: what screening and determination responses carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerReceipt {
    /// 0-based leaf index.
    pub index: u64,
    /// RFC 6962 leaf hash, `SHA-256(0x00 ‖ canonical entry)`, lower-case hex.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"))]
    pub leaf_hash: Hash,
}

/// An inclusion proof (RFC 9162 §2.1.3) of one leaf in the tree of the first `size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub leaf_hash: Hash,
    /// Sibling hashes from the leaf up, lower-case hex.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub proof: Vec<Hash>,
}

/// A consistency proof (RFC 9162 §2.1.4) that the tree of size `to` extends that of size `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub proof: Vec<Hash>,
}

/// The outcome of re-deriving the whole log.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Entries in the log.
    pub size: u64,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// The root the stored entries hash to now, recomputed from their contents (whether or not
    /// a check failed: compare it with a published checkpoint); `null` only when an entry is
    /// missing, so that no root can be computed.
    pub root: Option<Hash>,
    /// The first thing that does not match, if any.
    pub problem: Option<VerifyProblem>,
}

/// The first mismatch `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyProblem {
    /// The first entry that does not match (or the first entry of the smallest range known to
    /// hold it), when the problem concerns entries.
    pub index: Option<u64>,
    pub message: String,
}

/// The ledger service: the store, the group-commit queue and the signing key.
///
/// # Recording decisions (issue 4, item 3)
///
/// Every route that stores a screening result or makes a determination appends it and returns
/// the receipt in its response:
///
/// ```ignore
/// use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
/// let receipt = ctx
///     .ledger
///     .record(&Decision::now(
///         DecisionKind::Screening, // or DecisionKind::Determination
///         serde_json::to_value(&request)?,  // the inputs as received
///         serde_json::to_value(&result)?,   // what was decided
///         DecisionVersions { lists: Some(snapshot_id), rules: None },
///     ))
///     .await?; // LedgerServiceError on failure: nothing was appended
/// // response body: { ..., "ledger": receipt }   (receipt = {"index": N, "leaf_hash": "<hex>"})
/// ```
///
/// `record` returns only after the transaction holding the entry has committed.
pub struct DecisionLedger {
    store: Arc<dyn Storage>,
    commit: GroupCommit,
    signer: SignerKey,
    /// One signer at a time, so each new checkpoint is checked against the last one signed.
    signing: tokio::sync::Mutex<()>,
    appends: Option<metrics::Counter>,
}

impl std::fmt::Debug for DecisionLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecisionLedger({})", self.signer.verifier())
    }
}

impl DecisionLedger {
    /// Opens the ledger on `store`, loading the signing key from `data_dir` or creating it
    /// there (named `origin`, or [`DEFAULT_ORIGIN`]). Must run inside a tokio runtime.
    pub async fn open(
        store: Arc<dyn Storage>,
        data_dir: &Path,
        origin: Option<&str>,
    ) -> Result<Self, LedgerServiceError> {
        Self::open_with_key_file(store, &data_dir.join(KEY_FILE), origin).await
    }

    /// Opens the ledger with the signing key of `key_file` (created there if missing). Refuses
    /// a key that did not sign the database's latest checkpoint: two instances on one
    /// database with two keys would publish checkpoints that no one key verifies.
    pub async fn open_with_key_file(
        store: Arc<dyn Storage>,
        key_file: &Path,
        origin: Option<&str>,
    ) -> Result<Self, LedgerServiceError> {
        let signer = load_or_create_key_file(key_file, origin)?;
        if let Some(cp) = store.ledger_latest_checkpoint().await? {
            if Checkpoint::open(&cp.note, signer.verifier()).is_err() {
                return Err(LedgerServiceError::Key {
                    path: key_file.to_path_buf(),
                    message: format!(
                        "the database's latest checkpoint (size {}) was not signed by this key ({}): every instance on one database signs with one key; give each the same key file ({KEY_FILE_ENV})",
                        cp.size,
                        signer.verifier()
                    ),
                });
            }
        }
        tracing::info!(verifier_key = %signer.verifier(), "ledger signing key loaded");
        let commit = GroupCommit::start(store.clone(), GroupCommit::DEFAULT_MAX_BATCH);
        Ok(Self {
            store,
            commit,
            signer,
            signing: tokio::sync::Mutex::new(()),
            appends: None,
        })
    }

    /// Counts appends in the given metric.
    pub fn with_append_counter(mut self, counter: metrics::Counter) -> Self {
        self.appends = Some(counter);
        self
    }

    /// The log's public key, `name+id+base64(key)`.
    pub fn verifier(&self) -> &VerifierKey {
        self.signer.verifier()
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// Appends a decision (RFC 8785 form); answers once it is durable. The call every route
    /// that decides something makes.
    pub async fn record(&self, decision: &Decision) -> Result<LedgerReceipt, LedgerServiceError> {
        let canonical = decision.canonical_json()?;
        self.append_canonical(canonical).await
    }

    /// Counts entries appended by the store inside another transaction (a screening result and
    /// its entry commit together, see `ScreeningStore::record_screenings`).
    pub fn note_appended(&self, n: u64) {
        if let Some(c) = &self.appends {
            c.increment(n);
        }
    }

    /// Appends an already canonical entry (see [`stackport_ledger::canonicalize`]).
    pub async fn append_canonical(
        &self,
        canonical: String,
    ) -> Result<LedgerReceipt, LedgerServiceError> {
        let r = self.commit.append(canonical).await?;
        if let Some(c) = &self.appends {
            c.increment(1);
        }
        Ok(LedgerReceipt {
            index: r.index,
            leaf_hash: r.leaf_hash,
        })
    }

    /// Appends canonical entries in order, in one transaction: all of them or none.
    pub async fn append_batch(
        &self,
        canonical: &[String],
    ) -> Result<Vec<LedgerReceipt>, LedgerServiceError> {
        let receipts = self.store.ledger_append(canonical).await?;
        if let Some(c) = &self.appends {
            c.increment(receipts.len() as u64);
        }
        Ok(receipts
            .into_iter()
            .map(|r| LedgerReceipt {
                index: r.index,
                leaf_hash: r.leaf_hash,
            })
            .collect())
    }

    /// The number of entries.
    pub async fn size(&self) -> Result<u64, LedgerServiceError> {
        Ok(self.store.ledger_size().await?)
    }

    async fn nodes(
        &self,
        ids: &[NodeId],
    ) -> Result<std::collections::HashMap<NodeId, Hash>, LedgerServiceError> {
        Ok(self.store.ledger_nodes(ids).await?)
    }

    /// The root of the first `size` entries, from stored nodes.
    pub async fn root_at(&self, size: u64) -> Result<Hash, LedgerServiceError> {
        let range = LeafRange {
            start: 0,
            end: size,
        };
        let map = self.nodes(&merkle::nodes_for(&[range])).await?;
        Ok(merkle::root_from_nodes(size, |id| map.get(&id).copied())?)
    }

    /// The signed checkpoint of the current tree, signing a new one if the tree grew since the
    /// last. Refuses to sign a tree that is not consistent with the last signed checkpoint.
    pub async fn checkpoint(&self) -> Result<StoredCheckpoint, LedgerServiceError> {
        let _guard = self.signing.lock().await;
        let size = self.store.ledger_size().await?;
        let latest = self.store.ledger_latest_checkpoint().await?;
        if let Some(latest) = &latest {
            if latest.size >= size {
                Checkpoint::open(&latest.note, self.verifier())?;
                return Ok(latest.clone());
            }
        }
        let root = self.root_at(size).await?;
        if let Some(prev) = &latest {
            // C2SP tlog-checkpoint: never sign a checkpoint inconsistent with an earlier one.
            let proof = self.consistency_proof(prev.size, size).await?;
            merkle::verify_consistency(prev.size, size, &prev.root, &root, &proof.proof)
                .map_err(|e| LedgerError::ProofInvalid(format!("refusing to sign size {size}: not consistent with the checkpoint of size {}: {e}", prev.size)))?;
        }
        let note = Checkpoint {
            origin: self.origin().to_string(),
            size,
            root,
        }
        .sign(&self.signer)?;
        let cp = StoredCheckpoint { size, root, note };
        self.store.ledger_save_checkpoint(&cp).await?;
        Ok(cp)
    }

    /// One stored entry.
    pub async fn entry(
        &self,
        index: u64,
    ) -> Result<stackport_store::StoredEntry, LedgerServiceError> {
        let size = self.size().await?;
        if index >= size {
            return Err(LedgerError::IndexOutOfRange { index, size }.into());
        }
        self.store
            .ledger_entries(index, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "ledger entry {index} is missing below the tree size {size}"
                ))
                .into()
            })
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries (default: the size of
    /// the current signed checkpoint, signing one if needed).
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> Result<InclusionProof, LedgerServiceError> {
        let size = match size {
            Some(s) => {
                let tree = self.size().await?;
                if s > tree {
                    return Err(LedgerError::SizeOutOfRange {
                        requested: s,
                        size: tree,
                    }
                    .into());
                }
                s
            }
            None => self.checkpoint().await?.size,
        };
        let ranges = merkle::inclusion_ranges(index, size)?;
        let leaf_id = NodeId::new(0, index);
        let mut ids = merkle::nodes_for(&ranges);
        ids.push(leaf_id);
        let map = self.nodes(&ids).await?;
        let proof = merkle::assemble(&ranges, |id| map.get(&id).copied())?;
        let leaf_hash = *map.get(&leaf_id).ok_or(LedgerError::MissingNode(leaf_id))?;
        Ok(InclusionProof {
            index,
            size,
            leaf_hash,
            proof,
        })
    }

    /// The consistency proof between the trees of `from` and `to` entries.
    pub async fn consistency_proof(
        &self,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, LedgerServiceError> {
        let tree = self.size().await?;
        if to > tree {
            return Err(LedgerError::SizeOutOfRange {
                requested: to,
                size: tree,
            }
            .into());
        }
        let ranges = merkle::consistency_ranges(from, to)?;
        let map = self.nodes(&merkle::nodes_for(&ranges)).await?;
        Ok(ConsistencyProof {
            from,
            to,
            proof: merkle::assemble(&ranges, |id| map.get(&id).copied())?,
        })
    }

    /// Re-derives every hash from the stored entries, compares them with the stored leaf and
    /// subtree hashes, checks every signed checkpoint's signature (by `key`, default this log's
    /// key) and root, and reports the first entry that does not match.
    pub async fn verify(
        &self,
        key: Option<&VerifierKey>,
    ) -> Result<VerifyReport, LedgerServiceError> {
        let mut report = self.first_problem(key).await?;
        if report.problem.is_some() {
            report.root = self.content_root(report.size).await?;
        }
        Ok(report)
    }

    /// The root of the first `size` entries recomputed from their stored contents, whatever
    /// the stored hashes say; `None` if one of them is missing.
    async fn content_root(&self, size: u64) -> Result<Option<Hash>, LedgerServiceError> {
        let mut frontier = Frontier::new();
        while frontier.size() < size {
            let chunk = self
                .store
                .ledger_entries(frontier.size(), VERIFY_CHUNK.min(size - frontier.size()))
                .await?;
            if chunk.is_empty() {
                return Ok(None);
            }
            for e in &chunk {
                if e.index != frontier.size() {
                    return Ok(None);
                }
                frontier.push(merkle::leaf_hash(e.entry.as_bytes()), &mut |_, _| {});
            }
        }
        Ok(Some(frontier.root()))
    }

    /// [`DecisionLedger::verify`] up to the first problem (the report's root is set only when
    /// there is none).
    async fn first_problem(
        &self,
        key: Option<&VerifierKey>,
    ) -> Result<VerifyReport, LedgerServiceError> {
        let key = key.unwrap_or(self.verifier());
        let size = self.size().await?;
        let stored = self.store.ledger_checkpoints().await?;
        let mut report = VerifyReport {
            size,
            checkpoints: stored.len(),
            root: None,
            problem: None,
        };
        let fail = |report: &mut VerifyReport, index: Option<u64>, message: String| {
            report.problem = Some(VerifyProblem { index, message });
        };
        // Signatures first: a checkpoint that does not verify proves nothing.
        let mut checkpoints = Vec::with_capacity(stored.len());
        for cp in &stored {
            match Checkpoint::open(&cp.note, key) {
                Ok(c) if c.size == cp.size => checkpoints.push(c),
                Ok(c) => {
                    fail(
                        &mut report,
                        None,
                        format!(
                            "checkpoint stored for size {} is signed for size {}",
                            cp.size, c.size
                        ),
                    );
                    return Ok(report);
                }
                Err(e) => {
                    fail(
                        &mut report,
                        None,
                        format!("checkpoint of size {}: {e}", cp.size),
                    );
                    return Ok(report);
                }
            }
        }
        let mut next_cp = checkpoints.iter().peekable();
        let mut last_good_cp = 0u64;
        let mut frontier = Frontier::new();
        let mut start = 0u64;
        while start < size {
            let chunk = self.store.ledger_entries(start, VERIFY_CHUNK).await?;
            let mut completed: Vec<(NodeId, Hash)> = Vec::new();
            let mut expected = start;
            for e in &chunk {
                if e.index != expected {
                    fail(
                        &mut report,
                        Some(expected),
                        format!(
                            "entry {expected} is missing (the next stored entry is {})",
                            e.index
                        ),
                    );
                    return Ok(report);
                }
                let recomputed = merkle::leaf_hash(e.entry.as_bytes());
                if recomputed != e.leaf_hash {
                    fail(
                        &mut report,
                        Some(e.index),
                        format!("entry {}: its content hashes to {recomputed}, but {} was stored when it was appended: the entry was altered", e.index, e.leaf_hash),
                    );
                    return Ok(report);
                }
                match stackport_ledger::canonicalize(e.entry.as_bytes()) {
                    Ok(c) if c == e.entry => {}
                    Ok(_) => {
                        fail(
                            &mut report,
                            Some(e.index),
                            format!("entry {} is not in RFC 8785 canonical form", e.index),
                        );
                        return Ok(report);
                    }
                    Err(err) => {
                        fail(
                            &mut report,
                            Some(e.index),
                            format!("entry {}: {err}", e.index),
                        );
                        return Ok(report);
                    }
                }
                frontier.push(recomputed, &mut |id, h| completed.push((id, h)));
                expected += 1;
                while let Some(cp) = next_cp.peek() {
                    if cp.size > frontier.size() {
                        break;
                    }
                    if cp.size == frontier.size() {
                        let root = frontier.root();
                        if root != cp.root {
                            // Point at the lowest stored node that disagrees, if one does: it
                            // narrows the altered entry down further than the checkpoint can.
                            if let Some((index, message)) = self.compare_nodes(&completed).await? {
                                fail(&mut report, Some(index), message);
                                return Ok(report);
                            }
                            fail(
                                &mut report,
                                Some(last_good_cp),
                                format!(
                                    "the first {} entries hash to root {root}, but the checkpoint signed for size {} says {}: an entry in {}..{} was altered after it was signed",
                                    cp.size, cp.size, cp.root, last_good_cp, cp.size
                                ),
                            );
                            return Ok(report);
                        }
                        last_good_cp = cp.size;
                    }
                    next_cp.next();
                }
            }
            if expected == start {
                fail(
                    &mut report,
                    Some(start),
                    format!("entry {start} is missing below the tree size {size}"),
                );
                return Ok(report);
            }
            if let Some((index, message)) = self.compare_nodes(&completed).await? {
                fail(&mut report, Some(index), message);
                return Ok(report);
            }
            start = expected;
        }
        // Checkpoint of size 0, and checkpoints beyond the stored entries.
        for cp in next_cp {
            if cp.size == 0 && cp.root == merkle::empty_root() {
                continue;
            }
            fail(
                &mut report,
                Some(size),
                format!("the log holds {size} entries, but a checkpoint was signed for size {}: entries {size}..{} were removed", cp.size, cp.size),
            );
            return Ok(report);
        }
        report.root = Some(frontier.root());
        Ok(report)
    }

    /// Compares recomputed subtree hashes with the stored ones; returns the first leaf of the
    /// lowest (smallest, so most precise), then leftmost, mismatching node.
    async fn compare_nodes(
        &self,
        completed: &[(NodeId, Hash)],
    ) -> Result<Option<(u64, String)>, LedgerServiceError> {
        let mut by_level: std::collections::BTreeMap<u8, Vec<(u64, Hash)>> = Default::default();
        for (id, h) in completed {
            by_level.entry(id.level).or_default().push((id.index, *h));
        }
        let mut worst: Option<(u64, u8, String)> = None;
        for (level, nodes) in by_level {
            let (lo, hi) = (nodes[0].0, nodes[nodes.len() - 1].0 + 1);
            let stored: std::collections::HashMap<u64, Hash> = self
                .store
                .ledger_level(level, lo, hi)
                .await?
                .into_iter()
                .collect();
            for (index, h) in nodes {
                let id = NodeId::new(level, index);
                let (first, _) = id.leaves();
                let problem = match stored.get(&index) {
                    None => Some(format!("stored tree node {id} is missing")),
                    Some(s) if *s != h => Some(format!(
                        "stored tree node {id} is {s}, but the entries hash to {h}: one of entries {}..{} was altered (leaf hash rewritten too) or the node was",
                        id.leaves().0,
                        id.leaves().1
                    )),
                    Some(_) => None,
                };
                if let Some(msg) = problem {
                    let better = match &worst {
                        Some((f, l, _)) => (level, first) < (*l, *f),
                        None => true,
                    };
                    if better {
                        worst = Some((first, level, msg));
                    }
                    break;
                }
            }
        }
        Ok(worst.map(|(first, _, msg)| (first, msg)))
    }
}

/// Loads the signing key from `dir`, or creates it (atomically: written to a temporary file
/// with mode 0600, then linked into place, so a concurrent opener never reads half a key).
pub fn load_or_create_key(
    dir: &Path,
    origin: Option<&str>,
) -> Result<SignerKey, LedgerServiceError> {
    load_or_create_key_file(&dir.join(KEY_FILE), origin)
}

/// [`load_or_create_key`] for a key file anywhere (the verifier key is written beside it,
/// as [`VERIFIER_FILE`], when the key is created).
pub fn load_or_create_key_file(
    path: &Path,
    origin: Option<&str>,
) -> Result<SignerKey, LedgerServiceError> {
    let path = path.to_path_buf();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let dir = dir.as_path();
    let key_err = |message: String| LedgerServiceError::Key {
        path: path.clone(),
        message,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = SignerKey::parse(&text).map_err(|e| key_err(e.to_string()))?;
            if let Some(o) = origin {
                if o != key.name() {
                    return Err(key_err(format!(
                        "the key belongs to log {:?}, but origin {o:?} is configured",
                        key.name()
                    )));
                }
            }
            return Ok(key);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(key_err(format!("cannot read: {e}"))),
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| key_err(format!("cannot create directory {}: {e}", dir.display())))?;
    let key = SignerKey::generate(origin.unwrap_or(DEFAULT_ORIGIN))
        .map_err(|e| key_err(e.to_string()))?;
    let tmp = dir.join(format!("{KEY_FILE}.{}.tmp", std::process::id()));
    write_private(&tmp, key.to_secret_string().as_bytes())
        .map_err(|e| key_err(format!("cannot write {}: {e}", tmp.display())))?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            let _ = std::fs::write(dir.join(VERIFIER_FILE), format!("{}\n", key.verifier()));
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            load_or_create_key_file(&path, origin)
        }
        Err(e) => Err(key_err(format!("cannot create: {e}"))),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// The canonical ledger entry of a decision `p` made: its actor (user, organisation, role)
/// both in the entry's `actor` and in its `inputs` (where the workflow's readers look), no
/// rule or list versions (decisions of people, not of the engines).
pub fn decided_by(
    kind: stackport_ledger::DecisionKind,
    p: &stackport_identity::Principal,
    inputs: serde_json::Value,
    outputs: serde_json::Value,
) -> Result<String, StoreError> {
    let mut inputs = inputs;
    inputs["actor"] = serde_json::json!({ "user": p.user, "organisation": p.org, "role": p.role });
    Decision::now(
        kind,
        inputs,
        outputs,
        stackport_ledger::DecisionVersions::default(),
    )
    .by(Some(stackport_ledger::Actor {
        user: p.user.clone(),
        organisation: p.org.clone(),
        role: p.role.to_string(),
    }))
    .canonical_json()
    .map_err(|e| StoreError::Corrupt(format!("a {kind:?} entry: {e}")))
}
