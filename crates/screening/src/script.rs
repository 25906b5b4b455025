//! Romanisation channels: how a name written in a non-Latin script is turned into the Latin
//! spellings the US and UN lists use.
//!
//! Each script the lists' parties write their names in has one [`Romanisation`], a versioned
//! table or algorithm named after the standard it follows. A channel gives every word (or, for
//! Chinese and Korean, every syllable) one primary spelling, which is what the normalised token
//! holds, and the other spellings the lists use for the same letters (Wade–Giles and Hong Kong
//! forms of a Pinyin syllable, McCune–Reischauer and the surname spellings of a Hangul
//! syllable, ...), which the index looks up exactly. The channel travels with the token into the
//! index and the scorer, and the hit's explanation names it.
//!
//! | channel | standard | unit |
//! |---|---|---|
//! | `cyrillic-bgn-pcgn/2` | BGN/PCGN 1947 (Russian), Ukrainian national 2010 | word |
//! | `arabic-skeleton/1` | consonant skeleton (short vowels are not written) | word |
//! | `hanzi-pinyin/1` | Hanyu Pinyin without tones (ISO 7098); Wade–Giles and Hong Kong variants | syllable |
//! | `hangul-rr-mr/1` | Revised Romanization (2000) and McCune–Reischauer (1939); list surname spellings | syllable |
//! | `kana-hepburn/1` | modified Hepburn, long vowels without macrons | word |
//! | `greek-elot743/1` | ELOT 743:1982 = ISO 843:1997 (transcription) | word |
//! | `hebrew-skeleton/1` | consonant skeleton after SI 1988 consonant values | word |
//! | `thai-rtgs/1` | Royal Thai General System of Transcription (1999), simplified | word |
//! | `armenian-bgn-pcgn/1` | BGN/PCGN 1981 (Armenian) | word |
//! | `georgian-national/1` | Georgian national system 2002 (= BGN/PCGN 2009) | word |
//!
//! Syllabic channels (Chinese, Korean) give each character its own token: a listed `LI
//! Fangwei`, `LI Fang Wei` or `Fang-wei LI` all meet `李方伟` (`li fang wei`; the scorer glues
//! adjacent syllables against one listed word). Their syllables come from a closed inventory of
//! a few hundred (Mandarin) or a few thousand (Korean), so one shared syllable says little: the
//! scorer asks such a query to agree with the listed name syllable for syllable (see the
//! screener).
//!
//! Japanese kanji are not romanised by reading (a kanji name has several readings and no
//! maintained offline dictionary crate decides among them): they go through the Pinyin channel
//! like any Han character, and so meet only names listed in Chinese readings.

use serde::{Deserialize, Serialize};

/// A romanisation channel. See the module documentation for the standards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Romanisation {
    Cyrillic,
    Arabic,
    Hanzi,
    Hangul,
    Kana,
    Greek,
    Hebrew,
    Thai,
    Armenian,
    Georgian,
}

/// Every channel, in code order (`code() - 1` is the position).
pub const ALL_ROMANISATIONS: [Romanisation; 10] = [
    Romanisation::Cyrillic,
    Romanisation::Arabic,
    Romanisation::Hanzi,
    Romanisation::Hangul,
    Romanisation::Kana,
    Romanisation::Greek,
    Romanisation::Hebrew,
    Romanisation::Thai,
    Romanisation::Armenian,
    Romanisation::Georgian,
];

impl Romanisation {
    /// The versioned name of the table or algorithm, as the explanation shows it.
    pub fn id(self) -> &'static str {
        match self {
            Romanisation::Cyrillic => "cyrillic-bgn-pcgn/2",
            Romanisation::Arabic => "arabic-skeleton/1",
            Romanisation::Hanzi => "hanzi-pinyin/1",
            Romanisation::Hangul => "hangul-rr-mr/1",
            Romanisation::Kana => "kana-hepburn/1",
            Romanisation::Greek => "greek-elot743/1",
            Romanisation::Hebrew => "hebrew-skeleton/1",
            Romanisation::Thai => "thai-rtgs/1",
            Romanisation::Armenian => "armenian-bgn-pcgn/1",
            Romanisation::Georgian => "georgian-national/1",
        }
    }

    /// The script, in words.
    pub fn script(self) -> &'static str {
        match self {
            Romanisation::Cyrillic => "Cyrillic",
            Romanisation::Arabic => "Arabic",
            Romanisation::Hanzi => "Han (Chinese characters)",
            Romanisation::Hangul => "Hangul",
            Romanisation::Kana => "Japanese kana",
            Romanisation::Greek => "Greek",
            Romanisation::Hebrew => "Hebrew",
            Romanisation::Thai => "Thai",
            Romanisation::Armenian => "Armenian",
            Romanisation::Georgian => "Georgian",
        }
    }

    /// Short vowels are not written: the word is a consonant skeleton, compared by
    /// [`crate::normalize::consonant_skeleton`].
    pub fn skeletal(self) -> bool {
        matches!(self, Romanisation::Arabic | Romanisation::Hebrew)
    }

    /// Each token is one syllable of a closed inventory (see the module documentation).
    pub fn syllabic(self) -> bool {
        matches!(self, Romanisation::Hanzi | Romanisation::Hangul)
    }

    pub(crate) fn code(self) -> u32 {
        ALL_ROMANISATIONS
            .iter()
            .position(|&r| r == self)
            .expect("every channel is in ALL_ROMANISATIONS") as u32
            + 1
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        (code as usize)
            .checked_sub(1)
            .and_then(|i| ALL_ROMANISATIONS.get(i))
            .copied()
    }
}

/// Non-ASCII text romanised: lower-case text, a tag per byte (channel code in the low byte,
/// `1 +` the variant slot above it, 0 for neither) and the variant spellings by slot.
#[derive(Debug, Default)]
pub(crate) struct Romanised {
    pub text: String,
    pub tags: Vec<u32>,
    pub variants: Vec<Vec<String>>,
}

/// Most variant spellings kept per word or syllable.
const MAX_VARIANTS: usize = 24;

impl Romanised {
    fn push_plain(&mut self, s: &str) {
        self.text.push_str(s);
        self.tags.resize(self.text.len(), 0);
    }

    fn push(&mut self, r: Romanisation, primary: &str, mut variants: Vec<String>) {
        variants.retain(|v| v != primary && !v.is_empty());
        variants.sort_unstable();
        variants.dedup();
        variants.truncate(MAX_VARIANTS);
        let slot = if variants.is_empty() {
            0
        } else {
            self.variants.push(variants);
            self.variants.len() as u32
        };
        self.text.push_str(primary);
        self.tags.resize(self.text.len(), r.code() | (slot << 8));
    }
}

/// Which channel a character belongs to.
fn script_of(c: char) -> Option<Romanisation> {
    Some(match c {
        '\u{0400}'..='\u{04FF}' => Romanisation::Cyrillic,
        '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' => Romanisation::Arabic,
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' => {
            Romanisation::Hanzi
        }
        '\u{AC00}'..='\u{D7A3}' => Romanisation::Hangul,
        '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | '\u{30FC}' => Romanisation::Kana,
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Romanisation::Greek,
        '\u{0591}'..='\u{05F4}' => Romanisation::Hebrew,
        '\u{0E01}'..='\u{0E4E}' => Romanisation::Thai,
        '\u{0531}'..='\u{0587}' => Romanisation::Armenian,
        '\u{10A0}'..='\u{10FF}' | '\u{1C90}'..='\u{1CBF}' => Romanisation::Georgian,
        _ => return None,
    })
}

/// Romanises NFKC text. Whitespace-separated words stay apart; within a word, each run of one
/// script goes through its channel; other non-ASCII letters go through `deunicode`.
pub(crate) fn romanise(s: &str) -> Romanised {
    let mut out = Romanised::default();
    for (k, word) in s.split(char::is_whitespace).enumerate() {
        if k > 0 {
            out.push_plain(" ");
        }
        let mut chars: Vec<char> = word.chars().collect();
        // The Arabic article is written joined to its word; the lists write it apart.
        if chars.len() >= 4 && chars[0] == 'ا' && chars[1] == 'ل' {
            out.push_plain("al ");
            chars.drain(..2);
        }
        // Letters only Ukrainian uses mark a Ukrainian word, whose г and и read h and y
        // (Ukrainian national romanisation, Cabinet of Ministers resolution 55 of 2010).
        let ukrainian = chars.iter().any(|c| "іїєґІЇЄҐ".contains(*c));
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let Some(r) = script_of(c) else {
                if c.is_ascii() {
                    out.push_plain(&c.to_ascii_lowercase().to_string());
                } else {
                    match deunicode::deunicode_char(c) {
                        Some(t) => out.push_plain(&t.to_ascii_lowercase()),
                        None => out.push_plain(" "),
                    }
                }
                i += 1;
                continue;
            };
            let start = i;
            while i < chars.len() && script_of(chars[i]) == Some(r) {
                i += 1;
            }
            let run = &chars[start..i];
            let word_start = start == 0;
            match r {
                Romanisation::Cyrillic => {
                    let (p, v) = cyrillic_run(run, ukrainian, word_start);
                    out.push(r, &p, v);
                }
                Romanisation::Arabic => {
                    let mut p = String::new();
                    for (j, &c) in run.iter().enumerate() {
                        p.push_str(arabic(c, word_start && j == 0).unwrap_or(""));
                    }
                    out.push(r, &p, Vec::new());
                }
                Romanisation::Hanzi => {
                    for &c in run {
                        let (p, v) = hanzi(c);
                        out.push_plain(" ");
                        out.push(r, &p, v);
                        out.push_plain(" ");
                    }
                }
                Romanisation::Hangul => {
                    for &c in run {
                        let (p, v) = hangul(c);
                        out.push_plain(" ");
                        out.push(r, &p, v);
                        out.push_plain(" ");
                    }
                }
                Romanisation::Kana => {
                    let (p, v) = kana_run(run);
                    out.push(r, &p, v);
                }
                Romanisation::Greek => {
                    let (p, v) = greek_run(run);
                    out.push(r, &p, v);
                }
                Romanisation::Hebrew => {
                    let (p, v) = hebrew_run(run, word_start);
                    out.push(r, &p, v);
                }
                Romanisation::Thai => {
                    let p = thai_run(run);
                    out.push(r, &p, Vec::new());
                }
                Romanisation::Armenian => {
                    let p = armenian_run(run, word_start);
                    out.push(r, &p, Vec::new());
                }
                Romanisation::Georgian => {
                    let p: String = run.iter().map(|&c| georgian(c)).collect();
                    out.push(r, &p, Vec::new());
                }
            }
        }
    }
    out
}

/// Every combination of per-position options, at most [`MAX_VARIANTS`] + 1 of them.
fn combinations(options: &[Vec<&str>]) -> Vec<String> {
    let mut acc = vec![String::new()];
    for opts in options {
        let mut next = Vec::with_capacity(acc.len() * opts.len().max(1));
        for a in &acc {
            for o in opts {
                if next.len() > MAX_VARIANTS {
                    break;
                }
                next.push(format!("{a}{o}"));
            }
        }
        acc = next;
    }
    acc
}

// ---------------------------------------------------------------------------------------------
// Cyrillic

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Russian, Ukrainian and Belarusian Cyrillic as BGN/PCGN romanises it (the system OFAC uses):
/// `х` kh, `ц` ts, `щ` shch, `й` and `ы` y, `ю` yu, `я` ya, soft and hard signs dropped; `е`
/// and `ё` are `ye` and `yo` at the start of a word and after a vowel, `й`, `ъ` or `ь`
/// (BGN/PCGN 1947, note 1: `Ельцин` Yel'tsin, the lists' YELTSIN), `e` after a consonant.
/// Ukrainian words read `г` h and `и` y. The variant is the plain spelling with every `е` and
/// `ё` as `e`, which many list entries use (`ALEKSEEV`).
fn cyrillic_run(run: &[char], ukrainian: bool, word_start: bool) -> (String, Vec<String>) {
    let mut p = String::new();
    let mut plain = String::new();
    let mut prev: Option<char> = None;
    for (j, &c) in run.iter().enumerate() {
        let l = lower(c);
        let after_vowel = match prev {
            None => word_start && j == 0,
            Some(q) => "аеёиоуыэюяіїєйъь".contains(q),
        };
        match l {
            'е' | 'ё' => {
                let v = if l == 'е' { "e" } else { "o" };
                if after_vowel {
                    p.push('y');
                    p.push_str(v);
                } else {
                    p.push('e');
                }
                plain.push('e');
            }
            _ => {
                let t = cyrillic(l, ukrainian).unwrap_or("");
                p.push_str(t);
                plain.push_str(t);
            }
        }
        prev = Some(l);
    }
    (p, vec![plain])
}

fn cyrillic(c: char, ukrainian: bool) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' if ukrainian => "h",
        'г' | 'ґ' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'є' => "ye",
        'ж' => "zh",
        'з' => "z",
        'и' if ukrainian => "y",
        'и' | 'і' => "i",
        'ї' => "yi",
        'й' | 'ы' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ў' => "w",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Arabic

/// Arabic and Persian letters as consonants. Short vowels are not written in Arabic script,
/// and alif, waw and ya stand for long vowels as often as for consonants, so the result is
/// compared by its consonant skeleton; a word-initial alif or ayn is kept as `a` (`احمد`
/// ahmd, `عبد` abd) so that the common given names still meet their variant group.
fn arabic(c: char, at_start: bool) -> Option<&'static str> {
    Some(match c {
        'ا' | 'أ' | 'آ' | 'ٱ' | 'ع' if at_start => "a",
        'إ' if at_start => "i",
        'ا' | 'أ' | 'إ' | 'آ' | 'ٱ' | 'ع' | 'ء' | 'ؤ' | 'ئ' | 'ى' | 'ة' | 'ۀ' => "",
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => "",
        'ب' => "b",
        'پ' => "p",
        'ت' | 'ط' => "t",
        'ث' => "th",
        'ج' => "j",
        'چ' => "ch",
        'ح' | 'ه' => "h",
        'خ' => "kh",
        'د' | 'ض' => "d",
        'ذ' => "dh",
        'ر' => "r",
        'ز' | 'ظ' => "z",
        'ژ' => "zh",
        'س' | 'ص' => "s",
        'ش' => "sh",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' | 'ک' => "k",
        'گ' => "g",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'و' => "w",
        'ي' | 'ی' => "y",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Chinese

/// One Han character: its Hanyu Pinyin reading without tone (the `pinyin` crate's Unihan
/// kMandarin data; simplified and traditional forms alike), and as variants its Wade–Giles
/// spelling (apostrophes dropped, as the lists drop them) and, for common surnames and given-name
/// characters, the Hong Kong government's Cantonese spelling.
fn hanzi(c: char) -> (String, Vec<String>) {
    use pinyin::ToPinyin;
    let Some(py) = c.to_pinyin() else {
        let d = deunicode::deunicode_char(c).unwrap_or("").trim();
        return (d.to_ascii_lowercase(), Vec::new());
    };
    // ü is written u after j, q, x, y in Pinyin itself, and u or yu (or v) elsewhere.
    let plain = py.plain();
    let mut variants = Vec::new();
    let primary = if plain.contains('ü') || plain.contains('v') {
        let u = plain.replace(['ü', 'v'], "u");
        variants.push(plain.replace(['ü', 'v'], "yu"));
        variants.push(plain.replace('ü', "v"));
        u
    } else {
        plain.to_string()
    };
    if let Some(wg) = wade_giles(plain) {
        variants.push(wg);
    }
    if let Some(hk) = hong_kong(c) {
        variants.extend(hk.split(' ').map(str::to_string));
    }
    (primary, variants)
}

/// A toneless Pinyin syllable in Wade–Giles, apostrophes (aspiration marks) dropped as the
/// lists drop them: `zhang` chang, `xi` hsi, `zhou` chou, `cai` tsai, `guo` kuo, `dong` tung,
/// `xie` hsieh, `ri` jih (Wade–Giles as in the Library of Congress conversion tables).
fn wade_giles(py: &str) -> Option<String> {
    let s = py.replace('ü', "v");
    let whole = match s.as_str() {
        "zi" | "ci" => Some("tzu"),
        "si" => Some("ssu"),
        "zhi" | "chi" => Some("chih"),
        "shi" => Some("shih"),
        "ri" => Some("jih"),
        "er" => Some("erh"),
        "yi" => Some("i"),
        "you" => Some("yu"),
        "ye" => Some("yeh"),
        "yan" => Some("yen"),
        "yong" => Some("yung"),
        "yue" => Some("yueh"),
        "yu" => Some("yu"),
        "yuan" => Some("yuan"),
        "yun" => Some("yun"),
        "ge" => Some("ko"),
        "ke" => Some("ko"),
        "he" => Some("ho"),
        "e" => Some("o"),
        _ => None,
    };
    if let Some(w) = whole {
        return Some(w.to_string());
    }
    const INITIALS: [(&str, &str); 21] = [
        ("zh", "ch"),
        ("ch", "ch"),
        ("sh", "sh"),
        ("b", "p"),
        ("p", "p"),
        ("m", "m"),
        ("f", "f"),
        ("d", "t"),
        ("t", "t"),
        ("n", "n"),
        ("l", "l"),
        ("g", "k"),
        ("k", "k"),
        ("h", "h"),
        ("j", "ch"),
        ("q", "ch"),
        ("x", "hs"),
        ("r", "j"),
        ("z", "ts"),
        ("c", "ts"),
        ("s", "s"),
    ];
    let (ini_py, ini_wg) = INITIALS
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .copied()
        .unwrap_or(("", ""));
    let fin = &s[ini_py.len()..];
    let palatal = matches!(ini_py, "j" | "q" | "x");
    let fin_wg = match fin {
        "ong" => "ung".to_string(),
        "iong" => "iung".to_string(),
        "ian" => "ien".to_string(),
        "ie" => "ieh".to_string(),
        "ui" => "uei".to_string(),
        "uo" if matches!(ini_py, "d" | "t" | "n" | "l" | "z" | "c" | "s" | "r") => "o".into(),
        // After j, q, x the u is ü, which Wade–Giles writes ü (u without the dots in the lists).
        "ue" if palatal => "ueh".into(),
        "v" => "u".into(),
        "ve" => "ueh".into(),
        "e" if matches!(ini_py, "g" | "k" | "h") => "o".into(),
        f => f.to_string(),
    };
    let wg = format!("{ini_wg}{fin_wg}");
    (wg != py).then_some(wg)
}

/// Hong Kong (Cantonese) spellings of common surnames and given-name characters, as the Hong
/// Kong Immigration Department writes them on identity cards; keyed by character, simplified and
/// traditional forms alike. Several spellings are separated by a space.
fn hong_kong(c: char) -> Option<&'static str> {
    Some(match c {
        '陳' | '陈' => "chan",
        '李' => "lee lei",
        '張' | '张' => "cheung",
        '黃' | '黄' => "wong",
        '王' => "wong",
        '劉' | '刘' => "lau",
        '吳' | '吴' | '伍' => "ng",
        '梁' => "leung",
        '何' => "ho",
        '周' => "chow chau",
        '林' => "lam",
        '鄭' | '郑' => "cheng",
        '謝' | '谢' => "tse",
        '楊' | '杨' => "yeung",
        '郭' | '國' | '国' => "kwok",
        '羅' | '罗' => "law lo",
        '許' | '许' => "hui",
        '曾' => "tsang",
        '蔡' => "choi tsoi",
        '馮' | '冯' => "fung",
        '鄧' | '邓' => "tang",
        '蕭' | '萧' | '邵' => "siu",
        '葉' | '叶' => "yip",
        '潘' => "poon",
        '袁' => "yuen",
        '彭' => "pang",
        '盧' | '卢' => "lo lou",
        '趙' | '赵' => "chiu",
        '徐' => "tsui",
        '孫' | '孙' => "suen",
        '麥' | '麦' => "mak",
        '關' | '关' => "kwan",
        '譚' | '谭' => "tam",
        '莫' => "mok",
        '鍾' | '钟' | '鐘' => "chung",
        '蘇' | '苏' => "so",
        '杜' => "to",
        '金' => "kam",
        '方' | '芳' => "fong",
        '江' => "kong",
        '施' => "sze",
        '戴' => "tai",
        '韓' | '韩' => "hon",
        '唐' | '湯' | '汤' => "tong",
        '黎' | '賴' | '赖' | '麗' | '丽' => "lai",
        '姜' | '強' | '强' => "keung",
        '石' => "shek",
        '區' | '区' | '歐' | '欧' => "au",
        '偉' | '伟' => "wai",
        '華' | '华' => "wah",
        '榮' | '荣' => "wing",
        '家' | '嘉' => "ka",
        '建' => "kin",
        '德' => "tak",
        '輝' | '辉' => "fai",
        '傑' | '杰' => "kit",
        '雄' | '洪' | '鴻' | '鸿' => "hung",
        '光' => "kwong",
        '龍' | '龙' => "lung",
        '成' => "shing",
        '文' => "man",
        '超' => "chiu",
        '宗' => "chung",
        '耀' | '姚' => "yiu",
        '桂' => "kwai",
        '月' => "yuet",
        '娥' => "ngor",
        '志' => "chi",
        '永' => "wing",
        '祖' => "cho",
        '俊' => "chun",
        '新' => "san",
        '生' => "sang",
        '基' => "kei",
        '健' => "kin",
        '達' | '达' => "tat",
        '發' | '发' => "fat",
        '鋒' | '锋' | '峰' => "fung",
        '豪' | '浩' => "ho",
        '康' => "hong",
        '安' => "on",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Korean

/// Initial consonants (choseong) in Unicode order: Revised Romanization first, then the
/// McCune–Reischauer and list spellings (MR writes ㄱ ㄷ ㅂ ㅈ unvoiced as k t p ch at the start
/// of a word; North Korean lists keep ㄹ as r, South Korean names drop it or write l or n).
const CHOSEONG: [&[&str]; 19] = [
    &["g", "k"],
    &["kk", "gg", "k"],
    &["n"],
    &["d", "t"],
    &["tt", "dd", "t"],
    &["r", "l", "n", ""],
    &["m"],
    &["b", "p"],
    &["pp", "bb", "p"],
    &["s"],
    &["ss", "s"],
    &[""],
    &["j", "ch"],
    &["jj", "tch", "ch"],
    &["ch"],
    &["k"],
    &["t"],
    &["p"],
    &["h"],
];

/// Medial vowels (jungseong): RR first, then MR without breves (ŏ o, ŭ u) and list spellings.
const JUNGSEONG: [&[&str]; 21] = [
    &["a"],
    &["ae"],
    &["ya"],
    &["yae"],
    &["eo", "o", "u"],
    &["e"],
    &["yeo", "yo", "yu"],
    &["ye"],
    &["o"],
    &["wa"],
    &["wae"],
    &["oe", "oi"],
    &["yo"],
    &["u", "oo"],
    &["wo"],
    &["we"],
    &["wi"],
    &["yu", "yoo"],
    &["eu", "u"],
    &["ui"],
    &["i"],
];

/// Final consonants (jongseong), index 0 none: RR first, then MR and list spellings.
const JONGSEONG: [&[&str]; 28] = [
    &[""],
    &["k", "g"],
    &["k"],
    &["k"],
    &["n"],
    &["n"],
    &["n"],
    &["t", "d"],
    &["l", "r"],
    &["k"],
    &["m"],
    &["l"],
    &["l"],
    &["l"],
    &["p"],
    &["l"],
    &["m"],
    &["p", "b"],
    &["p"],
    &["t", "s"],
    &["t"],
    &["ng"],
    &["t"],
    &["t"],
    &["k"],
    &["t"],
    &["p"],
    &["t"],
];

/// One Hangul syllable, decomposed by the Unicode algorithm (Unicode §3.12: S = 0xAC00 +
/// (L·21 + V)·28 + T): Revised Romanization as primary, McCune–Reischauer and the surname
/// spellings the lists use as variants (Kim/Gim, Park/Pak/Bak, Lee/Yi/Ri/Rhee, Choi/Choe).
fn hangul(c: char) -> (String, Vec<String>) {
    let s = c as u32 - 0xAC00;
    let (l, v, t) = (
        (s / 588) as usize,
        ((s % 588) / 28) as usize,
        (s % 28) as usize,
    );
    let mut ini: Vec<&str> = CHOSEONG[l].to_vec();
    // ㅅ before i or y is written sh in MR and in most lists (Shin, Shim).
    if l == 9 && JUNGSEONG[v][0].starts_with(['i', 'y']) {
        ini.push("sh");
    }
    let all = combinations(&[ini, JUNGSEONG[v].to_vec(), JONGSEONG[t].to_vec()]);
    let rr = all[0].clone();
    let mut variants: Vec<String> = all.into_iter().skip(1).collect();
    let surname = korean_surname(c);
    if let Some(sn) = surname {
        variants.extend(sn.split(' ').map(str::to_string));
    }
    // A one-letter RR syllable (이 i, 오 o, 우 u) would read as an initial: the surname
    // spelling (Lee, Oh, Woo) stands first.
    let primary = match surname {
        Some(sn) if rr.len() == 1 => {
            variants.push(rr);
            sn.split(' ').next().unwrap_or_default().to_string()
        }
        _ => rr,
    };
    (primary, variants)
}

/// Surname spellings that no letter-by-letter system gives, as South and North Korean
/// passports and the lists write them.
fn korean_surname(c: char) -> Option<&'static str> {
    Some(match c {
        '김' => "kim gim",
        '이' => "lee yi ri rhee li",
        '리' => "ri li lee",
        '박' => "park pak bak",
        '최' => "choi choe",
        '정' => "jung chung jeong chong",
        '조' => "cho jo",
        '윤' => "yoon yun",
        '임' => "lim im rim",
        '림' => "rim lim",
        '오' => "oh o",
        '서' => "seo suh so",
        '신' => "shin sin",
        '권' => "kwon gwon",
        '안' => "ahn an",
        '류' => "ryu yu yoo ryoo",
        '유' => "yu yoo",
        '전' => "jeon chun jun chon",
        '문' => "moon mun",
        '손' => "son sohn",
        '양' => "yang ryang",
        '량' => "ryang yang",
        '백' => "baek paek paik",
        '노' => "noh roh no ro",
        '로' => "ro roh no",
        '주' => "joo ju chu",
        '우' => "woo u",
        '구' => "koo ku gu",
        '심' => "shim sim",
        '변' => "byun pyon byeon",
        '현' => "hyun hyon hyeon",
        '명' => "myung myong myeong",
        '려' | '여' => "ryo yeo yo",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Japanese kana

/// One kana as Hepburn (hiragana; katakana is folded onto it first).
fn kana(c: char) -> &'static str {
    const ROWS: &[(char, &str)] = &[
        ('あ', "a"),
        ('い', "i"),
        ('う', "u"),
        ('え', "e"),
        ('お', "o"),
        ('ぁ', "a"),
        ('ぃ', "i"),
        ('ぅ', "u"),
        ('ぇ', "e"),
        ('ぉ', "o"),
        ('か', "ka"),
        ('き', "ki"),
        ('く', "ku"),
        ('け', "ke"),
        ('こ', "ko"),
        ('が', "ga"),
        ('ぎ', "gi"),
        ('ぐ', "gu"),
        ('げ', "ge"),
        ('ご', "go"),
        ('さ', "sa"),
        ('し', "shi"),
        ('す', "su"),
        ('せ', "se"),
        ('そ', "so"),
        ('ざ', "za"),
        ('じ', "ji"),
        ('ず', "zu"),
        ('ぜ', "ze"),
        ('ぞ', "zo"),
        ('た', "ta"),
        ('ち', "chi"),
        ('つ', "tsu"),
        ('て', "te"),
        ('と', "to"),
        ('だ', "da"),
        ('ぢ', "ji"),
        ('づ', "zu"),
        ('で', "de"),
        ('ど', "do"),
        ('な', "na"),
        ('に', "ni"),
        ('ぬ', "nu"),
        ('ね', "ne"),
        ('の', "no"),
        ('は', "ha"),
        ('ひ', "hi"),
        ('ふ', "fu"),
        ('へ', "he"),
        ('ほ', "ho"),
        ('ば', "ba"),
        ('び', "bi"),
        ('ぶ', "bu"),
        ('べ', "be"),
        ('ぼ', "bo"),
        ('ぱ', "pa"),
        ('ぴ', "pi"),
        ('ぷ', "pu"),
        ('ぺ', "pe"),
        ('ぽ', "po"),
        ('ま', "ma"),
        ('み', "mi"),
        ('む', "mu"),
        ('め', "me"),
        ('も', "mo"),
        ('や', "ya"),
        ('ゆ', "yu"),
        ('よ', "yo"),
        ('ゃ', "ya"),
        ('ゅ', "yu"),
        ('ょ', "yo"),
        ('ら', "ra"),
        ('り', "ri"),
        ('る', "ru"),
        ('れ', "re"),
        ('ろ', "ro"),
        ('わ', "wa"),
        ('ゎ', "wa"),
        ('ゐ', "i"),
        ('ゑ', "e"),
        ('を', "o"),
        ('ん', "n"),
        ('ゔ', "vu"),
        ('ゕ', "ka"),
        ('ゖ', "ke"),
    ];
    ROWS.iter()
        .find(|(k, _)| *k == c)
        .map(|(_, r)| *r)
        .unwrap_or("")
}

/// A run of kana in modified Hepburn: yōon (`きゃ` kya, `しゃ` sha), small vowels of katakana
/// loan sounds (`ファ` fa, `ティ` ti), sokuon doubling (`っ`: `tt`, `tch`), `ー` repeating the
/// vowel, `ん` n (m before b, m, p as a variant, traditional Hepburn). Long vowels lose their
/// macron as on passports and in the lists (`おう`, `おお` o, `うう` u: `Satō` SATO); the
/// spelling with both vowels is a variant.
fn kana_run(run: &[char]) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut double_next = false;
    for &c0 in run {
        // Katakana U+30A1..U+30F6 fold onto hiragana U+3041..U+3096.
        let c = if ('\u{30A1}'..='\u{30F6}').contains(&c0) {
            char::from_u32(c0 as u32 - 0x60).unwrap_or(c0)
        } else {
            c0
        };
        if c == 'っ' {
            double_next = true;
            continue;
        }
        if c0 == 'ー' {
            if let Some(v) = out.chars().last().filter(|v| "aeiou".contains(*v)) {
                out.push(v);
            }
            continue;
        }
        let r = kana(c);
        if matches!(c, 'ゃ' | 'ゅ' | 'ょ') && out.ends_with('i') && out.len() >= 2 {
            out.pop();
            // shi, chi, ji + ya = sha, cha, ja: the y is already in the consonant.
            if out.ends_with("sh") || out.ends_with("ch") || out.ends_with('j') {
                out.push_str(&r[1..]);
            } else {
                out.push_str(r);
            }
            continue;
        }
        if matches!(c, 'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ')
            && out.len() >= 2
            && out.ends_with(['a', 'e', 'i', 'o', 'u'])
        {
            // A small vowel replaces the vowel before it (fa, ti, she, wi).
            let last = out.pop().unwrap_or('u');
            if out.is_empty() || (last == 'u' && out.ends_with(['a', 'e', 'i', 'o', 'u'])) {
                out.push('w');
            }
            out.push_str(r);
            continue;
        }
        if double_next {
            double_next = false;
            if r.starts_with("ch") {
                out.push('t');
            } else if let Some(f) = r.chars().next().filter(|f| !"aeioun".contains(*f)) {
                out.push(f);
            }
        }
        out.push_str(r);
    }
    let full = out.clone();
    let collapsed = collapse_long_vowels(&full);
    let mut variants = vec![full.clone()];
    // Traditional Hepburn: n before a labial is m (Shimbun, Homma).
    let labial = full
        .replace("nb", "mb")
        .replace("nm", "mm")
        .replace("np", "mp");
    variants.push(collapse_long_vowels(&labial));
    // Passport Hepburn writes a long o as oh (Satoh, Ohno).
    variants.push(full.replace("ou", "oh").replace("oo", "oh"));
    (collapsed, variants)
}

/// `ou`, `oo` and `uu` as one vowel where the second vowel only lengthens the first: at the end
/// of the word or before a consonant (`satou` sato, `ryuu` ryu; not `inoue`).
fn collapse_long_vowels(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let pair = (b[i], b.get(i + 1).copied());
        let next_is_vowel = b.get(i + 2).is_some_and(|c| b"aeiou".contains(c));
        if matches!(
            pair,
            (b'o', Some(b'u')) | (b'o', Some(b'o')) | (b'u', Some(b'u'))
        ) && !next_is_vowel
            && i > 0
        {
            out.push(b[i] as char);
            i += 2;
            continue;
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Greek

/// Greek by ELOT 743:1982 (ISO 843:1997, transcription): `β` v, `η` i, `θ` th, `υ` y, `φ` f,
/// `χ` ch, `ψ` ps, `ω` o; `ου` ou; `αυ` `ευ` `ηυ` av ev iv before a vowel or a voiced
/// consonant, af ef if before a voiceless one or at the end; `μπ` b at the start of a word,
/// mp inside it; `ντ` nt; `γγ` ng, `γκ` g at the start, ng inside, `γξ` nx, `γχ` nch. Accents
/// are dropped; a diaeresis keeps two vowels apart. Variants: `ch` as h and kh (`Hristos`,
/// `Khristos`), `ou` as u, `mp` as b inside the word, `ntz`/`nt` as d.
fn greek_run(run: &[char]) -> (String, Vec<String>) {
    use unicode_normalization::UnicodeNormalization;
    // Base letters with a flag for a diaeresis on them.
    let mut letters: Vec<(char, bool)> = Vec::new();
    for c in run.iter().collect::<String>().nfd() {
        match c {
            '\u{0308}' => {
                if let Some(l) = letters.last_mut() {
                    l.1 = true;
                }
            }
            '\u{0300}'..='\u{036F}' => {}
            _ => letters.push((lower(c), false)),
        }
    }
    let voiceless = |c: Option<char>| {
        matches!(
            c,
            None | Some('θ' | 'κ' | 'ξ' | 'π' | 'σ' | 'ς' | 'τ' | 'φ' | 'χ' | 'ψ')
        )
    };
    let mut out = String::new();
    let mut i = 0;
    while i < letters.len() {
        let (c, _) = letters[i];
        let (n, n_dia) = letters.get(i + 1).copied().unwrap_or((' ', false));
        let after = letters.get(i + 2).map(|l| l.0);
        let two = |s: &str, out: &mut String| {
            out.push_str(s);
            2
        };
        let step = match (c, n) {
            ('α' | 'ε' | 'η', 'υ') if !n_dia => {
                let v = match c {
                    'α' => "a",
                    'ε' => "e",
                    _ => "i",
                };
                out.push_str(v);
                out.push(if voiceless(after) { 'f' } else { 'v' });
                2
            }
            ('ο', 'υ') if !n_dia => two("ou", &mut out),
            ('μ', 'π') if i == 0 => two("b", &mut out),
            ('γ', 'γ') => two("ng", &mut out),
            ('γ', 'κ') if i == 0 => two("g", &mut out),
            ('γ', 'κ') => two("ng", &mut out),
            ('γ', 'ξ') => two("nx", &mut out),
            ('γ', 'χ') => two("nch", &mut out),
            _ => {
                out.push_str(match c {
                    'α' => "a",
                    'β' => "v",
                    'γ' => "g",
                    'δ' => "d",
                    'ε' => "e",
                    'ζ' => "z",
                    'η' => "i",
                    'θ' => "th",
                    'ι' => "i",
                    'κ' => "k",
                    'λ' => "l",
                    'μ' => "m",
                    'ν' => "n",
                    'ξ' => "x",
                    'ο' => "o",
                    'π' => "p",
                    'ρ' => "r",
                    'σ' | 'ς' | 'ϲ' => "s",
                    'τ' => "t",
                    'υ' => "y",
                    'φ' => "f",
                    'χ' => "ch",
                    'ψ' => "ps",
                    'ω' => "o",
                    _ => "",
                });
                1
            }
        };
        i += step;
    }
    let mut variants = vec![
        out.replace("ch", "h"),
        out.replace("ch", "kh"),
        out.replace("ou", "u"),
        out.replace("mp", "b"),
        out.replace("nt", "d"),
        out.replace('y', "i"),
    ];
    variants.retain(|v| v != &out);
    (out, variants)
}

// ---------------------------------------------------------------------------------------------
// Hebrew

/// Hebrew letters as consonants (values of SI 1988 / ISO 259-3 simplified), compared by their
/// consonant skeleton like Arabic: vowels are not written, and vav and yod stand for vowels as
/// often as for consonants. Letters whose sound depends on a dagesh the text rarely marks give
/// variants: `ב` b or v, `כ` k or kh, `פ` p or f, `צ` ts or tz. A geresh marks the loan sounds
/// `ג׳` j, `ז׳` zh, `צ׳` ch. A word-initial alef or ayin is kept as `a`.
fn hebrew_run(run: &[char], word_start: bool) -> (String, Vec<String>) {
    let mut opts: Vec<Vec<&str>> = Vec::new();
    let letters: Vec<char> = run
        .iter()
        .copied()
        .filter(|c| !('\u{0591}'..='\u{05C7}').contains(c) || *c == '\u{05BE}')
        .collect();
    for (j, &c) in letters.iter().enumerate() {
        let geresh = matches!(letters.get(j + 1), Some('\u{05F3}' | '\''));
        let first = word_start && j == 0;
        let o: &[&str] = match c {
            'א' | 'ע' if first => &["a"],
            'א' | 'ע' => &[""],
            'ב' => &["b", "v"],
            'ג' if geresh => &["j"],
            'ג' => &["g"],
            'ד' => &["d"],
            'ה' => &["h"],
            'ו' => &["w"],
            'ז' if geresh => &["zh"],
            'ז' => &["z"],
            'ח' => &["kh"],
            'ט' | 'ת' => &["t"],
            'י' => &["y"],
            'כ' | 'ך' => &["k", "kh"],
            'ל' => &["l"],
            'מ' | 'ם' => &["m"],
            'נ' | 'ן' => &["n"],
            'ס' => &["s"],
            'פ' | 'ף' => &["p", "f"],
            'צ' | 'ץ' if geresh => &["ch"],
            'צ' | 'ץ' => &["ts", "tz"],
            'ק' => &["k"],
            'ר' => &["r"],
            'ש' => &["sh"],
            _ => &[""],
        };
        opts.push(o.to_vec());
    }
    let all = combinations(&opts);
    let primary = all[0].clone();
    (primary, all.into_iter().skip(1).collect())
}

// ---------------------------------------------------------------------------------------------
// Thai

/// Thai consonants: (initial, final) value in RTGS.
fn thai_consonant(c: char) -> Option<(&'static str, &'static str)> {
    Some(match c {
        'ก' => ("k", "k"),
        'ข' | 'ฃ' | 'ค' | 'ฅ' | 'ฆ' => ("kh", "k"),
        'ง' => ("ng", "ng"),
        'จ' => ("ch", "t"),
        'ฉ' | 'ช' | 'ฌ' => ("ch", "t"),
        'ซ' => ("s", "t"),
        'ญ' => ("y", "n"),
        'ฎ' | 'ด' => ("d", "t"),
        'ฏ' | 'ต' => ("t", "t"),
        'ฐ' | 'ฑ' | 'ฒ' | 'ถ' | 'ท' | 'ธ' => ("th", "t"),
        'ณ' | 'น' => ("n", "n"),
        'บ' => ("b", "p"),
        'ป' => ("p", "p"),
        'ผ' | 'พ' | 'ภ' => ("ph", "p"),
        'ฝ' | 'ฟ' => ("f", "p"),
        'ม' => ("m", "m"),
        'ย' => ("y", "i"),
        'ร' => ("r", "n"),
        'ล' | 'ฬ' => ("l", "n"),
        'ว' => ("w", "o"),
        'ศ' | 'ษ' | 'ส' => ("s", "t"),
        'ห' | 'ฮ' => ("h", ""),
        'อ' => ("", ""),
        _ => return None,
    })
}

/// Thai by the Royal Thai General System of Transcription (Royal Institute, 1999), in a
/// simplified reading: syllables are a leading vowel (`เ แ โ ใ ไ`), an initial consonant or
/// cluster (`กร`, `ปล`, `ขว`, ...; a silent `ห` or `อ` before a sonorant), vowel signs and a
/// final consonant with its final value (`ก` k, `ด` t, `น` n, `ร` n, ...); a consonant with
/// no written vowel before another consonant reads with the inherent `o` (closed) or `a`
/// (open, at the end); `์` silences its consonant; tone marks are not written. Vowel length is
/// not written in RTGS.
fn thai_run(run: &[char]) -> String {
    let cons = |c: char| thai_consonant(c).is_some();
    let mut out = String::new();
    let mut i = 0;
    let n = run.len();
    // Whether the syllable before ended in a final consonant.
    let mut closed = false;
    while i < n {
        let c = run[i];
        // Silent consonant (thanthakhat on it).
        if run.get(i + 1) == Some(&'\u{0E4C}') {
            i += 2;
            continue;
        }
        if "\u{0E48}\u{0E49}\u{0E4A}\u{0E4B}\u{0E47}\u{0E4C}".contains(c) {
            i += 1;
            continue;
        }
        let lead = "เแโใไ".contains(c).then_some(c);
        if lead.is_some() {
            i += 1;
        }
        let Some(&c1) = run.get(i) else { break };
        // A lone consonant ending the word after a closed syllable is silent (`เพชร` phet,
        // `สมุทร` samut).
        if lead.is_none() && i + 1 == n && closed && cons(c1) {
            break;
        }
        let Some((mut ini, _)) = thai_consonant(c1) else {
            // A vowel sign with no consonant (stray): its plain value.
            out.push_str(thai_vowel_alone(c1));
            i += 1;
            continue;
        };
        i += 1;
        // ห or อ before a sonorant only marks the tone class.
        if (c1 == 'ห' || c1 == 'อ')
            && run.get(i).is_some_and(|&c2| "งญนมยรลว".contains(c2))
            && run
                .get(i + 1)
                .is_some_and(|&c3| !cons(c3) || lead.is_some())
        {
            ini = thai_consonant(run[i]).map(|v| v.0).unwrap_or("");
            i += 1;
        }
        let mut initial = ini.to_string();
        // Clusters with ร ล ว after k, kh, p, ph, t.
        if "กขคปผพต".contains(c1) {
            if let Some(&c2) = run.get(i) {
                let vowel_follows = run.get(i + 1).is_some_and(|&v| !cons(v) && !"่้๊๋".contains(v));
                if "รลว".contains(c2) && (vowel_follows || lead.is_some()) {
                    initial.push_str(thai_consonant(c2).map(|v| v.0).unwrap_or(""));
                    i += 1;
                }
            }
        }
        // Vowel signs after the initial (tone marks skipped).
        let mut signs = String::new();
        while let Some(&v) = run.get(i) {
            if "\u{0E48}\u{0E49}\u{0E4A}\u{0E4B}".contains(v) {
                i += 1;
            } else if "ะัาำิีึืุู็".contains(v) {
                signs.push(v);
                i += 1;
            } else {
                break;
            }
        }
        // อ, ว, ย as parts of a vowel: -ือ, -ัว, เ-ีย, เ-ือ, เ-อ, เ-า, -อ (o).
        let next = run.get(i).copied();
        let next2 = run.get(i + 1).copied();
        let mut vowel: Option<&str> = None;
        let lead_s = lead.map(String::from).unwrap_or_default();
        let key = format!("{lead_s}{signs}");
        match (key.as_str(), next) {
            ("เี", Some('ย')) => {
                vowel = Some("ia");
                i += 1;
            }
            ("เื", Some('อ')) => {
                vowel = Some("uea");
                i += 1;
            }
            ("ื", Some('อ')) => {
                vowel = Some("ue");
                i += 1;
            }
            ("ั", Some('ว')) => {
                vowel = Some("ua");
                i += 1;
            }
            ("เ", Some('า')) => {
                vowel = Some("ao");
                i += 1;
                if run.get(i) == Some(&'ะ') {
                    vowel = Some("o");
                    i += 1;
                }
            }
            ("เ", Some('อ')) => {
                vowel = Some("oe");
                i += 1;
            }
            ("", Some('อ')) if next2.is_none_or(|c| cons(c) || c == '่' || c == '้') => {
                vowel = Some("o");
                i += 1;
            }
            ("", Some('ว')) if next2.is_some_and(cons) => {
                vowel = Some("ua");
                i += 1;
            }
            _ => {}
        }
        let vowel: String = match vowel {
            Some(v) => v.to_string(),
            None => {
                let mut v = String::new();
                match lead {
                    Some('เ') => v.push('e'),
                    Some('แ') => v.push_str("ae"),
                    Some('โ') => v.push('o'),
                    Some('ใ' | 'ไ') => v.push_str("ai"),
                    _ => {}
                }
                for s in signs.chars() {
                    match s {
                        'ะ' | 'ั' | 'า' if lead.is_none() => v.push('a'),
                        'ำ' => v.push_str("am"),
                        'ิ' | 'ี' => v.push('i'),
                        'ึ' | 'ื' => v.push_str("ue"),
                        'ุ' | 'ู' => v.push('u'),
                        _ => {}
                    }
                }
                v
            }
        };
        out.push_str(&initial);
        // The final consonant: one consonant not followed by a vowel sign of its own.
        let mut fin = String::new();
        if let Some(&f) = run.get(i) {
            let f_has_vowel = run
                .get(i + 1)
                .is_some_and(|&v| "ะัาำิีึืุู็".contains(v) || v == '\u{0E4C}');
            let f_next_lead = run.get(i + 1).is_some_and(|&v| "เแโใไ".contains(v));
            if cons(f) && !f_has_vowel && (run.get(i + 1).is_none_or(|&x| cons(x)) || f_next_lead) {
                // A final before a consonant that has no vowel of its own is still a final
                // when the syllable has a vowel; with none, the consonant starts the next one.
                if !vowel.is_empty() || run.get(i + 1).is_none_or(|&x| cons(x) || f_next_lead) {
                    fin = thai_consonant(f).map(|v| v.1).unwrap_or("").to_string();
                    i += 1;
                }
            }
        }
        if vowel.is_empty() {
            // The inherent vowel: o in a closed syllable, a in an open one.
            out.push(if fin.is_empty() { 'a' } else { 'o' });
        } else {
            out.push_str(&vowel);
        }
        closed = !fin.is_empty();
        out.push_str(&fin);
    }
    out
}

fn thai_vowel_alone(c: char) -> &'static str {
    match c {
        'ะ' | 'ั' | 'า' => "a",
        'ำ' => "am",
        'ิ' | 'ี' => "i",
        'ึ' | 'ื' => "ue",
        'ุ' | 'ู' => "u",
        'เ' => "e",
        'แ' => "ae",
        'โ' => "o",
        'ใ' | 'ไ' => "ai",
        _ => "",
    }
}

// ---------------------------------------------------------------------------------------------
// Armenian

/// Armenian by BGN/PCGN 1981: `ե` ye at the start of a word, else e; `ո` vo at the start,
/// else o; `ու` u; `և` yev / ev; `խ` kh, `ղ` gh, `ճ` and `չ` ch, `ջ` j, `ծ` and `ց` ts, `ձ`
/// dz, `ժ` zh, `շ` sh, aspirates (`թ փ ք`) as t p k without the apostrophe the lists drop.
fn armenian_run(run: &[char], word_start: bool) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < run.len() {
        let c = lower(run[i]);
        let first = word_start && i == 0;
        if c == 'ո' && run.get(i + 1).map(|&c| lower(c)) == Some('ւ') {
            out.push('u');
            i += 2;
            continue;
        }
        out.push_str(match c {
            'ա' => "a",
            'բ' => "b",
            'գ' => "g",
            'դ' => "d",
            'ե' if first => "ye",
            'ե' | 'է' => "e",
            'զ' => "z",
            'ը' => "y",
            'թ' | 'տ' => "t",
            'ժ' => "zh",
            'ի' => "i",
            'լ' => "l",
            'խ' => "kh",
            'ծ' | 'ց' => "ts",
            'կ' | 'ք' => "k",
            'հ' => "h",
            'ձ' => "dz",
            'ղ' => "gh",
            'ճ' | 'չ' => "ch",
            'մ' => "m",
            'յ' => "y",
            'ն' => "n",
            'շ' => "sh",
            'ո' if first => "vo",
            'ո' | 'օ' => "o",
            'պ' | 'փ' => "p",
            'ջ' => "j",
            'ռ' | 'ր' => "r",
            'ս' => "s",
            'վ' | 'ւ' => "v",
            'ֆ' => "f",
            'և' if first => "yev",
            'և' => "ev",
            _ => "",
        });
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Georgian

/// Georgian by the national system of 2002 (adopted as BGN/PCGN 2009), apostrophes of the
/// ejectives dropped as the lists drop them: `თ` t, `ტ` t, `ქ` k, `კ` k, `ყ` q, `ღ` gh, `შ`
/// sh, `ჩ` and `ჭ` ch, `ც` and `წ` ts, `ძ` dz, `ხ` kh, `ჯ` j, `ჟ` zh. Mtavruli capitals fold
/// onto Mkhedruli.
fn georgian(c: char) -> &'static str {
    let c = match c {
        '\u{1C90}'..='\u{1CBA}' => char::from_u32(c as u32 - 0x1C90 + 0x10D0).unwrap_or(c),
        '\u{10A0}'..='\u{10C5}' => char::from_u32(c as u32 - 0x10A0 + 0x10D0).unwrap_or(c),
        _ => c,
    };
    match c {
        'ა' => "a",
        'ბ' => "b",
        'გ' => "g",
        'დ' => "d",
        'ე' => "e",
        'ვ' => "v",
        'ზ' => "z",
        'თ' | 'ტ' => "t",
        'ი' => "i",
        'კ' | 'ქ' => "k",
        'ლ' => "l",
        'მ' => "m",
        'ნ' => "n",
        'ო' => "o",
        'პ' | 'ფ' => "p",
        'ჟ' => "zh",
        'რ' => "r",
        'ს' => "s",
        'უ' => "u",
        'ღ' => "gh",
        'ყ' => "q",
        'შ' => "sh",
        'ჩ' | 'ჭ' => "ch",
        'ც' | 'წ' => "ts",
        'ძ' => "dz",
        'ხ' => "kh",
        'ჯ' => "j",
        'ჰ' => "h",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(s: &str) -> String {
        romanise(s).text
    }

    fn words_and_variants(s: &str) -> Vec<(String, Vec<String>)> {
        let r = romanise(s);
        let mut out = Vec::new();
        let b = r.text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b' ' {
                i += 1;
                continue;
            }
            let j = (i..b.len()).find(|&k| b[k] == b' ').unwrap_or(b.len());
            let slot = (r.tags[i] >> 8) as usize;
            let v = if slot > 0 {
                r.variants[slot - 1].clone()
            } else {
                Vec::new()
            };
            out.push((r.text[i..j].to_string(), v));
            i = j;
        }
        out
    }

    fn has(s: &str, word: usize, spelling: &str) -> bool {
        let w = &words_and_variants(s)[word];
        w.0 == spelling || w.1.iter().any(|v| v == spelling)
    }

    #[test]
    fn codes_round_trip() {
        for r in ALL_ROMANISATIONS {
            assert_eq!(Romanisation::from_code(r.code()), Some(r));
        }
        assert_eq!(Romanisation::from_code(0), None);
    }

    #[test]
    fn cyrillic_word_initial_e_is_ye() {
        // BGN/PCGN: е after a vowel or at the start of a word is ye.
        assert_eq!(prim("Ельцин"), "yeltsin");
        assert_eq!(prim("Алексеев"), "alekseyev");
        assert!(has("Алексеев", 0, "alekseev"));
        assert_eq!(prim("Ёлкин"), "yolkin");
        assert_eq!(prim("Пётр"), "petr");
        assert_eq!(prim("Григорій"), "hryhoriy");
    }

    #[test]
    fn hanzi_syllables_with_wade_giles_and_hong_kong_variants() {
        assert_eq!(
            words_and_variants("李方伟")
                .iter()
                .map(|w| w.0.as_str())
                .collect::<Vec<_>>(),
            ["li", "fang", "wei"]
        );
        // Traditional characters read the same.
        assert_eq!(prim("張").trim(), "zhang");
        assert!(has("張", 0, "chang"));
        assert!(has("张", 0, "cheung"));
        assert!(has("习", 0, "hsi"));
        assert!(has("王", 0, "wong"));
        assert!(has("周", 0, "chou"));
        assert!(has("蔡", 0, "tsai"));
        assert!(has("郭", 0, "kuo"));
        assert!(has("謝", 0, "hsieh"));
        assert!(has("东", 0, "tung"));
        assert!(has("吕", 0, "lyu"));
        assert_eq!(wade_giles("zi").as_deref(), Some("tzu"));
        assert_eq!(wade_giles("xiong").as_deref(), Some("hsiung"));
        assert_eq!(wade_giles("jun").as_deref(), Some("chun"));
        assert_eq!(wade_giles("ma"), None);
    }

    #[test]
    fn hangul_decomposes_to_rr_with_mr_and_surname_variants() {
        let w = words_and_variants("김정은");
        assert_eq!(
            w.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
            ["gim", "jeong", "eun"]
        );
        assert!(has("김정은", 0, "kim"));
        assert!(has("김정은", 1, "jong"));
        assert!(has("김정은", 1, "chong"));
        assert!(has("김정은", 2, "un"));
        assert!(has("박", 0, "park") && has("박", 0, "pak") && has("박", 0, "bak"));
        assert!(has("최", 0, "choi") && has("최", 0, "choe"));
        // 이 is written Lee, Yi, Ri or Rhee, never as the single letter RR gives.
        assert_eq!(words_and_variants("이")[0].0, "lee");
        assert!(has("이", 0, "yi") && has("이", 0, "ri") && has("이", 0, "rhee"));
        assert!(has("철", 0, "chol"));
        assert!(has("신", 0, "shin"));
        // Syllable arithmetic: 한 = ㅎ + ㅏ + ㄴ.
        assert_eq!(words_and_variants("한")[0].0, "han");
    }

    #[test]
    fn kana_hepburn() {
        assert_eq!(prim("にしぐち しげお"), "nishiguchi shigeo");
        assert_eq!(prim("いのうえ"), "inoue");
        assert_eq!(prim("さとう"), "sato");
        assert!(has("さとう", 0, "satou") && has("さとう", 0, "satoh"));
        assert_eq!(prim("キョウト"), "kyoto");
        assert_eq!(prim("しゃちょう"), "shacho");
        assert_eq!(prim("まっちゃ"), "matcha");
        assert_eq!(prim("はっとり"), "hattori");
        assert_eq!(prim("ファイル"), "fairu");
        assert_eq!(prim("パーティー"), "paatii");
        assert!(has("しんぶん", 0, "shimbun"));
    }

    #[test]
    fn greek_elot_743() {
        assert_eq!(prim("Αλέξανδρος"), "alexandros");
        assert_eq!(prim("Νικόλαος"), "nikolaos");
        assert_eq!(prim("Ευάγγελος"), "evangelos");
        assert_eq!(prim("Μπαλτάς"), "baltas");
        assert_eq!(prim("Χρήστος"), "christos");
        assert!(has("Χρήστος", 0, "hristos"));
        assert_eq!(prim("Παπαδόπουλος"), "papadopoulos");
        assert!(has("Παπαδόπουλος", 0, "papadopulos"));
        assert_eq!(prim("Ευθύμιος"), "efthymios");
        assert_eq!(prim("Γκίκας"), "gikas");
    }

    #[test]
    fn hebrew_skeleton_with_dagesh_variants() {
        assert_eq!(prim("גרטלר"), "grtlr");
        assert_eq!(prim("כהן"), "khn");
        assert!(has("יעקב", 0, "ykv"));
        assert_eq!(prim("אברהם"), "abrhm");
        // Vowel points are dropped.
        assert_eq!(prim("דָּן"), "dn");
    }

    #[test]
    fn thai_rtgs() {
        assert_eq!(prim("ทักษิณ"), "thaksin");
        assert_eq!(prim("สุเทพ"), "suthep");
        assert_eq!(prim("สามแสง"), "samsaeng");
        assert_eq!(prim("หิรัญ"), "hiran");
        assert_eq!(prim("สมบูรณ์"), "sombun");
        assert_eq!(prim("วินัย"), "winai");
        assert_eq!(prim("ประยุทธ์"), "prayut");
        assert_eq!(prim("สุวิทย์ พวงเพชร"), "suwit phuangphet");
        assert_eq!(prim("ชัญชีรา บุญชัว"), "chanchira bunchua");
    }

    #[test]
    fn armenian_and_georgian_national_tables() {
        assert_eq!(prim("Սարգսյան"), "sargsyan");
        assert_eq!(prim("Երևան"), "yerevan");
        assert_eq!(prim("Հովհաննիսյան"), "hovhannisyan");
        assert_eq!(prim("ბიძინა ივანიშვილი"), "bidzina ivanishvili");
        assert_eq!(prim("შევარდნაძე"), "shevardnadze");
    }
}
