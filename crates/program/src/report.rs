//! Reports for people: Markdown, and one self-contained HTML page (inline CSS, no scripts, no
//! external resources), for the exporter's compliance officer who reads, prints and signs them.
//!
//! Both renderers write the same [`Document`]. The review is first laid out as numbered
//! sections of plain-text blocks — paragraphs, lists, two-column facts and tables — in the
//! order the officer reads them: the summary and its verdict first, then the detail each part
//! of the verdict rests on (eligibility, US content, items, parties, location duties,
//! unclassified components, licence application drafts, federal support), the versions it was
//! decided with, and a sign-off block. Every rule is cited where it is used. The writers
//! escape all text once, as they write it: names come from the proposal, which is untrusted.
//! Nothing reads a clock, so the same review always renders to the same bytes.

use crate::licence::{DraftItem, DraftParty, LicenceDraft};
use crate::review::{
    money, CheckResult, ItemResult, OwnershipFinding, PartyResult, PartyStatus, Review, Verdict,
};
use stackport_screening::Hit;

/// The review as Markdown (CommonMark with pipe tables).
pub fn markdown(r: &Review) -> String {
    md_document(&document(r))
}

/// The review as one self-contained HTML page.
pub fn html(r: &Review) -> String {
    html_document(&document(r))
}

/// Said at the top of every report and again above the signatures.
const NOT_LEGAL_ADVICE: &str = "This report is not legal advice. It is prepared by software \
from the proposal as submitted; the exporter remains responsible for its classifications, \
screening decisions and licence applications.";

/// Marks every licence application draft.
const DRAFT_MARK: &str = "DRAFT — prepared, not submitted";

// ---- the document ---------------------------------------------------------------------------

/// How a cell or a note reads at a glance; the writers colour it in HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
}

/// One table cell or fact value: lines of plain text.
#[derive(Debug, Clone)]
struct Cell {
    lines: Vec<String>,
    tone: Tone,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell {
            lines: vec![s.into()],
            tone: Tone::Plain,
        }
    }

    fn lines(lines: Vec<String>) -> Cell {
        Cell {
            lines,
            tone: Tone::Plain,
        }
    }

    fn tone(mut self, tone: Tone) -> Cell {
        self.tone = tone;
        self
    }
}

/// A table column: its heading, and whether it holds figures (set right-aligned).
#[derive(Debug, Clone, Copy)]
struct Col {
    title: &'static str,
    numeric: bool,
}

const fn col(title: &'static str) -> Col {
    Col {
        title,
        numeric: false,
    }
}

const fn num(title: &'static str) -> Col {
    Col {
        title,
        numeric: true,
    }
}

#[derive(Debug, Clone)]
struct Table {
    cols: Vec<Col>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone)]
enum Block {
    /// A sub-heading within a section.
    Heading(String),
    Para(String),
    /// A paragraph set apart: a warning, the draft mark, the legal note.
    Note(Tone, String),
    /// The verdict, shown prominently.
    Verdict(Verdict),
    List(Vec<String>),
    /// Label and value pairs, as a two-column table.
    Facts(Vec<(String, Cell)>),
    Table(Table),
    /// Lines for the reviewer's name, the date and the signature.
    SignOff,
}

#[derive(Debug, Clone)]
struct Section {
    /// HTML anchor.
    id: &'static str,
    title: &'static str,
    /// Printed from the top of a new page.
    page_break: bool,
    blocks: Vec<Block>,
}

#[derive(Debug, Clone)]
struct Document {
    title: String,
    facts: Vec<(String, Cell)>,
    sections: Vec<Section>,
}

fn document(r: &Review) -> Document {
    Document {
        title: format!("Export compliance review of proposal {}", r.id),
        facts: title_facts(r),
        sections: vec![
            summary(r),
            eligibility(r),
            us_content(r),
            items(r),
            parties(r),
            location_verification(r),
            unclassified(r),
            licence_applications(r),
            federal_support(r),
            versions(r),
            sign_off(),
        ],
    }
}

fn fact(label: &str, value: Cell) -> (String, Cell) {
    (label.to_string(), value)
}

/// A table, or a sentence saying there is nothing to tabulate.
fn table_or(none: &str, cols: Vec<Col>, rows: Vec<Vec<Cell>>) -> Block {
    if rows.is_empty() {
        Block::Para(none.to_string())
    } else {
        Block::Table(Table { cols, rows })
    }
}

// ---- words and figures ------------------------------------------------------------------------

/// A snake_case code of the review in words.
fn words(code: &str) -> String {
    code.replace('_', " ")
}

fn verdict_title(v: Verdict) -> &'static str {
    match v {
        Verdict::Ineligible => "INELIGIBLE",
        Verdict::Prohibited => "PROHIBITED",
        Verdict::Held => "HELD",
        Verdict::LicencesRequired => "LICENCES REQUIRED",
        Verdict::Clear => "CLEAR",
    }
}

fn verdict_meaning(v: Verdict) -> &'static str {
    match v {
        Verdict::Ineligible => {
            "An eligibility check of the program failed: the proposal does not qualify as submitted."
        }
        Verdict::Prohibited => {
            "An item's export is prohibited for its destination or end user: it cannot go as proposed."
        }
        Verdict::Held => {
            "A party, or its owners, is a potential match on a restricted-party list: hold until the match is resolved."
        }
        Verdict::LicencesRequired => {
            "Items need a licence before export: application drafts are prepared below."
        }
        Verdict::Clear => {
            "Every eligibility check passed, no item needs a licence and every party is clear."
        }
    }
}

fn verdict_tone(v: Verdict) -> Tone {
    match v {
        Verdict::Ineligible | Verdict::Prohibited | Verdict::Held => Tone::Bad,
        Verdict::LicencesRequired => Tone::Warn,
        Verdict::Clear => Tone::Good,
    }
}

fn outcome_words(outcome: &str) -> String {
    match outcome {
        "nlr" => "NLR (no licence required)".into(),
        "not_subject" => "not subject to the EAR".into(),
        other => words(other),
    }
}

fn outcome_tone(outcome: &str) -> Tone {
    match outcome {
        "prohibited" => Tone::Bad,
        "license_required" | "undetermined" => Tone::Warn,
        _ => Tone::Good,
    }
}

fn status_tone(s: PartyStatus) -> Tone {
    match s {
        PartyStatus::Clear => Tone::Good,
        PartyStatus::PotentialMatch | PartyStatus::OwnedByListed => Tone::Bad,
    }
}

fn posture_words(posture: &str) -> String {
    match posture {
        "enforced" => "enforced (the law as BIS enforces it)".into(),
        "codified" => "codified (the codified text, including entries BIS does not enforce)".into(),
        other => other.to_string(),
    }
}

/// A percentage to at most two decimals.
fn pct(p: f64) -> String {
    let s = format!("{p:.2}");
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// A percentage beside its threshold: with more digits where two decimals would put it on the
/// other side (50.999% never reads as 51%).
fn pct_beside(p: f64, threshold: f64) -> String {
    let two: f64 = format!("{p:.2}").parse().unwrap_or(p);
    if (two >= threshold) != (p >= threshold) {
        let s = format!("{p:.6}");
        format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        pct(p)
    }
}

fn usd(v: f64) -> String {
    format!("{} USD", money(v))
}

fn optional_usd(v: Option<f64>) -> String {
    v.map(money).unwrap_or_else(|| "not given".into())
}

fn count(n: usize, bad: Tone) -> Cell {
    Cell::text(n.to_string()).tone(if n == 0 { Tone::Plain } else { bad })
}

fn or_none(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "none".into())
}

/// A party by id, with its name where the review has it.
fn party_label(r: &Review, id: &str) -> String {
    match r.parties.iter().find(|p| p.party == id) {
        Some(p) => format!("{} {}", p.party, p.name),
        None => id.to_string(),
    }
}

// ---- title -------------------------------------------------------------------------------------

fn title_facts(r: &Review) -> Vec<(String, Cell)> {
    vec![
        fact("Proposal", Cell::text(&r.id)),
        fact("Consortium", Cell::text(&r.consortium)),
        fact("Export date", Cell::text(&r.date)),
        fact("Posture", Cell::text(posture_words(r.posture))),
        fact(
            "Verdict",
            Cell::text(verdict_title(r.verdict)).tone(verdict_tone(r.verdict)),
        ),
    ]
}

// ---- summary -----------------------------------------------------------------------------------

fn summary(r: &Review) -> Section {
    let reasons = if r.summary.reasons.is_empty() {
        Block::Para("The review gives no reason.".into())
    } else {
        Block::List(r.summary.reasons.clone())
    };
    Section {
        id: "summary",
        title: "Summary",
        page_break: false,
        blocks: vec![
            Block::Verdict(r.verdict),
            Block::Heading("Reasons for the verdict".into()),
            reasons,
            Block::Heading("Key counts".into()),
            Block::Facts(key_counts(r)),
            Block::Heading("Failed eligibility checks".into()),
            failed_checks(r),
        ],
    }
}

fn key_counts(r: &Review) -> Vec<(String, Cell)> {
    let s = &r.summary;
    vec![
        fact("Components", Cell::text(s.components.to_string())),
        fact(
            "Item determinations (component x end user)",
            Cell::text(s.items.to_string()),
        ),
        fact("Licences required", count(s.licences_required, Tone::Warn)),
        fact(
            "Licence application drafts",
            Cell::text(r.licence_applications.len().to_string()),
        ),
        fact("Prohibited", count(s.prohibited, Tone::Bad)),
        fact("Undetermined", count(s.undetermined, Tone::Warn)),
        fact("Unclassified components", count(s.unclassified, Tone::Warn)),
        fact(
            "Parties screened (owners included)",
            Cell::text(s.parties.to_string()),
        ),
        fact("Parties not clear", count(s.parties_not_clear, Tone::Bad)),
        fact(
            "Location verification duties",
            Cell::text(s.location_verification_required.to_string()),
        ),
        fact(
            "Failed eligibility checks",
            count(s.failed_checks.len(), Tone::Bad),
        ),
    ]
}

fn failed_checks(r: &Review) -> Block {
    let rows = r
        .eligibility
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            vec![
                Cell::text(c.check).tone(Tone::Bad),
                Cell::text(&c.detail),
                Cell::text(&c.source),
            ]
        })
        .collect();
    table_or(
        "None: every eligibility check passed.",
        vec![col("Check"), col("Detail"), col("Source")],
        rows,
    )
}

// ---- eligibility -------------------------------------------------------------------------------

fn eligibility(r: &Review) -> Section {
    let rows = r.eligibility.iter().map(check_row).collect();
    Section {
        id: "eligibility",
        title: "Eligibility",
        page_break: true,
        blocks: vec![
            Block::Para(
                "The program's eligibility checks, each with the rule it applies and how sure \
                 that rule's source is."
                    .into(),
            ),
            table_or(
                "No eligibility check was made.",
                vec![
                    col("Check"),
                    col("Result"),
                    col("Detail"),
                    col("Source"),
                    col("Confidence"),
                ],
                rows,
            ),
        ],
    }
}

fn check_row(c: &CheckResult) -> Vec<Cell> {
    vec![
        Cell::text(c.check),
        if c.passed {
            Cell::text("passed").tone(Tone::Good)
        } else {
            Cell::text("FAILED").tone(Tone::Bad)
        },
        Cell::text(&c.detail),
        Cell::text(&c.source),
        Cell::text(&c.confidence),
    ]
}

// ---- US content --------------------------------------------------------------------------------

fn us_content(r: &Review) -> Section {
    let mut blocks = vec![
        Block::Para(
            "The hardware layer's value and its US-origin share, line by line: value = quantity \
             x unit value; US-origin value = value x US content. Hardware components without a \
             quantity, a unit value and a US content share are not counted."
                .into(),
        ),
        us_content_lines(r),
    ];
    blocks.push(match r.us_content.percent {
        Some(p) => Block::Facts(us_content_result(r, p)),
        None => Block::Note(
            Tone::Bad,
            "The hardware layer has no value: its US content cannot be shown.".into(),
        ),
    });
    Section {
        id: "us-content",
        title: "US content",
        page_break: false,
        blocks,
    }
}

fn us_content_lines(r: &Review) -> Block {
    let u = &r.us_content;
    let mut rows: Vec<Vec<Cell>> = u
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::text(&l.component),
                Cell::text(l.quantity.to_string()),
                Cell::text(money(l.unit_value_usd)),
                Cell::text(money(l.value_usd)),
                Cell::text(pct(l.us_content_percent)),
                Cell::text(money(l.us_origin_value_usd)),
            ]
        })
        .collect();
    if !rows.is_empty() {
        rows.push(vec![
            Cell::text("Total"),
            Cell::text(""),
            Cell::text(""),
            Cell::text(money(u.hardware_value_usd)),
            Cell::text(""),
            Cell::text(money(u.us_origin_value_usd)),
        ]);
    }
    table_or(
        "No hardware component states a quantity, a unit value and a US content share.",
        vec![
            col("Component"),
            num("Quantity"),
            num("Unit value (USD)"),
            num("Value (USD)"),
            num("US content"),
            num("US-origin value (USD)"),
        ],
        rows,
    )
}

fn us_content_result(r: &Review, percent: f64) -> Vec<(String, Cell)> {
    let u = &r.us_content;
    let check = r.eligibility.iter().find(|c| c.check == "us_content");
    // The check decides on exact integer sums; the figures here are for reading.
    let passed = check.map_or(percent >= u.threshold_percent, |c| c.passed);
    let mut out = vec![
        fact(
            "US content",
            Cell::text(format!(
                "{} / {} = {}",
                money(u.us_origin_value_usd),
                money(u.hardware_value_usd),
                pct_beside(percent, u.threshold_percent)
            )),
        ),
        fact(
            "Threshold",
            Cell::text(format!("at least {}", pct(u.threshold_percent))),
        ),
        fact(
            "Result",
            if passed {
                Cell::text("meets the threshold").tone(Tone::Good)
            } else {
                Cell::text("below the threshold").tone(Tone::Bad)
            },
        ),
    ];
    if let Some(c) = check {
        out.push(fact("Source", Cell::text(&c.source)));
    }
    out
}

// ---- items -------------------------------------------------------------------------------------

fn items(r: &Review) -> Section {
    let rows = r.items.iter().map(item_row).collect();
    let mut blocks = vec![
        Block::Para(
            "One determination per component and end user: hardware goes to its site's end \
             user, everything else to every end user."
                .into(),
        ),
        table_or(
            "No component was determined.",
            vec![
                col("Component"),
                col("End user"),
                col("Destination"),
                col("ECCN"),
                col("Outcome"),
                col("Exception"),
                col("Notification"),
                col("Review policy"),
                col("Confidence"),
                col("Citations"),
            ],
            rows,
        ),
    ];
    if !r.items.is_empty() {
        blocks.push(Block::Heading("Determination detail".into()));
        for i in &r.items {
            blocks.push(Block::Heading(item_title(i)));
            blocks.push(Block::Facts(item_detail(i)));
        }
    }
    Section {
        id: "items",
        title: "Items",
        page_break: true,
        blocks,
    }
}

fn item_title(i: &ItemResult) -> String {
    format!(
        "{} for {} ({}): {}",
        i.component,
        i.end_user,
        i.destination,
        outcome_words(&i.outcome)
    )
}

fn item_eccn(i: &ItemResult) -> Cell {
    let mut lines = vec![or_none(&i.eccn)];
    if let Some(p) = &i.paragraph {
        lines.push(format!("paragraph {p}"));
    }
    lines.push(format!("classified by {}", i.classified_by));
    Cell::lines(lines)
}

fn item_row(i: &ItemResult) -> Vec<Cell> {
    vec![
        Cell::text(&i.component),
        Cell::text(&i.end_user),
        Cell::text(&i.destination),
        item_eccn(i),
        Cell::text(outcome_words(&i.outcome)).tone(outcome_tone(&i.outcome)),
        Cell::text(or_none(&i.exception)),
        Cell::text(if i.notification_required {
            "required"
        } else {
            "not required"
        }),
        Cell::text(i.review_policy.as_deref().map_or("none".into(), words)),
        Cell::text(&i.confidence),
        Cell::lines(i.citations.clone()),
    ]
}

fn item_detail(i: &ItemResult) -> Vec<(String, Cell)> {
    let mut out = vec![
        fact("Layer", Cell::text(i.layer.as_str())),
        fact("Reasons", Cell::lines(i.reasons.clone())),
    ];
    if let Some(q) = i.quantity {
        out.push(fact("Quantity", Cell::text(q.to_string())));
    }
    if let Some(v) = i.value_usd {
        out.push(fact("Value", Cell::text(usd(v))));
    }
    if !i.missing.is_empty() {
        out.push(fact(
            "Missing facts",
            Cell::lines(i.missing.clone()).tone(Tone::Warn),
        ));
    }
    if !i.warnings.is_empty() {
        out.push(fact(
            "Warnings",
            Cell::lines(i.warnings.clone()).tone(Tone::Warn),
        ));
    }
    out.push(fact("Rule versions", Cell::lines(i.rule_versions.clone())));
    out
}

// ---- parties -----------------------------------------------------------------------------------

fn parties(r: &Review) -> Section {
    let rows = r.parties.iter().map(party_row).collect();
    let mut blocks = vec![
        Block::Para(format!(
            "Every party — members, end users and each of their owners — screened with {} at \
             threshold {} against the list snapshots of the versions section.",
            r.versions.screening_algorithm, r.versions.threshold
        )),
        table_or(
            "The proposal names no party.",
            vec![
                col("Party"),
                col("Role"),
                col("Name"),
                col("Country"),
                col("Status"),
                col("Hits"),
                col("Same as"),
            ],
            rows,
        ),
        Block::Heading("Screening hits".into()),
    ];
    let hit_blocks = screening_hits(r);
    if hit_blocks.is_empty() {
        blocks.push(Block::Para(
            "No party matched a list entry at or above the threshold.".into(),
        ));
    }
    blocks.extend(hit_blocks);
    blocks.push(Block::Heading("Ownership findings".into()));
    let owned: Vec<Block> = r
        .parties
        .iter()
        .filter_map(|p| p.ownership.as_ref().map(|f| ownership_finding(r, p, f)))
        .collect();
    if owned.is_empty() {
        blocks.push(Block::Para(
            "No party is owned by listed or blocked parties.".into(),
        ));
    }
    blocks.extend(owned);
    Section {
        id: "parties",
        title: "Parties",
        page_break: true,
        blocks,
    }
}

fn party_row(p: &PartyResult) -> Vec<Cell> {
    vec![
        Cell::text(&p.party),
        Cell::text(words(&p.role)),
        Cell::text(&p.name),
        Cell::text(p.country.clone().unwrap_or_else(|| "not given".into())),
        Cell::text(words(p.status.as_str())).tone(status_tone(p.status)),
        Cell::lines(
            p.hits
                .iter()
                .map(|h| format!("{}: {} ({:.3})", h.list, h.matched, h.score))
                .collect(),
        ),
        Cell::text(p.same_as.clone().unwrap_or_default()),
    ]
}

fn screening_hits(r: &Review) -> Vec<Block> {
    let mut out = Vec::new();
    for p in r.parties.iter().filter(|p| !p.hits.is_empty()) {
        for (n, h) in p.hits.iter().enumerate() {
            out.push(Block::Heading(format!(
                "{} {}: hit {} of {}",
                p.party,
                p.name,
                n + 1,
                p.hits.len()
            )));
            out.extend(hit(h));
        }
    }
    out
}

fn hit(h: &Hit) -> Vec<Block> {
    let alignment = h
        .explanation
        .alignment
        .iter()
        .map(|t| {
            vec![
                Cell::text(t.query.clone().unwrap_or_else(|| "(none)".into())),
                Cell::text(t.candidate.clone().unwrap_or_else(|| "(none)".into())),
                Cell::text(format!("{:.3}", t.similarity)),
            ]
        })
        .collect();
    let features = h
        .explanation
        .features
        .iter()
        .map(|f| {
            vec![
                Cell::text(&f.feature),
                Cell::text(&f.detail),
                Cell::text(format!("{:+.3}", f.effect)),
            ]
        })
        .collect();
    vec![
        Block::Facts(vec![
            fact("Matched name", Cell::text(&h.matched).tone(Tone::Bad)),
            fact("Listed as", Cell::text(&h.name)),
            fact("List", Cell::text(&h.list)),
            fact("Entity", Cell::text(&h.entity)),
            fact("Score", Cell::text(format!("{:.3}", h.score))),
        ]),
        table_or(
            "No token alignment recorded.",
            vec![col("Party's token"), col("Listed token"), num("Similarity")],
            alignment,
        ),
        table_or(
            "No feature effects recorded.",
            vec![col("Feature"), col("Compared"), num("Effect on score")],
            features,
        ),
    ]
}

fn ownership_finding(r: &Review, p: &PartyResult, f: &OwnershipFinding) -> Block {
    Block::Facts(vec![
        fact("Party", Cell::text(format!("{} {}", p.party, p.name))),
        fact(
            "Status",
            Cell::text(words(p.status.as_str())).tone(status_tone(p.status)),
        ),
        fact(
            "Held by listed or blocked owners",
            Cell::text(pct(f.listed_percent)).tone(Tone::Bad),
        ),
        fact(
            "Owners counted",
            Cell::lines(f.owners.iter().map(|o| party_label(r, o)).collect()),
        ),
        fact("Rule", Cell::text(&f.rule)),
    ])
}

// ---- location verification ---------------------------------------------------------------------

fn location_verification(r: &Review) -> Section {
    let rows = r
        .location_verification
        .iter()
        .map(|l| {
            vec![
                Cell::text(&l.component),
                Cell::text(&l.site),
                Cell::text(format!("{} ({:.4}, {:.4})", l.country, l.lat, l.lon)),
                Cell::text(l.quantity.to_string()),
                Cell::text(or_none(&l.eccn)),
                if l.required {
                    Cell::text("required").tone(Tone::Warn)
                } else {
                    Cell::text("not required")
                },
                Cell::text(&l.reason),
                Cell::text(&l.source),
            ]
        })
        .collect();
    Section {
        id: "location-verification",
        title: "Location verification duties",
        page_break: false,
        blocks: vec![table_or(
            "No hardware component is installed at a site.",
            vec![
                col("Component"),
                col("Site"),
                col("Location"),
                num("Quantity"),
                col("ECCN"),
                col("Duty"),
                col("Reason"),
                col("Source"),
            ],
            rows,
        )],
    }
}

// ---- unclassified ------------------------------------------------------------------------------

fn unclassified(r: &Review) -> Section {
    let rows = r
        .unclassified
        .iter()
        .map(|u| {
            vec![
                Cell::text(&u.component).tone(Tone::Warn),
                Cell::text(u.layer.as_str()),
                Cell::text(&u.reason),
            ]
        })
        .collect();
    Section {
        id: "unclassified",
        title: "Unclassified components",
        page_break: false,
        blocks: vec![table_or(
            "None: every component is classified.",
            vec![col("Component"), col("Layer"), col("Reason")],
            rows,
        )],
    }
}

// ---- licence application drafts ----------------------------------------------------------------

fn licence_applications(r: &Review) -> Section {
    let mut blocks = Vec::new();
    if r.licence_applications.is_empty() {
        blocks.push(Block::Para(
            "No item needs a licence: no application is drafted.".into(),
        ));
    } else {
        blocks.push(Block::Note(
            Tone::Warn,
            format!(
                "{DRAFT_MARK}. Each draft fills the blocks of Form BIS-748P that the proposal \
                 supplies, for the applicant's licensing officer to complete and file through \
                 SNAP-R (15 CFR 748.1(d)). Stackport never submits an application."
            ),
        ));
    }
    let n = r.licence_applications.len();
    for (i, d) in r.licence_applications.iter().enumerate() {
        blocks.extend(licence_draft(d, i + 1, n));
    }
    Section {
        id: "licence-applications",
        title: "Licence application drafts",
        page_break: true,
        blocks,
    }
}

fn draft_party(p: &DraftParty) -> Cell {
    Cell::text(format!("{} ({})", p.name, p.country))
}

fn licence_draft(d: &LicenceDraft, n: usize, of: usize) -> Vec<Block> {
    vec![
        Block::Heading(format!(
            "Draft {n} of {of}: Form {} for end user {} in {}",
            d.form, d.end_user_id, d.destination
        )),
        Block::Note(Tone::Warn, format!("{DRAFT_MARK} (status: {})", d.status)),
        Block::Facts(vec![
            fact(
                "Block 5: type of application",
                Cell::text(d.application_type),
            ),
            fact("Block 14: applicant", draft_party(&d.applicant)),
            fact(
                "Block 18: ultimate consignee",
                draft_party(&d.ultimate_consignee),
            ),
            fact("Block 19: end user", draft_party(&d.end_user)),
            fact(
                "Block 21: specific end use",
                Cell::text(&d.specific_end_use),
            ),
        ]),
        table_or(
            "No item.",
            vec![
                col("Component"),
                col("22(a) ECCN"),
                num("22(e) Quantity"),
                col("22(f) Units"),
                num("22(g) Unit price (USD)"),
                num("22(h) Total price (USD)"),
                col("22(i) Manufacturer"),
                col("22(j) Description"),
                col("Review policy"),
                col("Citations"),
            ],
            d.items.iter().map(draft_item_row).collect(),
        ),
        Block::Facts(vec![
            fact(
                "Block 23: total application value",
                Cell::text(usd(d.total_value_usd)),
            ),
            fact(
                "Block 24: additional information",
                Cell::text(&d.additional_information),
            ),
        ]),
    ]
}

fn draft_item_row(i: &DraftItem) -> Vec<Cell> {
    vec![
        Cell::text(&i.component),
        Cell::text(&i.eccn),
        Cell::text(i.quantity.to_string()),
        Cell::text(i.units),
        Cell::text(optional_usd(i.unit_price_usd)),
        Cell::text(optional_usd(i.total_price_usd)),
        Cell::text(&i.manufacturer),
        Cell::text(&i.description),
        Cell::text(i.review_policy.as_deref().map_or("none".into(), words)),
        Cell::lines(i.citations.clone()),
    ]
}

// ---- federal support ---------------------------------------------------------------------------

fn federal_support(r: &Review) -> Section {
    let rows = r
        .financing
        .iter()
        .map(|f| {
            vec![
                Cell::text(words(&f.instrument)),
                Cell::text(&f.agency),
                Cell::text(money(f.amount_usd)),
                Cell::text(&f.note),
                Cell::text(&f.source),
            ]
        })
        .collect();
    Section {
        id: "federal-support",
        title: "Federal support",
        page_break: false,
        blocks: vec![table_or(
            "The proposal asks for no federal support.",
            vec![
                col("Instrument"),
                col("Agency"),
                num("Amount (USD)"),
                col("Note"),
                col("Source"),
            ],
            rows,
        )],
    }
}

// ---- versions and sign-off ---------------------------------------------------------------------

fn versions(r: &Review) -> Section {
    let v = &r.versions;
    Section {
        id: "versions",
        title: "Versions",
        page_break: true,
        blocks: vec![
            Block::Para("What this review was decided with.".into()),
            Block::Facts(vec![
                fact("Rulebook", Cell::text(&v.rulebook)),
                fact("Program rules", Cell::text(&v.program_rules)),
                fact("Screening algorithm", Cell::text(v.screening_algorithm)),
                fact("Screening threshold", Cell::text(v.threshold.to_string())),
                fact(
                    "List snapshots (SHA-256)",
                    Cell::lines(v.list_hashes.clone()),
                ),
            ]),
        ],
    }
}

fn sign_off() -> Section {
    Section {
        id: "sign-off",
        title: "Sign-off",
        page_break: false,
        blocks: vec![
            Block::Note(Tone::Plain, NOT_LEGAL_ADVICE.into()),
            Block::SignOff,
        ],
    }
}

/// The labels of the sign-off lines.
const SIGN_OFF: [&str; 4] = ["Reviewed by (name)", "Title", "Date", "Signature"];

// ---- Markdown ----------------------------------------------------------------------------------

fn md_document(d: &Document) -> String {
    let mut out = format!("# {}\n\n", md_escape(&d.title));
    md_facts(&mut out, &d.facts);
    out.push_str(&format!("> {}\n\n", md_escape(NOT_LEGAL_ADVICE)));
    for (n, s) in d.sections.iter().enumerate() {
        md_section(&mut out, n + 1, s);
    }
    out
}

fn md_section(out: &mut String, n: usize, s: &Section) {
    out.push_str(&format!("## {n}. {}\n\n", md_escape(s.title)));
    for b in &s.blocks {
        md_block(out, b);
    }
}

fn md_block(out: &mut String, b: &Block) {
    match b {
        Block::Heading(t) => out.push_str(&format!("### {}\n\n", md_escape(t))),
        Block::Para(t) => out.push_str(&format!("{}\n\n", md_escape(t))),
        Block::Note(_, t) => out.push_str(&format!("> **{}**\n\n", md_escape(t))),
        Block::Verdict(v) => md_verdict(out, *v),
        Block::List(items) => md_list(out, items),
        Block::Facts(facts) => md_facts(out, facts),
        Block::Table(t) => md_table(out, t),
        Block::SignOff => md_sign_off(out),
    }
}

fn md_verdict(out: &mut String, v: Verdict) {
    out.push_str(&format!(
        "**Verdict: {}** (`{}`)\n\n{}\n\n",
        verdict_title(v),
        v.as_str(),
        md_escape(verdict_meaning(v))
    ));
}

fn md_list(out: &mut String, items: &[String]) {
    for i in items {
        out.push_str(&format!("- {}\n", md_escape(i)));
    }
    out.push('\n');
}

fn md_facts(out: &mut String, facts: &[(String, Cell)]) {
    for (label, value) in facts {
        out.push_str(&format!("- **{}:** {}\n", md_escape(label), md_cell(value)));
    }
    out.push('\n');
}

fn md_table(out: &mut String, t: &Table) {
    let head: Vec<String> = t.cols.iter().map(|c| md_escape(c.title)).collect();
    let rule: Vec<&str> = t
        .cols
        .iter()
        .map(|c| if c.numeric { "---:" } else { "---" })
        .collect();
    out.push_str(&format!("| {} |\n", head.join(" | ")));
    out.push_str(&format!("|{}|\n", rule.join("|")));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(md_cell).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
}

fn md_sign_off(out: &mut String) {
    for label in SIGN_OFF {
        out.push_str(&format!("{label}: ________________________________\n\n"));
    }
}

/// A cell's lines on one line, as a pipe table needs.
fn md_cell(c: &Cell) -> String {
    let lines: Vec<String> = c.lines.iter().map(|l| md_escape(l)).collect();
    lines.join("; ")
}

/// Text for Markdown, inline or in a table cell: newlines become spaces (a cell is one line,
/// and a newline could start a heading or a list), and characters that would make markup are
/// escaped: `\ * [ ] ` | ` with a backslash, `_` where it could open or close emphasis, `<`
/// and `>` as entities (so no raw HTML survives, whatever the renderer), and `&` where it
/// could start an entity.
fn md_escape(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &ch) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        match ch {
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '*' | '[' | ']' | '`' | '|' => {
                out.push('\\');
                out.push(ch);
            }
            '_' if !(before.is_some_and(char::is_alphanumeric)
                && after.is_some_and(char::is_alphanumeric)) =>
            {
                out.push_str("\\_")
            }
            '&' if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '#') => {
                out.push_str("\\&")
            }
            _ => out.push(ch),
        }
    }
    out
}

// ---- HTML --------------------------------------------------------------------------------------

fn html_document(d: &Document) -> String {
    let mut out = String::from("<!doctype html>\n<html lang=\"en\">\n");
    html_head(&mut out, &d.title);
    out.push_str("<body>\n<header>\n");
    out.push_str(&format!("<h1>{}</h1>\n", html_escape(&d.title)));
    html_facts(&mut out, &d.facts);
    out.push_str(&format!(
        "<p class=\"note legal\">{}</p>\n</header>\n",
        html_escape(NOT_LEGAL_ADVICE)
    ));
    for (n, s) in d.sections.iter().enumerate() {
        html_section(&mut out, n + 1, s);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn html_head(out: &mut String, title: &str) {
    out.push_str("<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", html_escape(title)));
    out.push_str(&format!("<style>\n{CSS}</style>\n</head>\n"));
}

fn html_section(out: &mut String, n: usize, s: &Section) {
    let class = if s.page_break {
        " class=\"new-page\""
    } else {
        ""
    };
    out.push_str(&format!("<section id=\"{}\"{class}>\n", s.id));
    out.push_str(&format!("<h2>{n}. {}</h2>\n", html_escape(s.title)));
    for b in &s.blocks {
        html_block(out, b);
    }
    out.push_str("</section>\n");
}

fn html_block(out: &mut String, b: &Block) {
    match b {
        Block::Heading(t) => out.push_str(&format!("<h3>{}</h3>\n", html_escape(t))),
        Block::Para(t) => out.push_str(&format!("<p>{}</p>\n", html_escape(t))),
        Block::Note(tone, t) => out.push_str(&format!(
            "<p class=\"note {}\">{}</p>\n",
            tone_class(*tone),
            html_escape(t)
        )),
        Block::Verdict(v) => html_verdict(out, *v),
        Block::List(items) => html_list(out, items),
        Block::Facts(facts) => html_facts(out, facts),
        Block::Table(t) => html_table(out, t),
        Block::SignOff => html_sign_off(out),
    }
}

fn html_verdict(out: &mut String, v: Verdict) {
    out.push_str(&format!(
        "<div class=\"verdict v-{code}\">\n<p class=\"verdict-title\">Verdict: {}</p>\n\
         <p class=\"verdict-code\">{code}</p>\n<p>{}</p>\n</div>\n",
        verdict_title(v),
        html_escape(verdict_meaning(v)),
        code = v.as_str(),
    ));
}

fn html_list(out: &mut String, items: &[String]) {
    out.push_str("<ul>\n");
    for i in items {
        out.push_str(&format!("<li>{}</li>\n", html_escape(i)));
    }
    out.push_str("</ul>\n");
}

fn html_facts(out: &mut String, facts: &[(String, Cell)]) {
    out.push_str("<table class=\"facts\">\n<tbody>\n");
    for (label, value) in facts {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th>{}</tr>\n",
            html_escape(label),
            html_cell(value, false)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html_table(out: &mut String, t: &Table) {
    out.push_str("<table>\n<thead>\n<tr>");
    for c in &t.cols {
        let class = if c.numeric { " class=\"num\"" } else { "" };
        out.push_str(&format!(
            "<th scope=\"col\"{class}>{}</th>",
            html_escape(c.title)
        ));
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let numeric = t.cols.get(i).is_some_and(|c| c.numeric);
            out.push_str(&html_cell(cell, numeric));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html_cell(c: &Cell, numeric: bool) -> String {
    let mut classes = Vec::new();
    if numeric {
        classes.push("num");
    }
    if c.tone != Tone::Plain {
        classes.push(tone_class(c.tone));
    }
    let class = if classes.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", classes.join(" "))
    };
    let lines: Vec<String> = c.lines.iter().map(|l| html_escape(l)).collect();
    format!("<td{class}>{}</td>", lines.join("<br>"))
}

fn html_sign_off(out: &mut String) {
    out.push_str("<div class=\"sign-off\">\n");
    for label in SIGN_OFF {
        out.push_str(&format!(
            "<div class=\"sign-line\"><span class=\"sign-label\">{label}</span><span class=\"sign-blank\"></span></div>\n"
        ));
    }
    out.push_str("</div>\n");
}

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Plain => "plain",
        Tone::Good => "good",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
    }
}

/// Text for HTML, in element content or a quoted attribute.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The page's only style: readable on screen, set for A4 or Letter paper in print, colour
/// doubled by words (a verdict or a status reads the same in black and white).
const CSS: &str = r#"@page { size: auto; margin: 16mm 14mm; }
body { font-family: "Helvetica Neue", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4;
  color: #111; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 18pt; margin: 0 0 .5rem; }
h2 { font-size: 14pt; border-bottom: 2px solid #222; padding-bottom: .15rem; margin-top: 2rem; }
h3 { font-size: 11pt; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .9rem; font-size: 9pt; }
th, td { border: 1px solid #555; padding: .25rem .4rem; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
thead th { background: #e8e8e8; }
table.facts th { width: 16rem; background: #f3f3f3; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.good { color: #1b5e20; font-weight: 600; }
td.warn { color: #7a4a00; font-weight: 600; }
td.bad { color: #b00020; font-weight: 700; }
.note { border-left: 4px solid #777; background: #f5f5f5; padding: .4rem .6rem; }
.note.warn { border-color: #c77700; background: #fff4e0; font-weight: 600; }
.note.bad { border-color: #b00020; background: #fde7e9; font-weight: 600; }
.note.legal { font-size: 9pt; }
.verdict { border: 2px solid; border-left-width: 10px; padding: .5rem .9rem; margin: .6rem 0 1rem; }
.verdict p { margin: .2rem 0; }
.verdict-title { font-size: 18pt; font-weight: 800; letter-spacing: .03em; }
.verdict-code { font-family: monospace; font-size: 9pt; }
.v-clear { border-color: #1b5e20; background: #e8f5e9; color: #1b5e20; }
.v-licences_required { border-color: #c77700; background: #fff4e0; color: #6b4100; }
.v-held { border-color: #c62828; background: #fdecea; color: #8e1b1b; }
.v-prohibited { border-color: #b00020; background: #fde7e9; color: #8a0018; }
.v-ineligible { border-color: #6a1b9a; background: #f3e5f5; color: #4a148c; }
.sign-off { margin-top: 1.2rem; break-inside: avoid; page-break-inside: avoid; }
.sign-line { display: flex; align-items: flex-end; margin: 1.6rem 0; }
.sign-label { width: 12rem; font-weight: 600; }
.sign-blank { flex: 1; border-bottom: 1px solid #111; height: 1.4rem; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; }
  section.new-page { break-before: page; page-break-before: always; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, .verdict, .note { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .verdict, .note, td.good, td.warn, td.bad, thead th, table.facts th {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_covers_markup_and_quotes() {
        assert_eq!(
            html_escape(r#"<a href="x">Tom's & Co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; Co&lt;/a&gt;"
        );
    }

    #[test]
    fn md_escape_keeps_cells_on_one_line_and_markup_out() {
        assert_eq!(md_escape("a|b\nc"), r"a\|b c");
        assert_eq!(md_escape("<script>"), "&lt;script&gt;");
        assert_eq!(md_escape("*x* [y](z) `c`"), r"\*x\* \[y\](z) \`c\`");
        // Underscores inside a word cannot make emphasis and stay readable.
        assert_eq!(md_escape("licence_required _x_"), r"licence_required \_x\_");
        assert_eq!(md_escape("AT&T & co &amp;"), r"AT\&T & co \&amp;");
    }

    #[test]
    fn percentages_do_not_round_across_the_threshold() {
        assert_eq!(pct(72.5), "72.5%");
        assert_eq!(pct(51.0), "51%");
        assert_eq!(pct_beside(72.459429, 51.0), "72.46%");
        assert_eq!(pct_beside(50.999, 51.0), "50.999%");
    }
}
