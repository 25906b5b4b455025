//! Items as given (datasheet figures, model facts) and as resolved into the parameters the
//! rules test: TPP, performance density, bandwidths, training operations.

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::rulebook::{ItemKind, Param, PARAM_COUNT};

/// One datasheet throughput figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Bit length of the operation (FP8 = 8, BF16 = 16, ...).
    pub bits: u32,
    /// Peak TOPS or TFLOPS as printed.
    pub tops: f64,
    /// True when the printed figure assumes structured sparsity (then it is halved: TPP uses
    /// dense throughput).
    #[serde(default)]
    pub sparse: bool,
}

/// A chip described by its figures (the `item.chip` object of a case).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipSpec {
    /// Total Processing Performance, when already computed.
    #[serde(default)]
    pub tpp: Option<f64>,
    /// Datasheet throughputs from which TPP is computed when `tpp` is absent.
    #[serde(default)]
    pub throughput: Vec<Throughput>,
    #[serde(default)]
    pub die_area_mm2: Option<f64>,
    #[serde(default)]
    pub performance_density: Option<f64>,
    #[serde(default)]
    pub datacenter: Option<bool>,
    #[serde(default)]
    pub io_bandwidth_gbps: Option<f64>,
    #[serde(default)]
    pub dram_bandwidth_gbps: Option<f64>,
    /// ECCN the item is otherwise specified in (e.g. "5A992"): a 3A090/4A090-level item is then
    /// classified in that ECCN's `.z` paragraph.
    #[serde(default)]
    pub specified_in: Option<String>,
}

/// AI model weights (the `item.model` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    #[serde(default)]
    pub training_operations: Option<f64>,
    #[serde(default)]
    pub published: Option<bool>,
}

/// High-bandwidth memory (the `item.memory` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    #[serde(default)]
    pub memory_bandwidth_density: Option<f64>,
    #[serde(default)]
    pub bandwidth_gbps: Option<f64>,
    #[serde(default)]
    pub area_mm2: Option<f64>,
}

/// A computer or assembly containing chips (the `item.computer` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputerSpec {
    /// Catalog id of the contained chip, or its figures.
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub chip: Option<ChipSpec>,
    #[serde(default)]
    pub specified_in: Option<String>,
}

/// The `item` of a case: exactly one member set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub chip: Option<ChipSpec>,
    #[serde(default)]
    pub model: Option<ModelSpec>,
    #[serde(default)]
    pub memory: Option<MemorySpec>,
    #[serde(default)]
    pub computer: Option<ComputerSpec>,
}

/// An item reduced to what the rules test.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedItem {
    pub kind: ItemKind,
    pub params: [Option<f64>; PARAM_COUNT],
    pub datacenter: Option<bool>,
    pub published: Option<bool>,
    pub specified_in: Option<String>,
    /// Catalog index, for catalog items.
    pub catalog: Option<u16>,
}

impl ResolvedItem {
    pub fn param(&self, p: Param) -> Option<f64> {
        self.params[p as usize]
    }
}

fn check(field: &str, v: Option<f64>, positive: bool) -> Result<Option<f64>, InputError> {
    match v {
        Some(x) if !x.is_finite() => Err(InputError::BadNumber {
            field: field.into(),
            value: x,
            expected: "a finite number",
        }),
        Some(x) if x < 0.0 || (positive && x == 0.0) => Err(InputError::BadNumber {
            field: field.into(),
            value: x,
            expected: if positive {
                "greater than zero"
            } else {
                "zero or more"
            },
        }),
        other => Ok(other),
    }
}

/// TPP from datasheet throughput: 2 x MacTOPS x bit length, where 2 x MacTOPS is the printed
/// dense TOPS/TFLOPS; the precision giving the highest value counts (88 FR 73458, 3A090
/// Technical Note). Sparse figures are halved.
pub fn tpp_from_throughput(t: &[Throughput]) -> Option<f64> {
    t.iter()
        .map(|t| (if t.sparse { t.tops / 2.0 } else { t.tops }) * t.bits as f64)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
}

/// Resolves a chip's figures; `prefix` names the field in errors (`item.chip`).
pub fn resolve_chip(c: &ChipSpec, prefix: &str) -> Result<ResolvedItem, InputError> {
    for (i, t) in c.throughput.iter().enumerate() {
        if t.bits == 0 || t.bits > 128 {
            return Err(InputError::BadNumber {
                field: format!("{prefix}.throughput[{i}].bits"),
                value: t.bits as f64,
                expected: "a bit length between 1 and 128",
            });
        }
        check(
            &format!("{prefix}.throughput[{i}].tops"),
            Some(t.tops),
            false,
        )?;
    }
    let tpp = match check(&format!("{prefix}.tpp"), c.tpp, false)? {
        Some(t) => Some(t),
        None => tpp_from_throughput(&c.throughput),
    };
    let area = check(&format!("{prefix}.die_area_mm2"), c.die_area_mm2, true)?;
    let pd = match check(
        &format!("{prefix}.performance_density"),
        c.performance_density,
        false,
    )? {
        Some(pd) => Some(pd),
        // Performance density = TPP / applicable die area, unrounded (88 FR 73458).
        None => match (tpp, area) {
            (Some(t), Some(a)) => Some(t / a),
            _ => None,
        },
    };
    let mut params = [None; PARAM_COUNT];
    params[Param::Tpp as usize] = tpp;
    params[Param::PerformanceDensity as usize] = pd;
    params[Param::IoBandwidth as usize] = check(
        &format!("{prefix}.io_bandwidth_gbps"),
        c.io_bandwidth_gbps,
        false,
    )?;
    params[Param::DramBandwidth as usize] = check(
        &format!("{prefix}.dram_bandwidth_gbps"),
        c.dram_bandwidth_gbps,
        false,
    )?;
    Ok(ResolvedItem {
        kind: ItemKind::Chip,
        params,
        datacenter: c.datacenter,
        published: None,
        specified_in: c.specified_in.clone(),
        catalog: None,
    })
}

pub(crate) fn resolve_model(m: &ModelSpec) -> Result<ResolvedItem, InputError> {
    let mut params = [None; PARAM_COUNT];
    params[Param::TrainingOperations as usize] = check(
        "item.model.training_operations",
        m.training_operations,
        false,
    )?;
    Ok(ResolvedItem {
        kind: ItemKind::Model,
        params,
        datacenter: None,
        published: m.published,
        specified_in: None,
        catalog: None,
    })
}

pub(crate) fn resolve_memory(m: &MemorySpec) -> Result<ResolvedItem, InputError> {
    let bw = check("item.memory.bandwidth_gbps", m.bandwidth_gbps, false)?;
    let area = check("item.memory.area_mm2", m.area_mm2, true)?;
    let density = match check(
        "item.memory.memory_bandwidth_density",
        m.memory_bandwidth_density,
        false,
    )? {
        Some(d) => Some(d),
        None => match (bw, area) {
            (Some(b), Some(a)) => Some(b / a),
            _ => None,
        },
    };
    let mut params = [None; PARAM_COUNT];
    params[Param::MemoryBandwidthDensity as usize] = density;
    Ok(ResolvedItem {
        kind: ItemKind::Memory,
        params,
        datacenter: None,
        published: None,
        specified_in: None,
        catalog: None,
    })
}
