//! An independent reading of the advanced-computing rules, written as tables and a few
//! `if`s, and a generated case matrix that compares it with the engine.
//!
//! Nothing here reads the rulebook's law: the country groups, thresholds and dates below are
//! copied from the research notes (shared/reference/export-controls.md §§1-6) and the eval
//! README, so that a wrong rulebook entry or a wrong engine path shows up as a disagreement
//! instead of being reproduced. Only datasheet figures of catalog chips other than the seven
//! eval chips are taken from the catalog (they are facts about parts, not law).
//!
//! Every expectation also says whether the reading behind it is uncertain; for those cells
//! the engine must answer with `confidence: low` (the rulebook marks the rule it used).

use stackport_controls::case::EndUserInput;
use stackport_controls::{CaseInput, ItemSpec, ModelSpec, Rulebook};

use stackport_controls::ChipSpec;

// ---- Country groups (15 CFR 740 Supp. No. 1, reference notes §6) ---------------------------
const A5: &[&str] = &[
    "AR", "AT", "AU", "BE", "BG", "CA", "CH", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR",
    "HR", "HU", "IE", "IN", "IS", "IT", "JP", "KR", "LT", "LU", "LV", "NL", "NO", "NZ", "PL", "PT",
    "RO", "SE", "SI", "SK", "TR",
];
const A6: &[&str] = &["AL", "CY", "IL", "MT", "MX", "SG", "TW", "ZA"];
const D1: &[&str] = &[
    "AM", "AZ", "BY", "CN", "GE", "IQ", "KG", "KH", "KP", "KZ", "LA", "LY", "MD", "MM", "MN", "MO",
    "NI", "RU", "TJ", "TM", "UZ", "VE", "VN", "YE",
];
const D4: &[&str] = &[
    "AE", "BH", "BY", "CN", "EG", "IL", "IQ", "IR", "JO", "KP", "KW", "LB", "LY", "MO", "OM", "PK",
    "QA", "RU", "SA", "SY", "VE", "YE",
];
/// D:5 as of the 2026 snapshot; Cambodia was in it until the ITAR 126.1 change of 7 Nov 2025.
const D5: &[&str] = &[
    "AF", "BY", "CD", "CF", "CN", "CU", "ER", "HT", "IQ", "IR", "KP", "LB", "LY", "MM", "NI", "RU",
    "SD", "SO", "SS", "SY", "VE", "ZW",
];
/// AI Diffusion Tier 1 (15 CFR 740 Supp. No. 5 para (a), 90 FR 4544, from 13 Jan 2025).
const T1: &[&str] = &[
    "AU", "BE", "CA", "DK", "FI", "FR", "DE", "IE", "IT", "JP", "NL", "NZ", "NO", "KR", "ES", "SE",
    "TW", "GB",
];
/// The reference notes' computed list of enforced-posture 3A090 licence destinations (§3.1).
pub const SCOPE_2026: &[&str] = &[
    "AE", "AF", "AM", "AZ", "BH", "BY", "CD", "CF", "CN", "CU", "EG", "ER", "GE", "HT", "IQ", "IR",
    "JO", "KG", "KH", "KP", "KW", "KZ", "LA", "LB", "LY", "MD", "MM", "MN", "MO", "NI", "OM", "PK",
    "QA", "RU", "SA", "SD", "SO", "SS", "SY", "TJ", "TM", "UZ", "VE", "VN", "YE", "ZW",
];

// ---- Dates (YYYY-MM-DD strings compare in date order) ---------------------------------------
const OCT_2022: &str = "2022-10-21"; // 87 FR 62186: 3A090 created
const MACAU_2023: &str = "2023-01-18"; // FR Doc 2023-00888: Macau added
const NOV_2023: &str = "2023-11-17"; // 88 FR 73458: TPP/PD test, D:1/D:4/D:5 scope, NAC, HQ rule
const APR_2024: &str = "2024-04-04"; // 89 FR 23876: NAC split into NAC + ACA
const DIFFUSION_EFFECTIVE: &str = "2025-01-13"; // 90 FR 4544 effective (Tier 1 list exists)
const DIFFUSION_COMPLIANCE: &str = "2025-05-15"; // 90 FR 4544 compliance date
const SYRIA_RELAXED: &str = "2025-09-02"; // FR Doc 2025-16724
const CAMBODIA_OUT: &str = "2025-11-07"; // ITAR 126.1 change; EAR conformed 2026-02-03
const CAMBODIA_EAR: &str = "2026-02-03";
const CHINA_2026: &str = "2026-01-15"; // 91 FR 1684
const RUSSIA: &str = "2022-02-24"; // 87 FR 12226
const BELARUS: &str = "2022-03-02"; // 87 FR 13048

fn has(list: &[&str], c: &str) -> bool {
    list.contains(&c)
}
fn d5(c: &str, date: &str) -> bool {
    has(D5, c) || (c == "KH" && date < CAMBODIA_OUT)
}
fn d5_or_macau(c: &str, date: &str) -> bool {
    c == "MO" || d5(c, date)
}
fn t1(c: &str, date: &str) -> bool {
    date >= DIFFUSION_EFFECTIVE && has(T1, c)
}
/// 15 CFR 742.6(a)(6)(iii)(A) (88 FR 73458): D:1, D:4, D:5 and Macau, less A:5/A:6.
pub fn scope_2023(c: &str, date: &str) -> bool {
    (has(D1, c) || has(D4, c) || d5_or_macau(c, date)) && !has(A5, c) && !has(A6, c)
}
/// HK is not a separate destination (85 FR 83765).
fn norm(c: &str) -> &str {
    if c == "HK" {
        "CN"
    } else {
        c
    }
}

// ---- Items --------------------------------------------------------------------------------
#[derive(Clone, Debug)]
pub struct Chip {
    pub tpp: f64,
    pub area: Option<f64>,
    pub dc: bool,
    pub io: Option<f64>,
    pub dram: Option<f64>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Catalog(String, Chip),
    Chip(Chip),
    Model { ops: f64, published: bool },
}

/// Datasheet figures of the eval README's seven catalog parts (reference notes §2.4, vendor
/// datasheets; dense throughput x bit length, highest precision).
pub type CatalogRow = (&'static str, f64, Option<f64>, bool, f64, f64);
pub const EVAL_CATALOG: &[CatalogRow] = &[
    // id, TPP, die area, datacenter, I/O GB/s, DRAM GB/s
    (
        "nvidia-a100-sxm",
        312.0 * 16.0,
        Some(826.0),
        true,
        600.0,
        2039.0,
    ),
    (
        "nvidia-h100-sxm",
        989.5 * 16.0,
        Some(814.0),
        true,
        900.0,
        3350.0,
    ),
    (
        "nvidia-h200",
        989.5 * 16.0,
        Some(814.0),
        true,
        900.0,
        4800.0,
    ),
    ("nvidia-h20", 148.0 * 16.0, Some(814.0), true, 900.0, 4000.0),
    ("nvidia-b200", 4500.0 * 8.0, None, true, 1800.0, 8000.0),
    ("amd-mi300x", 2614.9 * 8.0, None, true, 896.0, 5300.0),
    (
        "nvidia-rtx-4090",
        660.6 * 8.0,
        Some(608.5),
        false,
        64.0,
        1008.0,
    ),
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Class {
    Outside,
    A,
    B,
    Undecided,
}

/// 3A090 as in force on `date` (Supp. No. 1 to Part 774).
fn classify(c: &Chip, date: &str) -> Class {
    if date < OCT_2022 {
        return Class::Outside;
    }
    if date < NOV_2023 {
        // Oct 2022 text: processing performance >= 4800 AND bidirectional I/O >= 600 GB/s
        // ("4800 or more", "600 Gbyte/s or more"); no datacenter distinction.
        if c.tpp < 4800.0 {
            return Class::Outside;
        }
        // I/O rate not given (optional in the contract): not shown to meet the test.
        return match c.io {
            Some(io) if io >= 600.0 => Class::A,
            _ => Class::Outside,
        };
    }
    // Oct 2023 text: "4800 or more"; "1600 or more" and PD "5.92 or more"; b: "2400 or more and
    // less than 4800" / "1.6 or more and less than 5.92"; "3.2 or more and less than 5.92".
    // Non-datacenter ICs are caught only by a.1.
    if c.tpp >= 4800.0 {
        return Class::A;
    }
    if !c.dc {
        return Class::Outside;
    }
    let Some(area) = c.area else {
        return if c.tpp < 1600.0 {
            Class::Outside
        } else {
            Class::Undecided
        };
    };
    let pd = c.tpp / area;
    if c.tpp >= 1600.0 && pd >= 5.92 {
        return Class::A;
    }
    let b1 = (2400.0..4800.0).contains(&c.tpp) && (1.6..5.92).contains(&pd);
    let b2 = c.tpp >= 1600.0 && (3.2..5.92).contains(&pd);
    if b1 || b2 {
        Class::B
    } else {
        Class::Outside
    }
}

// ---- Expectations -------------------------------------------------------------------------
pub const OUTSIDE: &[&str] = &["EAR99", "3A991", "4A994", "5A992"];

#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// Acceptable ECCNs (README matching); empty = null.
    pub eccn: &'static [&'static str],
    pub outcome: &'static str,
    pub exception: Option<&'static str>,
    pub notify: bool,
    pub policy: Option<&'static str>,
    /// Why the reading behind this cell is uncertain, when it is.
    pub uncertain: Option<&'static str>,
}

fn plain(eccn: &'static [&'static str], outcome: &'static str) -> Expect {
    Expect {
        eccn,
        outcome,
        exception: None,
        notify: false,
        policy: None,
        uncertain: None,
    }
}
fn licence(eccn: &'static [&'static str], policy: &'static str) -> Expect {
    Expect {
        policy: Some(policy),
        ..plain(eccn, "license_required")
    }
}
fn exception(eccn: &'static [&'static str], sym: &'static str, notify: bool) -> Expect {
    Expect {
        exception: Some(sym),
        notify,
        ..plain(eccn, "license_exception")
    }
}

pub struct Ctx<'a> {
    pub date: &'a str,
    pub codified: bool,
    pub from: &'a str,
    pub dest: &'a str,
    /// `None`: not given.
    pub hq: Option<&'a str>,
}

/// The expected answer for one cell.
pub fn expect(item: &Item, cx: &Ctx<'_>) -> Expect {
    let dest = norm(cx.dest);
    let from = norm(cx.from);
    let answer = |hq: &str| match item {
        Item::Model { ops, published } => model(*ops, *published, cx, from, dest, hq),
        Item::Catalog(_, c) | Item::Chip(c) => chip(item, c, cx, from, dest, hq),
    };
    match cx.hq {
        Some(h) => answer(norm(h)),
        None => {
            // Headquarters not given: no knowledge of a Macau/D:5 parent; the end user is
            // taken to be headquartered where it is located. Uncertain where a Chinese or a
            // non-Tier 1 headquarters would change the answer.
            let mut e = answer(dest);
            let fields = |x: &Expect| (x.outcome, x.exception, x.notify, x.policy);
            if ["CN", "BR"]
                .iter()
                .any(|h| fields(&answer(h)) != fields(&e))
            {
                e.uncertain = e.uncertain.or(Some(
                    "end_user.hq_country not given: located = headquartered",
                ));
            }
            e
        }
    }
}

fn embargo(dest: &str, date: &str) -> Option<Expect> {
    // Part 746 comprehensive embargoes; the README's convention: prohibited, presumption of
    // denial, no licence exceptions.
    if has(&["CU", "IR", "KP"], dest) {
        return Some(licence_prohibited(None));
    }
    if dest == "SY" && date < SYRIA_RELAXED {
        return Some(licence_prohibited(Some(
            "Syria's embargo and its Sept 2025 end are outside the README's list",
        )));
    }
    None
}

fn licence_prohibited(uncertain: Option<&'static str>) -> Expect {
    Expect {
        policy: Some("presumption_of_denial"),
        uncertain,
        ..plain(&[], "prohibited")
    }
}

fn model(ops: f64, published: bool, cx: &Ctx<'_>, from: &str, dest: &str, hq: &str) -> Expect {
    // 15 CFR 734.7: published weights are not subject to the EAR.
    if published {
        return plain(&[], "not_subject");
    }
    // 4E091 (90 FR 4544): "more than 10^26 operations", codified text from 15 May 2025.
    let applies = cx.codified && cx.date >= DIFFUSION_COMPLIANCE;
    let ctrl = applies && ops > 1e26;
    // Enforced posture (and codified before compliance): weights above the threshold accept
    // EAR99 or 4E091 (README); at or below it, EAR99.
    let eccn: &'static [&'static str] = if ctrl {
        &["4E091"]
    } else if ops > 1e26 {
        &["EAR99", "4E091"]
    } else {
        &["EAR99"]
    };
    let uncertain = if applies && ops == 1e26 {
        Some("4E091 at exactly 10^26 operations ('more than' read strictly)")
    } else {
        None
    };
    let with = |mut e: Expect| {
        e.eccn = if e.outcome == "prohibited" {
            eccn
        } else {
            e.eccn
        };
        e.uncertain = e.uncertain.or(uncertain);
        e
    };
    if from == "US" && dest == "US" {
        return with(plain(eccn, "nlr"));
    }
    if let Some(p) = embargo(dest, cx.date) {
        return with(p);
    }
    if !ctrl || dest == "US" {
        return with(plain(eccn, "nlr"));
    }
    // License Exception AIA (15 CFR 740.27(a)): Tier 1 destinations, entity and ultimate
    // parent headquartered in a Tier 1 destination (the US included).
    if t1(dest, cx.date) && (t1(hq, cx.date) || hq == "US") {
        let mut x = exception(eccn, "AIA", true);
        x.uncertain = Some("AIA certification for model weights (740.27(a) names (a)(1) items)");
        return with(x);
    }
    with(licence(eccn, "presumption_of_denial"))
}

fn chip(item: &Item, c: &Chip, cx: &Ctx<'_>, from: &str, dest: &str, hq: &str) -> Expect {
    let date = cx.date;
    let catalog = matches!(item, Item::Catalog(..));
    let class = classify(c, date);
    let eccn: &'static [&'static str] = match (class, catalog) {
        (Class::A, false) => &["3A090.a"],
        (Class::A, true) => &["3A090.a", "4A090.a"],
        (Class::B, false) => &["3A090.b"],
        (Class::B, true) => &["3A090.b", "4A090.b"],
        (Class::Undecided, _) => &[],
        _ => OUTSIDE,
    };
    let mut unc: Option<&'static str> = match class {
        Class::B => Some("3A090.b thresholds are [S]/[M] in the notes"),
        _ if (OCT_2022..NOV_2023).contains(&date) && c.tpp >= 4800.0 && c.io.is_none() => {
            Some("I/O rate not given for the Oct 2022 test: taken as not met")
        }
        _ => None,
    };
    let e = |mut x: Expect, unc: Option<&'static str>| {
        x.uncertain = x.uncertain.or(unc);
        x
    };
    // 15 CFR 734.13: a shipment inside the US is not an export.
    if from == "US" && dest == "US" {
        return e(plain(eccn, "nlr"), unc);
    }
    if let Some(mut p) = embargo(dest, date) {
        p.eccn = eccn;
        return e(p, unc);
    }
    // Russia/Belarus (15 CFR 746.8): licence for CCL items and the EAR99 ICs/computers of
    // Supp. No. 4, policy of denial, no licence exceptions.
    if (dest == "RU" && date >= RUSSIA) || (dest == "BY" && date >= BELARUS) {
        return e(
            licence(eccn, "presumption_of_denial"),
            Some("746.8 coverage of EAR99 hardware is [M]"),
        );
    }
    match class {
        Class::Outside => return e(plain(eccn, "nlr"), unc),
        Class::Undecided => {
            return Expect {
                eccn: &[],
                ..plain(&[], "undetermined")
            }
        }
        _ => {}
    }
    let diffusion = cx.codified && date >= DIFFUSION_COMPLIANCE && class == Class::A;
    let hq_d5 = d5_or_macau(hq, date);
    let dest_d5 = d5_or_macau(dest, date);
    if (CAMBODIA_OUT..CAMBODIA_EAR).contains(&date) && (dest == "KH" || hq == "KH") {
        unc = unc.or(Some(
            "Cambodia between the ITAR change and the EAR conforming rule",
        ));
    }

    // ---- Oct 2022 version: China (and Macau from Jan 2023), presumption of denial, no LE.
    if date < NOV_2023 {
        let required = dest == "CN" || (dest == "MO" && date >= MACAU_2023);
        if dest == "MO" && date >= MACAU_2023 {
            unc = unc.or(Some("Macau's 2023 addition date"));
        }
        return if required {
            e(licence(eccn, "presumption_of_denial"), unc)
        } else {
            e(plain(eccn, "nlr"), unc)
        };
    }

    // ---- licence requirement (742.6(a)(6)(iii); HQ rule 744.23(a)(3)/742.6; Diffusion)
    let by_dest = scope_2023(dest, date);
    let by_hq = hq_d5 && dest != "US";
    // The HQ rule reaches entities located anywhere, A:5/A:6 included ("all destinations
    // worldwide": BIS guidance of 31 May 2026 as reported; reference notes 3.1).
    if !(by_dest || by_hq || (diffusion && dest != "US")) {
        return e(plain(eccn, "nlr"), unc);
    }

    // ---- licence exceptions (15 CFR 740.8; 740.27)
    let nac_item = !(class == Class::A && c.dc);
    if date < APR_2024 {
        // NAC as first issued: every licence destination; notification for Macau/D:5 or a
        // Macau/D:5 headquarters.
        if nac_item && (by_dest || by_hq) {
            return e(exception(eccn, "NAC", dest_d5 || hq_d5), unc);
        }
    } else {
        // ACA: "to or within any destination specified in Country Groups D:1 or D:4 (except
        // Macau and D:5)" - also D:1/D:4 countries that are A:5/A:6 (Israel) when only the
        // Diffusion text requires the licence.
        let d1_d4 = (has(D1, dest) || has(D4, dest)) && !dest_d5;
        if nac_item && d1_d4 && !hq_d5 {
            if !by_dest {
                unc = unc.or(Some(
                    "ACA for a D:4 + A:6 destination under the Diffusion text",
                ));
            }
            return e(exception(eccn, "ACA", false), unc);
        }
        if nac_item && (dest_d5 || hq_d5) {
            return e(exception(eccn, "NAC", true), unc);
        }
    }
    if diffusion && t1(dest, date) && (t1(hq, date) || hq == "US") {
        return e(exception(eccn, "AIA", true), unc);
    }
    if diffusion && nac_item && !by_dest && !by_hq {
        unc = unc.or(Some(
            "whether the Diffusion text's ACA covers non-datacenter ICs here",
        ));
    }

    // ---- review policy (742.6(b)(10))
    if dest_d5 || hq_d5 {
        let china_2026 = date >= CHINA_2026
            && (dest == "CN" || dest == "MO")
            && from == "US"
            && (!d5(hq, date) || hq == "CN")
            && c.tpp < 21000.0;
        if china_2026 {
            return match c.dram {
                Some(d) if d < 6500.0 => e(licence(eccn, "case_by_case"), unc),
                Some(_) => e(licence(eccn, "presumption_of_denial"), unc),
                None => e(
                    licence(eccn, "presumption_of_denial"),
                    Some("DRAM bandwidth not given for the 91 FR 1684 test"),
                ),
            };
        }
        return e(licence(eccn, "presumption_of_denial"), unc);
    }
    if by_dest {
        return e(licence(eccn, "presumption_of_approval"), unc);
    }
    // Diffusion: Tier 2 presumption of approval (allocation assumed available); Tier 1
    // without AIA: policy not collected.
    if t1(dest, date) {
        unc = unc.or(Some(
            "Diffusion review policy for Tier 1 licence applications",
        ));
    }
    e(licence(eccn, "presumption_of_approval"), unc)
}

// ---- The engine side ----------------------------------------------------------------------
pub fn case_input(item: &Item, cx: &Ctx<'_>) -> CaseInput {
    let spec = match item {
        Item::Catalog(id, _) => ItemSpec {
            catalog: Some(id.clone()),
            ..ItemSpec::default()
        },
        Item::Chip(c) => ItemSpec {
            chip: Some(ChipSpec {
                tpp: Some(c.tpp),
                die_area_mm2: c.area,
                datacenter: Some(c.dc),
                io_bandwidth_gbps: c.io,
                dram_bandwidth_gbps: c.dram,
                ..ChipSpec::default()
            }),
            ..ItemSpec::default()
        },
        Item::Model { ops, published } => ItemSpec {
            model: Some(ModelSpec {
                training_operations: Some(*ops),
                published: Some(*published),
            }),
            ..ItemSpec::default()
        },
    };
    CaseInput {
        id: serde_json::Value::Null,
        date: cx.date.to_string(),
        item: spec,
        export_from: Some(cx.from.to_string()),
        destination: cx.dest.to_string(),
        end_user: Some(EndUserInput {
            name: Some("Matrix".into()),
            hq_country: cx.hq.map(str::to_string),
            screening_hits: Vec::new(),
        }),
        posture: Some(if cx.codified { "codified" } else { "enforced" }.into()),
        ..CaseInput::default()
    }
}

/// ECCN matching of the eval README: case-insensitive; an output more specific at a paragraph
/// boundary matches; a `.z` output does not match an expectation without `.z`; null-likes.
pub fn eccn_matches(out: Option<&str>, exp: &[&str]) -> bool {
    let out = out.map(str::to_ascii_uppercase);
    if exp.is_empty() {
        return out
            .as_deref()
            .is_none_or(|o| ["", "N/A", "NONE", "NOT_SUBJECT"].contains(&o));
    }
    let Some(o) = out else { return false };
    exp.iter().any(|e| {
        let e = e.to_ascii_uppercase();
        if o.contains(".Z") && !e.contains(".Z") {
            return false;
        }
        o == e || (o.starts_with(&e) && o[e.len()..].starts_with('.'))
    })
}

/// Items of the matrix: every catalog chip, a grid of made-up chips around each threshold,
/// exact-boundary pairs, bandwidth variants and model weights around 10^26.
pub fn items(rb: &Rulebook) -> Vec<Item> {
    let mut out = Vec::new();
    for entry in rb.catalog() {
        let Some(raw) = &entry.chip else { continue };
        let chip = match EVAL_CATALOG.iter().find(|e| e.0 == entry.id) {
            Some(&(_, tpp, area, dc, io, dram)) => Chip {
                tpp,
                area,
                dc,
                io: Some(io),
                dram: Some(dram),
            },
            None => Chip {
                tpp: raw
                    .throughput
                    .iter()
                    .map(|t| t.dense * t.bits as f64)
                    .fold(0.0, f64::max),
                area: raw.die_area_mm2,
                dc: raw.datacenter,
                io: raw.io_bandwidth_gbps,
                dram: raw.dram_bandwidth_gbps,
            },
        };
        out.push(Item::Catalog(entry.id.clone(), chip));
    }
    let tpps = [
        1000.0, 1599.99, 1600.0, 2399.99, 2400.0, 3000.0, 4799.99, 4800.0, 6000.0, 20999.99,
        21000.0, 30000.0,
    ];
    let pds = [1.0, 1.59, 1.6, 3.19, 3.2, 5.9199, 5.92, 8.0];
    for &tpp in &tpps {
        for &pd in &pds {
            for dc in [true, false] {
                out.push(Item::Chip(Chip {
                    tpp,
                    area: Some(tpp / pd),
                    dc,
                    io: Some(900.0),
                    dram: Some(4000.0),
                }));
            }
        }
    }
    // Exact boundaries (tpp / area is exactly the threshold in decimal, so the correctly
    // rounded quotient equals the threshold literal) and just-off values, unrounded.
    let pairs = [
        (2960.0, 500.0),
        (5920.0, 1000.0),
        (1776.0, 300.0),
        (1600.0, 500.0),
        (3200.0, 1000.0),
        (2400.0, 750.0),
        (2400.0, 1500.0),
        (1600.0, 1000.0),
        (4000.0, 2500.0),
        (4800.0, 1500.0),
        (4800.0, 3000.0),
        (1600.0, 270.3),
        (2400.0, 1500.5),
        (3200.0, 1000.2),
        (2960.0, 500.01),
    ];
    for (tpp, area) in pairs {
        for dc in [true, false] {
            out.push(Item::Chip(Chip {
                tpp,
                area: Some(area),
                dc,
                io: None,
                dram: None,
            }));
        }
    }
    // Bandwidth variants: the Oct 2022 I/O test and the Jan 2026 DRAM test, fields absent.
    for (tpp, area, dc) in [
        (6000.0, 750.0, true),
        (9000.0, 700.0, false),
        (20999.99, 1500.0, true),
        (21000.0, 1500.0, true),
    ] {
        for io in [None, Some(599.99), Some(600.0)] {
            for dram in [None, Some(6499.99), Some(6500.0)] {
                out.push(Item::Chip(Chip {
                    tpp,
                    area: Some(area),
                    dc,
                    io,
                    dram,
                }));
            }
        }
    }
    for ops in [9.99e25, 1e26, 1.000001e26, 5e26] {
        for published in [false, true] {
            out.push(Item::Model { ops, published });
        }
    }
    out
}

/// Every effective / compliance / non-enforcement / group-change date, the day before and
/// the day itself, plus a few quiet days.
pub const DATES: &[&str] = &[
    "2022-06-01",
    "2022-10-20",
    "2022-10-21",
    "2023-01-17",
    "2023-01-18",
    "2023-11-16",
    "2023-11-17",
    "2024-04-03",
    "2024-04-04",
    "2024-12-01",
    "2024-12-02",
    "2025-01-12",
    "2025-01-13",
    "2025-05-12",
    "2025-05-13",
    "2025-05-14",
    "2025-05-15",
    "2025-09-01",
    "2025-09-02",
    "2025-11-06",
    "2025-11-07",
    "2026-01-14",
    "2026-01-15",
    "2026-02-02",
    "2026-02-03",
    "2026-07-01",
];

/// Destinations from every group that matters.
pub const DESTS: &[&str] = &[
    "US", "FR", "DE", "GB", "JP", "TW", "IN", "TR", "IL", "SG", "MX", "CY", "ZA", "BR", "MY", "CN",
    "HK", "MO", "RU", "BY", "CU", "IR", "KP", "SY", "VE", "ZW", "AF", "LB", "IQ", "MM", "NI", "KH",
    "VN", "MN", "KZ", "AE", "SA", "QA", "EG", "OM", "PK",
];

/// A smaller set for crossing with every item.
pub const DESTS_SHORT: &[&str] = &[
    "US", "FR", "IN", "IL", "BR", "CN", "HK", "MO", "QA", "MN", "ZW", "KP", "RU",
];
