//! The store's test suite: every test runs on SQLite and on PostgreSQL
//! (`STACKPORT_TEST_POSTGRES`), each on a fresh database.

use stackport_screening::{
    Alias, AliasStrength, Entity, Hit, PartyType, Query, ScreeningResult, Snapshot, SourceFile,
};
use stackport_store::testing::for_each_backend;
use stackport_store::{
    party_id, EntryChange, NewHit, ScreeningRecord, StoreError, StoredNewHit, StoredScreening,
};

/// The ledger entry the tests record for a stored screening: names its id and position.
fn screening_entry(i: usize, s: &StoredScreening) -> Result<String, StoreError> {
    Ok(format!("{{\"i\":{i},\"screening\":{}}}", s.id))
}

fn new_hit_entry(_: usize, h: &StoredNewHit) -> Result<String, StoreError> {
    Ok(format!(
        "{{\"entity\":\"{}\",\"new_hit\":{}}}",
        h.hit.entity_id, h.id
    ))
}

/// A real entity (the first of the OFAC non-SDN file) renamed: built from the parsers' output
/// rather than a struct literal, so the tests follow the entity model as it grows.
fn entity(id: &str, name: &str) -> Entity {
    static TEMPLATE: std::sync::OnceLock<Entity> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/lists/ofac/cons_2025-12-19");
        let snap = stackport_screening::parse::load_dir(&dir).expect("the real non-SDN files load");
        snap.entities
            .into_iter()
            .next()
            .expect("at least one entity")
    });
    let mut e = template.clone();
    e.id = id.to_string();
    e.name = name.to_string();
    e.aliases.push(Alias {
        name: format!("{name} TRADING"),
        strength: AliasStrength::Aka,
    });
    e.remarks = Some("a.k.a. 'ÜBER ŞİRKET'; text with \"quotes\" and a\nnewline".into());
    e
}

fn snapshot(tag: &str, entities: Vec<Entity>) -> Snapshot {
    Snapshot {
        sources: vec![
            SourceFile {
                path: "ofac/sdn_2021-07-07/sdn.csv".into(),
                format: "ofac-sdn".into(),
                sha256: format!("{tag}-sdn"),
                data_date: Some("2021-07-07".into()),
                records: entities.len(),
                warnings: vec![],
            },
            SourceFile {
                path: "csl/consolidated.csv".into(),
                format: "csl".into(),
                sha256: format!("{tag}-csl"),
                data_date: None,
                records: 0,
                warnings: vec!["line 2: repeated header skipped".into()],
            },
        ],
        entities,
    }
}

fn hit(entity: &str, score: f64) -> Hit {
    Hit {
        entity: entity.into(),
        score,
        list: "SDN".into(),
        name: "ACME".into(),
        matched: "ACME".into(),
        explanation: stackport_screening::Explanation {
            alignment: vec![],
            features: vec![],
        },
    }
}

fn result(hits: Vec<Hit>, threshold: f64) -> ScreeningResult {
    ScreeningResult {
        hits,
        algorithm: "test-alg/1".into(),
        snapshot_hashes: vec!["h".into()],
        threshold,
    }
}

fn party(name: &str) -> Query {
    Query {
        name: name.into(),
        party_type: Some(PartyType::Entity),
        country: Some("ir".into()),
        dob: None,
        identifiers: vec!["IMO 123".into()],
    }
}

#[tokio::test]
async fn snapshot_round_trip_and_active_flag() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        assert!(store.snapshots().await.unwrap().is_empty());
        assert!(store.active_snapshot().await.unwrap().is_none());

        let first = snapshot(
            "a",
            vec![entity("ofac-sdn:1", "ACME"), entity("ofac-sdn:2", "BETA")],
        );
        let info = store.store_snapshot(&first).await.unwrap();
        assert_eq!(info.hash, first.hash());
        assert_eq!(info.entity_count, 2);
        assert!(info.active);
        assert_eq!(
            info.sources, first.sources,
            "sources (paths, hashes, dates, counts, warnings) come back as stored"
        );
        assert!(info.rescreened_at.is_none());

        let back = store.snapshot_entities(info.id).await.unwrap();
        assert_eq!(
            back, first.entities,
            "entities come back equal and in order"
        );
        let whole = store.load_snapshot(info.id).await.unwrap();
        assert_eq!(whole.hash(), first.hash());

        let second = snapshot(
            "b",
            vec![entity("ofac-sdn:1", "ACME"), entity("ofac-sdn:3", "GAMMA")],
        );
        let info2 = store.store_snapshot(&second).await.unwrap();
        assert!(info2.id > info.id);
        let all = store.snapshots().await.unwrap();
        assert_eq!(
            all.iter().map(|s| (s.id, s.active)).collect::<Vec<_>>(),
            vec![(info.id, false), (info2.id, true)]
        );
        assert_eq!(
            store.active_snapshot().await.unwrap().map(|s| s.id),
            Some(info2.id)
        );
        assert!(all[0].loaded_at <= all[1].loaded_at);

        store.activate_snapshot(info.id).await.unwrap();
        assert_eq!(
            store.active_snapshot().await.unwrap().map(|s| s.id),
            Some(info.id)
        );
        assert!(matches!(
            store.activate_snapshot(9999).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store.active_snapshot().await.unwrap().map(|s| s.id),
            Some(info.id),
            "a failed activation changes nothing"
        );

        assert!(matches!(
            store.snapshot(9999).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.snapshot_entities(9999).await,
            Err(StoreError::NotFound(_))
        ));

        store.mark_rescreened(info2.id).await.unwrap();
        assert!(store
            .snapshot(info2.id)
            .await
            .unwrap()
            .rescreened_at
            .is_some());
    })
    .await;
}

#[tokio::test]
async fn bulk_snapshot_of_fifteen_thousand_entities() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let entities: Vec<Entity> = (0..15_000)
            .map(|i| entity(&format!("ofac-sdn:{i}"), &format!("PARTY NUMBER {i}")))
            .collect();
        let snap = snapshot("bulk", entities);
        let info = store.store_snapshot(&snap).await.unwrap();
        assert_eq!(info.entity_count, 15_000);
        let back = store.snapshot_entities(info.id).await.unwrap();
        assert_eq!(back.len(), 15_000);
        assert_eq!(back[0], snap.entities[0]);
        assert_eq!(back[14_999], snap.entities[14_999]);
        assert_eq!(back, snap.entities);
    })
    .await;
}

#[tokio::test]
async fn screenings_upsert_parties_and_keep_every_result() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let snap = store
            .store_snapshot(&snapshot("a", vec![entity("ofac-sdn:1", "ACME")]))
            .await
            .unwrap();

        let acme = party("ACME");
        let r1 = store
            .record_screenings(
                &[ScreeningRecord {
                    party: acme.clone(),
                    snapshot_id: snap.id,
                    result: result(vec![hit("ofac-sdn:1", 0.97)], 0.85),
                }],
                &screening_entry,
            )
            .await
            .unwrap();
        assert_eq!(r1.len(), 1);
        let (r1, receipt) = (vec![r1[0].0.clone()], r1[0].1);
        assert_eq!(receipt.index, 0, "the first entry of an empty ledger");
        assert_eq!(r1[0].ledger_index, Some(0));
        assert_eq!(r1[0].party_id, party_id(&acme));
        assert_eq!(r1[0].hit_count, 1);

        // The same party again (different case of country, padded name) plus another party, in one batch.
        let mut again = acme.clone();
        again.country = Some("IR".into());
        again.name = "  ACME ".into();
        let other = party("BETA");
        let r2 = store
            .record_screenings(
                &[
                    ScreeningRecord {
                        party: again,
                        snapshot_id: snap.id,
                        result: result(vec![], 0.9),
                    },
                    ScreeningRecord {
                        party: other.clone(),
                        snapshot_id: snap.id,
                        result: result(vec![], 0.85),
                    },
                ],
                &screening_entry,
            )
            .await
            .unwrap();
        // Each result and its ledger entry were stored together, in order.
        let entries = store.ledger_entries(0, 10).await.unwrap();
        assert_eq!(entries.len(), 3);
        for (i, (stored, receipt)) in r2.iter().enumerate() {
            assert_eq!(receipt.index, 1 + i as u64);
            assert_eq!(stored.ledger_index, Some(receipt.index));
            let e = &entries[receipt.index as usize];
            assert_eq!(
                e.entry,
                format!("{{\"i\":{i},\"screening\":{}}}", stored.id)
            );
            assert_eq!(e.leaf_hash, receipt.leaf_hash);
        }
        let r2: Vec<StoredScreening> = r2.into_iter().map(|(s, _)| s).collect();
        assert_eq!(r2[0].party_id, r1[0].party_id, "same party, same id");
        assert_ne!(r2[1].party_id, r1[0].party_id);

        let parties = store.parties().await.unwrap();
        assert_eq!(parties.len(), 2);
        let p = store.party(&r1[0].party_id).await.unwrap();
        assert_eq!(p.name, "ACME");
        assert_eq!(p.country.as_deref(), Some("IR"));
        assert_eq!(p.party_type, Some(PartyType::Entity));
        assert_eq!(p.identifiers, vec!["IMO 123".to_string()]);
        assert_eq!(
            p.threshold, 0.9,
            "the latest threshold is kept for re-screening"
        );
        assert!(p.first_screened <= p.last_screened);
        assert_eq!(p.query().name, "ACME");

        let history = store.screenings(&p.id).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].hits[0]["entity"], "ofac-sdn:1");
        assert_eq!(history[0].hits[0]["score"], 0.97);
        assert_eq!(history[0].algorithm, "test-alg/1");
        assert_eq!(history[1].hit_count, 0);
        assert_eq!(
            history[0].ledger_index,
            Some(0),
            "read back with its ledger index"
        );
        assert_eq!(history[1].ledger_index, Some(1));
        assert!(matches!(
            store.party("nope").await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn new_hits_are_recorded_once_and_batches_are_atomic() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let a = store
            .store_snapshot(&snapshot("a", vec![entity("ofac-sdn:1", "ACME")]))
            .await
            .unwrap();
        let b = store
            .store_snapshot(&snapshot(
                "b",
                vec![
                    entity("ofac-sdn:1", "ACME"),
                    entity("ofac-sdn:2", "ACME TWO"),
                ],
            ))
            .await
            .unwrap();
        let stored = store
            .record_screenings(
                &[ScreeningRecord {
                    party: party("ACME"),
                    snapshot_id: a.id,
                    result: result(vec![], 0.85),
                }],
                &screening_entry,
            )
            .await
            .unwrap();
        let pid = stored[0].0.party_id.clone();
        let new_hit = |entity: &str, change| NewHit {
            party_id: pid.clone(),
            from_snapshot_id: a.id,
            to_snapshot_id: b.id,
            entity_id: entity.into(),
            change,
            score: 0.91,
            hit: serde_json::to_value(hit(entity, 0.91)).unwrap(),
        };

        let first = store
            .record_new_hits(&[new_hit("ofac-sdn:2", EntryChange::Added)], &new_hit_entry)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1.index, 1, "after the screening's entry");
        let again = store
            .record_new_hits(
                &[
                    new_hit("ofac-sdn:2", EntryChange::Added),
                    new_hit("ofac-sdn:1", EntryChange::Changed),
                ],
                &new_hit_entry,
            )
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "the hit already recorded is skipped");
        assert_eq!(again[0].0.hit.entity_id, "ofac-sdn:1");
        assert_eq!(
            again[0].1.index, 2,
            "only the new hit is recorded in the ledger"
        );

        // A batch with an unknown party violates a foreign key: nothing of it is stored.
        let mut bad = new_hit("ofac-sdn:3", EntryChange::Added);
        bad.party_id = "no-such-party".into();
        let good = new_hit("ofac-sdn:4", EntryChange::Added);
        assert!(store
            .record_new_hits(&[good, bad], &new_hit_entry)
            .await
            .is_err());
        assert_eq!(
            store.ledger_size().await.unwrap(),
            3,
            "nor any ledger entry"
        );

        let all = store.new_hits(b.id).await.unwrap();
        assert_eq!(
            all.iter()
                .map(|h| h.hit.entity_id.as_str())
                .collect::<Vec<_>>(),
            vec!["ofac-sdn:2", "ofac-sdn:1"]
        );
        assert_eq!(all[0].hit.change, EntryChange::Added);
        assert_eq!(all[0].hit.hit["entity"], "ofac-sdn:2");
        assert!(store.new_hits(a.id).await.unwrap().is_empty());
    })
    .await;
}

/// A screening result and its ledger entry commit together: when the entry of the second
/// result of a batch cannot be built, neither result, nor party, nor any entry is stored.
#[tokio::test]
async fn a_result_is_never_stored_without_its_ledger_entry() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let snap = store
            .store_snapshot(&snapshot("a", vec![entity("ofac-sdn:1", "ACME")]))
            .await
            .unwrap();
        let records = [party("ACME"), party("BETA")].map(|p| ScreeningRecord {
            party: p,
            snapshot_id: snap.id,
            result: result(vec![], 0.85),
        });
        let failing = |i: usize, s: &StoredScreening| {
            if i == 1 {
                Err(StoreError::Corrupt("entry cannot be built".into()))
            } else {
                screening_entry(i, s)
            }
        };
        let err = store
            .record_screenings(&records, &failing)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("entry cannot be built"), "{err}");
        assert!(store.parties().await.unwrap().is_empty());
        assert_eq!(store.ledger_size().await.unwrap(), 0);

        // The same batch then goes through whole, numbered from the empty ledger's start.
        let ok = store
            .record_screenings(&records, &screening_entry)
            .await
            .unwrap();
        assert_eq!(
            ok.iter().map(|(_, r)| r.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(store.parties().await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn real_bundled_snapshot_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists");
    let snap = stackport_screening::parse::load_dir(&dir)
        .unwrap_or_else(|e| panic!("bundled lists do not load: {e}"));
    assert!(
        snap.entities.len() > 10_000,
        "the bundled snapshot holds the SDN, non-SDN, CSL and DPL entries"
    );
    let snap = std::sync::Arc::new(snap);
    for_each_backend(|db| {
        let snap = snap.clone();
        async move {
            let store = db.open().await;
            let info = store.store_snapshot(&snap).await.unwrap();
            assert_eq!(info.hash, snap.hash());
            assert_eq!(info.sources, snap.sources);
            let back = store.snapshot_entities(info.id).await.unwrap();
            assert_eq!(back.len(), snap.entities.len());
            assert!(back == snap.entities, "every real entity comes back equal");
            let d = stackport_screening::diff::diff(&snap.entities, &back);
            assert!(d.is_empty());
        }
    })
    .await;
}

#[tokio::test]
async fn each_party_keeps_the_snapshot_it_was_last_compared_on() {
    for_each_backend(|db| async move {
        let store = db.open().await;
        let s1 = store
            .store_snapshot(&snapshot("one", vec![entity("e:1", "ACME")]))
            .await
            .unwrap();
        let s2 = store
            .store_snapshot(&snapshot("two", vec![entity("e:2", "ACME")]))
            .await
            .unwrap();
        let records = vec![
            ScreeningRecord {
                party: party("ACME"),
                snapshot_id: s1.id,
                result: result(vec![], 0.8),
            },
            ScreeningRecord {
                party: party("OTHER"),
                snapshot_id: s2.id,
                result: result(vec![], 0.8),
            },
        ];
        store
            .record_screenings(&records, &screening_entry)
            .await
            .unwrap();
        let (acme, other) = (party_id(&party("ACME")), party_id(&party("OTHER")));
        assert_eq!(
            store.party(&acme).await.unwrap().last_snapshot_id,
            Some(s1.id)
        );
        assert_eq!(
            store.party(&other).await.unwrap().last_snapshot_id,
            Some(s2.id)
        );
        assert_eq!(store.parties_behind(s2.id).await.unwrap(), 1);
        assert_eq!(store.parties_behind(s1.id).await.unwrap(), 1);

        // Only parties still on the snapshot compared from are moved on.
        let both = vec![acme.clone(), other.clone()];
        let n = store
            .mark_parties_compared(&both, Some(s1.id), s2.id)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            store.party(&acme).await.unwrap().last_snapshot_id,
            Some(s2.id)
        );
        assert_eq!(store.parties_behind(s2.id).await.unwrap(), 0);
        assert_eq!(
            store
                .mark_parties_compared(&both, None, s1.id)
                .await
                .unwrap(),
            0,
            "no party is without a snapshot"
        );

        // Screening again on the earlier snapshot records that one.
        store
            .record_screenings(&records[..1], &screening_entry)
            .await
            .unwrap();
        assert_eq!(
            store.party(&acme).await.unwrap().last_snapshot_id,
            Some(s1.id)
        );
    })
    .await;
}

/// Rows written under the first five migrations (RFC 3339 text times on SQLite, `TIMESTAMPTZ`
/// on PostgreSQL, milliseconds in proposals), in one SQL text both backends take.
const ROWS_BEFORE_0006: &str = r#"
INSERT INTO screening_snapshots (hash, loaded_at, entity_count, active, rescreened_at) VALUES
    ('h1', '2024-02-29T23:59:59.123456Z', 0, FALSE, '2024-03-01T00:00:00.000001Z'),
    ('h2', '2025-06-30T12:00:00.500000Z', 0, TRUE, NULL);
INSERT INTO screening_snapshot_sources (snapshot_id, position, path, format, sha256, data_date, records, warnings)
    VALUES (1, 0, 'ofac/sdn.csv', 'ofac-sdn', 'abc', NULL, 5, '[]');
INSERT INTO screening_parties (id, name, party_type, country, dob, identifiers, threshold, first_screened, last_screened)
    VALUES ('p', 'ACME', 'entity', 'IR', NULL, '["IMO 1"]', 0.8, '2024-02-29T23:59:59.123456Z', '2025-06-30T12:00:01.999999Z');
INSERT INTO screening_results (party_id, snapshot_id, threshold, algorithm, hit_count, hits, screened_at)
    VALUES ('p', 2, 0.8, 'alg/1', 3, '[]', '2025-06-30T12:00:01.999999Z');
INSERT INTO screening_new_hits (party_id, from_snapshot_id, to_snapshot_id, entity_id, change, score, hit, found_at)
    VALUES ('p', 1, 2, 'e1', 'added', 0.9, '{}', '2025-06-30T12:00:02.000000Z');
INSERT INTO ledger_checkpoints (size, root, note, signed_at) VALUES (1, '', 'n1', '2025-06-30T12:00:03.250000Z');
INSERT INTO ledger_checkpoints (size, root, note) VALUES (2, '', 'n2');
INSERT INTO proposals (id, consortium, date, verdict, input, review, review_digest, parties, list_snapshot_id,
        checked_snapshot_id, rulebook_version, program_rules_version, ledger_index, created_at, updated_at)
    VALUES ('prop', 'c', '2024-01-01', 'approved', '{}', '{}', 'd', '[]', 2, 2, 'r1', 'p1', 0, 1709251199123, 1709251200456);
INSERT INTO proposal_reevaluations (proposal_id, trigger_kind, from_version, to_version, changes, ledger_index, at)
    VALUES ('prop', 'rulebook', NULL, 'r2', '{}', 1, 1709251201789);
"#;

/// Runs `$body` with `$pool` a plain pool (no store) on the test database `$db`, either backend.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.backend {
            stackport_store::Backend::Sqlite => {
                let opts =
                    <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&$db.url)
                        .unwrap()
                        .create_if_missing(true)
                        .foreign_keys(true);
                let $pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
                let out = $body;
                $pool.close().await;
                out
            }
            stackport_store::Backend::Postgres => {
                let $pool = sqlx::PgPool::connect(&$db.url).await.unwrap();
                let out = $body;
                $pool.close().await;
                out
            }
        }
    };
}

/// A migrator of the migrations numbered up to `last` in `migrations/<backend>`, copied byte for
/// byte to a directory of their own, so that the store finds them applied and runs the rest.
async fn old_migrator(backend: &str, last: i64) -> (sqlx::migrate::Migrator, tempfile::TempDir) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap();
        let name = f.file_name().into_string().unwrap();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= last {
            std::fs::copy(f.path(), dir.path().join(&name)).unwrap();
        }
    }
    let m = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    (m, dir)
}

#[tokio::test]
async fn a_database_of_the_old_time_columns_migrates_with_its_times() {
    use time::macros::datetime;

    for_each_backend(|db| async move {
        let (m, _dir) = old_migrator(db.label(), 5).await;
        with_pool!(db, pool => {
            m.run(&pool).await.unwrap();
            sqlx::raw_sql(ROWS_BEFORE_0006).execute(&pool).await.unwrap();
        });
        let before_open = stackport_store::timestamp::now_micros();
        // Opening runs the remaining migrations over the rows.
        let store = db.open().await;

        let snaps = store.snapshots().await.unwrap();
        assert_eq!(snaps.len(), 2);
        assert_eq!(
            snaps[0].loaded_at,
            datetime!(2024-02-29 23:59:59.123456 UTC)
        );
        assert_eq!(
            snaps[0].rescreened_at,
            Some(datetime!(2024-03-01 00:00:00.000001 UTC))
        );
        assert!(!snaps[0].active);
        assert_eq!(snaps[0].sources.len(), 1, "the snapshot keeps its files");
        assert_eq!(snaps[1].loaded_at, datetime!(2025-06-30 12:00:00.5 UTC));
        assert_eq!(snaps[1].rescreened_at, None);
        assert_eq!(
            store.active_snapshot().await.unwrap().unwrap().id,
            snaps[1].id
        );

        let p = store.party("p").await.unwrap();
        assert_eq!(p.first_screened, datetime!(2024-02-29 23:59:59.123456 UTC));
        assert_eq!(p.last_screened, datetime!(2025-06-30 12:00:01.999999 UTC));
        assert_eq!(p.identifiers, vec!["IMO 1".to_string()]);
        assert_eq!(p.last_snapshot_id, None, "not recorded before 0007");
        let s = store.screenings("p").await.unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].screened_at, datetime!(2025-06-30 12:00:01.999999 UTC));
        assert_eq!(s[0].hit_count, 3);
        let nh = store.new_hits(2).await.unwrap();
        assert_eq!(nh.len(), 1);
        assert_eq!(nh[0].found_at, datetime!(2025-06-30 12:00:02 UTC));

        let prop = store.proposal("prop").await.unwrap();
        assert_eq!(prop.created_at, 1_709_251_199_123_000);
        assert_eq!(prop.updated_at, 1_709_251_200_456_000);
        let re = store.reevaluations("prop").await.unwrap();
        assert_eq!(re[0].at, 1_709_251_201_789_000);

        // The checkpoints' signing times, which nothing reads back but an operator.
        let signed: Vec<i64> = with_pool!(db, pool => {
            sqlx::query_scalar("SELECT signed_at FROM ledger_checkpoints ORDER BY size")
                .fetch_all(&pool)
                .await
                .unwrap()
        });
        assert_eq!(signed[0], 1_751_284_803_250_000);
        // The default of the old column: now, when the row was written (a minute's slack).
        assert!(
            (signed[1] - before_open).abs() < 60_000_000,
            "{} vs {before_open}",
            signed[1]
        );

        // New rows are written and read in the same representation.
        let info = store
            .store_snapshot(&snapshot("new", vec![entity("e:1", "ACME")]))
            .await
            .unwrap();
        assert!(info.loaded_at > snaps[1].loaded_at);
    })
    .await;
}
