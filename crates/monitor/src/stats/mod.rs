//! The statistics the monitor runs, usable on their own: two-sample KS with scipy's p-values,
//! chi-square homogeneity, floor-index and nearest-rank percentiles, histograms with fixed
//! upper-inclusive bucket bounds.

mod descriptive;
mod kolmogorov;
mod ks;
mod sort;
mod special;

pub use descriptive::{
    histogram_upper_inclusive, mean, percentile_floor_index, percentile_nearest_rank, CONFIDENCE_BUCKETS,
    INPUT_LENGTH_BUCKETS, LATENCY_BUCKETS_SECONDS, LATENCY_EXPORT_BUCKETS_SECONDS,
};
pub use kolmogorov::kstwo_sf;
pub use ks::{ks_2samp, ks_2samp_sorted, sort_for_ks, KsMethod, KsResult, KS_EXACT_MAX_N};
pub use sort::{f32_from_key, f32_key, sort_by_keys, SortScratch};
pub use special::{chi2_contingency_2xk, chi2_sf, gamma_q, ln_gamma, psi, ChiSquareResult};
