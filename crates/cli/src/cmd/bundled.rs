//! The list snapshot embedded in the binary (`build.rs`), for an installed `stackport` with no
//! `data/lists` beside it. The list readers read directories, so the files are written out
//! once, byte for byte, to a directory named by their digest, and read from there.

use std::path::{Path, PathBuf};

use anyhow::Context;

include!(concat!(env!("OUT_DIR"), "/bundled_lists.rs"));

/// The extracted snapshot under the user's cache directory (`$XDG_CACHE_HOME`, else
/// `~/.cache`, else the temporary directory).
pub fn extracted() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("stackport");
    extract_to(&base)
}

/// Writes the snapshot to `base/lists-<digest>` unless it is there already; returns that
/// directory. Written to a fresh directory beside it and renamed into place, so a reader never
/// sees half a snapshot and two processes extracting at once both end up with a whole one.
pub fn extract_to(base: &Path) -> anyhow::Result<PathBuf> {
    let dir = base.join(format!("lists-{BUNDLED_LISTS_ID}"));
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(base).with_context(|| format!("creating {}", base.display()))?;
    let tmp = base.join(format!(
        ".lists-{BUNDLED_LISTS_ID}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    for (rel, bytes) in BUNDLED_LISTS {
        let path = tmp.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(dir),
        // Another process got there first: its copy is the same bytes.
        Err(_) if dir.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dir)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e).with_context(|| format!("moving the snapshot to {}", dir.display()))
        }
    }
}
