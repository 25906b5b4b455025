//! Name normalisation: the same pipeline for listed names and for queries, so that both
//! sides meet in one comparable form.
//!
//! 1. Unicode NFKC (compatibility forms: full-width letters, ligatures), invisible characters
//!    (zero-width space and joiners, direction marks, byte-order mark) dropped, then transliteration
//!    to Latin ASCII by the romanisation channels of [`crate::script`] (Cyrillic, Arabic, Chinese,
//!    Korean, Japanese kana, Greek, Hebrew, Thai, Armenian, Georgian; Arabic and Hebrew as
//!    consonant skeletons, [`Token::skeletal`]); each word keeps its channel and the channel's
//!    variant spellings ([`Token::romanisation`], [`Token::variants`]); everything else (accents,
//!    other scripts) by `deunicode`.
//! 2. Case folding.
//! 3. Apostrophes removed without a break (`MA'TUQ` = `MATUQ`); dotted initialisms joined
//!    (`L.L.C.` = `LLC`, `S.A.` = `SA`); every other non-alphanumeric character is a break.
//!    Digits are kept as their own tokens: a number in a name distinguishes parties (`11420
//!    CORP.` is not `BELLETECH CORP.`, watchman issue #483).
//! 4. Legal forms (LLC, L.L.C., Limited Liability Company, OOO, Co., Ltd., ZAO, PJSC, GmbH,
//!    S.A., Sdn Bhd, ...) are recognised as phrases anywhere in the name and replaced by one
//!    canonical token marked [`TokenKind::LegalForm`]: a weak token that says little about who
//!    the party is.
//! 5. Particles and stopwords (`al`, `bin`, `de`, `the`, `of`, ...) are kept but marked
//!    [`TokenKind::Particle`], also weak.
//! 6. Common transliteration variants of given names (`Mohammed`, `Mohamed`, `Muhammad`) are
//!    known to be one name: [`canonical_given_name`] gives the group, which matching treats as
//!    near-equal (tokens keep their spelling, so a typo in a variant still finds its neighbours).
//!
//! 7. A vessel prefix before a name (`M/V`, `MV`, `M.T.`) is dropped.
//!
//! `SURNAME, Given` order needs no rewriting: matching aligns tokens without regard to order.
//! The pipeline is idempotent: normalising the joined output gives the same tokens.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use unicode_normalization::UnicodeNormalization;

pub use crate::script::Romanisation;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An ordinary name word.
    Word,
    /// A number (all digits).
    Number,
    /// A canonical legal form (`llc`, `jsc`, `ltd`, ...): weak evidence.
    LegalForm,
    /// A particle or stopword (`al`, `de`, `the`): weak evidence.
    Particle,
}

impl TokenKind {
    /// Weak tokens count little towards identity.
    pub fn is_weak(self) -> bool {
        matches!(self, TokenKind::LegalForm | TokenKind::Particle)
    }
}

/// One normalised token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    pub text: String,
    pub kind: TokenKind,
    /// Written in a script that leaves short vowels out (Arabic, Persian, Hebrew): the text is
    /// a consonant skeleton (`محمد` -> `mhmd`), to be compared by [`consonant_skeleton`].
    pub skeletal: bool,
    /// The channel that romanised the word, if it was written in another script.
    pub romanisation: Option<Romanisation>,
    /// Other spellings the channel gives for the same letters (McCune–Reischauer beside Revised
    /// Romanization, Wade–Giles beside Pinyin, ...), looked up exactly like the text.
    pub variants: Vec<String>,
}

/// Legal forms: canonical token and the phrases (already normalised to lower-case ASCII words)
/// that spell it. Sources: the spellings seen in the OFAC and CSL files; common national forms
/// (Russian OOO/ZAO/OAO/PAO/AO, German GmbH/AG, Spanish S.A. de C.V., Malaysian Sdn Bhd, UAE FZE).
/// Every canonical token is also one of its own phrases, so normalisation is idempotent.
const LEGAL_FORMS: &[(&str, &[&str])] = &[
    (
        "llc",
        &[
            "llc",
            "l l c",
            "limited liability company",
            "limited liability co",
            "ltd liability co",
            "ltd liability company",
            "ooo",
            "obshchestvo s ogranichennoi otvetstvennostyu",
            "obshchestvo s ogranichennoy otvetstvennostyu",
            "obshestvo s ogranichennoi otvetstvennostiu",
            "tov",
            "too",
        ],
    ),
    (
        "ltd",
        &[
            "ltd",
            "limited",
            "co ltd",
            "company limited",
            "co limited",
            "pte ltd",
            "pvt ltd",
            "private limited",
            "pty ltd",
            "pte",
            "pvt",
            "pty",
        ],
    ),
    (
        "co",
        &[
            "co",
            "company",
            "cie",
            "cia",
            "compania",
            "compagnie",
            "companhia",
        ],
    ),
    ("corp", &["corp", "corporation"]),
    ("inc", &["inc", "incorporated"]),
    (
        "jsc",
        &[
            "jsc",
            "ao",
            "aktsionernoe obshchestvo",
            "joint stock company",
            "joint stock co",
            "jointstock company",
            "ad",
        ],
    ),
    (
        "ojsc",
        &[
            "ojsc",
            "oao",
            "otkrytoe aktsionernoe obshchestvo",
            "open joint stock company",
            "open joint stock co",
        ],
    ),
    (
        "cjsc",
        &[
            "cjsc",
            "zao",
            "zakrytoe aktsionernoe obshchestvo",
            "closed joint stock company",
            "closed joint stock co",
        ],
    ),
    (
        "pjsc",
        &[
            "pjsc",
            "pao",
            "publichnoe aktsionernoe obshchestvo",
            "public joint stock company",
            "public joint stock co",
        ],
    ),
    (
        "gmbh",
        &[
            "gmbh",
            "gesellschaft mit beschrankter haftung",
            "gesellschaft mit beschraenkter haftung",
        ],
    ),
    ("ag", &["ag", "aktiengesellschaft"]),
    (
        "sadecv",
        &[
            "sadecv",
            "sa de cv",
            "s a de c v",
            "s a de cv",
            "sociedad anonima de capital variable",
            "sociedad anonima de cv",
            "sociedad anonima de c v",
        ],
    ),
    (
        "sa",
        &[
            "sa",
            "s a",
            "sociedad anonima",
            "societe anonyme",
            "sociedade anonima",
        ],
    ),
    (
        "sas",
        &[
            "sas",
            "s a s",
            "sociedad por acciones simplificada",
            "societe par actions simplifiee",
        ],
    ),
    (
        "sarl",
        &["sarl", "s a r l", "societe a responsabilite limitee"],
    ),
    (
        "srl",
        &[
            "srl",
            "s r l",
            "sociedad de responsabilidad limitada",
            "societa a responsabilita limitata",
            "societate cu raspundere limitata",
        ],
    ),
    ("sderl", &["sderl", "s de rl", "s de r l"]),
    ("spa", &["spa", "s p a", "societa per azioni"]),
    ("sdnbhd", &["sdnbhd", "sdn bhd", "sendirian berhad"]),
    ("bhd", &["bhd", "berhad"]),
    ("fze", &["fze", "free zone establishment"]),
    ("fzco", &["fzco", "free zone company"]),
    ("fzc", &["fzc"]),
    ("fzllc", &["fzllc", "fz llc", "fz l l c"]),
    ("plc", &["plc", "public limited company", "p l c"]),
    ("ltda", &["ltda", "limitada"]),
    ("llp", &["llp", "limited liability partnership", "l l p"]),
    ("lp", &["lp", "limited partnership"]),
    ("bv", &["bv", "b v", "besloten vennootschap"]),
    ("nv", &["nv", "n v", "naamloze vennootschap"]),
    ("doo", &["doo", "d o o"]),
    ("kk", &["kk", "kabushiki kaisha", "kabushikigaisha"]),
    (
        "spzoo",
        &[
            "spzoo",
            "sp z o o",
            "spolka z ograniczona odpowiedzialnoscia",
        ],
    ),
    ("as", &["as", "a s", "aksjeselskap", "aktieselskab"]),
    ("ab", &["ab", "aktiebolag"]),
    ("oy", &["oy", "osakeyhtio"]),
    ("pt", &["pt", "perseroan terbatas"]),
    ("tbk", &["tbk", "terbuka"]),
    ("establishment", &["establishment", "est"]),
    ("sl", &["sl", "s l", "sociedad limitada"]),
    ("sll", &["sll", "s l l", "sociedad limitada laboral"]),
    ("kgaa", &["kgaa", "kommanditgesellschaft auf aktien"]),
    ("kg", &["kg", "kommanditgesellschaft"]),
    ("sti", &["sti", "sirketi"]),
    ("eireli", &["eireli"]),
    ("se", &["se", "societas europaea"]),
    ("sapi", &["sapi", "sapi de cv"]),
];

/// Particles and stopwords: kept as weak tokens.
const PARTICLES: &[&str] = &[
    "a", "al", "an", "and", "at", "bin", "bint", "d", "da", "das", "de", "del", "della", "der",
    "des", "di", "do", "dos", "du", "e", "el", "en", "et", "for", "ibn", "in", "la", "le", "les",
    "of", "on", "os", "the", "to", "und", "van", "von", "y", "z",
];

/// Given-name transliteration variants mapped to one spelling. Groups are the variants seen
/// across OFAC romanisations of Arabic, Persian and Russian names.
const GIVEN_NAME_VARIANTS: &[(&str, &[&str])] = &[
    (
        "muhammad",
        &[
            "mohammad",
            "mohammed",
            "mohamed",
            "mohamad",
            "muhammed",
            "muhamad",
            "muhamed",
            "mohammod",
            "mukhammad",
            "mukhammed",
            "mahomed",
            "mehmet",
            "mehmed",
        ],
    ),
    ("ahmad", &["ahmed", "ahmet", "akhmad", "akhmed"]),
    ("mahmud", &["mahmoud", "mahmood", "mehmood"]),
    (
        "husayn",
        &[
            "hussein", "husein", "hussain", "husain", "hossein", "hosein", "huseyin",
        ],
    ),
    ("hasan", &["hassan", "hasen", "hassen"]),
    (
        "yusuf",
        &["yousef", "youssef", "yousif", "yusef", "yousuf", "jusuf"],
    ),
    ("abd", &["abdul", "abdel", "abdal", "abdol", "abdu"]),
    ("umar", &["omar", "omer"]),
    ("usama", &["osama", "ousama"]),
    ("ali", &["aly"]),
    ("khalid", &["khaled", "halid"]),
    ("said", &["saeed", "saied", "sayed", "sayyid", "sayid"]),
    ("abdallah", &["abdullah", "abdulla", "abdollah"]),
    ("ibrahim", &["ebrahim", "ibragim"]),
    ("ismail", &["ismael", "esmail"]),
    ("mustafa", &["mostafa", "moustafa"]),
    (
        "aleksandr",
        &[
            "alexander",
            "aleksander",
            "alexandr",
            "oleksandr",
            // Greek (ELOT 743 gives alexandros).
            "alexandros",
        ],
    ),
    (
        "aleksei",
        &["alexey", "alexei", "aleksey", "oleksii", "oleksiy"],
    ),
    ("sergei", &["sergey", "serhii", "serhiy", "sergiy"]),
    ("yuri", &["yury", "yuriy", "iurii", "yurii", "jurij"]),
    (
        "dmitri",
        &[
            "dmitry",
            "dmitriy",
            "dmytro",
            "dimitri",
            "dimitrios",
            "dimitris",
            "demetrios",
        ],
    ),
    ("andrei", &["andrey", "andriy", "andrii"]),
    (
        "evgeni",
        &[
            "evgeny", "evgeniy", "yevgeny", "yevgeniy", "yevhen", "eugene",
        ],
    ),
    (
        "nikolai",
        &[
            "nikolay", "mykola", "nikolaos", "nicholas", "nikolas", "nicolas",
        ],
    ),
    ("vladimir", &["volodymyr", "wladimir"]),
    ("grigori", &["grigory", "grigoriy", "hryhoriy"]),
    (
        "georgi",
        &[
            "georgy", "georgiy", "heorhiy", "georgios", "george", "yiorgos", "giorgos",
        ],
    ),
    // Greek given names: the ELOT 743 form, the popular short form and the English form.
    (
        "konstantin",
        &[
            "konstantinos",
            "constantine",
            "konstantine",
            "costas",
            "kostas",
        ],
    ),
    ("ioannis", &["yannis", "giannis", "ioanis"]),
    (
        "vasileios",
        &[
            "vasilios",
            "vassilios",
            "vasilis",
            "vasily",
            "vasiliy",
            "vasilii",
        ],
    ),
    ("panagiotis", &["panayiotis", "panayotis", "panagiotes"]),
    ("christos", &["hristos", "khristos"]),
    ("spyridon", &["spyros", "spiros", "spiridon"]),
    ("michail", &["michael", "mikhail", "mykhailo", "mihail"]),
    ("arkadi", &["arkady", "arkadiy"]),
    ("vitali", &["vitaly", "vitaliy", "vitalii"]),
];

/// Normalises a name into tokens.
pub fn tokens(raw: &str) -> Vec<Token> {
    let mut raw_words = words_romanised(raw);
    let words: Vec<String> = raw_words
        .iter_mut()
        .map(|w| std::mem::take(&mut w.text))
        .collect();
    let mut out: Vec<Token> = Vec::with_capacity(words.len());
    // Repeated prefixes go together, so that normalising twice drops no more than once.
    let mut i = 0;
    while let n @ 1.. = vessel_prefix_len(&words[i..]) {
        i += n;
    }
    while i < words.len() {
        if let Some((canon, len)) = legal_form_at(&words, i) {
            // A longer form starting at the next word wins over a multi-word form here
            // ("CO LIMITED LIABILITY COMPANY" is co + llc, not ltd + liability + co).
            let next_longer = legal_form_at(&words, i + 1).is_some_and(|(_, l)| l > len && l >= 2);
            if !(next_longer && len >= 2) {
                out.push(Token {
                    text: canon.to_string(),
                    kind: TokenKind::LegalForm,
                    skeletal: false,
                    romanisation: None,
                    variants: Vec::new(),
                });
                i += len;
                continue;
            }
            if let Some((canon1, 1)) = legal_form_single(&words[i]) {
                out.push(Token {
                    text: canon1.to_string(),
                    kind: TokenKind::LegalForm,
                    skeletal: false,
                    romanisation: None,
                    variants: Vec::new(),
                });
                i += 1;
                continue;
            }
        }
        let w = &words[i];
        let kind = if w.bytes().all(|b| b.is_ascii_digit()) {
            TokenKind::Number
        } else if PARTICLES.binary_search(&w.as_str()).is_ok() {
            TokenKind::Particle
        } else {
            TokenKind::Word
        };
        out.push(Token {
            text: w.clone(),
            kind,
            skeletal: kind == TokenKind::Word
                && raw_words[i]
                    .romanisation
                    .is_some_and(Romanisation::skeletal),
            romanisation: raw_words[i].romanisation,
            variants: if kind == TokenKind::Word {
                std::mem::take(&mut raw_words[i].variants)
            } else {
                Vec::new()
            },
        });
        i += 1;
    }
    out
}

/// Words of a vessel-type prefix at the start of a name (`M/V`, `MV`, `M.T.`, `MT`): they say
/// what the party is, not which one, and lists mostly leave them out. Dropped only when a name
/// follows.
fn vessel_prefix_len(words: &[String]) -> usize {
    match words {
        [p, _, ..] if p == "mv" || p == "mt" => 1,
        [m, p, _, ..] if m == "m" && (p == "v" || p == "t") => 2,
        _ => 0,
    }
}

/// The normalised name as one string (tokens joined by single spaces), for display and for
/// exact comparison.
pub fn normalized(raw: &str) -> String {
    let t = tokens(raw);
    let mut s = String::with_capacity(raw.len());
    for (i, tok) in t.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&tok.text);
    }
    s
}

/// A key independent of token order: the normalised tokens sorted and joined.
pub fn sorted_key(raw: &str) -> String {
    let mut t: Vec<String> = tokens(raw).into_iter().map(|t| t.text).collect();
    t.sort_unstable();
    t.join(" ")
}

/// Steps 1–3: NFKC, transliteration, case folding, punctuation; returns the raw words.
pub fn words(raw: &str) -> Vec<String> {
    words_romanised(raw).into_iter().map(|w| w.text).collect()
}

/// One word of [`words_romanised`]: its text, the channel that romanised it and the other
/// spellings that channel gives for it.
struct RawWord {
    text: String,
    romanisation: Option<Romanisation>,
    variants: Vec<String>,
}

/// [`words`], with the romanisation channel of each word (see [`crate::script`]).
fn words_romanised(raw: &str) -> Vec<RawWord> {
    // NFKC first so that compatibility characters (and Arabic presentation forms) transliterate
    // as their plain letters. ASCII input is already in both forms.
    // Each byte of the romanised text carries a tag (channel and variant slot) until the words
    // are cut; a word takes the tag of its first letter.
    let romanised = if raw.is_ascii() {
        crate::script::Romanised {
            text: raw.to_ascii_lowercase(),
            tags: Vec::new(),
            variants: Vec::new(),
        }
    } else {
        // An invisible character is neither a letter nor a break: it cannot split a word.
        let nfkc: String = raw.nfkc().filter(|c| !is_invisible(*c)).collect();
        crate::script::romanise(&nfkc)
    };
    let lower = &romanised.text;
    let tag_at = |i: usize| romanised.tags.get(i).copied().unwrap_or(0);
    let b = lower.as_bytes();
    let mut cleaned = String::with_capacity(lower.len());
    // Tags only for romanised text: ASCII input has none to carry.
    let track = !romanised.tags.is_empty();
    let mut tags: Vec<u32> = Vec::with_capacity(if track { lower.len() } else { 0 });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() {
            cleaned.push(c.to_ascii_lowercase() as char);
            if track {
                tags.push(tag_at(i));
            }
        } else if c == b'\'' || c == b'`' {
            // Apostrophes join: MA'TUQ -> matuq, O'BRIEN -> obrien.
        } else if c == b'.' {
            // A dot that ends a single-letter segment followed by another letter is part of a
            // dotted initialism (L.L.C., S.A., U.S.A.): drop it without a break.
            let single_before = i >= 1
                && b[i - 1].is_ascii_alphabetic()
                && (i < 2 || !b[i - 2].is_ascii_alphanumeric());
            let letter_after = i + 1 < b.len()
                && b[i + 1].is_ascii_alphabetic()
                && (i + 2 >= b.len() || !b[i + 2].is_ascii_alphanumeric());
            if single_before && letter_after {
                // joined
            } else {
                cleaned.push(' ');
                if track {
                    tags.push(0);
                }
            }
        } else if c == b'&' {
            cleaned.push_str(" and ");
            if track {
                tags.extend([0; 5]);
            }
        } else {
            cleaned.push(' ');
            if track {
                tags.push(0);
            }
        }
        i += 1;
    }
    let mut out: Vec<RawWord> = Vec::new();
    let cb = cleaned.as_bytes();
    let mut i = 0;
    while i < cb.len() {
        if cb[i] == b' ' {
            i += 1;
            continue;
        }
        let j = (i..cb.len()).find(|&k| cb[k] == b' ').unwrap_or(cb.len());
        // Split letter/digit boundaries so that digits are tokens of their own ("no8" -> "no 8").
        let mut k = i;
        while k < j {
            let digit = cb[k].is_ascii_digit();
            let e = (k..j)
                .find(|&m| cb[m].is_ascii_digit() != digit)
                .unwrap_or(j);
            let tag = if track { tags[k] } else { 0 };
            let romanisation = if digit {
                None
            } else {
                crate::script::Romanisation::from_code(tag & 0xff)
            };
            // A word whose letters all came from one romanised word or syllable keeps its
            // variant spellings; a word glued from several (or cut by a digit) does not.
            let whole = e == j && k == i && (!track || tags[k..e].iter().all(|&t| t == tag));
            let slot = (tag >> 8) as usize;
            let variants = if whole && slot > 0 && romanisation.is_some() {
                romanised.variants[slot - 1]
                    .iter()
                    .filter(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_alphanumeric()))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            out.push(RawWord {
                text: cleaned[k..e].to_string(),
                romanisation,
                variants,
            });
            k = e;
        }
        i = j;
    }
    out
}

/// Characters drawn as nothing: Unicode's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt;
/// Unicode §5.21) — soft hyphen, zero-width space, joiners, direction marks, embeddings,
/// overrides and isolates, word joiner and invisible operators, variation selectors, the
/// byte-order mark, Hangul fillers, tags. A name with one inserted (by a copy from a
/// right-to-left document, or to dodge a match) is the same name.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// The consonant skeleton of a romanised word: digraphs to one letter (kh h, sh s, th t, dh
/// d, gh g, zh/dj/dz j, ph f), q and c to k, vowels and the semivowels w, v, y dropped,
/// repeats collapsed, a final h (ta marbuta, `-ah`) dropped. `muhammad`, `mohamed` and `mhmd`
/// (محمد) share `mhmd`; `husayn`, `hussein` and `hsyn` (حسين) share `hsn`.
pub fn consonant_skeleton(word: &str) -> String {
    let b = word.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let next = b.get(i + 1).copied().unwrap_or(0);
        let (code, step) = match (b[i].to_ascii_lowercase(), next.to_ascii_lowercase()) {
            (b'k', b'h') => (b'h', 2),
            (b's' | b'c', b'h') => (b's', 2),
            (b't', b'h') => (b't', 2),
            (b'd', b'h') => (b'd', 2),
            (b'g', b'h') => (b'g', 2),
            (b'z', b'h') | (b'd', b'j') | (b'd', b'z') => (b'j', 2),
            (b'p', b'h') => (b'f', 2),
            (b'q' | b'c', _) => (b'k', 1),
            (b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'w' | b'v', _) => (0, 1),
            (c, _) => (c, 1),
        };
        if code != 0 && out.last() != Some(&code) {
            out.push(code);
        }
        i += step;
    }
    if out.len() > 2 && out.last() == Some(&b'h') {
        out.pop();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Legal-form phrases by their first word: (phrase words, canonical), longest first.
type LegalFormTable = FxHashMap<&'static str, Vec<(Vec<&'static str>, &'static str)>>;

fn legal_form_table() -> &'static LegalFormTable {
    static TABLE: OnceLock<LegalFormTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: LegalFormTable = FxHashMap::default();
        for (canon, phrases) in LEGAL_FORMS {
            for p in *phrases {
                let words: Vec<&'static str> = p.split(' ').collect();
                t.entry(words[0]).or_default().push((words, canon));
            }
        }
        for v in t.values_mut() {
            v.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        }
        t
    })
}

fn legal_form_single(word: &str) -> Option<(&'static str, usize)> {
    legal_form_table()
        .get(word)
        .and_then(|v| v.iter().find(|(w, _)| w.len() == 1))
        .map(|(_, c)| (*c, 1))
}

/// The longest legal-form phrase starting at word `i`, as (canonical, words used).
fn legal_form_at(words: &[String], i: usize) -> Option<(&'static str, usize)> {
    let first = words.get(i)?;
    let candidates = legal_form_table().get(first.as_str())?;
    candidates
        .iter()
        .find(|(p, _)| i + p.len() <= words.len() && p.iter().zip(&words[i..]).all(|(a, b)| a == b))
        .map(|(p, c)| (*c, p.len()))
}

/// The canonical spelling of a given name's transliteration variants (`mohammed` ->
/// `muhammad`), if the word is a known variant or the canonical spelling itself.
pub fn canonical_given_name(w: &str) -> Option<&'static str> {
    static TABLE: OnceLock<FxHashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let mut t = FxHashMap::default();
            for (canon, variants) in GIVEN_NAME_VARIANTS {
                t.insert(*canon, *canon);
                for v in *variants {
                    t.insert(*v, *canon);
                }
            }
            t
        })
        .get(w)
        .copied()
}

/// A phonetic key for transliteration variants that the variant table does not list:
/// the first letter, then consonant classes with vowels dropped and repeats collapsed
/// (`aleksandr` and `alexander` both give `alksntr`; `hussein` and `husayn` give `hsn`).
pub fn phonetic_key(word: &str) -> String {
    let b = word.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let mut last: u8 = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied().unwrap_or(0);
        let (code, step): (u8, usize) = match (c, next) {
            (b'p', b'h') => (b'f', 2),
            (b'k', b'h') | (b'g', b'h') => (b'h', 2),
            (b't', b'h') => (b't', 2),
            (b's', b'h') | (b'c', b'h') | (b'z', b'h') => (b's', 2),
            (b'd', b'j') | (b'd', b'z') => (b'j', 2),
            (b'c', b'k') => (b'k', 2),
            (b'x', _) => {
                if out.is_empty() {
                    (b's', 1)
                } else {
                    if last != b'k' {
                        out.push('k');
                    }
                    last = b'k';
                    (b's', 1)
                }
            }
            (b'q', _) | (b'c', _) => (b'k', 1),
            (b'z', _) => (b's', 1),
            (b'w', _) => (b'v', 1),
            (b'j', _) => (b'j', 1),
            (b'd', _) => (b't', 1),
            (b'b', _) => (b'p', 1),
            (b'g', _) => (b'k', 1),
            (b'y', _) | (b'a', _) | (b'e', _) | (b'i', _) | (b'o', _) | (b'u', _) => (b'a', 1),
            (b'h', _) => (b'h', 1),
            _ => (c, 1),
        };
        if code == b'a' {
            if out.is_empty() {
                // Initial vowels form one class (Omar / Umar, Iosif / Yosif).
                out.push('a');
            }
            // vowels are dropped after the first letter, but break repeats (no collapse across a vowel
            // is wanted for "mhmd", so keep `last` unchanged)
        } else if code == b'h' && !out.is_empty() {
            // An h after the first letter, lone or in kh/gh, is mostly silent or dropped in
            // romanisations (Mohammed / Muhammad, Mukhammad / Muhammad, Mikhail / Mihail):
            // the Kh/H variation of Russian and Arabic names.
        } else if code != last || out.is_empty() {
            out.push(code as char);
            last = code;
        }
        i += step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn legal_forms_are_canonical_and_weak() {
        assert_eq!(texts("ACME L.L.C."), vec!["acme", "llc"]);
        assert_eq!(texts("Acme Limited Liability Company"), vec!["acme", "llc"]);
        assert_eq!(texts("OOO Acme"), vec!["llc", "acme"]);
        assert_eq!(
            texts("ANGLO-CARIBBEAN CO., LTD."),
            vec!["anglo", "caribbean", "ltd"]
        );
        assert_eq!(texts("Grupo S.A. de C.V."), vec!["grupo", "sadecv"]);
        assert_eq!(texts("Petronas Sdn. Bhd."), vec!["petronas", "sdnbhd"]);
        assert!(tokens("ACME GmbH")
            .iter()
            .any(|t| t.kind == TokenKind::LegalForm));
    }

    #[test]
    fn punctuation_accents_apostrophes_digits() {
        assert_eq!(texts("MA'TUQ, Yusuf"), vec!["matuq", "yusuf"]);
        assert_eq!(texts("GARCÍA MUÑOZ"), vec!["garcia", "munoz"]);
        assert_eq!(texts("11420 CORP."), vec!["11420", "corp"]);
        assert_eq!(
            texts("HOSHIKAZE MARU NO.8"),
            vec!["hoshikaze", "maru", "no", "8"]
        );
        assert_eq!(texts("ＡＢＣ"), vec!["abc"]);
        assert_eq!(texts("Владимир Путин"), vec!["vladimir", "putin"]);
    }

    #[test]
    fn given_name_variants() {
        assert_eq!(
            canonical_given_name("mohammed"),
            canonical_given_name("muhammad")
        );
        assert_eq!(phonetic_key("aleksandr"), phonetic_key("alexander"));
        assert_eq!(phonetic_key("hussein"), phonetic_key("husayn"));
        assert_eq!(phonetic_key("qaddafi"), phonetic_key("gaddafi"));
        assert_eq!(phonetic_key("omar"), phonetic_key("umar"));
    }

    #[test]
    fn cyrillic_as_ofac_romanises_it() {
        // The same given-name group and phonetic key as the romanised spelling.
        let cyr = texts("Мухаммад");
        assert_eq!(cyr, vec!["mukhammad"]);
        assert_eq!(
            canonical_given_name(&cyr[0]),
            canonical_given_name("muhammad")
        );
        assert_eq!(phonetic_key(&cyr[0]), phonetic_key("muhammad"));
        assert_eq!(texts("Юрий Щербаков"), vec!["yuriy", "shcherbakov"]);
        assert_eq!(texts("ЦОЙ Виктор"), vec!["tsoy", "viktor"]);
        // Soft and hard signs are dropped (Ильич = ILICH).
        assert_eq!(texts("Ильич"), vec!["ilich"]);
        // Ukrainian words read г as h and и as y; є is ye.
        assert_eq!(texts("Григорій"), vec!["hryhoriy"]);
        assert_eq!(texts("Євген"), vec!["yevhen"]);
        // Russian г stays g.
        assert_eq!(texts("Георгий"), vec!["georgiy"]);
        // Legal forms written in Cyrillic are still legal forms.
        assert_eq!(texts("ООО Ромашка"), vec!["llc", "romashka"]);
    }

    #[test]
    fn arabic_script_gives_consonant_skeletons() {
        let t = tokens("محمد حسين");
        assert_eq!(
            t.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            vec!["mhmd", "hsyn"]
        );
        assert!(t.iter().all(|t| t.skeletal));
        assert_eq!(consonant_skeleton("mhmd"), consonant_skeleton("muhammad"));
        assert_eq!(consonant_skeleton("mhmd"), consonant_skeleton("mohamed"));
        assert_eq!(consonant_skeleton("hsyn"), consonant_skeleton("hussein"));
        assert_eq!(consonant_skeleton("hsyn"), consonant_skeleton("husayn"));
        assert_eq!(consonant_skeleton("khld"), consonant_skeleton("khalid"));
        // Dropping the semivowels costs some distinctions (Husayn and Hasan share `hsn`):
        // the rest of the name and the weight of the pair (0.9, not 1) carry them.
        assert_ne!(consonant_skeleton("hsyn"), consonant_skeleton("husam"));
        // The joined article is split off as a particle; a word-initial ayn or alif is kept as
        // a vowel, so that عبد meets the `abd` group.
        let t = tokens("عبد الرحمن");
        assert_eq!(
            t.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            vec!["abd", "al", "rhmn"]
        );
        assert_eq!(t[1].kind, TokenKind::Particle);
        assert!(!t[1].skeletal);
        assert_eq!(consonant_skeleton("rhmn"), consonant_skeleton("rahman"));
        // Latin text is never skeletal.
        assert!(tokens("MHMD HSN").iter().all(|t| !t.skeletal));
    }

    #[test]
    fn vessel_prefixes_are_dropped_before_a_name() {
        assert_eq!(texts("M/V CARIBE"), vec!["caribe"]);
        assert_eq!(texts("M.T. GREEN LIGHT"), vec!["green", "light"]);
        assert_eq!(texts("MV NOOR 1"), vec!["noor", "1"]);
        // Alone, the word is the name.
        assert_eq!(texts("MV"), vec!["mv"]);
        assert_eq!(texts("M V MV X"), vec!["x"]);
    }

    #[test]
    fn idempotent_examples() {
        for s in [
            "ANGLO-CARIBBEAN CO., LTD.",
            "AL ZAWAHIRI, Dr. Ayman",
            "S.A. DE C.V. GRUPO",
            "Obshchestvo s Ogranichennoi Otvetstvennostyu ROMASHKA",
            "Григорій Щербаков",
            "عبد الرحمن محمد",
            "M/V CARIBE",
            "M V M V MV",
        ] {
            let once = normalized(s);
            assert_eq!(normalized(&once), once, "{s}");
        }
    }
}
