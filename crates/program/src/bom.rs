//! The package: a CycloneDX 1.6 JSON BOM with the `stackport:` property profile (proposals
//! README). Each component (and service) says its layer, its supplier (a member id), and for
//! hardware its site, quantity, unit value and US-origin share; chips give a catalog id or
//! their figures, models their training operations and whether the weights are published,
//! anything else the ECCN its exporter declares.
//!
//! The schema check is [`stackport_cyclonedx`]'s; this module checks the profile and reads
//! the components into typed values. Problems name the component's JSON path, its `bom-ref`
//! and the property.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use stackport_controls::item::{ChipSpec, ItemSpec, ModelSpec};

use crate::error::Problem;
use crate::model::{Checker, Layer};

/// The namespace of the profile's properties.
pub const NS: &str = "stackport:";

/// Every property of the profile.
pub const PROPERTIES: &[&str] = &[
    "stackport:layer",
    "stackport:supplier",
    "stackport:site",
    "stackport:quantity",
    "stackport:unit_value_usd",
    "stackport:us_content_percent",
    "stackport:catalog",
    "stackport:tpp",
    "stackport:die_area_mm2",
    "stackport:datacenter",
    "stackport:io_bandwidth_gbps",
    "stackport:dram_bandwidth_gbps",
    "stackport:training_operations",
    "stackport:published",
    "stackport:eccn",
    "stackport:specified_in",
];

/// Properties the review writes into the annotated BOM; an input may carry them (a reviewed
/// package submitted again) and they are then ignored.
pub const OUTPUT_PROPERTIES: &[&str] = &[
    "stackport:review:eccn",
    "stackport:review:classified_by",
    "stackport:review:determination",
    "stackport:review:citation",
    "stackport:review:location_verification",
    "stackport:review:proposal",
    "stackport:review:verdict",
    "stackport:review:date",
    "stackport:review:posture",
    "stackport:review:rulebook",
    "stackport:review:program_rules",
    "stackport:review:screening",
    "stackport:review:list_sha256",
];

/// A value in millionths (of a dollar, of a percent): exact sums and comparisons.
pub type Micro = u128;

/// How a component is classified.
#[derive(Debug, Clone)]
pub enum ItemClass {
    /// By the engine, from a catalog id or the chip's figures.
    Chip(Box<ItemSpec>),
    /// By the engine, from the model's facts.
    Model(ModelSpec),
    /// By the ECCN its exporter declares.
    Declared(String),
    /// Nothing to classify it by: flagged.
    Unclassified,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub bom_ref: String,
    pub name: String,
    /// The CycloneDX `type` (`device`, `application`, ...); `service` for services.
    pub kind: String,
    /// JSON path in the proposal (`package.components[3]`).
    pub path: String,
    pub layer: Layer,
    /// Member index.
    pub supplier: usize,
    /// Site index (hardware).
    pub site: Option<usize>,
    pub quantity: Option<u64>,
    pub unit_value: Option<Micro>,
    pub us_percent: Option<Micro>,
    pub class: ItemClass,
    /// The ECCN the exporter declares, also for items the engine classifies.
    pub declared_eccn: Option<String>,
    /// Manufacturer or supplier as the BOM names it (for the licence application's block 22(i)).
    pub manufacturer: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Package {
    pub components: Vec<Component>,
    pub serial_number: Option<String>,
}

/// Parses a non-negative decimal (`30000`, `50.9`, `0.125`) into millionths, exactly.
pub fn parse_micro(s: &str) -> Result<Micro, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("{s:?} is negative"));
    }
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "{s:?} is not a decimal number (digits, at most one '.')"
        ));
    }
    if frac.len() > 6 {
        return Err(format!("{s:?} has more than six decimal places"));
    }
    if int.len() > 18 {
        return Err(format!("{s:?} is too large"));
    }
    let i: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| format!("{s:?} is too large"))?
    };
    let mut f: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().expect("digits")
    };
    for _ in frac.len()..6 {
        f *= 10;
    }
    Ok(i * 1_000_000 + f)
}

/// Formats millionths as a decimal without trailing zeros.
pub fn format_micro(v: Micro) -> String {
    let i = v / 1_000_000;
    let f = v % 1_000_000;
    if f == 0 {
        i.to_string()
    } else {
        let s = format!("{f:06}");
        format!("{i}.{}", s.trim_end_matches('0'))
    }
}

struct Props<'a> {
    map: HashMap<&'a str, (&'a str, usize)>,
}

/// The official schema's violations of a document, as problems (path `package` + the JSON
/// pointer of the offending value).
pub fn schema_problems(doc: &Value) -> Vec<Problem> {
    let schema = match stackport_cyclonedx::Schema::embedded() {
        Ok(s) => s,
        Err(e) => return vec![Problem::at("package", "schema_unavailable", e.to_string())],
    };
    match schema.validate(doc) {
        Ok(()) => Vec::new(),
        Err(violations) => violations
            .into_iter()
            .map(|v| {
                Problem::at(
                    pointer_to_path("package", &v.instance_path),
                    "schema_violation",
                    v.message,
                )
            })
            .collect(),
    }
}

/// A JSON pointer (`/components/0/type`) as a path (`package.components[0].type`).
pub fn pointer_to_path(root: &str, pointer: &str) -> String {
    let mut out = root.to_string();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            out.push('.');
            out.push_str(&seg);
        }
    }
    out
}

/// A package on its own (`stackport package check`): the schema, then the profile. Member and
/// site ids are checked for presence only, since there is no proposal to resolve them in.
pub fn check_package(doc: &Value, rb: &stackport_controls::Rulebook) -> Vec<Problem> {
    let mut schema = schema_problems(doc);
    if !schema.is_empty() {
        for p in &mut schema {
            p.path = relative(&p.path);
        }
        return schema;
    }
    let mut ck = Checker {
        rb,
        problems: Vec::new(),
    };
    read_package(&mut ck, doc, None, None);
    for p in &mut ck.problems {
        p.path = relative(&p.path);
    }
    ck.problems
}

/// A path inside the proposal's package as a path inside the BOM itself (`$.components[0]`).
fn relative(path: &str) -> String {
    match path.strip_prefix("package") {
        Some(rest) => format!("${rest}"),
        None => path.to_string(),
    }
}

pub(crate) fn read_package(
    ck: &mut Checker,
    bom: &Value,
    members: Option<&HashMap<String, usize>>,
    sites: Option<&HashMap<String, usize>>,
) -> Option<Package> {
    let start = ck.problems.len();
    let Some(obj) = bom.as_object() else {
        ck.err(
            "package",
            "invalid_package",
            "the package must be a CycloneDX JSON object",
        );
        return None;
    };
    let mut pkg = Package {
        serial_number: obj
            .get("serialNumber")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Package::default()
    };
    let mut refs: HashSet<String> = HashSet::new();
    let mut stack: Vec<(String, &Value)> = Vec::new();
    for (key, path) in [
        ("components", "package.components"),
        ("services", "package.services"),
    ] {
        if let Some(Value::Array(list)) = obj.get(key) {
            for (i, c) in list.iter().enumerate().rev() {
                stack.push((format!("{path}[{i}]"), c));
            }
        }
    }
    // Depth first, in document order; nested components and services are components too.
    while let Some((path, c)) = stack.pop() {
        for key in ["components", "services"] {
            if let Some(Value::Array(list)) = c.get(key) {
                for (i, n) in list.iter().enumerate().rev() {
                    stack.push((format!("{path}.{key}[{i}]"), n));
                }
            }
        }
        if let Some(comp) = read_component(ck, &path, c, members, sites, &mut refs) {
            pkg.components.push(comp);
        }
    }
    if ck.problems.len() > start {
        None
    } else {
        Some(pkg)
    }
}

fn problem(
    ck: &mut Checker,
    path: &str,
    bom_ref: &str,
    property: Option<&str>,
    code: &'static str,
    message: String,
) {
    if ck.problems.len() < 200 {
        ck.problems.push(Problem {
            path: path.to_string(),
            bom_ref: Some(bom_ref.to_string()),
            property: property.map(str::to_string),
            code,
            message,
        });
    }
}

fn read_component(
    ck: &mut Checker,
    path: &str,
    c: &Value,
    members: Option<&HashMap<String, usize>>,
    sites: Option<&HashMap<String, usize>>,
    refs: &mut HashSet<String>,
) -> Option<Component> {
    let is_service = path
        .rsplit('.')
        .next()
        .is_some_and(|l| l.starts_with("services["));
    let bom_ref = match c.get("bom-ref").and_then(Value::as_str) {
        Some(r) if !r.trim().is_empty() => r.to_string(),
        _ => {
            ck.err(
                path,
                "missing_bom_ref",
                "every component of a package needs a `bom-ref` (the review names items by it)",
            );
            return None;
        }
    };
    if !refs.insert(bom_ref.clone()) {
        problem(
            ck,
            path,
            &bom_ref,
            None,
            "duplicate_bom_ref",
            format!("bom-ref {bom_ref:?} is used twice"),
        );
        return None;
    }
    let start = ck.problems.len();
    let mut props = Props {
        map: HashMap::new(),
    };
    if let Some(Value::Array(list)) = c.get("properties") {
        for (i, p) in list.iter().enumerate() {
            let (Some(name), Some(value)) = (
                p.get("name").and_then(Value::as_str),
                p.get("value").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !name.starts_with(NS) || OUTPUT_PROPERTIES.contains(&name) {
                continue;
            }
            if !PROPERTIES.contains(&name) {
                problem(
                    ck,
                    &format!("{path}.properties[{i}]"),
                    &bom_ref,
                    Some(name),
                    "unknown_property",
                    format!(
                        "{name:?} is not a property of the stackport profile ({})",
                        PROPERTIES.join(", ")
                    ),
                );
                continue;
            }
            if props.map.insert(name, (value, i)).is_some() {
                problem(
                    ck,
                    &format!("{path}.properties[{i}]"),
                    &bom_ref,
                    Some(name),
                    "duplicate_property",
                    format!("{name} is given twice"),
                );
            }
        }
    }
    let get = |n: &str| props.map.get(n).map(|(v, _)| *v);
    let ppath = |n: &str| match props.map.get(n) {
        Some((_, i)) => format!("{path}.properties[{i}]"),
        None => format!("{path}.properties"),
    };
    let layer = match get("stackport:layer") {
        None => {
            problem(ck, path, &bom_ref, Some("stackport:layer"), "missing_layer",
                "every component needs stackport:layer (hardware, data, models, security or applications)".into());
            None
        }
        Some(v) => match Layer::parse(v) {
            Some(l) => Some(l),
            None => {
                problem(
                    ck,
                    &ppath("stackport:layer"),
                    &bom_ref,
                    Some("stackport:layer"),
                    "unknown_layer",
                    format!("{v:?} is not one of hardware, data, models, security, applications"),
                );
                None
            }
        },
    };
    let supplier = match get("stackport:supplier") {
        None => {
            problem(
                ck,
                path,
                &bom_ref,
                Some("stackport:supplier"),
                "missing_supplier",
                "every component needs stackport:supplier (the id of the member that supplies it)"
                    .into(),
            );
            None
        }
        Some(v) => match members.map_or(Some(&0), |m| m.get(v)) {
            Some(i) => Some(*i),
            None => {
                problem(
                    ck,
                    &ppath("stackport:supplier"),
                    &bom_ref,
                    Some("stackport:supplier"),
                    "unknown_member",
                    format!("{v:?} is not the id of a consortium member"),
                );
                None
            }
        },
    };
    let hardware = layer == Some(Layer::Hardware);
    let mut site = None;
    let mut quantity = None;
    let mut unit_value = None;
    let mut us_percent = None;
    for name in [
        "stackport:site",
        "stackport:quantity",
        "stackport:unit_value_usd",
        "stackport:us_content_percent",
    ] {
        let v = get(name);
        if !hardware {
            if v.is_some() && layer.is_some() {
                problem(
                    ck,
                    &ppath(name),
                    &bom_ref,
                    Some(name),
                    "hardware_only_property",
                    format!(
                        "{name} is for hardware components; this one's layer is {}",
                        layer.map(Layer::as_str).unwrap_or("")
                    ),
                );
            }
            continue;
        }
        let Some(v) = v else {
            // A hardware-layer service (cloud capacity) has no site or unit count of its own:
            // it goes to every end user, and counts in US content only when valued.
            if !is_service {
                problem(
                    ck,
                    path,
                    &bom_ref,
                    Some(name),
                    "missing_property",
                    format!("a hardware component needs {name}"),
                );
            }
            continue;
        };
        let at = ppath(name);
        match name {
            "stackport:site" => match sites.map_or(Some(&0), |m| m.get(v)) {
                Some(i) => site = Some(*i),
                None => problem(
                    ck,
                    &at,
                    &bom_ref,
                    Some(name),
                    "unknown_site",
                    format!("{v:?} is not the id of a site"),
                ),
            },
            "stackport:quantity" => match v.trim().parse::<u64>() {
                Ok(q) if q <= 1_000_000_000_000 => quantity = Some(q),
                _ => problem(
                    ck,
                    &at,
                    &bom_ref,
                    Some(name),
                    "invalid_quantity",
                    format!("{v:?} is not a whole number of units from 0 to 10^12"),
                ),
            },
            "stackport:unit_value_usd" => match parse_micro(v) {
                Ok(x) if x <= 1_000_000_000_000 * 1_000_000 => unit_value = Some(x),
                Ok(_) => problem(
                    ck,
                    &at,
                    &bom_ref,
                    Some(name),
                    "invalid_value",
                    format!("{v:?} is more than 10^12 USD a unit"),
                ),
                Err(e) => problem(
                    ck,
                    &at,
                    &bom_ref,
                    Some(name),
                    if v.trim().starts_with('-') {
                        "negative_value"
                    } else {
                        "invalid_value"
                    },
                    e,
                ),
            },
            _ => match parse_micro(v) {
                Ok(x) if x <= 100_000_000 => us_percent = Some(x),
                Ok(_) => problem(
                    ck,
                    &at,
                    &bom_ref,
                    Some(name),
                    "invalid_share",
                    format!("{v:?} is more than 100%"),
                ),
                Err(e) => problem(
                    ck,
                    &at,
                    &bom_ref,
                    Some(name),
                    if v.trim().starts_with('-') {
                        "negative_value"
                    } else {
                        "invalid_value"
                    },
                    e,
                ),
            },
        }
    }

    let num = |ck: &mut Checker, name: &str| -> Option<f64> {
        let v = get(name)?;
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Some(x),
            Ok(x) if x < 0.0 => {
                problem(
                    ck,
                    &ppath(name),
                    &bom_ref,
                    Some(name),
                    "negative_value",
                    format!("{v:?} is negative"),
                );
                None
            }
            _ => {
                problem(
                    ck,
                    &ppath(name),
                    &bom_ref,
                    Some(name),
                    "invalid_value",
                    format!("{v:?} is not a number"),
                );
                None
            }
        }
    };
    let flag = |ck: &mut Checker, name: &str| -> Option<bool> {
        let v = get(name)?;
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => {
                problem(
                    ck,
                    &ppath(name),
                    &bom_ref,
                    Some(name),
                    "invalid_value",
                    format!("{v:?} is neither \"true\" nor \"false\""),
                );
                None
            }
        }
    };
    let declared_eccn = match get("stackport:eccn") {
        Some(v) => match stackport_controls::engine::normalize_eccn(v) {
            Some(e) => Some(e),
            None => {
                problem(
                    ck,
                    &ppath("stackport:eccn"),
                    &bom_ref,
                    Some("stackport:eccn"),
                    "invalid_eccn",
                    format!("{v:?} is not an ECCN (EAR99, or as 5D992.c)"),
                );
                None
            }
        },
        None => None,
    };
    let kind = if is_service {
        "service".to_string()
    } else {
        c.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let chip_given = [
        "stackport:tpp",
        "stackport:die_area_mm2",
        "stackport:datacenter",
        "stackport:io_bandwidth_gbps",
        "stackport:dram_bandwidth_gbps",
    ]
    .iter()
    .any(|n| get(n).is_some());
    let model_given =
        get("stackport:training_operations").is_some() || get("stackport:published").is_some();
    let specified_in = get("stackport:specified_in").map(|s| s.trim().to_string());
    let class = if let Some(cat) = get("stackport:catalog") {
        let id = cat.trim().to_ascii_lowercase();
        if ck.rb.catalog_entry(&id).is_none() {
            problem(
                ck,
                &ppath("stackport:catalog"),
                &bom_ref,
                Some("stackport:catalog"),
                "unknown_catalog_item",
                format!("{cat:?} is not an id of the rulebook's chip catalog"),
            );
        }
        if chip_given {
            problem(
                ck,
                &ppath("stackport:catalog"),
                &bom_ref,
                Some("stackport:catalog"),
                "ambiguous_item",
                "give either stackport:catalog or the chip's figures, not both".into(),
            );
        }
        ItemClass::Chip(Box::new(ItemSpec {
            catalog: Some(id),
            ..ItemSpec::default()
        }))
    } else if chip_given {
        let spec = ChipSpec {
            tpp: num(ck, "stackport:tpp"),
            die_area_mm2: num(ck, "stackport:die_area_mm2"),
            datacenter: flag(ck, "stackport:datacenter"),
            io_bandwidth_gbps: num(ck, "stackport:io_bandwidth_gbps"),
            dram_bandwidth_gbps: num(ck, "stackport:dram_bandwidth_gbps"),
            specified_in: specified_in.clone(),
            ..ChipSpec::default()
        };
        ItemClass::Chip(Box::new(ItemSpec {
            chip: Some(spec),
            ..ItemSpec::default()
        }))
    } else if model_given || (kind == "machine-learning-model" && declared_eccn.is_none()) {
        ItemClass::Model(ModelSpec {
            training_operations: num(ck, "stackport:training_operations"),
            published: flag(ck, "stackport:published"),
        })
    } else if let Some(e) = &declared_eccn {
        ItemClass::Declared(e.clone())
    } else {
        ItemClass::Unclassified
    };
    if let ItemClass::Chip(spec) = &class {
        if !hardware && layer.is_some() {
            problem(
                ck,
                path,
                &bom_ref,
                Some("stackport:layer"),
                "chip_not_hardware",
                "a chip (catalog id or chip figures) belongs to the hardware layer".into(),
            );
        }
        let _ = spec;
    }
    if ck.problems.len() > start {
        return None;
    }
    let manufacturer = c
        .get("manufacturer")
        .or_else(|| c.get("supplier"))
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Component {
        name: c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&bom_ref)
            .to_string(),
        version: c.get("version").and_then(Value::as_str).map(str::to_string),
        bom_ref,
        kind,
        path: path.to_string(),
        layer: layer.expect("checked"),
        supplier: supplier.expect("checked"),
        site,
        quantity,
        unit_value,
        us_percent,
        class,
        declared_eccn,
        manufacturer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_micro("30000").unwrap(), 30_000_000_000);
        assert_eq!(parse_micro("50.9").unwrap(), 50_900_000);
        assert_eq!(parse_micro(".5").unwrap(), 500_000);
        assert_eq!(parse_micro("0.000001").unwrap(), 1);
        assert!(parse_micro("0.0000001").is_err());
        assert!(parse_micro("-1").unwrap_err().contains("negative"));
        assert!(parse_micro("1e3").is_err());
        assert!(parse_micro("").is_err());
        assert!(parse_micro("1.2.3").is_err());
        assert_eq!(format_micro(50_900_000), "50.9");
        assert_eq!(format_micro(30_000_000_000), "30000");
    }
}
