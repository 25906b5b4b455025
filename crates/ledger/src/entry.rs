//! Ledger entries: RFC 8785 (JSON Canonicalization Scheme) canonical JSON.
//!
//! A leaf is the canonical form of a JSON document, so the same decision always has the same
//! bytes and the same leaf hash, whoever serialised it. RFC 8785 §3.2: no white space; object
//! members sorted by their names' UTF-16 code units; strings with only the mandatory escapes
//! (`\"`, `\\`, `\b \f \n \r \t`, other controls as lower-case `\u00xx`); numbers as
//! IEEE 754 doubles printed the way ECMAScript's `Number.prototype.toString` prints them.
//!
//! Input must be I-JSON (RFC 7493), which RFC 8785 §3.1 requires: duplicate member names are
//! refused (a parser would silently keep one of them), and so are integers a double cannot hold
//! exactly (2^53 + 1, say): silently rounding an identifier in a compliance record would change
//! what was decided. Integers a double does hold, however large (`100000000000000000`, which is
//! how §3.2.2.3 writes `1e17`), are accepted, so that canonical output reads back as itself.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::LedgerError;

/// Whether a double holds the integer of magnitude `v` exactly: its odd part fits the 53-bit
/// significand (IEEE 754 binary64; every u64 is within its exponent range). Every integer up to
/// 2^53 qualifies (I-JSON, RFC 7493 §2.2), and so does any larger one that is such an odd part
/// times a power of two.
fn exact_in_double(v: u64) -> bool {
    v == 0 || v >> v.trailing_zeros() < 1 << 53
}

/// A parsed JSON value that remembers member order only to find duplicates.
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        if !exact_in_double(v) {
            return Err(E::custom(format!(
                "integer {v} cannot be held exactly as a double (RFC 8785 §3.2.2.3)"
            )));
        }
        Ok(Json::Number(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        if !exact_in_double(v.unsigned_abs()) {
            return Err(E::custom(format!(
                "integer {v} cannot be held exactly as a double (RFC 8785 §3.2.2.3)"
            )));
        }
        Ok(Json::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        if !v.is_finite() {
            return Err(E::custom("number is not finite"));
        }
        Ok(Json::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if !seen.insert(k.clone()) {
                return Err(de::Error::custom(format!(
                    "duplicate member name {k:?} (I-JSON, RFC 7493 §2.3)"
                )));
            }
            let v = map.next_value()?;
            out.push((k, v));
        }
        Ok(Json::Object(out))
    }
}

/// Canonicalises a JSON document (RFC 8785). Errors name the line and column.
pub fn canonicalize(document: &[u8]) -> Result<String, LedgerError> {
    let v: Json =
        serde_json::from_slice(document).map_err(|e| LedgerError::InvalidEntry(e.to_string()))?;
    let mut out = String::with_capacity(document.len());
    write_json(&v, &mut out);
    Ok(out)
}

/// Canonicalises an in-memory JSON value (whose maps cannot hold duplicates).
pub fn canonicalize_value(value: &serde_json::Value) -> Result<String, LedgerError> {
    fn convert(v: &serde_json::Value, path: &mut String) -> Result<Json, LedgerError> {
        Ok(match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => {
                let exact = match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => exact_in_double(u),
                    (None, Some(i)) => exact_in_double(i.unsigned_abs()),
                    _ => true,
                };
                let f = n.as_f64().filter(|f| f.is_finite() && exact).ok_or_else(|| {
                    LedgerError::InvalidEntry(format!("number {n} at {path} cannot be held exactly as a double (RFC 8785 §3.2.2.3)"))
                })?;
                Json::Number(f)
            }
            serde_json::Value::String(s) => Json::String(s.clone()),
            serde_json::Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for (i, v) in a.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    out.push(convert(v, path)?);
                    path.truncate(len);
                }
                Json::Array(out)
            }
            serde_json::Value::Object(m) => {
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in m {
                    let len = path.len();
                    let _ = write!(path, ".{k}");
                    out.push((k.clone(), convert(v, path)?));
                    path.truncate(len);
                }
                Json::Object(out)
            }
        })
    }
    let v = convert(value, &mut String::from("$"))?;
    let mut out = String::new();
    write_json(&v, &mut out);
    Ok(out)
}

fn write_json(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Number(f) => write_number(*f, out),
        Json::String(s) => write_string(s, out),
        Json::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(v, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            // RFC 8785 §3.2.3: sort by the UTF-16 code units of the names.
            let mut sorted: Vec<(Vec<u16>, &String, &Json)> = members
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), k, v))
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (_, k, v)) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

/// RFC 8785 §3.2.2.2.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// RFC 8785 §3.2.2.3: ECMAScript `Number.prototype.toString` (ECMA-262 §7.1.12.1) of a finite
/// double. Rust's `{:e}` gives the same shortest round-trip digits; only the layout differs.
fn write_number(f: f64, out: &mut String) {
    if f == 0.0 {
        out.push('0'); // also -0
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp always writes an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let k = digits.len() as i32;
    let n = exp + 1; // the decimal point sits after n digits
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.push_str(&"0".repeat((n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

/// What kind of decision an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// A restricted-party screening result.
    Screening,
    /// A licence determination (15 CFR Parts 738–746).
    Determination,
    /// An item classification (ECCN).
    Classification,
    /// A chip location proof.
    LocationProof,
    /// A program proposal reviewed as a whole (or re-reviewed after a list or rule change).
    ProposalReview,
    /// A chip alert closed by an operator.
    AlertResolution,
    /// A step of the proposal workflow (submission, consultation, an agency's opinion,
    /// designation or decline, withdrawal), with the acting user and organisation.
    ProposalWorkflow,
    /// A licence, licence exception or NLR recorded in an organisation's licence master.
    Licence,
    /// A shipment drawn down a licence, or blocked, with the reason.
    Shipment,
    /// A financing request to a federal lender, or the lender's decision on it.
    Financing,
    /// A reviewer's decision on a potential match, or the release of a hold.
    ScreeningReview,
}

/// The versions of the rules and lists a decision used (ARCHITECTURE.md: every decision records
/// them, so it can be re-derived later).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionVersions {
    /// Rulebook version (e.g. its dated revision or content hash).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rules: Option<String>,
    /// Restricted-party list snapshot (e.g. snapshot id or content hash).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lists: Option<String>,
}

/// One decision, as the server appends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(rename = "type")]
    pub kind: DecisionKind,
    /// When the decision was made, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub time: time::OffsetDateTime,
    /// What was asked (the party, the item and destination, …).
    pub inputs: serde_json::Value,
    /// What was decided.
    pub outputs: serde_json::Value,
    pub versions: DecisionVersions,
    /// Who asked for the decision (issue 11, item 7: every decision with the acting user and
    /// organisation); absent for decisions the platform makes itself (a location verdict from
    /// the stream, a re-screening) and in entries written before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actor: Option<Actor>,
}

/// The user, organisation and role a decision was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub organisation: String,
    pub role: String,
}

impl Decision {
    /// A decision made now.
    pub fn now(
        kind: DecisionKind,
        inputs: serde_json::Value,
        outputs: serde_json::Value,
        versions: DecisionVersions,
    ) -> Self {
        Self {
            kind,
            time: time::OffsetDateTime::now_utc(),
            inputs,
            outputs,
            versions,
            actor: None,
        }
    }

    /// The RFC 8785 form that becomes the leaf.
    /// The same decision, made for `actor`.
    pub fn by(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }

    pub fn canonical_json(&self) -> Result<String, LedgerError> {
        let v = serde_json::to_value(self).map_err(|e| LedgerError::InvalidEntry(e.to_string()))?;
        canonicalize_value(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(f: f64) -> String {
        let mut s = String::new();
        write_number(f, &mut s);
        s
    }

    #[test]
    fn numbers_follow_ecmascript() {
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(123.456), "123.456");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(0.0000001), "1e-7");
        assert_eq!(num(-5.0), "-5");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(num(5e-324), "5e-324");
    }

    #[test]
    fn duplicates_and_big_integers_are_refused() {
        let e = canonicalize(b"{\"a\":1,\n\"a\":2}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate member name \"a\"") && e.contains("line 2"),
            "{e}"
        );
        assert!(canonicalize(b"{\"id\": 9007199254740993}").is_err());
        assert!(canonicalize(b"[1] x").is_err());
        assert!(canonicalize(b"").is_err());
    }

    #[test]
    fn integers_a_double_holds_are_accepted_however_large() {
        // §3.2.2.3 writes 1e17 and 1e20 out in full; the canonical form must read back as itself.
        for doc in ["[1e17]", "[1e20]", "[-1e20]", "[9007199254740994]"] {
            let c = canonicalize(doc.as_bytes()).unwrap();
            assert_eq!(canonicalize(c.as_bytes()).unwrap(), c, "{doc}");
        }
        assert_eq!(
            canonicalize(b"[9223372036854775808]").unwrap(),
            "[9223372036854776000]"
        );
        for not_exact in [
            "[9007199254740993]",
            "[-9007199254740993]",
            "[18446744073709551615]",
        ] {
            assert!(canonicalize(not_exact.as_bytes()).is_err(), "{not_exact}");
        }
        let big = serde_json::json!({"n": 100_000_000_000_000_000u64, "m": u64::MAX});
        assert!(canonicalize_value(&big).is_err());
        let ok = serde_json::json!({"n": 100_000_000_000_000_000u64});
        assert_eq!(
            canonicalize_value(&ok).unwrap(),
            "{\"n\":100000000000000000}"
        );
    }
}
