//! End to end: the real `stackport` binary on the `locate verify` / `landmarks-check` / `map`
//! contract (issue 5, item 5), including clear errors for bad input.

use std::path::Path;
use std::process::Command;

const L: &str = "id,lat,lon\ntpe,25.04,121.53\nsin,1.29,103.85\nfra,50.11,8.68\nfake,1.30,103.80\n";
const M: &str = "landmark,target,rtt_ms\n\
tpe,chip-tw,1.1\ntpe,chip-tw,0.9\nsin,chip-tw,60\n\
sin,chip-sg,0.8\ntpe,chip-sg,50\nfake,chip-cn,1.0\n\
tpe,sin,48\nsin,fra,160\ntpe,fra,250\nfake,fra,1.0\nfake,tpe,1.0\nsin,fake,1.0\n";
const C: &str = "target,lat,lon,country\nchip-sg,1.35,103.82,SG\nchip-tw,25.03,121.56,TW\nchip-cn,1.35,103.82,SG\nchip-none,48.85,2.35,FR\n";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn stackport(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackport"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn verify_landmarks_check_and_map() {
    let dir = tempfile::tempdir().unwrap();
    let (l, m, c) = (
        write(dir.path(), "L.csv", L),
        write(dir.path(), "M.csv", M),
        write(dir.path(), "C.csv", C),
    );
    let out = stackport(&[
        "locate",
        "verify",
        "--landmarks",
        &l,
        "--measurements",
        &m,
        "--claims",
        &c,
        "--prohibited",
        "CN,HK,MO",
        "--tau-min-ms",
        "0",
        "--format",
        "jsonl",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verdicts: Vec<(&str, &str)> = lines
        .iter()
        .map(|j| {
            (
                j["target"].as_str().unwrap(),
                j["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("chip-sg", "verified"),
            ("chip-tw", "verified"),
            ("chip-cn", "inconclusive"),
            ("chip-none", "inconclusive")
        ]
    );
    assert_eq!(lines[0]["outside_prohibited"], true);
    assert!(lines[0]["region"]["max_radius_km"].as_f64().unwrap() > 0.0);
    assert_eq!(lines[3]["region"], serde_json::Value::Null);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fake"),
        "flagged landmark reported"
    );

    // Claimed in Singapore but a 1 ms round trip from Taipei: the site is outside the region.
    let m2 = write(
        dir.path(),
        "M2.csv",
        "landmark,target,rtt_ms\ntpe,chip-sg,1.0\n",
    );
    let out = stackport(&[
        "locate",
        "verify",
        "--landmarks",
        &l,
        "--measurements",
        &m2,
        "--claims",
        &c,
        "--format",
        "jsonl",
    ]);
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            first["verdict"].as_str(),
            first["claim_consistent"].as_bool()
        ),
        (Some("violation"), Some(false))
    );

    let out = stackport(&[
        "locate",
        "landmarks-check",
        "--landmarks",
        &l,
        "--measurements",
        &m,
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(
        text.contains(r#"{"landmark":"fake","flagged":true,"conflicts":["tpe","fra"]}"#),
        "{text}"
    );

    let svg = dir.path().join("map.svg");
    let out = stackport(&[
        "locate",
        "map",
        "--landmarks",
        &l,
        "--measurements",
        &m,
        "--claims",
        &c,
        "--target",
        "chip-tw",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.contains("chip-tw: verified"));
}

#[test]
fn bad_input_fails_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (l, c) = (write(dir.path(), "L.csv", L), write(dir.path(), "C.csv", C));
    for (text, needle) in [
        (
            "landmark,target,rtt_ms\ntpe,chip-tw,1\ntpe,chip-tw,-2\n",
            "M.csv:3: field \"rtt_ms\": round-trip time -2 ms is not usable: negative",
        ),
        ("landmark,target,rtt_ms\ntpe,chip-tw,0\n", "M.csv:2"),
        (
            "landmark,target,rtt_ms\nghost,chip-tw,3\n",
            "M.csv:2: unknown landmark \"ghost\"",
        ),
    ] {
        let m = write(dir.path(), "M.csv", text);
        let out = stackport(&[
            "locate",
            "verify",
            "--landmarks",
            &l,
            "--measurements",
            &m,
            "--claims",
            &c,
            "--format",
            "jsonl",
        ]);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "nothing half-written");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
    let bad_l = write(dir.path(), "L2.csv", "id,lat,lon\ntpe,25.04,190\n");
    let m = write(dir.path(), "M.csv", M);
    let out = stackport(&[
        "locate",
        "verify",
        "--landmarks",
        &bad_l,
        "--measurements",
        &m,
        "--claims",
        &c,
        "--format",
        "jsonl",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("L2.csv:2: latitude 25.04 / longitude 190 out of range"));
    let out = stackport(&[
        "locate",
        "verify",
        "--landmarks",
        &l,
        "--measurements",
        &m,
        "--claims",
        &c,
        "--prohibited",
        "ZZ",
        "--format",
        "jsonl",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown country code \"ZZ\""));
}
