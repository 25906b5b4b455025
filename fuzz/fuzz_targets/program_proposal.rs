//! A program proposal (the JSON of `POST /v1/proposals` and `stackport proposal review`) from
//! any bytes: it is refused with problems that name a JSON path, or checked and reviewed against
//! the bundled lists, and the review renders as Markdown, HTML and an annotated CycloneDX BOM.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stackport_fuzz::{program_rules, rulebook, screener};
use stackport_program::{annotate, licence, report, Proposal, Reviewer};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rb, rules) = (rulebook(), program_rules());
    let proposal = match Proposal::parse(text, rb, rules) {
        Ok(p) => p,
        Err(e) => {
            for p in e.problems() {
                assert!(!p.path.is_empty() && !p.message.is_empty(), "{p:?}");
            }
            return;
        }
    };
    let reviewer = Reviewer {
        rulebook: rb,
        rules,
        screener: screener(),
    };
    let Ok(review) = reviewer.review(&proposal) else {
        return;
    };
    let _ = report::markdown(&review);
    let _ = report::html(&review);
    let _ = annotate::annotated_bom(&proposal, &review);
    let _ = licence::to_csv(&review.licence_applications);
});
