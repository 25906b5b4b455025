//! Webhooks (issue 11, item 6): an organisation registers an endpoint for events (a hold
//! placed, a licence exhausted, …); each event is queued in the store's outbox and delivered
//! by a background task, signed, and retried with exponential backoff until delivered or
//! given up.
//!
//! The signature (the scheme Stripe and GitHub use): `Stackport-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256 of "<t>.<body>" under the webhook's secret>` (RFC 2104). A receiver
//! recomputes it, compares in constant time, and refuses a `t` older than a few minutes, so a
//! captured delivery cannot be replayed later; `Stackport-Delivery` names the delivery, so a
//! retried one can be recognised.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stackport_identity::policy::Principal;
use stackport_store::{DeliveryRecord, Storage, WebhookRecord};

use crate::AppError;

/// The events a webhook may ask for (`*`: all).
pub const EVENTS: [&str; 4] = [
    "hold.placed",
    "licence.exhausted",
    "financing.decided",
    "proposal.designated",
];
/// Attempts before a delivery is given up (`failed`).
pub const MAX_ATTEMPTS: i64 = 8;
/// Header of the signature.
pub const SIGNATURE_HEADER: &str = "Stackport-Signature";
/// Header naming the delivery.
pub const DELIVERY_HEADER: &str = "Stackport-Delivery";

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid signature of `body` under `secret`, made within `tolerance_s`
/// of `now` (what a receiver checks).
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance_s {
        return false;
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&v1).is_ok()
}

/// Seconds before attempt `n + 1` after `n` failed: 1, 2, 4, … up to 10 minutes.
pub fn backoff_s(attempts: i64) -> i64 {
    (1i64 << attempts.clamp(0, 20)).min(600)
}

pub struct WebhookService {
    store: Arc<dyn Storage>,
}

impl WebhookService {
    pub fn new(store: Arc<dyn Storage>) -> Self {
        Self { store }
    }

    /// Registers an endpoint of the caller's organisation; returns it with its secret (shown
    /// this once by the API).
    pub async fn register(
        &self,
        p: &Principal,
        url: &str,
        events: &[String],
    ) -> Result<WebhookRecord, AppError> {
        let invalid = |m: String| AppError::Invalid {
            code: "invalid_request",
            message: m,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("url: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(invalid(format!("url: {url:?} is not an http(s) URL")));
        }
        if events.is_empty() || events.len() > EVENTS.len() {
            return Err(invalid(format!(
                "events: 1 to {} of {}, or *",
                EVENTS.len(),
                EVENTS.join(", ")
            )));
        }
        for e in events {
            if e != "*" && !EVENTS.contains(&e.as_str()) {
                return Err(invalid(format!(
                    "events: {e:?} is none of {}, *",
                    EVENTS.join(", ")
                )));
            }
        }
        let secret_bytes: [u8; 32] = rand::random();
        let hook = WebhookRecord {
            id: stackport_identity::new_id("whk"),
            owner_org: p.org.clone(),
            url: parsed.to_string(),
            secret: format!(
                "whsec_{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes)
            ),
            events: events.to_vec(),
            created_at: stackport_store::timestamp::now_micros(),
        };
        self.store.create_webhook(&hook).await?;
        Ok(hook)
    }

    pub async fn list(&self, p: &Principal) -> Result<Vec<WebhookRecord>, AppError> {
        Ok(self.store.webhooks(&p.org).await?)
    }

    /// A webhook's deliveries; another organisation's webhook is not found.
    pub async fn deliveries(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<Vec<DeliveryRecord>, AppError> {
        let missing = || AppError::NotFound(format!("webhook {id:?}"));
        let hook = self.store.webhook(id).await.map_err(|_| missing())?;
        if hook.owner_org != p.org {
            return Err(missing());
        }
        Ok(self.store.deliveries(id).await?)
    }
}

/// Queues `event` for `owner`'s webhooks (a failure to queue is logged, never fails the
/// decision that raised it: the decision is in the ledger either way).
pub async fn emit(store: &Arc<dyn Storage>, owner: &str, event: &str, data: serde_json::Value) {
    let now = stackport_store::timestamp::now_micros();
    let payload = serde_json::json!({
        "event": event,
        "organisation": owner,
        "at": crate::registry::rfc3339(now),
        "data": data,
    })
    .to_string();
    if let Err(e) = store.enqueue_event(owner, event, &payload, now).await {
        tracing::warn!(event, error = %e, "webhook event not queued");
    }
}

/// Delivers due deliveries every `poll` until the returned handle is dropped (aborted).
pub fn start_delivery(store: Arc<dyn Storage>, poll: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        loop {
            if let Err(e) = deliver_due(&store, &client).await {
                tracing::warn!(error = %e, "webhook delivery pass failed");
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// One pass: claims what is due and sends it.
pub async fn deliver_due(
    store: &Arc<dyn Storage>,
    client: &reqwest::Client,
) -> Result<usize, AppError> {
    let now = stackport_store::timestamp::now_micros();
    // A claim is leased for a minute: a crash mid-send makes it due again then.
    let claimed = store.claim_deliveries(now, now + 60_000_000, 50).await?;
    let n = claimed.len();
    for (d, hook) in claimed {
        let t = now / 1_000_000;
        let sent = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature(&hook.secret, t, &d.payload))
            .header(DELIVERY_HEADER, &d.id)
            .body(d.payload.clone())
            .send()
            .await;
        let (ok, status, error) = match sent {
            Ok(r) => (
                r.status().is_success(),
                Some(i64::from(r.status().as_u16())),
                None,
            ),
            Err(e) => (false, None, Some(e.to_string())),
        };
        let at = stackport_store::timestamp::now_micros();
        let (outcome, next) = if ok {
            ("delivered", at)
        } else if d.attempts + 1 >= MAX_ATTEMPTS {
            ("failed", at)
        } else {
            ("pending", at + backoff_s(d.attempts) * 1_000_000)
        };
        store
            .record_attempt(&d.id, outcome, status, error.as_deref(), next, at)
            .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_body_secret_and_time() {
        let h = signature("whsec_k", 1_700_000_000, "{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_k", &h, "{\"a\":1}", 1_700_000_100, 300));
        assert!(
            !verify("whsec_k", &h, "{\"a\":2}", 1_700_000_100, 300),
            "another body"
        );
        assert!(
            !verify("whsec_x", &h, "{\"a\":1}", 1_700_000_100, 300),
            "another secret"
        );
        assert!(
            !verify("whsec_k", &h, "{\"a\":1}", 1_700_001_000, 300),
            "replayed later"
        );
        assert!(!verify("whsec_k", "t=1,v1=zz", "{}", 1, 300));
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(
            (0..12).map(backoff_s).collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
        );
    }
}
