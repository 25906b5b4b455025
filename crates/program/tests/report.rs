//! The reports of real reviews: `examples/proposal.json` (licences required, two drafts), the
//! sample set's S07 (a member owned 50% by an SDN entity: held) and S04 (ineligible), and S01
//! with a hostile member name. Both renderers are checked for order (summary first), content
//! (verdict, failed checks, citations, hits with their explanations, drafts) and escaping.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;
use stackport_program::report;
use stackport_program::review::Review;

struct Fixture {
    rb: stackport_controls::Rulebook,
    rules: stackport_program::ProgramRules,
    screener: stackport_screening::Screener,
}

/// Built once per test binary: the screener over the bundled lists takes a second or two.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let snap = stackport_screening::parse::load_dir(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/lists"
        )))
        .expect("bundled lists");
        Fixture {
            rb: stackport_controls::Rulebook::embedded().expect("rulebook"),
            rules: stackport_program::ProgramRules::embedded().expect("program rules"),
            screener: stackport_screening::Screener::new(&snap),
        }
    })
}

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn review_text(text: &str) -> Review {
    let f = fixture();
    let p = stackport_program::Proposal::parse(text, &f.rb, &f.rules).expect("proposal");
    stackport_program::Reviewer {
        rulebook: &f.rb,
        rules: &f.rules,
        screener: &f.screener,
    }
    .review(&p)
    .expect("review")
}

fn example() -> Review {
    review_text(&read("../../examples/proposal.json"))
}

fn sample(id: &str) -> Review {
    review_text(&read(&format!("../../../shared/eval/proposals/{id}.json")))
}

/// The test's own HTML escape, to look for untrusted text as the page must write it.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const SECTIONS: [&str; 11] = [
    "Summary",
    "Eligibility",
    "US content",
    "Items",
    "Parties",
    "Location verification duties",
    "Unclassified components",
    "Licence application drafts",
    "Federal support",
    "Versions",
    "Sign-off",
];

/// Where each section's heading starts, in the order of `SECTIONS`.
fn section_positions(doc: &str, heading: impl Fn(usize, &str) -> String) -> Vec<usize> {
    SECTIONS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let h = heading(i + 1, t);
            doc.find(&h).unwrap_or_else(|| panic!("no heading {h:?}"))
        })
        .collect()
}

fn md_positions(md: &str) -> Vec<usize> {
    section_positions(md, |n, t| format!("\n## {n}. {t}\n"))
}

fn html_positions(html: &str) -> Vec<usize> {
    section_positions(html, |n, t| format!("<h2>{n}. {t}</h2>"))
}

fn assert_in_order(positions: &[usize]) {
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "sections out of order: {positions:?}"
    );
}

#[test]
fn the_summary_and_its_verdict_come_before_every_detail_section() {
    for r in [example(), sample("S07"), sample("S04")] {
        let md = report::markdown(&r);
        let html = report::html(&r);
        let (mp, hp) = (md_positions(&md), html_positions(&html));
        assert_in_order(&mp);
        assert_in_order(&hp);
        let code = r.verdict.as_str();
        let md_verdict = md
            .find(&format!("(`{code}`)"))
            .expect("verdict in Markdown");
        let html_verdict = html
            .find(&format!("<p class=\"verdict-code\">{code}</p>"))
            .expect("verdict in HTML");
        assert!(mp[0] < md_verdict && md_verdict < mp[1]);
        assert!(hp[0] < html_verdict && html_verdict < hp[1]);
        for reason in &r.summary.reasons {
            let at = md.find(reason.as_str()).expect("reason in Markdown");
            assert!(at < mp[1], "reason after the summary: {reason}");
            let at = html.find(&esc(reason)).expect("reason in HTML");
            assert!(at < hp[1], "reason after the summary: {reason}");
        }
    }
}

#[test]
fn the_title_names_proposal_consortium_date_and_posture() {
    let r = example();
    for doc in [report::markdown(&r), report::html(&r)] {
        let first_section = doc.find("1. Summary").expect("summary");
        for s in [r.id.as_str(), &r.consortium, &r.date, r.posture] {
            let at = doc.find(s).unwrap_or_else(|| panic!("no {s}"));
            assert!(at < first_section, "{s} not in the title");
        }
        assert!(doc.contains("not legal advice"));
    }
}

#[test]
fn an_ineligible_proposal_shows_every_failed_check_in_the_summary() {
    let r = sample("S04");
    assert_eq!(r.verdict.as_str(), "ineligible");
    assert!(!r.summary.failed_checks.is_empty());
    let md = report::markdown(&r);
    let html = report::html(&r);
    let (mp, hp) = (md_positions(&md), html_positions(&html));
    assert!(md.contains("**Verdict: INELIGIBLE**"));
    assert!(html.contains("class=\"verdict v-ineligible\""));
    for c in r.eligibility.iter().filter(|c| !c.passed) {
        let at = md.find(c.check).expect("failed check in Markdown");
        assert!(at < mp[1], "{} not in the summary", c.check);
        let at = html.find(c.check).expect("failed check in HTML");
        assert!(at < hp[1], "{} not in the summary", c.check);
        for s in [&c.detail, &c.source] {
            assert!(md.contains(s.as_str()), "{s}");
            assert!(html.contains(&esc(s)), "{s}");
        }
    }
    // Every check is listed in the eligibility section, passed or not, with its source.
    for c in &r.eligibility {
        let section = &html[hp[1]..hp[2]];
        assert!(section.contains(c.check) && section.contains(&esc(&c.source)));
    }
    assert!(html.contains("<td class=\"bad\">FAILED</td>"));
}

#[test]
fn every_citation_of_every_item_appears() {
    for r in [example(), sample("S07"), sample("S04")] {
        let md = report::markdown(&r);
        let html = report::html(&r);
        let (mp, hp) = (md_positions(&md), html_positions(&html));
        // Within the items section.
        let md_items = &md[mp[3]..mp[4]];
        let html_items = &html[hp[3]..hp[4]];
        for i in &r.items {
            for c in &i.citations {
                assert!(md_items.contains(c.as_str()), "{}: {c}", i.component);
                assert!(html_items.contains(&esc(c)), "{}: {c}", i.component);
            }
            for reason in &i.reasons {
                assert!(html_items.contains(&esc(reason)), "{reason}");
            }
            if let Some(e) = &i.eccn {
                assert!(md_items.contains(e.as_str()));
            }
        }
    }
}

#[test]
fn us_content_shows_its_arithmetic() {
    let r = example();
    let md = report::markdown(&r);
    let money = stackport_program::review::money;
    for l in &r.us_content.lines {
        let row = md
            .lines()
            .find(|x| x.starts_with(&format!("| {} |", l.component)))
            .unwrap_or_else(|| panic!("no row for {}", l.component));
        for v in [l.unit_value_usd, l.value_usd, l.us_origin_value_usd] {
            assert!(row.contains(&money(v)), "{row}");
        }
        assert!(row.contains(&l.quantity.to_string()));
    }
    let total = format!(
        "| Total |  |  | {} |  | {} |",
        money(r.us_content.hardware_value_usd),
        money(r.us_content.us_origin_value_usd)
    );
    assert!(md.contains(&total), "no totals row {total}");
    // 31,183,640 / 43,036,000 = 72.46%, against the 51% threshold.
    assert!(md.contains("31,183,640 / 43,036,000 = 72.46%"));
    assert!(md.contains("at least 51%"));
    assert!(md.contains("meets the threshold"));
}

#[test]
fn hits_show_matched_name_list_score_and_explanation() {
    let r = sample("S07");
    assert_eq!(r.verdict.as_str(), "held");
    let hit_parties: Vec<_> = r.parties.iter().filter(|p| !p.hits.is_empty()).collect();
    assert!(!hit_parties.is_empty(), "S07 has a listed owner");
    let md = report::markdown(&r);
    let html = report::html(&r);
    for p in hit_parties {
        for h in &p.hits {
            for s in [&h.matched, &h.name, &h.list, &h.entity] {
                assert!(md.contains(s.as_str()), "{s}");
                assert!(html.contains(&esc(s)), "{s}");
            }
            assert!(md.contains(&format!("{:.3}", h.score)));
            for t in &h.explanation.alignment {
                for tok in [&t.query, &t.candidate].into_iter().flatten() {
                    assert!(md.contains(&format!("| {tok} |")), "token {tok}");
                    assert!(html.contains(&format!("<td>{}</td>", esc(tok))), "{tok}");
                }
            }
            for f in &h.explanation.features {
                let row = format!(
                    "<td>{}</td><td>{}</td><td class=\"num\">{:+.3}</td>",
                    esc(&f.feature),
                    esc(&f.detail),
                    f.effect
                );
                assert!(html.contains(&row), "no feature row {row}");
                assert!(md.contains(&f.detail), "{}", f.detail);
            }
        }
    }
}

#[test]
fn ownership_findings_name_the_owners_counted_and_the_rule() {
    let r = sample("S07");
    let owned: Vec<_> = r.parties.iter().filter(|p| p.ownership.is_some()).collect();
    assert!(!owned.is_empty(), "S07's m6 is owned 50% by an SDN entity");
    let html = report::html(&r);
    let md = report::markdown(&r);
    for p in owned {
        let f = p.ownership.as_ref().expect("filtered");
        assert!(html.contains(&esc(&f.rule)) && md.contains(&f.rule));
        assert!(md.contains(&format!("{}%", f.listed_percent)));
        for o in &f.owners {
            let owner = r.parties.iter().find(|x| &x.party == o).expect("owner");
            let label = format!("{} {}", owner.party, owner.name);
            assert!(
                html.contains(&esc(&label)) && md.contains(&label),
                "{label}"
            );
        }
    }
    assert!(html.contains("<td class=\"bad\">owned by listed</td>"));
}

#[test]
fn licence_drafts_appear_with_their_blocks_marked_draft() {
    let r = example();
    assert_eq!(r.verdict.as_str(), "licences_required");
    assert_eq!(r.licence_applications.len(), 2);
    let md = report::markdown(&r);
    let html = report::html(&r);
    let (mp, hp) = (md_positions(&md), html_positions(&html));
    for (doc, section) in [(&md, &md[mp[7]..mp[8]]), (&html, &html[hp[7]..hp[8]])] {
        // Once for the section, once on each draft.
        assert_eq!(
            section.matches("DRAFT — prepared, not submitted").count(),
            3
        );
        for block in [
            "Block 14", "Block 18", "Block 19", "Block 21", "22(a)", "22(e)", "22(f)", "22(g)",
            "22(h)", "22(i)", "22(j)", "Block 23", "Block 24",
        ] {
            assert!(section.contains(block), "{block}");
        }
        assert!(section.contains("Draft 1 of 2") && section.contains("Draft 2 of 2"));
        assert!(doc.contains("15 CFR 748.1(d)"));
    }
    let section = &html[hp[7]..hp[8]];
    for d in &r.licence_applications {
        assert!(section.contains(&esc(&d.applicant.name)));
        assert!(section.contains(&esc(&d.end_user.name)));
        assert!(section.contains(&esc(&d.specific_end_use)));
        assert!(section.contains(&esc(&d.additional_information)));
        for i in &d.items {
            assert!(section.contains(&esc(&i.eccn)) && section.contains(&esc(&i.description)));
        }
    }
}

#[test]
fn versions_and_sign_off_close_the_report() {
    let r = example();
    let md = report::markdown(&r);
    let html = report::html(&r);
    let mp = md_positions(&md);
    let versions = &md[mp[9]..];
    for s in [&r.versions.rulebook, &r.versions.program_rules] {
        assert!(versions.contains(s.as_str()));
    }
    assert!(versions.contains(r.versions.screening_algorithm));
    for h in &r.versions.list_hashes {
        assert!(versions.contains(h.as_str()));
    }
    for label in ["Reviewed by", "Date", "Signature"] {
        assert!(md[mp[10]..].contains(label));
        assert!(html.contains(&format!("<span class=\"sign-label\">{label}")));
    }
}

/// S01 with a member whose name is markup, a pipe, quotes and a newline.
fn hostile() -> (Review, &'static str) {
    const NAME: &str = "<script>alert(1)</script> O'Neil & \"Sons\" a|b\nc";
    let mut v: Value =
        serde_json::from_str(&read("../../../shared/eval/proposals/S01.json")).expect("S01");
    v["consortium"]["members"][1]["name"] = Value::String(NAME.into());
    let r = review_text(&v.to_string());
    assert!(r.parties.iter().any(|p| p.name == NAME));
    (r, NAME)
}

#[test]
fn untrusted_names_are_escaped_in_html() {
    let (r, name) = hostile();
    let html = report::html(&r);
    assert!(!html.contains("<script"), "raw script tag");
    assert!(!html.contains("O'Neil") && !html.contains("\"Sons\""));
    assert!(html.contains(&esc(name)), "escaped name");
    assert!(html
        .contains("&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Neil &amp; &quot;Sons&quot; a|b"));
}

#[test]
fn untrusted_names_are_escaped_in_markdown() {
    let (r, _) = hostile();
    let md = report::markdown(&r);
    assert!(!md.contains("<script"), "raw script tag");
    assert!(!md.contains("a|b"), "unescaped pipe");
    let row = md
        .lines()
        .find(|l| l.starts_with("| m2 |"))
        .expect("m2's row in the parties table");
    assert!(
        row.contains(r#"&lt;script&gt;alert(1)&lt;/script&gt; O'Neil & "Sons" a\|b c"#),
        "{row}"
    );
    // The row is still a row of the parties table: seven cells.
    assert_eq!(row.matches(" | ").count(), 6, "{row}");
    assert!(row.ends_with(" |"));
}

#[test]
fn the_page_is_self_contained_html5() {
    for r in [example(), sample("S07"), sample("S04")] {
        let html = report::html(&r);
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains(&format!(
            "<title>Export compliance review of proposal {}</title>",
            esc(&r.id)
        )));
        assert!(html.contains("@media print") && html.contains("break-before: page"));
        assert!(html.trim_end().ends_with("</html>"));
        for banned in [
            "<script", "src=", "<link", "@import", "url(", "<iframe", "<img",
        ] {
            assert!(!html.contains(banned), "{banned}");
        }
        for (at, _) in html.match_indices("href=") {
            assert!(html[at..].starts_with("href=\"#"), "external link");
        }
        for tag in [
            "html", "head", "body", "section", "table", "thead", "tbody", "tr", "ul", "div",
        ] {
            let open = html.matches(&format!("<{tag}>")).count()
                + html.matches(&format!("<{tag} ")).count();
            let close = html.matches(&format!("</{tag}>")).count();
            assert_eq!(open, close, "<{tag}> opened {open}, closed {close}");
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    let a = example();
    let b = example();
    assert_eq!(report::markdown(&a), report::markdown(&b));
    assert_eq!(report::html(&a), report::html(&b));
}

/// Writes the example's report for a look in a browser: `STACKPORT_REPORT_OUT=/tmp/x.html`.
#[test]
fn writes_the_example_when_asked() {
    if let Some(path) = std::env::var_os("STACKPORT_REPORT_OUT") {
        std::fs::write(path, report::html(&example())).expect("write the report");
    }
}
