//! Sampling exactly a fraction of calls, spread evenly, without randomness or locks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Says yes to exactly `fraction` of the calls: call `k` (from 0) is taken when
/// `⌊(k+1)·f⌋ > ⌊k·f⌋`, so after `n` calls `⌊n·f⌋` were taken. One relaxed atomic add per call.
#[derive(Debug)]
pub(crate) struct EvenSampler {
    fraction: f64,
    calls: AtomicU64,
}

impl EvenSampler {
    /// A sampler taking `fraction` (clamped to [0, 1]) of the calls.
    pub(crate) fn new(fraction: f64) -> EvenSampler {
        EvenSampler { fraction: fraction.clamp(0.0, 1.0), calls: AtomicU64::new(0) }
    }

    /// The fraction taken.
    pub(crate) fn fraction(&self) -> f64 {
        self.fraction
    }

    /// Whether this call is taken.
    pub(crate) fn sample(&self) -> bool {
        if self.fraction >= 1.0 {
            return true;
        }
        if self.fraction <= 0.0 {
            return false;
        }
        let k = self.calls.fetch_add(1, Ordering::Relaxed) as f64;
        ((k + 1.0) * self.fraction).floor() > (k * self.fraction).floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_exactly_the_fraction() {
        for fraction in [0.0, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.999, 1.0] {
            let sampler = EvenSampler::new(fraction);
            let taken = (0..10_000).filter(|_| sampler.sample()).count();
            assert_eq!(taken, (10_000.0 * fraction).floor() as usize, "fraction {fraction}");
        }
    }
}
