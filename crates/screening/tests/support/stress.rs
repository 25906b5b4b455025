//! A deterministic *stress set* for the name matcher: harder query families than the public
//! evaluation set, built from the listed entities themselves (never from evaluation rows).
//!
//! Shared by the integration tests (`tests/screening.rs`, a recall floor on a small bundled
//! list) and the measurement example (`examples/stress.rs`, figures for BENCHMARKS.md).
//!
//! Every positive query is made from one listed name of one entity; a hit is correct when it
//! is an entity that lists a name with the same order-free normalised key as that source name
//! (the same party listed twice, as `ofac-sdn:N` and `csl:N`, counts either way). A query whose
//! normalised key is another entity's name is dropped. Negatives are checked against every
//! listed name with a loose key (tokens reduced to their given-name variant group or phonetic
//! key, legal forms and particles ignored): a negative whose loose words equal a listed name's,
//! or lie all inside one, or contain one of 2+ words, is dropped.

use std::collections::{HashMap, HashSet};

use stackport_screening::normalize::{canonical_given_name, phonetic_key, tokens, TokenKind};
use stackport_screening::{Entity, PartyType, Query, Screener, Snapshot};

/// One stress query.
pub struct StressQuery {
    pub family: &'static str,
    pub name: String,
    /// Accepted entity ids; empty for a negative.
    pub accepted: Vec<String>,
}

/// Positive families, then negative ones (negatives start with `neg_`).
pub const FAMILIES: &[&str] = &[
    "typo2",
    "translit",
    "cyrillic",
    "arabic_script",
    "initials",
    "merge_split",
    "company_word",
    "and_amp",
    "vessel_prefix",
    "reorder_typo",
    "legal_format",
    "neg_arabic_given",
    "neg_cyrillic",
    "neg_initials",
    "neg_generic_company",
    // Added with stackport-match/1.3 (after the others, so that their queries stay the same).
    "pinyin_split",
    "mixed_script",
    "greek_script",
    "neg_hanzi",
];

/// The families added with stackport-match/1.3 (scripts and transliterations), measured apart
/// from the older ones so that the older floors keep their meaning.
pub const FAMILIES_1_3: &[&str] = &["pinyin_split", "mixed_script", "greek_script", "neg_hanzi"];

/// Countries whose people's names the lists write in Pinyin, Wade–Giles or Hong Kong spelling.
const CHINESE_COUNTRIES: &[&str] = &["CN", "HK", "TW", "MO"];

/// Common Chinese surnames and given-name characters with their Pinyin, for negatives built of
/// the syllables that unrelated people share.
const HANZI_SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
];
const HANZI_GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("明", "ming"),
    ("华", "hua"),
    ("军", "jun"),
    ("平", "ping"),
    ("强", "qiang"),
    ("建", "jian"),
    ("国", "guo"),
    ("文", "wen"),
    ("海", "hai"),
    ("芳", "fang"),
    ("玲", "ling"),
];

/// SplitMix64 (Steele, Lea, Flood 2014): a small, seedable generator so that the set is the
/// same on every machine without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// Countries whose people are usually listed with romanised Cyrillic names.
const CYRILLIC_COUNTRIES: &[&str] = &["RU", "UA", "BY", "KZ", "KG", "TJ", "UZ", "MD", "AM", "AZ"];
/// Countries whose people's names are usually written in Arabic script.
const ARABIC_COUNTRIES: &[&str] = &[
    "IQ", "SY", "LB", "YE", "SA", "AE", "JO", "EG", "LY", "SD", "PS", "KW", "QA", "BH", "OM", "DZ",
    "MA", "TN", "IR", "AF", "MR",
];

const QWERTY: &[&str] = &["qwertyuiop", "asdfghjkl", "zxcvbnm"];

fn neighbour(c: u8, rng: &mut Rng) -> u8 {
    for (r, row) in QWERTY.iter().enumerate() {
        if let Some(i) = row.bytes().position(|b| b == c) {
            let mut opts: Vec<u8> = Vec::new();
            let row_b = row.as_bytes();
            if i > 0 {
                opts.push(row_b[i - 1]);
            }
            if i + 1 < row_b.len() {
                opts.push(row_b[i + 1]);
            }
            for other in [r.wrapping_sub(1), r + 1] {
                if let Some(o) = QWERTY.get(other) {
                    if let Some(&b) = o.as_bytes().get(i) {
                        opts.push(b);
                    }
                }
            }
            return *rng.pick(&opts);
        }
    }
    c
}

/// One realistic typing error, never on the first letter, in a lower-case ASCII word.
fn typo(w: &str, rng: &mut Rng) -> String {
    let mut b = w.as_bytes().to_vec();
    let i = 1 + rng.below(b.len() - 1);
    match rng.below(4) {
        0 => b[i] = neighbour(b[i], rng),
        1 => {
            b.remove(i);
        }
        2 => b.insert(i, b[i]),
        _ => {
            if i + 1 < b.len() {
                b.swap(i, i + 1);
            } else {
                b.swap(i - 1, i);
                if i - 1 == 0 {
                    b.swap(i - 1, i);
                    b[i] = neighbour(b[i], rng);
                }
            }
        }
    }
    String::from_utf8(b).expect("ascii")
}

/// A word that carries identity (not a legal form, particle or number), letters only.
fn distinctive(w: &str) -> bool {
    w.bytes().all(|b| b.is_ascii_alphabetic())
        && matches!(tokens(w).as_slice(), [t] if t.kind == TokenKind::Word)
}

fn is_person(e: &Entity) -> bool {
    e.party_type == Some(PartyType::Individual)
}

fn is_company(e: &Entity) -> bool {
    matches!(e.party_type, Some(PartyType::Entity) | None) && !e.name.contains(',')
}

fn upper_words(name: &str) -> Vec<String> {
    name.split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect()
}

/// `SURNAME, Given Middle` or `Given Middle SURNAME` into (given names, surname words).
fn person_parts(name: &str) -> Option<(Vec<String>, Vec<String>)> {
    if !name.is_ascii() {
        return None;
    }
    let clean = |s: &str| -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || c == '-')
            .map(|w| {
                w.trim_matches(|c: char| !c.is_ascii_alphabetic())
                    .to_ascii_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (given, surname) = match name.split_once(',') {
        Some((s, g)) => (clean(g), clean(s)),
        None => {
            let mut w = clean(name);
            let last = w.pop()?;
            (w, vec![last])
        }
    };
    if given.is_empty() || surname.is_empty() {
        return None;
    }
    Some((given, surname))
}

/// Transliteration rewrites a romanisation may differ by (BGN/PCGN vs ICAO vs French or
/// English habits for Russian; the many romanisations of Arabic and Persian names).
fn translit_variant(w: &str, rng: &mut Rng) -> Option<String> {
    const RULES: &[(&str, &str)] = &[
        ("ov", "off"),
        ("ev", "eff"),
        ("iy", "ii"),
        ("iy", "y"),
        ("ii", "iy"),
        ("yy", "iy"),
        ("kh", "h"),
        ("q", "k"),
        ("ou", "u"),
        ("u", "ou"),
        ("ei", "ey"),
        ("ey", "ei"),
        ("dzh", "j"),
        ("dz", "j"),
        ("j", "dj"),
        ("ks", "x"),
        ("x", "ks"),
        ("ya", "ia"),
        ("yu", "iu"),
        ("ye", "e"),
        ("ee", "i"),
        ("oo", "u"),
        ("mo", "mu"),
        ("mu", "mo"),
        ("ph", "f"),
        ("w", "v"),
        ("ss", "s"),
        ("mm", "m"),
        ("dd", "d"),
        ("e", "a"),
        ("a", "e"),
        ("o", "u"),
    ];
    let mut applicable: Vec<(usize, &str, &str)> = Vec::new();
    for (from, to) in RULES {
        // Suffix rules apply at the end only; others anywhere but the first letter for the
        // single-vowel swaps (an initial vowel change is a different kind of variant).
        let ends = matches!(*from, "ov" | "ev" | "iy" | "ii" | "yy");
        if ends {
            if w.ends_with(from) && w.len() > from.len() + 2 {
                applicable.push((w.len() - from.len(), from, to));
            }
        } else if let Some(p) = w[1.min(w.len())..].find(from) {
            applicable.push((p + 1, from, to));
        }
    }
    if applicable.is_empty() {
        return None;
    }
    let (p, from, to) = *rng.pick(&applicable);
    Some(format!("{}{}{}", &w[..p], to, &w[p + from.len()..]))
}

/// Romanised Russian/Ukrainian (BGN/PCGN-like, as OFAC writes them) back to Cyrillic.
fn to_cyrillic(w: &str, ukrainian: bool) -> String {
    const MULTI: &[(&str, &str)] = &[
        ("shch", "щ"),
        ("kh", "х"),
        ("zh", "ж"),
        ("ts", "ц"),
        ("ch", "ч"),
        ("sh", "ш"),
        ("yu", "ю"),
        ("ya", "я"),
        ("yo", "ё"),
        ("iy", "ий"),
        ("yy", "ый"),
    ];
    // A final -y after a consonant is -ий (Yury = Юрий, Dmitry = Дмитрий).
    if w.len() > 2 && w.ends_with('y') && !b"aeiouy".contains(&w.as_bytes()[w.len() - 2]) {
        return format!("{}ИЙ", to_cyrillic(&w[..w.len() - 1], ukrainian));
    }
    let mut out = String::new();
    let mut i = 0;
    let b = w.as_bytes();
    'outer: while i < b.len() {
        for (from, to) in MULTI {
            if w[i..].starts_with(from) {
                out.push_str(to);
                i += from.len();
                continue 'outer;
            }
        }
        let prev_vowel = i == 0 || b"aeiouy".contains(&b[i - 1]);
        let c = match b[i] {
            b'a' => "а",
            b'b' => "б",
            b'v' => "в",
            b'g' => {
                if ukrainian {
                    "ґ"
                } else {
                    "г"
                }
            }
            b'h' => {
                if ukrainian {
                    "г"
                } else {
                    "х"
                }
            }
            b'd' => "д",
            b'e' => {
                if i == 0 && !ukrainian {
                    "е"
                } else if i == 0 {
                    "є"
                } else {
                    "е"
                }
            }
            b'z' => "з",
            b'i' => {
                if ukrainian {
                    "і"
                } else {
                    "и"
                }
            }
            b'y' => {
                if ukrainian && !prev_vowel {
                    "и"
                } else if prev_vowel {
                    "й"
                } else {
                    "ы"
                }
            }
            b'k' => "к",
            b'l' => "л",
            b'm' => "м",
            b'n' => "н",
            b'o' => "о",
            b'p' => "п",
            b'r' => "р",
            b's' => "с",
            b't' => "т",
            b'u' => "у",
            b'f' => "ф",
            b'c' => "к",
            b'x' => "кс",
            b'w' => "в",
            b'j' => "дж",
            b'q' => "к",
            _ => "",
        };
        out.push_str(c);
        i += 1;
    }
    out.to_uppercase()
}

/// Romanised Arabic back to Arabic script the way it is usually written: consonants, long
/// vowels (doubled or diphthong spellings) as letters, short vowels left out, the article
/// joined to its word.
/// A romanised name written back in Greek letters, ELOT 743 read in reverse (`th` θ, `ch`
/// and `kh` χ, `ps` ψ, `ou` and `u` ου, `v` β, `b` μπ, `d` δ, `y` υ, final `s` ς).
fn to_greek(w: &str) -> String {
    const MULTI: &[(&str, &str)] = &[
        ("th", "θ"),
        ("ch", "χ"),
        ("kh", "χ"),
        ("ps", "ψ"),
        ("ou", "ου"),
        ("ks", "ξ"),
        ("sh", "σ"),
        ("zh", "ζ"),
        ("ts", "τσ"),
    ];
    let w = w.to_ascii_lowercase();
    let b = w.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    'outer: while i < b.len() {
        for (l, g) in MULTI {
            if w[i..].starts_with(l) {
                out.push_str(g);
                i += l.len();
                continue 'outer;
            }
        }
        let last = i + 1 == b.len();
        out.push_str(match b[i] {
            b'a' => "α",
            b'b' => "μπ",
            b'c' | b'k' | b'q' => "κ",
            b'd' => "δ",
            b'e' => "ε",
            b'f' => "φ",
            b'g' => "γ",
            b'h' => "χ",
            b'i' | b'j' => "ι",
            b'l' => "λ",
            b'm' => "μ",
            b'n' => "ν",
            b'o' => "ο",
            b'p' => "π",
            b'r' => "ρ",
            b's' if last => "ς",
            b's' => "σ",
            b't' => "τ",
            b'u' => "ου",
            b'v' | b'w' => "β",
            b'x' => "ξ",
            b'y' => "υ",
            b'z' => "ζ",
            _ => "",
        });
        i += 1;
    }
    out
}

fn to_arabic(words: &[String]) -> String {
    const MULTI: &[(&str, &str)] = &[
        ("sh", "ش"),
        ("kh", "خ"),
        ("th", "ث"),
        ("dh", "ذ"),
        ("gh", "غ"),
        ("ou", "و"),
        ("oo", "و"),
        ("uu", "و"),
        ("ee", "ي"),
        ("ii", "ي"),
        ("ei", "ي"),
        ("ai", "ي"),
        ("ay", "ي"),
        ("aa", "ا"),
    ];
    let mut out: Vec<String> = Vec::new();
    let mut article = false;
    for w in words {
        if w == "al" || w == "el" {
            article = true;
            continue;
        }
        let b = w.as_bytes();
        let mut s = String::new();
        if article {
            s.push_str("ال");
            article = false;
        }
        let mut i = 0;
        'outer: while i < b.len() {
            for (from, to) in MULTI {
                if w[i..].starts_with(from) {
                    s.push_str(to);
                    i += from.len();
                    continue 'outer;
                }
            }
            let last = i + 1 == b.len();
            let c = match b[i] {
                b'a' | b'e' if i == 0 => "ا",
                b'i' if i == 0 => "إ",
                b'o' | b'u' if i == 0 => "ا",
                b'a' if last => "ة",
                b'i' | b'e' if last => "ي",
                b'o' | b'u' if last => "و",
                b'a' | b'e' | b'i' | b'o' | b'u' => "",
                b'b' | b'p' => "ب",
                b't' => "ت",
                b'j' | b'g' => "ج",
                b'h' => {
                    if last {
                        "ه"
                    } else {
                        "ح"
                    }
                }
                b'd' => "د",
                b'r' => "ر",
                b'z' => "ز",
                b's' | b'c' => "س",
                b'f' | b'v' => "ف",
                b'q' => "ق",
                b'k' => "ك",
                b'l' => "ل",
                b'm' => "م",
                b'n' => "ن",
                b'w' => "و",
                b'y' => "ي",
                b'x' => "كس",
                _ => "",
            };
            s.push_str(c);
            i += 1;
        }
        if !s.is_empty() {
            out.push(s);
        }
    }
    out.join(" ")
}

const GENERIC_COMPANY_WORDS: &[&str] = &[
    "GROUP",
    "INTERNATIONAL",
    "TRADING",
    "HOLDING",
    "HOLDINGS",
    "INDUSTRIES",
    "ENTERPRISES",
    "SERVICES",
    "GLOBAL",
];

const VESSEL_PREFIXES: &[&str] = &["M/V", "MV", "M.V.", "MT", "M/T", "M.T."];

/// Other spellings of common legal forms, by the listed spelling (upper case, as written).
const LEGAL_SPELLINGS: &[(&str, &[&str])] = &[
    ("LLC", &["L.L.C.", "Limited Liability Company", "LLC."]),
    ("LTD", &["Limited", "Ltd."]),
    ("LTD.", &["Limited", "LTD"]),
    ("LIMITED", &["Ltd.", "LTD"]),
    ("CO.,", &["Company", "Co"]),
    ("CO.", &["Company", "Co"]),
    ("INC.", &["Incorporated", "Inc"]),
    ("INC", &["Incorporated", "Inc."]),
    ("CORP.", &["Corporation", "Corp"]),
    ("CORPORATION", &["Corp.", "CORP"]),
    ("JSC", &["Joint Stock Company", "AO"]),
    ("OJSC", &["Open Joint Stock Company", "OAO"]),
    ("CJSC", &["Closed Joint Stock Company", "ZAO"]),
    ("PJSC", &["Public Joint Stock Company", "PAO"]),
    ("OOO", &["LLC", "Limited Liability Company"]),
    ("S.A.", &["SA", "Sociedad Anonima"]),
    ("SA", &["S.A.", "Sociedad Anonima"]),
    ("GMBH", &["GmbH", "G.m.b.H."]),
    ("FZE", &["F.Z.E.", "Free Zone Establishment"]),
    ("PLC", &["P.L.C.", "Public Limited Company"]),
];

const ARABIC_GIVEN: &[&str] = &[
    "MOHAMMED",
    "MUHAMMAD",
    "MOHAMAD",
    "AHMED",
    "AHMAD",
    "ALI",
    "HASSAN",
    "HUSSEIN",
    "OMAR",
    "KHALED",
    "KHALID",
    "YOUSEF",
    "YUSUF",
    "IBRAHIM",
    "ABDULLAH",
    "MAHMOUD",
    "MUSTAFA",
    "SAEED",
    "ABDUL RAHMAN",
    "ABD AL AZIZ",
    "HAMZA",
    "TARIQ",
    "SALEH",
    "FAISAL",
    "NASSER",
    "JAMAL",
    "KARIM",
    "WALID",
    "ZIAD",
    "SAMI",
    "BILAL",
    "ADNAN",
    "MAJID",
    "RAMI",
    "FATIMA",
    "AISHA",
    "MARYAM",
    "ZAINAB",
    "LAYLA",
    "NOUR",
];

const ARABIC_SURNAMES: &[&str] = &[
    "HADDAD", "KHOURY", "NASSAR", "AZIZ", "SABBAGH", "HAMDAN", "QASSEM", "ODEH", "BARAKAT",
    "DARWISH", "SHAMI", "HALABI", "MASRI", "TAHAN", "KHATIB", "NAJJAR", "SAWAF", "ATTAR",
    "SULEIMAN", "RAHAL", "ZAYED", "MANSOUR", "FARAH", "HAIDAR", "JABER", "AMIN", "BAKRI",
    "SALAMEH", "YASIN", "ISSA", "ABBAS", "HILAL", "SHAHIN", "TAWIL", "HOMSI", "BITAR",
];

const RUSSIAN_GIVEN: &[&str] = &[
    "ivan",
    "sergei",
    "andrei",
    "dmitry",
    "aleksei",
    "nikolai",
    "mikhail",
    "pavel",
    "oleg",
    "igor",
    "yuri",
    "vladimir",
    "maksim",
    "artem",
    "kirill",
    "roman",
    "anton",
    "denis",
    "olga",
    "tatyana",
    "elena",
    "natalya",
    "irina",
    "svetlana",
    "anna",
    "maria",
    "yekaterina",
];

const RUSSIAN_SURNAMES: &[&str] = &[
    "smirnov",
    "kuznetsov",
    "popov",
    "vasiliev",
    "sokolov",
    "novikov",
    "morozov",
    "volkov",
    "lebedev",
    "semenov",
    "yegorov",
    "kozlov",
    "stepanov",
    "orlov",
    "andreev",
    "makarov",
    "nikitin",
    "zakharov",
    "zaitsev",
    "solovyov",
    "borisov",
    "yakovlev",
    "grigoriev",
    "romanov",
    "vorobyov",
    "sergeev",
    "kuzmin",
    "frolov",
    "aleksandrov",
    "dmitriev",
    "korolev",
    "gusev",
    "kiselev",
    "ilyin",
    "maksimov",
    "polyakov",
    "sorokin",
    "vinogradov",
    "kovalev",
    "belov",
    "medvedev",
    "antonov",
    "tarasov",
    "zhukov",
    "baranov",
    "filippov",
    "komarov",
    "davydov",
    "belyaev",
    "gerasimov",
    "bogdanov",
    "osipov",
    "sidorov",
    "matveev",
    "titov",
    "markov",
    "mironov",
    "krylov",
    "kulikov",
    "karpov",
    "vlasov",
    "melnikov",
    "denisov",
    "gavrilov",
    "tikhonov",
    "kazakov",
    "afanasiev",
    "danilov",
    "savelyev",
    "timofeev",
    "fomin",
    "chernov",
];

/// The order-free key of a name for labels: lower case, every non-alphanumeric character a
/// break, words sorted. Deliberately simpler than the matcher's normalisation, so that the set
/// does not change when the matcher does.
fn plain_key(raw: &str) -> String {
    let lower = raw.to_lowercase();
    let mut w: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    w.sort_unstable();
    w.join(" ")
}

/// The loose key of a word: its given-name group, else its phonetic key.
fn loose(w: &str) -> String {
    canonical_given_name(w)
        .map(str::to_string)
        .unwrap_or_else(|| phonetic_key(w))
}

fn loose_words(raw: &str) -> Vec<String> {
    let mut v: Vec<String> = tokens(raw)
        .into_iter()
        .filter(|t| !t.kind.is_weak())
        .map(|t| loose(&t.text))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The listed names, for label checks.
struct Names {
    /// Order-free normalised key -> entity ids that list a name with that key.
    by_key: HashMap<String, Vec<String>>,
    /// Loose word sets of every listed name.
    loose: Vec<Vec<String>>,
    /// Loose word -> indexes into `loose`.
    by_loose: HashMap<String, Vec<usize>>,
    /// (surname, first initial) of listed persons, for initials labels.
    initials: HashMap<(String, u8), usize>,
}

impl Names {
    fn new(snapshot: &Snapshot) -> Self {
        let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
        let mut loose_sets = Vec::new();
        let mut by_loose: HashMap<String, Vec<usize>> = HashMap::new();
        let mut initials: HashMap<(String, u8), usize> = HashMap::new();
        for e in &snapshot.entities {
            for n in std::iter::once(&e.name).chain(e.aliases.iter().map(|a| &a.name)) {
                let ids = by_key.entry(plain_key(n)).or_default();
                if !ids.contains(&e.id) {
                    ids.push(e.id.clone());
                }
                let l = loose_words(n);
                for w in &l {
                    by_loose
                        .entry(w.clone())
                        .or_default()
                        .push(loose_sets.len());
                }
                loose_sets.push(l);
                if is_person(e) {
                    if let Some((given, surname)) = person_parts(n) {
                        for g in &given {
                            *initials
                                .entry((surname.join(" "), g.as_bytes()[0]))
                                .or_default() += 1;
                        }
                    }
                }
            }
        }
        Names {
            by_key,
            loose: loose_sets,
            by_loose,
            initials,
        }
    }

    /// A positive query made from `source` (a name of `entity`) is fair when its key is no
    /// other entity's name.
    fn accepted(&self, source: &str, query: &str) -> Option<Vec<String>> {
        let accepted = self.by_key.get(&plain_key(source))?.clone();
        if let Some(other) = self.by_key.get(&plain_key(query)) {
            if other.iter().any(|id| !accepted.contains(id)) {
                return None;
            }
        }
        Some(accepted)
    }

    /// A negative is fair when no listed name equals it loosely, lies inside it (2+ words)
    /// or contains all of its words.
    fn clean_negative(&self, query: &str) -> bool {
        if self.by_key.contains_key(&plain_key(query)) {
            return false;
        }
        let q = loose_words(query);
        if q.is_empty() {
            return false;
        }
        let mut seen = HashSet::new();
        for w in &q {
            for &n in self.by_loose.get(w).map(Vec::as_slice).unwrap_or(&[]) {
                if !seen.insert(n) {
                    continue;
                }
                let l = &self.loose[n];
                let q_in_l = q.iter().all(|x| l.contains(x));
                let l_in_q = l.len() >= 2 && l.iter().all(|x| q.contains(x));
                if q_in_l || l_in_q {
                    return false;
                }
            }
        }
        true
    }
}

fn title(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(|x| x.to_lowercase()))
            .collect(),
        None => String::new(),
    }
}

/// Builds up to `per_family` queries of every family from the entities of `snapshot`.
pub fn generate(snapshot: &Snapshot, seed: u64, per_family: usize) -> Vec<StressQuery> {
    let names = Names::new(snapshot);
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let ents: Vec<&Entity> = snapshot.entities.iter().collect();
    for &family in FAMILIES {
        let mut made = 0;
        let mut used: HashSet<String> = HashSet::new();
        // Each family walks the entities in its own shuffled order.
        let mut order: Vec<usize> = (0..ents.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let attempts = if family.starts_with("neg_") {
            per_family * 40
        } else {
            order.len()
        };
        for k in 0..attempts {
            if made >= per_family {
                break;
            }
            let e = ents[order[k % order.len().max(1)]];
            let made_query = if family.starts_with("neg_") {
                negative(family, e, &ents, &names, &mut rng)
                    .filter(|(latin, _)| names.clean_negative(latin))
                    .map(|(_, q)| (q, Vec::new()))
            } else {
                positive(family, e, &names, &mut rng)
                    .and_then(|(src, q)| names.accepted(&src, &q).map(|a| (q, a)))
            };
            if let Some((name, accepted)) = made_query {
                if used.insert(name.clone()) {
                    out.push(StressQuery {
                        family,
                        name,
                        accepted,
                    });
                    made += 1;
                }
            }
        }
    }
    out
}

/// One positive query of `family` from entity `e`: (source name, query).
fn positive(family: &str, e: &Entity, names: &Names, rng: &mut Rng) -> Option<(String, String)> {
    let src = e.name.clone();
    let words = upper_words(&src);
    let q = match family {
        "typo2" => {
            let idx: Vec<usize> = (0..words.len())
                .filter(|&i| words[i].len() >= 5 && distinctive(&words[i]))
                .collect();
            if idx.len() < 2 {
                return None;
            }
            let a = *rng.pick(&idx);
            let b = *rng.pick(&idx);
            if a == b {
                return None;
            }
            let mut w = words.clone();
            for i in [a, b] {
                w[i] = typo(&w[i].to_ascii_lowercase(), rng).to_ascii_uppercase();
            }
            w.join(" ")
        }
        "translit" => {
            if !is_person(e) {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let mut all: Vec<String> = given.iter().chain(&surname).cloned().collect();
            let idx: Vec<usize> = (0..all.len())
                .filter(|&i| all[i].len() >= 4 && distinctive(&all[i]))
                .collect();
            if idx.is_empty() {
                return None;
            }
            let mut changed = 0;
            for _ in 0..(1 + rng.below(2)) {
                let i = *rng.pick(&idx);
                if let Some(v) = translit_variant(&all[i], rng) {
                    all[i] = v;
                    changed += 1;
                }
            }
            if changed == 0 {
                return None;
            }
            all.join(" ").to_ascii_uppercase()
        }
        "cyrillic" => {
            let slavic = e
                .countries
                .iter()
                .any(|c| CYRILLIC_COUNTRIES.contains(&c.as_str()));
            // People only: company names on the lists are often English or Russian written
            // in English words, which nobody writes in Cyrillic letter by letter.
            if !slavic || !src.is_ascii() || !is_person(e) {
                return None;
            }
            let ukrainian = e.countries.iter().any(|c| c == "UA");
            let (given, surname) = person_parts(&src)?;
            let all: Vec<String> = given
                .iter()
                .chain(&surname)
                .flat_map(|w| w.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .map(|w| {
                    let w: String = w.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                    to_cyrillic(&w, ukrainian)
                })
                .filter(|w| !w.is_empty())
                .collect();
            all.join(" ")
        }
        "arabic_script" => {
            let arab = e
                .countries
                .iter()
                .any(|c| ARABIC_COUNTRIES.contains(&c.as_str()));
            if !arab || !is_person(e) {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let all: Vec<String> = given.iter().chain(&surname).cloned().collect();
            to_arabic(&all)
        }
        "initials" => {
            if !is_person(e) {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let sname = surname.join(" ");
            // Another listed person with this surname and an initial in common would make
            // the query ambiguous.
            if given
                .iter()
                .any(|g| names.initials.get(&(sname.clone(), g.as_bytes()[0])) != Some(&1))
            {
                return None;
            }
            if given.iter().any(|g| g.len() < 3) {
                return None;
            }
            let init = |g: &String| format!("{}.", g[..1].to_ascii_uppercase());
            let given_part: Vec<String> = if given.len() >= 2 && rng.chance(0.6) {
                // First given name kept, the others initialised.
                std::iter::once(given[0].to_ascii_uppercase())
                    .chain(given[1..].iter().map(init))
                    .collect()
            } else if given.len() >= 2 || surname.iter().map(String::len).sum::<usize>() >= 6 {
                given.iter().map(init).collect()
            } else {
                return None;
            };
            format!("{} {}", given_part.join(" "), sname.to_ascii_uppercase())
        }
        "merge_split" => {
            let mut w = words.clone();
            let idx: Vec<usize> = (0..w.len().saturating_sub(1))
                .filter(|&i| distinctive(&w[i]) && distinctive(&w[i + 1]))
                .filter(|&i| w[i].len() >= 3 && w[i + 1].len() >= 3)
                .collect();
            let long: Vec<usize> = (0..w.len())
                .filter(|&i| w[i].len() >= 8 && distinctive(&w[i]))
                .collect();
            if !idx.is_empty() && (long.is_empty() || rng.chance(0.5)) {
                let i = *rng.pick(&idx);
                let joined = format!("{}{}", w[i], w[i + 1]);
                w.splice(i..i + 2, [joined]);
            } else if !long.is_empty() {
                // Split at a syllable boundary: after a vowel (or n), before a consonant, with
                // three letters at least on each side.
                let i = *rng.pick(&long);
                let b = w[i].as_bytes();
                // Four letters at least on each side, the right part starting with a
                // consonant then a vowel (ABDUL|RAHMAN, XIAO|MING, ENERGO|MASH).
                let cuts: Vec<usize> = (4..b.len().saturating_sub(3))
                    .filter(|&k| {
                        b"AEIOUN".contains(&b[k - 1])
                            && !b"AEIOUY".contains(&b[k])
                            && b"AEIOUY".contains(&b[k + 1])
                    })
                    .collect();
                if cuts.is_empty() {
                    return None;
                }
                let k = *rng.pick(&cuts);
                let (l, r) = w[i].split_at(k);
                let (l, r) = (l.to_string(), r.to_string());
                w.splice(i..i + 1, [l, r]);
            } else {
                return None;
            }
            w.join(" ")
        }
        "company_word" => {
            if !is_company(e) {
                return None;
            }
            let strong = words.iter().filter(|w| distinctive(w)).count();
            if strong < 2 {
                return None;
            }
            let mut w = words.clone();
            if let Some(p) = w
                .iter()
                .position(|x| GENERIC_COMPANY_WORDS.contains(&x.trim_matches(',')))
            {
                w.remove(p);
            } else {
                // Before a trailing legal form, else at the end.
                let last_legal = w
                    .last()
                    .is_some_and(|x| tokens(x).iter().all(|t| t.kind == TokenKind::LegalForm));
                let at = if last_legal { w.len() - 1 } else { w.len() };
                w.insert(at, rng.pick(GENERIC_COMPANY_WORDS).to_string());
            }
            w.join(" ")
        }
        "and_amp" => {
            if !is_company(e) {
                return None;
            }
            let p = words.iter().position(|w| w == "AND" || w == "&")?;
            let mut w = words.clone();
            match (w[p].as_str(), rng.below(3)) {
                ("AND", 0) | ("AND", 1) => w[p] = "&".into(),
                ("&", 0) | ("&", 1) => w[p] = "AND".into(),
                (_, _) => w[p] = "+".into(),
            }
            w.join(" ")
        }
        "vessel_prefix" => {
            if e.party_type != Some(PartyType::Vessel) {
                return None;
            }
            let first = words.first()?;
            if VESSEL_PREFIXES.contains(&first.as_str()) {
                words[1..].join(" ")
            } else {
                format!("{} {}", rng.pick(VESSEL_PREFIXES), words.join(" "))
            }
        }
        "reorder_typo" => {
            if !is_person(e) {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let mut all: Vec<String> = given.iter().chain(&surname).cloned().collect();
            let idx: Vec<usize> = (0..all.len())
                .filter(|&i| all[i].len() >= 5 && distinctive(&all[i]))
                .collect();
            if idx.is_empty() || all.len() < 2 {
                return None;
            }
            let i = *rng.pick(&idx);
            all[i] = typo(&all[i], rng);
            if rng.chance(0.5) {
                let r = 1 + rng.below(all.len() - 1);
                all.rotate_left(r);
            }
            all.join(" ").to_ascii_uppercase()
        }
        "legal_format" => {
            if !is_company(e) {
                return None;
            }
            // A form word that is part of a longer form (LIMITED LIABILITY) is left alone.
            let p = (0..words.len()).find(|&i| {
                LEGAL_SPELLINGS.iter().any(|(l, _)| *l == words[i])
                    && !matches!(
                        words.get(i + 1).map(String::as_str),
                        Some("LIABILITY" | "PARTNERSHIP" | "DE" | "STOCK")
                    )
            })?;
            let (_, alts) = LEGAL_SPELLINGS.iter().find(|(l, _)| *l == words[p])?;
            let mut w = words.clone();
            w[p] = rng.pick(alts).to_string();
            let s = w.join(" ");
            let s: String = s
                .chars()
                .map(|c| if c == ',' || c == '-' { ' ' } else { c })
                .collect();
            if rng.chance(0.5) {
                s.split_whitespace()
                    .map(title)
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                s.to_lowercase()
            }
        }
        "pinyin_split" => {
            // A Chinese person's name as other records write it: given name split into
            // syllables, hyphenated, or written first (`LI Fangwei`: `LI Fang Wei`, `Fang-wei
            // LI`).
            let chinese = e
                .countries
                .iter()
                .any(|c| CHINESE_COUNTRIES.contains(&c.as_str()));
            if !chinese || !is_person(e) {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let [g] = &given[..] else { return None };
            let b = g.as_bytes();
            // A syllable boundary: an initial consonant followed by a vowel, after a vowel or
            // a final n / ng (`fang|wei`, `hai|lun`, `xiao|ming`; never inside `ng`, `zh`).
            let vowel = |c: u8| b"aeiouv".contains(&c);
            let cuts: Vec<usize> = (2..b.len().saturating_sub(1))
                .filter(|&k| {
                    let inside_digraph = (b[k] == b'g' && b[k - 1] == b'n')
                        || (b[k] == b'h' && b"zcs".contains(&b[k - 1]));
                    let after_syllable = vowel(b[k - 1])
                        || b[k - 1] == b'n'
                        || (b[k - 1] == b'g' && b[k - 2] == b'n');
                    !vowel(b[k]) && vowel(b[k + 1]) && !inside_digraph && after_syllable
                })
                .collect();
            if cuts.is_empty() {
                return None;
            }
            let k = *rng.pick(&cuts);
            let (l, r) = g.split_at(k);
            let sname = surname.join(" ").to_ascii_uppercase();
            let (l, r) = (l.to_ascii_uppercase(), r.to_ascii_uppercase());
            match rng.below(3) {
                0 => format!("{sname} {l} {r}"),
                1 => format!("{}-{} {sname}", title(&l), r.to_ascii_lowercase()),
                _ => format!("{l}{r} {sname}"),
            }
        }
        "mixed_script" => {
            // One word in the script the person writes, the rest in Latin letters (a form
            // filled in half in each).
            let slavic = e
                .countries
                .iter()
                .any(|c| CYRILLIC_COUNTRIES.contains(&c.as_str()));
            let arab = e
                .countries
                .iter()
                .any(|c| ARABIC_COUNTRIES.contains(&c.as_str()));
            if !is_person(e) || !src.is_ascii() || !(slavic || arab) {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let sname: String = surname.join(" ");
            let native = if slavic {
                let w: String = sname
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect();
                to_cyrillic(&w, e.countries.iter().any(|c| c == "UA"))
            } else {
                to_arabic(&surname)
            };
            if native.is_empty() {
                return None;
            }
            format!("{} {native}", given.join(" "))
        }
        "greek_script" => {
            // A person's name written in Greek letters (ELOT 743 in reverse).
            if !is_person(e) || !src.is_ascii() {
                return None;
            }
            let (given, surname) = person_parts(&src)?;
            let all: Vec<String> = given
                .iter()
                .chain(&surname)
                .flat_map(|w| w.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .map(|w| {
                    let w: String = w.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                    to_greek(&w)
                })
                .filter(|w| !w.is_empty())
                .collect();
            all.join(" ")
        }
        _ => return None,
    };
    if q.trim().is_empty() || tokens(&q).is_empty() || plain_key(&q) == plain_key(&src) {
        return None;
    }
    Some((src, q))
}

/// One negative query of `family`, made near entity `e`, as (the Latin form the fairness check
/// reads, the query).
fn negative(
    family: &str,
    e: &Entity,
    ents: &[&Entity],
    names: &Names,
    rng: &mut Rng,
) -> Option<(String, String)> {
    let same = |q: String| (q.clone(), q);
    match family {
        "neg_arabic_given" => {
            let given = rng.pick(ARABIC_GIVEN);
            let surname = rng.pick(ARABIC_SURNAMES);
            Some(same(match rng.below(3) {
                0 => format!("{surname}, {}", title(given)),
                1 => format!("{given} {} {surname}", rng.pick(ARABIC_GIVEN)),
                _ => format!("{given} {surname}"),
            }))
        }
        "neg_cyrillic" => {
            let g = rng.pick(RUSSIAN_GIVEN);
            let mut s = rng.pick(RUSSIAN_SURNAMES).to_string();
            if g.ends_with('a') {
                s.push('a');
            }
            let latin = format!("{} {}", g, s).to_ascii_uppercase();
            let q = if rng.chance(0.6) {
                format!("{} {}", to_cyrillic(g, false), to_cyrillic(&s, false))
            } else {
                latin.clone()
            };
            Some((latin, q))
        }
        "neg_initials" => {
            if !is_person(e) {
                return None;
            }
            let (_, surname) = person_parts(&e.name)?;
            // An initial no listed person of this surname has.
            let sname = surname.join(" ");
            let free: Vec<u8> = (b'a'..=b'z')
                .filter(|c| !names.initials.contains_key(&(sname.clone(), *c)))
                .collect();
            let c = (*rng.pick(&free) as char).to_ascii_uppercase();
            Some(same(format!(
                "{c}. {}",
                surname.join(" ").to_ascii_uppercase()
            )))
        }
        "neg_generic_company" => {
            // The generic words of one listed company name with the distinctive rest of
            // another's: the names share vocabulary, not identity.
            if !is_company(e) {
                return None;
            }
            let other = ents[rng.below(ents.len())];
            if !is_company(other) || other.id == e.id {
                return None;
            }
            let a = upper_words(&e.name);
            let b = upper_words(&other.name);
            if a.len() < 2 || b.len() < 2 {
                return None;
            }
            let cut_a = 1 + rng.below(a.len() - 1);
            let cut_b = 1 + rng.below(b.len() - 1);
            let mut w: Vec<String> = a[..cut_a].to_vec();
            w.extend_from_slice(&b[cut_b..]);
            if w.iter().filter(|x| distinctive(x)).count() < 2 {
                return None;
            }
            Some(same(w.join(" ")))
        }
        "neg_hanzi" => {
            // A Chinese name in characters made of common surnames and given-name syllables:
            // the syllables unrelated people share with listed persons.
            let (sc, sp) = rng.pick(HANZI_SURNAMES);
            let n = 1 + rng.below(2);
            let mut chars = sc.to_string();
            let mut latin = vec![sp.to_string()];
            let mut given = String::new();
            for _ in 0..n {
                let (gc, gp) = rng.pick(HANZI_GIVEN);
                chars.push_str(gc);
                given.push_str(gp);
            }
            latin.push(given);
            Some((latin.join(" ").to_ascii_uppercase(), chars))
        }
        _ => None,
    }
}

/// Per-family figures: (family, queries, recall@1 for positives or FP rate for negatives).
pub fn evaluate(
    screener: &Screener,
    queries: &[StressQuery],
    threshold: f64,
) -> Vec<(&'static str, usize, f64)> {
    let mut acc: HashMap<&'static str, (usize, usize)> = HashMap::new();
    for q in queries {
        let res = screener
            .screen(
                &Query {
                    name: q.name.clone(),
                    ..Default::default()
                },
                10,
                threshold,
            )
            .expect("stress queries are valid");
        let ok = if q.accepted.is_empty() {
            !res.hits.is_empty()
        } else {
            res.hits
                .first()
                .is_some_and(|h| q.accepted.contains(&h.entity))
        };
        let a = acc.entry(q.family).or_default();
        a.0 += 1;
        a.1 += usize::from(ok);
    }
    FAMILIES
        .iter()
        .filter_map(|f| acc.get(f).map(|&(n, k)| (*f, n, k as f64 / n as f64)))
        .collect()
}
