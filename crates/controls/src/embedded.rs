//! The repository's `rulebook/` directory, compiled into the crate so that an installed
//! binary works with no files next to it.

use crate::rulebook::SourceFile;

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        vec![$(SourceFile {
            name: concat!("rulebook/", $name).to_string(),
            text: include_str!(concat!("../../../rulebook/", $name)).to_string(),
        }),*]
    };
}

/// The embedded rulebook files, in [`crate::rulebook::FILES`] order.
pub fn sources() -> Vec<SourceFile> {
    embed!(
        "rulebook.toml",
        "countries.toml",
        "country_groups.toml",
        "classification.toml",
        "licensing.toml",
        "overlays.toml",
        "de_minimis.toml",
        "catalog.toml",
    )
}
