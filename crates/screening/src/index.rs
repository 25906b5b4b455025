//! The candidate index over every name and alias of a snapshot.
//!
//! Each distinct normalised token gets an id, a weight and a posting list of the names that
//! contain it. A query token finds the index tokens it may stand for in three ways, none of
//! which scans the vocabulary: the exact token; tokens one edit away, through a
//! symmetric-deletion table (every token's one-character deletions, looked up with the query
//! token's own deletions: covers a substitution, an insertion, a deletion and an adjacent
//! transposition); and tokens with the same phonetic key (transliteration variants). The
//! posting lists of those tokens then vote for candidate names, rare tokens weighing more.

use rustc_hash::FxHashMap;

use crate::normalize::{self, Romanisation, Token, TokenKind};
use crate::similarity::{jaro_winkler, jaro_winkler_upper_bound, within_one_edit};

/// Minimum similarity for two different word tokens to be aligned at all.
pub(crate) const MIN_TOKEN_SIM: f32 = 0.84;
/// Weight multiplier of weak tokens (legal forms, particles).
pub(crate) const WEAK_FACTOR: f32 = 0.2;
/// Weight of a query initial, as a share of the weight of a word never seen.
const INITIAL_WEIGHT: f32 = 0.4;
/// Shortest consonant skeleton looked up for an Arabic-script word.
const MIN_SKELETON: usize = 2;

/// One indexed name: the primary name or one alias of an entity.
pub(crate) struct NameRecord {
    pub entity: u32,
    /// `None` for the primary name, else the index into the entity's aliases.
    pub alias: Option<u16>,
    /// A weak (low-quality) a.k.a.
    pub weak: bool,
    /// Token ids in name order.
    pub tokens: Box<[u32]>,
}

/// The vocabulary, postings and names.
pub(crate) struct Index {
    pub words: Vec<Box<[u8]>>,
    pub word_ids: FxHashMap<Box<[u8]>, u32>,
    pub kinds: Vec<TokenKind>,
    pub weights: Vec<f32>,
    pub postings: Vec<Vec<u32>>,
    pub phon: Vec<Box<[u8]>>,
    deletes: FxHashMap<Box<[u8]>, Vec<u32>>,
    phonetic: FxHashMap<Box<[u8]>, Vec<u32>>,
    /// Consonant skeleton -> word tokens, for queries written in Arabic script.
    skeletons: FxHashMap<Box<[u8]>, Vec<u32>>,
    pub names: Vec<NameRecord>,
    /// Sum of the token weights of each name.
    pub name_weight: Vec<f32>,
    /// Given-name variant group of each token, if any.
    pub group: Vec<Option<&'static str>>,
    groups: FxHashMap<&'static str, Vec<u32>>,
    /// Weight of a token the index has never seen (as rare as a token can be).
    pub unseen_weight: f32,
}

/// A query token's possible meanings in the index.
#[derive(Clone, Debug)]
pub(crate) struct QueryToken {
    pub text: Box<[u8]>,
    pub kind: TokenKind,
    pub weight: f32,
    pub phon: Box<[u8]>,
    pub group: Option<&'static str>,
    /// (token id, similarity), best first; includes the exact token when indexed.
    pub matches: Vec<(u32, f32)>,
    /// For a word the index does not know: two index tokens it is the two halves of
    /// (`alkawthar` = `al` + `kawthar`). Used for candidate retrieval only.
    pub splits: Vec<(u32, u32)>,
    /// The channel that romanised the word, if it was written in another script.
    pub romanisation: Option<Romanisation>,
    /// A syllable of a syllabic channel (Chinese, Korean): it pairs only with an index token
    /// spelt as one of its romanisations, never with a near spelling.
    pub syllabic: bool,
    /// For a syllable: index tokens spelt as this syllable and the next one together, in any
    /// of their romanisations (`fang` + `wei` = `fangwei`). Filled by the screener.
    pub glue_next: Vec<u32>,
}

fn eligible_fuzzy(kind: TokenKind, len: usize) -> bool {
    kind == TokenKind::Word && len >= 4
}

impl Index {
    pub fn build<'a>(names: impl Iterator<Item = (u32, Option<u16>, bool, &'a str)>) -> Self {
        let mut idx = Index {
            words: Vec::new(),
            word_ids: FxHashMap::default(),
            kinds: Vec::new(),
            weights: Vec::new(),
            postings: Vec::new(),
            phon: Vec::new(),
            deletes: FxHashMap::default(),
            phonetic: FxHashMap::default(),
            skeletons: FxHashMap::default(),
            names: Vec::new(),
            name_weight: Vec::new(),
            group: Vec::new(),
            groups: FxHashMap::default(),
            unseen_weight: 0.0,
        };
        let mut seen_sorted: FxHashMap<(u32, Vec<u32>), ()> = FxHashMap::default();
        for (entity, alias, weak, raw) in names {
            let toks = normalize::tokens(raw);
            if toks.is_empty() {
                continue;
            }
            let ids: Vec<u32> = toks
                .iter()
                .map(|t| idx.intern(t.text.as_bytes(), t.kind))
                .collect();
            // The same entity listing the same name twice (primary and alias differing only in
            // punctuation) adds nothing.
            let mut key = ids.clone();
            key.sort_unstable();
            if seen_sorted.insert((entity, key), ()).is_some() {
                continue;
            }
            let name_id = idx.names.len() as u32;
            let mut uniq = ids.clone();
            uniq.sort_unstable();
            uniq.dedup();
            for t in uniq {
                idx.postings[t as usize].push(name_id);
            }
            idx.names.push(NameRecord {
                entity,
                alias,
                weak,
                tokens: ids.into_boxed_slice(),
            });
        }
        // Inverse document frequency over names: ln(1 + N / df).
        let n = idx.names.len().max(1) as f32;
        for (t, p) in idx.postings.iter().enumerate() {
            let idf = (1.0 + n / p.len().max(1) as f32).ln();
            idx.weights[t] = if idx.kinds[t].is_weak() {
                idf * WEAK_FACTOR
            } else {
                idf
            };
        }
        idx.unseen_weight = (1.0 + n).ln();
        idx.name_weight = idx
            .names
            .iter()
            .map(|r| r.tokens.iter().map(|&t| idx.weights[t as usize]).sum())
            .collect();
        for t in 0..idx.words.len() {
            if let Some(g) = idx.group[t] {
                idx.groups.entry(g).or_default().push(t as u32);
            }
        }
        // Deletion and phonetic tables for fuzzy lookup of word tokens.
        for t in 0..idx.words.len() {
            let w = idx.words[t].clone();
            if !eligible_fuzzy(idx.kinds[t], w.len()) {
                continue;
            }
            for i in 0..w.len() {
                let mut d = w.to_vec();
                d.remove(i);
                let e = idx.deletes.entry(d.into_boxed_slice()).or_default();
                if e.last() != Some(&(t as u32)) {
                    e.push(t as u32);
                }
            }
            let pk = idx.phon[t].clone();
            if pk.len() >= 3 {
                idx.phonetic.entry(pk).or_default().push(t as u32);
            }
        }
        for t in 0..idx.words.len() {
            if idx.kinds[t] != TokenKind::Word || idx.words[t].len() < 3 {
                continue;
            }
            let text = std::str::from_utf8(&idx.words[t]).unwrap_or("");
            let sk = normalize::consonant_skeleton(text);
            if sk.len() >= MIN_SKELETON {
                idx.skeletons
                    .entry(sk.into_bytes().into_boxed_slice())
                    .or_default()
                    .push(t as u32);
            }
        }
        idx
    }

    fn intern(&mut self, w: &[u8], kind: TokenKind) -> u32 {
        if let Some(&id) = self.word_ids.get(w) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(w.into());
        self.word_ids.insert(w.into(), id);
        self.kinds.push(kind);
        self.weights.push(0.0);
        self.postings.push(Vec::new());
        let text = std::str::from_utf8(w).unwrap_or("");
        self.phon.push(
            normalize::phonetic_key(text)
                .into_bytes()
                .into_boxed_slice(),
        );
        self.group.push(if kind == TokenKind::Word {
            normalize::canonical_given_name(text)
        } else {
            None
        });
        id
    }

    /// Resolves one normalised query token against the vocabulary. A `skeletal` word (from
    /// Arabic or Hebrew script) also meets every word with its consonant skeleton; a romanised
    /// word also meets every index token spelt as one of its variants.
    pub fn query_token(&self, tok: &Token) -> QueryToken {
        let (text, kind, skeletal) = (tok.text.as_str(), tok.kind, tok.skeletal);
        let syllabic = tok.romanisation.is_some_and(Romanisation::syllabic);
        let bytes = text.as_bytes();
        let exact = self.word_ids.get(bytes).copied();
        let weight = match exact {
            Some(id) => self.weights[id as usize],
            // An initial no listed name has is less than an unseen word (many names share
            // it) and more than a particle (a stray initial is still a difference). Aligned
            // with a full word it is scored apart (see the screener).
            None if kind == TokenKind::Word && bytes.len() == 1 && !syllabic => {
                self.unseen_weight * INITIAL_WEIGHT
            }
            None if kind.is_weak() => self.unseen_weight * WEAK_FACTOR,
            None => self.unseen_weight,
        };
        let phon: Box<[u8]> = normalize::phonetic_key(text)
            .into_bytes()
            .into_boxed_slice();
        let group = if kind == TokenKind::Word {
            normalize::canonical_given_name(text).or_else(|| {
                tok.variants
                    .iter()
                    .find_map(|v| normalize::canonical_given_name(v))
            })
        } else {
            None
        };
        let mut matches: Vec<(u32, f32)> = Vec::new();
        let mut splits = Vec::new();
        if let Some(id) = exact {
            matches.push((id, 1.0));
        }
        // Another spelling of the same letters by a standard system is the same word.
        let mut variant_weight: Option<f32> = None;
        for v in &tok.variants {
            if let Some(&id) = self.word_ids.get(v.as_bytes()) {
                if !matches.iter().any(|(m, _)| *m == id) {
                    matches.push((id, 1.0));
                    let w = self.weights[id as usize];
                    variant_weight = Some(variant_weight.map_or(w, |x: f32| x.max(w)));
                }
            }
        }
        let weight = match (exact, variant_weight) {
            (None, Some(w)) => w,
            _ => weight,
        };
        if syllabic {
            matches.sort_by(|a, b| b.1.total_cmp(&a.1));
            return QueryToken {
                text: bytes.into(),
                kind,
                weight,
                phon,
                group,
                matches,
                splits,
                romanisation: tok.romanisation,
                syllabic,
                glue_next: Vec::new(),
            };
        }
        if eligible_fuzzy(kind, bytes.len()) {
            let consider = |id: u32, matches: &mut Vec<(u32, f32)>| {
                if Some(id) == exact || matches.iter().any(|(m, _)| *m == id) {
                    return;
                }
                let s = self.token_sim(bytes, &phon, group, id);
                if s >= MIN_TOKEN_SIM {
                    matches.push((id, s));
                }
            };
            // The query token itself may be a deletion of an index token (the query lost a letter).
            if let Some(ids) = self.deletes.get(bytes) {
                for &id in ids {
                    consider(id, &mut matches);
                }
            }
            let mut d = Vec::with_capacity(bytes.len());
            for i in 0..bytes.len() {
                d.clear();
                d.extend_from_slice(&bytes[..i]);
                d.extend_from_slice(&bytes[i + 1..]);
                // An index token equal to a deletion of the query (the query gained a letter) ...
                if let Some(&id) = self.word_ids.get(d.as_slice()) {
                    consider(id, &mut matches);
                }
                // ... or sharing a deletion with it (substitution, transposition).
                if let Some(ids) = self.deletes.get(d.as_slice()) {
                    for &id in ids {
                        consider(id, &mut matches);
                    }
                }
            }
            if phon.len() >= 3 {
                if let Some(ids) = self.phonetic.get(&phon) {
                    for &id in ids {
                        consider(id, &mut matches);
                    }
                }
            }
            if let Some(ids) = group.and_then(|g| self.groups.get(g)) {
                for &id in ids {
                    consider(id, &mut matches);
                }
            }
            if exact.is_none() && !skeletal {
                for k in 2..bytes.len().saturating_sub(2) {
                    if let (Some(&a), Some(&b)) = (
                        self.word_ids.get(&bytes[..k]),
                        self.word_ids.get(&bytes[k..]),
                    ) {
                        splits.push((a, b));
                    }
                }
            }
        }
        if skeletal && kind == TokenKind::Word {
            let mut skeletons: Vec<String> = std::iter::once(text)
                .chain(tok.variants.iter().map(String::as_str))
                .map(normalize::consonant_skeleton)
                .collect();
            skeletons.sort_unstable();
            skeletons.dedup();
            for sk in skeletons.into_iter().filter(|sk| sk.len() >= MIN_SKELETON) {
                // Equal skeletons are the same consonants in the same order: strong evidence
                // for three consonants or more, weaker for two (`sf` is Yusuf, Saif, Asif).
                let s = if sk.len() >= 3 { 0.9 } else { 0.86 };
                for &id in self
                    .skeletons
                    .get(sk.as_bytes())
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    if !matches.iter().any(|(m, _)| *m == id) {
                        matches.push((id, s));
                    }
                }
            }
        }
        matches.sort_by(|a, b| b.1.total_cmp(&a.1));
        // A skeleton is no word of the index, but it is as rare as the words it stands for.
        let weight =
            if exact.is_none() && variant_weight.is_none() && skeletal && !matches.is_empty() {
                matches
                    .iter()
                    .map(|&(id, _)| self.weights[id as usize])
                    .fold(0.0, f32::max)
            } else {
                weight
            };
        QueryToken {
            text: bytes.into(),
            kind,
            weight,
            phon,
            group,
            matches,
            splits,
            romanisation: tok.romanisation,
            syllabic,
            glue_next: Vec::new(),
        }
    }

    /// Index tokens spelt as two adjacent romanised syllables together, in any combination of
    /// their spellings (`fang`+`wei` = `fangwei`, `jong`+`un` = `jongun`).
    pub fn glued_syllables(&self, a: &Token, b: &Token) -> Vec<u32> {
        let mut out = Vec::new();
        let mut buf = String::new();
        for x in std::iter::once(&a.text).chain(&a.variants) {
            for y in std::iter::once(&b.text).chain(&b.variants) {
                buf.clear();
                buf.push_str(x);
                buf.push_str(y);
                if let Some(&id) = self.word_ids.get(buf.as_bytes()) {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
        out
    }

    /// Similarity of a query word to an index token: Jaro-Winkler, raised to 0.9 for a single
    /// typing error or a shared phonetic key on words of four letters or more.
    pub fn token_sim(&self, q: &[u8], q_phon: &[u8], q_group: Option<&str>, id: u32) -> f32 {
        let i = id as usize;
        word_sim(
            q,
            q_phon,
            q_group,
            &self.words[i],
            &self.phon[i],
            self.group[i],
            self.kinds[i],
        )
    }
}

/// Similarity of a query word to an index word that candidate retrieval did not already
/// relate to it. Retrieval finds every exact, one-edit, phonetic and variant-group neighbour of
/// words of four letters or more, so what is left is a variant group of short words and the
/// high-Jaro-Winkler branch of [`word_sim`], which needs the same first letter to reach 0.92.
pub(crate) fn residual_sim(
    q: &[u8],
    q_group: Option<&str>,
    w: &[u8],
    w_group: Option<&str>,
    w_kind: TokenKind,
) -> f32 {
    if w_kind != TokenKind::Word || q == w {
        return if q == w { 1.0 } else { 0.0 };
    }
    if q_group.is_some() && q_group == w_group {
        return 0.95;
    }
    let min_len = q.len().min(w.len());
    if min_len < 3 || q[0] != w[0] {
        return 0.0;
    }
    if q.len() < 4 || w.len() < 4 {
        // Short words were not looked up fuzzily: apply the full rule.
        return word_sim(q, &[], q_group, w, &[], w_group, w_kind);
    }
    if jaro_winkler_upper_bound(q, w) < 0.92 {
        return 0.0;
    }
    let jw = jaro_winkler(q, w) as f32;
    if jw >= 0.92 && jw - 0.06 >= MIN_TOKEN_SIM {
        jw - 0.06
    } else {
        0.0
    }
}

/// Similarity of two word tokens. Exact: 1. Known transliteration variants of one given name:
/// 0.95. One typing error in a word of five letters or more: at least 0.92 (four-letter words
/// differ by one letter too often to be the same name: "long" / "lang"). A shared phonetic key
/// on words of similar length: 0.90. Otherwise Jaro-Winkler only when very high (≥ 0.92), less
/// 0.06, since a high Jaro-Winkler alone joins many different names that share a prefix.
/// Below [`MIN_TOKEN_SIM`]: 0.
pub(crate) fn word_sim(
    q: &[u8],
    q_phon: &[u8],
    q_group: Option<&str>,
    w: &[u8],
    w_phon: &[u8],
    w_group: Option<&str>,
    w_kind: TokenKind,
) -> f32 {
    if q == w {
        return 1.0;
    }
    if w_kind != TokenKind::Word {
        return 0.0;
    }
    if q_group.is_some() && q_group == w_group {
        return 0.95;
    }
    let min_len = q.len().min(w.len());
    if min_len < 3 {
        return 0.0;
    }
    let one_edit = within_one_edit(q, w);
    if !one_edit {
        // Every branch below needs a Jaro-Winkler of at least 0.8 unless the words are one
        // edit apart: skip what cannot reach it.
        if jaro_winkler_upper_bound(q, w) < 0.8 {
            return 0.0;
        }
    }
    let jw = jaro_winkler(q, w) as f32;
    let mut s = 0.0f32;
    if one_edit {
        if min_len >= 5 {
            s = jw.max(0.92);
        } else if min_len == 4 && jw >= 0.9 {
            s = jw - 0.04;
        }
    }
    if min_len >= 4
        && q_phon.len() >= 3
        && q_phon == w_phon
        && q.len().abs_diff(w.len()) <= 2
        && jw >= 0.8
    {
        s = s.max(0.90);
    }
    if s == 0.0 && jw >= 0.92 {
        s = jw - 0.06;
    }
    if s < MIN_TOKEN_SIM {
        0.0
    } else {
        s
    }
}
