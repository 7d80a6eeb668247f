//! A/B variant assignment: the md5 scheme (the default; bit-identical to the reference Python
//! implementation in tests/data (make_deploy_vectors.py)) and GrowthBook's fnv1a32 scheme.
//!
//! Both are pure functions of (experiment, user id, weights): a user always gets the same variant
//! on every device and server that uses the same scheme. docs/deployment.md ("A/B
//! assignment") states the arithmetic each reproduces.

use md5::{Digest, Md5};

use crate::error::{fail, Result, Status};

/// How far the weights of an experiment may be from summing to 1: `|sum - 1| <= 0.001`, the sum
/// taken in order in f64.
pub const WEIGHT_SUM_TOLERANCE: f64 = 0.001;

/// Most variants an experiment may have.
pub const MAX_VARIANTS: usize = 16;

/// Which hashing scheme assigns users to variants.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Assignment {
    /// md5 of `"experiment:user_id"` read as a big-endian 128-bit integer `h`, bucket
    /// `(h % 1000) / 1000`, then the first variant whose cumulative weight exceeds the bucket (the
    /// last if none): bit-identical to the reference Python implementation in tests/data
    /// (make_deploy_vectors.py).
    #[default]
    Md5,
    /// GrowthBook's `hash(seed = experiment, user_id, version)` then `chooseVariation` over
    /// `getBucketRanges(n, 1, weights)`; `hash_version` is 1 or 2 (GrowthBook's default for new
    /// experiments is 2).
    GrowthBook {
        /// GrowthBook hash version: 1 or 2.
        hash_version: u8,
    },
}

/// Checks an experiment's weights: 1 to [`MAX_VARIANTS`] finite, non-negative values summing to 1
/// within [`WEIGHT_SUM_TOLERANCE`] (0.001; summed in order in f64).
pub fn validate_weights(weights: &[f64]) -> Result<()> {
    if weights.is_empty() {
        return fail(Status::InvalidArgument, "an experiment needs at least one variant");
    }
    if weights.len() > MAX_VARIANTS {
        return fail(
            Status::InvalidArgument,
            format!("{} variants given, at most {MAX_VARIANTS} are supported", weights.len()),
        );
    }
    for (i, w) in weights.iter().enumerate() {
        if !w.is_finite() || *w < 0.0 {
            return fail(Status::InvalidArgument, format!("weight {i} is {w}; weights must be finite and >= 0"));
        }
    }
    let total: f64 = weights.iter().sum();
    if (total - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return fail(
            Status::InvalidArgument,
            format!("weights must sum to 1 (within {WEIGHT_SUM_TOLERANCE}), got {total}"),
        );
    }
    Ok(())
}

/// The md5 bucket in [0, 1): `int(md5("experiment:user_id").hexdigest(), 16) % 1000 / 1000`.
///
/// The 128-bit digest is read big-endian, as Python's `int(hexdigest, 16)`.
pub fn md5_bucket(experiment: &str, user_id: &str) -> f64 {
    let mut hasher = Md5::new();
    hasher.update(experiment.as_bytes());
    hasher.update(b":");
    hasher.update(user_id.as_bytes());
    let digest: [u8; 16] = hasher.finalize().into();
    let value = u128::from_be_bytes(digest);
    (value % 1000) as f64 / 1000.0
}

/// The md5 scheme's choice: the first variant whose cumulative weight (summed in f64, in order)
/// exceeds the bucket (`bucket < cumulative`), else the last, which also takes the top of [0, 1)
/// that weights summing to less than 1 (by at most 0.001) leave uncovered, as the reference
/// Python implementation in tests/data (make_deploy_vectors.py) does. `weights` must be valid (see
/// [`validate_weights`]).
pub fn choose_cumulative(bucket: f64, weights: &[f64]) -> usize {
    let mut cumulative = 0.0f64;
    for (i, w) in weights.iter().enumerate() {
        cumulative += w;
        if bucket < cumulative {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// The md5 assignment of `user_id` in `experiment` ([`md5_bucket`], then [`choose_cumulative`]),
/// after checking the weights.
pub fn assign_md5(experiment: &str, user_id: &str, weights: &[f64]) -> Result<usize> {
    validate_weights(weights)?;
    Ok(choose_cumulative(md5_bucket(experiment, user_id), weights))
}

/// GrowthBook's 32-bit FNV-1a over the UTF-16 code units of `parts` concatenated (JavaScript's
/// `charCodeAt`, so non-ASCII text hashes as GrowthBook's JS SDK hashes it).
fn fnv1a32(parts: &[&str]) -> u32 {
    let mut hash: u32 = 0x811C_9DC5;
    for part in parts {
        for unit in part.encode_utf16() {
            hash ^= u32::from(unit);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    }
    hash
}

/// GrowthBook's `hash(seed, value, version)`: a number in [0, 1), or `None` for an unknown version.
/// v1 `fnv1a32(value + seed) % 1000 / 1000`; v2 `fnv1a32(str(fnv1a32(seed + value))) % 10000 / 10000`.
pub fn growthbook_hash(seed: &str, value: &str, version: u8) -> Option<f64> {
    match version {
        1 => Some((fnv1a32(&[value, seed]) % 1000) as f64 / 1000.0),
        2 => {
            let inner = fnv1a32(&[seed, value]);
            let mut digits = [0u8; 10];
            let text = decimal(inner, &mut digits);
            Some((fnv1a32(&[text]) % 10000) as f64 / 10000.0)
        }
        _ => None,
    }
}

/// `value` in decimal, written into `buffer` (no allocation).
fn decimal(mut value: u32, buffer: &mut [u8; 10]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buffer[start..]).unwrap_or("0")
}

/// GrowthBook's `getEqualWeights(n)`: `n` weights of `1/n` (none for `n <= 0`).
pub fn growthbook_equal_weights(n: i64) -> Vec<f64> {
    if n <= 0 {
        return Vec::new();
    }
    vec![1.0 / n as f64; n as usize]
}

/// GrowthBook's `getBucketRanges(n, coverage, weights)`: coverage is clamped to [0, 1]; weights
/// of the wrong length or summing outside [0.99, 1.01] are replaced by equal weights; range i is
/// `[cum, cum + coverage * w_i)`.
pub fn growthbook_bucket_ranges(n: usize, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    let coverage = if coverage.is_nan() { 1.0 } else { coverage.clamp(0.0, 1.0) };
    let equal = growthbook_equal_weights(n as i64);
    let weights = match weights {
        Some(w) if w.len() == n => {
            let total: f64 = w.iter().sum();
            if (0.99..=1.01).contains(&total) {
                w
            } else {
                &equal[..]
            }
        }
        _ => &equal[..],
    };
    let mut cumulative = 0.0f64;
    weights
        .iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

/// GrowthBook's `chooseVariation(n, ranges)`: the first range with `start <= n < end`, else `None`.
pub fn growthbook_choose(n: f64, ranges: &[(f64, f64)]) -> Option<usize> {
    ranges.iter().position(|(start, end)| n >= *start && n < *end)
}

/// GrowthBook's `inNamespace(user_id, (namespace, start, end))`: `hash("__" + namespace, user_id, 1)`
/// falls in `[start, end)`.
pub fn growthbook_in_namespace(user_id: &str, namespace: &str, start: f64, end: f64) -> bool {
    let mut seed = String::with_capacity(2 + namespace.len());
    seed.push_str("__");
    seed.push_str(namespace);
    match growthbook_hash(&seed, user_id, 1) {
        Some(n) => n >= start && n < end,
        None => false,
    }
}

/// GrowthBook assignment without allocating: the ranges are walked in place (coverage 1). A bucket
/// that falls outside every range (above the weights' sum, which may be as low as 0.999, or at a
/// float edge) gets the last variant, as the md5 scheme's [`choose_cumulative`] does, where
/// GrowthBook's `chooseVariation` would return no variant.
pub fn choose_growthbook(experiment: &str, user_id: &str, weights: &[f64], hash_version: u8) -> Result<usize> {
    let Some(n) = growthbook_hash(experiment, user_id, hash_version) else {
        return fail(Status::InvalidArgument, format!("GrowthBook hash version {hash_version} is not 1 or 2"));
    };
    let mut cumulative = 0.0f64;
    for (i, w) in weights.iter().enumerate() {
        let start = cumulative;
        cumulative += w;
        if n >= start && n < start + w {
            return Ok(i);
        }
    }
    Ok(weights.len().saturating_sub(1))
}

/// Assigns `user_id` with `scheme`; `weights` must be valid (see [`validate_weights`]).
pub fn assign(scheme: Assignment, experiment: &str, user_id: &str, weights: &[f64]) -> Result<usize> {
    match scheme {
        Assignment::Md5 => Ok(choose_cumulative(md5_bucket(experiment, user_id), weights)),
        Assignment::GrowthBook { hash_version } => choose_growthbook(experiment, user_id, weights, hash_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_offset_and_prime() {
        // FNV-1a of "" is the offset basis; of "a" is 0xE40C292C (published FNV test vector).
        assert_eq!(fnv1a32(&[""]), 0x811C_9DC5);
        assert_eq!(fnv1a32(&["a"]), 0xE40C_292C);
        assert_eq!(fnv1a32(&["foo", "bar"]), fnv1a32(&["foobar"]));
    }

    #[test]
    fn decimal_writes_every_width() {
        let mut b = [0u8; 10];
        assert_eq!(decimal(0, &mut b), "0");
        assert_eq!(decimal(7, &mut b), "7");
        assert_eq!(decimal(u32::MAX, &mut b), "4294967295");
    }

    #[test]
    fn weights_are_checked() {
        assert!(validate_weights(&[0.5, 0.5]).is_ok());
        assert!(validate_weights(&[0.5, 0.5005]).is_ok());
        assert_eq!(validate_weights(&[0.5, 0.6]).unwrap_err().status(), Status::InvalidArgument);
        assert!(validate_weights(&[]).is_err());
        assert!(validate_weights(&[f64::NAN, 1.0]).is_err());
        assert!(validate_weights(&[-0.5, 1.5]).is_err());
        assert!(validate_weights(&[1.0 / 17.0; 17]).is_err());
    }

    #[test]
    fn an_uncovered_top_falls_back_to_the_last_variant() {
        // Weights summing to 0.9991 (within the 0.001 tolerance) leave [0.9991, 1) uncovered: the
        // last variant takes it.
        assert_eq!(choose_cumulative(0.9995, &[0.5, 0.4991]), 1);
        assert_eq!(choose_cumulative(0.9995, &[0.4991, 0.5]), 1);
        assert_eq!(choose_cumulative(0.0, &[0.0, 1.0]), 1);
    }
}
