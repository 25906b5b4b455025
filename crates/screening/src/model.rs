//! The one entity model every list format is read into.

use serde::{Deserialize, Serialize};

/// Which published list an entry comes from. Codes follow the CSL's own source codes
/// (the code in parentheses of its `source` column), so that BIS, OFAC and State lists can
/// be told apart whichever file carried them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ListSource {
    /// OFAC Specially Designated Nationals and Blocked Persons (31 CFR ch. V).
    #[serde(rename = "SDN")]
    Sdn,
    /// OFAC consolidated non-SDN lists (SSI, FSE, NS-PLC, CAPTA, NS-MBS, NS-CMIC), from the `cons_*` files.
    #[serde(rename = "NON-SDN")]
    NonSdn,
    /// BIS Entity List (15 CFR Part 744, Supplement No. 4).
    #[serde(rename = "EL")]
    EntityList,
    /// BIS Denied Persons List (15 CFR 764.3).
    #[serde(rename = "DPL")]
    DeniedPersons,
    /// BIS Unverified List (15 CFR Part 744, Supplement No. 6).
    #[serde(rename = "UVL")]
    Unverified,
    /// BIS Military End-User List (15 CFR Part 744, Supplement No. 7).
    #[serde(rename = "MEU")]
    MilitaryEndUser,
    /// State Department ITAR / AECA debarred parties (22 CFR 127.7).
    #[serde(rename = "DTC")]
    ItarDebarred,
    /// State Department nonproliferation sanctions.
    #[serde(rename = "ISN")]
    Nonproliferation,
    /// OFAC Sectoral Sanctions Identifications (as carried in the CSL).
    #[serde(rename = "SSI")]
    Sectoral,
    /// OFAC Foreign Sanctions Evaders.
    #[serde(rename = "FSE")]
    SanctionsEvaders,
    /// OFAC Palestinian Legislative Council list.
    #[serde(rename = "PLC")]
    Plc,
    /// OFAC CAPTA list.
    #[serde(rename = "CAP")]
    Capta,
    /// OFAC Non-SDN Chinese Military-Industrial Complex Companies list.
    #[serde(rename = "CMIC")]
    Cmic,
    /// OFAC Non-SDN Menu-Based Sanctions list.
    #[serde(rename = "MBS")]
    MenuBased,
    /// UN Security Council Consolidated List (all UN sanctions regimes; UN Charter ch. VII).
    #[serde(rename = "UN")]
    Un,
    /// A CSL source this version does not know by code.
    #[serde(rename = "OTHER")]
    Other,
}

impl ListSource {
    /// The short code (`SDN`, `EL`, `DPL`, ...).
    pub fn code(self) -> &'static str {
        match self {
            ListSource::Sdn => "SDN",
            ListSource::NonSdn => "NON-SDN",
            ListSource::EntityList => "EL",
            ListSource::DeniedPersons => "DPL",
            ListSource::Unverified => "UVL",
            ListSource::MilitaryEndUser => "MEU",
            ListSource::ItarDebarred => "DTC",
            ListSource::Nonproliferation => "ISN",
            ListSource::Sectoral => "SSI",
            ListSource::SanctionsEvaders => "FSE",
            ListSource::Plc => "PLC",
            ListSource::Capta => "CAP",
            ListSource::Cmic => "CMIC",
            ListSource::MenuBased => "MBS",
            ListSource::Un => "UN",
            ListSource::Other => "OTHER",
        }
    }

    /// Parses a short code as returned by [`ListSource::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        ALL_SOURCES
            .iter()
            .copied()
            .find(|s| s.code().eq_ignore_ascii_case(code))
    }
}

/// Every list source, for iteration.
pub const ALL_SOURCES: &[ListSource] = &[
    ListSource::Sdn,
    ListSource::NonSdn,
    ListSource::EntityList,
    ListSource::DeniedPersons,
    ListSource::Unverified,
    ListSource::MilitaryEndUser,
    ListSource::ItarDebarred,
    ListSource::Nonproliferation,
    ListSource::Sectoral,
    ListSource::SanctionsEvaders,
    ListSource::Plc,
    ListSource::Capta,
    ListSource::Cmic,
    ListSource::MenuBased,
    ListSource::Un,
    ListSource::Other,
];

/// The kind of party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyType {
    Individual,
    Entity,
    Vessel,
    Aircraft,
}

impl PartyType {
    /// Parses `individual`, `entity`, `vessel`, `aircraft` (any case; `person`,
    /// `organization`, `company` accepted as synonyms).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "individual" | "person" => Some(PartyType::Individual),
            "entity" | "organization" | "organisation" | "company" | "business" => {
                Some(PartyType::Entity)
            }
            "vessel" => Some(PartyType::Vessel),
            "aircraft" => Some(PartyType::Aircraft),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PartyType::Individual => "individual",
            PartyType::Entity => "entity",
            PartyType::Vessel => "vessel",
            PartyType::Aircraft => "aircraft",
        }
    }
}

/// How strongly an alias identifies the party. OFAC distinguishes strong a.k.a.s (in alt.csv)
/// from weak ones ("low quality", only inside remarks); it tells screeners that weak a.k.a.s
/// alone should not trigger a match (OFAC FAQ 249 on weak aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AliasStrength {
    /// also known as
    Aka,
    /// formerly known as
    Fka,
    /// now known as
    Nka,
    /// a weak (low-quality) a.k.a.
    WeakAka,
}

/// An alternative name of a listed party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub strength: AliasStrength,
}

/// A postal address as listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// Country as listed (free text, e.g. "United Kingdom").
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 code of `country`, where it could be resolved.
    pub country_code: Option<String>,
}

/// An identifier (passport, national id, registration number, IMO number, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    pub kind: String,
    pub number: String,
    pub country: Option<String>,
}

/// One listed party, whichever list and file it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Contract id: `ofac-sdn:<ent_num>`, `ofac-cons:<ent_num>`, `csl:<_id>`, `bis-dpl:<id>`,
    /// `un:<REFERENCE_NUMBER>`.
    pub id: String,
    pub list: ListSource,
    /// Further lists the same entry (same id) appears on, e.g. an OFAC party on both the SSI
    /// and the NS-MBS list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_listed: Vec<ListSource>,
    pub party_type: Option<PartyType>,
    /// Primary name as listed.
    pub name: String,
    pub aliases: Vec<Alias>,
    pub addresses: Vec<Address>,
    /// ISO alpha-2 codes of every country linked to the party (addresses, nationality, citizenship).
    pub countries: Vec<String>,
    pub programs: Vec<String>,
    /// Dates of birth as listed (`1960`, `12 Jan 1960`, `1960-01-12`, ...).
    pub dates_of_birth: Vec<String>,
    pub identifiers: Vec<Identifier>,
    pub remarks: Option<String>,
    pub source_url: Option<String>,
    /// Date of the snapshot the entry was read from (the source file's data date), `YYYY-MM-DD`.
    pub snapshot_date: Option<String>,
    /// SHA-256 (hex) of the source file(s) the entry was read from.
    pub snapshot_hash: String,
}

impl Entity {
    /// Folds another row of the same party (same id) into this entry: its list, names,
    /// addresses, countries, programs, dates and identifiers, without duplicates.
    pub fn merge(&mut self, other: Entity) {
        if other.list != self.list && !self.also_listed.contains(&other.list) {
            self.also_listed.push(other.list);
        }
        let mut names: Vec<Alias> = Vec::new();
        if other.name != self.name {
            names.push(Alias {
                name: other.name,
                strength: AliasStrength::Aka,
            });
        }
        names.extend(other.aliases);
        for a in names {
            if a.name != self.name && !self.aliases.iter().any(|b| b.name == a.name) {
                self.aliases.push(a);
            }
        }
        fn union<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
            for x in from {
                if !into.contains(&x) {
                    into.push(x);
                }
            }
        }
        union(&mut self.addresses, other.addresses);
        union(&mut self.countries, other.countries);
        union(&mut self.programs, other.programs);
        union(&mut self.dates_of_birth, other.dates_of_birth);
        union(&mut self.identifiers, other.identifiers);
        if self.party_type.is_none() {
            self.party_type = other.party_type;
        }
    }

    /// A hash of everything that identifies or describes the party (not the snapshot fields),
    /// so that two snapshots can be compared entry by entry.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut copy = self.clone();
        copy.snapshot_date = None;
        copy.snapshot_hash.clear();
        let bytes = serde_json::to_vec(&copy).expect("entity serialises");
        hex::encode(Sha256::digest(bytes))
    }
}

/// One source file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path relative to the loaded directory.
    pub path: String,
    /// Recognised format (`ofac-sdn`, `ofac-cons`, `csl`, `csl-legacy`, `bis-dpl`, and the
    /// OFAC companion files `ofac-add`, `ofac-alt`, `ofac-comments`).
    pub format: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The data date of the file where it can be told (newest date in it, or from its folder name).
    pub data_date: Option<String>,
    /// Records read from the file.
    pub records: usize,
    /// What was skipped while reading (a repeated header, a record cut short at the end).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Every entity read from one directory of list files, with the files it came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub sources: Vec<SourceFile>,
    pub entities: Vec<Entity>,
}

impl Snapshot {
    /// One hash for the whole snapshot: SHA-256 over the sorted source hashes.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hashes: Vec<&str> = self.sources.iter().map(|s| s.sha256.as_str()).collect();
        hashes.sort_unstable();
        let mut h = Sha256::new();
        for s in hashes {
            h.update(s.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }
}
