//! SVMClassifier, as skl2onnx writes SVC / NuSVC (support vectors, one-vs-one decision values,
//! Platt-scaled pairwise probabilities coupled into class probabilities) and linear SVMs without
//! support vectors. Computed as the ONNX-ML specification and onnxruntime do: kernels linear,
//! poly, rbf and sigmoid; with `prob_a`/`prob_b`, libsvm's pairwise coupling (the iterative
//! method of Wu, Lin and Weng 2004); the `post_transform` on the scores otherwise.
//!
//! [`SvmEval`] is the scorer; the op and the node's two outputs are [`super::classifier_op`]'s.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::Onnx;

use super::classifier_op::{ClassifierExpansion, Scorer};

pub(super) fn register(onnx: &mut Onnx) {
    onnx.op_register.insert("SVMClassifier", svm_classifier);
}

/// The kernel between an input and a support vector.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Linear,
    Poly { gamma: f64, coef0: f64, degree: i32 },
    Rbf { gamma: f64 },
    Sigmoid { gamma: f64, coef0: f64 },
}

impl Kernel {
    fn eval(self, x: &[f32], v: &[f32]) -> f64 {
        let dot = || x.iter().zip(v).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum::<f64>();
        match self {
            Kernel::Linear => dot(),
            Kernel::Poly { gamma, coef0, degree } => (dot() * gamma + coef0).powi(degree),
            Kernel::Sigmoid { gamma, coef0 } => (dot() * gamma + coef0).tanh(),
            Kernel::Rbf { gamma } => {
                let d2: f64 = x.iter().zip(v).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
                (-gamma * d2).exp()
            }
        }
    }
}

/// What happens to the scores when there are no pairwise probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PostTransform {
    None,
    Logistic,
    Softmax,
}

/// The evaluator: everything the node's attributes say, checked at parse time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SvmEval {
    kernel: Kernel,
    features: usize,
    classes: usize,
    /// Support vectors, row-major `[n_sv, features]`; empty in linear mode.
    support_vectors: Vec<f32>,
    /// First support vector of each class, and how many it has.
    class_ranges: Vec<(usize, usize)>,
    /// SVC: `[classes - 1, n_sv]` dual coefficients. Linear: `[classes, features]` weights.
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    prob_a: Vec<f32>,
    prob_b: Vec<f32>,
    post_transform: PostTransform,
}

impl Eq for SvmEval {}

fn svm_classifier(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(ClassifierExpansion::new(SvmEval::from_node(node)?)), vec![]))
}

impl SvmEval {
    fn from_node(node: &NodeProto) -> TractResult<SvmEval> {
        let labels = match (
            node.get_attr_opt_vec::<i64>("classlabels_ints")?,
            node.get_attr_opt_vec::<String>("classlabels_strings")?,
        ) {
            (Some(ints), None) => ints.len(),
            (None, Some(strings)) => strings.len(),
            _ => bail!("SVMClassifier needs exactly one of classlabels_ints and classlabels_strings"),
        };
        let classes = labels.max(1);
        let params = super::floats_or(node, "kernel_params", &[])?;
        let gamma = f64::from(params.first().copied().unwrap_or(0.0));
        let coef0 = f64::from(params.get(1).copied().unwrap_or(0.0));
        let degree = params.get(2).copied().unwrap_or(0.0) as i32;
        let kernel_name: String = node.get_attr_opt("kernel_type")?.unwrap_or_else(|| "LINEAR".to_string());
        let kernel = match kernel_name.as_str() {
            "LINEAR" => Kernel::Linear,
            "POLY" => Kernel::Poly { gamma, coef0, degree },
            "RBF" => Kernel::Rbf { gamma },
            "SIGMOID" => Kernel::Sigmoid { gamma, coef0 },
            other => bail!("SVMClassifier: kernel_type {other} (LINEAR, POLY, RBF and SIGMOID are served)"),
        };
        let post: String = node.get_attr_opt("post_transform")?.unwrap_or_else(|| "NONE".to_string());
        let post_transform = match post.as_str() {
            "NONE" => PostTransform::None,
            "LOGISTIC" => PostTransform::Logistic,
            "SOFTMAX" => PostTransform::Softmax,
            other => bail!("SVMClassifier: post_transform {other} is not served (NONE, LOGISTIC, SOFTMAX)"),
        };
        let per_class = node.get_attr_opt_vec::<i64>("vectors_per_class")?.unwrap_or_default();
        let mut class_ranges = Vec::with_capacity(per_class.len());
        let mut n_sv = 0usize;
        for &count in &per_class {
            let count = usize::try_from(count).map_err(|_| format_err!("SVMClassifier: negative vectors_per_class"))?;
            class_ranges.push((n_sv, count));
            n_sv = n_sv.checked_add(count).ok_or_else(|| format_err!("SVMClassifier: vectors_per_class overflows"))?;
        }
        let support_vectors = super::floats_or(node, "support_vectors", &[])?;
        let coefficients = super::floats_or(node, "coefficients", &[])?;
        let rho = super::floats_or(node, "rho", &[])?;
        let prob_a = super::floats_or(node, "prob_a", &[])?;
        let prob_b = super::floats_or(node, "prob_b", &[])?;
        let pairs = classes * (classes - 1) / 2;
        let features = if n_sv > 0 {
            if class_ranges.len() != classes {
                bail!("SVMClassifier: vectors_per_class has {} entries for {classes} classes", class_ranges.len());
            }
            if support_vectors.is_empty() || support_vectors.len() % n_sv != 0 {
                bail!("SVMClassifier: {} support vector values for {n_sv} vectors", support_vectors.len());
            }
            if coefficients.len() != (classes - 1) * n_sv {
                bail!("SVMClassifier: {} coefficients, expected (classes - 1) × vectors", coefficients.len());
            }
            if rho.len() != pairs.max(1) {
                bail!("SVMClassifier: {} rho values for {pairs} class pairs", rho.len());
            }
            if !prob_a.is_empty() && (prob_a.len() != pairs || prob_b.len() != pairs) {
                bail!("SVMClassifier: prob_a/prob_b need one value per class pair ({pairs})");
            }
            support_vectors.len() / n_sv
        } else {
            if coefficients.is_empty() || coefficients.len() % classes != 0 {
                bail!("SVMClassifier: {} coefficients for {classes} classes (linear mode)", coefficients.len());
            }
            if rho.is_empty() {
                bail!("SVMClassifier: rho is missing");
            }
            coefficients.len() / classes
        };
        Ok(SvmEval {
            kernel,
            features,
            classes,
            support_vectors,
            class_ranges,
            coefficients,
            rho,
            prob_a,
            prob_b,
            post_transform,
        })
    }

    fn svc(&self) -> bool {
        !self.class_ranges.is_empty()
    }

    /// Values in one output row.
    fn width(&self) -> usize {
        let pairs = self.classes * (self.classes - 1) / 2;
        match (self.svc(), self.prob_a.is_empty()) {
            (true, false) => self.classes,
            (true, true) if self.classes == 2 => 2,
            (true, true) => pairs,
            (false, _) if self.classes == 1 => 2,
            (false, _) => self.classes,
        }
    }

    /// One row of scores into `out` (`width()` values); `scratch` is reused across rows.
    fn row(&self, x: &[f32], out: &mut [f32], scratch: &mut Scratch) {
        if !self.svc() {
            let scores = &mut scratch.pairwise;
            scores.clear();
            for class in 0..self.classes {
                let w = &self.coefficients[class * self.features..(class + 1) * self.features];
                scores.push(Kernel::Linear.eval(x, w) + f64::from(self.rho[0]));
            }
            return self.finish(scores, out);
        }
        let n_sv = self.class_ranges.iter().map(|r| r.1).sum::<usize>();
        scratch.kernels.clear();
        scratch.kernels.extend(
            (0..n_sv).map(|j| self.kernel.eval(x, &self.support_vectors[j * self.features..][..self.features])),
        );
        let k = &scratch.kernels;
        let coef = |row: usize, j: usize| f64::from(self.coefficients[row * n_sv + j]);
        scratch.pairwise.clear();
        let mut evals = 0;
        for i in 0..self.classes {
            let (si, ci) = self.class_ranges[i];
            for j in i + 1..self.classes {
                let (sj, cj) = self.class_ranges[j];
                let s1: f64 = (si..si + ci).map(|v| coef(j - 1, v) * k[v]).sum();
                let s2: f64 = (sj..sj + cj).map(|v| coef(i, v) * k[v]).sum();
                scratch.pairwise.push(f64::from(self.rho[evals]) + s1 + s2);
                evals += 1;
            }
        }
        if self.prob_a.is_empty() {
            let scores = std::mem::take(&mut scratch.pairwise);
            self.finish(&scores, out);
            scratch.pairwise = scores;
            return;
        }
        self.couple(scratch, out);
    }

    /// Scores without probabilities: a single decision value becomes (-s, s); then the
    /// post-transform.
    fn finish(&self, scores: &[f64], out: &mut [f32]) {
        if scores.len() == 1 && out.len() == 2 {
            let s = scores[0];
            let (a, b) = match self.post_transform {
                PostTransform::Logistic => (logistic(-s), logistic(s)),
                PostTransform::Softmax => {
                    let (ea, eb) = ((-s - s.abs()).exp(), (s - s.abs()).exp());
                    (ea / (ea + eb), eb / (ea + eb))
                }
                PostTransform::None => (-s, s),
            };
            out[0] = a as f32;
            out[1] = b as f32;
            return;
        }
        match self.post_transform {
            PostTransform::None => out.iter_mut().zip(scores).for_each(|(o, &s)| *o = s as f32),
            PostTransform::Logistic => out.iter_mut().zip(scores).for_each(|(o, &s)| *o = logistic(s) as f32),
            PostTransform::Softmax => {
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = scores.iter().map(|&s| (s - max).exp()).sum();
                out.iter_mut().zip(scores).for_each(|(o, &s)| *o = ((s - max).exp() / sum) as f32);
            }
        }
    }

    /// Platt-scaled pairwise probabilities coupled into class probabilities (libsvm's
    /// `multiclass_probability`).
    fn couple(&self, scratch: &mut Scratch, out: &mut [f32]) {
        let k = self.classes;
        let r = &mut scratch.r;
        r.clear();
        r.resize(k * k, 0.0);
        let mut index = 0;
        for i in 0..k {
            for j in i + 1..k {
                let v = scratch.pairwise[index] * f64::from(self.prob_a[index]) + f64::from(self.prob_b[index]);
                let p = (1.0 - logistic(v)).clamp(1e-7, 1.0 - 1e-7);
                r[i * k + j] = p;
                r[j * k + i] = 1.0 - p;
                index += 1;
            }
        }
        let (q, qp, p) = (&mut scratch.q, &mut scratch.qp, &mut scratch.p);
        q.clear();
        q.resize(k * k, 0.0);
        qp.clear();
        qp.resize(k, 0.0);
        p.clear();
        p.resize(k, 1.0 / k as f64);
        for t in 0..k {
            q[t * k + t] = (0..k).filter(|&j| j != t).map(|j| r[j * k + t] * r[j * k + t]).sum();
            for j in 0..t {
                q[t * k + j] = q[j * k + t];
            }
            for j in t + 1..k {
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
        let eps = 0.005 / k as f64;
        for _ in 0..k.max(100) {
            for t in 0..k {
                qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
            }
            let mut pqp: f64 = (0..k).map(|t| p[t] * qp[t]).sum();
            if qp.iter().map(|&v| (v - pqp).abs()).fold(0.0, f64::max) < eps {
                break;
            }
            for t in 0..k {
                let diff = (-qp[t] + pqp) / q[t * k + t];
                p[t] += diff;
                pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / ((1.0 + diff) * (1.0 + diff));
                for j in 0..k {
                    qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                    p[j] /= 1.0 + diff;
                }
            }
        }
        out.iter_mut().zip(p.iter()).for_each(|(o, &v)| *o = v as f32);
    }
}

/// Buffers one evaluation reuses across its rows.
#[derive(Default)]
pub(crate) struct Scratch {
    kernels: Vec<f64>,
    pairwise: Vec<f64>,
    r: Vec<f64>,
    q: Vec<f64>,
    qp: Vec<f64>,
    p: Vec<f64>,
}

fn logistic(v: f64) -> f64 {
    let e = 1.0 / (1.0 + (-v.abs()).exp());
    if v < 0.0 {
        1.0 - e
    } else {
        e
    }
}

impl Scorer for SvmEval {
    type Scratch = Scratch;

    fn op_name(&self) -> &'static str {
        "SVMClassifier"
    }

    fn features(&self) -> usize {
        self.features
    }

    fn accepts(&self, width: usize) -> bool {
        width == self.features
    }

    fn width(&self) -> usize {
        SvmEval::width(self)
    }

    fn score(&self, x: &[f32], out: &mut [f32], scratch: &mut Scratch) {
        self.row(x, out, scratch)
    }
}

#[cfg(test)]
mod tests {
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::AttributeProto;

    use super::*;

    fn attr(name: &str, ints: &[i64], floats: &[f32], s: &str) -> AttributeProto {
        let r#type = if !ints.is_empty() {
            AttributeType::Ints
        } else if !floats.is_empty() {
            AttributeType::Floats
        } else {
            AttributeType::String
        };
        AttributeProto {
            name: name.into(),
            r#type: r#type as i32,
            ints: ints.to_vec(),
            floats: floats.to_vec(),
            s: s.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    /// Two classes, one support vector each, 2 features, an rbf kernel with probabilities.
    fn node(coefficients: &[f32]) -> NodeProto {
        NodeProto {
            op_type: "SVMClassifier".into(),
            attribute: vec![
                attr("classlabels_ints", &[0, 1], &[], ""),
                attr("kernel_type", &[], &[], "RBF"),
                attr("kernel_params", &[], &[0.5, 0.0, 3.0], ""),
                attr("vectors_per_class", &[1, 1], &[], ""),
                attr("support_vectors", &[], &[0.0, 0.0, 1.0, 1.0], ""),
                attr("coefficients", &[], coefficients, ""),
                attr("rho", &[], &[0.1], ""),
                attr("prob_a", &[], &[-2.0], ""),
                attr("prob_b", &[], &[0.0], ""),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn probabilities_sum_to_one_and_follow_the_decision() {
        let svm = SvmEval::from_node(&node(&[1.0, -1.0])).unwrap();
        assert_eq!(svm.width(), 2);
        let mut scratch = Scratch::default();
        let mut near_first = [0.0f32; 2];
        svm.row(&[0.0, 0.1], &mut near_first, &mut scratch);
        let mut near_second = [0.0f32; 2];
        svm.row(&[1.0, 0.9], &mut near_second, &mut scratch);
        for p in [near_first, near_second] {
            assert!((p[0] + p[1] - 1.0).abs() < 1e-6, "{p:?}");
        }
        // The decision value is positive near the first class's vector: class 0 gets more.
        assert!(near_first[0] > near_first[1] && near_second[1] > near_second[0], "{near_first:?} {near_second:?}");
    }

    #[test]
    fn inconsistent_attributes_are_refused_with_the_reason() {
        let err = SvmEval::from_node(&node(&[1.0])).unwrap_err().to_string();
        assert!(err.contains("1 coefficients"), "{err}");
        let mut bad_kernel = node(&[1.0, -1.0]);
        bad_kernel.attribute[1] = attr("kernel_type", &[], &[], "CUBIC");
        let err = SvmEval::from_node(&bad_kernel).unwrap_err().to_string();
        assert!(err.contains("CUBIC") && err.contains("RBF"), "{err}");
        let mut bad_vectors = node(&[1.0, -1.0]);
        bad_vectors.attribute[4] = attr("support_vectors", &[], &[0.0, 0.0, 1.0], "");
        let err = SvmEval::from_node(&bad_vectors).unwrap_err().to_string();
        assert!(err.contains("support vector values"), "{err}");
    }
}
