//! The rulebook files as written (serde shapes). Every table rejects unknown fields so that a
//! misspelt key is an error naming the file and line, not a silently ignored rule.

use serde::Deserialize;
use toml::value::Datetime;
use toml::Spanned;

/// Defines a rule-entry table: its own fields plus the provenance fields every entry carries.
macro_rules! entry {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Deserialize, Debug, Clone)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
            #[serde(default)]
            pub title: Option<String>,
            pub citation: String,
            pub fr: String,
            pub effective: Datetime,
            #[serde(default)]
            pub compliance: Option<Datetime>,
            #[serde(default)]
            pub end: Option<Datetime>,
            pub enforcement: String,
            #[serde(default)]
            pub not_enforced_from: Option<Datetime>,
            pub confidence: String,
            #[serde(default)]
            pub uncertain: Option<String>,
            #[serde(default)]
            pub note: Option<String>,
        }
    };
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub except_groups: Vec<String>,
    #[serde(default)]
    pub except_countries: Vec<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub param: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

// ---- rulebook.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct MetaFile {
    pub rulebook: MetaTable,
    #[serde(default)]
    pub provision: Vec<Spanned<Provision>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct MetaTable {
    pub version: String,
    pub valid_from: Datetime,
    pub valid_through: Datetime,
    pub sources_as_of: Datetime,
}

entry!(Provision {
    id: String,
    /// For `declared-at-only`: the ECCNs (with their paragraphs) controlled for AT reasons only.
    #[serde(default)]
    eccns: Vec<String>
});

// ---- countries.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct CountriesFile {
    pub codes: Vec<String>,
    #[serde(default)]
    pub alias: Vec<Spanned<Alias>>,
}

entry!(Alias {
    code: String,
    treated_as: String
});

// ---- country_groups.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct GroupsFile {
    #[serde(default)]
    pub group: Vec<Spanned<Group>>,
    #[serde(default)]
    pub change: Vec<Spanned<Change>>,
}

entry!(Group { id: String, members: Vec<String> });
entry!(Change { group: String, action: String, countries: Vec<String> });

// ---- classification.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ClassificationFile {
    #[serde(default)]
    pub paragraph: Vec<Spanned<Paragraph>>,
    #[serde(default)]
    pub assembly: Vec<Spanned<Assembly>>,
    #[serde(default)]
    pub z_paragraph: Vec<Spanned<ZParagraph>>,
}

entry!(Paragraph {
    id: String,
    eccn: String,
    item: String,
    control: String,
    #[serde(default)]
    datacenter_only: bool,
    conditions: Vec<Condition>,
    /// Parameters whose absence counts as "not met" (the test is then cited, so the answer is
    /// low confidence when the entry is) instead of leaving the classification undecided.
    #[serde(default)]
    absent_not_met: Vec<String>,
});
entry!(Assembly {
    id: String,
    eccn: String,
    contains_control: String,
    control: String
});
entry!(ZParagraph { id: String, bases: Vec<String> });

// ---- licensing.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct LicensingFile {
    #[serde(default)]
    pub requirement: Vec<Spanned<Requirement>>,
    #[serde(default)]
    pub exception: Vec<Spanned<Exception>>,
    #[serde(default)]
    pub review_policy: Vec<Spanned<ReviewPolicy>>,
}

entry!(Requirement {
    id: String,
    controls: Vec<String>,
    #[serde(default)]
    destination: Option<Selector>,
    #[serde(default)]
    end_user_hq: Option<Selector>,
    #[serde(default)]
    export_from: Option<Selector>,
    /// Only items designed or marketed for datacenters (`true`) or only the others (`false`).
    #[serde(default)]
    datacenter: Option<bool>,
});
entry!(Exception {
    id: String,
    symbol: String,
    order: u32,
    controls: Vec<String>,
    #[serde(default)]
    datacenter_excluded_controls: Vec<String>,
    #[serde(default)]
    eligible_destination: Option<Selector>,
    #[serde(default)]
    eligible_end_user_hq: Option<Selector>,
    #[serde(default)]
    end_user_hq_excluded: Option<Selector>,
    notification: String,
    #[serde(default)]
    notify_destination: Option<Selector>,
    #[serde(default)]
    notify_end_user_hq: Option<Selector>,
});
entry!(ReviewPolicy {
    id: String,
    controls: Vec<String>,
    #[serde(default)]
    destination: Option<Selector>,
    #[serde(default)]
    end_user_hq: Option<Selector>,
    #[serde(default)]
    export_from: Option<Selector>,
    #[serde(default)]
    conditions: Vec<Condition>,
    policy: String,
    precedence: i32,
});

// ---- overlays.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct OverlaysFile {
    #[serde(default)]
    pub embargo: Vec<Spanned<Embargo>>,
    #[serde(default)]
    pub list_rule: Vec<Spanned<ListRule>>,
    #[serde(default)]
    pub end_use: Vec<Spanned<EndUse>>,
    #[serde(default)]
    pub is_informed: Vec<Spanned<IsInformed>>,
}

entry!(Embargo {
    id: String,
    destination: Selector,
    items: String,
    outcome: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    exceptions_barred: bool,
});
entry!(ListRule {
    id: String,
    list: String,
    items: String,
    outcome: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    exceptions_barred: bool,
});
entry!(EndUse {
    code: String,
    effect: String,
    #[serde(default)]
    items: Option<String>,
    #[serde(default)]
    controls: Vec<String>,
    #[serde(default)]
    destination: Option<Selector>,
    #[serde(default)]
    end_user_hq: Option<Selector>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    exceptions_barred: bool,
});
entry!(IsInformed {
    id: String,
    exporter: String,
    catalog: Vec<String>,
    destination: Selector,
    outcome: String,
    #[serde(default)]
    policy: Option<String>,
});

// ---- de_minimis.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct DeMinimisFile {
    #[serde(default)]
    pub threshold: Vec<Spanned<Threshold>>,
}

entry!(Threshold {
    id: String,
    items: String,
    destination: Selector,
    percent: f64
});

// ---- catalog.toml ----
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub chip: Vec<Spanned<CatalogChip>>,
    #[serde(default)]
    pub computer: Vec<Spanned<CatalogComputer>>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CatalogChip {
    pub id: String,
    pub vendor: String,
    pub name: String,
    pub datacenter: bool,
    pub datacenter_source: String,
    #[serde(default)]
    pub die_area_mm2: Option<f64>,
    #[serde(default)]
    pub die_area_source: Option<String>,
    #[serde(default)]
    pub dram_bandwidth_gbps: Option<f64>,
    #[serde(default)]
    pub dram_bandwidth_source: Option<String>,
    #[serde(default)]
    pub io_bandwidth_gbps: Option<f64>,
    #[serde(default)]
    pub io_bandwidth_source: Option<String>,
    pub throughput: Vec<CatalogThroughput>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CatalogThroughput {
    pub precision: String,
    pub bits: u32,
    pub dense: f64,
    pub source: String,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CatalogComputer {
    pub id: String,
    pub vendor: String,
    pub name: String,
    pub contains: String,
    pub count: u32,
    pub source: String,
}
