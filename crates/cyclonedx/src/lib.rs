//! Validation of CycloneDX 1.6 JSON documents against the official CycloneDX 1.6 JSON schema.
//!
//! A software bill of materials (SBOM) that a customer hands us for classification is only worth
//! reading if it is a well-formed CycloneDX document: a component list whose `type`, `hashes`,
//! `licenses` and the rest mean what the specification says. This crate answers that one question,
//! "does this document conform to CycloneDX 1.6?", before anything downstream trusts its content.
//!
//! # How the pieces fit
//!
//! - [`Schema`] is the compiled official schema (`bom-1.6.schema.json` from the CycloneDX
//!   specification, with the `spdx.schema.json` and `jsf-0.82.schema.json` documents it refers
//!   to by `$ref` registered locally, so nothing is ever fetched over the network). Validation is
//!   done by the [`jsonschema`] crate as JSON Schema draft-07 **with format assertions on**:
//!   `date-time`, `uri`, `iri-reference` and `idn-email` are checked, as the specification's own
//!   test vectors require (an invalid `metadata.timestamp` is only invalid through its format, and
//!   a JSF signature `algorithm` such as `ES256` is only unambiguous under `oneOf` once the `uri`
//!   branch rejects it).
//! - [`Schema::embedded`] returns the schema compiled into the binary. The schema files are not
//!   part of this repository: `build.rs` copies them in from `$STACKPORT_CYCLONEDX_SCHEMA_DIR` or
//!   `<workspace>/../shared/reference/cyclonedx-1.6/schema` when they are there. A build without
//!   them still succeeds, and `embedded()` then says where to get them.
//! - [`Schema::load_dir`] compiles the schema from a directory at run time instead.
//! - [`Schema::validate`] returns every [`Violation`] (up to [`MAX_VIOLATIONS`]), each naming the
//!   offending place in the document as a JSON Pointer (RFC 6901), the schema keyword that failed,
//!   and a message quoting the offending value.
//!
//! Before the schema runs, the document's header is checked: `bomFormat` must be `"CycloneDX"`
//! and `specVersion` must be `"1.6"`. A document for another version (a 1.5 BOM, say) would
//! otherwise fail on whatever fields changed between versions, which hides the real problem; it
//! gets one violation at `/specVersion` instead.
//!
//! ```no_run
//! use stackport_cyclonedx::Schema;
//!
//! let doc: serde_json::Value = serde_json::from_str(r#"{
//!     "bomFormat": "CycloneDX",
//!     "specVersion": "1.6",
//!     "components": [{ "type": "no-such-type", "name": "acme" }]
//! }"#).unwrap();
//! let schema = Schema::embedded().expect("schema embedded at build time");
//! let violations = schema.validate(&doc).unwrap_err();
//! assert_eq!(violations[0].instance_path, "/components/0/type");
//! ```

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, ValidationError, Validator};
use serde_json::Value;

/// The most violations [`Schema::validate`] returns for one document. A document that breaks the
/// schema in one place per component would otherwise produce one violation for each of
/// thousands of components; the first hundred say all a reader can act on.
pub const MAX_VIOLATIONS: usize = 100;

/// The value of `bomFormat` every CycloneDX JSON document carries (CycloneDX 1.6 schema,
/// `properties.bomFormat.enum`).
const BOM_FORMAT: &str = "CycloneDX";

/// The only `specVersion` this schema describes.
const SPEC_VERSION: &str = "1.6";

/// The three schema documents, by file name as published in the CycloneDX specification
/// repository (`schema/`), and the `$id` each declares. The BOM schema refers to the other two
/// by relative `$ref`s, which resolve against its `$id` to these URIs.
const BOM_FILE: &str = "bom-1.6.schema.json";
const REFERENCED: [(&str, &str); 2] = [
    (
        "spdx.schema.json",
        "http://cyclonedx.org/schema/spdx.schema.json",
    ),
    (
        "jsf-0.82.schema.json",
        "http://cyclonedx.org/schema/jsf-0.82.schema.json",
    ),
];

/// Where the build looked for the schema files (or found them).
const SCHEMA_SOURCE: &str = env!("STACKPORT_CYCLONEDX_SCHEMA_SOURCE");

/// Longest rendering of an offending value quoted in a [`Violation::message`]; a failing
/// component object can be kilobytes long.
const MAX_QUOTED_VALUE: usize = 120;

/// Why the CycloneDX schema could not be made ready for validation.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The build found no schema files to embed.
    #[error(
        "the CycloneDX 1.6 schema was not embedded at build time: no {BOM_FILE}, \
         spdx.schema.json and jsf-0.82.schema.json in {searched}. Get them from the \
         CycloneDX specification repository (github.com/CycloneDX/specification, schema/), \
         then rebuild with STACKPORT_CYCLONEDX_SCHEMA_DIR set to their directory, or load \
         them at run time with Schema::load_dir"
    )]
    NotEmbedded {
        /// The directory the build searched.
        searched: &'static str,
    },
    /// The files embedded at build time do not parse or compile (they were broken when built).
    #[error("{message}")]
    EmbeddedUnusable { message: String },
    /// A schema file could not be read.
    #[error("reading CycloneDX schema file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A schema file is not JSON.
    #[error("CycloneDX schema file {path} is not valid JSON: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The schema documents are JSON but do not compile into a validator.
    #[error("compiling the CycloneDX 1.6 schema from {origin}: {message}")]
    Compile {
        /// Where the schema documents came from: a directory, or "the embedded copy".
        origin: String,
        message: String,
    },
}

/// One way in which a document fails to conform to CycloneDX 1.6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the document: a JSON Pointer (RFC 6901) such as `/components/0/type`; empty for
    /// the document as a whole.
    pub instance_path: String,
    /// Which schema keyword failed, as a JSON Pointer into `bom-1.6.schema.json` such as
    /// `/definitions/component/properties/type/enum`.
    pub schema_path: String,
    /// What is wrong, quoting the offending value (shortened when long).
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.instance_path.is_empty() {
            "(document)"
        } else {
            &self.instance_path
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// The official CycloneDX 1.6 JSON schema, compiled for validation.
pub struct Schema {
    validator: Validator,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("spec_version", &SPEC_VERSION)
            .finish_non_exhaustive()
    }
}

#[cfg(cyclonedx_schema_embedded)]
mod embedded {
    pub const BOM: &str = include_str!(concat!(env!("OUT_DIR"), "/bom-1.6.schema.json"));
    pub const SPDX: &str = include_str!(concat!(env!("OUT_DIR"), "/spdx.schema.json"));
    pub const JSF: &str = include_str!(concat!(env!("OUT_DIR"), "/jsf-0.82.schema.json"));
}

impl Schema {
    /// The schema embedded at build time, compiled on first use and shared afterwards.
    ///
    /// # Errors
    ///
    /// [`SchemaError::NotEmbedded`] when the build found no schema files (the message says where
    /// it looked and how to fix it); a parse or compile error if the embedded files are broken.
    pub fn embedded() -> Result<&'static Schema, SchemaError> {
        #[cfg(cyclonedx_schema_embedded)]
        {
            use std::sync::OnceLock;

            // A failure is kept as its message: `SchemaError` holds an `io::Error`, which is not
            // `Clone`, and the embedded files cannot change while the program runs anyway.
            static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
            let origin = format!("the copy embedded at build time from {SCHEMA_SOURCE}");
            let compiled = SCHEMA.get_or_init(|| {
                let parse = |name: &str, text: &str| {
                    serde_json::from_str::<Value>(text).map_err(|source| SchemaError::Parse {
                        path: Path::new(SCHEMA_SOURCE).join(name),
                        source,
                    })
                };
                let bom = parse(BOM_FILE, embedded::BOM);
                let spdx = parse(REFERENCED[0].0, embedded::SPDX);
                let jsf = parse(REFERENCED[1].0, embedded::JSF);
                (|| Schema::compile(&bom?, [spdx?, jsf?], &origin))().map_err(|err| err.to_string())
            });
            compiled
                .as_ref()
                .map_err(|message| SchemaError::EmbeddedUnusable {
                    message: message.clone(),
                })
        }
        #[cfg(not(cyclonedx_schema_embedded))]
        {
            Err(SchemaError::NotEmbedded {
                searched: SCHEMA_SOURCE,
            })
        }
    }

    /// Compiles the schema from a directory holding `bom-1.6.schema.json`, `spdx.schema.json`
    /// and `jsf-0.82.schema.json`, as published in the CycloneDX specification's `schema/`.
    ///
    /// # Errors
    ///
    /// When a file is missing or unreadable, is not JSON, or the documents do not compile.
    pub fn load_dir(dir: &Path) -> Result<Schema, SchemaError> {
        let read = |name: &str| -> Result<Value, SchemaError> {
            let path = dir.join(name);
            let text = fs::read_to_string(&path).map_err(|source| SchemaError::Read {
                path: path.clone(),
                source,
            })?;
            serde_json::from_str(&text).map_err(|source| SchemaError::Parse { path, source })
        };
        let bom = read(BOM_FILE)?;
        let referenced = [read(REFERENCED[0].0)?, read(REFERENCED[1].0)?];
        Schema::compile(&bom, referenced, &dir.display().to_string())
    }

    fn compile(bom: &Value, referenced: [Value; 2], origin: &str) -> Result<Schema, SchemaError> {
        let compile_error = |message: String| SchemaError::Compile {
            origin: origin.to_owned(),
            message,
        };
        let resources = REFERENCED
            .iter()
            .zip(referenced)
            .map(|(&(_, uri), doc)| (uri, doc));
        let registry = Registry::new()
            .draft(Draft::Draft7)
            .extend(resources)
            .and_then(|builder| builder.prepare())
            .map_err(|err| compile_error(err.to_string()))?;
        let validator = jsonschema::options()
            .with_draft(Draft::Draft7)
            // Draft-07 leaves `format` an annotation by default; the CycloneDX test vectors need
            // it asserted (see the crate docs).
            .should_validate_formats(true)
            // A format the validator does not know (a typo in a future schema, say) is reported
            // as an error instead of silently checking nothing.
            .should_ignore_unknown_formats(false)
            .with_registry(&registry)
            .offline()
            .build(bom)
            .map_err(|err| compile_error(err.to_string()))?;
        Ok(Schema { validator })
    }

    /// Checks `doc` against CycloneDX 1.6.
    ///
    /// # Errors
    ///
    /// Every violation found, in document order as the schema is walked, at most
    /// [`MAX_VIOLATIONS`]. A document whose `bomFormat` or `specVersion` is wrong gets only those
    /// header violations, since schema errors for another format or version mislead.
    pub fn validate(&self, doc: &Value) -> Result<(), Vec<Violation>> {
        let header = header_violations(doc);
        if !header.is_empty() {
            return Err(header);
        }
        if self.validator.is_valid(doc) {
            return Ok(());
        }
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(doc)
            .take(MAX_VIOLATIONS)
            .map(|err| violation(&err))
            .collect();
        if violations.is_empty() {
            // `is_valid` and `iter_errors` disagreeing would be a bug in the validator; report it
            // rather than call an invalid document valid.
            return Err(vec![Violation {
                instance_path: String::new(),
                schema_path: String::new(),
                message: "document does not conform to the CycloneDX 1.6 schema".to_owned(),
            }]);
        }
        Err(violations)
    }
}

/// The violations of the two header fields that say what a document is.
fn header_violations(doc: &Value) -> Vec<Violation> {
    let Some(object) = doc.as_object() else {
        return vec![Violation {
            instance_path: String::new(),
            schema_path: "/type".to_owned(),
            message: format!(
                "a CycloneDX document is a JSON object, found {}",
                quote(doc)
            ),
        }];
    };
    let mut violations = Vec::new();
    match object.get("bomFormat") {
        Some(Value::String(format)) if format == BOM_FORMAT => {}
        found => violations.push(Violation {
            instance_path: "/bomFormat".to_owned(),
            schema_path: "/properties/bomFormat/enum".to_owned(),
            message: match found {
                None => format!("bomFormat is missing; it must be \"{BOM_FORMAT}\""),
                Some(value) => format!("bomFormat is {}, must be \"{BOM_FORMAT}\"", quote(value)),
            },
        }),
    }
    match object.get("specVersion") {
        Some(Value::String(version)) if version == SPEC_VERSION => {}
        found => violations.push(Violation {
            instance_path: "/specVersion".to_owned(),
            schema_path: "/properties/specVersion".to_owned(),
            message: match found {
                None => format!("specVersion is missing; this validator checks \"{SPEC_VERSION}\""),
                Some(value) => format!(
                    "specVersion is {}; this validator checks CycloneDX \"{SPEC_VERSION}\" only",
                    quote(value)
                ),
            },
        }),
    }
    violations
}

fn violation(err: &ValidationError<'_>) -> Violation {
    Violation {
        instance_path: err.instance_path().as_str().to_owned(),
        schema_path: err.schema_path().as_str().to_owned(),
        message: message(err),
    }
}

fn message(err: &ValidationError<'_>) -> String {
    // The masked form puts our shortened rendering where the value would be, so a failing
    // component object does not become a multi-kilobyte message.
    let mut message = err.masked_with(quote(err.instance())).to_string();
    // "not valid under any of the schemas listed in 'oneOf'" alone does not say what to fix: a
    // licence choice with an unknown SPDX id fails that way. Name the failure that got deepest
    // into the document, which is nearly always the one the author meant to satisfy.
    if let ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } =
        err.kind()
    {
        let nearest = context
            .iter()
            .flatten()
            .rev()
            .max_by_key(|sub| sub.instance_path().as_str().len());
        if let Some(sub) = nearest {
            let at = sub.instance_path().as_str();
            let at = if at.is_empty() { "(document)" } else { at };
            message.push_str(&format!(
                "; nearest failure at {at}: {}",
                self::message(sub)
            ));
        }
    }
    message
}

/// `value` as compact JSON, cut at [`MAX_QUOTED_VALUE`] characters.
fn quote(value: &Value) -> String {
    let mut text = value.to_string();
    if let Some((cut, _)) = text.char_indices().nth(MAX_QUOTED_VALUE) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_accepts_a_1_6_cyclonedx_document() {
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6"});
        assert!(header_violations(&doc).is_empty());
    }

    #[test]
    fn header_names_each_wrong_field() {
        let doc = json!({"bomFormat": "SPDX", "specVersion": 1.6});
        let violations = header_violations(&doc);
        let paths: Vec<&str> = violations
            .iter()
            .map(|v| v.instance_path.as_str())
            .collect();
        assert_eq!(paths, ["/bomFormat", "/specVersion"]);
        assert!(violations[0].message.contains("\"SPDX\""));
        assert!(violations[1].message.contains("1.6"));
    }

    #[test]
    fn header_reports_missing_fields_and_non_objects() {
        let violations = header_violations(&json!({}));
        assert_eq!(violations.len(), 2);
        assert!(violations[0].message.contains("missing"));
        let violations = header_violations(&json!([1, 2]));
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].instance_path, "");
    }

    #[test]
    fn quote_shortens_long_values_on_a_char_boundary() {
        let long = Value::String("é".repeat(500));
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), MAX_QUOTED_VALUE + 1);
        assert!(quoted.ends_with('…'));
        assert_eq!(quote(&json!("short")), "\"short\"");
    }

    #[test]
    fn display_marks_the_document_root() {
        let violation = Violation {
            instance_path: String::new(),
            schema_path: "/required".to_owned(),
            message: "\"bomFormat\" is a required property".to_owned(),
        };
        assert_eq!(
            violation.to_string(),
            "(document): \"bomFormat\" is a required property"
        );
    }
}
