//! Several processes (here: pools) opening one new SQLite file at once all succeed: the
//! migrations run once, under a lock, never twice in a race (`duplicate column name`, `table
//! already exists`).

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_of_one_sqlite_file_all_succeed() {
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("new.sqlite").display());
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { stackport_store::open(&url).await.map(|_| ()) })
            })
            .collect();
        for (i, o) in opens.into_iter().enumerate() {
            o.await
                .expect("task")
                .unwrap_or_else(|e| panic!("round {round}, open {i}: {e}"));
        }
        // And the file is usable afterwards.
        let s = stackport_store::open(&url).await.expect("reopen");
        assert!(s.parties().await.expect("parties").is_empty());
    }
}
