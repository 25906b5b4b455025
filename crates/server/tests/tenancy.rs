//! Who may do what, enumerated (issue 11, item 2 and its bars): every operation of the served
//! OpenAPI document is called without a credential, with a malformed and a revoked one, and
//! as every role of every kind of organisation; each answer must be the policy's
//! (`stackport_identity::policy::decide`): 401, 403, or neither, and never a server error.
//! Then one consortium's proposal is asked for by every other organisation: those that do not
//! oversee it get exactly the answer a missing proposal gets. On SQLite and PostgreSQL.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use stackport_identity::policy::{decide, reads_across, Action, Principal};
use stackport_identity::{OrgKind, Role};
use stackport_server::{ServerConfig, ServerContext};
use stackport_store::testing::for_each_backend;

fn lists_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists")
}

fn sample_proposal() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/proposals");
    std::fs::read_to_string(dir.join("S01.json")).expect("sample proposal S01")
}

/// Every operation of the document: (method, path template).
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out.sort();
    out
}

/// The template with its parameters filled with values that name nothing stored.
fn concrete(template: &str) -> String {
    template
        .replace("{index}", "0")
        .replace("{id}", "nonexistent-object")
}

async fn call(c: &reqwest::Client, base: &str, method: &str, path: &str) -> (u16, String) {
    let url = format!("{base}{path}");
    let req = match method {
        "GET" => c.get(url),
        "POST" => c
            .post(url)
            .header("content-type", "application/json")
            .body("{}"),
        "PUT" => c
            .put(url)
            .header("content-type", "application/json")
            .body("{}"),
        "PATCH" => c
            .patch(url)
            .header("content-type", "application/json")
            .body("{}"),
        "DELETE" => c.delete(url),
        other => panic!("method {other}"),
    };
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_policy_decides_for_every_role() {
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
        // One principal per kind and role, each in an organisation of its own.
        let mut principals = Vec::new();
        for kind in OrgKind::ALL {
            for role in Role::ALL {
                principals.push((kind, role, common::token_for(&ctx, kind, role).await));
            }
        }
        let owner_token =
            common::token_for(&ctx, OrgKind::Consortium, Role::ComplianceOfficer).await;
        let admin = common::admin_token(&ctx).await;
        let revoked = common::admin_token(&ctx).await;
        let base = common::serve(ctx).await;

        let nobody = reqwest::Client::new();
        let doc: Value = nobody
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ops = operations(&doc);
        // OpenAPI 3.1 §4.8.10.1: operation ids are unique in the document.
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(
                    ids.insert(id.clone()),
                    "operationId {id:?} of {method} {path} is used twice"
                );
            }
        }
        assert!(ops.len() >= 39, "{} operations", ops.len());

        // Revoke one token through the API; it must then fail like no token.
        let revoker = common::client(&revoked);
        let tokens: Value = revoker
            .get(format!("{base}/v1/tokens"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = tokens[0]["id"]
            .as_str()
            .expect("the token's id")
            .to_string();
        // Not by itself (a caller would lock itself out), but by the platform's admin.
        let r = revoker
            .post(format!("{base}/v1/tokens/{id}/revoke"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "cannot_revoke_own_credential");
        let r = common::client(&admin)
            .post(format!("{base}/v1/tokens/{id}/revoke"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.text().await.unwrap().find("spt_").is_none(),
            "no secret in the answer"
        );

        let malformed = common::client("spt_not-a-token");
        let unknown = common::client(stackport_identity::ApiToken::generate().expose());
        let revoked = common::client(&revoked);
        for (method, template) in &ops {
            let path = concrete(template);
            let access = stackport_identity::policy::route_access(method, template)
                .unwrap_or_else(|| panic!("{method} {template} is not in the policy's table"));
            let public = template == "/v1/health" || template == "/openapi.json";
            assert_eq!(public, access == stackport_identity::policy::Access::Public);
            // A password login with `{}` carries no credential either: 401 for everyone.
            let login = access == stackport_identity::policy::Access::Login;
            for (who, c) in [
                ("nobody", &nobody),
                ("malformed", &malformed),
                ("unknown", &unknown),
                ("revoked", &revoked),
            ] {
                let (s, body) = call(c, &base, method, &path).await;
                if public {
                    assert_eq!(s, 200, "{who} {method} {path}");
                } else {
                    assert_eq!(s, 401, "{who} {method} {path}: {body}");
                    let v: Value = serde_json::from_str(&body).expect("JSON error");
                    assert_eq!(
                        v["error"]["code"], "unauthenticated",
                        "{who} {method} {path}"
                    );
                }
            }
            for (kind, role, token) in &principals {
                let c = common::client(token);
                let (s, body) = call(&c, &base, method, &path).await;
                assert!(s < 500, "{kind} {role} {method} {path}: {s} {body}");
                if public {
                    continue;
                }
                if login {
                    assert_eq!(s, 401, "{kind} {role} {method} {path}: {body}");
                    continue;
                }
                let stackport_identity::policy::Access::Needs(action) = access else {
                    unreachable!("public and login are handled above");
                };
                let p = Principal {
                    user: String::new(),
                    org: String::new(),
                    org_kind: *kind,
                    role: *role,
                };
                if decide(&p, action).allowed() {
                    assert!(
                        s != 401 && s != 403,
                        "{kind} {role} {method} {path}: {s} {body}"
                    );
                } else {
                    assert_eq!(s, 403, "{kind} {role} {method} {path}: {body}");
                    let v: Value = serde_json::from_str(&body).expect("JSON error");
                    assert_eq!(v["error"]["code"], "forbidden");
                }
            }
        }

        // One consortium's proposal: every other organisation that does not oversee proposals
        // gets exactly what a missing proposal gets, and does not see it listed.
        let owner = common::client(&owner_token);
        let r = owner
            .post(format!("{base}/v1/proposals"))
            .header("content-type", "application/json")
            .body(sample_proposal())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        let stored: Value = owner
            .get(format!("{base}/v1/proposals"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pid = stored["proposals"][0]["id"]
            .as_str()
            .expect("listed to its owner")
            .to_string();
        let missing = "no-such-proposal";
        for (kind, role, token) in &principals {
            let c = common::client(token);
            let p = Principal {
                user: String::new(),
                org: String::new(),
                org_kind: *kind,
                role: *role,
            };
            let oversees = reads_across(&p, Action::ReadProposal);
            for suffix in ["", "/review", "/reevaluations"] {
                let (s, body) =
                    call(&c, &base, "GET", &format!("/v1/proposals/{pid}{suffix}")).await;
                let (s2, body2) = call(
                    &c,
                    &base,
                    "GET",
                    &format!("/v1/proposals/{missing}{suffix}"),
                )
                .await;
                if oversees {
                    assert_eq!(s, 200, "{kind} {role} {suffix}: {body}");
                } else {
                    assert_eq!(
                        (s, body.replace(&pid, missing)),
                        (s2, body2),
                        "{kind} {role} {suffix}: existence leaks"
                    );
                    assert_eq!(s, 404);
                }
            }
            let list: Value = c
                .get(format!("{base}/v1/proposals"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let listed = list["proposals"]
                .as_array()
                .expect("list")
                .iter()
                .any(|l| l["id"] == pid.as_str());
            assert_eq!(listed, oversees, "{kind} {role}: {list}");
        }
        // A data-centre operator's chip: its own operators and those who oversee chips see it;
        // every other organisation gets what an unknown chip gets.
        let operator = principals
            .iter()
            .find(|(k, r, _)| *k == OrgKind::Operator && *r == Role::Operator)
            .unwrap();
        let key = stackport_locate::protocol::SecretKey::generate(
            stackport_locate::protocol::SignatureAlgorithm::Ed25519,
        )
        .public_key()
        .to_string();
        let r = common::client(&operator.2)
            .post(format!("{base}/v1/locate/chips"))
            .json(
                &serde_json::json!({"id": "gpu-0001", "public_key": key, "model": "H200",
                "owner": "Gulf DC", "site": {"lat": 25.2, "lon": 55.3, "country": "AE"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        for (kind, role, token) in &principals {
            let c = common::client(token);
            let p = Principal {
                user: String::new(),
                org: String::new(),
                org_kind: *kind,
                role: *role,
            };
            let own = token == &operator.2;
            let oversees = reads_across(&p, Action::ReadChip);
            for suffix in ["", "/verdicts", "/map.svg"] {
                let (s, body) = call(
                    &c,
                    &base,
                    "GET",
                    &format!("/v1/locate/chips/gpu-0001{suffix}"),
                )
                .await;
                let (s2, body2) = call(
                    &c,
                    &base,
                    "GET",
                    &format!("/v1/locate/chips/gpu-0002{suffix}"),
                )
                .await;
                if own || oversees {
                    assert_eq!(s, 200, "{kind} {role} {suffix}: {body}");
                } else {
                    assert_eq!(
                        (s, body.replace("gpu-0001", "gpu-0002")),
                        (s2, body2),
                        "{kind} {role} {suffix}: a chip's existence leaks"
                    );
                }
            }
        }

        // The same id from another consortium does not replace it.
        let other = common::client(
            &principals
                .iter()
                .find(|(k, r, _)| *k == OrgKind::Consortium && *r == Role::ComplianceOfficer)
                .unwrap()
                .2,
        );
        let r = other
            .post(format!("{base}/v1/proposals"))
            .header("content-type", "application/json")
            .body(sample_proposal())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "proposal_id_taken");
        let again: Value = common::client(&admin)
            .get(format!("{base}/v1/proposals/{pid}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(again["id"], pid.as_str());
    })
    .await;
}
