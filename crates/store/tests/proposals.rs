//! Proposals and their re-evaluations on both backends: stored with their ledger entry in one
//! transaction, replaced under the same id with the creation time kept, listed page by page,
//! party keys read for re-evaluation, re-reviews stored only over the review they replace.

use stackport_program::reevaluate::PartyKey;
use stackport_store::testing::for_each_backend;
use stackport_store::{
    sha256_hex, ProposalRecord, ReReview, Reevaluation, ReevaluationTrigger, ReviewedProposal,
    StoreError,
};

fn key(party: &str, name: &str, hits: &[&str]) -> PartyKey {
    PartyKey {
        party: party.into(),
        name: name.into(),
        country: Some("US".into()),
        entity: true,
        hits: hits.iter().map(|h| h.to_string()).collect(),
    }
}

fn record(id: &str, verdict: &str, snapshot: i64) -> ProposalRecord {
    ProposalRecord {
        id: id.into(),
        consortium: format!("Consortium {id}"),
        date: "2025-09-15".into(),
        verdict: verdict.into(),
        input: format!("{{\"id\":\"{id}\"}}"),
        review: format!("{{\"id\":\"{id}\",\"verdict\":\"{verdict}\"}}"),
        parties: vec![
            key("m1", &format!("Member of {id}"), &[]),
            key("e1", "End User", &["ofac-sdn:1"]),
        ],
        list_snapshot_id: snapshot,
        rulebook_version: "rb-1".into(),
        program_rules_version: "pr-1".into(),
        owner_org: None,
    }
}

fn reviewed(r: ProposalRecord) -> ReviewedProposal {
    let ledger_entry = format!(
        "{{\"proposal\":\"{}\",\"verdict\":\"{}\"}}",
        r.id, r.verdict
    );
    ReviewedProposal {
        record: r,
        ledger_entry,
        status: stackport_program::workflow::Status::Submitted,
    }
}

#[tokio::test]
async fn a_proposal_is_stored_with_its_ledger_entry_and_replaced_under_its_id() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let first = reviewed(record("P1", "clear", 1));
        let (stored, receipt) = store.store_proposal(&first).await.unwrap();
        assert_eq!(receipt.index, 0);
        assert_eq!(stored.ledger_index, 0);
        assert_eq!(stored.review_digest, sha256_hex(&first.record.review));
        assert_eq!(stored.review_digest.len(), 64);
        let entries = store.ledger_entries(0, 10).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].entry, first.ledger_entry);
        assert_eq!(entries[0].leaf_hash, receipt.leaf_hash);

        let got = store.proposal("P1").await.unwrap();
        assert_eq!(got, stored);
        assert_eq!(got.record, first.record);
        assert_eq!(got.checked_snapshot_id, 1);

        // Stored again: replaced, creation time kept, a new ledger entry.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut again = record("P1", "held", 2);
        again.input = "{\"id\":\"P1\",\"v\":2}".into();
        let (stored2, receipt2) = store
            .store_proposal(&reviewed(again.clone()))
            .await
            .unwrap();
        assert_eq!(receipt2.index, 1);
        let got = store.proposal("P1").await.unwrap();
        assert_eq!(got, stored2);
        assert_eq!(got.record, again);
        assert_eq!(got.created_at, stored.created_at);
        assert!(got.updated_at > stored.updated_at);
        assert_eq!(got.ledger_index, 1);

        assert!(matches!(
            store.proposal("nope").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.reevaluations("nope").await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn proposals_are_listed_and_their_party_keys_read_page_by_page() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let items: Vec<ReviewedProposal> = ["P3", "P1", "P5", "P2", "P4", "P10"]
            .iter()
            .map(|id| reviewed(record(id, "clear", 1)))
            .collect();
        let stored = store.store_proposals(&items).await.unwrap();
        assert_eq!(stored.len(), 6);
        assert_eq!(
            stored.iter().map(|(_, r)| r.index).collect::<Vec<_>>(),
            (0..6).collect::<Vec<_>>()
        );
        assert_eq!(store.ledger_size().await.unwrap(), 6);

        // Bytewise id order on both backends.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.proposals(None, after.as_deref(), 4).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 4);
            after = page.last().map(|p| p.id.clone());
            seen.extend(page.into_iter().map(|p| (p.id, p.verdict, p.consortium)));
        }
        let ids: Vec<&str> = seen.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["P1", "P10", "P2", "P3", "P4", "P5"]);
        assert!(seen
            .iter()
            .all(|(id, v, c)| v == "clear" && *c == format!("Consortium {id}")));

        let keys = store.proposal_party_keys(None, None, 100).await.unwrap();
        assert_eq!(keys.len(), 6);
        assert_eq!(keys[0].id, "P1");
        assert_eq!(keys[0].parties, record("P1", "clear", 1).parties);
        let page = store
            .proposal_party_keys(None, Some("P2"), 2)
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            ["P3", "P4"]
        );

        // Checked on snapshot 2: left out of the next pass over snapshot 2, not of others.
        let marked = store
            .mark_proposals_checked(&["P1".into(), "P4".into(), "missing".into()], 2)
            .await
            .unwrap();
        assert_eq!(marked, 2);
        let left: Vec<String> = store
            .proposal_party_keys(Some(2), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(left, ["P10", "P2", "P3", "P5"]);
        let page = store
            .proposal_party_keys(Some(2), Some("P2"), 1)
            .await
            .unwrap();
        assert_eq!(page[0].id, "P3");
        assert_eq!(
            store
                .proposal_party_keys(Some(1), None, 100)
                .await
                .unwrap()
                .len(),
            2
        );
        let p1 = store.proposal("P1").await.unwrap();
        assert_eq!((p1.record.list_snapshot_id, p1.checked_snapshot_id), (1, 2));
        // Marking is not a review: nothing else of the row moved.
        assert_eq!(p1.updated_at, stored[1].0.updated_at);
        assert_eq!(p1.ledger_index, stored[1].0.ledger_index);

        // Other rules.
        let mut newer = record("P6", "clear", 1);
        newer.rulebook_version = "rb-2".into();
        store.store_proposal(&reviewed(newer)).await.unwrap();
        let other = store
            .proposals_under_other_rules("rb-2", "pr-1", None, 100)
            .await
            .unwrap();
        assert_eq!(other.len(), 6);
        assert!(other.iter().all(|p| p.record.id != "P6"));
        let other = store
            .proposals_under_other_rules("rb-2", "pr-1", Some("P3"), 2)
            .await
            .unwrap();
        assert_eq!(
            other
                .iter()
                .map(|p| p.record.id.as_str())
                .collect::<Vec<_>>(),
            ["P4", "P5"]
        );
        assert_eq!(
            store
                .proposals_under_other_rules("rb-1", "pr-1", None, 100)
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_rereview_replaces_only_the_review_it_was_made_from() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let items: Vec<ReviewedProposal> = ["A", "B"]
            .iter()
            .map(|id| reviewed(record(id, "clear", 1)))
            .collect();
        let stored = store.store_proposals(&items).await.unwrap();
        let (a, b) = (&stored[0].0, &stored[1].0);
        // B is submitted again after its keys were read: its re-review must not overwrite it.
        let (b2, _) = store
            .store_proposal(&reviewed(record("B", "licences_required", 1)))
            .await
            .unwrap();
        let size = store.ledger_size().await.unwrap();

        let mut ra = record("A", "held", 2);
        ra.parties[0].hits = vec!["ofac-sdn:99".into()];
        let changes = serde_json::json!({"verdict_before": "clear", "verdict_after": "held",
            "new_hits": [{"party": "m1", "entity": "ofac-sdn:99", "list": "SDN", "name": "X"}]});
        let rereviews = vec![
            ReReview {
                record: ra.clone(),
                replaces: a.ledger_index,
                reevaluation: Some(Reevaluation {
                    trigger: ReevaluationTrigger::ListSnapshot,
                    from_version: Some("1".into()),
                    to_version: "2".into(),
                    changes: changes.clone(),
                }),
                ledger_entry: "{\"rereview\":\"A\"}".into(),
            },
            ReReview {
                record: record("B", "held", 2),
                replaces: b.ledger_index,
                reevaluation: Some(Reevaluation {
                    trigger: ReevaluationTrigger::ListSnapshot,
                    from_version: Some("1".into()),
                    to_version: "2".into(),
                    changes: changes.clone(),
                }),
                ledger_entry: "{\"rereview\":\"B\"}".into(),
            },
        ];
        let done = store.record_rereviews(&rereviews).await.unwrap();
        assert_eq!(done.len(), 1, "B changed meanwhile and is left alone");
        assert_eq!(done[0].proposal_id, "A");
        assert_eq!(done[0].receipt.index, size);
        assert_eq!(store.ledger_size().await.unwrap(), size + 1);
        let entry = store.ledger_entries(size, 1).await.unwrap();
        assert_eq!(entry[0].entry, "{\"rereview\":\"A\"}");

        let got = store.proposal("A").await.unwrap();
        assert_eq!(got.record.verdict, "held");
        assert_eq!(got.record.review, ra.review);
        assert_eq!(got.record.parties, ra.parties);
        assert_eq!(got.record.input, a.record.input, "the input is kept");
        assert_eq!(
            (got.record.list_snapshot_id, got.checked_snapshot_id),
            (2, 2)
        );
        assert_eq!(got.ledger_index, size);
        assert_eq!(got.created_at, a.created_at);
        assert_eq!(got.review_digest, sha256_hex(&ra.review));
        assert_eq!(store.proposal("B").await.unwrap(), b2);

        let re = store.reevaluations("A").await.unwrap();
        assert_eq!(re.len(), 1);
        assert_eq!(Some(&re[0]), done[0].reevaluation.as_ref());
        assert_eq!(
            re[0].reevaluation.trigger,
            ReevaluationTrigger::ListSnapshot
        );
        assert_eq!(re[0].reevaluation.changes, changes);
        assert_eq!(re[0].ledger_index, size);
        assert!(store.reevaluations("B").await.unwrap().is_empty());

        // A new rule version that changed nothing: the review is stored, no record.
        let mut rb = record("A", "held", 2);
        rb.rulebook_version = "rb-2".into();
        let done = store
            .record_rereviews(&[ReReview {
                record: rb,
                replaces: got.ledger_index,
                reevaluation: None,
                ledger_entry: "{\"rereview\":\"A2\"}".into(),
            }])
            .await
            .unwrap();
        assert_eq!(done.len(), 1);
        assert!(done[0].reevaluation.is_none());
        assert_eq!(store.reevaluations("A").await.unwrap().len(), 1);
        assert_eq!(
            store.proposal("A").await.unwrap().record.rulebook_version,
            "rb-2"
        );
        assert!(store.record_rereviews(&[]).await.unwrap().is_empty());
    })
    .await;
}
