//! `Monitor`: the shared object. Requests push records through [`Recorder`]s (lock-free); the
//! host analyses on demand from any thread (under a lock that the request path never takes).

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::alerts::{Level, Thresholds};
use crate::analysis::Analysis;
use crate::baseline::{Baseline, BaselineSamples};
use crate::config::MonitorConfig;
use crate::error::{ErrorKind, MonitorError, Result};
use crate::ingest::{Ingest, Recorder};
use crate::snapshot::{Snapshot, MAX_VERSIONS, MAX_VERSION_LEN};

/// What the level callback receives.
#[derive(Debug)]
pub struct LevelChange<'a> {
    /// The level before this analysis.
    pub previous: Level,
    /// The new level.
    pub current: Level,
    /// The analysis that changed it.
    pub snapshot: &'a Snapshot,
}

/// Called when an analysis changes the overall level; runs on the thread that called the
/// analysis, with the monitor's analysis lock held: it must not call the same monitor's
/// analysis methods (they return `InvalidState` if it does).
pub type LevelCallback = Box<dyn FnMut(&LevelChange<'_>) + Send>;

/// The on-device monitor. Cheap to clone (shared); `Send + Sync`.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

struct Inner {
    ingest: Arc<Ingest>,
    config: MonitorConfig,
    versions: Mutex<heapless::Vec<heapless::String<MAX_VERSION_LEN>, MAX_VERSIONS>>,
    analysis: Mutex<Locked>,
}

/// Everything behind the analysis lock.
struct Locked {
    analysis: Analysis,
    /// The overall level of the last analysis (ok before the first).
    level: Level,
    callback: Option<LevelCallback>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

thread_local! {
    /// The monitor whose level callback this thread is running (its address), or 0.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

impl Monitor {
    /// A monitor; allocates its window, rings and scratch up front.
    pub fn new(config: MonitorConfig) -> Result<Monitor> {
        config.validate()?;
        let ingest = Arc::new(Ingest::new(config.max_recorders, config.ring_capacity, &config.feature_indices));
        let analysis = Analysis::new(&config);
        Ok(Monitor {
            inner: Arc::new(Inner {
                ingest,
                config,
                versions: Mutex::new(heapless::Vec::new()),
                analysis: Mutex::new(Locked { analysis, level: Level::Ok, callback: None }),
            }),
        })
    }

    /// The configuration it was created with (thresholds as at creation).
    pub fn config(&self) -> &MonitorConfig {
        &self.inner.config
    }

    /// A recorder for one session serving model version `version` (at most 64 bytes; at most
    /// 16 distinct versions per monitor). Errors: `LimitReached` when all `max_recorders` lanes
    /// are taken or the version table is full, `InvalidArgument` for a too-long version.
    pub fn recorder(&self, version: &str) -> Result<Recorder> {
        let id = self.version_id(version)?;
        self.inner.ingest.claim(id).ok_or_else(|| {
            MonitorError::new(
                ErrorKind::LimitReached,
                format!("all {} recorder lanes of this monitor are in use", self.inner.config.max_recorders),
            )
        })
    }

    fn version_id(&self, version: &str) -> Result<u16> {
        let mut versions = self.inner.versions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = versions.iter().position(|v| v.as_str() == version) {
            return Ok(i as u16);
        }
        let name = heapless::String::try_from(version)
            .map_err(|_| MonitorError::invalid(format!("model version names are at most {MAX_VERSION_LEN} bytes")))?;
        versions.push(name).map_err(|_| {
            MonitorError::new(ErrorKind::LimitReached, format!("a monitor tells at most {MAX_VERSIONS} versions apart"))
        })?;
        Ok((versions.len() - 1) as u16)
    }

    /// Recorder lanes currently attached.
    pub fn recorders_in_use(&self) -> usize {
        self.inner.ingest.lanes_in_use()
    }

    /// Moves waiting records from the rings into the window (cheap; a host may call it on a
    /// timer so that rings do not fill up between analyses). Returns how many it moved.
    pub fn drain(&self) -> Result<usize> {
        let mut locked = self.lock()?;
        Ok(locked.analysis.drain(&self.inner.ingest))
    }

    /// Drains, then analyses the window: percentiles, histograms, drift against the baseline,
    /// alerts and the overall level. Fires the level callback when the level changed.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let mut guard = self.lock()?;
        let locked = &mut *guard;
        locked.analysis.drain(&self.inner.ingest);
        let versions = self.inner.versions.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let snapshot = locked.analysis.analyze(&self.inner.ingest, &versions);
        if snapshot.level != locked.level {
            let previous = std::mem::replace(&mut locked.level, snapshot.level);
            if let Some(callback) = locked.callback.as_mut() {
                let _marker = CallbackMarker::enter(&self.inner);
                callback(&LevelChange { previous, current: snapshot.level, snapshot: &snapshot });
            }
        }
        Ok(snapshot)
    }

    /// Freezes the window as the baseline (drains first). Errors with `InsufficientData` when
    /// the window has fewer than 100 successful requests
    /// ([`MIN_BASELINE_SAMPLES`](crate::MIN_BASELINE_SAMPLES)).
    pub fn freeze_baseline(&self) -> Result<()> {
        let mut locked = self.lock()?;
        let analysis = &mut locked.analysis;
        analysis.drain(&self.inner.ingest);
        let baseline = analysis.baseline_from_window()?;
        analysis.baseline = Some(baseline);
        Ok(())
    }

    /// Sets a baseline from the host (e.g. shipped with the model). Its features must be empty
    /// or one per chosen feature; its label counts empty, or `label_count` or `label_count + 1` long.
    pub fn set_baseline(&self, baseline: Baseline) -> Result<()> {
        let features = self.inner.config.feature_indices.len();
        if !baseline.features.is_empty() && baseline.features.len() != features {
            return Err(MonitorError::invalid(format!(
                "the baseline has {} features, this monitor watches {features}",
                baseline.features.len()
            )));
        }
        let labels = self.inner.config.label_count;
        let mut baseline = baseline;
        match baseline.label_counts.len() {
            0 => {}
            n if n == labels => baseline.label_counts.push(0),
            n if n == labels + 1 => {}
            n => {
                return Err(MonitorError::invalid(format!(
                    "the baseline has {n} label counts, this monitor counts {labels} labels"
                )))
            }
        }
        self.lock()?.analysis.baseline = Some(baseline);
        Ok(())
    }

    /// Builds a baseline from samples and sets it (see [`Baseline::from_samples`]).
    pub fn load_baseline(&self, samples: &BaselineSamples<'_>) -> Result<()> {
        self.set_baseline(Baseline::from_samples(samples)?)
    }

    /// The current baseline, to persist or ship.
    pub fn baseline(&self) -> Result<Option<Baseline>> {
        Ok(self.lock()?.analysis.baseline.clone())
    }

    /// Removes the baseline (drift and alerts stop until a new one is set).
    pub fn clear_baseline(&self) -> Result<()> {
        self.lock()?.analysis.baseline = None;
        Ok(())
    }

    /// Empties the window (totals and the baseline stay).
    pub fn reset_window(&self) -> Result<()> {
        let mut locked = self.lock()?;
        let analysis = &mut locked.analysis;
        analysis.drain(&self.inner.ingest);
        analysis.clear_window();
        Ok(())
    }

    /// Current thresholds.
    pub fn thresholds(&self) -> Result<Thresholds> {
        Ok(self.lock()?.analysis.thresholds)
    }

    /// Replaces the thresholds (validated first).
    pub fn set_thresholds(&self, thresholds: Thresholds) -> Result<()> {
        thresholds.validate()?;
        self.lock()?.analysis.thresholds = thresholds;
        Ok(())
    }

    /// Installs (or with `None` removes) the level-change callback.
    pub fn set_level_callback(&self, callback: Option<LevelCallback>) -> Result<()> {
        self.lock()?.callback = callback;
        Ok(())
    }

    /// The analysis lock; `InvalidState` when called from this monitor's level callback (the
    /// lock is held there: taking it again would deadlock).
    fn lock(&self) -> Result<MutexGuard<'_, Locked>> {
        let me = Arc::as_ptr(&self.inner) as usize;
        if IN_CALLBACK.with(|c| c.get()) == me {
            return Err(MonitorError::new(
                ErrorKind::InvalidState,
                "a monitor's level callback must not call that monitor's analysis functions",
            ));
        }
        Ok(self.inner.analysis.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Marks this thread as running `inner`'s callback until dropped (also on unwind).
struct CallbackMarker(usize);

impl CallbackMarker {
    fn enter(inner: &Arc<Inner>) -> CallbackMarker {
        let previous = IN_CALLBACK.with(|c| c.replace(Arc::as_ptr(inner) as usize));
        CallbackMarker(previous)
    }
}

impl Drop for CallbackMarker {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}
