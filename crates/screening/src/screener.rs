//! The screening entry point: candidate retrieval from the [`Index`], token alignment and
//! scoring, supporting evidence, explanations.
//!
//! Scoring of one name (query tokens Q, candidate tokens C, each token weighted by its
//! inverse document frequency over all listed names, weak tokens at a fifth):
//!
//! ```text
//!            Σ_pairs sim(q,c)·(w_q + w_c)
//! name = ────────────────────────────────────────────────────────────────
//!        Σ_pairs (w_q + w_c) + A·Σ_unpaired-query w_q + B·Σ_unpaired-candidate w_c
//! ```
//!
//! Pairs come from a greedy one-to-one alignment by similarity, order-insensitive, with
//! Jaro-Winkler similarity raised for one typing error or a shared phonetic key, and with
//! glued tokens (`ALZAHAR` against `AL ZAHAR`, `INVESTME NTS` against `INVESTMENTS`) competing
//! with single pairs. An initial aligned with a full word of that letter (`J.` / `JOHN`) adds
//! nothing to the numerator and costs a quarter of the word's weight (a word left out costs
//! half): consistent, not confirming. A query word the candidate does
//! not have costs more (A = [`QUERY_EXTRA`]) than a candidate word the query left out
//! (B = [`CANDIDATE_EXTRA`]), since records often drop middle names but rarely add words.
//! The name score is then adjusted by evidence the query gives: party type, country, year of
//! birth and identifiers. Every factor is reported in the hit's explanation.

use std::cell::RefCell;
use std::collections::HashSet;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::countries::is_alpha2;
use crate::index::{Index, QueryToken};
use crate::model::{AliasStrength, Entity, PartyType, Snapshot};
use crate::normalize::{self, TokenKind};

/// Version of the normalisation + matching algorithm; recorded in every result.
/// 1.1: Cyrillic and Arabic-script romanisation, consonant skeletons, initials aligned with
/// given names, glued words competing with single pairs, vessel prefixes dropped.
/// 1.2: invisible characters (zero-width space and joiners, direction marks, byte-order mark)
/// dropped before words are cut, so that one inside a name cannot split it.
/// 1.3: romanisation channels for Chinese, Korean, Japanese kana, Greek, Hebrew, Thai, Armenian
/// and Georgian with their variant spellings; Cyrillic `е`/`ё` as ye/yo where BGN/PCGN writes
/// them; syllabic queries must agree syllable for syllable; the channel is named in the hit.
pub const ALGORITHM_VERSION: &str = "stackport-match/1.3";
/// Default score threshold: hits below it are not reported. Chosen on the public evaluation
/// set as the point where the false-positive rate stays under 1% (see BENCHMARKS.md).
pub const DEFAULT_THRESHOLD: f64 = 0.85;
/// Longest accepted party name, in characters.
pub const MAX_NAME_CHARS: usize = 1000;

/// Cost of a query word the candidate does not have (A in the formula above).
pub const QUERY_EXTRA: f32 = 1.0;
/// Cost of a candidate word the query does not have (B in the formula above).
pub const CANDIDATE_EXTRA: f32 = 0.5;
/// Names fully scored per query, at most.
const MAX_CANDIDATES: usize = 40;
/// Similarity recorded for an initial aligned with a full word of that first letter.
const INITIAL_SIM: f32 = 0.6;
/// Cost of an initial aligned with a full word, as a share of the full word's weight (a word
/// left out costs [`CANDIDATE_EXTRA`]).
const INITIAL_COST: f32 = 0.25;
/// Factor applied when each side has a distinctive word the other lacks.
pub const CONFLICT_FACTOR: f32 = 0.88;
/// Highest score of a name romanised syllable by syllable (Chinese, Korean) that agrees with
/// the listed name on some syllables only, whatever the other evidence: below the default
/// threshold, so that such a hit is never reported at it.
pub const PARTIAL_ROMANISED_CAP: f64 = 0.8;
/// Score factor of a weak (low-quality) a.k.a.: OFAC tells screeners weak aliases alone are
/// weak evidence (OFAC FAQ 249).
const WEAK_ALIAS_FACTOR: f32 = 0.92;

/// One party to screen.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    pub name: String,
    #[serde(default, rename = "type")]
    pub party_type: Option<PartyType>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub dob: Option<String>,
    #[serde(default)]
    pub identifiers: Vec<String>,
}

/// The query cannot be screened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("name is empty")]
    EmptyName,
    #[error("name is {0} characters long; the limit is {MAX_NAME_CHARS}")]
    NameTooLong(usize),
    #[error("country {0:?} is not an ISO 3166-1 alpha-2 code")]
    InvalidCountry(String),
}

/// One aligned token pair of the explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPair {
    pub query: Option<String>,
    pub candidate: Option<String>,
    pub similarity: f64,
}

/// One feature's share of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureShare {
    /// `name`, `weak_alias`, `type`, `country`, `dob`, `identifier`.
    pub feature: String,
    /// What was compared, in words.
    pub detail: String,
    /// How the score moved because of this feature (the name feature's effect is its score).
    pub effect: f64,
}

/// Why a hit scored what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub alignment: Vec<TokenPair>,
    pub features: Vec<FeatureShare>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Entity id (`ofac-sdn:1234`, ...).
    pub entity: String,
    pub score: f64,
    /// List code (`SDN`, `EL`, ...).
    pub list: String,
    /// Primary name of the entity.
    pub name: String,
    /// The name or alias that matched.
    pub matched: String,
    pub explanation: Explanation,
}

/// The result of screening one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningResult {
    pub hits: Vec<Hit>,
    pub algorithm: String,
    pub snapshot_hashes: Vec<String>,
    pub threshold: f64,
}

/// What the screener keeps of each entity.
struct Listed {
    id: String,
    list: &'static str,
    party_type: Option<PartyType>,
    name: String,
    aliases: Vec<(String, AliasStrength)>,
    countries: Vec<String>,
    birth_years: Vec<u16>,
    identifiers: Vec<String>,
}

/// A screening index over one snapshot. Build once; screening is read-only and `Sync`.
pub struct Screener {
    index: Index,
    entities: Vec<Listed>,
    entity_ids: FxHashMap<String, u32>,
    names_of: Vec<Vec<u32>>,
    snapshot_hashes: Vec<String>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    acc: Vec<f32>,
    touched: Vec<u32>,
}

/// "No token" in a [`Pair`].
const NONE: u8 = u8::MAX;

/// One aligned pair: query token `q` (and `q + 1` when `glued_query`) with candidate token
/// `c1` (and `c2` when two candidate tokens are glued).
#[derive(Clone, Copy)]
struct Pair {
    q: u8,
    c1: u8,
    c2: u8,
    sim: f32,
    glued_query: bool,
}

/// A scored name, before evidence.
struct NameMatch {
    name: u32,
    score: f32,
    pairs: SmallVec<[Pair; 16]>,
    q_used: SmallVec<[bool; 16]>,
    c_used: SmallVec<[bool; 16]>,
    conflict: bool,
    /// A syllabic query (Chinese, Korean) that does not agree with the name syllable for
    /// syllable: capped at [`PARTIAL_ROMANISED_CAP`].
    partial_romanised: bool,
}

impl Screener {
    /// Builds the index over every name and alias of `snapshot`.
    pub fn new(snapshot: &Snapshot) -> Self {
        let entities: Vec<Listed> = snapshot.entities.iter().map(listed).collect();
        let names = snapshot.entities.iter().enumerate().flat_map(|(ei, e)| {
            std::iter::once((ei as u32, None, false, e.name.as_str())).chain(
                e.aliases.iter().enumerate().map(move |(ai, a)| {
                    (
                        ei as u32,
                        Some(ai as u16),
                        a.strength == AliasStrength::WeakAka,
                        a.name.as_str(),
                    )
                }),
            )
        });
        let index = Index::build(names);
        let mut names_of = vec![Vec::new(); entities.len()];
        for (ni, n) in index.names.iter().enumerate() {
            names_of[n.entity as usize].push(ni as u32);
        }
        let entity_ids = entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i as u32))
            .collect();
        let mut snapshot_hashes: Vec<String> =
            snapshot.sources.iter().map(|s| s.sha256.clone()).collect();
        snapshot_hashes.sort();
        snapshot_hashes.dedup();
        Self {
            index,
            entities,
            entity_ids,
            names_of,
            snapshot_hashes,
        }
    }

    /// Number of entities indexed.
    pub fn entity_count(&self) -> usize {
        self.entities.len()
    }

    /// Number of names (primary names and aliases) indexed.
    pub fn name_count(&self) -> usize {
        self.index.names.len()
    }

    /// Number of distinct normalised tokens.
    pub fn vocabulary_size(&self) -> usize {
        self.index.words.len()
    }

    /// Hashes of the source files this index was built from.
    pub fn snapshot_hashes(&self) -> &[String] {
        &self.snapshot_hashes
    }

    /// Screens one party: at most `top` hits scoring at least `threshold`, best first.
    pub fn screen(
        &self,
        query: &Query,
        top: usize,
        threshold: f64,
    ) -> Result<ScreeningResult, QueryError> {
        let prepared = self.prepare(query)?;
        let candidates = self.candidates(&prepared.tokens);
        Ok(self.finish(query, &prepared, candidates, top, threshold))
    }

    /// Screens `query` only against the entities whose ids are in `ids` (re-screening after a
    /// list update: only new or changed entries can produce new hits). Unknown ids are ignored.
    pub fn screen_against(
        &self,
        query: &Query,
        ids: &HashSet<String>,
        top: usize,
        threshold: f64,
    ) -> Result<ScreeningResult, QueryError> {
        let prepared = self.prepare(query)?;
        let names: Vec<u32> = ids
            .iter()
            .filter_map(|id| self.entity_ids.get(id))
            .flat_map(|&e| self.names_of[e as usize].iter().copied())
            .collect();
        Ok(self.finish(query, &prepared, names, top, threshold))
    }

    /// Screens many parties on all cores, results in input order.
    pub fn screen_many(
        &self,
        queries: &[Query],
        top: usize,
        threshold: f64,
    ) -> Vec<Result<ScreeningResult, QueryError>> {
        use rayon::prelude::*;
        queries
            .par_iter()
            .map(|q| self.screen(q, top, threshold))
            .collect()
    }

    fn prepare(&self, query: &Query) -> Result<Prepared, QueryError> {
        let chars = query.name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(QueryError::NameTooLong(chars));
        }
        if let Some(c) = &query.country {
            let up = c.trim().to_ascii_uppercase();
            if !up.is_empty() && !is_alpha2(&up) {
                return Err(QueryError::InvalidCountry(c.clone()));
            }
        }
        let toks = normalize::tokens(&query.name);
        if toks.is_empty() {
            return Err(QueryError::EmptyName);
        }
        let mut tokens: Vec<QueryToken> = toks.iter().map(|t| self.index.query_token(t)).collect();
        for i in 1..tokens.len() {
            if tokens[i - 1].syllabic && tokens[i].syllabic {
                tokens[i - 1].glue_next = self.index.glued_syllables(&toks[i - 1], &toks[i]);
            }
        }
        Ok(Prepared { tokens })
    }

    /// Candidate names: posting lists of every meaning of every query token vote, weighted by
    /// similarity and token weight; the best-voted names are kept for full scoring.
    fn candidates(&self, q: &[QueryToken]) -> Vec<u32> {
        let strong: Vec<&QueryToken> = q.iter().filter(|t| !t.kind.is_weak()).collect();
        let voters: Vec<&QueryToken> = if strong.is_empty() {
            q.iter().collect()
        } else {
            strong
        };
        let total: f32 = q.iter().map(|t| t.weight).sum();
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let Scratch { acc, touched } = &mut *s;
            if acc.len() < self.index.names.len() {
                acc.resize(self.index.names.len(), 0.0);
            }
            let mut vote = |id: u32, w: f32, touched: &mut Vec<u32>| {
                for &n in &self.index.postings[id as usize] {
                    let a = &mut acc[n as usize];
                    if *a == 0.0 {
                        touched.push(n);
                    }
                    *a += w;
                }
            };
            for t in &voters {
                for &(id, sim) in &t.matches {
                    vote(
                        id,
                        sim * t.weight.min(self.index.weights[id as usize].max(0.01)),
                        touched,
                    );
                }
                for &(a, b) in &t.splits {
                    vote(a, 0.9 * self.index.weights[a as usize], touched);
                    vote(b, 0.9 * self.index.weights[b as usize], touched);
                }
            }
            // Two adjacent query words that are one index token glued ("al zahar" / "alzahar").
            for pair in q.windows(2) {
                if pair[0].syllabic && pair[1].syllabic {
                    // Romanised syllables: every spelling of the two together.
                    for &id in &pair[0].glue_next {
                        vote(id, self.index.weights[id as usize], touched);
                    }
                    continue;
                }
                let glued = [&pair[0].text[..], &pair[1].text[..]].concat();
                if let Some(&id) = self.index.word_ids.get(glued.as_slice()) {
                    vote(id, self.index.weights[id as usize], touched);
                }
            }
            // Rank by an estimate of the name score: shared weight over the mean of both sides'
            // weights, so that a name made only of the query's words outranks longer names that
            // merely contain them.
            let mut cands: Vec<(f32, u32)> = touched
                .iter()
                .map(|&n| {
                    (
                        2.0 * acc[n as usize]
                            / (total + self.index.name_weight[n as usize]).max(1e-6),
                        n,
                    )
                })
                .filter(|(est, _)| *est >= 0.3)
                .collect();
            for &n in touched.iter() {
                acc[n as usize] = 0.0;
            }
            touched.clear();
            if cands.len() > MAX_CANDIDATES {
                cands.select_nth_unstable_by(MAX_CANDIDATES - 1, |a, b| b.0.total_cmp(&a.0));
                cands.truncate(MAX_CANDIDATES);
            }
            cands.into_iter().map(|(_, n)| n).collect()
        })
    }

    fn finish(
        &self,
        query: &Query,
        prepared: &Prepared,
        names: Vec<u32>,
        top: usize,
        threshold: f64,
    ) -> ScreeningResult {
        // Best name per entity.
        let mut best: FxHashMap<u32, NameMatch> = FxHashMap::default();
        let mut cache: FxHashMap<u64, f32> = FxHashMap::default();
        for n in names {
            let m = self.score_name(&prepared.tokens, n, &mut cache);
            let e = self.index.names[n as usize].entity;
            match best.get(&e) {
                Some(b) if b.score >= m.score => {}
                _ => {
                    best.insert(e, m);
                }
            }
        }
        let mut hits: Vec<Hit> = Vec::new();
        for (e, m) in best {
            // Evidence can lift a name score by at most a third of its distance to 1; skip
            // what cannot reach the threshold even then.
            if (m.score as f64) + (1.0 - m.score as f64) * 0.5 < threshold {
                continue;
            }
            let hit = self.build_hit(query, &prepared.tokens, e, &m);
            if hit.score >= threshold {
                hits.push(hit);
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.entity.cmp(&b.entity))
        });
        hits.truncate(top);
        ScreeningResult {
            hits,
            algorithm: ALGORITHM_VERSION.into(),
            snapshot_hashes: self.snapshot_hashes.clone(),
            threshold,
        }
    }

    /// Aligns the query with one indexed name and scores the alignment. Allocation-free for
    /// names of up to 16 tokens.
    fn score_name(
        &self,
        q: &[QueryToken],
        name: u32,
        cache: &mut FxHashMap<u64, f32>,
    ) -> NameMatch {
        let rec = &self.index.names[name as usize];
        let c = &rec.tokens;
        let idx = &self.index;
        // Similarity of every (query, candidate) token pair worth pairing.
        let mut cand_pairs: SmallVec<[(f32, u8, u8); 32]> = SmallVec::new();
        for (i, qt) in q.iter().enumerate().take(255) {
            for (j, &ct) in c.iter().enumerate().take(255) {
                let s = if let Some(&(_, s)) = qt.matches.iter().find(|(id, _)| *id == ct) {
                    s
                } else if qt.syllabic {
                    // A romanised syllable is its spellings or nothing: `fang` is not `feng`.
                    0.0
                } else if qt.kind == TokenKind::Word && idx.kinds[ct as usize] == TokenKind::Word {
                    let w = &idx.words[ct as usize];
                    if qt.text.len() == 1 || w.len() == 1 {
                        // An initial stands for a word with that first letter.
                        if qt.text[0] == w[0] {
                            INITIAL_SIM
                        } else {
                            0.0
                        }
                    } else {
                        // The same index words recur across candidate names: compute once per query.
                        *cache
                            .entry(((i as u64) << 32) | ct as u64)
                            .or_insert_with(|| {
                                let c = ct as usize;
                                if qt.kind == TokenKind::Word && qt.text.len() >= 4 {
                                    // Retrieval already related every exact, one-edit, phonetic and
                                    // variant neighbour of this word: only the residual test is left.
                                    crate::index::residual_sim(
                                        &qt.text,
                                        qt.group,
                                        w,
                                        idx.group[c],
                                        idx.kinds[c],
                                    )
                                } else {
                                    idx.token_sim(&qt.text, &qt.phon, qt.group, ct)
                                }
                            })
                    }
                } else {
                    0.0
                };
                if s > 0.0 {
                    cand_pairs.push((s, i as u8, j as u8));
                }
            }
        }
        // Glued tokens compete with single pairs: one query word against two adjacent
        // candidate words (`ALZAHAR` / `AL ZAHAR`), or two adjacent query words against one
        // candidate word (`INVESTME NTS` / `INVESTMENTS`). A glue that is exact beats the
        // single pair one of its halves would otherwise take at a lower similarity.
        let mut pairs: SmallVec<[Pair; 32]> = cand_pairs
            .iter()
            .map(|&(s, i, j)| Pair {
                q: i,
                c1: j,
                c2: NONE,
                sim: s,
                glued_query: false,
            })
            .collect();
        for (i, qt) in q.iter().enumerate().take(255) {
            if qt.text.len() < 4 || qt.syllabic {
                continue;
            }
            for j in 0..c.len().saturating_sub(1).min(254) {
                let s = glue_sim(
                    &qt.text,
                    &idx.words[c[j] as usize],
                    &idx.words[c[j + 1] as usize],
                );
                if s > 0.0 {
                    pairs.push(Pair {
                        q: i as u8,
                        c1: j as u8,
                        c2: (j + 1) as u8,
                        sim: s,
                        glued_query: false,
                    });
                }
            }
        }
        for j in 0..c.len().min(255) {
            let cw = &idx.words[c[j] as usize];
            if cw.len() < 4 {
                continue;
            }
            for i in 0..q.len().saturating_sub(1).min(254) {
                let s = match (q[i].syllabic, q[i + 1].syllabic) {
                    (true, true) if q[i].glue_next.contains(&c[j]) => 1.0,
                    (false, false) => glue_sim(cw, &q[i].text, &q[i + 1].text),
                    _ => 0.0,
                };
                if s > 0.0 {
                    pairs.push(Pair {
                        q: i as u8,
                        c1: j as u8,
                        c2: NONE,
                        sim: s,
                        glued_query: true,
                    });
                }
            }
        }
        // Best first; at equal similarity single pairs before glues, then by position.
        pairs.sort_unstable_by(|a, b| {
            b.sim
                .total_cmp(&a.sim)
                .then((a.c2 != NONE || a.glued_query).cmp(&(b.c2 != NONE || b.glued_query)))
                .then(a.q.cmp(&b.q))
                .then(a.c1.cmp(&b.c1))
        });
        let mut q_used: SmallVec<[bool; 16]> = smallvec::smallvec![false; q.len()];
        let mut c_used: SmallVec<[bool; 16]> = smallvec::smallvec![false; c.len()];
        let mut aligned: SmallVec<[Pair; 16]> = SmallVec::new();
        for p in pairs {
            let (qi, cj) = (p.q as usize, p.c1 as usize);
            let free = !q_used[qi]
                && !c_used[cj]
                && (!p.glued_query || !q_used[qi + 1])
                && (p.c2 == NONE || !c_used[p.c2 as usize]);
            if free {
                q_used[qi] = true;
                c_used[cj] = true;
                if p.glued_query {
                    q_used[qi + 1] = true;
                }
                if p.c2 != NONE {
                    c_used[p.c2 as usize] = true;
                }
                aligned.push(p);
            }
        }
        let (mut num, mut den) = (0.0f32, 0.0f32);
        for p in &aligned {
            let wc = idx.weights[c[p.c1 as usize] as usize]
                + if p.c2 != NONE {
                    idx.weights[c[p.c2 as usize] as usize]
                } else {
                    0.0
                };
            let wq = if p.glued_query {
                q[p.q as usize].weight.min(q[p.q as usize + 1].weight)
            } else {
                q[p.q as usize].weight
            };
            if p.sim == INITIAL_SIM && !p.glued_query && p.c2 == NONE {
                // An initial against a full word (J. / JOHN): consistent but unconfirmed.
                // It costs a fraction of the full word's weight, less than leaving the word
                // out, and adds no weight of its own, so that an initial never lifts a name
                // whose other words are only near matches (J. SMITH / JANE SMYTHE).
                let full = if q[p.q as usize].text.len() == 1 {
                    wc
                } else {
                    wq
                };
                den += INITIAL_COST * full;
                continue;
            }
            num += p.sim * (wq + wc);
            den += wq + wc;
        }
        let mut strong_q = false;
        for (i, used) in q_used.iter().enumerate() {
            if !used {
                den += QUERY_EXTRA * q[i].weight;
                // An initial left over contradicts a given name left over (K. / JOHN).
                strong_q |= !q[i].kind.is_weak();
            }
        }
        let mut strong_c = false;
        for (j, used) in c_used.iter().enumerate() {
            if !used {
                den += CANDIDATE_EXTRA * idx.weights[c[j] as usize];
                strong_c |= !idx.kinds[c[j] as usize].is_weak();
            }
        }
        let mut score = if den > 0.0 {
            (num / den).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // A substitution: each side keeps a distinctive word the other lacks. Names that differ
        // by one word in place of another are usually different parties (sibling companies,
        // different people sharing a surname), so this weighs more than either gap alone.
        let conflict = strong_q && strong_c;
        if conflict {
            score *= CONFLICT_FACTOR;
        }
        // A name romanised syllable by syllable must agree with the listed name syllable for
        // syllable: every query syllable paired, and no listed word left over. Syllables come
        // from a closed inventory (about 400 in Mandarin), so a common surname and one shared
        // syllable are what unrelated people have in common.
        // A listed word the query lacks is tolerated only beside a full name of three syllables
        // or more (surname and a two-syllable given name: `李家超` and `LEE, John Ka-chiu`).
        let syllables = q.iter().filter(|t| t.syllabic).count();
        let partial_romanised = syllables > 0
            && (q.iter().zip(&q_used).any(|(t, used)| t.syllabic && !used)
                || (strong_c && syllables < 3));
        NameMatch {
            name,
            score,
            pairs: aligned,
            q_used,
            c_used,
            conflict,
            partial_romanised,
        }
    }

    fn build_hit(&self, query: &Query, q: &[QueryToken], entity: u32, m: &NameMatch) -> Hit {
        let e = &self.entities[entity as usize];
        let rec = &self.index.names[m.name as usize];
        let idx = &self.index;
        let mut features = Vec::new();
        let mut score = m.score as f64;
        let matched = match rec.alias {
            None => e.name.clone(),
            Some(a) => e.aliases[a as usize].0.clone(),
        };
        features.push(FeatureShare {
            feature: "name".into(),
            detail: format!("token alignment with {:?}", matched),
            effect: round4(score),
        });
        if m.conflict {
            features.push(FeatureShare {
                feature: "conflict".into(),
                detail:
                    "each side has a distinctive word the other lacks (included in the name score)"
                        .into(),
                effect: round4(m.score as f64 - m.score as f64 / CONFLICT_FACTOR as f64),
            });
        }
        if rec.weak {
            let before = score;
            score *= WEAK_ALIAS_FACTOR as f64;
            features.push(FeatureShare {
                feature: "weak_alias".into(),
                detail: "matched a weak (low-quality) a.k.a.".into(),
                effect: round4(score - before),
            });
        }
        // Party type: a person is not a company, a vessel is not an aircraft.
        if let (Some(qt), Some(et)) = (query.party_type, e.party_type) {
            let before = score;
            if qt == et {
                score += (1.0 - score) * 0.1;
            } else {
                score *= 0.85;
            }
            features.push(FeatureShare {
                feature: "type".into(),
                detail: format!("query {} vs listed {}", qt.as_str(), et.as_str()),
                effect: round4(score - before),
            });
        }
        if let Some(cc) = query
            .country
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
        {
            if !e.countries.is_empty() {
                let before = score;
                if e.countries.contains(&cc) {
                    score += (1.0 - score) * 0.3;
                } else {
                    score *= 0.95;
                }
                features.push(FeatureShare {
                    feature: "country".into(),
                    detail: format!("query {cc} vs listed {}", e.countries.join(",")),
                    effect: round4(score - before),
                });
            }
        }
        if let Some(year) = query.dob.as_deref().and_then(first_year) {
            if !e.birth_years.is_empty() {
                let before = score;
                if e.birth_years.contains(&year) {
                    score += (1.0 - score) * 0.3;
                } else {
                    score *= 0.85;
                }
                features.push(FeatureShare {
                    feature: "dob".into(),
                    detail: format!("query year {year} vs listed {:?}", e.birth_years),
                    effect: round4(score - before),
                });
            }
        }
        for id in &query.identifiers {
            let n = norm_id(id);
            if n.len() >= 4 && e.identifiers.contains(&n) {
                let before = score;
                score += (1.0 - score) * 0.5;
                features.push(FeatureShare {
                    feature: "identifier".into(),
                    detail: format!("identifier {id} is listed"),
                    effect: round4(score - before),
                });
                break;
            }
        }
        let word = |t: u32| String::from_utf8_lossy(&idx.words[t as usize]).into_owned();
        let qword = |i: usize| String::from_utf8_lossy(&q[i].text).into_owned();
        // Which romanisation turned the query into these words.
        let mut channels: Vec<crate::script::Romanisation> = Vec::new();
        for t in q {
            if let Some(r) = t.romanisation {
                if !channels.contains(&r) {
                    channels.push(r);
                }
            }
        }
        for r in channels {
            let words: Vec<String> = (0..q.len())
                .filter(|&i| q[i].romanisation == Some(r))
                .map(qword)
                .collect();
            features.push(FeatureShare {
                feature: "romanisation".into(),
                detail: format!(
                    "{} romanised by {}: {}",
                    r.script(),
                    r.id(),
                    words.join(" ")
                ),
                effect: 0.0,
            });
        }
        if m.partial_romanised && score > PARTIAL_ROMANISED_CAP {
            let before = score;
            score = PARTIAL_ROMANISED_CAP;
            features.push(FeatureShare {
                feature: "partial_romanised".into(),
                detail: "the romanised syllables agree with the listed name only in part".into(),
                effect: round4(score - before),
            });
        }
        let mut alignment: Vec<TokenPair> = Vec::with_capacity(m.pairs.len() + 4);
        for p in &m.pairs {
            let query = if p.glued_query {
                format!("{} {}", qword(p.q as usize), qword(p.q as usize + 1))
            } else {
                qword(p.q as usize)
            };
            let mut candidate = word(rec.tokens[p.c1 as usize]);
            if p.c2 != NONE {
                candidate = format!("{candidate} {}", word(rec.tokens[p.c2 as usize]));
            }
            alignment.push(TokenPair {
                query: Some(query),
                candidate: Some(candidate),
                similarity: round4(p.sim as f64),
            });
        }
        for (i, used) in m.q_used.iter().enumerate() {
            if !used {
                alignment.push(TokenPair {
                    query: Some(qword(i)),
                    candidate: None,
                    similarity: 0.0,
                });
            }
        }
        for (j, used) in m.c_used.iter().enumerate() {
            if !used {
                alignment.push(TokenPair {
                    query: None,
                    candidate: Some(word(rec.tokens[j])),
                    similarity: 0.0,
                });
            }
        }
        Hit {
            entity: e.id.clone(),
            score: round4(score.clamp(0.0, 1.0)),
            list: e.list.to_string(),
            name: e.name.clone(),
            matched,
            explanation: Explanation {
                alignment,
                features,
            },
        }
    }
}

struct Prepared {
    tokens: Vec<QueryToken>,
}

/// Similarity of a word with two glued words: equal, or one typing error apart for long words.
fn glue_sim(word: &[u8], a: &[u8], b: &[u8]) -> f32 {
    let n = a.len() + b.len();
    if word.len().abs_diff(n) > 1 {
        return 0.0;
    }
    let mut glued: SmallVec<[u8; 64]> = SmallVec::with_capacity(n);
    glued.extend_from_slice(a);
    glued.extend_from_slice(b);
    if word == &glued[..] {
        1.0
    } else if word.len() >= 6 && crate::similarity::within_one_edit(word, &glued[..]) {
        0.92
    } else {
        0.0
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn listed(e: &Entity) -> Listed {
    Listed {
        id: e.id.clone(),
        list: e.list.code(),
        party_type: e.party_type,
        name: e.name.clone(),
        aliases: e
            .aliases
            .iter()
            .map(|a| (a.name.clone(), a.strength))
            .collect(),
        countries: e.countries.clone(),
        birth_years: e.dates_of_birth.iter().flat_map(|d| years(d)).collect(),
        identifiers: e
            .identifiers
            .iter()
            .map(|i| norm_id(&i.number))
            .filter(|n| n.len() >= 4)
            .collect(),
    }
}

/// Every plausible year (1800–2100) written in a date string ("circa 1960", "1958 to 1962").
fn years(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let j = b[i..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map(|p| i + p)
                .unwrap_or(b.len());
            if j - i == 4 {
                if let Ok(y) = s[i..j].parse::<u16>() {
                    if (1800..=2100).contains(&y) {
                        out.push(y);
                    }
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn first_year(s: &str) -> Option<u16> {
    years(s).into_iter().next()
}

fn norm_id(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
