//! Classification and determination over a compiled [`Rulebook`].
//!
//! The steps follow the structure of the EAR: is the item subject to the EAR at all
//! (15 CFR 734.3, 734.7); which ECCN paragraph it meets (Supp. No. 1 to Part 774); which
//! embargo, list or end-use overlay reaches the transaction (Parts 744, 746); which licence
//! requirement of 15 CFR 742.6(a)(6) applies by destination or headquarters; whether a licence
//! exception (Part 740) is available and needs notification; and the review policy
//! (15 CFR 742.6(b)(10)). Every step records the rulebook entries it relied on; any parameter
//! a step needed and did not get is reported as missing instead of guessed.

use std::borrow::Cow;

use smallvec::SmallVec;
use stackport_screening::Hit;

use crate::country::{Country, CountrySet};
use crate::date::Day;
use crate::error::InputError;
use crate::item::ResolvedItem;
use crate::rulebook::{
    Confidence, ItemKind, Notification, Outcome, OverlayDef, Param, Posture, ReviewPolicy,
    Rulebook, Scope, Sel, Snapshot,
};

/// One transaction to decide, with everything already parsed and checked.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    pub item: &'a ResolvedItem,
    pub date: Day,
    pub posture: Posture,
    pub export_from: Country,
    pub destination: Country,
    /// Where the end user (or its ultimate parent) is headquartered; `None` when unknown.
    pub end_user_hq: Option<Country>,
    /// Screening hits on the end user (list codes EL, MEU, SDN, DPL, UVL, ...).
    pub hits: &'a [Hit],
    /// End-use codes (checked against the rulebook).
    pub end_uses: &'a [String],
    /// The exporter, for exporter-specific is-informed letters.
    pub exporter: Option<&'a str>,
}

/// The ECCN side of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification<'a> {
    /// `None` when not subject to the EAR or when undetermined.
    pub eccn: Option<Cow<'a, str>>,
    /// The paragraph test met (`3A090.a.1`), when one was.
    pub paragraph: Option<&'a str>,
    pub(crate) control: Option<u8>,
    pub determined: bool,
    pub rules: SmallVec<[u16; 4]>,
    /// Codified paragraphs the item meets that BIS does not enforce (enforced posture).
    pub not_enforced: SmallVec<[u16; 2]>,
    pub missing: SmallVec<[&'static str; 4]>,
}

/// The full answer for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Determination<'a> {
    pub classification: Classification<'a>,
    pub outcome: Outcome,
    pub exception: Option<&'a str>,
    pub notification_required: bool,
    pub review_policy: Option<ReviewPolicy>,
    /// Every rulebook entry relied on, in the order used.
    pub rules: SmallVec<[u16; 12]>,
    /// What the answer needs and did not get.
    pub missing: SmallVec<[&'static str; 4]>,
}

impl Determination<'_> {
    /// The citations of the rules used, without repeats.
    pub fn citations<'r>(&self, rb: &'r Rulebook) -> Vec<&'r str> {
        let mut out: Vec<&str> = Vec::with_capacity(self.rules.len());
        for r in &self.rules {
            let c = rb.rule(*r).citation.as_str();
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// `id@effective` of every rule used, plus codified-but-not-enforced ones considered.
    pub fn rule_versions(&self, rb: &Rulebook) -> Vec<String> {
        let mut v: Vec<String> = self.rules.iter().map(|r| rb.rule(*r).version()).collect();
        for r in &self.classification.not_enforced {
            v.push(format!(
                "{} (codified, not enforced)",
                rb.rule(*r).version()
            ));
        }
        v
    }

    /// Low when any rule used is marked uncertain.
    pub fn confidence(&self, rb: &Rulebook) -> Confidence {
        self.rules
            .iter()
            .map(|r| rb.rule(*r).confidence)
            .min()
            .unwrap_or(Confidence::High)
    }

    /// One line per rule used: what it says and where it comes from.
    pub fn reasons(&self, rb: &Rulebook) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let r = rb.rule(*r);
                let mut s = format!("{} [{}; {}; {}]", r.title, r.citation, r.fr, r.version());
                if let Some(u) = &r.uncertain {
                    s.push_str(&format!(" (uncertain: {u})"));
                }
                s
            })
            .collect();
        for r in &self.classification.not_enforced {
            let r = rb.rule(*r);
            out.push(format!(
                "Not applied: {} [{}; {}] is codified but not enforced from {}",
                r.title,
                r.citation,
                r.fr,
                r.not_enforced_from
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ));
        }
        out
    }
}

fn push_unique<const N: usize>(v: &mut SmallVec<[u16; N]>, r: u16)
where
    [u16; N]: smallvec::Array<Item = u16>,
{
    if !v.contains(&r) {
        v.push(r);
    }
}

fn push_missing(v: &mut SmallVec<[&'static str; 4]>, m: &'static str) {
    if !v.contains(&m) {
        v.push(m);
    }
}

fn param_field(p: Param) -> &'static str {
    match p {
        Param::Tpp => "item.tpp",
        Param::PerformanceDensity => "item.die_area_mm2",
        Param::IoBandwidth => "item.io_bandwidth_gbps",
        Param::DramBandwidth => "item.dram_bandwidth_gbps",
        Param::TrainingOperations => "item.training_operations",
        Param::MemoryBandwidthDensity => "item.memory_bandwidth_density",
    }
}

/// An ECCN in the CCL's form, upper-cased except its paragraph letters (`5d992.C` ->
/// `5D992.c`); `EAR99` in any case. `None` when the string is not an ECCN.
pub fn normalize_eccn(s: &str) -> Option<String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("EAR99") {
        return Some("EAR99".to_string());
    }
    let b = s.as_bytes();
    if b.len() < 5
        || !b[0].is_ascii_digit()
        || !matches!(b[1].to_ascii_uppercase(), b'A'..=b'E')
        || !b[2..5].iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut out = s[..5].to_ascii_uppercase();
    let rest = &s[5..];
    if !rest.is_empty() {
        if !rest.starts_with('.') {
            return None;
        }
        for part in rest[1..].split('.') {
            if part.is_empty() || !part.bytes().all(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            out.push('.');
            out.push_str(&part.to_ascii_lowercase());
        }
    }
    Some(out)
}

/// Three-valued AND: `Some(false)` wins over `None`.
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

impl Rulebook {
    #[inline]
    fn in_set(snap: &Snapshot, sel: Option<Sel>, c: Country) -> bool {
        sel.is_none_or(|s| snap.sets[s as usize].contains(c))
    }

    fn set(snap: &Snapshot, sel: Sel) -> &CountrySet {
        &snap.sets[sel as usize]
    }

    /// Classifies an item on a date under a posture.
    pub fn classify(
        &self,
        item: &ResolvedItem,
        date: Day,
        posture: Posture,
    ) -> Result<Classification<'_>, InputError> {
        let snap = self
            .snapshot(date, posture)
            .ok_or_else(|| self.out_of_range(date))?;
        self.check_item(item)?;
        let mut c = self.classify_in(item, snap);
        if posture == Posture::Enforced && c.determined && c.control.is_none() {
            // Say so when the codified text would control the item (e.g. 4E091 weights).
            if let Some(cod) = self.snapshot(date, Posture::Codified) {
                let cc = self.classify_in(item, cod);
                if cc.control.is_some() {
                    for r in cc.rules {
                        if self.rule(r).not_enforced_from.is_some() {
                            c.not_enforced.push(r);
                        }
                    }
                }
            }
        }
        Ok(c)
    }

    pub(crate) fn out_of_range(&self, date: Day) -> InputError {
        InputError::DateOutOfRange {
            date: date.to_string(),
            from: self.valid_from.to_string(),
            through: self.valid_through.to_string(),
        }
    }

    /// Checks what only the rulebook can check (the `.z` base ECCN).
    pub(crate) fn check_item(&self, item: &ResolvedItem) -> Result<(), InputError> {
        if let Some(base) = &item.specified_in {
            if !self
                .zs
                .iter()
                .any(|z| z.bases.iter().any(|b| b.eq_ignore_ascii_case(base)))
            {
                return Err(InputError::Invalid {
                    field: "item.specified_in",
                    message: format!(
                        "{base:?} is not an ECCN with a .z paragraph ({})",
                        self.zs
                            .iter()
                            .flat_map(|z| z.bases.iter().cloned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    pub(crate) fn classify_in<'a>(
        &'a self,
        item: &ResolvedItem,
        snap: &Snapshot,
    ) -> Classification<'a> {
        let mut c = Classification {
            eccn: None,
            paragraph: None,
            control: None,
            determined: true,
            rules: SmallVec::new(),
            not_enforced: SmallVec::new(),
            missing: SmallVec::new(),
        };
        if item.kind == ItemKind::Model {
            match item.published {
                Some(true) => {
                    c.rules.push(self.provision("published-not-subject"));
                    return c;
                }
                Some(false) => {}
                None => {
                    c.determined = false;
                    c.rules.push(self.provision("published-not-subject"));
                    push_missing(&mut c.missing, "item.model.published");
                    return c;
                }
            }
        }
        let test_kind = if item.kind == ItemKind::Computer {
            ItemKind::Chip
        } else {
            item.kind
        };
        let mut unknown = false;
        let mut hit: Option<u16> = None;
        for &pi in &snap.paragraphs {
            let p = &self.paragraphs[pi as usize];
            if p.item != test_kind {
                continue;
            }
            let mut t = Some(true);
            if p.datacenter_only {
                t = and(t, item.datacenter);
            }
            let mut absent = false;
            for cond in &p.conds {
                match cond.holds(&item.params) {
                    None if p.absent_not_met & (1 << cond.param as u32) != 0 => absent = true,
                    h => t = and(t, h),
                }
            }
            if absent {
                // A parameter the case does not give counts as not met (the Oct 2022 I/O
                // test); when everything else was met the answer rests on that, so the test
                // is cited.
                if t == Some(true) {
                    c.rules.push(p.rule);
                    c.rules.push(self.provision("parameter-not-given"));
                }
                t = Some(false);
            }
            match t {
                Some(true) => {
                    hit = Some(pi);
                    break;
                }
                Some(false) => {
                    // A value exactly on a threshold whose wording ("more than" / "or more")
                    // could not be verified: the answer rests on that wording, so the
                    // uncertain test is cited (and lowers the answer's confidence).
                    if self.rule(p.rule).confidence == Confidence::Low
                        && p.conds
                            .iter()
                            .any(|c| item.params[c.param as usize] == Some(c.value))
                    {
                        c.rules.push(p.rule);
                    }
                }
                None => {
                    unknown = true;
                    // Cite the test that could not be decided.
                    c.rules.push(p.rule);
                    if p.datacenter_only && item.datacenter.is_none() {
                        push_missing(&mut c.missing, "item.datacenter");
                    }
                    for cond in &p.conds {
                        if item.params[cond.param as usize].is_none() {
                            push_missing(&mut c.missing, param_field(cond.param));
                        }
                    }
                }
            }
        }
        if unknown {
            // An earlier paragraph could not be decided: the answer could be that one.
            c.determined = false;
            return c;
        }
        let Some(pi) = hit else {
            c.eccn = Some(Cow::Borrowed("EAR99"));
            c.rules.push(if item.kind == ItemKind::Model {
                self.provision("ear99-technology")
            } else {
                self.provision("outside-3a090")
            });
            return c;
        };
        let p = &self.paragraphs[pi as usize];
        c.rules.push(p.rule);
        c.paragraph = Some(self.rule(p.rule).id.as_str());
        c.eccn = Some(Cow::Borrowed(p.eccn.as_str()));
        c.control = Some(p.control);
        if item.kind == ItemKind::Computer {
            let asm = snap
                .assemblies
                .iter()
                .map(|a| &self.assemblies[*a as usize])
                .find(|a| a.contains == p.control);
            match asm {
                Some(a) => {
                    c.rules.push(a.rule);
                    c.eccn = Some(Cow::Borrowed(a.eccn.as_str()));
                    c.control = Some(a.control);
                }
                None => {
                    c.eccn = Some(Cow::Borrowed("EAR99"));
                    c.control = None;
                    c.rules.push(self.provision("outside-3a090"));
                    return c;
                }
            }
        }
        if let Some(base) = &item.specified_in {
            if let Some(z) = snap
                .z
                .iter()
                .map(|z| &self.zs[*z as usize])
                .find(|z| z.bases.iter().any(|b| b.eq_ignore_ascii_case(base)))
            {
                c.rules.push(z.rule);
                c.eccn = Some(Cow::Owned(format!("{}.z", base.to_ascii_uppercase())));
            }
        }
        c
    }

    fn overlay_reaches(o: &OverlayDef, kind: ItemKind, control: Option<u8>, ccl: bool) -> bool {
        match o.items {
            Scope::All => true,
            // "Hardware" overlays (the Russia/Belarus sanctions of Part 746) reach every CCL
            // item and hardware; a declared CCL software or technology item is a CCL item.
            Scope::Hardware => kind.is_hardware() || ccl,
            Scope::Controlled(mask) => control.is_some_and(|c| mask & (1 << c) != 0),
        }
    }

    /// Decides one case.
    pub fn determine<'a>(&'a self, case: &Case<'_>) -> Result<Determination<'a>, InputError> {
        let classification = if case.posture == Posture::Enforced {
            self.classify(case.item, case.date, case.posture)?
        } else {
            let snap = self
                .snapshot(case.date, case.posture)
                .ok_or_else(|| self.out_of_range(case.date))?;
            self.check_item(case.item)?;
            self.classify_in(case.item, snap)
        };
        self.determine_classified(case, classification)
    }

    /// The classification of an item whose ECCN the exporter declares (a component of a
    /// package that the engine cannot classify from figures: software, data, services,
    /// networking). The ECCN is checked for form (15 CFR 738.2(d): digit, category letter A-E,
    /// three digits, paragraphs) and linked to the rulebook's licensing class when it is one
    /// the rulebook models (3A090, 4A090, 4E091 and their paragraphs). Any other ECCN but
    /// EAR99 carries reasons for control (Commerce Country Chart, Supp. No. 1 to Part 738) that
    /// the rulebook does not hold: the answer then cites the provision `declared-not-modelled`
    /// (low confidence) and applies only embargoes, list-based and end-use controls.
    pub fn declared_classification(
        &self,
        eccn: &str,
        date: Day,
        posture: Posture,
    ) -> Result<Classification<'_>, InputError> {
        let snap = self
            .snapshot(date, posture)
            .ok_or_else(|| self.out_of_range(date))?;
        let eccn = normalize_eccn(eccn).ok_or_else(|| InputError::Invalid {
            field: "eccn",
            message: format!(
                "{eccn:?} is not an ECCN (EAR99, or digit, category A-E, three digits and paragraphs, as 5D992.c)"
            ),
        })?;
        let mut c = Classification {
            eccn: None,
            paragraph: None,
            control: None,
            determined: true,
            rules: SmallVec::new(),
            not_enforced: SmallVec::new(),
            missing: SmallVec::new(),
        };
        c.rules.push(self.provision("declared-eccn"));
        let within = |listed: &str| {
            eccn.eq_ignore_ascii_case(listed)
                || (eccn.len() > listed.len()
                    && eccn[..listed.len()].eq_ignore_ascii_case(listed)
                    && eccn.as_bytes()[listed.len()] == b'.')
        };
        let control = snap
            .paragraphs
            .iter()
            .map(|p| &self.paragraphs[*p as usize])
            .find(|p| within(&p.eccn))
            .map(|p| (p.control, p.rule))
            .or_else(|| {
                snap.assemblies
                    .iter()
                    .map(|a| &self.assemblies[*a as usize])
                    .find(|a| within(&a.eccn))
                    .map(|a| (a.control, a.rule))
            });
        match control {
            Some((ctl, rule)) => {
                c.control = Some(ctl);
                c.rules.push(rule);
            }
            None if eccn == "EAR99" => {}
            None if self.at_only.iter().any(|a| within(a)) => {
                c.rules.push(self.provision("declared-at-only"))
            }
            None => c.rules.push(self.provision("declared-not-modelled")),
        }
        c.eccn = Some(Cow::Owned(eccn));
        Ok(c)
    }

    /// Decides one case whose item is already classified (by [`Rulebook::classify`] or
    /// [`Rulebook::declared_classification`]).
    pub fn determine_classified<'a>(
        &'a self,
        case: &Case<'_>,
        classification: Classification<'a>,
    ) -> Result<Determination<'a>, InputError> {
        let snap = self
            .snapshot(case.date, case.posture)
            .ok_or_else(|| self.out_of_range(case.date))?;
        let item = case.item;
        let mut rules: SmallVec<[u16; 12]> = SmallVec::new();
        let (dest, alias) = self.resolve_country(snap, case.destination);
        let (from, alias_from) = self.resolve_country(snap, case.export_from);
        let hq = case.end_user_hq.map(|h| self.resolve_country(snap, h));
        let alias_hq = hq.and_then(|h| h.1);
        // Headquarters not given: the headquarters-based rules (15 CFR 744.23(a)(3) /
        // 742.6(a)(6)(iii), 740.8 notification, 740.27 AIA) turn on knowledge of a Macau/D:5
        // (or non-Tier 1) parent. Without that fact the end user is taken to be headquartered
        // where it is located; the answer cites the assumption (low confidence) whenever a
        // headquarters test was consulted.
        let hq_assumed = hq.is_none();
        let hq = Some(hq.map_or(dest, |h| h.0));
        let mut hq_used = false;
        // A disputed country-group change touching the destination or headquarters (Cambodia
        // between the ITAR change and the EAR's conforming rule): the answer rests on it.
        for (rule, countries) in &snap.disputed {
            if countries.contains(dest) || hq.is_some_and(|h| countries.contains(h)) {
                push_unique(&mut rules, *rule);
            }
        }

        rules.extend(classification.rules.iter().copied());
        for a in [alias, alias_from, alias_hq].into_iter().flatten() {
            push_unique(&mut rules, a);
        }
        let mut missing: SmallVec<[&'static str; 4]> = SmallVec::new();
        let done = |classification, outcome, rules, missing| Determination {
            classification,
            outcome,
            exception: None,
            notification_required: false,
            review_policy: None,
            rules,
            missing,
        };

        // Published weights: outside the EAR altogether (15 CFR 734.7).
        if item.kind == ItemKind::Model && item.published == Some(true) {
            return Ok(done(classification, Outcome::NotSubject, rules, missing));
        }
        // Shipping within the United States is not an export (15 CFR 734.13).
        if from == self.us && dest == self.us {
            rules.push(self.provision("not-an-export"));
            return Ok(done(classification, Outcome::Nlr, rules, missing));
        }

        // ---- overlays: embargoes, list hits, end uses, is-informed letters
        let mut floor = Outcome::Nlr;
        let mut floor_policy: Option<ReviewPolicy> = None;
        let mut barred = false;
        let kind = item.kind;
        let control = classification.control;
        let ccl = kind == ItemKind::Software
            && classification.eccn.as_deref().is_some_and(|e| e != "EAR99");
        let mut apply = |o: &OverlayDef, rules: &mut SmallVec<[u16; 12]>| {
            floor = floor.max(o.outcome);
            floor_policy = floor_policy.max(o.policy);
            barred |= o.barred;
            push_unique(rules, o.rule);
        };
        for &e in &snap.embargoes {
            let o = &self.embargoes[e as usize];
            if Self::in_set(snap, o.dest, dest) && Self::overlay_reaches(o, kind, control, ccl) {
                apply(o, &mut rules);
            }
        }
        for hit in case.hits {
            for &l in &snap.list_rules {
                let o = &self.list_rules[l as usize];
                if o.key.eq_ignore_ascii_case(hit.list.trim())
                    && Self::overlay_reaches(o, kind, control, ccl)
                {
                    apply(o, &mut rules);
                }
            }
        }
        for code in case.end_uses {
            if !self.end_uses.iter().any(|e| &e.key == code) {
                return Err(InputError::UnknownEndUse(code.clone()));
            }
            for &u in &snap.end_uses {
                let o = &self.end_uses[u as usize];
                if &o.key != code {
                    continue;
                }
                if !o.effective {
                    push_unique(&mut rules, o.rule);
                    continue;
                }
                let by_dest = o.dest.is_some_and(|s| Self::set(snap, s).contains(dest));
                let by_hq =
                    o.hq.is_some_and(|s| hq.is_some_and(|h| Self::set(snap, s).contains(h)));
                if (by_dest || by_hq) && Self::overlay_reaches(o, kind, control, ccl) {
                    apply(o, &mut rules);
                }
            }
        }
        if let (Some(exporter), Some(cat)) = (case.exporter, item.catalog) {
            for &l in &snap.letters {
                let o = &self.letters[l as usize];
                if o.key.eq_ignore_ascii_case(exporter.trim())
                    && o.catalog.contains(&cat)
                    && Self::in_set(snap, o.dest, dest)
                {
                    apply(o, &mut rules);
                }
            }
        }
        if floor == Outcome::Prohibited {
            return Ok(Determination {
                classification,
                outcome: Outcome::Prohibited,
                exception: None,
                notification_required: false,
                review_policy: floor_policy,
                rules,
                missing,
            });
        }

        // ---- the item's own controls
        enum ControlAnswer<'a> {
            Unknown,
            Nlr,
            Exception {
                symbol: &'a str,
                notify: bool,
                policy: Option<ReviewPolicy>,
            },
            Licence {
                policy: Option<ReviewPolicy>,
            },
        }
        // The review policy's entries count only if the answer ends as a licence requirement.
        let mut policy_rules: SmallVec<[u16; 12]> = SmallVec::new();
        let mut policy_missing: SmallVec<[&'static str; 4]> = SmallVec::new();
        let answer = if !classification.determined {
            missing.extend(classification.missing.iter().copied());
            ControlAnswer::Unknown
        } else if let Some(ctl) = control {
            let bit = 1u32 << ctl;
            let mut matched = false;
            let mut unknown_req = false;
            for &ri in &snap.requirements {
                let r = &self.requirements[ri as usize];
                if r.controls & bit == 0
                    || !Self::in_set(snap, r.dest, dest)
                    || !Self::in_set(snap, r.from, from)
                    // A datacenter-specific entry; an item whose design is not given meets
                    // both (the answer then cites both).
                    || r
                        .datacenter
                        .is_some_and(|dc| item.datacenter.is_some_and(|i| i != dc))
                {
                    continue;
                }
                hq_used |= r.hq.is_some();
                match r
                    .hq
                    .map_or(Some(true), |s| hq.map(|h| Self::set(snap, s).contains(h)))
                {
                    Some(true) => {
                        matched = true;
                        push_unique(&mut rules, r.rule);
                    }
                    Some(false) => {}
                    None => unknown_req = true,
                }
            }
            if !matched && unknown_req {
                push_missing(&mut missing, "end_user.hq_country");
                ControlAnswer::Unknown
            } else if !matched {
                push_unique(&mut rules, self.provision("no-licence-required"));
                ControlAnswer::Nlr
            } else {
                let policy = self.review_policy(
                    snap,
                    item,
                    ctl,
                    dest,
                    from,
                    hq,
                    &mut policy_rules,
                    &mut policy_missing,
                );
                hq_used = true;
                let mut chosen = None;
                let mut exc_unknown = false;
                for &xi in &snap.exceptions {
                    let x = &self.exceptions[xi as usize];
                    if x.controls & bit == 0 {
                        continue;
                    }
                    if x.dc_excluded & bit != 0 {
                        match item.datacenter {
                            Some(true) => continue,
                            Some(false) => {}
                            None => {
                                exc_unknown = true;
                                push_missing(&mut missing, "item.datacenter");
                                continue;
                            }
                        }
                    }
                    hq_used |=
                        x.elig_hq.is_some() || x.hq_excluded.is_some() || x.notify_hq.is_some();
                    let eligible = x
                        .elig_dest
                        .is_some_and(|s| Self::set(snap, s).contains(dest))
                        || x.elig_hq
                            .is_some_and(|s| hq.is_some_and(|h| Self::set(snap, s).contains(h)));
                    if !eligible {
                        continue;
                    }
                    if let Some(s) = x.hq_excluded {
                        match hq {
                            Some(h) if Self::set(snap, s).contains(h) => continue,
                            Some(_) => {}
                            None => {
                                exc_unknown = true;
                                push_missing(&mut missing, "end_user.hq_country");
                                continue;
                            }
                        }
                    }
                    chosen = Some(x);
                    break;
                }
                match chosen {
                    Some(x) if !exc_unknown => {
                        let notify = match x.notification {
                            Notification::Always => true,
                            Notification::Never => false,
                            Notification::Conditional => {
                                x.notify_dest
                                    .is_some_and(|s| Self::set(snap, s).contains(dest))
                                    || x.notify_hq.is_some_and(|s| {
                                        hq.is_some_and(|h| Self::set(snap, s).contains(h))
                                    })
                            }
                        };
                        if !barred {
                            push_unique(&mut rules, x.rule);
                        }
                        ControlAnswer::Exception {
                            symbol: x.symbol.as_str(),
                            notify,
                            policy,
                        }
                    }
                    _ if exc_unknown && !barred => ControlAnswer::Unknown,
                    _ => ControlAnswer::Licence { policy },
                }
            }
        } else {
            ControlAnswer::Nlr
        };

        // ---- combine with the overlays' floor
        let (mut outcome, mut exception, mut notify, mut policy) = match answer {
            ControlAnswer::Unknown => (Outcome::Undetermined, None, false, None),
            ControlAnswer::Nlr => (Outcome::Nlr, None, false, None),
            ControlAnswer::Exception {
                symbol,
                notify,
                policy,
            } => {
                if barred {
                    (Outcome::LicenseRequired, None, false, policy)
                } else {
                    (Outcome::LicenseException, Some(symbol), notify, None)
                }
            }
            ControlAnswer::Licence { policy } => (Outcome::LicenseRequired, None, false, policy),
        };
        if outcome == Outcome::LicenseRequired {
            for r in policy_rules {
                push_unique(&mut rules, r);
            }
            for m in policy_missing {
                push_missing(&mut missing, m);
            }
        }
        if outcome == Outcome::Undetermined {
            if floor >= Outcome::LicenseRequired {
                // A licence is needed whatever the missing fact; only the policy may depend on it.
                outcome = Outcome::LicenseRequired;
                policy = floor_policy.filter(|p| *p == ReviewPolicy::PresumptionOfDenial);
            }
        } else if floor > outcome {
            outcome = floor;
            exception = None;
            notify = false;
        }
        if outcome >= Outcome::LicenseRequired && outcome != Outcome::Undetermined {
            policy = policy.max(floor_policy);
            if policy == Some(ReviewPolicy::PresumptionOfDenial) {
                missing.clear();
            }
        } else {
            policy = None;
            if outcome != Outcome::Undetermined {
                missing.clear();
            }
        }
        if hq_assumed && hq_used {
            push_unique(&mut rules, self.provision("hq-not-given"));
        }
        if outcome == Outcome::LicenseRequired && policy.is_none() && missing.is_empty() {
            // A licence is required but no review-policy entry covers the case.
            push_missing(
                &mut missing,
                "review_policy (no rulebook entry covers this case)",
            );
        }
        Ok(Determination {
            classification,
            outcome,
            exception,
            notification_required: notify,
            review_policy: policy,
            rules,
            missing,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn review_policy(
        &self,
        snap: &Snapshot,
        item: &ResolvedItem,
        ctl: u8,
        dest: Country,
        from: Country,
        hq: Option<Country>,
        rules: &mut SmallVec<[u16; 12]>,
        missing: &mut SmallVec<[&'static str; 4]>,
    ) -> Option<ReviewPolicy> {
        let bit = 1u32 << ctl;
        let mut best: Option<(i32, ReviewPolicy, u16)> = None;
        let mut unknown: SmallVec<[(i32, usize); 2]> = SmallVec::new();
        for &pi in &snap.policies {
            let p = &self.policies[pi as usize];
            if p.controls & bit == 0
                || !Self::in_set(snap, p.dest, dest)
                || !Self::in_set(snap, p.from, from)
            {
                continue;
            }
            let mut t =
                p.hq.map_or(Some(true), |s| hq.map(|h| Self::set(snap, s).contains(h)));
            for c in &p.conds {
                t = and(t, c.holds(&item.params));
            }
            match t {
                Some(true) => {
                    let better = match best {
                        None => true,
                        Some((prec, pol, _)) => {
                            p.precedence > prec || (p.precedence == prec && p.policy > pol)
                        }
                    };
                    if better {
                        best = Some((p.precedence, p.policy, p.rule));
                    }
                }
                Some(false) => {}
                None => unknown.push((p.precedence, pi as usize)),
            }
        }
        let floor_prec = best.map_or(i32::MIN, |b| b.0);
        let blocking: SmallVec<[usize; 2]> = unknown
            .iter()
            .filter(|(prec, _)| *prec > floor_prec)
            .map(|u| u.1)
            .collect();
        // An undecided policy that could only relax the decided one (the 91 FR 1684
        // case-by-case band needs the DRAM bandwidth): the relaxation is not shown, so the
        // decided policy stands; the answer cites that (low confidence).
        if let Some((_, policy, rule)) = best {
            if !blocking.is_empty() && blocking.iter().all(|pi| self.policies[*pi].policy < policy)
            {
                push_unique(rules, rule);
                push_unique(rules, self.provision("relaxation-not-shown"));
                for pi in blocking {
                    for c in &self.policies[pi].conds {
                        if item.params[c.param as usize].is_none() {
                            push_missing(missing, param_field(c.param));
                        }
                    }
                }
                return Some(policy);
            }
        }
        if !blocking.is_empty() {
            for pi in blocking {
                let p = &self.policies[pi];
                if p.hq.is_some() && hq.is_none() {
                    push_missing(missing, "end_user.hq_country");
                }
                for c in &p.conds {
                    if item.params[c.param as usize].is_none() {
                        push_missing(missing, param_field(c.param));
                    }
                }
            }
            return None;
        }
        let (_, policy, rule) = best?;
        push_unique(rules, rule);
        Some(policy)
    }
}
