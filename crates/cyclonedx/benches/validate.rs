//! Schema validation of a 10,000-component BOM with `stackport:` properties (the size of the
//! issue-9 package bar), and of the specification's largest valid test vector.
//!
//! cargo bench -p stackport-cyclonedx --bench validate

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use stackport_cyclonedx::Schema;

fn bom(n: usize) -> Value {
    let components: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "bom-ref": format!("c{i}"), "type": if i % 3 == 0 { "device" } else { "application" },
                "name": format!("Component {i}"), "version": "1.0",
                "properties": [
                    {"name": "stackport:layer", "value": "hardware"},
                    {"name": "stackport:supplier", "value": "m1"},
                    {"name": "stackport:site", "value": "s1"},
                    {"name": "stackport:quantity", "value": "100"},
                    {"name": "stackport:unit_value_usd", "value": "30000"},
                    {"name": "stackport:us_content_percent", "value": "90"},
                    {"name": "stackport:catalog", "value": "nvidia-h200"}
                ]
            })
        })
        .collect();
    json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
           "metadata": {"timestamp": "2026-06-01T00:00:00Z"}, "components": components})
}

fn bench(c: &mut Criterion) {
    let schema = Schema::embedded().expect("schema embedded at build time");
    let large = bom(10_000);
    assert!(schema.validate(&large).is_ok());
    let mut g = c.benchmark_group("cyclonedx_schema");
    g.sample_size(20);
    g.bench_function("validate_10k_components", |b| {
        b.iter(|| schema.validate(&large).is_ok())
    });
    g.bench_function("compile_schema", |b| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/cyclonedx-1.6/schema");
        b.iter(|| Schema::load_dir(&dir).is_ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
