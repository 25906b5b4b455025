//! Embeds the official CycloneDX 1.6 JSON schema into the library, when it can be found.
//!
//! The schema files are not part of this repository (they live in `../shared`, beside the
//! workspace). The build looks in `$STACKPORT_CYCLONEDX_SCHEMA_DIR`, else in
//! `<workspace>/../shared/reference/cyclonedx-1.6/schema`. When the three files are there, they
//! are copied into `OUT_DIR` and `src/lib.rs` includes them with `include_str!`, so the built
//! binary validates without reading anything at run time. When they are not, the build still
//! succeeds and `Schema::embedded()` returns an error naming the directories searched;
//! `Schema::load_dir` is then the way to validate.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The documents of the schema: the BOM schema and the two it references by `$ref`.
const FILES: [&str; 3] = [
    "bom-1.6.schema.json",
    "spdx.schema.json",
    "jsf-0.82.schema.json",
];

const ENV_DIR: &str = "STACKPORT_CYCLONEDX_SCHEMA_DIR";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cyclonedx_schema_embedded)");
    println!("cargo:rerun-if-env-changed={ENV_DIR}");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let (dir, explicit) = match env::var_os(ENV_DIR) {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), true),
        // crates/cyclonedx -> workspace root -> its parent, where shared/ sits.
        _ => (
            manifest_dir.join("../../../shared/reference/cyclonedx-1.6/schema"),
            false,
        ),
    };
    let dir = dir.canonicalize().unwrap_or(dir);

    // Watching the directory reruns this script when the files appear; watching each file reruns
    // it when one changes. A path that does not exist makes cargo rerun the script on every
    // build, which is what we want until the schema is there.
    println!("cargo:rerun-if-changed={}", dir.display());
    let missing: Vec<&str> = FILES
        .iter()
        .copied()
        .filter(|name| !dir.join(name).is_file())
        .collect();

    if missing.is_empty() {
        for name in FILES {
            let from = dir.join(name);
            println!("cargo:rerun-if-changed={}", from.display());
            copy(&from, &out_dir.join(name));
        }
        println!("cargo:rustc-cfg=cyclonedx_schema_embedded");
        println!(
            "cargo:rustc-env=STACKPORT_CYCLONEDX_SCHEMA_SOURCE={}",
            dir.display()
        );
    } else if explicit {
        // Someone pointed the build at a directory on purpose: a wrong one is a mistake to
        // report now, not a schema silently left out.
        panic!(
            "{ENV_DIR}={} lacks {}; it must hold {}",
            dir.display(),
            missing.join(", "),
            FILES.join(", ")
        );
    } else {
        println!(
            "cargo:warning=CycloneDX 1.6 schema not found in {} (missing {}); \
             Schema::embedded() will return an error, use Schema::load_dir or set {ENV_DIR}",
            dir.display(),
            missing.join(", ")
        );
        println!(
            "cargo:rustc-env=STACKPORT_CYCLONEDX_SCHEMA_SOURCE={}",
            dir.display()
        );
    }
}

fn copy(from: &Path, to: &Path) {
    if let Err(err) = fs::copy(from, to) {
        panic!("copying {} to {}: {err}", from.display(), to.display());
    }
}
