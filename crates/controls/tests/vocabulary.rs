//! No vocabulary is silently ignored (issue 10): an end-use code, country or catalog id outside
//! the rulebook's vocabulary is refused with its own error, and the ways users write a known
//! code (case, spacing, separators) give the same answer as the canonical code.

use proptest::prelude::*;
use stackport_controls::case::CaseInput;
use stackport_controls::{InputError, Rulebook};

fn rb() -> &'static Rulebook {
    static RB: std::sync::OnceLock<Rulebook> = std::sync::OnceLock::new();
    RB.get_or_init(|| Rulebook::embedded().expect("the built-in rulebook is valid"))
}

fn case(item: &str, dest: &str, end_use: &[String]) -> CaseInput {
    serde_json::from_value(serde_json::json!({
        "id": "v", "date": "2026-03-01", "item": {"catalog": item}, "destination": dest,
        "end_user": {"name": "T", "hq_country": dest}, "end_use": end_use,
    }))
    .expect("case JSON")
}

/// The answer's decisive parts, for comparing two spellings of one case.
fn answer(c: &CaseInput) -> Result<String, InputError> {
    let o = rb().determine_input(c, &[], false)?;
    Ok(format!(
        "{:?} {} {:?} {:?} {:?} {}",
        o.eccn, o.outcome, o.exception, o.review_policy, o.citations, o.confidence
    ))
}

/// A spelling of `code` as a user might type it.
fn respell(code: &str, upper: &[bool], sep: &str, pad: (&str, &str)) -> String {
    let cased: String = code
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if upper.get(i).copied().unwrap_or(false) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    format!("{}{}{}", pad.0, cased.replace('_', sep), pad.1)
}

#[test]
fn the_issue_examples_are_answered_or_refused_never_defaulted() {
    let wmd = answer(&case("nvidia-h200", "FR", &["wmd".into()])).expect("wmd");
    assert!(wmd.contains("license_required"), "{wmd}");
    assert_eq!(
        answer(&case("nvidia-h200", "FR", &["WMD".into()])).expect("WMD"),
        wmd
    );
    for bad in ["world-domination", "", "   ", "wmd!"] {
        match answer(&case("nvidia-h200", "FR", &[bad.into()])) {
            Err(InputError::UnknownEndUse(v)) => assert_eq!(v, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    // One unknown code among known ones still refuses the case.
    assert!(matches!(
        answer(&case(
            "nvidia-h200",
            "FR",
            &["commercial".into(), "space lasers".into()]
        )),
        Err(InputError::UnknownEndUse(_))
    ));
}

#[test]
fn unknown_countries_and_catalog_ids_are_refused() {
    for dest in ["XX", "ZZ", "", "FRA", "F"] {
        assert!(
            matches!(
                answer(&case("nvidia-h200", dest, &[])),
                Err(InputError::UnknownCountry { .. })
            ),
            "{dest:?}"
        );
    }
    for id in ["nvidia-h201", "", "h200"] {
        assert!(
            matches!(
                answer(&case(id, "FR", &[])),
                Err(InputError::UnknownCatalog(_))
            ),
            "{id:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every spelling of a known end-use code gives the canonical code's answer.
    #[test]
    fn spellings_of_known_end_uses_answer_as_the_code(
        pick in 0usize..64,
        upper in proptest::collection::vec(any::<bool>(), 40),
        sep in prop::sample::select(vec!["_", " ", "-", "  ", " - "]),
        pad in prop::sample::select(vec![("", ""), (" ", ""), ("", "\t"), ("  ", " ")]),
        dest in prop::sample::select(vec!["FR", "CN", "AE", "IN", "RU", "US"]),
    ) {
        let codes: Vec<&str> = rb().end_use_keys().collect();
        let code = codes[pick % codes.len()];
        let canonical = answer(&case("nvidia-h200", dest, &[code.to_string()]));
        let spelled = answer(&case("nvidia-h200", dest, &[respell(code, &upper, sep, pad)]));
        prop_assert_eq!(format!("{canonical:?}"), format!("{spelled:?}"));
    }

    /// Any other string is refused as an unknown end use, naming it.
    #[test]
    fn strings_outside_the_vocabulary_are_refused(s in "\\PC{0,24}") {
        let known = rb().end_use_code(&s).is_some();
        let r = answer(&case("nvidia-h200", "FR", std::slice::from_ref(&s)));
        if known {
            prop_assert!(r.is_ok());
        } else {
            match r {
                Err(InputError::UnknownEndUse(v)) => prop_assert_eq!(v, s),
                other => prop_assert!(false, "{:?} gave {:?}", s, other),
            }
        }
    }

    /// Country codes in either case and with spaces are the same country; any two letters the
    /// rulebook does not list are refused.
    #[test]
    fn country_codes_are_matched_in_any_case(a in "[A-Za-z]", b in "[A-Za-z]", pad in " {0,2}") {
        let code = format!("{pad}{a}{b}{pad}");
        let canonical = format!("{a}{b}").to_ascii_uppercase();
        let r = answer(&case("nvidia-h200", &code, &[]));
        match rb().country(&canonical) {
            Some(_) => prop_assert_eq!(
                format!("{r:?}"),
                format!("{:?}", answer(&case("nvidia-h200", &canonical, &[])))
            ),
            None => prop_assert!(
                matches!(r, Err(InputError::UnknownCountry { .. })),
                "{:?} gave {:?}",
                code,
                r
            ),
        }
    }

    /// Catalog ids in any case and with spaces for hyphens are the same item.
    #[test]
    fn catalog_ids_are_matched_as_users_write_them(
        pick in 0usize..512,
        upper in proptest::collection::vec(any::<bool>(), 40),
        sep in prop::sample::select(vec!["-", " ", "_"]),
    ) {
        let ids: Vec<String> = rb().catalog().iter().map(|e| e.id.clone()).collect();
        let id = &ids[pick % ids.len()];
        let spelled = respell(&id.replace('-', "_"), &upper, sep, (" ", ""));
        prop_assert_eq!(
            format!("{:?}", answer(&case(id, "CN", &[]))),
            format!("{:?}", answer(&case(&spelled, "CN", &[])))
        );
    }

    /// Unicode look-alikes of a known code are not the code: with an invisible character, a
    /// combining mark, a Turkish dotted or dotless i, or a right-to-left letter inserted, or in
    /// full-width letters, an end use, a country and a catalog id are each refused with their
    /// own error naming the value as given, never matched to something else.
    #[test]
    fn unicode_look_alikes_of_known_codes_are_refused(
        pick in 0usize..512,
        at in 0usize..64,
        which in prop::sample::select(vec![
            '\u{200b}', '\u{200d}', '\u{200f}', '\u{202e}', '\u{feff}', '\u{301}', '\u{130}',
            '\u{131}', '\u{5d0}', '\u{627}',
        ]),
        full_width in any::<bool>(),
    ) {
        let look_alike = |code: &str| -> String {
            if full_width {
                // U+FF01..U+FF5E are the full-width forms of ASCII `!`..`~`.
                code.chars()
                    .map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xfee0).unwrap_or(c) } else { c })
                    .collect()
            } else {
                let mut chars: Vec<char> = code.chars().collect();
                chars.insert(at % (chars.len() + 1), which);
                chars.into_iter().collect()
            }
        };
        let codes: Vec<&str> = rb().end_use_keys().collect();
        let end_use = look_alike(codes[pick % codes.len()]);
        match answer(&case("nvidia-h200", "FR", std::slice::from_ref(&end_use))) {
            Err(InputError::UnknownEndUse(v)) => prop_assert_eq!(v, end_use),
            other => prop_assert!(false, "{:?} gave {:?}", end_use, other),
        }
        let countries = ["FR", "CN", "AE", "IN", "RU", "TR", "IL", "SA"];
        let country = look_alike(countries[pick % countries.len()]);
        prop_assert!(
            matches!(answer(&case("nvidia-h200", &country, &[])), Err(InputError::UnknownCountry { value, .. }) if value == country),
            "{:?}", country
        );
        let ids: Vec<String> = rb().catalog().iter().map(|e| e.id.clone()).collect();
        let id = look_alike(&ids[pick % ids.len()]);
        prop_assert!(
            matches!(answer(&case(&id, "FR", &[])), Err(InputError::UnknownCatalog(v)) if v == id),
            "{:?}", id
        );
    }
}
