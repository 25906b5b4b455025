//! Embeds the bundled list snapshot (`data/lists` of the repository) in the binary, so that an
//! installed `stackport` (`cargo install`) has the lists as it has the rulebook and the maps.
//! Writes `$OUT_DIR/bundled_lists.rs`: `BUNDLED_LISTS`, each file's path below `data/lists`
//! and its bytes, and `BUNDLED_LISTS_ID`, a digest of them (names the extracted copy).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n != ".gitattributes") {
            out.push(p);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/lists");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut h = DefaultHasher::new();
    let mut code = String::from("pub const BUNDLED_LISTS: &[(&str, &[u8])] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&root)
            .expect("below data/lists")
            .to_string_lossy()
            .replace('\\', "/");
        rel.hash(&mut h);
        std::fs::read(f)
            .expect("read a bundled list file")
            .hash(&mut h);
        let abs = f.canonicalize().expect("canonical path");
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "pub const BUNDLED_LISTS_ID: &str = \"{:016x}\";\n",
        h.finish()
    ));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("bundled_lists.rs");
    std::fs::write(out, code).expect("write bundled_lists.rs");
}
