//! The replay, reorder, forgery and lateness rules as pure state machines. Time is passed in
//! by the caller (monotonic nanoseconds for round trips, Unix microseconds for wall time), so
//! every rule is testable without sockets or sleeps.
//!
//! Landmark side ([`LandmarkSession`]): one session measures one chip over N rounds, one
//! challenge outstanding at a time (like ping). Each response is classified:
//!
//! | outcome | rule |
//! |---|---|
//! | [`Rejection::Malformed`] | does not decode |
//! | [`Rejection::Misaddressed`] | names another chip or landmark |
//! | [`Rejection::Unsolicited`] | sequence number never issued in this session |
//! | [`Rejection::Forged`] | digest or chip signature does not match the issued challenge |
//! | [`Rejection::Replayed`] | valid, but that round was already answered |
//! | [`Rejection::Reordered`] | valid answer to an earlier round, arriving after a newer challenge was issued |
//! | [`Rejection::Late`] | valid answer to the current round, after its deadline |
//! | `Accepted` | valid answer to the current round, in time: its RTT counts |
//!
//! The signature is checked before the replay and order rules, so a forger cannot make a
//! garbage packet count as a mere replay. Timing is sound in one direction only: the caller
//! stamps the send time *before* sending and the receive time *after* receiving, so measured
//! RTT can only exceed the true one (a smaller RTT would shrink the disk: unsound).
//!
//! Chip side ([`AgentGuard`]): refuses challenges from unknown landmarks (when keys are
//! configured), with bad signatures, from a clock too far off, or whose sequence number is
//! not above the last one answered for that landmark (a replayed challenge).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::keys::{LandmarkKey, PublicKey};
use super::message::{
    Challenge, ChipId, LandmarkId, Measurement, MeasurementId, Rejections, SignedChallenge,
    SignedMeasurement, SignedResponse,
};

/// Why a landmark rejected a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    Malformed,
    Misaddressed,
    Unsolicited,
    Forged,
    Replayed,
    Reordered,
    Late,
}

/// What happened to one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseOutcome {
    Accepted { rtt_ns: u64 },
    Rejected(Rejection),
}

/// Session settings.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Challenges to issue (N rounds).
    pub rounds: u16,
    /// A response later than this after its challenge is `Late` (its RTT would be useless
    /// anyway, and waiting forever lets a relay take its time).
    pub timeout_ns: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        // 30 rounds: the minimum converges after ~30 pings (location.md §2.3 item 4).
        Self {
            rounds: 30,
            timeout_ns: 1_000_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// All rounds were issued.
    Finished,
    /// `mark_sent` without a challenge waiting to be sent.
    NothingToSend,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Finished => f.write_str("all rounds of the session were issued"),
            Self::NothingToSend => f.write_str("no challenge is waiting to be sent"),
        }
    }
}
impl std::error::Error for SessionError {}

#[derive(Debug, Clone)]
struct Round {
    challenge: SignedChallenge,
    digest: [u8; 32],
    sent_at_ns: Option<u64>,
    answered: bool,
}

/// A landmark measuring one chip. See the module docs for the rules.
#[derive(Debug, Clone)]
pub struct LandmarkSession {
    landmark: LandmarkId,
    chip: ChipId,
    chip_key: PublicKey,
    config: SessionConfig,
    first_seq: u64,
    rounds: Vec<Round>,
    best: Option<(u64, usize, SignedResponse)>,
    accepted: u16,
    rejections: Rejections,
    /// Responses handed out by [`LandmarkSession::on_response_deferred`] and not yet settled.
    unsettled: u16,
}

/// What [`LandmarkSession::on_response_deferred`] makes of a response.
#[derive(Debug)]
pub enum Precheck {
    /// Rejected at once (by a cheap rule, or by its signature on a rare path).
    Rejected(Rejection),
    /// A timely answer to the current round whose fields all match: the round is closed, so
    /// the next challenge may be issued now. Its signature is still to be checked:
    /// [`PendingResponse::verify`] (anywhere, e.g. on another core), then
    /// [`LandmarkSession::settle`]. Until then its RTT does not count.
    Pending(Box<PendingResponse>),
    /// Verified and accepted inline. The rules send every timely first answer down the
    /// pending path, so this does not happen today; it keeps the classification total.
    Accepted { rtt_ns: u64 },
}

/// A response waiting for its signature check. `Send`: the check may run on another thread.
#[derive(Debug)]
pub struct PendingResponse {
    idx: usize,
    rtt_ns: u64,
    response: SignedResponse,
    chip_key: PublicKey,
}

impl PendingResponse {
    /// The round trip this response will count with once its signature verifies.
    pub fn rtt_ns(&self) -> u64 {
        self.rtt_ns
    }

    /// Checks the chip's signature (pure; the expensive step of a round).
    pub fn verify(self) -> SettledResponse {
        let valid = self.response.verify_signature(&self.chip_key).is_ok();
        SettledResponse {
            idx: self.idx,
            rtt_ns: self.rtt_ns,
            response: self.response,
            valid,
        }
    }
}

/// A [`PendingResponse`] whose signature was checked, for [`LandmarkSession::settle`].
#[derive(Debug)]
pub struct SettledResponse {
    idx: usize,
    rtt_ns: u64,
    response: SignedResponse,
    valid: bool,
}

fn bump(c: &mut u16) {
    *c = c.saturating_add(1);
}

impl LandmarkSession {
    /// `first_seq` must exceed every sequence number this landmark used before with this
    /// chip (e.g. the current Unix time in microseconds), so agents can refuse replays.
    pub fn new(
        landmark: LandmarkId,
        chip: ChipId,
        chip_key: PublicKey,
        first_seq: u64,
        config: SessionConfig,
    ) -> Self {
        Self {
            landmark,
            chip,
            chip_key,
            config,
            first_seq,
            rounds: Vec::with_capacity(config.rounds as usize),
            best: None,
            accepted: 0,
            rejections: Rejections::default(),
            unsettled: 0,
        }
    }

    /// Builds and signs the next challenge. The previous one, if unanswered, is abandoned
    /// (an answer to it will be `Reordered`). Call [`Self::mark_sent`] right before sending.
    pub fn issue(
        &mut self,
        key: &LandmarkKey,
        nonce: [u8; 32],
        now_us: u64,
    ) -> Result<&SignedChallenge, SessionError> {
        if self.rounds.len() >= self.config.rounds as usize {
            return Err(SessionError::Finished);
        }
        let challenge = Challenge {
            landmark: self.landmark.clone(),
            chip: self.chip.clone(),
            nonce,
            issued_at_us: now_us,
            seq: self.first_seq + self.rounds.len() as u64,
        }
        .sign(key);
        let digest = challenge.digest();
        self.rounds.push(Round {
            challenge,
            digest,
            sent_at_ns: None,
            answered: false,
        });
        Ok(&self.rounds.last().expect("just pushed").challenge)
    }

    /// Stamps the send time of the newest challenge (monotonic ns, taken before sending).
    pub fn mark_sent(&mut self, now_ns: u64) -> Result<(), SessionError> {
        match self.rounds.last_mut() {
            Some(r) if r.sent_at_ns.is_none() => {
                r.sent_at_ns = Some(now_ns);
                Ok(())
            }
            _ => Err(SessionError::NothingToSend),
        }
    }

    /// Classifies a response received at `now_ns` (monotonic, taken after receiving).
    pub fn on_response(&mut self, bytes: &[u8], now_ns: u64) -> ResponseOutcome {
        let outcome = self.classify(bytes, now_ns);
        self.record(outcome)
    }

    /// [`Self::on_response`] with the chip's signature checked off the round's path.
    ///
    /// On the common path (a timely first answer to the current round) every rule is applied
    /// except the signature, the round is closed and its RTT stamped, and the response comes
    /// back as [`Precheck::Pending`]: the caller may send the next challenge at once and
    /// verify this one meanwhile on another core, then [`Self::settle`] it. The landmark's own
    /// work between receiving a response and sending the next challenge is then the cheap
    /// rules only (with a P-384 chip key the signature check is ≈ 4/5 of a round).
    ///
    /// Soundness is unchanged: an RTT counts, and can become the measurement's minimum, only
    /// once its signature has verified ([`Self::settle`]); a response that fails is counted
    /// as forged and its round reopened. Rare paths (a second answer to a round, an answer to
    /// an earlier round, a late one) are verified inline, so the rule that a forger cannot
    /// make garbage count as a replay still holds.
    pub fn on_response_deferred(&mut self, bytes: &[u8], now_ns: u64) -> Precheck {
        let outcome = match self.precheck(bytes, now_ns) {
            Ok(pending) => {
                self.unsettled = self.unsettled.saturating_add(1);
                return Precheck::Pending(Box::new(pending));
            }
            Err(outcome) => outcome,
        };
        match self.record(outcome) {
            ResponseOutcome::Rejected(why) => Precheck::Rejected(why),
            ResponseOutcome::Accepted { rtt_ns } => Precheck::Accepted { rtt_ns },
        }
    }

    /// Applies a signature check of a response from [`Self::on_response_deferred`].
    pub fn settle(&mut self, settled: SettledResponse) -> ResponseOutcome {
        self.unsettled = self.unsettled.saturating_sub(1);
        let Some(round) = self.rounds.get_mut(settled.idx) else {
            return self.record(ResponseOutcome::Rejected(Rejection::Unsolicited));
        };
        if !settled.valid {
            // The genuine answer may still come while this round is the newest.
            round.answered = false;
            return self.record(ResponseOutcome::Rejected(Rejection::Forged));
        }
        self.accept(settled.idx, settled.rtt_ns, settled.response)
    }

    /// Responses handed out as pending and not yet settled. [`Self::finish`] ignores them
    /// (they count as neither accepted nor rejected), so settle every one first.
    pub fn unsettled(&self) -> u16 {
        self.unsettled
    }

    /// The cheap rules of [`Self::classify`] for the common path; anything else is classified
    /// in full (signature included) and returned as `Err(outcome)`.
    fn precheck(&mut self, bytes: &[u8], now_ns: u64) -> Result<PendingResponse, ResponseOutcome> {
        use ResponseOutcome::Rejected;
        let Ok(resp) = SignedResponse::decode(bytes) else {
            return Err(Rejected(Rejection::Malformed));
        };
        if resp.chip != self.chip || resp.landmark != self.landmark {
            return Err(Rejected(Rejection::Misaddressed));
        }
        let Some(idx) = self.round_of(resp.seq) else {
            return Err(Rejected(Rejection::Unsolicited));
        };
        let round = &self.rounds[idx];
        let common = idx + 1 == self.rounds.len()
            && !round.answered
            && resp.challenge_digest == round.digest
            && round
                .sent_at_ns
                .is_some_and(|sent| now_ns.saturating_sub(sent).max(1) <= self.config.timeout_ns);
        if !common {
            return Err(self.classify(bytes, now_ns));
        }
        let sent = round.sent_at_ns.unwrap_or(now_ns);
        self.rounds[idx].answered = true;
        Ok(PendingResponse {
            idx,
            rtt_ns: now_ns.saturating_sub(sent).max(1),
            response: resp,
            chip_key: self.chip_key.clone(),
        })
    }

    fn round_of(&self, seq: u64) -> Option<usize> {
        seq.checked_sub(self.first_seq)
            .map(|i| i as usize)
            .filter(|&i| i < self.rounds.len())
    }

    /// Counts a rejection; passes an acceptance through.
    fn record(&mut self, outcome: ResponseOutcome) -> ResponseOutcome {
        if let ResponseOutcome::Rejected(why) = outcome {
            let r = &mut self.rejections;
            bump(match why {
                Rejection::Malformed => &mut r.malformed,
                Rejection::Misaddressed => &mut r.misaddressed,
                Rejection::Unsolicited => &mut r.unsolicited,
                Rejection::Forged => &mut r.forged,
                Rejection::Replayed => &mut r.replayed,
                Rejection::Reordered => &mut r.reordered,
                Rejection::Late => &mut r.late,
            });
        }
        outcome
    }

    /// A verified, timely answer: its RTT counts.
    fn accept(&mut self, idx: usize, rtt_ns: u64, resp: SignedResponse) -> ResponseOutcome {
        self.accepted = self.accepted.saturating_add(1);
        if self.best.as_ref().is_none_or(|(best, _, _)| rtt_ns < *best) {
            self.best = Some((rtt_ns, idx, resp));
        }
        ResponseOutcome::Accepted { rtt_ns }
    }

    fn classify(&mut self, bytes: &[u8], now_ns: u64) -> ResponseOutcome {
        use ResponseOutcome::Rejected;
        let Ok(resp) = SignedResponse::decode(bytes) else {
            return Rejected(Rejection::Malformed);
        };
        if resp.chip != self.chip || resp.landmark != self.landmark {
            return Rejected(Rejection::Misaddressed);
        }
        let Some(idx) = self.round_of(resp.seq) else {
            return Rejected(Rejection::Unsolicited);
        };
        let newest = idx + 1 == self.rounds.len();
        let round = &mut self.rounds[idx];
        if resp
            .verify_digest(
                &self.chip,
                &self.landmark,
                resp.seq,
                &round.digest,
                &self.chip_key,
            )
            .is_err()
        {
            return Rejected(Rejection::Forged);
        }
        if round.answered {
            return Rejected(Rejection::Replayed);
        }
        if !newest {
            return Rejected(Rejection::Reordered);
        }
        let Some(sent) = round.sent_at_ns else {
            // A valid answer to a challenge not yet sent: it can only have been predicted,
            // which a fresh random nonce makes impossible, or the caller forgot mark_sent.
            return Rejected(Rejection::Unsolicited);
        };
        round.answered = true;
        let rtt_ns = now_ns.saturating_sub(sent).max(1);
        if rtt_ns > self.config.timeout_ns {
            return Rejected(Rejection::Late);
        }
        self.accept(idx, rtt_ns, resp)
    }

    /// Whether the newest challenge was answered (the caller may issue the next one).
    pub fn current_answered(&self) -> bool {
        self.rounds.last().is_some_and(|r| r.answered)
    }

    /// Whether every round was issued.
    pub fn all_issued(&self) -> bool {
        self.rounds.len() >= self.config.rounds as usize
    }

    pub fn rejections(&self) -> Rejections {
        self.rejections
    }

    pub fn accepted(&self) -> u16 {
        self.accepted
    }

    /// The minimum accepted RTT so far.
    pub fn min_rtt_ns(&self) -> Option<u64> {
        self.best.as_ref().map(|b| b.0)
    }

    /// Ends the session: the signed measurement, or `None` when no round was answered.
    pub fn finish(
        self,
        key: &LandmarkKey,
        id: MeasurementId,
        now_us: u64,
    ) -> Option<SignedMeasurement> {
        let (min_rtt_ns, idx, best_response) = self.best?;
        let mut h = Sha256::new();
        for r in &self.rounds {
            h.update(r.challenge.challenge.nonce);
        }
        let best_challenge = self.rounds[idx].challenge.clone();
        Some(
            Measurement {
                id,
                landmark: self.landmark,
                chip: self.chip,
                rounds: self.rounds.len() as u16,
                count: self.accepted,
                min_rtt_ns,
                measured_at_us: now_us,
                nonce_digest: h.finalize().into(),
                rejections: self.rejections,
                best_challenge,
                best_response,
            }
            .sign(key),
        )
    }
}

/// Why an agent refused to sign a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Malformed,
    /// Addressed to another chip.
    NotForThisChip,
    /// The landmark is not in the agent's pinned set.
    UnknownLandmark,
    /// The landmark's signature does not verify.
    Forged,
    /// Sequence number not above the last one answered for this landmark.
    Replayed,
    /// The challenge's time is further from the agent's clock than the allowed skew.
    Stale,
}

/// The chip side's rules. Pinning landmark keys (location.md §1.7, "landmark impersonation /
/// replay") keeps the chip from being used as a signing oracle by strangers.
#[derive(Debug, Clone)]
pub struct AgentGuard {
    chip: ChipId,
    landmarks: HashMap<LandmarkId, PublicKey>,
    /// When false, challenges from any landmark are signed (the signature only binds the
    /// challenge digest under the response tag, so it cannot be misused as another message).
    require_known: bool,
    max_skew_us: u64,
    last_seq: HashMap<LandmarkId, u64>,
}

impl AgentGuard {
    pub fn new(
        chip: ChipId,
        landmarks: HashMap<LandmarkId, PublicKey>,
        require_known: bool,
        max_skew_us: u64,
    ) -> Self {
        Self {
            chip,
            landmarks,
            require_known,
            max_skew_us,
            last_seq: HashMap::new(),
        }
    }

    /// Decides whether to sign `bytes` at agent wall time `now_us`.
    pub fn admit(&mut self, bytes: &[u8], now_us: u64) -> Result<SignedChallenge, Refusal> {
        let c = SignedChallenge::decode(bytes).map_err(|_| Refusal::Malformed)?;
        if c.challenge.chip != self.chip {
            return Err(Refusal::NotForThisChip);
        }
        match self.landmarks.get(&c.challenge.landmark) {
            Some(k) => c.verify(k).map_err(|_| Refusal::Forged)?,
            None if self.require_known => return Err(Refusal::UnknownLandmark),
            None => {}
        }
        if c.challenge.issued_at_us.abs_diff(now_us) > self.max_skew_us {
            return Err(Refusal::Stale);
        }
        if let Some(&last) = self.last_seq.get(&c.challenge.landmark) {
            if c.challenge.seq <= last {
                return Err(Refusal::Replayed);
            }
        }
        self.last_seq
            .insert(c.challenge.landmark.clone(), c.challenge.seq);
        Ok(c)
    }
}
