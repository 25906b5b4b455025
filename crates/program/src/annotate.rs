//! The reviewed package written back out as CycloneDX 1.6, so that the review flows on into the
//! SBOM tools exporters already run. Each reviewed component gains `stackport:review:*`
//! properties (CycloneDX property values are strings): its ECCN and how it was classified,
//! one determination per end user (`e1 SA license_required presumption_of_approval`), every
//! citation, and its location-verification duty. The BOM's metadata gains the verdict, the
//! proposal id and the rule and list versions used. Everything else of the submitted BOM is
//! kept as it was; properties of an earlier review are replaced.

use serde_json::{json, Map, Value};

use crate::bom::OUTPUT_PROPERTIES;
use crate::model::Proposal;
use crate::review::Review;

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

/// The annotations of one component.
fn component_properties(bom_ref: &str, review: &Review) -> Vec<Value> {
    let mut out = Vec::new();
    let items: Vec<_> = review
        .items
        .iter()
        .filter(|i| i.component == bom_ref)
        .collect();
    if let Some(first) = items.first() {
        out.push(prop(
            "stackport:review:eccn",
            first
                .eccn
                .clone()
                .unwrap_or_else(|| "not subject to the EAR".into()),
        ));
        out.push(prop("stackport:review:classified_by", first.classified_by));
    }
    for i in &items {
        let mut d = format!("{} {} {}", i.end_user, i.destination, i.outcome);
        if let Some(x) = &i.exception {
            d.push_str(&format!(" {x}"));
        }
        if let Some(p) = &i.review_policy {
            d.push_str(&format!(" {p}"));
        }
        out.push(prop("stackport:review:determination", d));
    }
    let mut cites: Vec<&str> = Vec::new();
    for i in &items {
        for c in &i.citations {
            if !cites.contains(&c.as_str()) {
                cites.push(c);
            }
        }
    }
    for c in cites {
        out.push(prop("stackport:review:citation", c));
    }
    if let Some(u) = review.unclassified.iter().find(|u| u.component == bom_ref) {
        out.push(prop("stackport:review:eccn", "unclassified"));
        out.push(prop("stackport:review:determination", u.reason.clone()));
    }
    if let Some(l) = review
        .location_verification
        .iter()
        .find(|l| l.component == bom_ref)
    {
        out.push(prop(
            "stackport:review:location_verification",
            if l.required {
                format!("required at {}", l.site)
            } else {
                "not required".to_string()
            },
        ));
    }
    out
}

/// The object's `properties`, created when absent, without the properties of an earlier
/// review; `None` when `properties` is not an array.
fn fresh_properties(obj: &mut Map<String, Value>) -> Option<&mut Vec<Value>> {
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Array(Vec::new()));
    let p = props.as_array_mut()?;
    p.retain(|x| {
        !x.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| OUTPUT_PROPERTIES.contains(&n) || n.starts_with("stackport:review:"))
    });
    Some(p)
}

fn annotate_list(list: &mut [Value], review: &Review) {
    for c in list.iter_mut() {
        let Some(obj) = c.as_object_mut() else {
            continue;
        };
        for key in ["components", "services"] {
            if let Some(Value::Array(inner)) = obj.get_mut(key) {
                annotate_list(inner, review);
            }
        }
        let Some(bom_ref) = obj
            .get("bom-ref")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        let add = component_properties(&bom_ref, review);
        if let Some(p) = fresh_properties(obj) {
            p.extend(add);
        }
    }
}

/// The submitted package with the review attached.
pub fn annotated_bom(proposal: &Proposal, review: &Review) -> Value {
    let mut bom = proposal.input.package.clone();
    let Some(root) = bom.as_object_mut() else {
        return bom;
    };
    for key in ["components", "services"] {
        if let Some(Value::Array(list)) = root.get_mut(key) {
            annotate_list(list, review);
        }
    }
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(p) = meta.as_object_mut().and_then(fresh_properties) {
        p.push(prop("stackport:review:proposal", review.id.clone()));
        p.push(prop("stackport:review:verdict", review.verdict.as_str()));
        p.push(prop("stackport:review:date", review.date.clone()));
        p.push(prop("stackport:review:posture", review.posture));
        p.push(prop(
            "stackport:review:rulebook",
            review.versions.rulebook.clone(),
        ));
        p.push(prop(
            "stackport:review:program_rules",
            review.versions.program_rules.clone(),
        ));
        p.push(prop(
            "stackport:review:screening",
            review.versions.screening_algorithm,
        ));
        for h in &review.versions.list_hashes {
            p.push(prop("stackport:review:list_sha256", h.clone()));
        }
    }
    bom
}
