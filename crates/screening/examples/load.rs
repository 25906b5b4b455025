fn main() {
    let dir = std::env::args().nth(1).expect("dir");
    let t = std::time::Instant::now();
    let s = stackport_screening::parse::load_dir(std::path::Path::new(&dir))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("loaded in {:?}", t.elapsed());
    for src in &s.sources {
        println!(
            "{} {} {} {:?} {:?}",
            src.path, src.format, src.records, src.data_date, src.warnings
        );
    }
    let mut by = std::collections::BTreeMap::new();
    for e in &s.entities {
        *by.entry(e.list.code()).or_insert(0) += 1;
    }
    println!(
        "{} entities {:?}, aliases {}",
        s.entities.len(),
        by,
        s.entities.iter().map(|e| e.aliases.len()).sum::<usize>()
    );
}
