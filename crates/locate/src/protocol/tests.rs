//! Protocol tests: round trips, every rejection rule, and decoders fed random and mutated bytes.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

fn ids() -> (LandmarkId, ChipId) {
    (
        LandmarkId::new("lm-sin-1").expect("valid id"),
        ChipId::new("GPU-0001").expect("valid id"),
    )
}

struct Fixture {
    lm_key: LandmarkKey,
    chip_key: ChipKey,
    landmark: LandmarkId,
    chip: ChipId,
}

fn fixture(alg: SignatureAlgorithm) -> Fixture {
    let (landmark, chip) = ids();
    Fixture {
        lm_key: LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519)),
        chip_key: ChipKey(SecretKey::generate(alg)),
        landmark,
        chip,
    }
}

impl Fixture {
    fn session(&self, rounds: u16) -> LandmarkSession {
        LandmarkSession::new(
            self.landmark.clone(),
            self.chip.clone(),
            self.chip_key.public_key(),
            1_000,
            SessionConfig {
                rounds,
                timeout_ns: 50_000_000,
            },
        )
    }
}

const NOW_US: u64 = 1_790_000_000_000_000;

/// One full honest session; returns the signed measurement.
fn honest_measurement(f: &Fixture, rounds: u16) -> SignedMeasurement {
    let mut s = f.session(rounds);
    for i in 0..rounds {
        let c = s
            .issue(&f.lm_key, [i as u8; 32], NOW_US)
            .expect("round available")
            .clone();
        s.mark_sent(10_000 * i as u64).expect("fresh challenge");
        let resp = c.respond(&f.chip_key).expect("software key signs");
        let rtt = 2_000_000 + 1000 * ((i as u64 * 7) % 5);
        assert_eq!(
            s.on_response(resp.encoded(), 10_000 * i as u64 + rtt),
            ResponseOutcome::Accepted { rtt_ns: rtt }
        );
    }
    s.finish(&f.lm_key, MeasurementId([7; 16]), NOW_US + 10)
        .expect("answered rounds")
}

#[test]
fn messages_round_trip_and_verify_for_both_chip_algorithms() {
    for alg in [
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::EcdsaP384Sha384,
    ] {
        let f = fixture(alg);
        let m = honest_measurement(&f, 5);
        let decoded = SignedMeasurement::decode(m.encoded()).expect("own encoding decodes");
        assert_eq!(decoded, m);
        decoded
            .verify(&f.lm_key.0.public_key(), &f.chip_key.public_key())
            .expect("honest measurement verifies");
        assert_eq!(m.measurement.count, 5);
        assert_eq!(m.measurement.rounds, 5);
        assert_eq!(m.measurement.min_rtt_ns, 2_000_000);
        assert!(matches!(
            Message::decode(m.encoded()),
            Ok(Message::Measurement(_))
        ));
        let c = &m.measurement.best_challenge;
        assert_eq!(SignedChallenge::decode(c.encoded()).expect("decodes"), *c);
        assert!(matches!(
            Message::decode(c.encoded()),
            Ok(Message::Challenge(_))
        ));
        let r = &m.measurement.best_response;
        assert_eq!(SignedResponse::decode(r.encoded()).expect("decodes"), *r);
        // Wrong keys fail: another chip's key, or the chip key in the landmark's place.
        let other = ChipKey(SecretKey::generate(alg));
        assert!(decoded
            .verify(&f.lm_key.0.public_key(), &other.public_key())
            .is_err());
        assert!(decoded
            .verify(&f.chip_key.public_key(), &f.chip_key.public_key())
            .is_err());
    }
}

#[test]
fn every_signed_byte_is_bound() {
    let f = fixture(SignatureAlgorithm::Ed25519);
    let m = honest_measurement(&f, 3);
    let bytes = m.encoded().to_vec();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if let Ok(d) = SignedMeasurement::decode(&b) {
            assert!(
                d.verify(&f.lm_key.0.public_key(), &f.chip_key.public_key())
                    .is_err(),
                "flip at byte {i} still verifies"
            );
        }
    }
}

#[test]
fn version_and_kind_are_checked() {
    let f = fixture(SignatureAlgorithm::Ed25519);
    let m = honest_measurement(&f, 1);
    let mut b = m.encoded().to_vec();
    b[2] = 2;
    assert_eq!(
        SignedMeasurement::decode(&b),
        Err(DecodeError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    let c = m.measurement.best_challenge.encoded();
    assert!(matches!(
        SignedResponse::decode(c),
        Err(DecodeError::WrongKind { .. })
    ));
    assert!(matches!(
        SignedChallenge::decode(b"XX\x01\x01"),
        Err(DecodeError::BadMagic { .. })
    ));
    let mut trailing = c.to_vec();
    trailing.push(0);
    assert!(matches!(
        SignedChallenge::decode(&trailing),
        Err(DecodeError::Trailing { trailing: 1, .. })
    ));
}

#[test]
fn session_classifies_forged_replayed_reordered_late_and_unsolicited() {
    let f = fixture(SignatureAlgorithm::Ed25519);
    let mut s = f.session(4);
    // Round 0: answered honestly.
    let c0 = s.issue(&f.lm_key, [1; 32], NOW_US).expect("round").clone();
    s.mark_sent(0).expect("sent");
    let r0 = c0.respond(&f.chip_key).expect("signs");
    assert_eq!(
        s.on_response(r0.encoded(), 1_000_000),
        ResponseOutcome::Accepted { rtt_ns: 1_000_000 }
    );
    // The same response again: a replay.
    assert_eq!(
        s.on_response(r0.encoded(), 1_100_000),
        ResponseOutcome::Rejected(Rejection::Replayed)
    );

    // Round 1: a forger signs with its own key, then the honest answer comes.
    let c1 = s.issue(&f.lm_key, [2; 32], NOW_US).expect("round").clone();
    s.mark_sent(2_000_000).expect("sent");
    let forger = ChipKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
    let forged = c1.respond(&forger).expect("signs");
    assert_eq!(
        s.on_response(forged.encoded(), 2_100_000),
        ResponseOutcome::Rejected(Rejection::Forged)
    );
    // A forged answer to a round already answered is still forged, not a replay.
    let forged0 = c0.respond(&forger).expect("signs");
    assert_eq!(
        s.on_response(forged0.encoded(), 2_150_000),
        ResponseOutcome::Rejected(Rejection::Forged)
    );
    // Round 1 left unanswered; round 2 issued; the answer to round 1 arrives: reordered.
    let r1 = c1.respond(&f.chip_key).expect("signs");
    let c2 = s.issue(&f.lm_key, [3; 32], NOW_US).expect("round").clone();
    s.mark_sent(3_000_000).expect("sent");
    assert_eq!(
        s.on_response(r1.encoded(), 3_100_000),
        ResponseOutcome::Rejected(Rejection::Reordered)
    );
    // Round 2 answered after the 50 ms deadline: late, and not counted.
    let r2 = c2.respond(&f.chip_key).expect("signs");
    assert_eq!(
        s.on_response(r2.encoded(), 3_000_000 + 60_000_000),
        ResponseOutcome::Rejected(Rejection::Late)
    );

    // A response for a sequence number never issued, and one for another chip.
    let mut c_future = c2.challenge.clone();
    c_future.seq += 100;
    let rf = c_future
        .sign(&f.lm_key)
        .respond(&f.chip_key)
        .expect("signs");
    assert_eq!(
        s.on_response(rf.encoded(), 3_200_000),
        ResponseOutcome::Rejected(Rejection::Unsolicited)
    );
    let mut c_other = c2.challenge.clone();
    c_other.chip = ChipId::new("GPU-9999").expect("valid");
    let ro = c_other.sign(&f.lm_key).respond(&f.chip_key).expect("signs");
    assert_eq!(
        s.on_response(ro.encoded(), 3_200_000),
        ResponseOutcome::Rejected(Rejection::Misaddressed)
    );
    assert_eq!(
        s.on_response(b"garbage", 3_200_000),
        ResponseOutcome::Rejected(Rejection::Malformed)
    );

    let rej = s.rejections();
    assert_eq!(
        rej,
        Rejections {
            malformed: 1,
            misaddressed: 1,
            unsolicited: 1,
            forged: 2,
            replayed: 1,
            reordered: 1,
            late: 1
        }
    );
    assert_eq!(s.accepted(), 1);
    let m = s
        .finish(&f.lm_key, MeasurementId([1; 16]), NOW_US)
        .expect("one round answered");
    assert_eq!(m.measurement.rejections, rej);
    assert_eq!(m.measurement.min_rtt_ns, 1_000_000);
    assert_eq!(m.measurement.rounds, 3);
    let d = SignedMeasurement::decode(m.encoded()).expect("decodes");
    d.verify(&f.lm_key.0.public_key(), &f.chip_key.public_key())
        .expect("verifies");
}

#[test]
fn session_limits_rounds_and_requires_mark_sent() {
    let f = fixture(SignatureAlgorithm::Ed25519);
    let mut s = f.session(1);
    let c = s.issue(&f.lm_key, [0; 32], NOW_US).expect("round").clone();
    // Answer arrives before mark_sent: cannot be timed, not accepted.
    let r = c.respond(&f.chip_key).expect("signs");
    assert_eq!(
        s.on_response(r.encoded(), 5),
        ResponseOutcome::Rejected(Rejection::Unsolicited)
    );
    assert!(s.issue(&f.lm_key, [0; 32], NOW_US).is_err());
    assert!(f
        .session(1)
        .finish(&f.lm_key, MeasurementId([0; 16]), NOW_US)
        .is_none());
}

#[test]
fn agent_guard_rules() {
    let f = fixture(SignatureAlgorithm::Ed25519);
    let pinned = HashMap::from([(f.landmark.clone(), f.lm_key.0.public_key())]);
    let mut g = AgentGuard::new(f.chip.clone(), pinned, true, 5_000_000);
    let challenge = |seq: u64, t: u64, key: &LandmarkKey, chip: &ChipId, lm: &LandmarkId| {
        Challenge {
            landmark: lm.clone(),
            chip: chip.clone(),
            nonce: [9; 32],
            issued_at_us: t,
            seq,
        }
        .sign(key)
    };
    let ok = challenge(10, NOW_US, &f.lm_key, &f.chip, &f.landmark);
    assert!(g.admit(ok.encoded(), NOW_US).is_ok());
    assert_eq!(g.admit(ok.encoded(), NOW_US), Err(Refusal::Replayed));
    let older = challenge(9, NOW_US, &f.lm_key, &f.chip, &f.landmark);
    assert_eq!(g.admit(older.encoded(), NOW_US), Err(Refusal::Replayed));
    let stale = challenge(11, NOW_US - 10_000_000, &f.lm_key, &f.chip, &f.landmark);
    assert_eq!(g.admit(stale.encoded(), NOW_US), Err(Refusal::Stale));
    let impostor = LandmarkKey(SecretKey::generate(SignatureAlgorithm::Ed25519));
    let forged = challenge(12, NOW_US, &impostor, &f.chip, &f.landmark);
    assert_eq!(g.admit(forged.encoded(), NOW_US), Err(Refusal::Forged));
    let unknown = challenge(
        12,
        NOW_US,
        &impostor,
        &f.chip,
        &LandmarkId::new("lm-x").expect("valid"),
    );
    assert_eq!(
        g.admit(unknown.encoded(), NOW_US),
        Err(Refusal::UnknownLandmark)
    );
    let other_chip = challenge(
        12,
        NOW_US,
        &f.lm_key,
        &ChipId::new("GPU-2").expect("valid"),
        &f.landmark,
    );
    assert_eq!(
        g.admit(other_chip.encoded(), NOW_US),
        Err(Refusal::NotForThisChip)
    );
    assert_eq!(g.admit(&[0xff; 3], NOW_US), Err(Refusal::Malformed));
    let next = challenge(12, NOW_US, &f.lm_key, &f.chip, &f.landmark);
    assert!(g.admit(next.encoded(), NOW_US).is_ok());
}

#[test]
fn plausibility_rules() {
    let f = fixture(SignatureAlgorithm::Ed25519);
    let m = honest_measurement(&f, 2).measurement;
    assert!(m.check_plausible(NOW_US, 60, 3600).is_ok());
    let mut z = m.clone();
    z.min_rtt_ns = 0;
    assert_eq!(
        z.check_plausible(NOW_US, 60, 3600),
        Err(PlausibilityError::ZeroRtt)
    );
    let mut a = m.clone();
    a.min_rtt_ns = 20_000_000_000;
    assert!(matches!(
        a.check_plausible(NOW_US, 60, 3600),
        Err(PlausibilityError::AbsurdRtt { .. })
    ));
    let mut c = m.clone();
    c.count = 3;
    assert!(matches!(
        c.check_plausible(NOW_US, 60, 3600),
        Err(PlausibilityError::BadCount { .. })
    ));
    assert!(matches!(
        m.check_plausible(NOW_US - 120_000_000, 60, 3600),
        Err(PlausibilityError::FromFuture { .. })
    ));
    assert!(matches!(
        m.check_plausible(NOW_US + 7_200_000_000, 60, 3600),
        Err(PlausibilityError::TooOld { .. })
    ));
}

#[test]
fn identifiers_are_validated() {
    assert!(ChipId::new("").is_err());
    assert!(ChipId::new(&"a".repeat(65)).is_err());
    assert!(ChipId::new("GPU 1").is_err());
    assert!(ChipId::new("GPU-8f3a:0.1_x").is_ok());
}

/// Every decoder on one input: must return, never panic.
fn decode_all(bytes: &[u8]) {
    let _ = SignedChallenge::decode(bytes);
    let _ = SignedResponse::decode(bytes);
    let _ = SignedMeasurement::decode(bytes);
    let _ = Message::decode(bytes);
    let _ = PublicKey::parse(&String::from_utf8_lossy(bytes));
}

fn valid_corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for alg in [
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::EcdsaP384Sha384,
    ] {
        let f = fixture(alg);
        let m = honest_measurement(&f, 2);
        out.push(m.measurement.best_challenge.encoded().to_vec());
        out.push(m.measurement.best_response.encoded().to_vec());
        out.push(m.encoded().to_vec());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes);
        // With a valid header in front, the decoders get past the first checks.
        for kind in 1u8..=3 {
            let mut b = vec![b'S', b'P', VERSION, kind];
            b.extend_from_slice(&bytes);
            decode_all(&b);
        }
    }

    #[test]
    fn decoders_never_panic_on_mutated_valid_messages(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        thread_local!(static CORPUS: Vec<Vec<u8>> = valid_corpus());
        let mut b = CORPUS.with(|c| c[which].clone());
        for (at, byte, op) in edits {
            if b.is_empty() { b.push(byte); continue; }
            let i = at.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => { b.insert(i, byte); }
                2 => { b.remove(i); }
                _ => b.truncate(i),
            }
        }
        decode_all(&b);
        // A mutated measurement that still decodes must not verify under unrelated keys
        // (and verification itself must not panic).
        if let Ok(m) = SignedMeasurement::decode(&b) {
            let k = SecretKey::generate(SignatureAlgorithm::Ed25519).public_key();
            prop_assert!(m.verify(&k, &k).is_err());
        }
    }
}

/// The deferred path gives the same measurement as the inline one for an honest chip, with
/// every signature checked (here on another thread) before its RTT counts.
#[test]
fn deferred_verification_matches_inline_for_an_honest_chip() {
    for alg in [
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::EcdsaP384Sha384,
    ] {
        let f = fixture(alg);
        let inline = honest_measurement(&f, 6);
        let mut s = f.session(6);
        let mut checks = Vec::new();
        for i in 0..6u16 {
            let c = s
                .issue(&f.lm_key, [i as u8; 32], NOW_US)
                .expect("round")
                .clone();
            s.mark_sent(10_000 * i as u64).expect("sent");
            let resp = c.respond(&f.chip_key).expect("signs");
            let rtt = 2_000_000 + 1000 * ((i as u64 * 7) % 5);
            match s.on_response_deferred(resp.encoded(), 10_000 * i as u64 + rtt) {
                Precheck::Pending(p) => {
                    assert_eq!(p.rtt_ns(), rtt);
                    // The round is closed: the next challenge may go out before the check.
                    assert!(s.current_answered());
                    checks.push(std::thread::spawn(move || p.verify()));
                }
                other => panic!("{alg:?} round {i}: {other:?}"),
            }
            assert_eq!(s.min_rtt_ns(), None, "no RTT counts before its check");
        }
        assert_eq!(s.unsettled(), 6);
        for c in checks {
            assert!(matches!(
                s.settle(c.join().expect("check thread")),
                ResponseOutcome::Accepted { .. }
            ));
        }
        assert_eq!(s.unsettled(), 0);
        let m = s
            .finish(&f.lm_key, MeasurementId([7; 16]), NOW_US + 10)
            .expect("answered rounds");
        assert_eq!(m.measurement.min_rtt_ns, inline.measurement.min_rtt_ns);
        assert_eq!(m.measurement.count, inline.measurement.count);
        assert_eq!(m.measurement.rejections, inline.measurement.rejections);
        // ECDSA signatures are randomised: the best round is compared by its sequence number.
        assert_eq!(
            m.measurement.best_response.seq,
            inline.measurement.best_response.seq
        );
    }
}

/// A forger that answers first with a bad signature never sets the minimum: its response is
/// counted as forged when checked, the round reopens, and the genuine (slower) answer counts.
#[test]
fn deferred_forgery_is_counted_and_never_the_minimum() {
    let f = fixture(SignatureAlgorithm::EcdsaP384Sha384);
    let mut s = f.session(3);
    let c0 = s.issue(&f.lm_key, [1; 32], NOW_US).expect("round").clone();
    s.mark_sent(0).expect("sent");
    let forger = ChipKey(SecretKey::generate(SignatureAlgorithm::EcdsaP384Sha384));
    let forged = c0.respond(&forger).expect("signs");
    let Precheck::Pending(p) = s.on_response_deferred(forged.encoded(), 100) else {
        panic!("a forgery with matching fields passes the cheap rules");
    };
    // Before it is settled, a second answer to the round is checked inline: the genuine one
    // verifies and is a replay of a closed round, a second forgery is forged.
    let forged2 = c0.respond(&forger).expect("signs");
    assert!(matches!(
        s.on_response_deferred(forged2.encoded(), 150),
        Precheck::Rejected(Rejection::Forged)
    ));
    assert_eq!(
        s.settle(p.verify()),
        ResponseOutcome::Rejected(Rejection::Forged)
    );
    assert!(!s.current_answered(), "the round reopens");
    // The genuine answer now counts.
    let genuine = c0.respond(&f.chip_key).expect("signs");
    let Precheck::Pending(p) = s.on_response_deferred(genuine.encoded(), 2_000_000) else {
        panic!("genuine answer");
    };
    assert_eq!(
        s.settle(p.verify()),
        ResponseOutcome::Accepted { rtt_ns: 2_000_000 }
    );
    assert_eq!(s.rejections().forged, 2);
    assert_eq!(s.min_rtt_ns(), Some(2_000_000));
    // A late answer to the next round is classified inline.
    let c1 = s.issue(&f.lm_key, [2; 32], NOW_US).expect("round").clone();
    s.mark_sent(3_000_000).expect("sent");
    let r1 = c1.respond(&f.chip_key).expect("signs");
    assert!(matches!(
        s.on_response_deferred(r1.encoded(), 3_000_000 + 60_000_000),
        Precheck::Rejected(Rejection::Late)
    ));
    assert_eq!(s.unsettled(), 0);
}
