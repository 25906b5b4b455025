//! `render_svg` draws one verdict: countries (prohibited ones shaded), the landmarks and their
//! disks, the region's boundary, the licensed site and a caption with the verdict.

use stackport_locate::countries::{Atlas, CountryCode};
use stackport_locate::map::{render_svg, MapView};
use stackport_locate::verdict::{LandmarkSet, Observation};
use stackport_locate::GeoPoint;

#[test]
fn svg_shows_the_verdict() {
    let atlas = Atlas::natural_earth_50m().unwrap();
    let zone = atlas.zone(&CountryCode::default_prohibited()).unwrap();
    let landmarks = LandmarkSet::new([
        ("sin<1>".to_string(), GeoPoint::new(1.29, 103.85).unwrap()),
        ("kul".to_string(), GeoPoint::new(3.139, 101.687).unwrap()),
    ])
    .unwrap();
    let obs = [
        Observation {
            landmark: 0,
            rtt_ms: 2.0,
        },
        Observation {
            landmark: 0,
            rtt_ms: 1.5,
        },
        Observation {
            landmark: 1,
            rtt_ms: 6.0,
        },
    ];
    let svg = render_svg(&MapView {
        atlas: &atlas,
        zone: &zone,
        landmarks: &landmarks,
        observations: &obs,
        site: GeoPoint::new(1.35, 103.82).unwrap(),
        tau_min_ms: 0.0,
        title: "chip-1",
    });
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("class=\"prohibited\"").count(),
        3,
        "CHN, HKG, MAC shaded"
    );
    assert!(svg.matches("<path").count() > 200, "countries drawn");
    // One disk per landmark (the minimum RTT counts), with the radius in its tooltip.
    assert!(svg.contains("sin&lt;1&gt;: 1.500 ms, r ≤ 150 km"));
    assert!(svg.contains("kul: 6.000 ms"));
    let region = svg
        .split("<g id=\"region\"")
        .nth(1)
        .unwrap()
        .split("</g>")
        .next()
        .unwrap();
    assert!(region.contains("<path d=\"M"), "region boundary drawn");
    let fill = svg
        .split("<g id=\"region-fill\"")
        .nth(1)
        .unwrap()
        .split("</g>")
        .next()
        .unwrap();
    assert!(fill.contains("Z\"/>"), "region filled as a closed loop");
    assert!(svg.contains("<g id=\"site\""));
    assert!(svg.contains("chip-1: verified (outside prohibited: true, site consistent: true"));
}
