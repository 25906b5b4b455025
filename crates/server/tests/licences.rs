//! Licences drawn down by shipments over loopback (issue 11, item 5 and its bar): 100
//! concurrent shipments against one licence, through two server instances on one database,
//! never overdraw it; shipments outside a licence's dates, items, destination or parties are
//! blocked with their reason and recorded; another organisation's licence is not found. On
//! SQLite and PostgreSQL.

mod common;

use serde_json::{json, Value};
use stackport_identity::{OrgKind, Role};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_shipments_never_overdraw_a_licence() {
    for_each_backend(|db| async move {
        // Two instances on one database, sharing the data directory (and so the ledger key).
        let data = tempfile::tempdir().unwrap();
        let config = || ServerConfig { data_dir: data.path().to_path_buf(), bundled_lists: None, rulebook_dir: None };
        let ctx_a = ServerContext::new(db.open().await, config()).await.expect("instance A");
        let ctx_b = ServerContext::new(db.open().await, config()).await.expect("instance B");
        let exporter = common::token_for(&ctx_a, OrgKind::Exporter, Role::ComplianceOfficer).await;
        let rival = common::token_for(&ctx_a, OrgKind::Exporter, Role::ComplianceOfficer).await;
        let auditor = common::token_for(&ctx_a, OrgKind::Auditor, Role::Auditor).await;
        let admin = common::admin_token(&ctx_a).await;
        let a = common::serve(ctx_a).await;
        let b = common::serve(ctx_b).await;
        let c = common::client(&exporter);

        let r = c
            .post(format!("{a}/v1/licences"))
            .json(&json!({
                "number": "D1234567", "kind": "licence", "eccns": ["3A090.a", "4A090.a"],
                "destination": "ae", "parties": ["Gulf Compute LLC"],
                "valid_from": "2026-01-01", "valid_to": "2027-12-31",
                "value_limit_usd": 1_000_000.0, "quantity_limit": 1000
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        let licence: Value = r.json().await.unwrap();
        let id = licence["id"].as_str().unwrap().to_string();
        assert_eq!(licence["destination"], "AE");
        let again = c
            .post(format!("{a}/v1/licences"))
            .json(&json!({"number": "D1234567", "kind": "licence", "eccns": ["3A090.a"], "destination": "AE",
                "valid_from": "2026-01-01", "valid_to": "2027-12-31"}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 409, "one number per organisation");

        // 100 shipments of $15,000 at once, half through each instance: 66 fit in $1,000,000.
        let shipment = |party: &str| json!({"eccn": "3A090.a", "destination": "AE", "party": party,
            "value_usd": 15_000.0, "quantity": 1, "ship_date": "2026-12-08"});
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let c = c.clone();
                let base = if i % 2 == 0 { a.clone() } else { b.clone() };
                let url = format!("{base}/v1/licences/{id}/shipments");
                // Party names as people write them.
                let body = shipment(if i % 3 == 0 { "GULF  compute llc" } else { "Gulf Compute LLC" });
                tokio::spawn(async move {
                    let r = c.post(url).json(&body).send().await.unwrap();
                    let s = r.status().as_u16();
                    (s, r.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut drawn = 0;
        let mut blocked = 0;
        for t in tasks {
            let (s, v) = t.await.unwrap();
            match s {
                201 => drawn += 1,
                409 => {
                    assert_eq!(v["error"]["code"], "licence_exhausted", "{v}");
                    blocked += 1;
                }
                other => panic!("{other}: {v}"),
            }
        }
        assert_eq!((drawn, blocked), (66, 34), "{}", db.label());
        let l: Value = c.get(format!("{b}/v1/licences/{id}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(l["value_used_usd"], 990_000.0);
        assert_eq!(l["value_remaining_usd"], 10_000.0);
        assert_eq!(l["quantity_used"], 66);
        assert!(l["warnings"].as_array().unwrap().iter().any(|w| w == "nearly_exhausted"), "{l}");
        let history: Value = c.get(format!("{a}/v1/licences/{id}/shipments")).send().await.unwrap().json().await.unwrap();
        let rows = history["shipments"].as_array().unwrap();
        assert_eq!(rows.len(), 100, "blocked shipments are recorded too");
        assert_eq!(rows.iter().filter(|s| s["outcome"] == "drawn").count(), 66);

        // Licence utilisation, as CSV.
        let csv = c.get(format!("{a}/v1/reports/licence_utilisation?format=csv")).send().await.unwrap().text().await.unwrap();
        let row = csv.lines().find(|l| l.contains("D1234567")).expect("the licence's row");
        assert!(row.contains(",1000000.00,990000.00,99.0,1000,66,nearly_exhausted"), "{row}");

        // What the licence does not cover is blocked with its reason, and recorded.
        for (body, code) in [
            (json!({"eccn": "3A090.a", "destination": "SA", "party": "Gulf Compute LLC", "value_usd": 1.0, "quantity": 1, "ship_date": "2026-12-08"}), "destination_not_covered"),
            (json!({"eccn": "5A002.a", "destination": "AE", "party": "Gulf Compute LLC", "value_usd": 1.0, "quantity": 1, "ship_date": "2026-12-08"}), "item_not_covered"),
            (json!({"eccn": "3A090.a", "destination": "AE", "party": "Someone Else", "value_usd": 1.0, "quantity": 1, "ship_date": "2026-12-08"}), "party_not_covered"),
            (json!({"eccn": "3A090.a", "destination": "AE", "party": "Gulf Compute LLC", "value_usd": 1.0, "quantity": 1, "ship_date": "2028-01-01"}), "licence_expired"),
        ] {
            let r = c.post(format!("{a}/v1/licences/{id}/shipments")).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 409);
            assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], code);
        }
        let history: Value = c.get(format!("{a}/v1/licences/{id}/shipments")).send().await.unwrap().json().await.unwrap();
        assert_eq!(history["shipments"].as_array().unwrap().len(), 104);

        // Every shipment is in the ledger with its outcome and actor.
        let last = history["shipments"].as_array().unwrap().last().unwrap().clone();
        let entry: Value = common::client(&admin)
            .get(format!("{a}/v1/ledger/entries/{}", last["ledger_index"]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(entry["entry"]["type"], "shipment");
        assert_eq!(entry["entry"]["outputs"]["reason"], "licence_expired");
        assert_eq!(entry["entry"]["inputs"]["shipment"], last["id"]);

        // Another exporter neither sees nor ships under it; an auditor sees it, ships nothing.
        let other = common::client(&rival);
        assert_eq!(other.get(format!("{a}/v1/licences/{id}")).send().await.unwrap().status(), 404);
        let r = other.post(format!("{a}/v1/licences/{id}/shipments")).json(&shipment("Gulf Compute LLC")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let listed: Value = other.get(format!("{a}/v1/licences")).send().await.unwrap().json().await.unwrap();
        assert!(listed["licences"].as_array().unwrap().is_empty());
        let aud = common::client(&auditor);
        assert_eq!(aud.get(format!("{b}/v1/licences/{id}")).send().await.unwrap().status(), 200);
        assert_eq!(aud.post(format!("{b}/v1/licences/{id}/shipments")).json(&shipment("Gulf Compute LLC")).send().await.unwrap().status(), 403);
    })
    .await;
}
