//! OpenTelemetry exponential histogram with a fixed number of buckets: what a fleet backend can
//! merge across devices (docs/monitor.md, "Fleet-mergeable latency histograms").
//!
//! Bucket `i` at scale `s` covers `(base^i, base^(i+1)]`, `base = 2^(2^-s)`. Recording starts at
//! scale 20 and lowers the scale (merging neighbouring buckets) whenever the indexes in use
//! would span more than [`EXP_MAX_BUCKETS`]. Recording and merging never allocate.

/// Buckets a histogram holds (OpenTelemetry's default `max_size`).
pub const EXP_MAX_BUCKETS: usize = 160;
/// The finest scale (OpenTelemetry's default `max_scale`).
pub const EXP_MAX_SCALE: i32 = 20;
/// The coarsest scale (every finite positive f64 fits in 160 buckets well before it).
pub const EXP_MIN_SCALE: i32 = -10;

const MANTISSA_BITS: u32 = 52;
const MIN_NORMAL_EXPONENT: i64 = -1022;
const MAX_NORMAL_EXPONENT: i64 = 1023;

/// The bucket index of a positive finite `value` at `scale` (OpenTelemetry's mapping: exact for
/// powers of two and for scales ≤ 0, `floor(ln(v) · 2^s / ln 2)` otherwise; subnormals share the
/// bucket below the smallest normal).
pub fn map_to_index(value: f64, scale: i32) -> i64 {
    let bits = value.to_bits();
    let biased = ((bits >> MANTISSA_BITS) & 0x7ff) as i64;
    let mantissa = bits & ((1u64 << MANTISSA_BITS) - 1);
    if biased == 0 {
        // Subnormal: the bucket holding the values just below the smallest normal value.
        return if scale > 0 {
            (MIN_NORMAL_EXPONENT << scale) - 1
        } else {
            (MIN_NORMAL_EXPONENT >> -scale) - i64::from(-scale < 2)
        };
    }
    let exponent = biased - 1023;
    if scale <= 0 {
        // (exponent − 1 when the value is an exact power of two) >> −scale.
        let exact = i64::from(mantissa == 0);
        return (exponent - exact) >> (-scale);
    }
    if mantissa == 0 {
        return (exponent << scale) - 1;
    }
    // 2^scale / ln 2, exact scaling of the f64 1/ln 2 by a power of two.
    let scale_factor = (1.0 / std::f64::consts::LN_2) * 2f64.powi(scale);
    let index = (value.ln() * scale_factor).floor() as i64;
    index.min(((MAX_NORMAL_EXPONENT + 1) << scale) - 1)
}

/// The lower boundary `base^index` of bucket `index` at `scale` (the bucket is
/// `(lower, lower·base]`).
pub fn lower_boundary(index: i64, scale: i32) -> f64 {
    if scale <= 0 {
        return 2f64.powf((index << (-scale)) as f64);
    }
    ((index as f64) / 2f64.powi(scale) * std::f64::consts::LN_2).exp()
}

/// Why a value or a histogram was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExpHistogramError {
    /// NaN, infinite or negative value.
    BadValue,
    /// A histogram's fields are inconsistent (scale out of range, too many buckets, an offset
    /// no value maps to, counts that do not add up or would overflow, NaN sum/min/max).
    BadHistogram,
}

/// An exponential histogram of non-negative values (fixed capacity, `Copy`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ExpHistogram {
    /// Current scale.
    pub scale: i32,
    /// Values recorded (zeros included).
    pub count: u64,
    /// Zeros recorded.
    pub zero_count: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Smallest value (+∞ when empty).
    pub min: f64,
    /// Largest value (−∞ when empty).
    pub max: f64,
    /// Index of `counts[0]`.
    pub offset: i64,
    /// Buckets in use: `counts[..len]`.
    pub len: usize,
    /// Counts per bucket, from index `offset`.
    pub counts: [u64; EXP_MAX_BUCKETS],
}

impl Default for ExpHistogram {
    fn default() -> Self {
        ExpHistogram {
            scale: EXP_MAX_SCALE,
            count: 0,
            zero_count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            offset: 0,
            len: 0,
            counts: [0; EXP_MAX_BUCKETS],
        }
    }
}

/// Largest bucket index a histogram can reach: an f64 is below 2^1024 and above 2^-1075, so at
/// scale 20 (2^20 buckets per power of two) every index lies within ±1100·2^20. A histogram
/// whose offset lies beyond is corrupt (and would overflow the index arithmetic).
const MAX_INDEX: i64 = 1100 << 20;

/// How many halvings make `[lo, hi]` fit in the buckets.
fn change_needed(lo: i64, hi: i64) -> i32 {
    let mut change = 0;
    while (hi >> change) - (lo >> change) + 1 > EXP_MAX_BUCKETS as i64 {
        change += 1;
    }
    change
}

impl ExpHistogram {
    /// An empty histogram at scale 20.
    pub fn new() -> ExpHistogram {
        ExpHistogram::default()
    }

    /// The used counts.
    pub fn buckets(&self) -> &[u64] {
        &self.counts[..self.len]
    }

    /// Records one value (finite, ≥ 0). The histogram must be valid ([`validate`](Self::validate):
    /// what this crate makes always is; check one that came from outside first).
    pub fn record(&mut self, value: f64) -> Result<(), ExpHistogramError> {
        if !value.is_finite() || value < 0.0 {
            return Err(ExpHistogramError::BadValue);
        }
        if self.count == u64::MAX - 1 {
            return Err(ExpHistogramError::BadHistogram);
        }
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if value == 0.0 {
            self.zero_count += 1;
            return Ok(());
        }
        let mut index = map_to_index(value, self.scale);
        if self.len > 0 {
            let lo = index.min(self.offset);
            let hi = index.max(self.offset + self.len as i64 - 1);
            let change = change_needed(lo, hi);
            if change > 0 {
                self.downscale(change);
                index = map_to_index(value, self.scale);
            }
        }
        self.add(index, 1);
        Ok(())
    }

    /// Adds `n` to bucket `index`, which must fit with the buckets in use.
    fn add(&mut self, index: i64, n: u64) {
        if self.len == 0 {
            self.offset = index;
            self.len = 1;
            self.counts[0] = n;
            return;
        }
        if index < self.offset {
            let shift = (self.offset - index) as usize;
            self.counts.copy_within(0..self.len, shift);
            self.counts[..shift].fill(0);
            self.offset = index;
            self.len += shift;
        } else if index >= self.offset + self.len as i64 {
            let end = (index - self.offset) as usize + 1;
            self.counts[self.len..end].fill(0);
            self.len = end;
        }
        self.counts[(index - self.offset) as usize] += n;
    }

    /// Lowers the scale by `change`, merging buckets (in place: bucket k moves to j ≤ k).
    fn downscale(&mut self, change: i32) {
        let change = change.min(self.scale - EXP_MIN_SCALE);
        if change <= 0 {
            return;
        }
        if self.len > 0 {
            let new_offset = self.offset >> change;
            for k in 0..self.len {
                let n = std::mem::take(&mut self.counts[k]);
                let j = (((self.offset + k as i64) >> change) - new_offset) as usize;
                self.counts[j] += n;
            }
            self.len = (((self.offset + self.len as i64 - 1) >> change) - new_offset) as usize + 1;
            self.offset = new_offset;
        }
        self.scale -= change;
    }

    /// Checks the fields (for histograms that come from outside, e.g. through C).
    pub fn validate(&self) -> Result<(), ExpHistogramError> {
        let buckets = self.counts[..self.len.min(EXP_MAX_BUCKETS)].iter().try_fold(0u64, |sum, c| sum.checked_add(*c));
        let ok = (EXP_MIN_SCALE..=EXP_MAX_SCALE).contains(&self.scale)
            && self.len <= EXP_MAX_BUCKETS
            && (-MAX_INDEX..=MAX_INDEX).contains(&self.offset)
            && self.counts[self.len..].iter().all(|c| *c == 0)
            && buckets.and_then(|b| b.checked_add(self.zero_count)) == Some(self.count)
            && self.count < u64::MAX
            && !self.sum.is_nan()
            && !self.min.is_nan()
            && !self.max.is_nan();
        if ok {
            Ok(())
        } else {
            Err(ExpHistogramError::BadHistogram)
        }
    }

    /// The merge of `self` and `other` (as recording both value streams into one histogram):
    /// the finer scale lowered until both ranges fit together, counts added.
    pub fn merge(&self, other: &ExpHistogram) -> Result<ExpHistogram, ExpHistogramError> {
        self.validate()?;
        other.validate()?;
        if self.count.checked_add(other.count).is_none_or(|n| n == u64::MAX) {
            return Err(ExpHistogramError::BadHistogram);
        }
        let mut scale = self.scale.min(other.scale);
        let ranges = [self, other].map(|h| {
            (h.len > 0).then(|| {
                let d = h.scale - scale;
                (h.offset >> d, (h.offset + h.len as i64 - 1) >> d)
            })
        });
        if let Some((lo, hi)) = ranges.iter().flatten().copied().reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))) {
            scale -= change_needed(lo, hi);
        }
        let mut out = ExpHistogram { scale: scale.max(EXP_MIN_SCALE), ..ExpHistogram::default() };
        for h in [self, other] {
            let d = h.scale - out.scale;
            for (k, n) in h.buckets().iter().enumerate() {
                if *n > 0 {
                    out.add((h.offset + k as i64) >> d, *n);
                }
            }
            out.count += h.count;
            out.zero_count += h.zero_count;
            out.sum += h.sum;
            out.min = out.min.min(h.min);
            out.max = out.max.max(h.max);
        }
        Ok(out)
    }
}
