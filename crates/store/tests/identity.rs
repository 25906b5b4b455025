//! Organisations, users and tokens on both backends: bootstrap once, names and e-mail
//! addresses unique, a token found only by its hash with its user and organisation, revocation
//! kept at its first time.

use stackport_identity::{new_id, ApiToken, OrgKind, Role};
use stackport_store::testing::for_each_backend;
use stackport_store::{Organisation, StoreError, TokenRecord, User};

fn org(name: &str, kind: OrgKind) -> Organisation {
    Organisation {
        id: new_id("org"),
        name: name.into(),
        kind,
        created_at: 1_000,
    }
}

fn user(org: &Organisation, email: &str, role: Role) -> User {
    User {
        id: new_id("usr"),
        org_id: org.id.clone(),
        email: email.into(),
        name: email.split('@').next().unwrap().into(),
        role,
        password_hash: None,
        created_at: 2_000,
        disabled_at: None,
    }
}

fn token(user: &User, secret: &ApiToken, role: Role) -> TokenRecord {
    TokenRecord {
        id: new_id("tok"),
        hash: secret.hash().as_str().to_string(),
        user_id: user.id.clone(),
        role,
        label: "test".into(),
        created_at: 3_000,
        expires_at: 9_000,
        revoked_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_round_trips_and_bootstraps_once() {
    for_each_backend(|db| async move {
        let s = db.open().await;
        let platform = org("Stackport", OrgKind::Platform);
        let admin = user(&platform, "root@example.org", Role::Admin);
        let secret = ApiToken::generate();
        let t = token(&admin, &secret, Role::Admin);
        s.bootstrap_identity(&platform, &admin, &t)
            .await
            .expect("first bootstrap");

        // Once per database, whatever the names.
        let other = org("Someone else", OrgKind::Platform);
        let other_admin = user(&other, "x@example.org", Role::Admin);
        let t2 = token(&other_admin, &ApiToken::generate(), Role::Admin);
        let e = s
            .bootstrap_identity(&other, &other_admin, &t2)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        assert_eq!(
            s.organisations().await.unwrap(),
            vec![platform.clone()],
            "nothing half-written"
        );

        // Found by hash only, joined with user and organisation.
        let c = s
            .credential(secret.hash().as_str())
            .await
            .unwrap()
            .expect("found");
        assert_eq!(
            (c.token.clone(), c.user.clone(), c.org.clone()),
            (t.clone(), admin.clone(), platform.clone())
        );
        assert!(s
            .credential(ApiToken::generate().hash().as_str())
            .await
            .unwrap()
            .is_none());
        assert!(
            s.credential(secret.expose()).await.unwrap().is_none(),
            "the text is not a key"
        );

        // Unique names and addresses; users need an existing organisation.
        let consortium = org("Consortium A", OrgKind::Consortium);
        s.create_organisation(&consortium).await.unwrap();
        let dup = org("Consortium A", OrgKind::Exporter);
        assert!(matches!(
            s.create_organisation(&dup).await,
            Err(StoreError::Conflict(_))
        ));
        let officer = user(&consortium, "officer@a.example", Role::ComplianceOfficer);
        s.create_user(&officer).await.unwrap();
        let again = user(&consortium, "officer@a.example", Role::Reviewer);
        assert!(matches!(
            s.create_user(&again).await,
            Err(StoreError::Conflict(_))
        ));
        let orphan = User {
            org_id: "org_missing".into(),
            ..user(&consortium, "o@a.example", Role::Admin)
        };
        assert!(matches!(
            s.create_user(&orphan).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.users_of(&consortium.id).await.unwrap(),
            vec![officer.clone()]
        );
        assert_eq!(s.user_by_email("officer@a.example").await.unwrap(), officer);
        assert_eq!(s.organisation(&consortium.id).await.unwrap(), consortium);
        assert!(matches!(
            s.organisation("org_missing").await,
            Err(StoreError::NotFound(_))
        ));

        // Tokens: listed per user, revoked once (the first time kept).
        let ot = token(&officer, &ApiToken::generate(), Role::Auditor);
        s.create_token(&ot).await.unwrap();
        assert_eq!(s.tokens_of(&officer.id).await.unwrap(), vec![ot.clone()]);
        let r = s.revoke_token(&ot.id, 5_000).await.unwrap();
        assert_eq!(r.revoked_at, Some(5_000));
        let r = s.revoke_token(&ot.id, 6_000).await.unwrap();
        assert_eq!(r.revoked_at, Some(5_000));
        assert!(matches!(
            s.revoke_token("tok_missing", 1).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}
