//! Validation of CycloneDX 1.6 JSON documents against the official CycloneDX 1.6 JSON schema.
//!
//! The schema is the specification's own (`bom-1.6.schema.json` with the `spdx.schema.json` and
//! `jsf-0.82.schema.json` it references), validated as JSON Schema draft-07 with format
//! assertions turned on, as the specification's test vectors require (a `date-time` format
//! makes one vector invalid; the JSF `algorithm` is a `oneOf` between an enum and a
//! `uri`-formatted string, which only format checks separate). The validator is the maintained
//! `jsonschema` crate; this crate only supplies the documents (references are resolved from
//! them, never fetched) and turns errors into [`Violation`]s that name the JSON path.
//!
//! The schema files are not in this repository: the build embeds them from
//! `../shared/reference/cyclonedx-1.6/schema` (or `$STACKPORT_CYCLONEDX_SCHEMA_DIR`), see
//! `build.rs`. [`Schema::load_dir`] reads them at run time instead.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

/// The documents of the schema, by file name.
pub const FILES: [&str; 3] = [
    "bom-1.6.schema.json",
    "spdx.schema.json",
    "jsf-0.82.schema.json",
];

/// At most this many violations are reported for one document.
pub const MAX_VIOLATIONS: usize = 100;

/// The schema cannot be had or compiled.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaError {
    #[error("the CycloneDX 1.6 schema was not embedded at build time (looked in {0}); set STACKPORT_CYCLONEDX_SCHEMA_DIR when building, or use Schema::load_dir")]
    NotEmbedded(&'static str),
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("compiling the CycloneDX schema: {0}")]
    Compile(String),
}

/// One way a document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON Pointer to the offending value (`/components/0/type`; empty for the root).
    pub instance_path: String,
    /// JSON Pointer into the schema of the failing keyword.
    pub schema_path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Supplies the schema's companion documents to the validator by the last segment of the URI
/// they are referenced by; nothing is fetched.
struct Local(HashMap<String, Value>);

impl jsonschema::Retrieve for Local {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let s = uri.as_str();
        let name = s.rsplit('/').next().unwrap_or(s);
        let name = name.split('#').next().unwrap_or(name);
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| format!("{s} is not a document of the CycloneDX 1.6 schema").into())
    }
}

/// A compiled CycloneDX 1.6 schema.
pub struct Schema {
    validator: jsonschema::Validator,
}

#[cfg(cyclonedx_schema_embedded)]
fn embedded_texts() -> Option<[&'static str; 3]> {
    Some([
        include_str!(concat!(env!("OUT_DIR"), "/bom-1.6.schema.json")),
        include_str!(concat!(env!("OUT_DIR"), "/spdx.schema.json")),
        include_str!(concat!(env!("OUT_DIR"), "/jsf-0.82.schema.json")),
    ])
}

#[cfg(not(cyclonedx_schema_embedded))]
fn embedded_texts() -> Option<[&'static str; 3]> {
    None
}

impl Schema {
    /// The schema embedded at build time, compiled once.
    pub fn embedded() -> Result<&'static Schema, SchemaError> {
        static S: OnceLock<Result<Schema, SchemaError>> = OnceLock::new();
        S.get_or_init(|| {
            let texts = embedded_texts().ok_or(SchemaError::NotEmbedded(env!(
                "STACKPORT_CYCLONEDX_SCHEMA_SOURCE"
            )))?;
            Schema::from_texts(
                FILES
                    .iter()
                    .zip(texts)
                    .map(|(n, t)| (n.to_string(), t.to_string())),
            )
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Reads and compiles the three schema files from a directory.
    pub fn load_dir(dir: &Path) -> Result<Schema, SchemaError> {
        let mut texts = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            let t = std::fs::read_to_string(&path).map_err(|e| SchemaError::Read {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            texts.push((name.to_string(), t));
        }
        Schema::from_texts(texts)
    }

    fn from_texts(
        texts: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Schema, SchemaError> {
        let mut docs = HashMap::new();
        for (name, text) in texts {
            let v: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Read {
                file: name.clone(),
                message: e.to_string(),
            })?;
            docs.insert(name, v);
        }
        let bom = docs
            .get(FILES[0])
            .cloned()
            .ok_or_else(|| SchemaError::Compile(format!("{} missing", FILES[0])))?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .with_retriever(Local(docs))
            .build(&bom)
            .map_err(|e| SchemaError::Compile(e.to_string()))?;
        Ok(Schema { validator })
    }

    /// Checks a document. A wrong `bomFormat` or `specVersion` is reported on its own: the
    /// schema's errors for another version's document would only confuse.
    pub fn validate(&self, doc: &Value) -> Result<(), Vec<Violation>> {
        let Some(obj) = doc.as_object() else {
            return Err(vec![Violation {
                instance_path: String::new(),
                schema_path: "/type".into(),
                message: "a CycloneDX BOM is a JSON object".into(),
            }]);
        };
        let mut header = Vec::new();
        match obj.get("bomFormat") {
            Some(Value::String(s)) if s == "CycloneDX" => {}
            other => header.push(Violation {
                instance_path: "/bomFormat".into(),
                schema_path: "/properties/bomFormat/enum".into(),
                message: format!(
                    "bomFormat must be \"CycloneDX\", found {}",
                    other.map_or("nothing".to_string(), |v| v.to_string())
                ),
            }),
        }
        match obj.get("specVersion") {
            Some(Value::String(s)) if s == "1.6" => {}
            other => header.push(Violation {
                instance_path: "/specVersion".into(),
                schema_path: "/properties/specVersion".into(),
                message: format!(
                    "specVersion must be \"1.6\" (this is a CycloneDX 1.6 validator), found {}",
                    other.map_or("nothing".to_string(), |v| v.to_string())
                ),
            }),
        }
        if !header.is_empty() {
            return Err(header);
        }
        if self.validator.is_valid(doc) {
            return Ok(());
        }
        let out: Vec<Violation> = self
            .validator
            .iter_errors(doc)
            .take(MAX_VIOLATIONS)
            .map(|e| {
                let mut value = e.instance().to_string();
                if value.chars().count() > 120 {
                    value = value.chars().take(117).collect::<String>() + "...";
                }
                Violation {
                    instance_path: e.instance_path().to_string(),
                    schema_path: e.schema_path().to_string(),
                    message: format!("{} (value {value})", e.masked()),
                }
            })
            .collect();
        Err(out)
    }
}
