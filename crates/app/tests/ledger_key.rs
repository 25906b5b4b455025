//! One ledger signing key for every instance on one database (issue 11, item 7): an instance
//! with a key of its own is refused once the database holds a checkpoint signed by another,
//! and instances given the same key file sign checkpoints that open under that one key. On
//! SQLite and PostgreSQL.

use stackport_app::ledger::{DecisionLedger, LedgerServiceError};
use stackport_ledger::checkpoint::Checkpoint;
use stackport_ledger::{Decision, DecisionKind, DecisionVersions};
use stackport_store::testing::for_each_backend;

fn decision(i: u32) -> Decision {
    Decision::now(
        DecisionKind::Determination,
        serde_json::json!({ "case": i }),
        serde_json::json!({ "licence_required": false }),
        DecisionVersions {
            rules: Some("r1".into()),
            lists: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_database_sign_with_one_key() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let a_dir = tempfile::tempdir().unwrap();
        let b_dir = tempfile::tempdir().unwrap();
        let shared = a_dir.path().join("shared-ledger.key");
        let a = DecisionLedger::open_with_key_file(store.clone(), &shared, None)
            .await
            .expect("instance A");
        a.record(&decision(1)).await.expect("append");
        let first = a.checkpoint().await.expect("checkpoint");

        // A second instance with a key of its own would sign what A's key does not verify.
        let own = DecisionLedger::open(store.clone(), b_dir.path(), None).await;
        match own {
            Err(LedgerServiceError::Key { message, .. }) => {
                assert!(message.contains("STACKPORT_LEDGER_KEY_FILE"), "{message}")
            }
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("an instance with another key was let in"),
        }

        // With the shared key file both sign, and each checkpoint opens under the one key.
        let b = DecisionLedger::open_with_key_file(store.clone(), &shared, None)
            .await
            .expect("instance B");
        assert_eq!(a.verifier().to_string(), b.verifier().to_string());
        b.record(&decision(2)).await.expect("append through B");
        let by_b = b.checkpoint().await.expect("B signs");
        assert_eq!(by_b.size, 2);
        Checkpoint::open(&by_b.note, a.verifier()).expect("B's checkpoint opens under A's key");
        Checkpoint::open(&first.note, b.verifier()).expect("A's under B's");
        a.record(&decision(3)).await.expect("append through A");
        let by_a = a.checkpoint().await.expect("A signs again");
        assert_eq!(by_a.size, 3);
        let report = a.verify(None).await.expect("verification runs");
        assert!(
            report.problem.is_none(),
            "the log verifies: {:?}",
            report.problem
        );
    })
    .await;
}
