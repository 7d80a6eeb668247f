//! Turning a model's raw output into a probability vector and a prediction.

use crate::card::Postprocess;
use crate::error::{fail, Result, Status};

/// Write the probabilities for `raw` (the model output row) into `probs` as `post` says.
/// Fails when the output holds NaN or infinities (the request is then an error, never a silent
/// wrong answer).
pub(crate) fn probabilities(post: Postprocess, raw: &[f32], probs: &mut [f32]) -> Result<()> {
    if raw.iter().any(|v| !v.is_finite()) {
        return fail(Status::OutputNotFinite, "the model output contains NaN or infinity");
    }
    match post {
        Postprocess::Identity => probs.copy_from_slice(raw),
        Postprocess::Softmax => {
            let max = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f64;
            for (p, &z) in probs.iter_mut().zip(raw) {
                let e = f64::from(z - max).exp();
                *p = e as f32;
                sum += e;
            }
            for p in probs.iter_mut() {
                *p = (f64::from(*p) / sum) as f32;
            }
        }
        Postprocess::Sigmoid => {
            let p = 1.0 / (1.0 + (-f64::from(raw[0])).exp());
            probs[0] = (1.0 - p) as f32;
            probs[1] = p as f32;
        }
    }
    Ok(())
}

/// Index and value of the highest probability (the first one on ties, like numpy's argmax).
pub(crate) fn argmax(probs: &[f32]) -> (usize, f32) {
    let mut best = (0, probs[0]);
    for (i, &p) in probs.iter().enumerate().skip(1) {
        if p > best.1 {
            best = (i, p);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_matches_closed_form() {
        let mut p = [0f32; 3];
        probabilities(Postprocess::Softmax, &[1.0, 2.0, 3.0], &mut p).unwrap();
        let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|z| z.exp()).collect();
        let s: f64 = e.iter().sum();
        for i in 0..3 {
            assert!((f64::from(p[i]) - e[i] / s).abs() < 1e-7);
        }
        // Large logits do not overflow.
        probabilities(Postprocess::Softmax, &[1000.0, 0.0, -1000.0], &mut p).unwrap();
        assert_eq!(p, [1.0, 0.0, 0.0]);
    }

    #[test]
    fn sigmoid_gives_two_probabilities() {
        let mut p = [0f32; 2];
        probabilities(Postprocess::Sigmoid, &[0.0], &mut p).unwrap();
        assert_eq!(p, [0.5, 0.5]);
    }

    #[test]
    fn non_finite_output_is_an_error() {
        let mut p = [0f32; 2];
        let err = probabilities(Postprocess::Identity, &[f32::NAN, 0.5], &mut p).unwrap_err();
        assert_eq!(err.status(), Status::OutputNotFinite);
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), (1, 0.4));
    }
}
