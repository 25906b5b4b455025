//! Chip registry tests: each runs on SQLite and on PostgreSQL, each on a fresh database.

use stackport_store::testing::for_each_backend;
use stackport_store::{
    AlertRecord, ChipRecord, LandmarkMeasurementRecord, LandmarkRecord, MeasurementInsert,
    MeasurementRecord, NewAlert, PendingVerdict, StoreError, VerdictRecord,
};

fn chip(id: &str, key: &str) -> ChipRecord {
    ChipRecord {
        id: id.into(),
        public_key: key.into(),
        model: "H100-SXM5-80GB".into(),
        owner: "Example Cloud Pte Ltd".into(),
        site_lat: 1.3521,
        site_lon: 103.8198,
        site_country: "SG".into(),
        export_ref: Some("ledger:42".into()),
        checkin_interval_s: 86_400,
        enrolled_at: 1_000_000,
    }
}

fn landmark(id: &str) -> LandmarkRecord {
    LandmarkRecord {
        id: id.into(),
        public_key: format!("ed25519:{}", "ab".repeat(32)),
        lat: 1.29,
        lon: 103.85,
        enrolled_at: 1,
    }
}

fn measurement(id: &str, chip: &str, at: i64, body: &[u8]) -> MeasurementRecord {
    MeasurementRecord {
        id: id.into(),
        chip_id: chip.into(),
        landmark_id: "lm-sin".into(),
        min_rtt_ns: 1_500_000,
        rounds: 30,
        count: 30,
        spoofing: 0,
        measured_at: at,
        received_at: at + 5,
        body: body.to_vec(),
    }
}

#[tokio::test]
async fn chips_and_landmarks_enrol_once() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        s.enrol_chip(&chip("GPU-1", "ed25519:01"))
            .await
            .expect("enrol");
        assert_eq!(
            s.chip("GPU-1").await.expect("read"),
            Some(chip("GPU-1", "ed25519:01"))
        );
        assert!(s.chip("GPU-x").await.expect("read").is_none());
        // Same id, or same key under another id: conflict, nothing changed.
        assert!(matches!(
            s.enrol_chip(&chip("GPU-1", "ed25519:02")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.enrol_chip(&chip("GPU-2", "ed25519:01")).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.chips().await.expect("list").len(), 1);
        s.enrol_landmark(&landmark("lm-sin")).await.expect("enrol");
        assert!(matches!(
            s.enrol_landmark(&landmark("lm-sin")).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.landmark("lm-sin").await.expect("read"),
            Some(landmark("lm-sin"))
        );
        assert_eq!(s.landmarks().await.expect("list").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn measurements_are_idempotent_by_id() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        s.enrol_chip(&chip("GPU-1", "ed25519:01"))
            .await
            .expect("enrol");
        s.enrol_landmark(&landmark("lm-sin")).await.expect("enrol");
        let m = measurement("00aa", "GPU-1", 2_000_000, b"signed bytes");
        assert_eq!(
            s.record_measurement(&m).await.expect("store"),
            MeasurementInsert::Inserted
        );
        // No verdict covers it yet, so a redelivery asks for one.
        assert_eq!(
            s.record_measurement(&m).await.expect("redelivery"),
            MeasurementInsert::Unverified
        );
        let other = measurement("00aa", "GPU-1", 2_000_000, b"other bytes");
        assert!(matches!(
            s.record_measurement(&other).await,
            Err(StoreError::Conflict(_))
        ));
        // Unknown chip: the foreign key refuses it.
        assert!(s
            .record_measurement(&measurement("00bb", "GPU-404", 1, b"x"))
            .await
            .is_err());
        s.record_measurement(&measurement("00cc", "GPU-1", 3_000_000, b"later"))
            .await
            .expect("store");
        let all = s.chip_measurements("GPU-1", 0).await.expect("read");
        assert_eq!(
            all.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["00aa", "00cc"]
        );
        assert_eq!(all[0].body, b"signed bytes");
        assert_eq!(
            s.chip_measurements("GPU-1", 2_500_000)
                .await
                .expect("read")
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_redeliveries_store_once() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        s.enrol_chip(&chip("GPU-1", "ed25519:01"))
            .await
            .expect("enrol");
        s.enrol_landmark(&landmark("lm-sin")).await.expect("enrol");
        let m = measurement("0f0f", "GPU-1", 2_000_000, b"bytes");
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                let m = m.clone();
                tokio::spawn(async move { s.record_measurement(&m).await })
            })
            .collect();
        let mut inserted = 0;
        for t in tasks {
            if t.await.expect("task").expect("store") == MeasurementInsert::Inserted {
                inserted += 1;
            }
        }
        assert_eq!(inserted, 1);
    })
    .await;
}

fn entry_of(v: &VerdictRecord, alerts: &[AlertRecord]) -> Result<String, StoreError> {
    Ok(serde_json::json!({"verdict": v.id, "alerts": alerts.iter().map(|a| a.id).collect::<Vec<_>>()}).to_string())
}

#[tokio::test]
async fn verdicts_keep_history_and_latest() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        s.enrol_chip(&chip("GPU-1", "ed25519:01"))
            .await
            .expect("enrol");
        s.enrol_landmark(&landmark("lm-sin")).await.expect("enrol");
        let m = measurement("00aa", "GPU-1", 2_000_000, b"m");
        assert_eq!(
            s.record_measurement(&m).await.expect("store"),
            MeasurementInsert::Inserted
        );
        // Stored, not yet verified: a redelivery must verify it, and start-up recovery sees it.
        assert_eq!(
            s.record_measurement(&m).await.expect("again"),
            MeasurementInsert::Unverified
        );
        assert_eq!(s.unverified_measurements(10).await.expect("read").len(), 1);
        let mut v = VerdictRecord {
            id: 0,
            chip_id: "GPU-1".into(),
            measurement_id: "00aa".into(),
            verdict: "inconclusive".into(),
            outside_prohibited: false,
            claim_consistent: true,
            max_radius_km: Some(3000.0),
            centroid_lat: Some(1.0),
            centroid_lon: Some(103.0),
            landmarks_used: 1,
            reason: Some("region too large".into()),
            decided_at: 10,
            ledger_index: None,
        };
        let alert = NewAlert {
            chip_id: "GPU-1".into(),
            category: "tampering".into(),
            detail: "d".into(),
            measurement_id: Some("00aa".into()),
            at: 10,
        };
        let pending = |v: &VerdictRecord, alerts: Vec<NewAlert>, covers: &[&str]| PendingVerdict {
            verdict: v.clone(),
            alerts,
            covers: covers.iter().map(|c| c.to_string()).collect(),
        };
        let batch = s
            .record_verdicts(
                &[],
                &[pending(&v, vec![alert.clone()], &["00aa"])],
                &entry_of,
            )
            .await
            .expect("store");
        assert_eq!(batch.claimed, ["00aa".to_string()].into());
        assert!(batch.inserted.is_empty());
        let first = batch.verdicts[0].clone();
        assert_eq!(first.alerts.len(), 1);
        assert_eq!(first.verdict.ledger_index, Some(first.receipt.index as i64));
        // The verdict, its alert and its ledger entry committed together; the measurement is
        // verified now.
        let e = &s
            .ledger_entries(first.receipt.index, 1)
            .await
            .expect("entry")[0];
        assert_eq!(
            e.entry,
            entry_of(&first.verdict, &first.alerts).expect("entry")
        );
        assert!(s
            .unverified_measurements(10)
            .await
            .expect("read")
            .is_empty());
        assert_eq!(
            s.record_measurement(&m).await.expect("again"),
            MeasurementInsert::Duplicate
        );
        // A verdict over measurements another verdict already covers claims nothing and is
        // not recorded (a second instance that did the same work).
        let size = s.ledger_size().await.expect("size");
        let again = s
            .record_verdicts(&[], &[pending(&v, vec![], &["00aa"])], &entry_of)
            .await
            .expect("store");
        assert!(again.verdicts.is_empty() && again.claimed.is_empty());
        assert_eq!(s.ledger_size().await.expect("size"), size);
        // A failing ledger entry stores nothing: no measurement, no verdict, no alert.
        let fail = |_: &VerdictRecord, _: &[AlertRecord]| -> Result<String, StoreError> {
            Err(StoreError::Corrupt("no entry".into()))
        };
        let other = NewAlert {
            category: "diverted".into(),
            ..alert.clone()
        };
        let m2 = measurement("00ab", "GPU-1", 3_000_000, b"m2");
        v.measurement_id = "00ab".into();
        assert!(s
            .record_verdicts(
                std::slice::from_ref(&m2),
                &[pending(&v, vec![other], &["00ab"])],
                &fail
            )
            .await
            .is_err());
        assert_eq!(s.verdict_history("GPU-1", 10).await.expect("read").len(), 1);
        assert_eq!(s.open_alerts().await.expect("read").len(), 1);
        assert!(s
            .measurement_states(&["00ab".into()])
            .await
            .expect("read")
            .is_empty());
        v.verdict = "verified".into();
        v.outside_prohibited = true;
        v.max_radius_km = None;
        v.reason = None;
        v.decided_at = 20;
        let batch = s
            .record_verdicts(
                std::slice::from_ref(&m2),
                &[pending(&v, vec![], &["00ab"])],
                &entry_of,
            )
            .await
            .expect("store");
        assert_eq!(batch.inserted, ["00ab".to_string()].into());
        let second = batch.verdicts[0].clone();
        assert!(second.verdict.id > first.verdict.id);
        assert_eq!(second.receipt.index, first.receipt.index + 1);
        assert_eq!(
            s.measurement_states(&["00ab".into(), "00aa".into(), "ffff".into()])
                .await
                .expect("read")
                .iter()
                .map(|st| (st.id.as_str(), st.verified))
                .collect::<std::collections::BTreeSet<_>>(),
            [("00aa", true), ("00ab", true)].into()
        );
        // The same bytes again in a batch: left as stored; other bytes: a conflict, and the
        // whole batch stores nothing.
        let batch = s
            .record_verdicts(std::slice::from_ref(&m2), &[], &entry_of)
            .await
            .expect("same bytes");
        assert!(batch.inserted.is_empty());
        let m3 = measurement("00ac", "GPU-1", 4_000_000, b"m3");
        let forged = measurement("00ab", "GPU-1", 3_000_000, b"other bytes");
        assert!(matches!(
            s.record_verdicts(&[m3, forged], &[], &entry_of).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(s
            .measurement_states(&["00ac".into()])
            .await
            .expect("read")
            .is_empty());
        let latest = s.latest_verdict("GPU-1").await.expect("read").expect("one");
        assert_eq!(latest.verdict, "verified");
        assert_eq!(latest.max_radius_km, None);
        assert_eq!(latest.ledger_index, Some(second.receipt.index as i64));
        assert!(latest.outside_prohibited);
        let hist = s.verdict_history("GPU-1", 10).await.expect("read");
        assert_eq!(
            hist.iter().map(|v| v.verdict.as_str()).collect::<Vec<_>>(),
            ["verified", "inconclusive"]
        );
        assert!(s.latest_verdict("GPU-2").await.expect("read").is_none());
    })
    .await;
}

#[tokio::test]
async fn landmark_round_trips_and_alerts() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        for id in ["lm-a", "lm-b", "lm-c"] {
            s.enrol_landmark(&landmark(id)).await.expect("enrol");
        }
        let pair = |id: &str, a: &str, b: &str, rtt: i64| LandmarkMeasurementRecord {
            id: id.into(),
            landmark_id: a.into(),
            target_id: b.into(),
            min_rtt_ns: rtt,
            measured_at: 1_000,
            received_at: 1_000,
            body: id.as_bytes().to_vec(),
        };
        for (i, (a, b, rtt)) in [
            ("lm-a", "lm-b", 9_000),
            ("lm-b", "lm-a", 7_000),
            ("lm-c", "lm-a", 5_000),
        ]
        .into_iter()
        .enumerate()
        {
            let r = pair(&format!("{i:032x}"), a, b, rtt);
            assert_eq!(
                s.record_landmark_measurement(&r).await.expect("store"),
                MeasurementInsert::Inserted
            );
            assert_eq!(
                s.record_landmark_measurement(&r).await.expect("again"),
                MeasurementInsert::Duplicate
            );
        }
        let mut conflict = pair(&format!("{:032x}", 0), "lm-a", "lm-b", 1);
        conflict.body = b"other".to_vec();
        assert!(matches!(
            s.record_landmark_measurement(&conflict).await,
            Err(StoreError::Conflict(_))
        ));
        // Either direction, the smallest round trip per pair; nothing before `since`.
        assert_eq!(
            s.landmark_rtts(0).await.expect("read"),
            [
                ("lm-a".to_string(), "lm-b".to_string(), 7_000),
                ("lm-a".into(), "lm-c".into(), 5_000)
            ]
        );
        assert!(s.landmark_rtts(2_000).await.expect("read").is_empty());
        let first = s
            .raise_landmark_alert("lm-c", "landmark_contradiction", "x", 10)
            .await
            .expect("raise");
        let again = s
            .raise_landmark_alert("lm-c", "landmark_contradiction", "y", 20)
            .await
            .expect("raise");
        assert_eq!(
            (first.id, again.occurrences, again.detail.as_str()),
            (again.id, 2, "y")
        );
        assert_eq!(s.open_landmark_alerts().await.expect("read").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn alerts_dedupe_while_open_and_overdue_chips_are_found() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        s.enrol_chip(&chip("GPU-1", "ed25519:01"))
            .await
            .expect("enrol");
        s.enrol_chip(&chip("GPU-2", "ed25519:02"))
            .await
            .expect("enrol");
        s.enrol_landmark(&landmark("lm-sin")).await.expect("enrol");
        let a = NewAlert {
            chip_id: "GPU-1".into(),
            category: "elsewhere".into(),
            detail: "first".into(),
            measurement_id: None,
            at: 100,
        };
        let r1 = s.raise_alert(&a).await.expect("raise");
        let r2 = s
            .raise_alert(&NewAlert {
                detail: "second".into(),
                at: 200,
                ..a.clone()
            })
            .await
            .expect("raise");
        assert_eq!(r1.id, r2.id);
        assert_eq!(r2.occurrences, 2);
        assert_eq!(r2.raised_at, 100);
        assert_eq!(r2.last_seen_at, 200);
        assert_eq!(r2.detail, "second");
        s.raise_alert(&NewAlert {
            category: "diverted".into(),
            ..a.clone()
        })
        .await
        .expect("raise");
        assert_eq!(s.open_alerts().await.expect("read").len(), 2);
        let resolution = |a: &AlertRecord| -> Result<String, StoreError> {
            Ok(serde_json::json!({"resolved": a.id}).to_string())
        };
        let (resolved, receipt) = s
            .resolve_alert(r1.id, 300, &resolution)
            .await
            .expect("resolve")
            .expect("was open");
        assert_eq!(resolved.resolved_at, Some(300));
        let e = &s.ledger_entries(receipt.index, 1).await.expect("entry")[0];
        assert_eq!(e.entry, format!("{{\"resolved\":{}}}", r1.id));
        assert!(s
            .resolve_alert(r1.id, 300, &resolution)
            .await
            .expect("resolve twice")
            .is_none());
        let r3 = s
            .raise_alert(&NewAlert {
                at: 400,
                ..a.clone()
            })
            .await
            .expect("raise again");
        assert_ne!(
            r3.id, r1.id,
            "a resolved alert is not reopened; a new one is raised"
        );
        assert_eq!(s.chip_alerts("GPU-1").await.expect("read").len(), 3);
        // GPU-1 checked in at t = 90,000 s; GPU-2 never (enrolled at 1 s). Interval: 1 day.
        s.record_measurement(&measurement("0001", "GPU-1", 90_000_000_000, b"m"))
            .await
            .expect("store");
        let now = 100_000_000_000; // 100,000 s
        let overdue = s.overdue_chips(now).await.expect("read");
        assert_eq!(
            overdue
                .iter()
                .map(|o| o.chip_id.as_str())
                .collect::<Vec<_>>(),
            ["GPU-2"]
        );
        assert_eq!(overdue[0].last_seen, 1_000_000);
    })
    .await;
}
