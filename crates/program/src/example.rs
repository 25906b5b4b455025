//! The example proposal of `stackport proposal new` and the README's walk-through
//! (`examples/proposal.json` in the repository): a five-layer package for Saudi Arabia and the
//! United Arab Emirates with H200 servers, storage and networking, a labelling pipeline from a
//! Kenyan member, an open-weight and a proprietary model, security software and a clinical
//! application, with the EXIM, DFC and USTDA support it asks for. The parties are invented.

/// The example as JSON text.
pub fn proposal_json() -> &'static str {
    include_str!("../../../examples/proposal.json")
}

/// The size of a [`synthetic`] proposal.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub components: usize,
    pub sites: usize,
    pub end_users: usize,
    /// Members, owners and end users together (at least `end_users` + 5).
    pub parties: usize,
}

/// A deterministic, valid proposal of the given size for benchmarks and load tests: members
/// supplying all five layers with owners, end users in 20 partner countries with a site each
/// (more sites go round the end users), about 60% hardware (catalog chips, chips given by
/// figures, declared servers, storage and networking) and the rest data, models, security
/// and applications with declared ECCNs. Names are invented and vary with `seed`.
pub fn synthetic(seed: u64, size: Size) -> serde_json::Value {
    use serde_json::json;
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    const COUNTRIES: [&str; 20] = [
        "FR", "DE", "JP", "KR", "GB", "IN", "BR", "QA", "AE", "SA", "EG", "KE", "NG", "ID", "VN",
        "PL", "MX", "CL", "ZA", "TH",
    ];
    const WORDS: [&str; 24] = [
        "Granite", "Harbor", "Summit", "Cedar", "Falcon", "Meridian", "Aurora", "Beacon", "Cobalt",
        "Delta", "Ember", "Fjord", "Glacier", "Horizon", "Iris", "Juniper", "Kestrel", "Lumen",
        "Mesa", "Nimbus", "Onyx", "Prairie", "Quartz", "Ridge",
    ];
    const KINDS: [&str; 6] = ["Systems", "Analytics", "Labs", "Networks", "Cloud", "Data"];
    let mut name = |suffix: &str| {
        format!(
            "{} {} {} {}",
            WORDS[next() % WORDS.len()],
            WORDS[next() % WORDS.len()],
            KINDS[next() % KINDS.len()],
            suffix
        )
    };
    let end_users = size.end_users.max(1);
    let members_n = ((size.parties.saturating_sub(end_users)) / 6).max(5);
    let owners_total = size.parties.saturating_sub(end_users + members_n);
    let layers = ["hardware", "data", "models", "security", "applications"];
    let members: Vec<serde_json::Value> = (0..members_n)
        .map(|i| {
            let k = owners_total / members_n + usize::from(i < owners_total % members_n);
            let owners: Vec<serde_json::Value> = (0..k)
                .map(|_| json!({"name": name("Holdings Ltd"), "country": "US", "percent": 90.0 / k.max(1) as f64}))
                .collect();
            json!({
                "id": format!("m{}", i + 1),
                "name": name("Inc."),
                "role": if i == 0 { "anchor" } else { "member" },
                "country": "US", "hq_country": "US",
                "owners": owners,
                "layers": [layers[i % 5]],
            })
        })
        .collect();
    let eus: Vec<serde_json::Value> = (0..end_users)
        .map(|i| {
            let c = COUNTRIES[i % COUNTRIES.len()];
            json!({"id": format!("e{}", i + 1), "name": name("S.A."), "country": c, "hq_country": c, "end_use": []})
        })
        .collect();
    let sites_n = size.sites.max(1);
    let sites: Vec<serde_json::Value> = (0..sites_n)
        .map(|i| {
            let e = i % end_users;
            json!({"id": format!("s{}", i + 1), "name": format!("Site {}", i + 1),
                   "country": COUNTRIES[e % COUNTRIES.len()],
                   "lat": -40.0 + (next() % 8000) as f64 / 100.0,
                   "lon": -170.0 + (next() % 34000) as f64 / 100.0,
                   "operator": "m1", "end_user": format!("e{}", e + 1)})
        })
        .collect();
    const CATALOG: [&str; 6] = [
        "nvidia-h100-sxm",
        "nvidia-h200",
        "nvidia-h20",
        "nvidia-b200",
        "amd-mi300x",
        "nvidia-l40s",
    ];
    const DECLARED_HW: [&str; 4] = ["5A992.c", "4A994.l", "EAR99", "5A002.a"];
    const DECLARED_SW: [&str; 5] = ["EAR99", "5D992.c", "EAR99", "5D002.c.1", "EAR99"];
    let p = |n: &str, v: String| json!({"name": format!("stackport:{n}"), "value": v});
    let supplier_of = |layer: usize| format!("m{}", 1 + (layer % members_n.min(5)));
    let components: Vec<serde_json::Value> = (0..size.components)
        .map(|i| {
            let layer = if i < 5 { i } else if next() % 10 < 6 { 0 } else { 1 + next() % 4 };
            let mut props = vec![p("layer", layers[layer].into()), p("supplier", supplier_of(layer))];
            let kind;
            if layer == 0 {
                kind = "device";
                props.push(p("site", format!("s{}", 1 + next() % sites_n)));
                props.push(p("quantity", (1 + next() % 500).to_string()));
                props.push(p("unit_value_usd", (1000 + next() % 40000).to_string()));
                props.push(p("us_content_percent", (55 + next() % 45).to_string()));
                match next() % 3 {
                    0 => props.push(p("catalog", CATALOG[next() % CATALOG.len()].into())),
                    1 => {
                        props.push(p("tpp", (500 * (1 + next() % 40)).to_string()));
                        props.push(p("die_area_mm2", (200 + 50 * (next() % 13)).to_string()));
                        props.push(p("datacenter", "true".into()));
                    }
                    _ => props.push(p("eccn", DECLARED_HW[next() % DECLARED_HW.len()].into())),
                }
            } else if layer == 2 && next() % 2 == 0 {
                kind = "machine-learning-model";
                props.push(p("training_operations", format!("{}e2{}", 1 + next() % 9, 3 + next() % 4)));
                props.push(p("published", (next() % 2 == 0).to_string()));
            } else {
                kind = "application";
                props.push(p("eccn", DECLARED_SW[next() % DECLARED_SW.len()].into()));
            }
            json!({"bom-ref": format!("c{}", i + 1), "type": kind, "name": format!("Component {}", i + 1), "properties": props})
        })
        .collect();
    json!({
        "id": format!("SYN-{seed}"),
        "date": "2026-09-15",
        "consortium": {"name": format!("Synthetic consortium {seed}"), "members": members},
        "package": {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components},
        "targets": COUNTRIES[..end_users.min(COUNTRIES.len())],
        "end_users": eus,
        "sites": sites,
        "federal_support": [{"instrument": "loan_guarantee", "agency": "EXIM", "amount_usd": 100000000}],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_is_a_valid_json_proposal() {
        let v: serde_json::Value = serde_json::from_str(super::proposal_json()).unwrap();
        assert_eq!(v["package"]["specVersion"], "1.6");
    }
}
