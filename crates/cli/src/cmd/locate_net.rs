//! `stackport landmark` and `stackport agent`: the two network programs of the timed exchange
//! (location.md §1.2), over UDP.
//!
//! The landmark challenges each target chip `--rounds` times, one challenge in flight at a
//! time, measures each round trip with the monotonic clock (stamped before sending and after
//! receiving, so a measured RTT can only be longer than the truth), classifies every datagram
//! with [`LandmarkSession`], and signs a measurement of the minimum. It prints one JSON line
//! per target and can POST the measurement to the registry and/or publish it to NATS
//! JetStream. The agent answers challenges with the chip key ([`ChipSigner`]), refusing
//! replayed, stale, misaddressed or (with pinned landmark keys) forged challenges.
//!
//! A hidden agent mode, `--relay-to ADDR --relay-delay-ms D`, is the attack the physics
//! defeats: a host near the landmark forwarding challenges to the chip elsewhere, adding D ms
//! each way. Another hidden flag, `--replay-previous`, makes a dishonest agent re-send its
//! previous response after each answer, so the end-to-end test can watch replays counted.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine as _;
use clap::Args;
use stackport_locate::protocol::{
    AgentGuard, ChipId, ChipKey, ChipSigner, LandmarkId, LandmarkKey, LandmarkSession,
    MeasurementId, PendingResponse, Precheck, PublicKey, SecretKey, SessionConfig, SettledResponse,
    SignatureAlgorithm, SignedMeasurement,
};

/// Largest datagram accepted (a P-384 response is under 200 bytes).
const MAX_DATAGRAM: usize = 2048;

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn parse_alg(s: &str) -> anyhow::Result<SignatureAlgorithm> {
    match s {
        "ed25519" => Ok(SignatureAlgorithm::Ed25519),
        "p384" | "ecdsa-p384" => Ok(SignatureAlgorithm::EcdsaP384Sha384),
        other => anyhow::bail!("--keygen {other:?}: expected ed25519 or p384"),
    }
}

/// Writes a fresh PKCS#8 key to `path` (never overwriting) and prints its public key.
fn keygen(path: &Path, alg: &str) -> anyhow::Result<ExitCode> {
    let key = SecretKey::generate(parse_alg(alg)?);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "{}: cannot create key file (it must not exist yet)",
                path.display()
            )
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("{}: chmod 600", path.display()))?;
    }
    f.write_all(key.to_pkcs8_pem().as_bytes())
        .with_context(|| format!("{}: write", path.display()))?;
    println!("{}", key.public_key());
    Ok(ExitCode::SUCCESS)
}

fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read key file", path.display()))?;
    SecretKey::from_pkcs8_pem(&pem).with_context(|| {
        format!(
            "{}: not a PKCS#8 PEM Ed25519 or P-384 private key",
            path.display()
        )
    })
}

/// `ID=KEY` where KEY is a textual public key or `@FILE` holding one (text or PEM).
fn parse_pinned(s: &str, flag: &str) -> anyhow::Result<(String, PublicKey)> {
    let (id, key) = s
        .split_once('=')
        .with_context(|| format!("{flag} {s:?}: expected ID=KEY or ID=@FILE"))?;
    let text = match key.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("{flag} {id}: cannot read {file}"))?,
        None => key.to_string(),
    };
    let k = PublicKey::parse(&text).with_context(|| format!("{flag} {id}"))?;
    Ok((id.to_string(), k))
}

#[derive(Args)]
pub struct AgentArgs {
    /// The chip's identifier (as enrolled in the registry).
    #[arg(long, required_unless_present_any = ["keygen", "relay_to"])]
    chip_id: Option<String>,
    /// The chip key: a PKCS#8 PEM file (Ed25519 or P-384).
    #[arg(long, required_unless_present = "relay_to")]
    key: Option<PathBuf>,
    /// Create the key file with a new key of this algorithm (ed25519 or p384), print its
    /// public key and exit.
    #[arg(long, value_name = "ALG")]
    keygen: Option<String>,
    /// UDP address to answer challenges on; the bound address is printed as `listening ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Pin a landmark's key: `ID=KEY` or `ID=@FILE` (repeatable). Challenges that claim a
    /// pinned landmark must carry its valid signature.
    #[arg(long = "landmark-key", value_name = "ID=KEY")]
    landmark_keys: Vec<String>,
    /// Refuse challenges from landmarks not pinned with --landmark-key.
    #[arg(long)]
    require_known: bool,
    /// Largest difference between a challenge's time and this host's clock (seconds).
    #[arg(long, default_value_t = 300)]
    max_skew_s: u64,
    /// (Test suite) forward every datagram to this agent and back, adding --relay-delay-ms each way.
    #[arg(long, hide = true)]
    relay_to: Option<SocketAddr>,
    #[arg(long, hide = true, default_value_t = 0.0)]
    relay_delay_ms: f64,
    /// (Test suite) a dishonest agent: after each answer, send the previous answer again.
    #[arg(long, hide = true)]
    replay_previous: bool,
}

pub fn agent(a: AgentArgs) -> anyhow::Result<ExitCode> {
    if let Some(alg) = &a.keygen {
        let path = a.key.as_deref().context("--keygen needs --key PATH")?;
        return keygen(path, alg);
    }
    let socket =
        UdpSocket::bind(a.listen).with_context(|| format!("--listen {}: cannot bind", a.listen))?;
    let local = socket.local_addr()?;
    if let Some(upstream) = a.relay_to {
        println!("listening {local}");
        std::io::stdout().flush()?;
        return relay(socket, upstream, a.relay_delay_ms);
    }
    let chip_id = a.chip_id.as_deref().context("--chip-id is required")?;
    let chip = ChipId::new(chip_id).map_err(|e| anyhow::anyhow!("--chip-id: {e}"))?;
    let key_path = a.key.as_deref().context("--key is required")?;
    let signer = ChipKey(read_key(key_path)?);
    let mut pinned = HashMap::new();
    for s in &a.landmark_keys {
        let (id, k) = parse_pinned(s, "--landmark-key")?;
        let id = LandmarkId::new(&id).map_err(|e| anyhow::anyhow!("--landmark-key {s:?}: {e}"))?;
        pinned.insert(id, k);
    }
    let mut guard = AgentGuard::new(
        chip,
        pinned,
        a.require_known,
        a.max_skew_s.saturating_mul(1_000_000),
    );
    println!("listening {local}");
    std::io::stdout().flush()?;
    eprintln!(
        "agent {chip_id}: {} key {}",
        signer.public_key().algorithm().prefix(),
        signer.public_key()
    );
    let mut buf = [0u8; MAX_DATAGRAM];
    let mut previous: Option<(Vec<u8>, SocketAddr)> = None;
    loop {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("recv"),
        };
        // The timed path: check, sign, send. Logging happens after the answer is out.
        let outcome = guard.admit(&buf[..n], now_us()).map(|c| c.respond(&signer));
        match outcome {
            Ok(Ok(resp)) => {
                socket.send_to(resp.encoded(), from).context("send")?;
                if a.replay_previous {
                    if let Some((old, to)) = &previous {
                        socket.send_to(old, *to).context("send replay")?;
                    }
                    previous = Some((resp.encoded().to_vec(), from));
                }
            }
            Ok(Err(e)) => eprintln!("agent {chip_id}: signer failed: {e}"),
            Err(refusal) => eprintln!(
                "refused {} from {from}",
                serde_json::to_string(&refusal)
                    .unwrap_or_default()
                    .trim_matches('"')
            ),
        }
    }
}

/// Forwards datagrams between the landmark side and `upstream`, each after `delay_ms`.
fn relay(socket: UdpSocket, upstream: SocketAddr, delay_ms: f64) -> anyhow::Result<ExitCode> {
    let delay = Duration::from_secs_f64(delay_ms.max(0.0) / 1000.0);
    let socket = std::sync::Arc::new(socket);
    let back =
        std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").context("relay upstream socket")?);
    back.connect(upstream)
        .with_context(|| format!("--relay-to {upstream}"))?;
    let last_client = std::sync::Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    {
        let (socket, back, last_client) = (socket.clone(), back.clone(), last_client.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; MAX_DATAGRAM];
            while let Ok(n) = back.recv(&mut buf) {
                let data = buf[..n].to_vec();
                let to = *last_client.lock().expect("relay lock");
                let socket = socket.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    if let Some(to) = to {
                        let _ = socket.send_to(&data, to);
                    }
                });
            }
        });
    }
    let mut buf = [0u8; MAX_DATAGRAM];
    loop {
        let (n, from) = socket.recv_from(&mut buf).context("relay recv")?;
        *last_client.lock().expect("relay lock") = Some(from);
        let data = buf[..n].to_vec();
        let back = back.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = back.send(&data);
        });
    }
}

#[derive(Args)]
pub struct LandmarkArgs {
    /// This landmark's identifier (as enrolled in the registry).
    #[arg(long, required_unless_present = "keygen")]
    id: Option<String>,
    /// The landmark's signing key: a PKCS#8 PEM file.
    #[arg(long)]
    key: PathBuf,
    /// Create the key file with a new key (ed25519 or p384), print its public key and exit.
    #[arg(long, value_name = "ALG")]
    keygen: Option<String>,
    /// A chip to challenge: `CHIP_ID=HOST:PORT` (repeatable).
    #[arg(long = "target", value_name = "CHIP=ADDR")]
    targets: Vec<String>,
    /// The chip's enrolled public key: `CHIP_ID=KEY` or `CHIP_ID=@FILE` (repeatable; one per target).
    #[arg(long = "chip-key", value_name = "CHIP=KEY")]
    chip_keys: Vec<String>,
    /// Challenges per measurement (the minimum RTT counts).
    #[arg(long, default_value_t = 30)]
    rounds: u16,
    /// A response later than this is late and discarded (milliseconds).
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Measure every N seconds forever; without it, measure once and exit.
    #[arg(long)]
    interval_s: Option<u64>,
    /// POST each measurement to this registry (base URL of `stackport serve`).
    #[arg(long)]
    post: Option<String>,
    /// The API token --post sends (`Authorization: Bearer`): a platform operator's, from
    /// `POST /v1/tokens`. Read from the environment so that it stays out of process listings.
    #[arg(long, env = "STACKPORT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Publish each measurement to this NATS server's JetStream.
    #[arg(long)]
    nats: Option<String>,
    /// Subject prefix for --nats; the landmark id is appended.
    #[arg(long, default_value = "stackport.locate.measurements")]
    nats_subject: String,
}

/// One target's session over UDP. Returns the measurement (None if no round was answered)
/// and the session's rejection counts.
fn measure(
    key: &LandmarkKey,
    landmark: &LandmarkId,
    chip: &ChipId,
    chip_key: &PublicKey,
    addr: SocketAddr,
    config: SessionConfig,
) -> anyhow::Result<(
    Option<SignedMeasurement>,
    stackport_locate::protocol::Rejections,
)> {
    let socket = UdpSocket::bind(if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })
    .context("bind")?;
    socket
        .connect(addr)
        .with_context(|| format!("connect {addr}"))?;
    let epoch = Instant::now();
    let mono_ns = || epoch.elapsed().as_nanos() as u64;
    let mut session = LandmarkSession::new(
        landmark.clone(),
        chip.clone(),
        chip_key.clone(),
        now_us(),
        config,
    );
    let mut buf = [0u8; MAX_DATAGRAM];
    let mut nonce = [0u8; 32];
    // The chip's signature is checked on a second thread while the next challenge goes out
    // (`LandmarkSession::on_response_deferred`): with a P-384 chip key that check is most of
    // a round's work, and no RTT counts before its check has passed.
    let (to_check, checks) = std::sync::mpsc::channel::<Box<PendingResponse>>();
    let (to_settle, settled) = std::sync::mpsc::channel::<SettledResponse>();
    let verifier = std::thread::spawn(move || {
        for pending in checks {
            if to_settle.send(pending.verify()).is_err() {
                break;
            }
        }
    });
    let on_datagram = |session: &mut LandmarkSession, datagram: &[u8], at: u64| {
        if let Precheck::Pending(p) = session.on_response_deferred(datagram, at) {
            // The verifier lives until `to_check` is dropped below; a send cannot fail before.
            let _ = to_check.send(p);
        }
    };
    while !session.all_issued() {
        while let Ok(done) = settled.try_recv() {
            session.settle(done);
        }
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let bytes = session
            .issue(key, nonce, now_us())
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .encoded()
            .to_vec();
        // Stamp before sending: RTT can only come out longer than the truth.
        session
            .mark_sent(mono_ns())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sent = mono_ns();
        socket.send(&bytes).context("send challenge")?;
        let deadline = sent + config.timeout_ns;
        while !session.current_answered() {
            let now = mono_ns();
            if now >= deadline {
                break;
            }
            socket
                .set_read_timeout(Some(Duration::from_nanos((deadline - now).max(1_000))))
                .context("timeout")?;
            match socket.recv(&mut buf) {
                Ok(n) => {
                    let at = mono_ns();
                    on_datagram(&mut session, &buf[..n], at);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                // ICMP port unreachable shows up as ConnectionRefused on a connected socket.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::thread::sleep(Duration::from_millis(10));
                    break;
                }
                Err(e) => return Err(e).context("receive response"),
            }
        }
    }
    // Collect stragglers briefly so replays and reordered answers are counted too.
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    while let Ok(n) = socket.recv(&mut buf) {
        let at = mono_ns();
        on_datagram(&mut session, &buf[..n], at);
    }
    // Every pending check settled before the measurement is signed.
    drop(to_check);
    for done in settled {
        session.settle(done);
    }
    verifier
        .join()
        .map_err(|_| anyhow::anyhow!("the signature-check thread panicked"))?;
    let rejections = session.rejections();
    Ok((
        session.finish(key, MeasurementId::random(), now_us()),
        rejections,
    ))
}

pub fn landmark(a: LandmarkArgs) -> anyhow::Result<ExitCode> {
    if let Some(alg) = &a.keygen {
        return keygen(&a.key, alg);
    }
    let id = a.id.as_deref().context("--id is required")?;
    let landmark = LandmarkId::new(id).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
    let key = LandmarkKey(read_key(&a.key)?);
    if a.rounds == 0 {
        anyhow::bail!("--rounds must be at least 1");
    }
    let keys: HashMap<String, PublicKey> = a
        .chip_keys
        .iter()
        .map(|s| parse_pinned(s, "--chip-key"))
        .collect::<anyhow::Result<_>>()?;
    let mut targets = Vec::new();
    for t in &a.targets {
        let (chip, addr) = t
            .split_once('=')
            .with_context(|| format!("--target {t:?}: expected CHIP_ID=HOST:PORT"))?;
        let chip_id = ChipId::new(chip).map_err(|e| anyhow::anyhow!("--target {t:?}: {e}"))?;
        let addr: SocketAddr = addr
            .parse()
            .with_context(|| format!("--target {t:?}: bad address"))?;
        let ck = keys
            .get(chip)
            .with_context(|| format!("--target {chip}: no --chip-key {chip}=KEY given"))?;
        targets.push((chip_id, addr, ck.clone()));
    }
    if targets.is_empty() {
        anyhow::bail!("no --target given");
    }
    let config = SessionConfig {
        rounds: a.rounds,
        timeout_ns: a.timeout_ms.saturating_mul(1_000_000),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let nats = match &a.nats {
        Some(url) => Some(runtime.block_on(async {
            let c = async_nats::connect(url.as_str())
                .await
                .with_context(|| format!("--nats {url}"))?;
            anyhow::Ok(async_nats::jetstream::new(c))
        })?),
        None => None,
    };
    let http = reqwest::Client::new();
    let mut failures = 0usize;
    loop {
        for (chip, addr, chip_key) in &targets {
            let (m, rejections) = measure(&key, &landmark, chip, chip_key, *addr, config)?;
            let Some(m) = m else {
                failures += 1;
                println!(
                    "{}",
                    serde_json::json!({"landmark": id, "chip": chip.as_str(), "error": "no valid response", "rejections": rejections})
                );
                continue;
            };
            let b64 = base64::engine::general_purpose::STANDARD.encode(m.encoded());
            let mm = &m.measurement;
            let mut line = serde_json::json!({
                "landmark": id, "chip": chip.as_str(), "measurement_id": mm.id.to_string(),
                "min_rtt_ms": mm.min_rtt_ms(), "count": mm.count, "rounds": mm.rounds,
                "rejections": mm.rejections, "measurement": b64,
            });
            if let Some(url) = &a.post {
                let endpoint = format!("{}/v1/locate/measurements", url.trim_end_matches('/'));
                let result = runtime.block_on(async {
                    let mut req = http
                        .post(&endpoint)
                        .json(&serde_json::json!({ "measurement": b64 }));
                    if let Some(token) = &a.token {
                        req = req.bearer_auth(token);
                    }
                    let r = req.send().await?;
                    let status = r.status().as_u16();
                    anyhow::Ok((
                        status,
                        r.json::<serde_json::Value>().await.unwrap_or_default(),
                    ))
                });
                match result {
                    Ok((status, body)) => {
                        if status != 200 {
                            failures += 1;
                        }
                        line["posted"] = serde_json::json!({ "status": status, "response": body });
                    }
                    Err(e) => {
                        failures += 1;
                        line["posted"] =
                            serde_json::json!({ "error": format!("{endpoint}: {e:#}") });
                    }
                }
            }
            if let Some(js) = &nats {
                let subject = format!("{}.{}", a.nats_subject, id);
                let result = runtime.block_on(async {
                    // Nats-Msg-Id lets JetStream drop a re-sent copy within its duplicate window;
                    // the registry is idempotent by measurement id besides.
                    let publish = async_nats::jetstream::message::PublishMessage::build()
                        .message_id(mm.id.to_string())
                        .payload(m.encoded().to_vec().into());
                    js.send_publish(subject.clone(), publish).await?.await?;
                    anyhow::Ok(())
                });
                line["published"] = match result {
                    Ok(()) => serde_json::json!({ "subject": subject }),
                    Err(e) => {
                        failures += 1;
                        serde_json::json!({ "error": format!("{subject}: {e:#}") })
                    }
                };
            }
            println!("{line}");
            std::io::stdout().flush()?;
        }
        match a.interval_s {
            Some(s) => std::thread::sleep(Duration::from_secs(s.max(1))),
            None => break,
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
