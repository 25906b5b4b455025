//! The proposal workflow over loopback (issue 11, item 3): a consortium's draft submitted,
//! Commerce's review consulting two agencies, their opinions, four eyes on the decision, an
//! objection answered, the designated package in the catalogue, every step in the history and
//! in the ledger with its actor; who may see and do what along the way. On SQLite and
//! PostgreSQL.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use stackport_identity::{OrgKind, Role};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

fn sample() -> String {
    sample_named("S01")
}

fn sample_named(id: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/proposals");
    std::fs::read_to_string(dir.join(format!("{id}.json"))).expect("sample proposal")
}

struct Actor {
    c: reqwest::Client,
    org: String,
    user: String,
}

async fn actor(ctx: &ServerContext, kind: OrgKind, role: Role) -> Actor {
    let token = common::token_for(ctx, kind, role).await;
    let c = common::client(&token);
    let (org, user) = {
        let creds = ctx
            .identity
            .authenticate(&token, stackport_store::timestamp::now_micros())
            .await
            .expect("token");
        (creds.0.org, creds.0.user)
    };
    Actor { c, org, user }
}

/// A new user of `org` with `role`, made by the platform's admin, and its token.
async fn colleague(
    admin: &reqwest::Client,
    base: &str,
    org: &str,
    email: &str,
    role: &str,
) -> Actor {
    let r = admin
        .post(format!("{base}/v1/orgs/{org}/users"))
        .json(&json!({"email": email, "name": "A Colleague", "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();
    let r = admin
        .post(format!("{base}/v1/tokens"))
        .json(&json!({"label": role, "user_id": user["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: Value = r.json().await.unwrap();
    Actor {
        c: common::client(token["token"].as_str().unwrap()),
        org: org.to_string(),
        user: user["id"].as_str().unwrap().to_string(),
    }
}

async fn post(a: &Actor, url: String, body: Value) -> (u16, Value) {
    let r = a.c.post(url).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(a: &Actor, url: String) -> (u16, Value) {
    let r = a.c.get(url).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_goes_from_draft_to_the_catalogue_with_every_step_ledgered() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let data = tempfile::tempdir().unwrap();
        let ctx = ServerContext::new(
            store,
            ServerConfig {
                data_dir: data.path().to_path_buf(),
                bundled_lists: Some(lists_dir()),
                rulebook_dir: None,
            },
        )
        .await
        .expect("context");
        let officer = actor(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await;
        let rival = actor(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await;
        let reviewer = actor(&ctx, OrgKind::Commerce, Role::Reviewer).await;
        // The approver works at Commerce too, in the same organisation as the reviewer: made
        // through the API below. Agencies: State and Energy consulted, War not.
        let state = actor(&ctx, OrgKind::Agency, Role::Reviewer).await;
        let energy = actor(&ctx, OrgKind::Agency, Role::Approver).await;
        let war = actor(&ctx, OrgKind::Agency, Role::Reviewer).await;
        let lender = actor(&ctx, OrgKind::Lender, Role::LenderOfficer).await;
        let auditor = actor(&ctx, OrgKind::Auditor, Role::Auditor).await;
        let admin = common::client(&common::admin_token(&ctx).await);
        let base = common::serve(ctx).await;

        // An approver in the reviewer's Commerce organisation, with a token of its own.
        let approver = colleague(&admin, &base, &reviewer.org, "approver@commerce.example", "approver").await;

        // A draft, then submitted.
        let r = officer
            .c
            .post(format!("{base}/v1/proposals?draft=true"))
            .header("content-type", "application/json")
            .body(sample())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let (_, p) = get(&officer, format!("{base}/v1/proposals/S01")).await;
        assert_eq!(p["status"], "draft");
        let step = |who: &'static str| format!("{base}/v1/proposals/S01/{who}");
        // Commerce cannot open a review of a draft; the consortium submits it.
        let agencies = json!({"agencies": [state.org, energy.org], "reason": "full-stack package, consult State and Energy"});
        let (s, e) = post(&reviewer, step("consultation"), agencies.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("invalid_transition")), "{e}");
        let (s, e) = post(&rival, step("submit"), json!({})).await;
        assert_eq!(s, 404, "another consortium's proposal is not found: {e}");
        let (s, e) = post(&officer, step("submit"), json!({})).await;
        assert_eq!((s, e["to"].as_str()), (200, Some("submitted")), "{e}");

        // Commerce opens the review; only agencies may be consulted; agencies see only what
        // they are consulted on.
        let (s, e) = post(&reviewer, step("consultation"), json!({"agencies": [lender.org], "reason": "x"})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("not_an_agency")), "{e}");
        let (s, e) = post(&officer, step("consultation"), agencies.clone()).await;
        assert_eq!(s, 403, "a consortium does not open Commerce's review: {e}");
        assert_eq!(get(&state, format!("{base}/v1/proposals/S01")).await.0, 404);
        let (s, e) = post(&reviewer, step("consultation"), agencies.clone()).await;
        assert_eq!((s, e["to"].as_str()), (200, Some("under_review")), "{e}");
        assert_eq!(get(&state, format!("{base}/v1/proposals/S01")).await.0, 200);
        assert_eq!(get(&war, format!("{base}/v1/proposals/S01")).await.0, 404);
        assert_eq!(get(&lender, format!("{base}/v1/proposals/S01")).await.0, 404);

        // Under review, the consortium can no longer replace it.
        let r = officer
            .c
            .post(format!("{base}/v1/proposals"))
            .header("content-type", "application/json")
            .body(sample())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "proposal_locked");

        // Opinions: only consulted agencies; designation waits for all of them.
        let (s, _) = post(&war, step("opinion"), json!({"opinion": "object", "reason": "not consulted"})).await;
        assert_eq!(s, 404);
        let (s, e) = post(&state, step("opinion"), json!({"opinion": "concur", "reason": "no foreign-policy concern"})).await;
        assert_eq!(s, 200, "{e}");
        let decide = json!({"decision": "designate", "reason": "meets the program's criteria"});
        let (s, e) = post(&approver, step("decision"), decide.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("opinions_missing")), "{e}");
        let (s, e) = post(&energy, step("opinion"), json!({"opinion": "object", "reason": "grid capacity at the site"})).await;
        assert_eq!(s, 200, "{e}");
        // Four eyes: the reviewer who opened the review does not decide (nor may a reviewer).
        let (s, _) = post(&reviewer, step("decision"), decide.clone()).await;
        assert_eq!(s, 403);
        let (s, e) = post(&approver, step("decision"), decide.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("agency_objects")), "{e}");
        let over = json!({"decision": "designate", "reason": "grid capacity confirmed by the operator's utility contract", "over_objection": true});
        let (s, e) = post(&approver, step("decision"), over).await;
        assert_eq!((s, e["to"].as_str()), (200, Some("designated")), "{e}");
        assert_eq!(e["actor"]["user"], approver.user.as_str());

        // Decided: no more steps, in the catalogue for every authenticated reader.
        let (s, e) = post(&officer, step("withdraw"), json!({"reason": "too late"})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("invalid_transition")));
        let (s, cat) = get(&lender, format!("{base}/v1/catalogue")).await;
        assert_eq!(s, 200);
        assert_eq!(cat["proposals"][0]["id"], "S01", "{cat}");
        assert_eq!(cat["proposals"][0]["status"], "designated");

        // The history: every step with its actor, each in the ledger with that actor.
        let (s, h) = get(&auditor, format!("{base}/v1/proposals/S01/history")).await;
        assert_eq!(s, 200);
        let events = h["events"].as_array().unwrap();
        let steps: Vec<&str> = events.iter().map(|e| e["step"].as_str().unwrap()).collect();
        assert_eq!(steps, ["submit", "start_review", "opinion", "opinion", "designate"]);
        let actors = [&officer, &reviewer, &state, &energy, &approver];
        for (e, who) in events.iter().zip(actors) {
            assert_eq!(e["actor"]["user"], who.user.as_str(), "{e}");
            assert_eq!(e["actor"]["organisation"], who.org.as_str(), "{e}");
            let index = e["ledger_index"].as_u64().unwrap();
            let entry: Value = admin
                .get(format!("{base}/v1/ledger/entries/{index}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let recorded = &entry["entry"];
            assert_eq!(recorded["type"], "proposal_workflow", "{recorded}");
            assert_eq!(recorded["inputs"]["proposal"], "S01");
            assert_eq!(recorded["inputs"]["step"], e["step"]);
            assert_eq!(recorded["inputs"]["actor"]["user"], who.user.as_str());
            assert_eq!(recorded["outputs"]["to"], e["to"]);
        }
        assert_eq!(get(&rival, format!("{base}/v1/proposals/S01/history")).await.0, 404);
    })
    .await;
}

/// After designation: a lender sees the consortium's financing request, not ready while the
/// package's licensable item has no licence, ready once the licence is recorded; approves it;
/// a shipment then draws the licence down. Every step is in the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn financing_waits_for_the_licences_the_package_needs() {
    for_each_backend(|db| async move {
        let data = tempfile::tempdir().unwrap();
        let ctx = ServerContext::new(
            db.open().await,
            ServerConfig { data_dir: data.path().to_path_buf(), bundled_lists: Some(lists_dir()), rulebook_dir: None },
        )
        .await
        .expect("context");
        let officer = actor(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await;
        let reviewer = actor(&ctx, OrgKind::Commerce, Role::Reviewer).await;
        let state = actor(&ctx, OrgKind::Agency, Role::Reviewer).await;
        let exim = actor(&ctx, OrgKind::Lender, Role::LenderOfficer).await;
        let dfc = actor(&ctx, OrgKind::Lender, Role::LenderOfficer).await;
        let admin = common::client(&common::admin_token(&ctx).await);
        let base = common::serve(ctx).await;
        let approver = colleague(&admin, &base, &reviewer.org, "approver2@commerce.example", "approver").await;

        // S02: one chip to Qatar that needs a licence (3A090.a).
        let r = officer.c.post(format!("{base}/v1/proposals")).header("content-type", "application/json").body(sample_named("S02")).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let step = |s: &str| format!("{base}/v1/proposals/S02/{s}");
        let fin_body = json!({"lender": exim.org, "instrument": "direct_loan", "amount_usd": 25_000_000.0});
        let (s, e) = post(&officer, step("financing"), fin_body.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("not_designated")), "{e}");
        assert_eq!(post(&reviewer, step("consultation"), json!({"agencies": [state.org], "reason": "consult State"})).await.0, 200);
        assert_eq!(post(&state, step("opinion"), json!({"opinion": "concur", "reason": "ok"})).await.0, 200);
        assert_eq!(post(&approver, step("decision"), json!({"decision": "designate", "reason": "meets the criteria"})).await.0, 200);

        let (s, e) = post(&officer, step("financing"), json!({"lender": officer.org, "instrument": "direct_loan", "amount_usd": 1.0})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("not_a_lender")));
        let (s, f) = post(&officer, step("financing"), fin_body).await;
        assert_eq!(s, 201, "{f}");
        let fid = f["id"].as_str().unwrap().to_string();
        assert_eq!(f["ready"], false);
        assert_eq!(f["missing_licences"][0]["eccn"], "3A090.a", "{f}");
        assert_eq!(f["missing_licences"][0]["destination"], "QA");

        // The lender asked sees it; another lender does not.
        let (s, list) = get(&exim, format!("{base}/v1/financing")).await;
        assert_eq!(s, 200);
        assert_eq!(list["requests"].as_array().unwrap().len(), 1);
        assert_eq!(get(&dfc, format!("{base}/v1/financing/{fid}")).await.0, 404);
        let (_, list) = get(&dfc, format!("{base}/v1/financing")).await;
        assert!(list["requests"].as_array().unwrap().is_empty());
        let approve = json!({"decision": "approve", "reason": "credit approved"});
        let (s, e) = post(&exim, format!("{base}/v1/financing/{fid}/decision"), approve.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("not_ready")), "{e}");
        assert_eq!(post(&dfc, format!("{base}/v1/financing/{fid}/decision"), approve.clone()).await.0, 404);

        // The consortium records its licence: the request is ready; the lender approves.
        let (s, l) = post(&officer, format!("{base}/v1/licences"), json!({"number": "D7654321", "kind": "licence",
            "eccns": ["3A090.a"], "destination": "QA", "valid_from": "2026-01-01", "valid_to": "2030-12-31",
            "value_limit_usd": 50_000_000.0})).await;
        assert_eq!(s, 201, "{l}");
        let (_, f) = get(&exim, format!("{base}/v1/financing/{fid}")).await;
        assert_eq!((f["ready"].as_bool(), f["missing_licences"].as_array().map(Vec::len)), (Some(true), Some(0)), "{f}");
        let (s, f) = post(&exim, format!("{base}/v1/financing/{fid}/decision"), approve.clone()).await;
        assert_eq!((s, f["status"].as_str()), (200, Some("approved")), "{f}");
        assert_eq!(post(&exim, format!("{base}/v1/financing/{fid}/decision"), approve).await.0, 409, "decided once");

        // A shipment of the package draws the licence down.
        let lid = l["id"].as_str().unwrap();
        let (s, sh) = post(&officer, format!("{base}/v1/licences/{lid}/shipments"), json!({"eccn": "3A090.a",
            "destination": "QA", "party": "anyone", "value_usd": 1_000_000.0, "quantity": 8, "ship_date": "2026-12-08"})).await;
        assert_eq!((s, sh["outcome"].as_str()), (201, Some("drawn")), "{sh}");
        let (_, l) = get(&officer, format!("{base}/v1/licences/{lid}")).await;
        assert_eq!(l["value_remaining_usd"], 49_000_000.0);

        // The ledger holds each step: the financing request and decision with their actors.
        for (index, status, who) in [(f["ledger_index"].as_u64().unwrap(), "requested", &officer), (f["decision_ledger_index"].as_u64().unwrap(), "approved", &exim)] {
            let e: Value = admin.get(format!("{base}/v1/ledger/entries/{index}")).send().await.unwrap().json().await.unwrap();
            assert_eq!(e["entry"]["type"], "financing");
            assert_eq!(e["entry"]["outputs"]["status"], status);
            assert_eq!(e["entry"]["inputs"]["actor"]["user"], who.user.as_str());
        }
    })
    .await;
}

/// A potential match holds the proposal: Commerce cannot designate it until a reviewer of the
/// consortium clears the match and a second person releases the hold; the false match is
/// remembered for the next proposal naming the same party.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_potential_match_holds_the_proposal_until_cleared_and_released_by_another() {
    for_each_backend(|db| async move {
        let data = tempfile::tempdir().unwrap();
        let ctx = ServerContext::new(
            db.open().await,
            ServerConfig { data_dir: data.path().to_path_buf(), bundled_lists: Some(lists_dir()), rulebook_dir: None },
        )
        .await
        .expect("context");
        let officer = actor(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await;
        let rival = actor(&ctx, OrgKind::Consortium, Role::Reviewer).await;
        let reviewer = actor(&ctx, OrgKind::Commerce, Role::Reviewer).await;
        let state = actor(&ctx, OrgKind::Agency, Role::Reviewer).await;
        let admin = common::client(&common::admin_token(&ctx).await);
        let base = common::serve(ctx).await;
        let approver = colleague(&admin, &base, &reviewer.org, "approver3@commerce.example", "approver").await;
        let consortium_approver = colleague(&admin, &base, &officer.org, "approver@consortium.example", "approver").await;

        // S06: a member is a potential match on the SDN list.
        let r = officer.c.post(format!("{base}/v1/proposals")).header("content-type", "application/json").body(sample_named("S06")).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let (_, items) = get(&officer, format!("{base}/v1/review-items?status=open")).await;
        let items = items["items"].as_array().unwrap().clone();
        assert!(!items.is_empty(), "the potential match is queued");
        assert!(items.iter().all(|i| i["proposal"] == "S06" && i["party"] == "m6"), "{items:?}");
        let (_, theirs) = get(&rival, format!("{base}/v1/review-items")).await;
        assert!(theirs["items"].as_array().unwrap().is_empty(), "another consortium sees none");
        let (_, holds) = get(&officer, format!("{base}/v1/holds")).await;
        let hold = holds["holds"][0].clone();
        assert_eq!((hold["subject_id"].as_str(), hold["status"].as_str()), (Some("S06"), Some("held")), "{holds}");
        let hid = hold["id"].as_str().unwrap().to_string();

        // Commerce's review goes on, but designation waits for the hold.
        let step = |s: &str| format!("{base}/v1/proposals/S06/{s}");
        assert_eq!(post(&reviewer, step("consultation"), json!({"agencies": [state.org], "reason": "consult"})).await.0, 200);
        assert_eq!(post(&state, step("opinion"), json!({"opinion": "concur", "reason": "ok"})).await.0, 200);
        let designate = json!({"decision": "designate", "reason": "criteria met"});
        let (s, e) = post(&approver, step("decision"), designate.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("held")), "{e}");

        // The release needs no open match, a request, and a second person.
        let (s, e) = post(&officer, format!("{base}/v1/holds/{hid}/release-request"), json!({"reason": "matches cleared"})).await;
        assert_eq!(s, 200, "{e}");
        let (s, e) = post(&consortium_approver, format!("{base}/v1/holds/{hid}/release"), json!({"reason": "checked"})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (409, Some("matches_open")), "{e}");
        for item in &items {
            let id = item["id"].as_str().unwrap();
            let (s, e) = post(&officer, format!("{base}/v1/review-items/{id}/decision"), json!({"decision": "false_match", "reason_code": "maybe", "note": "x"})).await;
            assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_reason_code")));
            let (s, _) = post(&rival, format!("{base}/v1/review-items/{id}/decision"), json!({"decision": "false_match", "reason_code": "different_country", "note": "x"})).await;
            assert_eq!(s, 404, "another organisation's item is not found");
            let (s, d) = post(&officer, format!("{base}/v1/review-items/{id}/decision"),
                json!({"decision": "false_match", "reason_code": "different_date_of_birth", "note": "passport seen: born 1984, listed person 1961"})).await;
            assert_eq!((s, d["status"].as_str()), (200, Some("false_match")), "{d}");
            let again = post(&officer, format!("{base}/v1/review-items/{id}/decision"), json!({"decision": "true_match", "reason_code": "other", "note": "x"})).await;
            assert_eq!(again.0, 409, "decided once");
        }
        let (s, e) = post(&officer, format!("{base}/v1/holds/{hid}/release"), json!({"reason": "mine"})).await;
        assert_eq!(s, 403, "the requester does not release (and a compliance officer is no approver): {e}");
        let (s, released) = post(&consortium_approver, format!("{base}/v1/holds/{hid}/release"), json!({"reason": "false match confirmed"})).await;
        assert_eq!((s, released["status"].as_str()), (200, Some("released")), "{released}");
        assert_eq!(released["requested_by"], officer.user.as_str());
        assert_eq!(released["released_by"], consortium_approver.user.as_str());
        let (s, e) = post(&approver, step("decision"), designate).await;
        assert_eq!((s, e["to"].as_str()), (200, Some("designated")), "{e}");

        // The release is in the ledger with both people.
        let index = released["ledger_index"].as_u64().unwrap();
        let entry: Value = admin.get(format!("{base}/v1/ledger/entries/{index}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(entry["entry"]["type"], "screening_review");
        assert_eq!(entry["entry"]["inputs"]["requested_by"], officer.user.as_str());
        assert_eq!(entry["entry"]["inputs"]["actor"]["user"], consortium_approver.user.as_str());

        // Reports: release reasons as CSV, review decisions as JSON, only to the organisation.
        let csv = officer.c.get(format!("{base}/v1/reports/releases?format=csv")).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = csv.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,subject_kind,subject_id,requested_by,request_reason,released_by,release_reason,released_at,ledger_index");
        assert!(lines.iter().any(|l| l.contains(&hid) && l.contains("false match confirmed")), "{csv}");
        let (s, decisions) = get(&officer, format!("{base}/v1/reports/review_decisions")).await;
        assert_eq!(s, 200);
        let decisions = decisions.as_array().unwrap();
        assert!(!decisions.is_empty() && decisions.iter().all(|d| d["reason_code"] == "different_date_of_birth"), "{decisions:?}");
        let (_, theirs) = get(&rival, format!("{base}/v1/reports/review_decisions")).await;
        assert!(theirs.as_array().unwrap().is_empty(), "another consortium's report is empty");
        assert_eq!(get(&officer, format!("{base}/v1/reports/nothing")).await.0, 404);
        assert_eq!(get(&officer, format!("{base}/v1/reports/holds?format=xml")).await.0, 400);

        // The next proposal naming the same party: the match is remembered, nothing is held.
        let mut next: Value = serde_json::from_str(&sample_named("S06")).unwrap();
        next["id"] = json!("S06-phase-2");
        let r = officer.c.post(format!("{base}/v1/proposals")).json(&next).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let (_, all) = get(&officer, format!("{base}/v1/review-items")).await;
        let phase2: Vec<&Value> = all["items"].as_array().unwrap().iter().filter(|i| i["proposal"] == "S06-phase-2").collect();
        assert!(!phase2.is_empty());
        assert!(phase2.iter().all(|i| i["status"] == "false_match" && i["remembered"] == true), "{phase2:?}");
        let (_, holds) = get(&officer, format!("{base}/v1/holds")).await;
        assert!(holds["holds"].as_array().unwrap().iter().all(|h| h["subject_id"] != "S06-phase-2"), "{holds}");
    })
    .await;
}
