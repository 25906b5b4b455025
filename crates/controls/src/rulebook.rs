//! Loading, validating and compiling the rulebook.
//!
//! The TOML files are parsed into [`crate::raw`] shapes, checked (every problem is collected
//! with its file, line and field), and compiled: the timeline is cut into *epochs* at every
//! date on which any entry starts, ends, stops being enforced, or a country group changes.
//! Within an epoch nothing changes, so each (epoch, posture) pair gets a [`Snapshot`] with
//! every country selector already materialised as a bitmap and the in-force entries listed
//! per kind. A determination is then a binary search for the epoch and a few bitmap tests.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use toml::value::Datetime;

use crate::country::{Country, CountryCode, CountrySet};
use crate::date::Day;
use crate::error::{Problem, RulebookError};
use crate::raw;

/// The files of a rulebook directory, in load order.
pub const FILES: [&str; 8] = [
    "rulebook.toml",
    "countries.toml",
    "country_groups.toml",
    "classification.toml",
    "licensing.toml",
    "overlays.toml",
    "de_minimis.toml",
    "catalog.toml",
];

/// One rulebook file's name (as shown in errors) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// Which reading of the law to apply.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Posture {
    /// The law as BIS enforces it (AI Diffusion rule not enforced from 13 May 2025).
    Enforced,
    /// The codified text, including entries BIS does not enforce.
    Codified,
}

impl Posture {
    /// `enforced` or `codified`, in any case, with surrounding spaces.
    pub fn parse(s: &str) -> Option<Posture> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("enforced") {
            Some(Posture::Enforced)
        } else if s.eq_ignore_ascii_case("codified") {
            Some(Posture::Codified)
        } else {
            None
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Posture::Enforced => "enforced",
            Posture::Codified => "codified",
        }
    }
    fn index(self) -> usize {
        match self {
            Posture::Enforced => 0,
            Posture::Codified => 1,
        }
    }
}

/// Whether an entry is enforced or only stands in the codified text.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Enforcement {
    Enforced,
    CodifiedOnly,
}

/// How sure the rulebook is of an entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    Low,
    High,
}

impl Confidence {
    pub fn as_str(&self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Low => "low",
        }
    }
}

/// A licence outcome, ordered by severity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    NotSubject,
    Nlr,
    LicenseException,
    LicenseRequired,
    Prohibited,
    /// A parameter the answer depends on is missing (see `missing`).
    Undetermined,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "nlr" => Outcome::Nlr,
            "license_exception" => Outcome::LicenseException,
            "license_required" => Outcome::LicenseRequired,
            "prohibited" => Outcome::Prohibited,
            "not_subject" => Outcome::NotSubject,
            _ => return None,
        })
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::NotSubject => "not_subject",
            Outcome::Nlr => "nlr",
            Outcome::LicenseException => "license_exception",
            Outcome::LicenseRequired => "license_required",
            Outcome::Prohibited => "prohibited",
            Outcome::Undetermined => "undetermined",
        }
    }
}

/// Licence review policy, ordered by restrictiveness.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReviewPolicy {
    PresumptionOfApproval,
    CaseByCase,
    PresumptionOfDenial,
}

impl ReviewPolicy {
    pub fn parse(s: &str) -> Option<ReviewPolicy> {
        Some(match s {
            "presumption_of_approval" => ReviewPolicy::PresumptionOfApproval,
            "case_by_case" => ReviewPolicy::CaseByCase,
            "presumption_of_denial" => ReviewPolicy::PresumptionOfDenial,
            _ => return None,
        })
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewPolicy::PresumptionOfApproval => "presumption_of_approval",
            ReviewPolicy::CaseByCase => "case_by_case",
            ReviewPolicy::PresumptionOfDenial => "presumption_of_denial",
        }
    }
}

/// A dated, cited rulebook entry (any kind).
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// The table it came from (`requirement`, `exception`, ...).
    pub kind: &'static str,
    pub title: String,
    pub citation: String,
    pub fr: String,
    pub effective: Day,
    pub compliance: Option<Day>,
    pub end: Option<Day>,
    pub enforcement: Enforcement,
    pub not_enforced_from: Option<Day>,
    pub confidence: Confidence,
    pub uncertain: Option<String>,
    pub note: Option<String>,
    pub file: String,
    pub line: usize,
}

impl Rule {
    /// First day on which obligations bite (the compliance date where one is set).
    pub fn start(&self) -> Day {
        match self.compliance {
            Some(c) if c > self.effective => c,
            _ => self.effective,
        }
    }

    /// Whether the entry applies on `day` under `posture`.
    pub fn in_force(&self, day: Day, posture: Posture) -> bool {
        if day < self.start() || self.end.is_some_and(|e| day >= e) {
            return false;
        }
        match (posture, self.not_enforced_from) {
            (Posture::Enforced, Some(n)) => day < n,
            _ => true,
        }
    }

    /// `id@effective`, the version tag shown in answers.
    pub fn version(&self) -> String {
        format!("{}@{}", self.id, self.effective)
    }
}

/// Numeric parameters of an item.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Param {
    Tpp = 0,
    PerformanceDensity = 1,
    IoBandwidth = 2,
    DramBandwidth = 3,
    TrainingOperations = 4,
    MemoryBandwidthDensity = 5,
}

pub const PARAM_COUNT: usize = 6;

impl Param {
    pub fn parse(s: &str) -> Option<Param> {
        Some(match s {
            "tpp" => Param::Tpp,
            "performance_density" => Param::PerformanceDensity,
            "io_bandwidth_gbps" => Param::IoBandwidth,
            "dram_bandwidth_gbps" => Param::DramBandwidth,
            "training_operations" => Param::TrainingOperations,
            "memory_bandwidth_density" => Param::MemoryBandwidthDensity,
            _ => return None,
        })
    }
    pub fn name(&self) -> &'static str {
        match self {
            Param::Tpp => "tpp",
            Param::PerformanceDensity => "performance_density",
            Param::IoBandwidth => "io_bandwidth_gbps",
            Param::DramBandwidth => "dram_bandwidth_gbps",
            Param::TrainingOperations => "training_operations",
            Param::MemoryBandwidthDensity => "memory_bandwidth_density",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) enum Op {
    Min,
    Above,
    Below,
    Max,
}

/// One parameter test.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Cond {
    pub param: Param,
    pub(crate) op: Op,
    pub value: f64,
}

impl Cond {
    /// `None` when the parameter is missing.
    pub(crate) fn holds(&self, params: &[Option<f64>; PARAM_COUNT]) -> Option<bool> {
        let v = params[self.param as usize]?;
        Some(match self.op {
            Op::Min => v >= self.value,
            Op::Above => v > self.value,
            Op::Below => v < self.value,
            Op::Max => v <= self.value,
        })
    }
    pub fn describe(&self) -> String {
        let op = match self.op {
            Op::Min => ">=",
            Op::Above => ">",
            Op::Below => "<",
            Op::Max => "<=",
        };
        format!("{} {} {}", self.param.name(), op, self.value)
    }
}

/// What kind of item a paragraph classifies.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Chip,
    Memory,
    Model,
    Computer,
    /// Software, data, technology or a service classified by the ECCN its exporter declares.
    Software,
}

impl ItemKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ItemKind::Chip => "chip",
            ItemKind::Memory => "memory",
            ItemKind::Model => "model",
            ItemKind::Computer => "computer",
            ItemKind::Software => "software",
        }
    }
    pub(crate) fn is_hardware(&self) -> bool {
        !matches!(self, ItemKind::Model | ItemKind::Software)
    }
}

/// Which items an overlay reaches.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Hardware,
    Controlled(u32),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Notification {
    Always,
    Never,
    Conditional,
}

pub(crate) type Sel = u16;

#[derive(Debug, Clone)]
pub(crate) struct SelectorDef {
    all: bool,
    groups: Vec<usize>,
    countries: Vec<Country>,
    except_groups: Vec<usize>,
    except_countries: Vec<Country>,
}

#[derive(Debug, Clone)]
pub(crate) struct ParagraphDef {
    pub rule: u16,
    pub eccn: String,
    pub item: ItemKind,
    pub control: u8,
    pub datacenter_only: bool,
    pub conds: Vec<Cond>,
    /// Bit per [`Param`]: a missing value of it fails the test instead of leaving it undecided.
    pub absent_not_met: u32,
}
#[derive(Debug, Clone)]
pub(crate) struct AssemblyDef {
    pub rule: u16,
    pub eccn: String,
    pub contains: u8,
    pub control: u8,
}
#[derive(Debug, Clone)]
pub(crate) struct ZDef {
    pub rule: u16,
    pub bases: Vec<String>,
}
#[derive(Debug, Clone)]
pub(crate) struct RequirementDef {
    pub rule: u16,
    pub controls: u32,
    pub dest: Option<Sel>,
    pub hq: Option<Sel>,
    pub from: Option<Sel>,
    pub datacenter: Option<bool>,
}
#[derive(Debug, Clone)]
pub(crate) struct ExceptionDef {
    pub rule: u16,
    pub symbol: String,
    pub order: u32,
    pub controls: u32,
    pub dc_excluded: u32,
    pub elig_dest: Option<Sel>,
    pub elig_hq: Option<Sel>,
    pub hq_excluded: Option<Sel>,
    pub notification: Notification,
    pub notify_dest: Option<Sel>,
    pub notify_hq: Option<Sel>,
}
#[derive(Debug, Clone)]
pub(crate) struct PolicyDef {
    pub rule: u16,
    pub controls: u32,
    pub dest: Option<Sel>,
    pub hq: Option<Sel>,
    pub from: Option<Sel>,
    pub conds: Vec<Cond>,
    pub policy: ReviewPolicy,
    pub precedence: i32,
}
#[derive(Debug, Clone)]
pub(crate) struct OverlayDef {
    pub rule: u16,
    /// List code for list rules, end-use code for end uses, exporter for letters.
    pub key: String,
    pub items: Scope,
    pub dest: Option<Sel>,
    pub hq: Option<Sel>,
    pub catalog: Vec<u16>,
    pub outcome: Outcome,
    pub policy: Option<ReviewPolicy>,
    pub barred: bool,
    /// False for end uses that have no effect.
    pub effective: bool,
}
#[derive(Debug, Clone)]
pub(crate) struct ThresholdDef {
    pub rule: u16,
    pub advanced_only: bool,
    pub dest: Sel,
    pub percent: f64,
}
#[derive(Debug, Clone)]
pub(crate) struct GroupDef {
    pub id: String,
    pub rule: u16,
    pub base: Vec<Country>,
}
#[derive(Debug, Clone)]
pub(crate) struct ChangeDef {
    pub rule: u16,
    pub group: usize,
    pub add: bool,
    pub countries: Vec<Country>,
}
#[derive(Debug, Clone)]
pub(crate) struct AliasDef {
    pub rule: u16,
    pub from: Country,
    pub to: Country,
}

/// A catalog entry with its figures resolved into parameters.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub id: String,
    pub vendor: String,
    pub name: String,
    /// The chip's datasheet record (for chips), with the source of each figure.
    pub chip: Option<raw::CatalogChip>,
    /// For computers: the contained chip's catalog id and count.
    pub contains: Option<(String, u32)>,
    pub item: crate::item::ResolvedItem,
}

/// In-force entries and materialised country sets for one epoch and posture.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub start: Day,
    pub sets: Vec<CountrySet>,
    pub groups: Vec<CountrySet>,
    pub paragraphs: Vec<u16>,
    pub assemblies: Vec<u16>,
    pub z: Vec<u16>,
    pub requirements: Vec<u16>,
    pub exceptions: Vec<u16>,
    pub policies: Vec<u16>,
    pub embargoes: Vec<u16>,
    pub list_rules: Vec<u16>,
    pub end_uses: Vec<u16>,
    pub letters: Vec<u16>,
    pub thresholds: Vec<u16>,
    pub aliases: Vec<u16>,
    /// Low-confidence country-group changes in force, with the countries they move: an answer
    /// for one of those countries cites the change.
    pub disputed: Vec<(u16, CountrySet)>,
}

/// The compiled rulebook.
#[derive(Debug, Clone)]
pub struct Rulebook {
    pub version: String,
    pub valid_from: Day,
    pub valid_through: Day,
    pub sources_as_of: Day,
    pub rules: Vec<Rule>,
    pub(crate) codes: Vec<CountryCode>,
    pub(crate) lookup: Vec<u8>,
    pub(crate) aliases: Vec<AliasDef>,
    pub(crate) groups: Vec<GroupDef>,
    pub(crate) changes: Vec<ChangeDef>,
    pub(crate) selectors: Vec<SelectorDef>,
    /// Control class names (adv_a, adv_b, ...), indexed by control id.
    pub controls: Vec<String>,
    pub(crate) paragraphs: Vec<ParagraphDef>,
    pub(crate) assemblies: Vec<AssemblyDef>,
    pub(crate) zs: Vec<ZDef>,
    pub(crate) requirements: Vec<RequirementDef>,
    pub(crate) exceptions: Vec<ExceptionDef>,
    pub(crate) policies: Vec<PolicyDef>,
    pub(crate) embargoes: Vec<OverlayDef>,
    pub(crate) list_rules: Vec<OverlayDef>,
    pub(crate) end_uses: Vec<OverlayDef>,
    pub(crate) letters: Vec<OverlayDef>,
    pub(crate) thresholds: Vec<ThresholdDef>,
    pub(crate) catalog: Vec<CatalogEntry>,
    pub(crate) catalog_index: HashMap<String, u16>,
    pub(crate) provisions: HashMap<String, u16>,
    /// ECCNs controlled for anti-terrorism reasons only (provision `declared-at-only`).
    pub(crate) at_only: Vec<String>,
    pub(crate) epoch_starts: Vec<Day>,
    pub(crate) snapshots: Vec<Snapshot>,
    pub(crate) us: Country,
}

// ------------------------------------------------------------------------------------------
// Loading

struct Ctx {
    problems: Vec<Problem>,
}

impl Ctx {
    fn push(&mut self, file: &str, line: usize, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_string(),
            line,
            field: field.to_string(),
            message: message.into(),
        });
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn parse_file<T: serde::de::DeserializeOwned>(ctx: &mut Ctx, f: &SourceFile) -> Option<T> {
    match toml::from_str::<T>(&f.text) {
        Ok(v) => Some(v),
        Err(e) => {
            let line = e.span().map(|s| line_of(&f.text, s.start)).unwrap_or(0);
            ctx.push(&f.name, line, "", e.message().trim().to_string());
            None
        }
    }
}

fn toml_day(dt: &Datetime) -> Option<Day> {
    if dt.time.is_some() || dt.offset.is_some() {
        return None;
    }
    let d = dt.date?;
    Day::from_ymd(d.year as i32, d.month as u32, d.day as u32)
}

/// The provenance fields shared by every entry, borrowed from any raw entry.
struct Prov<'a> {
    title: &'a Option<String>,
    citation: &'a str,
    fr: &'a str,
    effective: &'a Datetime,
    compliance: &'a Option<Datetime>,
    end: &'a Option<Datetime>,
    enforcement: &'a str,
    not_enforced_from: &'a Option<Datetime>,
    confidence: &'a str,
    uncertain: &'a Option<String>,
    note: &'a Option<String>,
}

macro_rules! prov {
    ($e:expr) => {
        Prov {
            title: &$e.title,
            citation: &$e.citation,
            fr: &$e.fr,
            effective: &$e.effective,
            compliance: &$e.compliance,
            end: &$e.end,
            enforcement: &$e.enforcement,
            not_enforced_from: &$e.not_enforced_from,
            confidence: &$e.confidence,
            uncertain: &$e.uncertain,
            note: &$e.note,
        }
    };
}

struct Builder<'t> {
    ctx: Ctx,
    rules: Vec<Rule>,
    ids: HashMap<String, (String, usize)>,
    codes: Vec<CountryCode>,
    lookup: Vec<u8>,
    group_ids: HashMap<String, usize>,
    selectors: Vec<SelectorDef>,
    controls: Vec<String>,
    file: &'t str,
    line: usize,
}

impl<'t> Builder<'t> {
    fn at(&mut self, file: &'t str, line: usize) {
        self.file = file;
        self.line = line;
    }
    fn err(&mut self, field: &str, msg: impl Into<String>) {
        let (f, l) = (self.file, self.line);
        self.ctx.push(f, l, field, msg);
    }

    fn rule(&mut self, id: &str, kind: &'static str, p: Prov<'_>) -> u16 {
        let day = |b: &mut Self, field: &str, dt: &Datetime| -> Option<Day> {
            let d = toml_day(dt);
            if d.is_none() {
                b.err(field, format!("{dt} is not a plain date (YYYY-MM-DD)"));
            }
            d
        };
        if id.trim().is_empty() {
            self.err("id", "empty id");
        }
        if let Some((f, l)) = self.ids.get(id) {
            let msg = format!("duplicate id {id:?} (first defined at {f}:{l})");
            self.err("id", msg);
        } else {
            self.ids
                .insert(id.to_string(), (self.file.to_string(), self.line));
        }
        if p.citation.trim().is_empty() {
            self.err(
                "citation",
                "empty citation: every entry must cite its 15 CFR section",
            );
        }
        if p.fr.trim().is_empty() {
            self.err("fr", "empty Federal Register reference");
        }
        let effective = day(self, "effective", p.effective)
            .unwrap_or(Day::from_ymd(1970, 1, 1).expect("valid"));
        let compliance = p
            .compliance
            .as_ref()
            .and_then(|d| day(self, "compliance", d));
        let end = p.end.as_ref().and_then(|d| day(self, "end", d));
        let not_enforced_from = p
            .not_enforced_from
            .as_ref()
            .and_then(|d| day(self, "not_enforced_from", d));
        if let Some(e) = end {
            if e <= effective {
                self.err("end", format!("end {e} is not after effective {effective}"));
            }
        }
        if let Some(c) = compliance {
            if c < effective {
                self.err(
                    "compliance",
                    format!("compliance {c} is before effective {effective}"),
                );
            }
        }
        let enforcement = match p.enforcement {
            "enforced" => Enforcement::Enforced,
            "codified_only" => Enforcement::CodifiedOnly,
            other => {
                self.err(
                    "enforcement",
                    format!("{other:?} is neither \"enforced\" nor \"codified_only\""),
                );
                Enforcement::Enforced
            }
        };
        match (enforcement, not_enforced_from) {
            (Enforcement::CodifiedOnly, None) => self.err(
                "not_enforced_from",
                "a codified_only entry must say from when it is not enforced",
            ),
            (Enforcement::Enforced, Some(_)) => self.err(
                "not_enforced_from",
                "an enforced entry cannot have not_enforced_from",
            ),
            _ => {}
        }
        let confidence = match p.confidence {
            "high" => Confidence::High,
            "low" => Confidence::Low,
            other => {
                self.err(
                    "confidence",
                    format!("{other:?} is neither \"high\" nor \"low\""),
                );
                Confidence::Low
            }
        };
        if confidence == Confidence::Low && p.uncertain.as_deref().unwrap_or("").trim().is_empty() {
            self.err(
                "uncertain",
                "a low-confidence entry must say what is uncertain",
            );
        }
        self.rules.push(Rule {
            id: id.to_string(),
            kind,
            title: p.title.clone().unwrap_or_else(|| id.to_string()),
            citation: p.citation.to_string(),
            fr: p.fr.to_string(),
            effective,
            compliance,
            end,
            enforcement,
            not_enforced_from,
            confidence,
            uncertain: p.uncertain.clone(),
            note: p.note.clone(),
            file: self.file.to_string(),
            line: self.line,
        });
        (self.rules.len() - 1) as u16
    }

    fn country(&mut self, field: &str, s: &str) -> Option<Country> {
        let c = CountryCode::parse(s).filter(|c| c.as_str() == s);
        match c.and_then(|c| match self.lookup[c.slot()] {
            0 => None,
            i => Some(Country(i - 1)),
        }) {
            Some(c) => Some(c),
            None => {
                self.err(
                    field,
                    format!("{s:?} is not a country code of countries.toml"),
                );
                None
            }
        }
    }

    fn countries(&mut self, field: &str, list: &[String]) -> Vec<Country> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for s in list {
            if !seen.insert(s.as_str()) {
                self.err(field, format!("{s:?} is listed twice"));
            }
            if let Some(c) = self.country(field, s) {
                out.push(c);
            }
        }
        out
    }

    fn group(&mut self, field: &str, s: &str) -> Option<usize> {
        match self.group_ids.get(s) {
            Some(g) => Some(*g),
            None => {
                self.err(field, format!("unknown country group {s:?}"));
                None
            }
        }
    }

    fn selector(&mut self, field: &str, s: &raw::Selector) -> Sel {
        let groups: Vec<usize> = s
            .groups
            .iter()
            .filter_map(|g| self.group(&format!("{field}.groups"), g))
            .collect();
        let except_groups: Vec<usize> = s
            .except_groups
            .iter()
            .filter_map(|g| self.group(&format!("{field}.except_groups"), g))
            .collect();
        let countries = self.countries(&format!("{field}.countries"), &s.countries);
        let except_countries =
            self.countries(&format!("{field}.except_countries"), &s.except_countries);
        if !s.all
            && groups.is_empty()
            && countries.is_empty()
            && s.groups.is_empty()
            && s.countries.is_empty()
        {
            self.err(
                field,
                "selector names no countries (set `all`, `groups` or `countries`)",
            );
        }
        self.selectors.push(SelectorDef {
            all: s.all,
            groups,
            countries,
            except_groups,
            except_countries,
        });
        (self.selectors.len() - 1) as Sel
    }

    fn opt_selector(&mut self, field: &str, s: &Option<raw::Selector>) -> Option<Sel> {
        s.as_ref().map(|s| self.selector(field, s))
    }

    fn control(&mut self, field: &str, s: &str) -> u8 {
        match self.controls.iter().position(|c| c == s) {
            Some(i) => i as u8,
            None => {
                self.err(
                    field,
                    format!(
                        "unknown control {s:?} (controls are declared by paragraphs: {})",
                        self.controls.join(", ")
                    ),
                );
                0
            }
        }
    }

    fn control_mask(&mut self, field: &str, list: &[String]) -> u32 {
        if list.is_empty() {
            self.err(field, "empty list of controls");
        }
        list.iter()
            .fold(0u32, |m, s| m | (1 << self.control(field, s)))
    }

    fn conds(&mut self, field: &str, list: &[raw::Condition]) -> Vec<Cond> {
        let mut out = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let Some(param) = Param::parse(&c.param) else {
                self.err(
                    &format!("{f}.param"),
                    format!("unknown parameter {:?}", c.param),
                );
                continue;
            };
            let ops: Vec<(Op, f64)> = [
                (Op::Min, c.min),
                (Op::Above, c.above),
                (Op::Below, c.below),
                (Op::Max, c.max),
            ]
            .into_iter()
            .filter_map(|(o, v)| v.map(|v| (o, v)))
            .collect();
            if ops.len() != 1 {
                self.err(
                    &f,
                    "a condition needs exactly one of min, above, below, max",
                );
                continue;
            }
            let (op, value) = ops[0];
            if !value.is_finite() || value < 0.0 {
                self.err(
                    &f,
                    format!("threshold {value} must be a finite non-negative number"),
                );
                continue;
            }
            out.push(Cond { param, op, value });
        }
        out
    }

    fn outcome(&mut self, field: &str, s: &str) -> Outcome {
        match Outcome::parse(s) {
            Some(o) if o != Outcome::NotSubject => o,
            _ => {
                self.err(
                    field,
                    format!(
                        "{s:?} is not one of nlr, license_exception, license_required, prohibited"
                    ),
                );
                Outcome::LicenseRequired
            }
        }
    }

    fn policy(
        &mut self,
        field: &str,
        s: &Option<String>,
        outcome: Outcome,
    ) -> Option<ReviewPolicy> {
        match s {
            None => {
                if outcome >= Outcome::LicenseRequired {
                    self.err(
                        field,
                        "a licence-requiring or prohibiting entry must name its review policy",
                    );
                }
                None
            }
            Some(p) => match ReviewPolicy::parse(p) {
                Some(p) => Some(p),
                None => {
                    self.err(field, format!("{p:?} is not presumption_of_approval, case_by_case or presumption_of_denial"));
                    None
                }
            },
        }
    }

    fn scope(&mut self, field: &str, s: &str, controls: &[String]) -> Scope {
        match s {
            "all" => Scope::All,
            "hardware" => Scope::Hardware,
            "controlled" => Scope::Controlled(self.control_mask("controls", controls)),
            other => {
                self.err(
                    field,
                    format!("{other:?} is not all, hardware or controlled"),
                );
                Scope::All
            }
        }
    }
}

impl Rulebook {
    /// The rulebook compiled into the binary (the repository's `rulebook/` directory).
    pub fn embedded() -> Result<Rulebook, RulebookError> {
        Rulebook::from_sources(&crate::embedded::sources())
    }

    /// Loads every file of [`FILES`] from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Rulebook, RulebookError> {
        let mut files = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| RulebookError::Read {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            files.push(SourceFile {
                name: path.display().to_string(),
                text,
            });
        }
        Rulebook::from_sources(&files)
    }

    /// Parses, validates and compiles the files (named as in [`FILES`], in that order).
    pub fn from_sources(files: &[SourceFile]) -> Result<Rulebook, RulebookError> {
        if files.len() != FILES.len() {
            return Err(RulebookError::Read {
                file: "rulebook".into(),
                message: format!("expected the {} files {:?}", FILES.len(), FILES),
            });
        }
        let mut ctx = Ctx {
            problems: Vec::new(),
        };
        let meta: Option<raw::MetaFile> = parse_file(&mut ctx, &files[0]);
        let countries: Option<raw::CountriesFile> = parse_file(&mut ctx, &files[1]);
        let groups: Option<raw::GroupsFile> = parse_file(&mut ctx, &files[2]);
        let class: Option<raw::ClassificationFile> = parse_file(&mut ctx, &files[3]);
        let lic: Option<raw::LicensingFile> = parse_file(&mut ctx, &files[4]);
        let overlays: Option<raw::OverlaysFile> = parse_file(&mut ctx, &files[5]);
        let demin: Option<raw::DeMinimisFile> = parse_file(&mut ctx, &files[6]);
        let catalog: Option<raw::CatalogFile> = parse_file(&mut ctx, &files[7]);
        let (
            Some(meta),
            Some(countries),
            Some(groups),
            Some(class),
            Some(lic),
            Some(overlays),
            Some(demin),
            Some(catalog),
        ) = (
            meta, countries, groups, class, lic, overlays, demin, catalog,
        )
        else {
            return Err(RulebookError::Invalid(ctx.problems));
        };
        build(
            ctx, files, meta, countries, groups, class, lic, overlays, demin, catalog,
        )
    }

    /// The end-use codes the rulebook defines (overlays.toml `[[end_use]]`), each once.
    pub fn end_use_keys(&self) -> impl Iterator<Item = &str> {
        self.end_uses
            .iter()
            .enumerate()
            .filter(|(i, e)| !self.end_uses[..*i].iter().any(|f| f.key == e.key))
            .map(|(_, e)| e.key.as_str())
    }

    /// The rulebook's end-use code for `code` as users write it: case, surrounding spaces and
    /// the separators ` ` and `-` between words do not matter (`"Military End Use"` is
    /// `military_end_use`). `None` when the rulebook defines no such code: a caller must refuse
    /// it, since an end use left out silently can change the answer.
    pub fn end_use_code(&self, code: &str) -> Option<&str> {
        let key = normalize_code(code);
        if key.is_empty() {
            return None;
        }
        self.end_use_keys().find(|k| *k == key)
    }

    /// The rule entry behind an index.
    pub fn rule(&self, i: u16) -> &Rule {
        &self.rules[i as usize]
    }

    /// Looks up a country code (after parsing); `None` when the rulebook does not know it.
    pub fn country(&self, code: &str) -> Option<Country> {
        let c = CountryCode::parse(code)?;
        match self.lookup[c.slot()] {
            0 => None,
            i => Some(Country(i - 1)),
        }
    }

    pub fn country_code(&self, c: Country) -> CountryCode {
        self.codes[c.0 as usize]
    }

    /// Country group ids.
    pub fn group_ids(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.id.as_str())
    }

    /// Members of a group on a day.
    pub fn group_members(
        &self,
        group: &str,
        day: Day,
        posture: Posture,
    ) -> Option<Vec<CountryCode>> {
        let gi = self.groups.iter().position(|g| g.id == group)?;
        let snap = self.snapshot(day, posture)?;
        Some(
            snap.groups[gi]
                .iter()
                .map(|c| self.country_code(c))
                .collect(),
        )
    }

    /// The catalog.
    pub fn catalog(&self) -> &[CatalogEntry] {
        &self.catalog
    }

    /// The catalog entry of `id` as users write it: case, surrounding spaces and the word
    /// separators ` `, `_` and `-` do not matter (`"NVIDIA H200"` is `nvidia-h200`).
    pub fn catalog_entry(&self, id: &str) -> Option<&CatalogEntry> {
        self.catalog_idx(id).map(|i| &self.catalog[i as usize])
    }

    pub(crate) fn catalog_idx(&self, id: &str) -> Option<u16> {
        if let Some(i) = self.catalog_index.get(id) {
            return Some(*i);
        }
        let key = normalize_code(id).replace('_', "-");
        self.catalog_index.get(key.as_str()).copied()
    }

    /// Dates on which something in the rulebook changes (epoch starts).
    pub fn change_dates(&self) -> &[Day] {
        &self.epoch_starts
    }

    pub(crate) fn snapshot(&self, day: Day, posture: Posture) -> Option<&Snapshot> {
        if day < self.valid_from || day > self.valid_through {
            return None;
        }
        let i = self.epoch_starts.partition_point(|s| *s <= day);
        Some(&self.snapshots[(i - 1) * 2 + posture.index()])
    }

    pub(crate) fn provision(&self, id: &str) -> u16 {
        // Presence of every provision id is checked at load time.
        self.provisions[id]
    }

    /// Resolves aliases (Hong Kong is China) on a day.
    pub(crate) fn resolve_country(&self, snap: &Snapshot, c: Country) -> (Country, Option<u16>) {
        for a in &snap.aliases {
            let def = &self.aliases[*a as usize];
            if def.from == c {
                return (def.to, Some(def.rule));
            }
        }
        (c, None)
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    ctx: Ctx,
    files: &[SourceFile],
    meta: raw::MetaFile,
    countries: raw::CountriesFile,
    groups: raw::GroupsFile,
    class: raw::ClassificationFile,
    lic: raw::LicensingFile,
    overlays: raw::OverlaysFile,
    demin: raw::DeMinimisFile,
    catalog: raw::CatalogFile,
) -> Result<Rulebook, RulebookError> {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let texts: Vec<&str> = files.iter().map(|f| f.text.as_str()).collect();
    let line = |fi: usize, start: usize| -> usize { line_of(texts[fi], start) };
    let mut b = Builder {
        ctx,
        rules: Vec::new(),
        ids: HashMap::new(),
        codes: Vec::new(),
        lookup: vec![0u8; 26 * 26],
        group_ids: HashMap::new(),
        selectors: Vec::new(),
        controls: Vec::new(),
        file: names[0],
        line: 1,
    };

    // ---- meta and provisions
    let day_of = |b: &mut Builder, field: &str, dt: &Datetime| {
        toml_day(dt).unwrap_or_else(|| {
            b.err(field, format!("{dt} is not a plain date"));
            Day::from_ymd(2022, 1, 1).expect("valid")
        })
    };
    b.at(names[0], 1);
    let valid_from = day_of(&mut b, "rulebook.valid_from", &meta.rulebook.valid_from);
    let valid_through = day_of(
        &mut b,
        "rulebook.valid_through",
        &meta.rulebook.valid_through,
    );
    let sources_as_of = day_of(
        &mut b,
        "rulebook.sources_as_of",
        &meta.rulebook.sources_as_of,
    );
    if valid_through < valid_from {
        b.err(
            "rulebook.valid_through",
            "valid_through is before valid_from",
        );
    }
    let mut provisions = HashMap::new();
    let mut at_only = Vec::new();
    for p in &meta.provision {
        if p.get_ref().id == "declared-at-only" {
            for e in &p.get_ref().eccns {
                match crate::engine::normalize_eccn(e) {
                    Some(n) => at_only.push(n),
                    None => {
                        b.at(names[0], line(0, p.span().start));
                        b.err("eccns", format!("{e:?} is not an ECCN"));
                    }
                }
            }
        }
        b.at(names[0], line(0, p.span().start));
        let r = b.rule(&p.get_ref().id, "provision", prov!(p.get_ref()));
        provisions.insert(p.get_ref().id.clone(), r);
    }
    for needed in [
        "published-not-subject",
        "not-an-export",
        "no-licence-required",
        "outside-3a090",
        "ear99-technology",
        "hq-not-given",
        "relaxation-not-shown",
        "parameter-not-given",
        "declared-eccn",
        "declared-not-modelled",
        "declared-at-only",
    ] {
        if !provisions.contains_key(needed) {
            b.at(names[0], 1);
            b.err(
                "provision",
                format!("missing required provision {needed:?}"),
            );
        }
    }

    // ---- countries
    b.at(names[1], 1);
    if countries.codes.len() > 255 {
        b.err("codes", "more than 255 country codes");
    }
    for s in &countries.codes {
        match CountryCode::parse(s).filter(|c| c.as_str() == s) {
            Some(c) if b.lookup[c.slot()] == 0 && b.codes.len() < 255 => {
                b.codes.push(c);
                b.lookup[c.slot()] = b.codes.len() as u8;
            }
            Some(_) => b.err("codes", format!("{s:?} is listed twice")),
            None => b.err("codes", format!("{s:?} is not two upper-case letters")),
        }
    }
    let us = match b.country("codes", "US") {
        Some(c) => c,
        None => Country(0),
    };
    let mut aliases = Vec::new();
    for a in &countries.alias {
        b.at(names[1], line(1, a.span().start));
        let e = a.get_ref();
        let rule = b.rule(&format!("alias-{}", e.code), "alias", prov!(e));
        if let (Some(from), Some(to)) = (
            b.country("code", &e.code),
            b.country("treated_as", &e.treated_as),
        ) {
            aliases.push(AliasDef { rule, from, to });
        }
    }

    // ---- groups
    let mut group_defs = Vec::new();
    for g in &groups.group {
        b.at(names[2], line(2, g.span().start));
        let e = g.get_ref();
        let rule = b.rule(&format!("group-{}", e.id), "group", prov!(e));
        let base = b.countries("members", &e.members);
        if b.group_ids.insert(e.id.clone(), group_defs.len()).is_some() {
            b.err("id", format!("country group {:?} defined twice", e.id));
        }
        group_defs.push(GroupDef {
            id: e.id.clone(),
            rule,
            base,
        });
    }
    let mut changes = Vec::new();
    for (i, c) in groups.change.iter().enumerate() {
        b.at(names[2], line(2, c.span().start));
        let e = c.get_ref();
        let rule = b.rule(
            &format!("change-{}-{}-{}", e.group, e.action, i),
            "group_change",
            prov!(e),
        );
        let group = b.group("group", &e.group);
        let add = match e.action.as_str() {
            "add" => true,
            "remove" => false,
            other => {
                b.err("action", format!("{other:?} is neither add nor remove"));
                true
            }
        };
        let list = b.countries("countries", &e.countries);
        if let Some(group) = group {
            changes.push(ChangeDef {
                rule,
                group,
                add,
                countries: list,
            });
        }
    }
    // Changes must make sense in date order: adding a member or removing a non-member is a
    // contradiction. A change with an `end` is undone on that day (before anything that
    // starts the same day).
    {
        let mut events: Vec<(Day, bool, usize)> = Vec::new();
        for (i, ch) in changes.iter().enumerate() {
            let r = &b.rules[ch.rule as usize];
            events.push((r.effective, true, i));
            if let Some(end) = r.end {
                events.push((end, false, i));
            }
        }
        events.sort_by_key(|e| (e.0, e.1));
        let mut order: Vec<usize> = Vec::new();
        let mut undo: Vec<bool> = Vec::new();
        for (_, apply, i) in events {
            order.push(i);
            undo.push(!apply);
        }
        let mut current: Vec<CountrySet> = group_defs
            .iter()
            .map(|g| {
                let mut s = CountrySet::EMPTY;
                g.base.iter().for_each(|c| s.insert(*c));
                s
            })
            .collect();
        for (i, undo) in order.into_iter().zip(undo) {
            let ch = &changes[i];
            if undo {
                for c in &ch.countries {
                    if ch.add {
                        current[ch.group].remove(*c);
                    } else {
                        current[ch.group].insert(*c);
                    }
                }
                continue;
            }
            let r = &b.rules[ch.rule as usize];
            let (file, line_no) = (r.file.clone(), r.line);
            for c in &ch.countries {
                let member = current[ch.group].contains(*c);
                if ch.add == member {
                    b.ctx.push(
                        &file,
                        line_no,
                        "countries",
                        format!(
                            "{} {} {} on {}: it is {} a member then",
                            if ch.add { "adding" } else { "removing" },
                            b.codes[c.0 as usize],
                            group_defs[ch.group].id,
                            r.effective,
                            if member { "already" } else { "not" }
                        ),
                    );
                }
                if ch.add {
                    current[ch.group].insert(*c);
                } else {
                    current[ch.group].remove(*c);
                }
            }
        }
    }

    // ---- classification
    for p in &class.paragraph {
        if !b.controls.contains(&p.get_ref().control) {
            b.controls.push(p.get_ref().control.clone());
        }
    }
    for a in &class.assembly {
        if !b.controls.contains(&a.get_ref().control) {
            b.controls.push(a.get_ref().control.clone());
        }
    }
    if b.controls.len() > 32 {
        b.at(names[3], 1);
        b.err("control", "more than 32 distinct controls");
    }
    let mut paragraphs = Vec::new();
    for p in &class.paragraph {
        b.at(names[3], line(3, p.span().start));
        let e = p.get_ref();
        let rule = b.rule(&e.id, "paragraph", prov!(e));
        let item = match e.item.as_str() {
            "chip" => ItemKind::Chip,
            "memory" => ItemKind::Memory,
            "model" => ItemKind::Model,
            other => {
                b.err("item", format!("{other:?} is not chip, memory or model"));
                ItemKind::Chip
            }
        };
        let control = b.control("control", &e.control);
        let conds = b.conds("conditions", &e.conditions);
        if e.conditions.is_empty() {
            b.err("conditions", "a paragraph needs at least one condition");
        }
        let mut absent_not_met = 0u32;
        for name in &e.absent_not_met {
            match Param::parse(name) {
                Some(p) if conds.iter().any(|c| c.param == p) => absent_not_met |= 1 << p as u32,
                Some(_) => b.err(
                    "absent_not_met",
                    format!("{name:?} is not a parameter of this paragraph's conditions"),
                ),
                None => b.err("absent_not_met", format!("unknown parameter {name:?}")),
            }
        }
        paragraphs.push(ParagraphDef {
            rule,
            eccn: e.eccn.clone(),
            item,
            control,
            datacenter_only: e.datacenter_only,
            conds,
            absent_not_met,
        });
    }
    let mut assemblies = Vec::new();
    for a in &class.assembly {
        b.at(names[3], line(3, a.span().start));
        let e = a.get_ref();
        let rule = b.rule(&e.id, "assembly", prov!(e));
        let contains = b.control("contains_control", &e.contains_control);
        let control = b.control("control", &e.control);
        assemblies.push(AssemblyDef {
            rule,
            eccn: e.eccn.clone(),
            contains,
            control,
        });
    }
    let mut zs = Vec::new();
    for z in &class.z_paragraph {
        b.at(names[3], line(3, z.span().start));
        let e = z.get_ref();
        let rule = b.rule(&e.id, "z_paragraph", prov!(e));
        for base in &e.bases {
            if base.len() != 5 || !base.is_char_boundary(5) {
                b.err("bases", format!("{base:?} is not a five-character ECCN"));
            }
        }
        zs.push(ZDef {
            rule,
            bases: e.bases.clone(),
        });
    }

    // ---- licensing
    let mut requirements = Vec::new();
    for r in &lic.requirement {
        b.at(names[4], line(4, r.span().start));
        let e = r.get_ref();
        let rule = b.rule(&e.id, "requirement", prov!(e));
        let controls = b.control_mask("controls", &e.controls);
        let dest = b.opt_selector("destination", &e.destination);
        let hq = b.opt_selector("end_user_hq", &e.end_user_hq);
        let from = b.opt_selector("export_from", &e.export_from);
        if dest.is_none() && hq.is_none() {
            b.err(
                "destination",
                "a requirement needs `destination` or `end_user_hq`",
            );
        }
        requirements.push(RequirementDef {
            rule,
            controls,
            dest,
            hq,
            from,
            datacenter: r.get_ref().datacenter,
        });
    }
    let mut exceptions = Vec::new();
    for x in &lic.exception {
        b.at(names[4], line(4, x.span().start));
        let e = x.get_ref();
        let rule = b.rule(&e.id, "exception", prov!(e));
        if e.symbol.trim().is_empty() || e.symbol.len() > 8 {
            b.err(
                "symbol",
                format!("{:?} is not a licence exception symbol", e.symbol),
            );
        }
        let controls = b.control_mask("controls", &e.controls);
        let dc_excluded = e.datacenter_excluded_controls.iter().fold(0u32, |m, s| {
            m | (1 << b.control("datacenter_excluded_controls", s))
        });
        let elig_dest = b.opt_selector("eligible_destination", &e.eligible_destination);
        let elig_hq = b.opt_selector("eligible_end_user_hq", &e.eligible_end_user_hq);
        let hq_excluded = b.opt_selector("end_user_hq_excluded", &e.end_user_hq_excluded);
        if elig_dest.is_none() && elig_hq.is_none() {
            b.err(
                "eligible_destination",
                "an exception needs eligible_destination or eligible_end_user_hq",
            );
        }
        let notification = match e.notification.as_str() {
            "always" => Notification::Always,
            "never" => Notification::Never,
            "conditional" => Notification::Conditional,
            other => {
                b.err(
                    "notification",
                    format!("{other:?} is not always, never or conditional"),
                );
                Notification::Never
            }
        };
        let notify_dest = b.opt_selector("notify_destination", &e.notify_destination);
        let notify_hq = b.opt_selector("notify_end_user_hq", &e.notify_end_user_hq);
        if notification == Notification::Conditional && notify_dest.is_none() && notify_hq.is_none()
        {
            b.err(
                "notification",
                "conditional notification needs notify_destination or notify_end_user_hq",
            );
        }
        exceptions.push(ExceptionDef {
            rule,
            symbol: e.symbol.clone(),
            order: e.order,
            controls,
            dc_excluded,
            elig_dest,
            elig_hq,
            hq_excluded,
            notification,
            notify_dest,
            notify_hq,
        });
    }
    let mut policies = Vec::new();
    for p in &lic.review_policy {
        b.at(names[4], line(4, p.span().start));
        let e = p.get_ref();
        let rule = b.rule(&e.id, "review_policy", prov!(e));
        let controls = b.control_mask("controls", &e.controls);
        let dest = b.opt_selector("destination", &e.destination);
        let hq = b.opt_selector("end_user_hq", &e.end_user_hq);
        let from = b.opt_selector("export_from", &e.export_from);
        let conds = b.conds("conditions", &e.conditions);
        let policy = b
            .policy("policy", &Some(e.policy.clone()), Outcome::LicenseRequired)
            .unwrap_or(ReviewPolicy::PresumptionOfDenial);
        policies.push(PolicyDef {
            rule,
            controls,
            dest,
            hq,
            from,
            conds,
            policy,
            precedence: e.precedence,
        });
    }

    // ---- overlays
    let mut embargoes = Vec::new();
    for x in &overlays.embargo {
        b.at(names[5], line(5, x.span().start));
        let e = x.get_ref();
        let rule = b.rule(&e.id, "embargo", prov!(e));
        let dest = Some(b.selector("destination", &e.destination));
        let items = b.scope("items", &e.items, &[]);
        let outcome = b.outcome("outcome", &e.outcome);
        let policy = b.policy("policy", &e.policy, outcome);
        embargoes.push(OverlayDef {
            rule,
            key: e.id.clone(),
            items,
            dest,
            hq: None,
            catalog: vec![],
            outcome,
            policy,
            barred: e.exceptions_barred,
            effective: true,
        });
    }
    let mut list_rules = Vec::new();
    for x in &overlays.list_rule {
        b.at(names[5], line(5, x.span().start));
        let e = x.get_ref();
        let rule = b.rule(&e.id, "list_rule", prov!(e));
        let items = b.scope("items", &e.items, &[]);
        let outcome = b.outcome("outcome", &e.outcome);
        let policy = b.policy("policy", &e.policy, outcome);
        list_rules.push(OverlayDef {
            rule,
            key: e.list.clone(),
            items,
            dest: None,
            hq: None,
            catalog: vec![],
            outcome,
            policy,
            barred: e.exceptions_barred,
            effective: true,
        });
    }
    let mut end_uses = Vec::new();
    for x in &overlays.end_use {
        b.at(names[5], line(5, x.span().start));
        let e = x.get_ref();
        let rule = b.rule(&format!("end-use-{}", e.code), "end_use", prov!(e));
        let effective = match e.effect.as_str() {
            "none" => false,
            "control" => true,
            other => {
                b.err("effect", format!("{other:?} is neither none nor control"));
                false
            }
        };
        let (items, outcome, policy) = if effective {
            let items = match &e.items {
                Some(s) => b.scope("items", s, &e.controls),
                None => {
                    b.err(
                        "items",
                        "a controlling end use must say which items it reaches",
                    );
                    Scope::All
                }
            };
            let outcome = b.outcome("outcome", e.outcome.as_deref().unwrap_or(""));
            let policy = b.policy("policy", &e.policy, outcome);
            if e.destination.is_none() && e.end_user_hq.is_none() {
                b.err(
                    "destination",
                    "a controlling end use needs destination or end_user_hq",
                );
            }
            (items, outcome, policy)
        } else {
            (Scope::All, Outcome::Nlr, None)
        };
        let dest = b.opt_selector("destination", &e.destination);
        let hq = b.opt_selector("end_user_hq", &e.end_user_hq);
        end_uses.push(OverlayDef {
            rule,
            key: e.code.clone(),
            items,
            dest,
            hq,
            catalog: vec![],
            outcome,
            policy,
            barred: e.exceptions_barred,
            effective,
        });
    }

    // ---- catalog (before letters, which name catalog ids)
    let mut catalog_entries: Vec<CatalogEntry> = Vec::new();
    let mut catalog_index = HashMap::new();
    for c in &catalog.chip {
        b.at(names[7], line(7, c.span().start));
        let e = c.get_ref();
        if !valid_catalog_id(&e.id) {
            b.err(
                "id",
                format!("{:?} is not a lower-case vendor-model id", e.id),
            );
        }
        let spec = crate::item::ChipSpec {
            tpp: None,
            throughput: e
                .throughput
                .iter()
                .map(|t| crate::item::Throughput {
                    bits: t.bits,
                    tops: t.dense,
                    sparse: false,
                })
                .collect(),
            die_area_mm2: e.die_area_mm2,
            performance_density: None,
            datacenter: Some(e.datacenter),
            io_bandwidth_gbps: e.io_bandwidth_gbps,
            dram_bandwidth_gbps: e.dram_bandwidth_gbps,
            specified_in: None,
        };
        for (i, t) in e.throughput.iter().enumerate() {
            if t.source.trim().is_empty() {
                b.err(
                    &format!("throughput[{i}].source"),
                    "every datasheet figure needs its source",
                );
            }
        }
        for (v, s, f) in [
            (e.die_area_mm2, &e.die_area_source, "die_area_source"),
            (
                e.dram_bandwidth_gbps,
                &e.dram_bandwidth_source,
                "dram_bandwidth_source",
            ),
            (
                e.io_bandwidth_gbps,
                &e.io_bandwidth_source,
                "io_bandwidth_source",
            ),
        ] {
            if v.is_some() && s.as_deref().unwrap_or("").trim().is_empty() {
                b.err(f, "every datasheet figure needs its source");
            }
        }
        match crate::item::resolve_chip(&spec, "catalog") {
            Ok(mut item) => {
                item.catalog = Some(catalog_entries.len() as u16);
                if catalog_index
                    .insert(e.id.clone(), catalog_entries.len() as u16)
                    .is_some()
                {
                    b.err("id", format!("catalog id {:?} defined twice", e.id));
                }
                catalog_entries.push(CatalogEntry {
                    id: e.id.clone(),
                    vendor: e.vendor.clone(),
                    name: e.name.clone(),
                    chip: Some(e.clone()),
                    contains: None,
                    item,
                });
            }
            Err(err) => b.err("throughput", err.to_string()),
        }
    }
    for c in &catalog.computer {
        b.at(names[7], line(7, c.span().start));
        let e = c.get_ref();
        if !valid_catalog_id(&e.id) {
            b.err(
                "id",
                format!("{:?} is not a lower-case vendor-model id", e.id),
            );
        }
        if e.source.trim().is_empty() {
            b.err("source", "a computer entry needs its source");
        }
        match catalog_index
            .get(&e.contains)
            .map(|i| catalog_entries[*i as usize].item.clone())
        {
            Some(chip) if chip.kind == ItemKind::Chip && e.count > 0 => {
                let mut item = chip;
                item.kind = ItemKind::Computer;
                item.catalog = Some(catalog_entries.len() as u16);
                if catalog_index
                    .insert(e.id.clone(), catalog_entries.len() as u16)
                    .is_some()
                {
                    b.err("id", format!("catalog id {:?} defined twice", e.id));
                }
                catalog_entries.push(CatalogEntry {
                    id: e.id.clone(),
                    vendor: e.vendor.clone(),
                    name: e.name.clone(),
                    chip: None,
                    contains: Some((e.contains.clone(), e.count)),
                    item,
                });
            }
            Some(_) => b.err("count", "a computer must contain at least one chip"),
            None => b.err(
                "contains",
                format!("{:?} is not a chip of the catalog", e.contains),
            ),
        }
    }
    let mut letters = Vec::new();
    for x in &overlays.is_informed {
        b.at(names[5], line(5, x.span().start));
        let e = x.get_ref();
        let rule = b.rule(&e.id, "is_informed", prov!(e));
        let dest = Some(b.selector("destination", &e.destination));
        let outcome = b.outcome("outcome", &e.outcome);
        let policy = b.policy("policy", &e.policy, outcome);
        let mut cat = Vec::new();
        for id in &e.catalog {
            match catalog_index.get(id) {
                Some(i) => cat.push(*i),
                None => b.err("catalog", format!("{id:?} is not a catalog id")),
            }
        }
        if e.exporter.trim().is_empty() {
            b.err("exporter", "empty exporter");
        }
        letters.push(OverlayDef {
            rule,
            key: e.exporter.trim().to_ascii_uppercase(),
            items: Scope::All,
            dest,
            hq: None,
            catalog: cat,
            outcome,
            policy,
            barred: true,
            effective: true,
        });
    }
    let mut thresholds = Vec::new();
    for x in &demin.threshold {
        b.at(names[6], line(6, x.span().start));
        let e = x.get_ref();
        let rule = b.rule(&e.id, "de_minimis", prov!(e));
        let dest = b.selector("destination", &e.destination);
        let advanced_only = match e.items.as_str() {
            "all" => false,
            "advanced_computing" => true,
            other => {
                b.err(
                    "items",
                    format!("{other:?} is neither all nor advanced_computing"),
                );
                false
            }
        };
        if !(0.0..=100.0).contains(&e.percent) {
            b.err(
                "percent",
                format!("{} is not a percentage between 0 and 100", e.percent),
            );
        }
        thresholds.push(ThresholdDef {
            rule,
            advanced_only,
            dest,
            percent: e.percent,
        });
    }

    let Builder {
        ctx,
        rules,
        codes,
        lookup,
        selectors,
        controls,
        ..
    } = b;
    let mut rb = Rulebook {
        version: meta.rulebook.version.clone(),
        valid_from,
        valid_through,
        sources_as_of,
        rules,
        codes,
        lookup,
        aliases,
        groups: group_defs,
        changes,
        selectors,
        controls,
        paragraphs,
        assemblies,
        zs,
        requirements,
        exceptions,
        policies,
        embargoes,
        list_rules,
        end_uses,
        letters,
        thresholds,
        catalog: catalog_entries,
        catalog_index,
        provisions,
        at_only,
        epoch_starts: Vec::new(),
        snapshots: Vec::new(),
        us,
    };
    let mut problems = ctx.problems;
    if !problems.is_empty() {
        return Err(RulebookError::Invalid(problems));
    }
    compile(&mut rb);
    check_contradictions(&rb, &mut problems);
    if !problems.is_empty() {
        return Err(RulebookError::Invalid(problems));
    }
    Ok(rb)
}

fn valid_catalog_id(id: &str) -> bool {
    !id.is_empty()
        && id.contains('-')
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn compile(rb: &mut Rulebook) {
    let mut dates: BTreeSet<Day> = BTreeSet::new();
    dates.insert(rb.valid_from);
    for r in &rb.rules {
        for d in [
            Some(r.effective),
            Some(r.start()),
            r.end,
            r.not_enforced_from,
        ]
        .into_iter()
        .flatten()
        {
            if d > rb.valid_from && d <= rb.valid_through {
                dates.insert(d);
            }
        }
    }
    rb.epoch_starts = dates.into_iter().collect();
    let mut snaps = Vec::with_capacity(rb.epoch_starts.len() * 2);
    for &start in &rb.epoch_starts {
        for posture in [Posture::Enforced, Posture::Codified] {
            snaps.push(snapshot(rb, start, posture));
        }
    }
    rb.snapshots = snaps;
}

fn snapshot(rb: &Rulebook, day: Day, posture: Posture) -> Snapshot {
    let live = |r: u16| rb.rules[r as usize].in_force(day, posture);
    let mut groups: Vec<CountrySet> = rb
        .groups
        .iter()
        .map(|g| {
            let mut s = CountrySet::EMPTY;
            if live(g.rule) {
                g.base.iter().for_each(|c| s.insert(*c));
            }
            s
        })
        .collect();
    let mut changes: Vec<&ChangeDef> = rb.changes.iter().filter(|c| live(c.rule)).collect();
    let disputed = changes
        .iter()
        .filter(|c| rb.rules[c.rule as usize].confidence == Confidence::Low)
        .map(|c| {
            let mut s = CountrySet::EMPTY;
            c.countries.iter().for_each(|x| s.insert(*x));
            (c.rule, s)
        })
        .collect();
    changes.sort_by_key(|c| rb.rules[c.rule as usize].effective);
    for c in changes {
        for country in &c.countries {
            if c.add {
                groups[c.group].insert(*country);
            } else {
                groups[c.group].remove(*country);
            }
        }
    }
    let mut all = CountrySet::EMPTY;
    for i in 0..rb.codes.len() {
        all.insert(Country(i as u8));
    }
    let sets = rb
        .selectors
        .iter()
        .map(|s| {
            let mut set = if s.all { all } else { CountrySet::EMPTY };
            for g in &s.groups {
                set = set.union(&groups[*g]);
            }
            for g in &s.except_groups {
                set = set.minus(&groups[*g]);
            }
            for c in &s.except_countries {
                set.remove(*c);
            }
            for c in &s.countries {
                set.insert(*c);
            }
            set
        })
        .collect();
    let pick = |rules: &mut dyn Iterator<Item = u16>| -> Vec<u16> { rules.collect() };
    let mut exceptions: Vec<u16> = (0..rb.exceptions.len() as u16)
        .filter(|i| live(rb.exceptions[*i as usize].rule))
        .collect();
    exceptions.sort_by_key(|i| rb.exceptions[*i as usize].order);
    Snapshot {
        start: day,
        sets,
        groups,
        paragraphs: pick(
            &mut (0..rb.paragraphs.len() as u16).filter(|i| live(rb.paragraphs[*i as usize].rule)),
        ),
        assemblies: pick(
            &mut (0..rb.assemblies.len() as u16).filter(|i| live(rb.assemblies[*i as usize].rule)),
        ),
        z: pick(&mut (0..rb.zs.len() as u16).filter(|i| live(rb.zs[*i as usize].rule))),
        requirements: pick(
            &mut (0..rb.requirements.len() as u16)
                .filter(|i| live(rb.requirements[*i as usize].rule)),
        ),
        exceptions,
        policies: pick(
            &mut (0..rb.policies.len() as u16).filter(|i| live(rb.policies[*i as usize].rule)),
        ),
        embargoes: pick(
            &mut (0..rb.embargoes.len() as u16).filter(|i| live(rb.embargoes[*i as usize].rule)),
        ),
        list_rules: pick(
            &mut (0..rb.list_rules.len() as u16).filter(|i| live(rb.list_rules[*i as usize].rule)),
        ),
        end_uses: pick(
            &mut (0..rb.end_uses.len() as u16).filter(|i| live(rb.end_uses[*i as usize].rule)),
        ),
        letters: pick(
            &mut (0..rb.letters.len() as u16).filter(|i| live(rb.letters[*i as usize].rule)),
        ),
        thresholds: pick(
            &mut (0..rb.thresholds.len() as u16).filter(|i| live(rb.thresholds[*i as usize].rule)),
        ),
        aliases: pick(
            &mut (0..rb.aliases.len() as u16).filter(|i| live(rb.aliases[*i as usize].rule)),
        ),
        disputed,
    }
}

/// Entries in force on the same day that say different things about the same case.
fn check_contradictions(rb: &Rulebook, problems: &mut Vec<Problem>) {
    let mut reported: HashSet<(u16, u16)> = HashSet::new();
    let mut report = |problems: &mut Vec<Problem>, a: u16, b: u16, day: Day, what: String| {
        if reported.insert((a.min(b), a.max(b))) {
            let (ra, rb_) = (&rb.rules[a as usize], &rb.rules[b as usize]);
            problems.push(Problem {
                file: rb_.file.clone(),
                line: rb_.line,
                field: String::new(),
                message: format!(
                    "entry {:?} contradicts {:?} ({}:{}) on {}: {}",
                    rb_.id, ra.id, ra.file, ra.line, day, what
                ),
            });
        }
    };
    let all = {
        let mut s = CountrySet::EMPTY;
        for i in 0..rb.codes.len() {
            s.insert(Country(i as u8));
        }
        s
    };
    for snap in &rb.snapshots {
        let set = |s: Option<Sel>| s.map(|s| snap.sets[s as usize]).unwrap_or(all);
        // Review policies: same precedence, overlapping scope, different policy.
        for (i, &pa) in snap.policies.iter().enumerate() {
            for &pb in &snap.policies[i + 1..] {
                let (a, b) = (&rb.policies[pa as usize], &rb.policies[pb as usize]);
                if a.precedence != b.precedence
                    || a.policy == b.policy
                    || a.controls & b.controls == 0
                    || a.conds != b.conds
                {
                    continue;
                }
                let dest = set(a.dest).intersect(&set(b.dest));
                let hq = set(a.hq).intersect(&set(b.hq));
                let from = set(a.from).intersect(&set(b.from));
                if !dest.is_empty() && !hq.is_empty() && !from.is_empty() {
                    let c = dest
                        .iter()
                        .next()
                        .map(|c| rb.codes[c.0 as usize].to_string())
                        .unwrap_or_default();
                    report(
                        problems,
                        a.rule,
                        b.rule,
                        snap.start,
                        format!(
                        "both apply (e.g. destination {c}) with precedence {} but give {} and {}",
                        a.precedence, a.policy.as_str(), b.policy.as_str()
                    ),
                    );
                }
            }
        }
        // Two versions of the same licence exception in force on the same day.
        for (i, &ea) in snap.exceptions.iter().enumerate() {
            for &eb in &snap.exceptions[i + 1..] {
                let (a, b) = (&rb.exceptions[ea as usize], &rb.exceptions[eb as usize]);
                if a.symbol == b.symbol {
                    report(
                        problems,
                        a.rule,
                        b.rule,
                        snap.start,
                        format!("two versions of License Exception {} in force", a.symbol),
                    );
                }
            }
        }
        // Embargoes on the same country with different outcomes.
        for (i, &xa) in snap.embargoes.iter().enumerate() {
            for &xb in &snap.embargoes[i + 1..] {
                let (a, b) = (&rb.embargoes[xa as usize], &rb.embargoes[xb as usize]);
                let both = set(a.dest).intersect(&set(b.dest));
                if !both.is_empty() && (a.outcome != b.outcome || a.policy != b.policy) {
                    let c = both
                        .iter()
                        .next()
                        .map(|c| rb.codes[c.0 as usize].to_string())
                        .unwrap_or_default();
                    report(
                        problems,
                        a.rule,
                        b.rule,
                        snap.start,
                        format!("different embargo outcomes for {c}"),
                    );
                }
            }
        }
        // One rule per list code and per end-use code.
        for (kind, list, defs) in [
            ("list code", &snap.list_rules, &rb.list_rules),
            ("end-use code", &snap.end_uses, &rb.end_uses),
        ] {
            for (i, &xa) in list.iter().enumerate() {
                for &xb in &list[i + 1..] {
                    let (a, b) = (&defs[xa as usize], &defs[xb as usize]);
                    if a.key == b.key {
                        report(
                            problems,
                            a.rule,
                            b.rule,
                            snap.start,
                            format!("two entries for {kind} {:?}", a.key),
                        );
                    }
                }
            }
        }
        // Two versions of the same ECCN paragraph.
        for (i, &pa) in snap.paragraphs.iter().enumerate() {
            for &pb in &snap.paragraphs[i + 1..] {
                let (a, b) = (&rb.paragraphs[pa as usize], &rb.paragraphs[pb as usize]);
                if a.item == b.item
                    && a.eccn == b.eccn
                    && a.conds == b.conds
                    && a.datacenter_only == b.datacenter_only
                {
                    report(
                        problems,
                        a.rule,
                        b.rule,
                        snap.start,
                        format!("the same test for {} twice", a.eccn),
                    );
                }
            }
        }
    }
}

/// Lower case, words joined by `_`: the form of the rulebook's codes.
fn normalize_code(code: &str) -> String {
    code.split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}
