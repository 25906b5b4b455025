//! Integration tests of the screening crate on the real list files in `../shared/data/screening`
//! and the public evaluation set in `../shared/eval/screening`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[path = "support/stress.rs"]
mod stress;

use proptest::prelude::*;
use stackport_screening::diff::diff;
use stackport_screening::model::{AliasStrength, ListSource, PartyType};
use stackport_screening::normalize::{normalized, sorted_key};
use stackport_screening::{parse, Query, Screener, DEFAULT_THRESHOLD};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn data(rel: &str) -> PathBuf {
    shared().join("data/screening").join(rel)
}

/// A directory holding symbolic links to the given list paths, as the eval README builds it.
fn lists_dir(paths: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    for p in paths {
        let src = data(p);
        let dst = d.path().join(p);
        std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(&src, &dst).expect("symlink");
    }
    d
}

fn eval_lists() -> tempfile::TempDir {
    lists_dir(&[
        "ofac/sdn_2021-07-07",
        "ofac/cons_2025-12-19",
        "csl/consolidated_2023-11_partial.csv",
    ])
}

#[test]
fn ofac_sdn_2021_set_parses_with_every_quirk() {
    let d = lists_dir(&["ofac/sdn_2021-07-07"]);
    let s = parse::load_dir(d.path()).expect("loads");
    // 8,976 primary records (README), the trailing 0x1A not read as a record.
    assert_eq!(s.entities.len(), 8976);
    assert_eq!(
        s.sources
            .iter()
            .find(|f| f.format == "ofac-sdn")
            .map(|f| f.records),
        Some(8976)
    );
    let by_id: HashMap<&str, _> = s.entities.iter().map(|e| (e.id.as_str(), e)).collect();
    // `-0- ` type means entity; weak a.k.a. only in the remarks.
    let bnc = by_id["ofac-sdn:306"];
    assert_eq!(bnc.name, "BANCO NACIONAL DE CUBA");
    assert_eq!(bnc.party_type, Some(PartyType::Entity));
    assert!(bnc
        .aliases
        .iter()
        .any(|a| a.name == "BNC" && a.strength == AliasStrength::WeakAka));
    // Strong aliases come from alt.csv, addresses from add.csv with countries resolved.
    let aero = by_id["ofac-sdn:36"];
    assert!(aero
        .aliases
        .iter()
        .any(|a| a.name == "AERO-CARIBBEAN" && a.strength == AliasStrength::Aka));
    assert!(aero.countries.contains(&"CU".to_string()));
    // Several programs in one field: `SDGT] [IFSR` style.
    assert!(
        s.entities.iter().any(|e| e.programs.len() >= 2),
        "some entry lists several programs"
    );
    assert!(s.entities.iter().all(|e| e
        .programs
        .iter()
        .all(|p| !p.contains('[') && !p.contains(']'))));
    // Remarks cut at ~1,000 characters continue in sdn_comments.csv, joined without a separator.
    let z = by_id["ofac-sdn:12300"];
    assert!(
        z.remarks.as_deref().unwrap_or("").len() > 1000,
        "remarks were extended from sdn_comments.csv"
    );
    // DOB and nationality mined from the remarks.
    let abbas = by_id["ofac-sdn:2674"];
    assert_eq!(abbas.dates_of_birth, vec!["10 Dec 1948"]);
    let fka = s
        .entities
        .iter()
        .flat_map(|e| &e.aliases)
        .filter(|a| a.strength == AliasStrength::Fka)
        .count();
    assert_eq!(fka, 369, "fka count as in alt.csv");
    // No field kept the literal null marker.
    assert!(s
        .entities
        .iter()
        .all(|e| !e.name.contains("-0-")
            && e.remarks.as_deref().is_none_or(|r| !r.starts_with("-0-"))));
}

#[test]
fn files_without_trailing_ctrl_z_and_consolidated_ids() {
    let d = lists_dir(&["ofac/sdn_tiny_2025-05", "ofac/cons_2025-12-19"]);
    let s = parse::load_dir(d.path()).expect("loads");
    assert_eq!(
        s.entities
            .iter()
            .filter(|e| e.id.starts_with("ofac-sdn:"))
            .count(),
        17
    );
    assert_eq!(
        s.entities
            .iter()
            .filter(|e| e.id.starts_with("ofac-cons:"))
            .count(),
        442
    );
    assert!(s
        .entities
        .iter()
        .filter(|e| e.id.starts_with("ofac-cons:"))
        .all(|e| e.list == ListSource::NonSdn));
    assert_eq!(
        s.sources
            .iter()
            .filter(|f| f.data_date.as_deref() == Some("2025-12-19"))
            .count(),
        4
    );
}

#[test]
fn csl_current_layout_with_repeated_header_multiline_fields_and_cut_last_row() {
    let d = lists_dir(&["csl/consolidated_2023-11_partial.csv"]);
    let s = parse::load_dir(d.path()).expect("loads");
    let src = &s.sources[0];
    assert_eq!(src.records, 4226, "4,226 complete rows");
    // Seven OFAC parties sit on two non-SDN lists under one `_id`: one entity each, listed on both.
    assert_eq!(s.entities.len(), 4219);
    let gazprombank = s
        .entities
        .iter()
        .find(|e| e.id == "csl:17016")
        .expect("merged entity");
    assert!(!gazprombank.also_listed.is_empty());
    assert_eq!(src.format, "csl");
    assert!(src.warnings.iter().any(|w| w.contains("repeated header")));
    assert!(src.warnings.iter().any(|w| w.contains("cut short")));
    let count = |l: ListSource| {
        s.entities
            .iter()
            .filter(|e| e.list == l || e.also_listed.contains(&l))
            .count()
    };
    // 1,738 SDN rows hold 1,737 distinct ids (one ent_num is listed twice).
    assert_eq!(count(ListSource::Sdn), 1737);
    assert_eq!(count(ListSource::EntityList), 919);
    assert_eq!(count(ListSource::DeniedPersons), 577);
    assert_eq!(count(ListSource::MilitaryEndUser), 71);
    // Names are trimmed and lose the Entity List's "and any successor ..." tail.
    assert!(s
        .entities
        .iter()
        .all(|e| e.name == e.name.trim() && !e.name.to_lowercase().contains("any successor")));
    assert!(
        s.entities
            .iter()
            .any(|e| e.name == "Government Flying Service"),
        "multi-line quoted name read as one field"
    );
    // Treasury rows keep the OFAC ent_num as id.
    assert!(s
        .entities
        .iter()
        .any(|e| e.id == "csl:18272" && e.list == ListSource::Sectoral));
    // Alias list grammar: "A; B; and C" gives C, not "and C".
    assert!(s
        .entities
        .iter()
        .flat_map(|e| &e.aliases)
        .all(|a| !a.name.starts_with("and ")));
}

#[test]
fn csl_legacy_layout_and_stable_ids() {
    let d = lists_dir(&["csl/csl_2019-12_legacy_format.csv"]);
    let a = parse::load_dir(d.path()).expect("loads");
    let b = parse::load_dir(d.path()).expect("loads again");
    assert_eq!(a.entities.len(), 115);
    assert_eq!(a.sources[0].format, "csl-legacy");
    let ids: Vec<_> = a.entities.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        ids,
        b.entities.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        "derived ids are stable"
    );
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "derived ids are unique"
    );
    assert!(
        a.entities
            .iter()
            .any(|e| e.name == "ADRIAN MANUEL HERNANDEZ"),
        "leading space trimmed"
    );
}

#[test]
fn bis_dpl_tab_file() {
    let d = lists_dir(&["bis/dpl_2023-11.txt"]);
    let s = parse::load_dir(d.path()).expect("loads");
    assert_eq!(s.entities.len(), 665);
    assert!(s
        .entities
        .iter()
        .all(|e| e.id.starts_with("bis-dpl:") && e.list == ListSource::DeniedPersons));
    assert!(s.entities.iter().any(|e| e.name == "I. ASH"));
    let ids: HashSet<_> = s.entities.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), 665, "ids are unique");
    // The real typo `3033-09-30` in Last_Update does not become the data date.
    assert!(s.sources[0]
        .data_date
        .as_deref()
        .is_some_and(|d| d < "2030"));
}

#[test]
fn malformed_files_fail_with_file_line_and_reason_and_load_nothing() {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(d.path().join("ofac")).expect("mkdir");
    std::fs::write(d.path().join("ofac/sdn.csv"), "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n37,\"BROKEN\",-0- \r\n").expect("write");
    let e = parse::load_dir(d.path()).expect_err("malformed SDN row");
    assert!(e.path.ends_with("ofac/sdn.csv"));
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("expected 12 fields"), "{e}");

    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(d.path().join("csl.csv"), "_id,source,name\n\"1\",\"Entity List (EL) - Bureau of Industry and Security\",\"ACME\"\n\"2\",\"x\"\n\"3\",\"x\",\"B\"\n").expect("write");
    let e = parse::load_dir(d.path()).expect_err("short CSL row in the middle");
    assert_eq!(e.line, 3, "{e}");

    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(
        d.path().join("sdn.csv"),
        "x,\"NAME\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n",
    )
    .expect("write");
    let e = parse::load_dir(d.path()).expect_err("non-numeric ent_num");
    assert!(e.reason.contains("ent_num"), "{e}");

    let missing = parse::load_dir(Path::new("/nonexistent/lists")).expect_err("missing dir");
    assert!(
        missing.reason.contains("cannot read directory"),
        "{missing}"
    );
}

#[test]
fn screening_explains_itself_and_respects_top_and_threshold() {
    let d = eval_lists();
    let snap = parse::load_dir(d.path()).expect("loads");
    let s = Screener::new(&snap);
    let r = s
        .screen(
            &Query {
                name: "Banco Nacional de Cuba".into(),
                ..Default::default()
            },
            5,
            DEFAULT_THRESHOLD,
        )
        .expect("screens");
    let top = &r.hits[0];
    assert!(
        top.entity == "ofac-sdn:306" || top.entity == "csl:306",
        "{}",
        top.entity
    );
    assert_eq!(top.score, 1.0);
    assert_eq!(top.list, "SDN");
    assert!(top
        .explanation
        .alignment
        .iter()
        .any(|p| p.query.as_deref() == Some("banco") && p.candidate.as_deref() == Some("banco")));
    assert!(top.explanation.features.iter().any(|f| f.feature == "name"));
    assert_eq!(r.algorithm, stackport_screening::ALGORITHM_VERSION);
    assert_eq!(r.snapshot_hashes.len(), snap.sources.len());
    // Reordered "SURNAME, Given", accents and case do not matter.
    let r = s
        .screen(
            &Query {
                name: "Yusuf Ma'tuq".into(),
                ..Default::default()
            },
            3,
            DEFAULT_THRESHOLD,
        )
        .expect("screens");
    assert!(
        r.hits.first().is_some_and(|h| h.name == "MA'TUQ, Yusuf"),
        "{:?}",
        r.hits.first()
    );
    // Every score is in [0,1], sorted, above the threshold, at most `top`.
    let r = s
        .screen(
            &Query {
                name: "Muhammad".into(),
                ..Default::default()
            },
            4,
            0.3,
        )
        .expect("screens");
    assert!(r.hits.len() <= 4);
    assert!(r.hits.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(r.hits.iter().all(|h| (0.3..=1.0).contains(&h.score)));
    // A wrong party type lowers the score and says so.
    let typed = s
        .screen(
            &Query {
                name: "BANCO NACIONAL DE CUBA".into(),
                party_type: Some(PartyType::Individual),
                ..Default::default()
            },
            1,
            0.0,
        )
        .expect("screens");
    assert!(typed.hits[0].score < 1.0);
    assert!(typed.hits[0]
        .explanation
        .features
        .iter()
        .any(|f| f.feature == "type" && f.effect < 0.0));
}

#[test]
fn numbers_in_names_are_kept() {
    let d = eval_lists();
    let snap = parse::load_dir(d.path()).expect("loads");
    let s = Screener::new(&snap);
    // A listed name with digits must not match the same words with other digits at 1.0.
    let e = snap
        .entities
        .iter()
        .find(|e| {
            e.name
                .split_whitespace()
                .any(|w| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_digit()))
                && e.name.split_whitespace().count() >= 3
        })
        .expect("a listed name with a number");
    let changed: String = e
        .name
        .split_whitespace()
        .map(|w| {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                "97531"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let r = s
        .screen(
            &Query {
                name: changed.clone(),
                ..Default::default()
            },
            3,
            0.0,
        )
        .expect("screens");
    let same = r
        .hits
        .iter()
        .find(|h| h.entity == e.id)
        .map(|h| h.score)
        .unwrap_or(0.0);
    assert!(same < 1.0, "{changed:?} scored {same} against {:?}", e.name);
}

#[test]
fn bad_queries_are_refused() {
    let d = lists_dir(&["ofac/sdn_tiny_2025-05"]);
    let s = Screener::new(&parse::load_dir(d.path()).expect("loads"));
    let q = |name: &str, country: Option<&str>| {
        s.screen(
            &Query {
                name: name.into(),
                country: country.map(String::from),
                ..Default::default()
            },
            5,
            0.5,
        )
    };
    assert_eq!(
        q("", None).err(),
        Some(stackport_screening::QueryError::EmptyName)
    );
    assert_eq!(
        q(" ,.- ", None).err(),
        Some(stackport_screening::QueryError::EmptyName)
    );
    assert_eq!(
        q(&"x".repeat(10_000), None).err(),
        Some(stackport_screening::QueryError::NameTooLong(10_000))
    );
    assert!(matches!(
        q("ACME", Some("XX")).err(),
        Some(stackport_screening::QueryError::InvalidCountry(_))
    ));
    assert!(
        q("ACME", Some("cu")).is_ok(),
        "lower-case codes are accepted"
    );
}

#[test]
fn rescreening_sees_only_the_given_entities() {
    let d = lists_dir(&["ofac/sdn_tiny_2025-05"]);
    let snap = parse::load_dir(d.path()).expect("loads");
    let s = Screener::new(&snap);
    let e = &snap.entities[0];
    let q = Query {
        name: e.name.clone(),
        ..Default::default()
    };
    let only: HashSet<String> = [e.id.clone()].into();
    let r = s.screen_against(&q, &only, 5, 0.5).expect("screens");
    assert_eq!(
        r.hits.iter().map(|h| h.entity.as_str()).collect::<Vec<_>>(),
        vec![e.id.as_str()]
    );
    let other: HashSet<String> = [snap.entities[1].id.clone()].into();
    let r = s.screen_against(&q, &other, 5, 0.99).expect("screens");
    assert!(r.hits.iter().all(|h| h.entity != e.id));
}

#[test]
fn snapshot_diff_finds_added_removed_changed() {
    let d = lists_dir(&["ofac/sdn_tiny_2025-05"]);
    let old = parse::load_dir(d.path()).expect("loads").entities;
    assert!(diff(&old, &old).is_empty());
    let mut new = old.clone();
    let removed = new.remove(0);
    new[0].aliases.push(stackport_screening::Alias {
        name: "NEW ALIAS".into(),
        strength: AliasStrength::Aka,
    });
    let mut added = new[1].clone();
    added.id = "ofac-sdn:99999999".into();
    new.push(added);
    let dd = diff(&old, &new);
    assert_eq!(dd.removed, vec![removed.id]);
    assert_eq!(dd.changed, vec![new[0].id.clone()]);
    assert_eq!(dd.added, vec!["ofac-sdn:99999999".to_string()]);
}

/// The accuracy bar of the screening issue, on the public evaluation set: at the default
/// threshold, recall@1 ≥ 0.98 on positives and a false-positive rate ≤ 1% on negatives.
#[test]
fn public_evaluation_set_meets_the_bars() {
    let d = eval_lists();
    let s = Screener::new(&parse::load_dir(d.path()).expect("loads"));
    let eval = shared().join("eval/screening");
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for r in csv::Reader::from_path(eval.join("public_expected.csv"))
        .expect("expected")
        .records()
    {
        let r = r.expect("row");
        expected.insert(
            r[0].to_string(),
            r[2].split('|')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect(),
        );
    }
    let (mut pos, mut hit1, mut neg, mut fp) = (0, 0, 0, 0);
    for r in csv::Reader::from_path(eval.join("public_queries.csv"))
        .expect("queries")
        .records()
    {
        let r = r.expect("row");
        let q = Query {
            name: r[1].to_string(),
            party_type: PartyType::parse(&r[2]),
            country: Some(r[3].to_string()).filter(|c| !c.is_empty()),
            ..Default::default()
        };
        let res = s.screen(&q, 10, DEFAULT_THRESHOLD).expect("screens");
        let exp = &expected[&r[0]];
        if exp.is_empty() {
            neg += 1;
            fp += usize::from(!res.hits.is_empty());
        } else {
            pos += 1;
            hit1 += usize::from(res.hits.first().is_some_and(|h| exp.contains(&h.entity)));
        }
    }
    let recall = hit1 as f64 / pos as f64;
    let fpr = fp as f64 / neg as f64;
    assert_eq!((pos, neg), (1500, 1500));
    assert!(recall >= 0.98, "recall@1 {recall}");
    assert!(fpr <= 0.01, "false-positive rate {fpr}");
}

proptest! {
    #[test]
    fn normalisation_is_idempotent(s in "\\PC{0,60}") {
        let once = normalized(&s);
        prop_assert_eq!(normalized(&once), once);
    }

    #[test]
    fn normalisation_ignores_case(s in "[A-Za-z ,.'-]{0,40}") {
        prop_assert_eq!(normalized(&s.to_uppercase()), normalized(&s.to_lowercase()));
    }

    #[test]
    fn sorted_key_ignores_token_order(words in proptest::collection::vec("[a-z]{3,9}", 1..6), seed in any::<u64>()) {
        let mut shuffled = words.clone();
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = ((seed >> (i % 60)) as usize) % (i + 1);
            shuffled.swap(i, j);
        }
        prop_assert_eq!(sorted_key(&words.join(" ")), sorted_key(&shuffled.join(" ")));
    }

    #[test]
    fn screening_scores_are_order_insensitive(pick in 0usize..10_000, seed in any::<u64>()) {
        let (snap, s) = tiny();
        let people: Vec<_> = snap.entities.iter().filter(|e| e.party_type == Some(PartyType::Individual)).collect();
        let e = people[pick % people.len()];
        let mut words: Vec<&str> = e.name.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let n = words.len();
        for i in (1..n).rev() {
            words.swap(i, ((seed >> (i % 60)) as usize) % (i + 1));
        }
        let score = |name: String| s.screen(&Query { name, ..Default::default() }, 50, 0.0).expect("screens").hits.iter().find(|h| h.entity == e.id).map(|h| h.score);
        prop_assert_eq!(score(words.join(" ")), score(e.name.clone()));
        prop_assert_eq!(score(e.name.clone()), Some(1.0));
    }
}

fn tiny() -> &'static (stackport_screening::Snapshot, Screener) {
    static T: std::sync::OnceLock<(stackport_screening::Snapshot, Screener)> =
        std::sync::OnceLock::new();
    T.get_or_init(|| {
        let snap = parse::load_dir(&data("ofac/sdn_tiny_2025-05")).expect("loads");
        let s = Screener::new(&snap);
        (snap, s)
    })
}

/// A snapshot of the given (name, type) rows, with filler names so that token weights are
/// not those of a three-name list.
fn snapshot_of(rows: &[(&str, PartyType)]) -> stackport_screening::Snapshot {
    let filler = [
        "BROWN, Robert",
        "JONES, Mary",
        "DOE, John",
        "MILLER, Anna",
        "DAVIS, Peter",
        "WILSON, James",
        "TAYLOR, Jane",
        "CLARK, Thomas",
        "LEWIS, Susan",
        "WALKER, Paul",
        "HALL, Robert",
        "YOUNG, John",
        "KING, Jane",
        "WRIGHT, Mark",
        "GREEN, David",
    ];
    let entities = rows
        .iter()
        .copied()
        .chain(filler.iter().map(|n| (*n, PartyType::Individual)))
        .enumerate()
        .map(|(i, (name, t))| stackport_screening::Entity {
            id: format!("test:{i}"),
            list: ListSource::Sdn,
            also_listed: Vec::new(),
            party_type: Some(t),
            name: name.to_string(),
            aliases: Vec::new(),
            addresses: Vec::new(),
            countries: Vec::new(),
            programs: Vec::new(),
            dates_of_birth: Vec::new(),
            identifiers: Vec::new(),
            remarks: None,
            source_url: None,
            snapshot_date: None,
            snapshot_hash: String::new(),
        })
        .collect();
    stackport_screening::Snapshot {
        sources: Vec::new(),
        entities,
    }
}

fn top_hit(s: &Screener, name: &str) -> Option<(String, f64)> {
    s.screen(
        &Query {
            name: name.into(),
            ..Default::default()
        },
        3,
        DEFAULT_THRESHOLD,
    )
    .expect("screens")
    .hits
    .first()
    .map(|h| (h.name.clone(), h.score))
}

#[test]
fn initials_stand_for_given_names_but_confirm_nothing() {
    let s = Screener::new(&snapshot_of(&[
        ("SMITH, John Robert", PartyType::Individual),
        ("SMYTHE, Jane", PartyType::Individual),
    ]));
    // Middle names as initials, or every given name.
    for q in ["John R. Smith", "J R SMITH", "SMITH, J. R."] {
        assert_eq!(
            top_hit(&s, q).map(|h| h.0).as_deref(),
            Some("SMITH, John Robert"),
            "{q}"
        );
    }
    let s1 = Screener::new(&snapshot_of(&[
        ("SMITH, John", PartyType::Individual),
        ("SMYTHE, Jane", PartyType::Individual),
    ]));
    assert_eq!(
        top_hit(&s1, "J. SMITH").map(|h| h.0).as_deref(),
        Some("SMITH, John")
    );
    // An initial adds no evidence to a surname that only sounds alike.
    let r = s1
        .screen(
            &Query {
                name: "J. SMITH".into(),
                ..Default::default()
            },
            5,
            DEFAULT_THRESHOLD,
        )
        .expect("screens");
    assert!(r.hits.iter().all(|h| h.name != "SMYTHE, Jane"), "{r:?}");
    let s2 = Screener::new(&snapshot_of(&[("SMYTHE, Jane", PartyType::Individual)]));
    assert_eq!(top_hit(&s2, "J. SMITH"), None);
    // An initial that fits none of the given names is a difference.
    assert_eq!(top_hit(&s1, "K. SMITH"), None);
    // The explanation shows the initial aligned with its word.
    assert!(r.hits[0]
        .explanation
        .alignment
        .iter()
        .any(|p| { p.query.as_deref() == Some("j") && p.candidate.as_deref() == Some("john") }));
}

#[test]
fn scripts_transliterations_glued_words_and_vessel_prefixes() {
    let s = Screener::new(&snapshot_of(&[
        ("PODOBED, Yury Nikolaevich", PartyType::Individual),
        ("HRYHORIY Oleksandr KOVAL", PartyType::Individual),
        ("AL-HUSSEINI, Muhammad Khalid", PartyType::Individual),
        ("ABDULRAHMAN, Yusuf", PartyType::Individual),
        ("MEADOWBROOK INVESTMENTS LIMITED", PartyType::Entity),
        ("CARIBE STAR", PartyType::Vessel),
    ]));
    let cases = [
        ("Юрий Николаевич Подобед", "PODOBED, Yury Nikolaevich"),
        ("Григорій Коваль", "HRYHORIY Oleksandr KOVAL"),
        ("محمد خالد الحسيني", "AL-HUSSEINI, Muhammad Khalid"),
        ("ABDUL RAHMAN, Yousef", "ABDULRAHMAN, Yusuf"),
        (
            "MEADOWBROOK INVESTME NTS LTD",
            "MEADOWBROOK INVESTMENTS LIMITED",
        ),
        ("M/V CARIBE STAR", "CARIBE STAR"),
    ];
    for (q, want) in cases {
        assert_eq!(top_hit(&s, q).map(|h| h.0).as_deref(), Some(want), "{q}");
    }
    // A different surname in Cyrillic is a different person.
    assert_eq!(top_hit(&s, "Юрий Николаевич Смирнов"), None);
}

/// The stress set on the bundled non-SDN list (442 entities): every harder family together
/// keeps the recall@1 and false-positive rate measured when the matcher was last changed
/// (stackport-match/1.1: recall@1 0.8115 over 313 positives, FP 0 over 160 negatives; 1.0
/// scored below this floor, chiefly on Arabic script, initials and glued words). The script
/// families of 1.3 are held apart: measured at 1.3, mixed_script 0.7308 (26), greek_script
/// 0.4500 (40), neg_hanzi FP 0 (40); pinyin_split finds no Chinese person in this list.
#[test]
fn stress_set_on_the_bundled_consolidated_list() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists/ofac/cons_2025-12-19");
    let snap = parse::load_dir(&dir).expect("loads");
    let s = Screener::new(&snap);
    let queries = stress::generate(&snap, 7, 40);
    let figures = stress::evaluate(&s, &queries, DEFAULT_THRESHOLD);
    // (positives, correct, negatives, false positives) for the older and the 1.3 families.
    let mut old = (0usize, 0.0, 0usize, 0.0);
    let mut new = (0usize, 0.0, 0usize, 0.0);
    for (family, n, v) in &figures {
        let acc = if stress::FAMILIES_1_3.contains(family) {
            &mut new
        } else {
            &mut old
        };
        if family.starts_with("neg_") {
            acc.2 += n;
            acc.3 += v * *n as f64;
        } else {
            acc.0 += n;
            acc.1 += v * *n as f64;
        }
    }
    let (pos, neg) = (old.0, old.2);
    let (recall, fpr) = (old.1 / pos as f64, old.3 / neg as f64);
    let (new_recall, new_fpr) = (new.1 / new.0 as f64, new.3 / new.2 as f64);
    eprintln!(
        "stress: {pos} positives recall@1 {recall:.4}, {neg} negatives FP {fpr:.4}; \
         1.3 families: {} positives recall@1 {new_recall:.4}, {} negatives FP {new_fpr:.4}: \
         {figures:?}",
        new.0, new.2
    );
    assert!(pos >= 150 && neg >= 100, "{pos} positives, {neg} negatives");
    assert!(recall >= 0.80, "stress recall@1 {recall:.4}: {figures:?}");
    assert!(fpr <= 0.02, "stress FP rate {fpr:.4}: {figures:?}");
    assert!(new.0 >= 50 && new.2 >= 40, "{new:?}");
    assert!(
        new_recall >= 0.50,
        "1.3 families recall@1 {new_recall:.4}: {figures:?}"
    );
    assert!(
        new_fpr <= 0.02,
        "1.3 families FP rate {new_fpr:.4}: {figures:?}"
    );
}

/// Words as the lists and users write them in other scripts: Turkish dotted and dotless
/// capitals (several Turkish parties are on the Entity List), combining marks, right-to-left
/// Hebrew and Arabic (with direction marks and joiners inside), Greek final sigma, Cyrillic,
/// ligatures and title-case digraphs.
fn unicode_words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop::sample::select(vec![
            "İSTANBUL",
            "ŞİRKETİ",
            "ısparta",
            "e\u{301}cole",
            "Zo\u{308}e",
            "\u{5e9}\u{5dc}\u{5d5}\u{5dd}",
            "\u{5d0}\u{5d1}\u{5d2}\u{200f}",
            "\u{645}\u{62d}\u{645}\u{62f}",
            "\u{627}\u{644}\u{200d}\u{639}\u{644}\u{64a}",
            "ΣΟΦΊΑΣ",
            "Петров",
            "Ǆemal",
            "STRAẞE",
            "ﬁrma",
            "ACME",
        ])
        .prop_map(str::to_string),
        1..5,
    )
}

/// Characters that change no letter: zero-width space, non-joiner and joiner, direction marks,
/// embeddings, overrides and isolates, word joiner, byte-order mark.
const INVISIBLE: [char; 14] = [
    '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}',
    '\u{202e}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2069}', '\u{feff}',
];

/// `s` with `marks` inserted at the given character positions (modulo its length).
fn with_invisible(s: &str, marks: &[(usize, usize)]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for &(at, which) in marks {
        chars.insert(at % (chars.len() + 1), INVISIBLE[which % INVISIBLE.len()]);
    }
    chars.into_iter().collect()
}

fn file<'a>(path: &'static str, text: &'a str) -> parse::FileBytes<'a> {
    parse::FileBytes {
        path: Path::new(path),
        bytes: text.as_bytes(),
    }
}

fn read_one(file: parse::ListFile<'_>) -> Vec<stackport_screening::Entity> {
    parse::read_list("lists/unicode.csv", file)
        .expect("a well-formed file reads")
        .1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Case does not matter in any script, and decomposed and precomposed letters are one name.
    #[test]
    fn names_in_every_script_normalise_alike(words in unicode_words()) {
        use unicode_normalization::UnicodeNormalization;
        let name = words.join(" ");
        let n = normalized(&name);
        prop_assert_eq!(&normalized(&name.to_uppercase()), &n);
        prop_assert_eq!(&normalized(&name.to_lowercase()), &n);
        prop_assert_eq!(&normalized(&name.nfd().collect::<String>()), &n);
        prop_assert_eq!(&normalized(&name.nfc().collect::<String>()), &n);
    }

    /// Invisible characters cannot hide a name: inserted anywhere, the name normalises the same.
    #[test]
    fn invisible_characters_change_no_name(
        words in unicode_words(),
        marks in proptest::collection::vec((any::<usize>(), any::<usize>()), 1..4),
    ) {
        let name = words.join(" ");
        prop_assert_eq!(normalized(&with_invisible(&name, &marks)), normalized(&name));
    }

    /// Every list format reads names in every script exactly, and screening finds them again
    /// however the query is cased and whatever invisible characters it carries.
    #[test]
    fn list_files_keep_names_in_every_script(
        words in unicode_words(),
        alias in unicode_words(),
        marks in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..3),
    ) {
        use parse::ListFile;
        let (name, alias) = (words.join(" "), alias.join(" "));
        let csl = format!("_id,source,name,alt_names\n1,Entity List (EL) - Bureau of Industry and Security,\"{name}; and any successor, sub-unit, or subsidiary thereof\",\"{alias}\"\n");
        let dpl = format!("\"Name\"\t\"Street_Address\"\t\"City\"\t\"State\"\t\"Country\"\t\"Postal_Code\"\t\"Effective_Date\"\n\"{name}\"\t\"\"\t\"\"\t\"\"\t\"TR\"\t\"\"\t\"01/02/2024\"\n");
        let sdn = format!("1,\"{name}\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n");
        let alt = format!("1,1,\"aka\",\"{alias}\",-0- \r\n");
        let read = [
            read_one(ListFile::Csl(file("csl.csv", &csl))),
            read_one(ListFile::Dpl(file("dpl.txt", &dpl))),
            read_one(ListFile::Ofac {
                consolidated: false,
                primary: file("sdn.csv", &sdn),
                add: None,
                alt: Some(file("alt.csv", &alt)),
                comments: None,
            }),
        ];
        for entities in read {
            prop_assert_eq!(entities.len(), 1);
            let e = &entities[0];
            prop_assert_eq!(&e.name, &name);
            prop_assert!(e.aliases.is_empty() || e.aliases[0].name == alias);
            let s = Screener::new(&stackport_screening::Snapshot { sources: Vec::new(), entities: entities.clone() });
            let query = with_invisible(&name.to_uppercase(), &marks);
            let hit = s.screen(&Query { name: query.clone(), ..Default::default() }, 1, DEFAULT_THRESHOLD).expect("screens");
            prop_assert_eq!(hit.hits.first().map(|h| (h.entity.as_str(), h.score)), Some((e.id.as_str(), 1.0)), "query {:?}", query);
        }
    }
}

/// The UN Security Council Consolidated List of 2026-02-27: every individual and entity, with
/// each quirk of the real file (see `parse/un.rs`).
#[test]
fn un_consolidated_list_parses_completely_with_every_quirk() {
    use stackport_screening::model::Identifier;
    let d = lists_dir(&["un/un_consolidated_2026-02-27.xml"]);
    let snap = parse::load_dir(d.path()).expect("the UN list loads");
    let count = |t: PartyType| {
        snap.entities
            .iter()
            .filter(|e| e.party_type == Some(t))
            .count()
    };
    assert_eq!(count(PartyType::Individual), 730);
    assert_eq!(count(PartyType::Entity), 273);
    assert_eq!(snap.sources.len(), 1);
    assert_eq!(snap.sources[0].format, "un-consolidated");
    assert_eq!(snap.sources[0].data_date.as_deref(), Some("2026-02-27"));
    assert_eq!(snap.sources[0].records, 1003);
    assert!(snap
        .entities
        .iter()
        .all(|e| e.id.starts_with("un:") && e.list == ListSource::Un));
    let get = |id: &str| {
        snap.entities
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    // A reference number with a trailing space, and a name with a leading one.
    assert_eq!(get("un:KPe.023").name, "DAEDONG CREDIT BANK (DCB)");
    assert_eq!(get("un:KPe.055").name, "CHANG AN SHIPPING & TECHNOLOGY");
    // Given names first, family names after; the original-script name is an alias; the
    // nationality and a passport are kept; four dates of birth (three dates and a year).
    let umarov = get("un:QDi.290");
    assert_eq!(umarov.name, "DOKU KHAMATOVICH UMAROV");
    assert!(umarov
        .aliases
        .iter()
        .any(|a| a.name == "Умаров Доку Хаматович" && a.strength == AliasStrength::Aka));
    assert!(umarov.aliases.iter().any(|a| a.name == "Dokka Umarov"));
    assert_eq!(
        umarov
            .aliases
            .iter()
            .filter(|a| a.name == "Dokka Umarov")
            .count(),
        1,
        "the alias listed twice is kept once"
    );
    assert!(umarov.countries.contains(&"RU".to_string()));
    assert_eq!(
        umarov.dates_of_birth,
        ["1964-04-13", "1965-04-13", "1964-05-12", "1955"]
    );
    assert!(umarov.identifiers.contains(&Identifier {
        kind: "Passport".into(),
        number: "96 03 464086".into(),
        country: Some("RU".into()),
    }));
    // A weak ("Low") alias, and the empty alias and document elements of CDi.001 give nothing.
    let saddam = get("un:IQi.001");
    assert!(saddam
        .aliases
        .iter()
        .any(|a| a.name == "Abu Ali" && a.strength == AliasStrength::WeakAka));
    assert!(saddam
        .aliases
        .iter()
        .any(|a| a.name == "صدام حسين التكريتي"));
    let badege = get("un:CDi.001");
    assert!(badege.aliases.is_empty());
    assert!(badege.identifiers.is_empty());
    assert!(badege.countries.contains(&"RW".to_string()));
    assert!(badege.countries.contains(&"CD".to_string()));
    // A former name.
    assert!(get("un:KPe.003")
        .aliases
        .iter()
        .any(|a| a.strength == AliasStrength::Fka));
    // Several spellings in one ALIAS_NAME, split.
    let aghajani = get("un:IRi.003");
    assert!(aghajani.aliases.iter().any(|a| a.name == "Azim Adhajani"));
    assert!(aghajani.aliases.iter().any(|a| a.name == "Azim Agha-Jani"));
    // A range of birth years, and three nationalities.
    assert!(get("un:CDi.030")
        .dates_of_birth
        .contains(&"1973 to 1974".to_string()));
    assert!(get("un:CFi.013").countries.len() >= 3);
    // Comments over several lines are kept whole.
    assert!(get("un:CDi.002")
        .remarks
        .as_deref()
        .is_some_and(|r| r.contains("STAREC") && r.contains("Kinshasa")));
    // The program is the UN regime.
    assert_eq!(umarov.programs, ["Al-Qaida"]);

    // Screening finds UN parties in Latin and in their original script.
    let s = Screener::new(&snap);
    let hit = |name: &str| {
        s.screen(
            &Query {
                name: name.into(),
                ..Default::default()
            },
            3,
            DEFAULT_THRESHOLD,
        )
        .expect("valid")
        .hits
        .first()
        .map(|h| h.entity.clone())
    };
    assert_eq!(hit("Doku Umarov").as_deref(), Some("un:QDi.290"));
    assert_eq!(hit("Умаров Доку").as_deref(), Some("un:QDi.290"));
}

#[test]
fn a_malformed_un_file_loads_nothing_and_names_the_element_and_line() {
    let good_csl =
        "_id,source,name\n\"1\",\"Entity List (EL) - Bureau of Industry and Security\",\"ACME\"\n";
    let cases: [(&str, usize, &str); 4] = [
        (
            // An end tag that does not match.
            "<?xml version=\"1.0\"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<INDIVIDUAL>\n<FIRST_NAME>A</SECOND_NAME>\n</INDIVIDUAL>\n</INDIVIDUALS>\n<ENTITIES/>\n</CONSOLIDATED_LIST>\n",
            5,
            "FIRST_NAME",
        ),
        (
            // No reference number.
            "<?xml version=\"1.0\"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<INDIVIDUAL>\n<FIRST_NAME>A</FIRST_NAME>\n</INDIVIDUAL>\n</INDIVIDUALS>\n<ENTITIES/>\n</CONSOLIDATED_LIST>\n",
            4,
            "INDIVIDUAL has no REFERENCE_NUMBER",
        ),
        (
            // Cut short.
            "<?xml version=\"1.0\"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<INDIVIDUAL>\n<REFERENCE_NUMBER>QDi.1</REFERENCE_NUMBER>\n",
            4,
            "INDIVIDUAL",
        ),
        (
            // Something else where individuals belong.
            "<?xml version=\"1.0\"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<PERSON/>\n</INDIVIDUALS>\n<ENTITIES/>\n</CONSOLIDATED_LIST>\n",
            4,
            "PERSON",
        ),
    ];
    for (xml, line, what) in cases {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(d.path().join("a_csl.csv"), good_csl).expect("write");
        std::fs::write(d.path().join("un.xml"), xml).expect("write");
        let e = parse::load_dir(d.path()).expect_err("malformed UN file");
        assert!(e.path.ends_with("un.xml"), "{e}");
        assert_eq!(e.line, line, "{e}");
        assert!(e.reason.contains(what), "{e}");
    }
}

/// The cross-script evaluation set (`tests/data/cross_script.csv`): real listed names written in
/// the script their holders write them in (the UN list's own original-script names, published
/// native forms, or the national standard applied in reverse; the `source` column says which).
/// On the evaluation lists and the UN list, at the default threshold: the accepted entity is
/// the first hit and no other entity reaches the threshold, the hit names the romanisation
/// used; a `probe` row (no accepted entity) has no hit at all. A row marked `limitation` is a
/// known miss (see BENCHMARKS.md): it must still put no wrong entity above the threshold.
#[test]
fn cross_script_queries_find_the_latin_entity_and_nothing_else() {
    let d = lists_dir(&[
        "ofac/sdn_2021-07-07",
        "ofac/cons_2025-12-19",
        "csl/consolidated_2023-11_partial.csv",
        "un/un_consolidated_2026-02-27.xml",
    ]);
    let snap = parse::load_dir(d.path()).expect("lists load");
    let s = Screener::new(&snap);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cross_script.csv");
    let mut rd = csv::Reader::from_path(&path).expect("cross-script set");
    let mut failures = Vec::new();
    let mut per_script: Vec<(String, usize, usize)> = Vec::new();
    for row in rd.records() {
        let row = row.expect("row");
        let (script, query, accepted, expect) = (&row[0], &row[1], &row[2], &row[3]);
        let accepted: Vec<&str> = accepted.split('|').filter(|a| !a.is_empty()).collect();
        let res = s
            .screen(
                &Query {
                    name: query.into(),
                    ..Default::default()
                },
                10,
                DEFAULT_THRESHOLD,
            )
            .expect("valid query");
        let wrong: Vec<String> = res
            .hits
            .iter()
            .filter(|h| !accepted.contains(&h.entity.as_str()))
            .map(|h| format!("{} {:?} {}", h.entity, h.name, h.score))
            .collect();
        let first_ok = if accepted.is_empty() {
            res.hits.is_empty()
        } else {
            res.hits
                .first()
                .is_some_and(|h| accepted.contains(&h.entity.as_str()))
        };
        let named = accepted.is_empty()
            || res.hits.first().is_some_and(|h| {
                h.explanation
                    .features
                    .iter()
                    .any(|f| f.feature == "romanisation")
            });
        let ok = first_ok && wrong.is_empty() && named;
        if expect == "limitation" {
            assert!(wrong.is_empty(), "{script} {query}: wrong hits {wrong:?}");
        }
        match per_script.iter_mut().find(|p| p.0 == script) {
            Some(p) => {
                p.1 += 1;
                p.2 += usize::from(ok);
            }
            None => per_script.push((script.to_string(), 1, usize::from(ok))),
        }
        if !ok && expect != "limitation" {
            failures.push(format!(
                "{script} {query}: first {:?}, wrong above threshold {wrong:?}",
                res.hits.first().map(|h| (&h.entity, &h.name, h.score))
            ));
        }
    }
    for (script, n, k) in &per_script {
        eprintln!("cross-script {script}: {k}/{n}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
