//! What the CLI's end-to-end suites share for talking to a running `stackport serve`: the
//! admin token printed by `stackport admin bootstrap` and a client that sends it.

#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

/// Runs `stackport admin bootstrap` as `cmd` sets it up; the token of its last line (the
/// `{"token": "…"}` contract), or its standard error if it failed.
pub fn bootstrap(mut cmd: Command) -> Result<String, String> {
    let out = cmd.output().expect("run admin bootstrap");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a line")).expect("JSON last line");
    Ok(last["token"].as_str().expect("token").to_string())
}

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn authed(token: &str, timeout: Duration) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(timeout)
        .build()
        .expect("client")
}
