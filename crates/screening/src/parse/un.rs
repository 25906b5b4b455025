//! The UN Security Council Consolidated List, XML (`CONSOLIDATED_LIST`, schema
//! `sc-sanctions.xsd`, published at <https://scsanctions.un.org/resources/xml/en/consolidated.xml>).
//!
//! Layout: `CONSOLIDATED_LIST` (attribute `dateGenerated`) holds `INDIVIDUALS` and `ENTITIES`;
//! each `INDIVIDUAL` has `FIRST_NAME` … `FOURTH_NAME` (given names first, family names after,
//! as the UN writes them), `REFERENCE_NUMBER` (`QDi.290`), `UN_LIST_TYPE` (the sanctions
//! regime), `NAME_ORIGINAL_SCRIPT`, `NATIONALITY/VALUE`s, `INDIVIDUAL_ALIAS` (`QUALITY`,
//! `ALIAS_NAME`), `INDIVIDUAL_ADDRESS`, `INDIVIDUAL_DATE_OF_BIRTH` (`TYPE_OF_DATE` with `DATE`,
//! `YEAR` or `FROM_YEAR`/`TO_YEAR`), `INDIVIDUAL_PLACE_OF_BIRTH` and `INDIVIDUAL_DOCUMENT`s;
//! each `ENTITY` has its name in `FIRST_NAME`, `ENTITY_ALIAS` and `ENTITY_ADDRESS`.
//!
//! Quirks handled (all seen in the 2026-02-27 file): alias quality written `Good`, `Low`,
//! `a.k.a.`, `f.k.a.` or left empty (`Low` is the UN's weak alias); empty alias, address,
//! place-of-birth and document elements (`<ALIAS_NAME/>`, `<INDIVIDUAL_DOCUMENT/>`); several
//! aliases in one `ALIAS_NAME` joined by `; `; reference numbers with a trailing space
//! (`KPe.023 `); dates of birth given as a date, a year, a range of years or only a type;
//! several nationalities; comments over several lines; `&amp;` in names. A name in its
//! original script (Arabic, Cyrillic) is kept as an alias, so a query in that script meets it
//! letter for letter.

use std::path::Path;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{decode_text, ParseError};
use crate::countries::country_code;
use crate::model::{
    Address, Alias, AliasStrength, Entity, Identifier, ListSource, PartyType, SourceFile,
};

/// One element of the document: name, text, children and the line it starts on.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
    line: usize,
    date_generated: Option<String>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The trimmed text of a child element, `None` when absent or empty.
    fn text_of(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
    }
    /// The texts of a list element's `VALUE` children (`NATIONALITY/VALUE`).
    fn values_of(&self, name: &str) -> Vec<String> {
        self.all(name)
            .flat_map(|c| c.all("VALUE"))
            .map(|v| v.text.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Line (1-based) of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Lines of increasing offsets, counted incrementally (the reader's positions only grow).
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        if end < self.offset {
            return 1 + self.text[..end].iter().filter(|&&b| b == b'\n').count();
        }
        self.line += self.text[self.offset..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = end;
        self.line
    }
}

/// Parses the document into a tree, checking that it is well-formed.
fn tree(path: &Path, text: &str) -> Result<Node, ParseError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut lines = Lines {
        text: text.as_bytes(),
        offset: 0,
        line: 1,
    };
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            let at = reader.error_position() as usize;
            let open = stack
                .last()
                .map(|n| n.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "the document".into());
            ParseError::new(
                path,
                line_at(text, at),
                format!("malformed XML inside element {open}: {e}"),
            )
        })?;
        match ev {
            Event::Start(s) => {
                let mut n = Node {
                    name: s.name().as_ref().to_string(),
                    line: lines.at(pos),
                    ..Node::default()
                };
                if n.name == "CONSOLIDATED_LIST" {
                    n.date_generated = s
                        .try_get_attribute("dateGenerated")
                        .ok()
                        .flatten()
                        .and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(|v| v.to_string())
                        });
                }
                stack.push(n);
            }
            Event::Empty(s) => {
                let n = Node {
                    name: s.name().as_ref().to_string(),
                    line: lines.at(pos),
                    ..Node::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(n);
                }
            }
            Event::End(_) => {
                let n = stack.pop().expect("the reader checks that end tags match");
                match stack.last_mut() {
                    Some(top) => top.children.push(n),
                    None => unreachable!("the root sentinel is never popped by an end tag"),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match quick_xml::escape::resolve_predefined_entity(name) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(ParseError::new(
                                path,
                                line_at(text, pos),
                                format!(
                                    "unknown entity reference &{name}; in element {}",
                                    stack.last().map(|n| n.name.as_str()).unwrap_or("?")
                                ),
                            ))
                        }
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        let open = stack.last().map(|n| n.name.clone()).unwrap_or_default();
        let line = stack.last().map(|n| n.line).unwrap_or(0);
        return Err(ParseError::new(
            path,
            line,
            format!("element {open} is not closed before the end of the file"),
        ));
    }
    let mut root = stack.pop().expect("one node left");
    match root.children.len() {
        1 => Ok(root.children.remove(0)),
        0 => Err(ParseError::new(path, 1, "no root element")),
        _ => Err(ParseError::new(
            path,
            root.children[1].line,
            "more than one root element",
        )),
    }
}

/// The UN alias quality as an [`AliasStrength`]: `Low` is the UN's weak alias ("low quality"
/// in the UN's own explanatory notes), `f.k.a.` a former name, anything else a good a.k.a.
fn strength(quality: Option<&str>) -> AliasStrength {
    match quality.map(|q| q.trim().to_ascii_lowercase()) {
        Some(q) if q == "low" => AliasStrength::WeakAka,
        Some(q) if q == "f.k.a." || q == "fka" => AliasStrength::Fka,
        _ => AliasStrength::Aka,
    }
}

/// Reads the UN consolidated list.
pub(super) fn read_un(
    path: &Path,
    bytes: &[u8],
    rel: &str,
) -> Result<(Vec<SourceFile>, Vec<Entity>), ParseError> {
    let (text, hash) = decode_text(bytes);
    let root = tree(path, &text)?;
    if root.name != "CONSOLIDATED_LIST" {
        return Err(ParseError::new(
            path,
            root.line,
            format!("root element is {}, not CONSOLIDATED_LIST", root.name),
        ));
    }
    let date = root
        .date_generated
        .as_deref()
        .and_then(|d| d.get(..10))
        .filter(|d| super::is_iso_date(d))
        .map(str::to_string)
        .or_else(|| super::date_in_path(rel));
    let mut entities = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (group, item, party) in [
        ("INDIVIDUALS", "INDIVIDUAL", PartyType::Individual),
        ("ENTITIES", "ENTITY", PartyType::Entity),
    ] {
        let Some(g) = root.child(group) else {
            return Err(ParseError::new(
                path,
                root.line,
                format!("CONSOLIDATED_LIST has no {group} element"),
            ));
        };
        for n in g.children.iter() {
            if n.name != item {
                return Err(ParseError::new(
                    path,
                    n.line,
                    format!("unexpected element {} inside {group}", n.name),
                ));
            }
            let e = record(path, n, party, &hash, date.as_deref())?;
            if !seen.insert(e.id.clone()) {
                return Err(ParseError::new(
                    path,
                    n.line,
                    format!("{item}: reference number of {} listed twice", e.id),
                ));
            }
            entities.push(e);
        }
    }
    Ok((
        vec![SourceFile {
            path: rel.into(),
            format: "un-consolidated".into(),
            sha256: hash,
            data_date: date,
            records: entities.len(),
            warnings: vec![],
        }],
        entities,
    ))
}

/// One `INDIVIDUAL` or `ENTITY`.
fn record(
    path: &Path,
    n: &Node,
    party: PartyType,
    hash: &str,
    date: Option<&str>,
) -> Result<Entity, ParseError> {
    let missing = |what: &str| ParseError::new(path, n.line, format!("{} has no {what}", n.name));
    let reference = n
        .text_of("REFERENCE_NUMBER")
        .ok_or_else(|| missing("REFERENCE_NUMBER"))?;
    let name_parts: Vec<String> = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"]
        .iter()
        .filter_map(|p| n.text_of(p))
        .collect();
    if name_parts.is_empty() {
        return Err(missing("name (FIRST_NAME is empty)"));
    }
    let name = name_parts.join(" ");
    let mut aliases: Vec<Alias> = Vec::new();
    let push_alias = |a: String, s: AliasStrength, aliases: &mut Vec<Alias>| {
        if a != name && !aliases.iter().any(|b| b.name == a) {
            aliases.push(Alias {
                name: a,
                strength: s,
            });
        }
    };
    let alias_tag = if party == PartyType::Individual {
        "INDIVIDUAL_ALIAS"
    } else {
        "ENTITY_ALIAS"
    };
    let mut dates_of_birth: Vec<String> = Vec::new();
    // Dates of birth given with an alias come after the person's own.
    let mut alias_dates: Vec<String> = Vec::new();
    for a in n.all(alias_tag) {
        let s = strength(a.text_of("QUALITY").as_deref());
        if let Some(names) = a.text_of("ALIAS_NAME") {
            // Several spellings in one element, joined by "; ".
            for one in names.split(';').map(str::trim).filter(|x| !x.is_empty()) {
                push_alias(one.to_string(), s, &mut aliases);
            }
        }
        if let Some(d) = a.text_of("DATE_OF_BIRTH") {
            alias_dates.push(d);
        }
    }
    if let Some(orig) = n.text_of("NAME_ORIGINAL_SCRIPT") {
        push_alias(orig, AliasStrength::Aka, &mut aliases);
    }
    for d in n.all("INDIVIDUAL_DATE_OF_BIRTH") {
        let v = if let Some(x) = d.text_of("DATE") {
            Some(x)
        } else if let Some(y) = d.text_of("YEAR") {
            Some(y)
        } else {
            match (d.text_of("FROM_YEAR"), d.text_of("TO_YEAR")) {
                (Some(f), Some(t)) => Some(format!("{f} to {t}")),
                (Some(f), None) | (None, Some(f)) => Some(f),
                _ => None,
            }
        };
        if let Some(v) = v {
            let v = match d.text_of("TYPE_OF_DATE").as_deref() {
                Some("APPROXIMATELY") => format!("circa {v}"),
                _ => v,
            };
            if !dates_of_birth.contains(&v) {
                dates_of_birth.push(v);
            }
        }
    }
    for d in alias_dates {
        if !dates_of_birth.contains(&d) {
            dates_of_birth.push(d);
        }
    }
    let mut countries: Vec<String> = Vec::new();
    let push_country = |c: &str, countries: &mut Vec<String>| {
        if let Some(cc) = country_code(c) {
            if !countries.iter().any(|x| x == cc) {
                countries.push(cc.to_string());
            }
        }
    };
    for nat in n.values_of("NATIONALITY") {
        push_country(&nat, &mut countries);
    }
    let addr_tag = if party == PartyType::Individual {
        "INDIVIDUAL_ADDRESS"
    } else {
        "ENTITY_ADDRESS"
    };
    let mut addresses = Vec::new();
    for a in n.all(addr_tag) {
        let addr = Address {
            street: a.text_of("STREET"),
            city: a.text_of("CITY"),
            state: a.text_of("STATE_PROVINCE"),
            postal_code: a.text_of("ZIP_CODE"),
            country: a.text_of("COUNTRY"),
            country_code: a
                .text_of("COUNTRY")
                .as_deref()
                .and_then(country_code)
                .map(str::to_string),
        };
        if let Some(c) = &addr.country {
            push_country(c, &mut countries);
        }
        if addr != Address::default() && !addresses.contains(&addr) {
            addresses.push(addr);
        }
    }
    let mut identifiers = Vec::new();
    for d in n.all("INDIVIDUAL_DOCUMENT") {
        let Some(number) = d.text_of("NUMBER") else {
            continue;
        };
        // TYPE_OF_DOCUMENT2 often repeats TYPE_OF_DOCUMENT, or refines it.
        let mut kinds: Vec<String> = Vec::new();
        for k in [
            d.text_of("TYPE_OF_DOCUMENT"),
            d.text_of("TYPE_OF_DOCUMENT2"),
        ]
        .into_iter()
        .flatten()
        {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        let kind = kinds.join(" ");
        let country = d
            .text_of("ISSUING_COUNTRY")
            .or_else(|| d.text_of("COUNTRY_OF_ISSUE"));
        identifiers.push(Identifier {
            kind: if kind.is_empty() {
                "Document".into()
            } else {
                kind
            },
            number,
            country: country
                .as_deref()
                .and_then(country_code)
                .map(str::to_string)
                .or(country),
        });
    }
    let programs: Vec<String> = n.text_of("UN_LIST_TYPE").into_iter().collect();
    let remarks = n.text_of("COMMENTS1");
    Ok(Entity {
        id: format!("un:{reference}"),
        list: ListSource::Un,
        also_listed: vec![],
        party_type: Some(party),
        name,
        aliases,
        addresses,
        countries,
        programs,
        dates_of_birth,
        identifiers,
        remarks,
        source_url: Some("https://scsanctions.un.org/resources/xml/en/consolidated.xml".into()),
        snapshot_date: date.map(str::to_string),
        snapshot_hash: hash.to_string(),
    })
}
