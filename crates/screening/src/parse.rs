//! Readers for the real list formats, into one [`Entity`] model.
//!
//! Recognised files (by name, case-insensitive, anywhere under the loaded directory):
//!
//! | file | format | entity ids |
//! |---|---|---|
//! | `sdn.csv` (+ `add.csv`, `alt.csv`, `sdn_comments.csv` beside it) | OFAC SDN legacy CSV | `ofac-sdn:<ent_num>` |
//! | `cons_prim.csv` (+ `cons_add.csv`, `cons_alt.csv`, `cons_comments.csv`) | OFAC consolidated non-SDN legacy CSV | `ofac-cons:<ent_num>` |
//! | any `*.csv` whose header has `source` and `name` | trade.gov Consolidated Screening List, 29 or 28 columns | `csl:<_id>` |
//! | any `*.txt` whose header starts `Name`, `Street_Address` | BIS Denied Persons List, tab-separated | `bis-dpl:<hash>` |
//! | any `*.xml` whose root is `CONSOLIDATED_LIST` | UN Security Council Consolidated List (see [`un`]) | `un:<REFERENCE_NUMBER>` |
//!
//! OFAC legacy CSV quirks handled (OFAC `dat_spec.txt`; seen in the real files): no header,
//! columns by position; null is an unquoted `-0- `; CRLF line ends; a trailing 0x1A byte;
//! several programs in one field as `A] [B`; entities have type `-0-`; weak a.k.a.s only inside
//! Remarks as `a.k.a. 'NAME'`; Remarks cut at about 1,000 characters and continued, mid-word,
//! in `sdn_comments.csv`; Remarks carry `DOB`, `POB`, `nationality`, passports and other ids.
//!
//! CSL quirks: quoted multi-line fields; a header repeated on the second line; a file cut in
//! the middle of its last record (the short final record is dropped and reported as a warning);
//! multi-valued fields joined with `; `; Entity List names carrying `; and any successor,
//! sub-unit, or subsidiary thereof`; alt names with list grammar (`A; B; and C`); leading spaces.
//!
//! A malformed recognised file fails the whole load with the file, the physical line and the
//! reason; nothing is half-loaded.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod un;

use crate::countries::country_code;
use crate::model::{
    Address, Alias, AliasStrength, Entity, Identifier, ListSource, PartyType, Snapshot, SourceFile,
};

/// A list file could not be read. Names the file, the line (1-based, physical) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {reason}", path.display())]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl ParseError {
    fn new(path: &Path, line: usize, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            reason: reason.into(),
        }
    }
}

/// The bytes of one list file, with the path its errors name.
#[derive(Debug, Clone, Copy)]
pub struct FileBytes<'a> {
    /// Where errors point: the file on disk, or any label for bytes from elsewhere.
    pub path: &'a Path,
    pub bytes: &'a [u8],
}

/// One recognised list file (or OFAC set) held in memory. [`load_dir`] reads the files of a
/// directory into these; [`read_list`] takes them from anywhere else (an upload, a fuzzer).
#[derive(Debug, Clone, Copy)]
pub enum ListFile<'a> {
    /// An OFAC legacy CSV set: `sdn.csv` (or `cons_prim.csv` when `consolidated`) and the
    /// companions beside it, each optional.
    Ofac {
        consolidated: bool,
        primary: FileBytes<'a>,
        add: Option<FileBytes<'a>>,
        alt: Option<FileBytes<'a>>,
        comments: Option<FileBytes<'a>>,
    },
    /// A trade.gov Consolidated Screening List CSV.
    Csl(FileBytes<'a>),
    /// The BIS Denied Persons List, tab-separated.
    Dpl(FileBytes<'a>),
    /// The UN Security Council Consolidated List, XML.
    Un(FileBytes<'a>),
}

/// Reads one list file (or OFAC set) from bytes: its sources and its entities. `rel` is the
/// path the snapshot records for it, relative to the list directory; a date in it
/// (`ofac/sdn_2021-07-07/sdn.csv`) is the data date of files that carry none.
pub fn read_list(
    rel: &str,
    file: ListFile<'_>,
) -> Result<(Vec<SourceFile>, Vec<Entity>), ParseError> {
    match file {
        ListFile::Ofac {
            consolidated,
            primary,
            add,
            alt,
            comments,
        } => read_ofac_set(primary, rel, consolidated, [add, alt, comments]),
        ListFile::Csl(f) => read_csl(f, rel),
        ListFile::Dpl(f) => read_dpl(f, rel),
        ListFile::Un(f) => un::read_un(f.path, f.bytes, rel),
    }
}

/// The kind of a recognised file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    OfacPrimary { consolidated: bool },
    Csl,
    Dpl,
    Un,
}

/// Reads every recognised list file anywhere under `dir` (following symbolic links) into one
/// snapshot. Unrecognised files are ignored; a recognised file that is malformed fails the whole
/// load. When the same entity id is read from two files (two OFAC snapshots under one
/// directory), the entry from the file with the newer data date wins.
pub fn load_dir(dir: &Path) -> Result<Snapshot, ParseError> {
    let meta = fs::metadata(dir)
        .map_err(|e| ParseError::new(dir, 0, format!("cannot read directory: {e}")))?;
    if !meta.is_dir() {
        return Err(ParseError::new(dir, 0, "not a directory"));
    }
    let mut files = Vec::new();
    walk(dir, &mut files, 0)?;
    files.sort();

    let mut snapshot = Snapshot::default();
    // id -> (data date, index into snapshot.entities)
    let mut seen: HashMap<String, (Option<String>, usize)> = HashMap::new();
    for path in &files {
        let Some(kind) = recognise(path)? else {
            continue;
        };
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let (sources, entities) = read_kind(path, &rel, kind)?;
        for e in entities {
            match seen.get(&e.id) {
                Some((date, idx)) => {
                    if e.snapshot_date >= *date {
                        let idx = *idx;
                        seen.insert(e.id.clone(), (e.snapshot_date.clone(), idx));
                        snapshot.entities[idx] = e;
                    }
                }
                None => {
                    seen.insert(
                        e.id.clone(),
                        (e.snapshot_date.clone(), snapshot.entities.len()),
                    );
                    snapshot.entities.push(e);
                }
            }
        }
        snapshot.sources.extend(sources);
    }
    Ok(snapshot)
}

/// Reads a recognised file (and, for an OFAC primary file, the companions beside it) from
/// disk and parses it.
fn read_kind(
    path: &Path,
    rel: &str,
    kind: FileKind,
) -> Result<(Vec<SourceFile>, Vec<Entity>), ParseError> {
    let bytes = read_bytes(path)?;
    let file = FileBytes {
        path,
        bytes: &bytes,
    };
    match kind {
        FileKind::OfacPrimary { consolidated } => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let names: [[&str; 2]; 3] = [
                ["add.csv", "cons_add.csv"],
                ["alt.csv", "cons_alt.csv"],
                ["sdn_comments.csv", "cons_comments.csv"],
            ];
            let mut found = Vec::with_capacity(3);
            for pair in names {
                let name = pair[usize::from(consolidated)];
                found.push(match companion(dir, &[name]) {
                    Some(p) => {
                        let b = read_bytes(&p)?;
                        Some((p, b))
                    }
                    None => None,
                });
            }
            let view = |i: usize| {
                found[i]
                    .as_ref()
                    .map(|(p, b)| FileBytes { path: p, bytes: b })
            };
            read_list(
                rel,
                ListFile::Ofac {
                    consolidated,
                    primary: file,
                    add: view(0),
                    alt: view(1),
                    comments: view(2),
                },
            )
        }
        FileKind::Csl => read_list(rel, ListFile::Csl(file)),
        FileKind::Dpl => read_list(rel, ListFile::Dpl(file)),
        FileKind::Un => read_list(rel, ListFile::Un(file)),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), ParseError> {
    if depth > 32 {
        return Err(ParseError::new(
            dir,
            0,
            "directory nesting deeper than 32 (a symbolic-link loop?)",
        ));
    }
    let rd = fs::read_dir(dir)
        .map_err(|e| ParseError::new(dir, 0, format!("cannot read directory: {e}")))?;
    for entry in rd {
        let entry = entry
            .map_err(|e| ParseError::new(dir, 0, format!("cannot read directory entry: {e}")))?;
        let path = entry.path();
        // fs::metadata follows symbolic links, so linked list folders are read too.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn file_name_lower(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// Decides what a file is from its name and, for CSV/TXT files, its first line.
fn recognise(path: &Path) -> Result<Option<FileKind>, ParseError> {
    let name = file_name_lower(path);
    match name.as_str() {
        "sdn.csv" => {
            return Ok(Some(FileKind::OfacPrimary {
                consolidated: false,
            }))
        }
        "cons_prim.csv" => return Ok(Some(FileKind::OfacPrimary { consolidated: true })),
        // Companion files are read with their primary file.
        "add.csv" | "alt.csv" | "sdn_comments.csv" | "cons_add.csv" | "cons_alt.csv"
        | "cons_comments.csv" => return Ok(None),
        _ => {}
    }
    let is_csv = name.ends_with(".csv");
    let is_txt = name.ends_with(".txt");
    if name.ends_with(".xml") {
        // The root element names the format; a declaration and comments may come first.
        let head = read_head(path)?;
        return Ok(head.contains("<CONSOLIDATED_LIST").then_some(FileKind::Un));
    }
    if !is_csv && !is_txt {
        return Ok(None);
    }
    let head = read_head(path)?;
    let first = head
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}');
    let cols: Vec<String> = if is_txt {
        first
            .split('\t')
            .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
            .collect()
    } else {
        first
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
            .collect()
    };
    if is_csv && cols.iter().any(|c| c == "source") && cols.iter().any(|c| c == "name") {
        return Ok(Some(FileKind::Csl));
    }
    if is_txt
        && cols.first().map(String::as_str) == Some("name")
        && cols.get(1).map(String::as_str) == Some("street_address")
    {
        return Ok(Some(FileKind::Dpl));
    }
    Ok(None)
}

fn read_head(path: &Path) -> Result<String, ParseError> {
    use std::io::Read;
    let mut f =
        fs::File::open(path).map_err(|e| ParseError::new(path, 0, format!("cannot open: {e}")))?;
    let mut buf = vec![0u8; 4096];
    let n = f
        .read(&mut buf)
        .map_err(|e| ParseError::new(path, 0, format!("cannot read: {e}")))?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ParseError> {
    fs::read(path).map_err(|e| ParseError::new(path, 0, format!("cannot read: {e}")))
}

/// A file's text and the SHA-256 of its bytes. OFAC legacy files are Windows-1252 in places;
/// bytes that are not UTF-8 are decoded as Windows-1252 rather than rejected, since that is how
/// OFAC publishes them. The trailing 0x1A (Ctrl-Z) is removed.
fn decode_text(bytes: &[u8]) -> (String, String) {
    let hash = hex::encode(Sha256::digest(bytes));
    let mut text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => decode_cp1252(bytes),
    };
    while text.ends_with('\u{1a}') {
        text.pop();
    }
    (text, hash)
}

/// Windows-1252 to UTF-8 (the 0x80–0x9F range differs from Latin-1).
fn decode_cp1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9f => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

/// A date (`YYYY-MM-DD` or `YYYY-MM`) found in a path, used as the data date of OFAC files
/// (their content carries no publication date).
fn date_in_path(rel: &str) -> Option<String> {
    // Dates are ASCII, but the path may not be: windows are taken with `get`, which answers
    // `None` where a window would cut a character (a path such as `listes/été/…` panicked on
    // plain slicing; found by the screening_ofac and screening_csl fuzz targets).
    for i in 0..rel.len() {
        if let Some(w) = rel.get(i..i + 10).filter(|w| is_iso_date(w)) {
            return Some(w.to_string());
        }
    }
    for i in 0..rel.len() {
        if let Some(w) = rel.get(i..i + 7) {
            let b = w.as_bytes();
            if b[4] == b'-'
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[5..7].iter().all(u8::is_ascii_digit)
            {
                return Some(format!("{w}-01"));
            }
        }
    }
    None
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s[..4].bytes().all(|c| c.is_ascii_digit())
        && s[5..7].bytes().all(|c| c.is_ascii_digit())
        && s[8..10].bytes().all(|c| c.is_ascii_digit())
}

/// A CSV record with the physical line it started on.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Reads every record of a comma-separated text. Records with the wrong number of fields are
/// returned as they are; callers decide.
fn csv_records(
    path: &Path,
    text: &str,
    delimiter: u8,
    header: bool,
) -> Result<Vec<Record>, ParseError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(header)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let bytes = text.as_bytes();
    // Physical line numbers from byte offsets: the csv crate does not count CRLF line ends.
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut line_at = |offset: usize| {
        // With CRLF ends the reported start can sit on the `\n` of the previous terminator.
        let mut offset = offset.min(bytes.len());
        while offset < bytes.len() && (bytes[offset] == b'\n' || bytes[offset] == b'\r') {
            offset += 1;
        }
        if offset > counted_to {
            line += bytes[counted_to..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = offset;
        }
        line
    };
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        let start = rdr.position().byte() as usize;
        match rdr.read_record(&mut rec) {
            Ok(true) => {
                let at = rec.position().map(|p| p.byte() as usize).unwrap_or(start);
                out.push(Record {
                    line: line_at(at),
                    fields: rec.iter().map(str::to_string).collect(),
                });
            }
            Ok(false) => break,
            Err(e) => {
                let at = e.position().map(|p| p.byte() as usize).unwrap_or(start);
                return Err(ParseError::new(
                    path,
                    line_at(at),
                    format!("malformed CSV: {e}"),
                ));
            }
        }
    }
    Ok(out)
}

/// An OFAC legacy field: `-0-` (with or without its trailing space) is null.
fn ofac_field(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t == "-0-" {
        None
    } else {
        Some(t.to_string())
    }
}

fn companion(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    let rd = fs::read_dir(dir).ok()?;
    let mut found: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| names.contains(&file_name_lower(p).as_str()))
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Reads an OFAC legacy set: the primary file and its companions (address, alias, comment
/// files, in that order).
fn read_ofac_set(
    primary_file: FileBytes<'_>,
    rel: &str,
    consolidated: bool,
    companions: [Option<FileBytes<'_>>; 3],
) -> Result<(Vec<SourceFile>, Vec<Entity>), ParseError> {
    let primary = primary_file.path;
    let [add_file, alt_file, comments_file] = companions;
    let (prefix, list, format) = if consolidated {
        ("ofac-cons", ListSource::NonSdn, "ofac-cons")
    } else {
        ("ofac-sdn", ListSource::Sdn, "ofac-sdn")
    };
    let data_date = date_in_path(rel);
    let rel_dir = rel
        .rsplit_once('/')
        .map(|(d, _)| format!("{d}/"))
        .unwrap_or_default();

    let (text, hash) = decode_text(primary_file.bytes);
    let records = csv_records(primary, &text, b',', false)?;
    let mut sources = vec![SourceFile {
        path: rel.to_string(),
        format: format.into(),
        sha256: hash.clone(),
        data_date: data_date.clone(),
        records: records.len(),
        warnings: vec![],
    }];
    let mut set_hash = Sha256::new();
    set_hash.update(hash.as_bytes());

    // Companion files, each optional (the 2024 snapshot ships sdn.csv alone). Every one read
    // adds its hash to the set hash and its entry to the sources.
    let mut read_companion = |file: Option<FileBytes<'_>>,
                              format: &str,
                              min_fields: usize,
                              layout: &str|
     -> Result<Vec<Record>, ParseError> {
        let Some(file) = file else {
            return Ok(Vec::new());
        };
        let p = file.path;
        let (t, h) = decode_text(file.bytes);
        let recs = csv_records(p, &t, b',', false)?;
        if let Some(r) = recs.iter().find(|r| r.fields.len() < min_fields) {
            return Err(ParseError::new(
                p,
                r.line,
                format!("expected {layout}, found {} fields", r.fields.len()),
            ));
        }
        set_hash.update(h.as_bytes());
        sources.push(SourceFile {
            path: format!("{rel_dir}{}", file_name_lower(p)),
            format: format.into(),
            sha256: h,
            data_date: data_date.clone(),
            records: recs.len(),
            warnings: vec![],
        });
        Ok(recs)
    };
    let mut addresses: HashMap<String, Vec<Address>> = HashMap::new();
    for r in read_companion(
        add_file,
        "ofac-add",
        5,
        "6 fields (ent_num, add_num, address, city, country, remarks)",
    )? {
        let country = ofac_field(&r.fields[4]);
        let addr = Address {
            street: ofac_field(&r.fields[2]),
            city: ofac_field(&r.fields[3]),
            state: None,
            postal_code: None,
            country_code: country
                .as_deref()
                .and_then(country_code)
                .map(str::to_string),
            country,
        };
        if addr != Address::default() {
            addresses
                .entry(r.fields[0].trim().to_string())
                .or_default()
                .push(addr);
        }
    }
    let mut alts: HashMap<String, Vec<Alias>> = HashMap::new();
    for r in read_companion(
        alt_file,
        "ofac-alt",
        4,
        "5 fields (ent_num, alt_num, alt_type, alt_name, remarks)",
    )? {
        let Some(name) = ofac_field(&r.fields[3]) else {
            continue;
        };
        let strength = match ofac_field(&r.fields[2])
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            Some("fka") => AliasStrength::Fka,
            Some("nka") => AliasStrength::Nka,
            _ => AliasStrength::Aka,
        };
        alts.entry(r.fields[0].trim().to_string())
            .or_default()
            .push(Alias { name, strength });
    }
    let mut comments: HashMap<String, String> = HashMap::new();
    for r in read_companion(
        comments_file,
        "ofac-comments",
        2,
        "2 fields (ent_num, remarks_extended)",
    )? {
        if let Some(c) = ofac_field(&r.fields[1]) {
            comments
                .entry(r.fields[0].trim().to_string())
                .or_default()
                .push_str(&c);
        }
    }
    let set_hash = hex::encode(set_hash.finalize());

    let mut entities = Vec::with_capacity(records.len());
    for r in records {
        if r.fields.len() != 12 {
            return Err(ParseError::new(primary, r.line, format!("expected 12 fields (ent_num, name, type, program, title, call sign, vessel type, tonnage, GRT, flag, owner, remarks), found {}", r.fields.len())));
        }
        let f = &r.fields;
        let ent_num = f[0].trim();
        if ent_num.is_empty() || !ent_num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(
                primary,
                r.line,
                format!("ent_num {ent_num:?} is not a number"),
            ));
        }
        let Some(name) = ofac_field(&f[1]) else {
            return Err(ParseError::new(
                primary,
                r.line,
                format!("entry {ent_num} has no name"),
            ));
        };
        // OFAC's "entity" is the absence of a type (dat_spec.txt).
        let party_type = match ofac_field(&f[2]).map(|s| s.to_ascii_lowercase()).as_deref() {
            None => Some(PartyType::Entity),
            Some("individual") => Some(PartyType::Individual),
            Some("vessel") => Some(PartyType::Vessel),
            Some("aircraft") => Some(PartyType::Aircraft),
            Some(other) => {
                return Err(ParseError::new(
                    primary,
                    r.line,
                    format!("unknown SDN_Type {other:?}"),
                ))
            }
        };
        let programs = ofac_field(&f[3])
            .map(|p| {
                p.trim_matches(|c| c == '[' || c == ']')
                    .split("] [")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let mut remarks = ofac_field(&f[11]);
        if let Some(extra) = comments.remove(ent_num) {
            // The overflow continues the cut remarks mid-word: join without a separator.
            remarks = Some(remarks.unwrap_or_default() + &extra);
        }
        let mut e = Entity {
            id: format!("{prefix}:{ent_num}"),
            list,
            also_listed: vec![],
            party_type,
            name,
            aliases: alts.remove(ent_num).unwrap_or_default(),
            addresses: addresses.remove(ent_num).unwrap_or_default(),
            countries: vec![],
            programs,
            dates_of_birth: vec![],
            identifiers: vec![],
            remarks: None,
            source_url: Some(
                if consolidated {
                    "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_PRIM.CSV"
                } else {
                    "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV"
                }
                .into(),
            ),
            snapshot_date: data_date.clone(),
            snapshot_hash: set_hash.clone(),
        };
        for cc in e
            .programs
            .iter()
            .filter_map(|p| program_country(p))
            .collect::<Vec<_>>()
        {
            push_country(&mut e.countries, cc);
        }
        if let Some(call_sign) = ofac_field(&f[5]) {
            e.identifiers.push(Identifier {
                kind: "Call Sign".into(),
                number: call_sign,
                country: None,
            });
        }
        if let Some(flag) = ofac_field(&f[9]) {
            if let Some(cc) = country_code(&flag) {
                push_country(&mut e.countries, cc);
            }
        }
        if let Some(rm) = &remarks {
            apply_ofac_remarks(&mut e, rm);
        }
        e.remarks = remarks;
        for a in e.addresses.clone() {
            if let Some(cc) = a.country_code {
                push_country(&mut e.countries, &cc);
            }
        }
        entities.push(e);
    }
    Ok((sources, entities))
}

/// Country named by an OFAC sanctions program code, where the program is about one country
/// (program tags as published on the SDN list: "CUBA", "IRAN", "DPRK3", "SYRIA-EO13894", ...).
/// Programs that are thematic (SDGT, NPWMD, CYBER2, GLOMAG) or span several countries name none.
fn program_country(program: &str) -> Option<&'static str> {
    let p = program.trim().to_ascii_uppercase();
    let base = p.split(['-', ' ']).next().unwrap_or("");
    let base = base.trim_end_matches(|c: char| c.is_ascii_digit());
    Some(match base {
        "CUBA" => "CU",
        "IRAN" | "IFSR" | "ISA" | "IRGC" => "IR",
        "SYRIA" => "SY",
        "DPRK" | "NKSPEA" => "KP",
        "VENEZUELA" => "VE",
        "BELARUS" => "BY",
        "BURMA" => "MM",
        "IRAQ" => "IQ",
        "LIBYA" => "LY",
        "SOMALIA" => "SO",
        "SUDAN" | "DARFUR" => "SD",
        "YEMEN" => "YE",
        "ZIMBABWE" => "ZW",
        "NICARAGUA" => "NI",
        "LEBANON" => "LB",
        "MALI" => "ML",
        "ETHIOPIA" => "ET",
        "CAR" => "CF",
        "DRCONGO" => "CD",
        "RUSSIA" => "RU",
        _ => return None,
    })
}

fn push_country(list: &mut Vec<String>, cc: &str) {
    if !list.iter().any(|c| c == cc) {
        list.push(cc.to_string());
    }
}

/// Splits OFAC remarks into their `; `-separated parts, keeping quoted a.k.a.s whole.
fn remark_parts(remarks: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let bytes = remarks.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            // A quote opens only after "a.k.a. " style markers or a space, and closes before ';', '.' or end.
            b'\'' => {
                let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                let next = bytes.get(i + 1).copied().unwrap_or(b';');
                if !in_quote && prev == b' ' {
                    in_quote = true;
                } else if in_quote && matches!(next, b';' | b'.' | b',' | b' ' | b')') {
                    in_quote = false;
                }
            }
            b';' if !in_quote => {
                parts.push(remarks[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(remarks[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Mines the semi-structured OFAC remarks: DOBs, nationality and citizenship, weak a.k.a.s,
/// and identifiers written as `<Label> <number> (<Country>)`.
fn apply_ofac_remarks(e: &mut Entity, remarks: &str) {
    for part in remark_parts(remarks) {
        let part = part.trim_end_matches('.').trim();
        let p = part.strip_prefix("alt. ").unwrap_or(part);
        if let Some(rest) = p
            .strip_prefix("a.k.a. ")
            .or_else(|| p.strip_prefix("f.k.a. "))
            .or_else(|| p.strip_prefix("n.k.a. "))
        {
            // Weak a.k.a.s: `a.k.a. 'NAME'`, possibly several separated by commas.
            for q in rest.split("', '") {
                let name = q.trim().trim_matches('\'').trim();
                if !name.is_empty() && !e.aliases.iter().any(|a| a.name == name) {
                    e.aliases.push(Alias {
                        name: name.to_string(),
                        strength: AliasStrength::WeakAka,
                    });
                }
            }
        } else if let Some(d) = p.strip_prefix("DOB ") {
            e.dates_of_birth.push(d.trim().to_string());
        } else if let Some(c) = p
            .strip_prefix("nationality ")
            .or_else(|| p.strip_prefix("citizen "))
            .or_else(|| p.strip_prefix("Nationality of Registration "))
        {
            if let Some(cc) = country_code(c) {
                push_country(&mut e.countries, cc);
            }
        } else if p.starts_with("POB ")
            || p.starts_with("Gender ")
            || p.starts_with("Linked To:")
            || p.starts_with("Additional Sanctions Information")
            || p.starts_with("Website ")
            || p.starts_with("Email Address ")
        {
            // Descriptive only.
        } else if let Some(id) = parse_identifier(p) {
            if let Some(cc) = id.country.as_deref().and_then(country_code) {
                push_country(&mut e.countries, cc);
            }
            e.identifiers.push(id);
        }
    }
}

/// `Passport 1084010 (Egypt)`, `National ID No. 123 (Mexico)`, `Vessel Registration
/// Identification IMO 9187629`, `Digital Currency Address - XBT 1abc`: the label is the text
/// before the first word holding a digit; the number runs to the parenthesised country.
fn parse_identifier(p: &str) -> Option<Identifier> {
    let words: Vec<&str> = p.split(' ').collect();
    let first_num = words
        .iter()
        .position(|w| w.bytes().any(|b| b.is_ascii_digit()))?;
    if first_num == 0 || first_num > 8 {
        return None;
    }
    let label = words[..first_num]
        .join(" ")
        .trim_end_matches(['-', ':', ' '])
        .to_string();
    let rest = words[first_num..].join(" ");
    let (number, country) = match rest.rfind(" (") {
        Some(i) if rest.ends_with(')') => (
            rest[..i].to_string(),
            Some(rest[i + 2..rest.len() - 1].to_string()),
        ),
        _ => (rest, None),
    };
    let number = number.trim().to_string();
    if number.is_empty() || number.len() > 100 || label.is_empty() {
        return None;
    }
    Some(Identifier {
        kind: label,
        number,
        country,
    })
}

/// Maps a CSL `source` value to its list, by the code in parentheses ("Entity List (EL) - …"),
/// which stays stable when the long name changes (ITAR Debarred became AECA Debarred).
fn csl_source(source: &str) -> ListSource {
    let code = source
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(c, _)| c.trim().to_ascii_uppercase())
        .unwrap_or_default();
    match code.as_str() {
        "SDN" => ListSource::Sdn,
        "EL" => ListSource::EntityList,
        "DPL" => ListSource::DeniedPersons,
        "UVL" => ListSource::Unverified,
        "MEU" => ListSource::MilitaryEndUser,
        "DTC" => ListSource::ItarDebarred,
        "ISN" => ListSource::Nonproliferation,
        "SSI" => ListSource::Sectoral,
        "FSE" => ListSource::SanctionsEvaders,
        "PLC" => ListSource::Plc,
        "CAP" => ListSource::Capta,
        "CMIC" => ListSource::Cmic,
        "NS-MBS LIST" | "NS-MBS" | "MBS" => ListSource::MenuBased,
        _ => ListSource::Other,
    }
}

/// Removes the Entity List's "; and any successor, sub-unit, or subsidiary thereof" tail and
/// similar list grammar from a CSL name.
fn clean_csl_name(name: &str) -> String {
    let mut n = name.trim().to_string();
    // "…; and any successor, sub-unit, or subsidiary thereof" (with or without the separator,
    // with or without the Oxford comma). The phrase is found in the name itself, ASCII
    // case-insensitively: an offset found in a lower-cased copy is wrong after any letter whose
    // lower case has another length (Turkish `İ` lower-cases to two characters).
    if let Some(i) = find_ascii_ci(&n, "and any successor") {
        let cut = n[..i]
            .trim_end()
            .trim_end_matches([';', ','])
            .trim_end()
            .len();
        n.truncate(cut);
    }
    n.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Byte offset of the first occurrence of the ASCII `needle` in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..h.len().checked_sub(n.len())? + 1)
        .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n) && hay.is_char_boundary(i))
}

fn split_multi(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split("; ")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            // Entity List alt names use list grammar: "A; B; and C".
            s.strip_prefix("and ").unwrap_or(s).trim().to_string()
        })
}

/// Reads a trade.gov Consolidated Screening List CSV (29-column or older 28-column layout).
fn read_csl(file: FileBytes<'_>, rel: &str) -> Result<(Vec<SourceFile>, Vec<Entity>), ParseError> {
    let path = file.path;
    let (text, hash) = decode_text(file.bytes);
    let records = csv_records(path, &text, b',', false)?;
    let Some(header) = records.first() else {
        return Err(ParseError::new(path, 1, "empty file"));
    };
    let cols: Vec<String> = header
        .fields
        .iter()
        .map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let need = |name: &str| {
        col(name)
            .ok_or_else(|| ParseError::new(path, 1, format!("CSL header has no `{name}` column")))
    };
    let (c_source, c_name) = (need("source")?, need("name")?);
    let c_id = col("_id");
    let (c_num, c_type, c_programs, c_addresses, c_alt, c_dob, c_ids, c_remarks, c_url) = (
        col("entity_number"),
        col("type"),
        col("programs"),
        col("addresses"),
        col("alt_names"),
        col("dates_of_birth"),
        col("ids"),
        col("remarks"),
        col("source_list_url"),
    );
    let (c_cit, c_nat, c_start) = (col("citizenships"), col("nationalities"), col("start_date"));
    let width = cols.len();

    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    let last = records.len() - 1;
    for (i, r) in records.iter().enumerate().skip(1) {
        let lower: Vec<String> = r
            .fields
            .iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        if lower == cols {
            warnings.push(format!("line {}: repeated header skipped", r.line));
            continue;
        }
        if r.fields.len() != width {
            if i == last && r.fields.len() < width {
                warnings.push(format!(
                    "line {}: last record cut short ({} of {width} fields), dropped",
                    r.line,
                    r.fields.len()
                ));
                continue;
            }
            return Err(ParseError::new(
                path,
                r.line,
                format!(
                    "expected {width} fields as in the header, found {}",
                    r.fields.len()
                ),
            ));
        }
        rows.push(r);
    }

    let mut newest: Option<String> = None;
    let mut entities: Vec<Entity> = Vec::with_capacity(rows.len());
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let records_read = rows.len();
    let get = |r: &Record, c: Option<usize>| {
        c.and_then(|c| r.fields.get(c))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    for r in rows {
        let source = get(r, Some(c_source)).unwrap_or_default();
        let list = csl_source(&source);
        let Some(raw_name) = get(r, Some(c_name)) else {
            return Err(ParseError::new(path, r.line, "record has no name"));
        };
        let name = clean_csl_name(&raw_name);
        let id = match get(r, c_id) {
            Some(id) => id,
            None => match get(r, c_num) {
                Some(n) => n,
                // The 28-column layout has no `_id`: derive a stable one from what identifies the row.
                None => {
                    let mut h = Sha256::new();
                    for c in [Some(c_source), Some(c_name), c_addresses, c_start] {
                        h.update(get(r, c).unwrap_or_default().as_bytes());
                        h.update([0]);
                    }
                    hex::encode(&h.finalize()[..28])
                }
            },
        };
        let party_type = match get(r, c_type).map(|t| t.to_ascii_lowercase()).as_deref() {
            Some("individual") => Some(PartyType::Individual),
            Some("entity") => Some(PartyType::Entity),
            Some("vessel") => Some(PartyType::Vessel),
            Some("aircraft") => Some(PartyType::Aircraft),
            _ => None,
        };
        let mut e = Entity {
            id: format!("csl:{id}"),
            list,
            also_listed: vec![],
            party_type,
            name,
            aliases: get(r, c_alt)
                .map(|v| {
                    split_multi(&v)
                        .map(|n| Alias {
                            name: clean_csl_name(&n),
                            strength: AliasStrength::Aka,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            addresses: vec![],
            countries: vec![],
            programs: get(r, c_programs)
                .map(|v| split_multi(&v).collect())
                .unwrap_or_default(),
            dates_of_birth: get(r, c_dob)
                .map(|v| split_multi(&v).collect())
                .unwrap_or_default(),
            identifiers: vec![],
            remarks: get(r, c_remarks),
            source_url: get(r, c_url),
            snapshot_date: None,
            snapshot_hash: hash.clone(),
        };
        e.aliases.retain(|a| !a.name.is_empty() && a.name != e.name);
        if let Some(v) = get(r, c_addresses) {
            for a in split_multi(&v) {
                let parts: Vec<&str> = a.split(", ").collect();
                let last = parts.last().map(|s| s.trim()).unwrap_or("");
                // The CSL ends each address with the alpha-2 code; older rows spell the country.
                let cc = country_code(last);
                let addr = Address {
                    street: Some(a.clone()),
                    city: None,
                    state: None,
                    postal_code: None,
                    country: cc.map(|_| last.to_string()),
                    country_code: cc.map(str::to_string),
                };
                if let Some(cc) = cc {
                    push_country(&mut e.countries, cc);
                }
                e.addresses.push(addr);
            }
        }
        for c in [c_cit, c_nat] {
            if let Some(v) = get(r, c) {
                for code in split_multi(&v) {
                    if let Some(cc) = country_code(&code) {
                        push_country(&mut e.countries, cc);
                    }
                }
            }
        }
        for cc in e
            .programs
            .iter()
            .filter_map(|p| program_country(p))
            .collect::<Vec<_>>()
        {
            push_country(&mut e.countries, cc);
        }
        if let Some(v) = get(r, c_ids) {
            for idv in split_multi(&v) {
                let parts: Vec<&str> = idv.splitn(3, ", ").collect();
                if parts.len() >= 2 {
                    let country = parts
                        .get(2)
                        .and_then(|c| c.split(", ").next())
                        .map(|c| c.trim().to_string())
                        .filter(|c| c.len() == 2);
                    e.identifiers.push(Identifier {
                        kind: parts[0].trim().to_string(),
                        number: parts[1].trim().to_string(),
                        country,
                    });
                }
            }
        }
        if let Some(d) = get(r, c_start).filter(|d| is_iso_date(d)) {
            if newest.as_ref().is_none_or(|n| d > *n) {
                newest = Some(d.clone());
            }
        }
        // One OFAC party on two non-SDN lists (SSI and NS-MBS) appears as two rows with the same
        // `_id`: one entity, listed on both.
        if let Some(&i) = by_id.get(&e.id) {
            entities[i].merge(e);
        } else {
            by_id.insert(e.id.clone(), entities.len());
            entities.push(e);
        }
    }
    let data_date = newest.or_else(|| date_in_path(rel));
    for e in &mut entities {
        e.snapshot_date = data_date.clone();
    }
    let format = if c_id.is_some() { "csl" } else { "csl-legacy" };
    Ok((
        vec![SourceFile {
            path: rel.into(),
            format: format.into(),
            sha256: hash,
            data_date,
            records: records_read,
            warnings,
        }],
        entities,
    ))
}

/// Reads the BIS Denied Persons List (tab-separated, every field quoted).
fn read_dpl(file: FileBytes<'_>, rel: &str) -> Result<(Vec<SourceFile>, Vec<Entity>), ParseError> {
    let path = file.path;
    let (text, hash) = decode_text(file.bytes);
    let records = csv_records(path, &text, b'\t', false)?;
    let Some(header) = records.first() else {
        return Err(ParseError::new(path, 1, "empty file"));
    };
    let cols: Vec<String> = header
        .fields
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |n: &str| {
        cols.iter()
            .position(|c| c == n)
            .ok_or_else(|| ParseError::new(path, 1, format!("DPL header has no `{n}` column")))
    };
    let (c_name, c_street, c_city, c_state, c_country, c_postal, c_eff) = (
        col("name")?,
        col("street_address")?,
        col("city")?,
        col("state")?,
        col("country")?,
        col("postal_code")?,
        col("effective_date")?,
    );
    let width = cols.len();
    let mut newest: Option<String> = None;
    let mut entities: Vec<Entity> = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for r in records.iter().skip(1) {
        if r.fields.len() != width {
            return Err(ParseError::new(
                path,
                r.line,
                format!(
                    "expected {width} tab-separated fields as in the header, found {}",
                    r.fields.len()
                ),
            ));
        }
        let g = |c: usize| Some(r.fields[c].trim().to_string()).filter(|s| !s.is_empty());
        let Some(name) = g(c_name) else {
            return Err(ParseError::new(path, r.line, "record has no name"));
        };
        let eff = g(c_eff).unwrap_or_default();
        // MM/DD/YYYY -> YYYY-MM-DD for the data date.
        if let [m, d, y] = eff.split('/').collect::<Vec<_>>()[..] {
            let iso = format!("{y:0>4}-{m:0>2}-{d:0>2}");
            if is_iso_date(&iso) && newest.as_ref().is_none_or(|n| iso > *n) {
                newest = Some(iso);
            }
        }
        let country = g(c_country);
        let cc = country
            .as_deref()
            .and_then(country_code)
            .map(str::to_string);
        let addr = Address {
            street: g(c_street),
            city: g(c_city),
            state: g(c_state),
            postal_code: g(c_postal),
            country,
            country_code: cc.clone(),
        };
        // A stable id: the person's name, address and order date identify a DPL row.
        let mut h = Sha256::new();
        for part in [
            &name,
            &addr.street.clone().unwrap_or_default(),
            &addr.city.clone().unwrap_or_default(),
            &eff,
        ] {
            h.update(part.to_uppercase().as_bytes());
            h.update([0]);
        }
        let mut id = hex::encode(&h.finalize()[..8]);
        if let Some(n) = ids.get(&id) {
            // Identical rows: keep them distinct but stable by their order of appearance.
            id = format!("{id}-{}", n + 1);
        }
        *ids.entry(id.split('-').next().unwrap_or(&id).to_string())
            .or_default() += 1;
        entities.push(Entity {
            id: format!("bis-dpl:{id}"),
            list: ListSource::DeniedPersons,
            also_listed: vec![],
            party_type: None,
            name: name.split_whitespace().collect::<Vec<_>>().join(" "),
            aliases: vec![],
            addresses: vec![addr],
            countries: cc.into_iter().collect(),
            programs: vec![],
            dates_of_birth: vec![],
            identifiers: vec![],
            remarks: g(cols.iter().position(|c| c == "action").unwrap_or(c_name))
                .filter(|_| cols.iter().any(|c| c == "action")),
            source_url: Some("https://www.bis.gov/dpl/dpl.txt".into()),
            snapshot_date: None,
            snapshot_hash: hash.clone(),
        });
    }
    for e in &mut entities {
        e.snapshot_date = newest.clone();
    }
    Ok((
        vec![SourceFile {
            path: rel.into(),
            format: "bis-dpl".into(),
            sha256: hash,
            data_date: newest,
            records: entities.len(),
            warnings: vec![],
        }],
        entities,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_clause_is_cut_after_letters_whose_case_changes_length() {
        // Several Turkish parties are on the Entity List; `İ` lower-cases to `i̇` (3 bytes).
        assert_eq!(
            clean_csl_name("ELEMENT ELEKTRONİK SANAYİ VE TİCARET ANONİM ŞİRKETİ; and any successor, sub-unit, or subsidiary thereof"),
            "ELEMENT ELEKTRONİK SANAYİ VE TİCARET ANONİM ŞİRKETİ"
        );
        assert_eq!(
            clean_csl_name("Acme Ltd., AND ANY SUCCESSOR, sub-unit or subsidiary thereof"),
            "Acme Ltd."
        );
        assert_eq!(clean_csl_name("  Plain   Name "), "Plain Name");
    }

    proptest::proptest! {
        /// Whatever letters precede the clause (dotted capitals, combining marks, right-to-left
        /// text), the name before it comes out whole.
        #[test]
        fn the_name_before_the_clause_survives_any_script(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "İSTANBUL", "ŞİRKETİ", "Ǆ", "ẞ", "e\u{301}", "\u{5e9}\u{5dc}\u{5d5}\u{5dd}",
                    "\u{645}\u{62d}\u{645}\u{62f}", "\u{200f}", "ΣΟΦΊΑ", "Ⅻ", "ﬁ", "ACME",
                ]),
                1..6,
            ),
            sep in proptest::sample::select(vec!["; ", ", ", " ", ";"]),
        ) {
            let name = words.join(" ");
            let got = clean_csl_name(&format!("{name}{sep}and any successor, sub-unit, or subsidiary thereof"));
            let want = name.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(got, want.trim_end_matches([';', ',']).trim_end().to_string());
        }
    }

    #[test]
    fn remarks_yield_weak_akas_dobs_and_ids() {
        let mut e = Entity {
            id: "ofac-sdn:1".into(),
            list: ListSource::Sdn,
            also_listed: vec![],
            party_type: Some(PartyType::Individual),
            name: "X".into(),
            aliases: vec![],
            addresses: vec![],
            countries: vec![],
            programs: vec![],
            dates_of_birth: vec![],
            identifiers: vec![],
            remarks: None,
            source_url: None,
            snapshot_date: None,
            snapshot_hash: String::new(),
        };
        apply_ofac_remarks(&mut e, "DOB 09 Feb 1951; POB Gaza, Egypt; Passport 92/664 (Egypt); nationality Syria; a.k.a. 'ABU-'UMAR'.");
        assert_eq!(e.dates_of_birth, vec!["09 Feb 1951"]);
        assert_eq!(
            e.aliases,
            vec![Alias {
                name: "ABU-'UMAR".into(),
                strength: AliasStrength::WeakAka
            }]
        );
        assert_eq!(
            e.identifiers[0],
            Identifier {
                kind: "Passport".into(),
                number: "92/664".into(),
                country: Some("Egypt".into())
            }
        );
        assert_eq!(e.countries, vec!["EG", "SY"]);
    }

    #[test]
    fn program_countries() {
        assert_eq!(program_country("CUBA"), Some("CU"));
        assert_eq!(program_country("DPRK3"), Some("KP"));
        assert_eq!(program_country("SYRIA-EO13894"), Some("SY"));
        assert_eq!(program_country("RUSSIA-EO14024"), Some("RU"));
        assert_eq!(program_country("SDGT"), None);
        assert_eq!(program_country("NPWMD"), None);
    }

    #[test]
    fn path_dates() {
        assert_eq!(
            date_in_path("ofac/sdn_2021-07-07/sdn.csv").as_deref(),
            Some("2021-07-07")
        );
        assert_eq!(
            date_in_path("ofac/sdn_tiny_2025-05/sdn.csv").as_deref(),
            Some("2025-05-01")
        );
        assert_eq!(date_in_path("x/sdn.csv"), None);
        // Paths that are not ASCII (the fuzz targets' crashes: a window cut a character).
        assert_eq!(
            date_in_path("listes/été/sdn_2021-07-07/sdn.csv").as_deref(),
            Some("2021-07-07")
        );
        assert_eq!(
            date_in_path("\u{fffd}\u{fffd}2025-05\u{fffd}").as_deref(),
            Some("2025-05-01")
        );
        assert_eq!(date_in_path("é€😀ü"), None);
        for cut in ["a€b", "2021-0€-07", "\u{fffd}1234-5"] {
            assert_eq!(date_in_path(cut), None, "{cut:?}");
        }
    }

    #[test]
    fn csl_source_codes() {
        assert_eq!(
            csl_source("Entity List (EL) - Bureau of Industry and Security"),
            ListSource::EntityList
        );
        assert_eq!(
            csl_source("AECA Debarred List (DTC) - State Department"),
            ListSource::ItarDebarred
        );
        assert_eq!(
            csl_source("Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department"),
            ListSource::MenuBased
        );
    }

    #[test]
    fn cp1252_fallback() {
        assert_eq!(decode_cp1252(b"CAF\xc9 \x93x\x94"), "CAFÉ “x”");
    }
}
