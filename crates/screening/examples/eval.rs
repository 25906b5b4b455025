//! Quick evaluation loop: cargo run --release -p stackport-screening --example eval -- LISTS QUERIES EXPECTED [threshold]
use stackport_screening::{parse, PartyType, Query, Screener};
use std::collections::{BTreeMap, HashMap};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let snap = parse::load_dir(std::path::Path::new(&a[1])).unwrap();
    let t = std::time::Instant::now();
    let s = Screener::new(&snap);
    eprintln!(
        "index {:?} names {} vocab {}",
        t.elapsed(),
        s.name_count(),
        s.vocabulary_size()
    );
    let mut rdr = csv::Reader::from_path(&a[2]).unwrap();
    let mut qs = vec![];
    let mut ids = vec![];
    for r in rdr.records() {
        let r = r.unwrap();
        ids.push(r[0].to_string());
        qs.push(Query {
            name: r[1].to_string(),
            party_type: PartyType::parse(&r[2]),
            country: Some(r[3].to_string()).filter(|c| !c.is_empty()),
            ..Default::default()
        });
    }
    let mut exp: HashMap<String, (String, Vec<String>)> = HashMap::new();
    for r in csv::Reader::from_path(&a[3]).unwrap().records() {
        let r = r.unwrap();
        exp.insert(
            r[0].to_string(),
            (
                r[1].to_string(),
                r[2].split('|')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect(),
            ),
        );
    }
    let th: f64 = a
        .get(4)
        .map(|x| x.parse().unwrap())
        .unwrap_or(stackport_screening::DEFAULT_THRESHOLD);
    let verbose = a.get(5).is_some();
    let t = std::time::Instant::now();
    let mut lat = vec![];
    for _ in 0..5 {
        for q in &qs {
            let t0 = std::time::Instant::now();
            std::hint::black_box(s.screen(q, 10, th).unwrap());
            lat.push(t0.elapsed().as_secs_f64());
        }
    }
    let el = t.elapsed();
    lat.sort_by(|a, b| a.total_cmp(b));
    eprintln!(
        "{} queries in {:?} = {:.0}/s p50 {:.1}us p99 {:.1}us max {:.1}us",
        lat.len(),
        el,
        lat.len() as f64 / el.as_secs_f64(),
        lat[lat.len() / 2] * 1e6,
        lat[lat.len() * 99 / 100] * 1e6,
        lat[lat.len() - 1] * 1e6
    );
    let res: Vec<_> = qs.iter().map(|q| s.screen(q, 10, 0.5).unwrap()).collect();
    let mut fam: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut pos, mut r1, mut neg, mut fp) = (0, 0, 0, 0);
    for (i, r) in res.iter().enumerate() {
        let (f, e) = &exp[&ids[i]];
        let hits: Vec<_> = r.hits.iter().filter(|h| h.score >= th).collect();
        let x = fam.entry(f.clone()).or_default();
        x.0 += 1;
        if e.is_empty() {
            neg += 1;
            if !hits.is_empty() {
                fp += 1;
                x.1 += 1;
                if verbose {
                    println!(
                        "FP {} {:?} -> {} {:?} {}",
                        f, qs[i].name, hits[0].score, hits[0].matched, hits[0].entity
                    );
                }
            }
        } else {
            pos += 1;
            if hits.first().is_some_and(|h| e.contains(&h.entity)) {
                r1 += 1;
                x.1 += 1;
            } else if verbose {
                println!(
                    "MISS {} {:?} exp {:?} got {:?}",
                    f,
                    qs[i].name,
                    e,
                    r.hits
                        .iter()
                        .take(2)
                        .map(|h| (h.score, h.matched.clone(), h.entity.clone()))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
    println!(
        "threshold {th}: recall@1 {:.4} FP {:.4}",
        r1 as f64 / pos as f64,
        fp as f64 / neg as f64
    );
    for (f, (n, k)) in fam {
        println!("  {f:12} {:.4} ({k}/{n})", k as f64 / n as f64);
    }
}
