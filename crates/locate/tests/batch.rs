//! The batch CSV contract of `locate verify` / `locate landmarks-check` (issue 5, item 5):
//! output shape and order, and clear errors naming file and line for bad input.

use stackport_locate::batch;
use stackport_locate::countries::{Atlas, CountryCode};
use stackport_locate::LocateError;

const L: &str = "id,lat,lon\ntpe,25.04,121.53\nsin,1.29,103.85\nfra,50.11,8.68\nfake,1.30,103.80\n";
// `fake` claims Singapore but answers Frankfurt in 1 ms: the cross-check must drop it.
const M: &str = "landmark,target,rtt_ms\n\
tpe,chip-tw,1.1\ntpe,chip-tw,0.9\nsin,chip-tw,60\n\
sin,chip-sg,0.8\ntpe,chip-sg,50\n\
fake,chip-cn,1.0\n\
tpe,sin,48\nsin,fra,160\ntpe,fra,250\nfake,fra,1.0\nfake,tpe,1.0\nsin,fake,1.0\n";
const C: &str = "target,lat,lon,country\nchip-sg,1.35,103.82,SG\nchip-tw,25.03,121.56,TW\nchip-cn,1.35,103.82,SG\nchip-none,48.85,2.35,FR\n";

#[test]
fn verify_lines_follow_claims_and_drop_lying_landmarks() {
    let landmarks = batch::parse_landmarks("L.csv", L).unwrap();
    let rows = batch::parse_measurements("M.csv", M, &landmarks).unwrap();
    let claims = batch::parse_claims("C.csv", C).unwrap();
    let atlas = Atlas::natural_earth_50m().unwrap();
    let zone = atlas.zone(&CountryCode::default_prohibited()).unwrap();
    let (check, lines, _) = batch::verify(&landmarks, &rows, &claims, &zone, 0.0).unwrap();
    assert_eq!(check.flagged, [false, false, false, true]);
    let json: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    let targets: Vec<&str> = json.iter().map(|j| j["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["chip-sg", "chip-tw", "chip-cn", "chip-none"]);
    assert_eq!(json[0]["verdict"], "verified");
    assert_eq!(json[0]["outside_prohibited"], true);
    assert_eq!(json[0]["claim_consistent"], true);
    let r = &json[0]["region"];
    assert!(r["max_radius_km"].as_f64().unwrap() <= 80.0 + 1.0);
    assert_eq!(r["centroid"].as_array().unwrap().len(), 2);
    // 0.9 ms from Taipei: within 90 km, and Fujian is 130+ km away.
    assert_eq!(json[1]["verdict"], "verified", "{}", json[1]);
    // Only the lying landmark measured chip-cn: nothing is left, so no proof.
    assert_eq!(json[2]["verdict"], "inconclusive");
    assert_eq!(json[2]["region"], serde_json::Value::Null);
    assert_eq!(json[3]["verdict"], "inconclusive");
    assert_eq!(json[3]["outside_prohibited"], false);
    let keys: Vec<&String> = json[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5);

    let (_, lm) = batch::landmarks_check(&landmarks, &rows);
    let j = serde_json::to_value(&lm[3]).unwrap();
    assert_eq!(
        j,
        serde_json::json!({"landmark": "fake", "flagged": true, "conflicts": ["tpe", "fra"]})
    );
    assert_eq!(
        serde_json::to_value(&lm[0]).unwrap()["conflicts"],
        serde_json::json!(["fake"])
    );
}

fn input_error(e: LocateError) -> (String, u64, String) {
    match e {
        LocateError::Input {
            file,
            line,
            message,
        } => (file, line, message),
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[test]
fn bad_input_names_file_and_line() {
    let landmarks = batch::parse_landmarks("L.csv", L).unwrap();
    for (text, line, needle) in [
        ("landmark,target,rtt_ms\ntpe,x,1\ntpe,x,-3\n", 3, "negative"),
        ("landmark,target,rtt_ms\ntpe,x,0\n", 2, "zero"),
        ("landmark,target,rtt_ms\ntpe,x,1e9\n", 2, "absurd"),
        ("landmark,target,rtt_ms\ntpe,x,NaN\n", 2, "finite"),
        ("landmark,target,rtt_ms\ntpe,x,fast\n", 2, "not a number"),
        (
            "landmark,target,rtt_ms\nnowhere,x,5\n",
            2,
            "unknown landmark \"nowhere\"",
        ),
        ("landmark,target\ntpe,x\n", 1, "missing column \"rtt_ms\""),
        (
            "landmark,target,rtt_ms\ntpe,,5\n",
            2,
            "empty or missing field \"target\"",
        ),
    ] {
        let (file, l, msg) =
            input_error(batch::parse_measurements("M.csv", text, &landmarks).unwrap_err());
        assert_eq!((file.as_str(), l), ("M.csv", line), "{msg}");
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
    }
    for (text, line, needle) in [
        ("id,lat,lon\na,91,0\n", 2, "out of range"),
        ("id,lat,lon\na,0,180.5\n", 2, "out of range"),
        ("id,lat,lon\na,1,1\na,2,2\n", 3, "duplicate landmark id"),
        ("id,lat,lon\na,north,1\n", 2, "not a number"),
    ] {
        let (file, l, msg) = input_error(batch::parse_landmarks("L.csv", text).unwrap_err());
        assert_eq!((file.as_str(), l), ("L.csv", line), "{msg}");
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
    }
    let (file, l, msg) = input_error(
        batch::parse_claims(
            "C.csv",
            "target,lat,lon,country\nc1,10,10,FR\nc2,-95,0,XX\n",
        )
        .unwrap_err(),
    );
    assert_eq!((file.as_str(), l), ("C.csv", 3));
    assert!(msg.contains("out of range"));
}
