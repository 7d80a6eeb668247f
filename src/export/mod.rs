//! Metrics for fleet backends: what the monitors, the runtime and telemetry counted, as
//! Prometheus text exposition (0.0.4), OpenMetrics 1.0 text, or OTLP metrics JSON.
//!
//! [`Metrics`] is a point-in-time collection ([`Metrics::from_runtime`] or
//! [`Metrics::from_monitor`]), built from the runtime's and the monitors' public accessors; [`families`] turns it into metric families once, and each
//! format renders the same families, so the formats always agree.
//!
//! Metric names: the common model-serving ones (`model_prediction_latency_seconds`,
//! `model_predictions_total{model_version,status}`, `model_confidence_score`,
//! `model_input_length`), then the project's own under `mlops_edge_`. docs/telemetry.md lists them.

pub mod otlp;
pub mod prometheus;

use crate::monitor::exphist::ExpHistogram;
use crate::monitor::stats::{CONFIDENCE_BUCKETS, INPUT_LENGTH_BUCKETS, LATENCY_EXPORT_BUCKETS_SECONDS};
use crate::monitor::{FixedHistogram, Totals};
use crate::runtime::{Health, Role, Runtime, ShadowReport, VariantStats};
use crate::telemetry::TelemetryStats;
use crate::{Level, Monitor, Result, Snapshot};

/// One monitored model.
#[derive(Clone, Debug)]
pub struct ModelMetrics {
    /// "variant", "candidate", "shadow", or "monitor" for a monitor on its own.
    pub role: &'static str,
    /// The variant's name (empty for the shadow and a monitor on its own).
    pub variant: String,
    /// The model's version.
    pub model_version: String,
    /// Its monitor's analysis.
    pub snapshot: Snapshot,
}

/// What a runtime adds.
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    /// Health and counters.
    pub health: Health,
    /// Per-variant counts (A/B).
    pub variants: Vec<VariantStats>,
    /// The shadow's results, if a shadow runs.
    pub shadow: Option<ShadowReport>,
}

/// A point-in-time collection of everything exported.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The monitored models.
    pub models: Vec<ModelMetrics>,
    /// The runtime's own counters (none for a monitor on its own).
    pub runtime: Option<RuntimeMetrics>,
    /// Telemetry counters, if telemetry is given.
    pub telemetry: Option<TelemetryStats>,
    /// Since when the counters count (ns since the Unix epoch; OTLP `startTimeUnixNano`).
    pub start_unix_nanos: u64,
    /// When collected (ns since the Unix epoch).
    pub time_unix_nanos: u64,
}

/// Nanoseconds since the Unix epoch now.
pub(crate) fn unix_nanos_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u64::MAX as u128) as u64)
        .unwrap_or(0)
}

impl Metrics {
    /// Everything a runtime exports: each loaded model's snapshot (analysed now), health,
    /// per-variant A/B counts, the shadow's results and the telemetry counters.
    pub fn from_runtime(runtime: &Runtime) -> Result<Metrics> {
        let models = runtime
            .model_snapshots()?
            .into_iter()
            .map(|m| ModelMetrics {
                role: match m.role {
                    Role::Variant => "variant",
                    Role::Candidate => "candidate",
                    Role::Shadow => "shadow",
                },
                variant: m.variant_name,
                model_version: m.version,
                snapshot: m.snapshot,
            })
            .collect();
        let variants = (0..runtime.variant_count()).map(|i| runtime.variant_stats(i)).collect::<Result<Vec<_>>>()?;
        let shadow = runtime.shadow_report()?;
        let time_unix_nanos = unix_nanos_now();
        let health = runtime.health();
        let uptime = health.uptime.as_nanos().min(u64::MAX as u128) as u64;
        Ok(Metrics {
            models,
            telemetry: health.telemetry.clone(),
            runtime: Some(RuntimeMetrics { health, variants, shadow }),
            start_unix_nanos: time_unix_nanos.saturating_sub(uptime),
            time_unix_nanos,
        })
    }

    /// The metrics of one monitor (analysed now), labelled with `model_version`.
    pub fn from_monitor(
        monitor: &Monitor,
        model_version: &str,
        telemetry: Option<TelemetryStats>,
        start_unix_nanos: u64,
    ) -> Result<Metrics> {
        let snapshot = monitor.snapshot()?;
        Ok(Metrics {
            models: vec![ModelMetrics {
                role: "monitor",
                variant: String::new(),
                model_version: model_version.to_string(),
                snapshot,
            }],
            runtime: None,
            telemetry,
            start_unix_nanos,
            time_unix_nanos: unix_nanos_now(),
        })
    }
}

/// Labels of one point: (name, value).
pub type Labels = Vec<(&'static str, String)>;

/// A histogram point with explicit upper-inclusive bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPoint {
    /// Upper bounds (ascending; `+Inf` implied).
    pub bounds: &'static [f64],
    /// Per-bucket counts (not cumulative), `bounds.len() + 1` of them.
    pub counts: Vec<u64>,
    /// Sum of the observed values.
    pub sum: f64,
    /// Values observed.
    pub count: u64,
}

/// The points of one family.
#[derive(Clone, Debug)]
pub enum Points {
    /// Monotonic counts.
    Counter(Vec<(Labels, u64)>),
    /// Values that go up and down.
    Gauge(Vec<(Labels, f64)>),
    /// Distributions; OTLP gets the exponential form when given, Prometheus the explicit one.
    Histogram(Vec<(Labels, HistogramPoint, Option<ExpHistogram>)>),
}

/// One metric family.
#[derive(Clone, Debug)]
pub struct Family {
    /// The Prometheus name (counters end in `_total`; OTLP drops that suffix).
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// UCUM unit for OTLP ("s", "1", "{request}", …).
    pub unit: &'static str,
    /// The points.
    pub points: Points,
}

fn model_labels(m: &ModelMetrics) -> Labels {
    vec![("model_version", m.model_version.clone()), ("variant", m.variant.clone()), ("role", m.role.to_string())]
}

fn with(mut labels: Labels, name: &'static str, value: impl Into<String>) -> Labels {
    labels.push((name, value.into()));
    labels
}

fn level_value(level: Level) -> f64 {
    f64::from(level as i32)
}

/// The families of `m`, in a fixed order; families without points are left out.
pub fn families(m: &Metrics) -> Vec<Family> {
    let mut out = Vec::new();
    let mut push = |name, help, unit, points: Points| {
        let empty = match &points {
            Points::Counter(p) => p.is_empty(),
            Points::Gauge(p) => p.is_empty(),
            Points::Histogram(p) => p.is_empty(),
        };
        if !empty {
            out.push(Family { name, help, unit, points });
        }
    };
    let models = &m.models;

    push(
        "model_prediction_latency_seconds",
        "Time spent processing prediction",
        "s",
        per_model_histogram(models, |t| {
            (fixed_point(&LATENCY_EXPORT_BUCKETS_SECONDS, &t.latency_seconds), Some(t.latency_exponential))
        }),
    );
    push(
        "model_predictions_total",
        "Total predictions made",
        "{prediction}",
        Points::Counter(
            models
                .iter()
                .flat_map(|x| {
                    x.snapshot.versions.iter().flat_map(move |v| {
                        let labels = vec![
                            ("model_version", v.version.to_string()),
                            ("variant", x.variant.clone()),
                            ("role", x.role.to_string()),
                        ];
                        [(with(labels.clone(), "status", "success"), v.ok), (with(labels, "status", "error"), v.errors)]
                    })
                })
                .collect(),
        ),
    );
    push(
        "model_confidence_score",
        "Distribution of prediction confidence",
        "1",
        per_model_histogram(models, |t| (fixed_point(&CONFIDENCE_BUCKETS, &t.confidence), None)),
    );
    push(
        "model_input_length",
        "Distribution of input lengths",
        "{token}",
        per_model_histogram(models, |t| (fixed_point(&INPUT_LENGTH_BUCKETS, &t.input_length), None)),
    );
    push(
        "mlops_edge_window_latency_seconds",
        "Latency percentiles of the monitor window (floor-index rule sorted[floor(n*q)])",
        "s",
        Points::Gauge(
            models
                .iter()
                .filter(|x| x.snapshot.window.count > 0)
                .flat_map(|x| {
                    let w = &x.snapshot.window;
                    [("50", w.latency_p50_us), ("95", w.latency_p95_us), ("99", w.latency_p99_us)]
                        .map(|(p, us)| (with(model_labels(x), "percentile", p), us / 1e6))
                })
                .collect(),
        ),
    );
    push(
        "mlops_edge_window_error_ratio",
        "Error rate of the monitor window",
        "1",
        Points::Gauge(models.iter().map(|x| (model_labels(x), x.snapshot.window.error_rate)).collect()),
    );
    push(
        "mlops_edge_window_confidence_mean",
        "Mean confidence of the monitor window's successful requests",
        "1",
        Points::Gauge(
            models
                .iter()
                .filter(|x| x.snapshot.window.count > x.snapshot.window.errors)
                .map(|x| (model_labels(x), x.snapshot.window.confidence_mean))
                .collect(),
        ),
    );
    // The baseline's summary values beside the window's, so that a fleet backend can apply the
    // device's degradation rules itself (fleet/prometheus/alerts.yml) and see them per cohort.
    let with_baseline = || models.iter().filter_map(|x| x.snapshot.baseline.map(|b| (x, b)));
    push(
        "mlops_edge_baseline_latency_seconds",
        "Latency percentile of the monitor's baseline (floor-index rule), compared with the window's",
        "s",
        Points::Gauge(
            with_baseline().map(|(x, b)| (with(model_labels(x), "percentile", "95"), b.latency_p95_us / 1e6)).collect(),
        ),
    );
    push(
        "mlops_edge_baseline_confidence_mean",
        "Mean confidence of the monitor's baseline",
        "1",
        Points::Gauge(with_baseline().map(|(x, b)| (model_labels(x), b.confidence_mean)).collect()),
    );
    push(
        "mlops_edge_baseline_error_ratio",
        "Error rate of the monitor's baseline",
        "1",
        Points::Gauge(with_baseline().map(|(x, b)| (model_labels(x), b.error_rate)).collect()),
    );
    push(
        "mlops_edge_degradation_judged",
        "1 when a baseline is set and the window holds min_alert_samples to judge the check: successes for latency and confidence, requests for error_rate",
        "1",
        Points::Gauge(
            models
                .iter()
                .flat_map(|x| {
                    let s = &x.snapshot;
                    [("latency", s.degradation_tested), ("confidence", s.degradation_tested), ("error_rate", s.error_rate_tested)]
                        .map(|(check, judged)| (with(model_labels(x), "check", check), if judged { 1.0 } else { 0.0 }))
                })
                .collect(),
        ),
    );
    let drift = |value: fn(&DriftTest) -> f64| {
        Points::Gauge(
            models
                .iter()
                .flat_map(|x| {
                    drift_tests(x)
                        .into_iter()
                        .map(move |t| (with(model_labels(x), "quantity", t.quantity.clone()), value(&t)))
                })
                .collect(),
        )
    };
    push(
        "mlops_edge_drift_p_value",
        "p-value of the drift test of the window against the baseline (KS two-sample; chi-square for labels)",
        "1",
        drift(|t| t.p_value),
    );
    push(
        "mlops_edge_drift_statistic",
        "Statistic of the drift test (KS D; chi-square for labels)",
        "1",
        drift(|t| t.statistic),
    );
    push(
        "mlops_edge_drift_detected",
        "1 when the drift test rejects (p below its threshold)",
        "1",
        drift(|t| f64::from(u8::from(t.drifted))),
    );
    push(
        "mlops_edge_alert_level",
        "Overall alert level of the model's monitor (0 ok, 1 warning, 2 critical)",
        "1",
        Points::Gauge(models.iter().map(|x| (model_labels(x), level_value(x.snapshot.level))).collect()),
    );
    push(
        "mlops_edge_alert_active",
        "Active alerts (1 per alert, labelled by what it is about and its level)",
        "1",
        Points::Gauge(
            models
                .iter()
                .flat_map(|x| {
                    x.snapshot.alerts.iter().map(move |a| {
                        let mut metric = a.metric.as_str().to_string();
                        if a.metric == crate::monitor::AlertMetric::FeatureDrift {
                            metric = format!("{metric}_{}", a.feature);
                        }
                        let labels = with(with(model_labels(x), "alert", metric), "severity", a.level.as_str());
                        (labels, 1.0)
                    })
                })
                .collect(),
        ),
    );
    push(
        "mlops_edge_monitor_dropped_records_total",
        "Records a full monitor ring refused",
        "{record}",
        Points::Counter(models.iter().map(|x| (model_labels(x), x.snapshot.dropped)).collect()),
    );

    if let Some(r) = &m.runtime {
        runtime_families(r, &mut push);
    }
    if let Some(t) = &m.telemetry {
        telemetry_families(t, &mut push);
    }
    out
}

fn fixed_point<const N: usize>(bounds: &'static [f64], h: &FixedHistogram<N>) -> HistogramPoint {
    HistogramPoint { bounds, counts: h.counts.to_vec(), sum: h.sum, count: h.count }
}

/// One histogram point per model, from its cumulative totals.
fn per_model_histogram(
    models: &[ModelMetrics],
    point: impl Fn(&Totals) -> (HistogramPoint, Option<ExpHistogram>),
) -> Points {
    Points::Histogram(
        models
            .iter()
            .map(|x| {
                let (p, e) = point(&x.snapshot.totals);
                (model_labels(x), p, e)
            })
            .collect(),
    )
}

/// One drift test that ran.
struct DriftTest {
    quantity: String,
    p_value: f64,
    statistic: f64,
    drifted: bool,
}

/// The drift tests of a model's snapshot that ran (latency, confidence, input length, each
/// feature, labels).
fn drift_tests(x: &ModelMetrics) -> Vec<DriftTest> {
    let d = &x.snapshot.drift;
    let ks = |quantity: String, t: &crate::monitor::Drift| DriftTest {
        quantity,
        p_value: t.p_value,
        statistic: t.statistic,
        drifted: t.drifted,
    };
    let mut tests: Vec<DriftTest> =
        [("latency", &d.latency), ("confidence", &d.confidence), ("input_length", &d.input_length)]
            .into_iter()
            .filter(|(_, t)| t.tested)
            .map(|(name, t)| ks(name.to_string(), t))
            .collect();
    for (i, t) in d.features[..d.feature_count].iter().enumerate().filter(|(_, t)| t.tested) {
        tests.push(ks(format!("feature_{i}"), t));
    }
    if d.labels.tested {
        let l = &d.labels;
        tests.push(DriftTest {
            quantity: "labels".into(),
            p_value: l.p_value,
            statistic: l.statistic,
            drifted: l.drifted,
        });
    }
    tests
}

fn runtime_families(r: &RuntimeMetrics, push: &mut impl FnMut(&'static str, &'static str, &'static str, Points)) {
    let by_variant = |f: fn(&VariantStats) -> u64| {
        Points::Counter(r.variants.iter().map(|v| (vec![("variant", v.name.clone())], f(v))).collect())
    };
    push("mlops_edge_ab_requests_total", "Requests assigned to each variant", "{request}", by_variant(|v| v.requests));
    push("mlops_edge_ab_errors_total", "Failed requests of each variant", "{request}", by_variant(|v| v.errors));
    push(
        "mlops_edge_ab_candidate_requests_total",
        "Requests of each variant answered by its rollout candidate",
        "{request}",
        by_variant(|v| v.candidate_requests),
    );
    push(
        "mlops_edge_ab_outcomes_total",
        "Outcomes the host recorded per variant",
        "{outcome}",
        by_variant(|v| v.outcomes),
    );
    push(
        "mlops_edge_ab_conversions_total",
        "Outcomes recorded as conversions per variant",
        "{outcome}",
        by_variant(|v| v.conversions),
    );
    push(
        "mlops_edge_ab_weight_ratio",
        "Share of users assigned to each variant",
        "1",
        Points::Gauge(r.variants.iter().map(|v| (vec![("variant", v.name.clone())], v.weight)).collect()),
    );
    let h = &r.health;
    let c = &h.counters;
    let counter = |v: u64| Points::Counter(vec![(Labels::new(), v)]);
    push("mlops_edge_runtime_requests_total", "Requests answered by a model", "{request}", counter(c.requests));
    push("mlops_edge_runtime_errors_total", "Requests that returned an error", "{request}", counter(c.errors));
    push(
        "mlops_edge_runtime_busy_total",
        "Requests refused because every session stayed busy",
        "{request}",
        counter(c.busy),
    );
    push("mlops_edge_runtime_swaps_total", "Hot swaps (promotions and rollbacks included)", "{swap}", counter(c.swaps));
    push(
        "mlops_edge_runtime_refused_models_total",
        "Models refused (load, self-test, input kind)",
        "{model}",
        counter(c.refused_models),
    );
    push("mlops_edge_rollout_rollbacks_total", "Rollouts rolled back", "{rollout}", counter(c.rollbacks));
    push("mlops_edge_rollout_completed_total", "Rollouts completed", "{rollout}", counter(c.rollouts_completed));
    push(
        "mlops_edge_runtime_health_level",
        "Most severe alert or staleness level of the loaded models (0 ok, 1 warning, 2 critical)",
        "1",
        Points::Gauge(vec![(Labels::new(), level_value(h.level))]),
    );
    push(
        "mlops_edge_runtime_in_flight_requests",
        "Requests running now",
        "{request}",
        Points::Gauge(vec![(Labels::new(), h.in_flight as f64)]),
    );
    push(
        "mlops_edge_rollout_stage_ratio",
        "Traffic share of the rollout candidate (0 when no rollout runs)",
        "1",
        Points::Gauge(match &h.rollout {
            Some(ro) => vec![(
                vec![("variant", ro.variant.to_string()), ("candidate_version", ro.candidate_version.clone())],
                f64::from(ro.percent) / 100.0,
            )],
            None => vec![(vec![("variant", String::new()), ("candidate_version", String::new())], 0.0)],
        }),
    );
    if let Some(s) = &r.shadow {
        for (name, help, value) in [
            ("mlops_edge_shadow_compared_total", "Shadow comparisons made", s.compared),
            ("mlops_edge_shadow_agreed_total", "Shadow comparisons where the shadow gave production's label", s.agreed),
            ("mlops_edge_shadow_errors_total", "Shadow requests that failed", s.shadow_errors),
            (
                "mlops_edge_shadow_skipped_total",
                "Sampled requests not shadowed (queue full or input too large)",
                s.skipped_queue_full + s.skipped_too_large,
            ),
        ] {
            push(name, help, "{request}", Points::Counter(vec![(vec![("model_version", s.version.clone())], value)]));
        }
    }
}

fn telemetry_families(t: &TelemetryStats, push: &mut impl FnMut(&'static str, &'static str, &'static str, Points)) {
    let counter = |v: u64| Points::Counter(vec![(Labels::new(), v)]);
    push("mlops_edge_telemetry_recorded_total", "Telemetry records accepted", "{record}", counter(t.recorded));
    push(
        "mlops_edge_telemetry_sampled_out_total",
        "Successful requests not recorded because of sampling",
        "{record}",
        counter(t.sampled_out),
    );
    push("mlops_edge_telemetry_sent_total", "Records in batches the host answered OK", "{record}", counter(t.sent));
    push(
        "mlops_edge_telemetry_retried_total",
        "Records in batches answered RETRY (per answer)",
        "{record}",
        counter(t.retried),
    );
    push(
        "mlops_edge_telemetry_dropped_total",
        "Records dropped: pushed out of a full queue, or in batches the host answered DROP",
        "{record}",
        Points::Counter(vec![
            (vec![("reason", "queue_full".to_string())], t.dropped_queue_full),
            (vec![("reason", "host".to_string())], t.dropped_by_host),
        ]),
    );
    push(
        "mlops_edge_telemetry_pending_records",
        "Records waiting for upload",
        "{record}",
        Points::Gauge(vec![(Labels::new(), t.pending as f64)]),
    );
    push(
        "mlops_edge_telemetry_batches_total",
        "Batch answers of the host's upload callback",
        "{batch}",
        Points::Counter(vec![
            (vec![("result", "ok".to_string())], t.batches_sent),
            (vec![("result", "retry".to_string())], t.batches_retried),
            (vec![("result", "drop".to_string())], t.batches_dropped),
        ]),
    );
    push(
        "mlops_edge_telemetry_spool_bytes",
        "Size of the telemetry spool file",
        "By",
        Points::Gauge(vec![(Labels::new(), t.spool_bytes as f64)]),
    );
    push("mlops_edge_telemetry_spool_errors_total", "Spool writes that failed", "{error}", counter(t.spool_errors));
    push(
        "mlops_edge_telemetry_spool_lost_bytes_total",
        "Spool bytes lost at recovery: a torn tail cut, damage skipped, or a spool found emptied",
        "By",
        Points::Counter(vec![
            (vec![("cause", "torn_tail".to_string())], if t.spool_truncated { 0 } else { t.spool_torn_bytes }),
            (vec![("cause", "damaged".to_string())], t.spool_corrupt_bytes),
            (vec![("cause", "truncated".to_string())], if t.spool_truncated { t.spool_torn_bytes } else { 0 }),
        ]),
    );
}
