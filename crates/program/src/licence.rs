//! Licence application drafts shaped like Form BIS-748P (Multipurpose Application), one per
//! (destination, end user) whose items need a licence. Only the blocks whose content the
//! proposal supplies are filled: the applicant (block 14), the ultimate consignee and end user
//! (blocks 18 and 19), the specific end use (block 21), and per item the ECCN, quantity,
//! units, unit and total price, manufacturer and description (block 22 (a), (e)-(j)), the
//! application's total value (block 23) and additional information (block 24). A draft is
//! prepared for the applicant's licensing officer; Stackport never submits it (applications go
//! through SNAP-R, 15 CFR 748.1(d)).

use serde::Serialize;

use crate::bom::ItemClass;
use crate::model::{Layer, Proposal, Role};
use crate::review::ItemResult;

#[derive(Debug, Clone, Serialize)]
pub struct DraftParty {
    pub name: String,
    pub country: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftItem {
    /// Block 22(a).
    pub eccn: String,
    /// Block 22(e).
    pub quantity: u64,
    /// Block 22(f).
    pub units: &'static str,
    /// Block 22(g), USD.
    pub unit_price_usd: Option<f64>,
    /// Block 22(h), USD.
    pub total_price_usd: Option<f64>,
    /// Block 22(i).
    pub manufacturer: String,
    /// Block 22(j).
    pub description: String,
    pub component: String,
    pub review_policy: Option<String>,
    pub citations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LicenceDraft {
    /// `draft`: prepared, never submitted.
    pub status: &'static str,
    pub form: &'static str,
    pub destination: String,
    pub end_user_id: String,
    /// Block 5.
    pub application_type: &'static str,
    /// Block 14.
    pub applicant: DraftParty,
    /// Block 18.
    pub ultimate_consignee: DraftParty,
    /// Block 19.
    pub end_user: DraftParty,
    /// Block 21.
    pub specific_end_use: String,
    /// Block 22.
    pub items: Vec<DraftItem>,
    /// Block 23, USD.
    pub total_value_usd: f64,
    /// Block 24.
    pub additional_information: String,
}

/// The drafts for a reviewed proposal's items.
pub fn drafts(p: &Proposal, items: &[ItemResult]) -> Vec<LicenceDraft> {
    let anchor = p
        .members
        .iter()
        .find(|m| m.role == Role::Anchor)
        .unwrap_or(&p.members[0]);
    let mut out: Vec<LicenceDraft> = Vec::new();
    for it in items.iter().filter(|i| i.outcome == "license_required") {
        let Some(eu) = p.end_users.iter().find(|e| e.id == it.end_user) else {
            continue;
        };
        let Some(c) = p
            .package
            .components
            .iter()
            .find(|c| c.bom_ref == it.component)
        else {
            continue;
        };
        let idx = match out
            .iter()
            .position(|d| d.destination == it.destination && d.end_user_id == it.end_user)
        {
            Some(i) => i,
            None => {
                let sites: Vec<String> = p
                    .sites
                    .iter()
                    .filter(|s| p.end_users[s.end_user].id == eu.id)
                    .map(|s| format!("{} ({}, {:.4}, {:.4})", s.name, s.country, s.lat, s.lon))
                    .collect();
                out.push(LicenceDraft {
                    status: "draft",
                    form: "BIS-748P",
                    destination: it.destination.clone(),
                    end_user_id: eu.id.clone(),
                    application_type: "export",
                    applicant: DraftParty {
                        name: anchor.name.clone(),
                        country: anchor.country.clone(),
                    },
                    ultimate_consignee: DraftParty {
                        name: eu.name.clone(),
                        country: eu.country.clone(),
                    },
                    end_user: DraftParty {
                        name: eu.name.clone(),
                        country: eu.country.clone(),
                    },
                    specific_end_use: format!(
                        "Full-stack AI deployment under the American AI Exports Program (proposal {}, consortium {}){}{}",
                        p.id,
                        p.consortium,
                        if eu.end_use.is_empty() {
                            String::new()
                        } else {
                            format!("; declared end uses: {}", eu.end_use.join(", "))
                        },
                        if sites.is_empty() {
                            String::new()
                        } else {
                            format!("; installed at {}", sites.join("; "))
                        }
                    ),
                    items: Vec::new(),
                    total_value_usd: 0.0,
                    additional_information: format!(
                        "Prepared by Stackport from proposal {} for the export date {} (posture {}). Not submitted.",
                        p.id,
                        p.date,
                        p.posture.as_str()
                    ),
                });
                out.len() - 1
            }
        };
        let hardware = c.layer == Layer::Hardware;
        let quantity = if hardware { c.quantity.unwrap_or(0) } else { 1 };
        let unit = c.unit_value.map(|v| v as f64 / 1e6);
        let total = unit.map(|u| u * quantity as f64);
        let d = &mut out[idx];
        d.total_value_usd += total.unwrap_or(0.0);
        d.items.push(DraftItem {
            eccn: it.eccn.clone().unwrap_or_else(|| "unclassified".into()),
            quantity,
            units: match (&c.class, hardware) {
                (_, true) => "each",
                (ItemClass::Model(_), _) => "software (model weights)",
                _ => "software / technology",
            },
            unit_price_usd: unit,
            total_price_usd: total,
            manufacturer: c
                .manufacturer
                .clone()
                .unwrap_or_else(|| p.members[c.supplier].name.clone()),
            description: match &c.version {
                Some(v) => format!("{} {v}", c.name),
                None => c.name.clone(),
            },
            component: c.bom_ref.clone(),
            review_policy: it.review_policy.clone(),
            citations: it.citations.clone(),
        });
    }
    out
}

/// The drafts as CSV: one row per item, the draft's blocks repeated on each row.
pub fn to_csv(drafts: &[LicenceDraft]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "form",
        "status",
        "destination",
        "end_user_id",
        "block14_applicant",
        "block14_applicant_country",
        "block18_ultimate_consignee",
        "block18_country",
        "block19_end_user",
        "block19_country",
        "block21_specific_end_use",
        "component",
        "block22a_eccn",
        "block22e_quantity",
        "block22f_units",
        "block22g_unit_price_usd",
        "block22h_total_price_usd",
        "block22i_manufacturer",
        "block22j_description",
        "review_policy",
        "citations",
        "block23_total_value_usd",
    ])
    .expect("writing to memory");
    let f = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
    for d in drafts {
        for i in &d.items {
            w.write_record([
                d.form,
                d.status,
                &d.destination,
                &d.end_user_id,
                &d.applicant.name,
                &d.applicant.country,
                &d.ultimate_consignee.name,
                &d.ultimate_consignee.country,
                &d.end_user.name,
                &d.end_user.country,
                &d.specific_end_use,
                &i.component,
                &i.eccn,
                &i.quantity.to_string(),
                i.units,
                &f(i.unit_price_usd),
                &f(i.total_price_usd),
                &i.manufacturer,
                &i.description,
                i.review_policy.as_deref().unwrap_or(""),
                &i.citations.join("; "),
                &format!("{:.2}", d.total_value_usd),
            ])
            .expect("writing to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV of UTF-8 fields")
}
