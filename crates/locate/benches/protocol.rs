//! The landmark's own processing per challenge (issue 5 bar: < 100 µs) and the chip's signing
//! time, which sits inside the timed window and inflates every radius by 99.9 km per ms.
//! P-384 goes through AWS-LC; `verify_signature/p384_rustcrypto` keeps the pure-Rust figure
//! beside it.
//!
//! `cargo bench -p stackport-locate --bench protocol`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use stackport_locate::protocol::{
    AgentGuard, ChipId, ChipKey, LandmarkId, LandmarkKey, LandmarkSession, SecretKey,
    SessionConfig, SignatureAlgorithm, SignedMeasurement,
};

fn bench(c: &mut Criterion) {
    let landmark = LandmarkId::new("lm-sin-1").expect("id");
    let chip = ChipId::new("GPU-0001").expect("id");
    let lm_key = LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
    let now_us = 1_790_000_000_000_000u64;
    for (name, alg) in [
        ("ed25519", SignatureAlgorithm::Ed25519),
        ("p384", SignatureAlgorithm::EcdsaP384Sha384),
    ] {
        let chip_key = ChipKey(SecretKey::generate(alg));
        let config = SessionConfig {
            rounds: u16::MAX,
            timeout_ns: u64::MAX,
        };
        let mut probe = LandmarkSession::new(
            landmark.clone(),
            chip.clone(),
            chip_key.0.public_key(),
            0,
            config,
        );
        let challenge = probe
            .issue(&lm_key, [7; 32], now_us)
            .expect("round")
            .clone();
        let response = challenge.respond(&chip_key).expect("sign");

        // The landmark's whole per-round work: build + sign a challenge, then decode, check
        // and verify the chip's response (the response is prepared outside the timer).
        let mut seq = 0u64;
        c.bench_function(&format!("landmark_round/{name}_chip"), |b| {
            b.iter_batched(
                || {
                    seq += 1;
                    let s = LandmarkSession::new(
                        landmark.clone(),
                        chip.clone(),
                        chip_key.0.public_key(),
                        seq,
                        config,
                    );
                    let mut twin = s.clone();
                    let c = twin
                        .issue(&lm_key, [seq as u8; 32], now_us)
                        .expect("round")
                        .clone();
                    let r = c.respond(&chip_key).expect("sign");
                    // Same inputs give the same (deterministic, RFC 8032) Ed25519 challenge
                    // signature, so the prepared response answers the challenge the timed
                    // session is about to build.
                    (s, r, seq)
                },
                |(mut s, r, n)| {
                    s.issue(&lm_key, [n as u8; 32], now_us).expect("round");
                    s.mark_sent(1).expect("sent");
                    let out = s.on_response(r.encoded(), 1_000_000);
                    assert!(matches!(
                        out,
                        stackport_locate::protocol::ResponseOutcome::Accepted { .. }
                    ));
                    black_box(out)
                },
                criterion::BatchSize::SmallInput,
            )
        });
        // The same round with the chip's signature checked off the round's path
        // (`on_response_deferred`, as `stackport landmark` runs it): the work between
        // receiving a response and sending the next challenge. The check itself runs on
        // another core meanwhile (`verify_response` below) and is settled later.
        let mut seq_deferred = 1u64 << 40;
        c.bench_function(&format!("landmark_round_pipelined/{name}_chip"), |b| {
            b.iter_batched(
                || {
                    seq_deferred += 1;
                    let n = seq_deferred;
                    let s = LandmarkSession::new(
                        landmark.clone(),
                        chip.clone(),
                        chip_key.0.public_key(),
                        n,
                        config,
                    );
                    let mut twin = s.clone();
                    let c = twin
                        .issue(&lm_key, [n as u8; 32], now_us)
                        .expect("round")
                        .clone();
                    (s, c.respond(&chip_key).expect("sign"), n)
                },
                |(mut s, r, n)| {
                    s.issue(&lm_key, [n as u8; 32], now_us).expect("round");
                    s.mark_sent(1).expect("sent");
                    let out = s.on_response_deferred(r.encoded(), 1_000_000);
                    assert!(matches!(
                        out,
                        stackport_locate::protocol::Precheck::Pending(_)
                    ));
                    // The pending check is dropped outside the timer's concern: returned.
                    (s, out)
                },
                criterion::BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("verify_response/{name}"), |b| {
            b.iter(|| {
                black_box(
                    response
                        .verify(&challenge, &chip_key.0.public_key())
                        .is_ok(),
                )
            })
        });
        // One bare signature check over a response-sized message, the floor under
        // `verify_response` and `landmark_round`.
        let chip_pk = chip_key.0.public_key();
        let msg = [0x5a; 120];
        let sig = chip_key.0.sign(b"tag", &msg);
        c.bench_function(&format!("verify_signature/{name}"), |b| {
            b.iter(|| black_box(chip_pk.verify(b"tag", black_box(&msg), &sig)))
        });
        if alg == SignatureAlgorithm::Ed25519 {
            // The same check through `ed25519-dalek`'s `verify_strict` (the implementation
            // before AWS-LC), in the same run for an A/B on the same machine load.
            let text = chip_pk.to_string();
            let raw: [u8; 32] = hex::decode(text.trim_start_matches("ed25519:"))
                .expect("hex")
                .try_into()
                .expect("32 bytes");
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).expect("point");
            let dalek_sig = ed25519_dalek::Signature::from_slice(sig.as_bytes()).expect("64 bytes");
            let mut signed = b"tag".to_vec();
            signed.extend_from_slice(&msg);
            c.bench_function("verify_signature/ed25519_dalek_strict", |b| {
                b.iter(|| black_box(vk.verify_strict(black_box(&signed), &dalek_sig).is_ok()))
            });
        }
        if alg == SignatureAlgorithm::EcdsaP384Sha384 {
            // The same check through RustCrypto `p384` (pure Rust, the implementation before
            // AWS-LC), in the same run for an A/B on the same machine load.
            use p384::ecdsa::signature::Verifier as _;
            let text = chip_pk.to_string();
            let sec1 = hex::decode(text.trim_start_matches("p384:")).expect("hex");
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("point");
            let rc_sig = p384::ecdsa::Signature::from_slice(sig.as_bytes()).expect("r || s");
            let mut signed = b"tag".to_vec();
            signed.extend_from_slice(&msg);
            c.bench_function("verify_signature/p384_rustcrypto", |b| {
                b.iter(|| black_box(vk.verify(black_box(&signed), &rc_sig).is_ok()))
            });
        }
        // The chip's side inside the timed window: admit (with a pinned landmark key) and sign.
        let pinned = std::collections::HashMap::from([(landmark.clone(), lm_key.0.public_key())]);
        let mut next = 0u64;
        c.bench_function(&format!("agent_answer/{name}"), |b| {
            b.iter_batched(
                || {
                    next += 1;
                    let mut c2 = challenge.challenge.clone();
                    c2.seq = next;
                    (
                        AgentGuard::new(chip.clone(), pinned.clone(), true, u64::MAX),
                        c2.sign(&lm_key),
                    )
                },
                |(mut g, c)| {
                    let admitted = g.admit(c.encoded(), now_us).expect("admitted");
                    black_box(admitted.respond(&chip_key).expect("sign"))
                },
                criterion::BatchSize::SmallInput,
            )
        });
        // The registry's check of one measurement (every signature).
        let mut s = LandmarkSession::new(
            landmark.clone(),
            chip.clone(),
            chip_key.0.public_key(),
            0,
            config,
        );
        let c1 = s.issue(&lm_key, [1; 32], now_us).expect("round").clone();
        s.mark_sent(0).expect("sent");
        s.on_response(c1.respond(&chip_key).expect("sign").encoded(), 1_000_000);
        let m = s
            .finish(
                &lm_key,
                stackport_locate::protocol::MeasurementId([3; 16]),
                now_us,
            )
            .expect("measured");
        let bytes = m.encoded().to_vec();
        c.bench_function(&format!("registry_decode_verify_measurement/{name}"), |b| {
            b.iter(|| {
                let d = SignedMeasurement::decode(black_box(&bytes)).expect("decodes");
                black_box(
                    d.verify(&lm_key.0.public_key(), &chip_key.0.public_key())
                        .is_ok(),
                )
            })
        });
    }
    c.bench_function("build_sign_challenge", |b| {
        let mut s = LandmarkSession::new(
            landmark.clone(),
            chip.clone(),
            SecretKey::generate(SignatureAlgorithm::Ed25519).public_key(),
            0,
            SessionConfig {
                rounds: u16::MAX,
                timeout_ns: u64::MAX,
            },
        );
        b.iter(|| {
            if s.all_issued() {
                s = LandmarkSession::new(
                    landmark.clone(),
                    chip.clone(),
                    lm_key.0.public_key(),
                    0,
                    SessionConfig {
                        rounds: u16::MAX,
                        timeout_ns: u64::MAX,
                    },
                );
            }
            black_box(
                s.issue(&lm_key, [9; 32], now_us)
                    .expect("round")
                    .encoded()
                    .len(),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
