//! What a container goes through, as a pure function of time.
//!
//! A container's life is a list of [`Step`]s at offsets from the moment the
//! kubelet took the pod: pull, create, start, become ready, crash, back off,
//! restart... Its state at any instant is the last step at or before it, so
//! the kubelet never keeps per-container state of its own: it replays the
//! timeline, reports what happened since its last look, and sleeps until
//! the next step. Image tags choose the trouble (`-crash`, `-unready`,
//! `-pullerr`), as in the sandbox's documentation.

use std::time::Duration;

/// How long things take in the sandbox.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KubeletTiming {
    /// From the kubelet taking a pod to its containers running (the "pull").
    pub start_delay: Duration,
    /// From a container starting to it passing readiness.
    pub ready_delay: Duration,
    /// Multiplies termination grace periods and restart back-offs (1.0 = real time).
    pub scale: f64,
}

impl KubeletTiming {
    /// The crash-loop back-off before restart `n` (1-based): upstream
    /// restarts the first time at once, then waits 10s, 20s, 40s... up to
    /// 5 minutes, scaled, and never less than a tenth of a second so a
    /// crash loop cannot spin.
    pub fn crash_back_off(&self, restart: u32) -> Duration {
        if restart <= 1 {
            return Duration::ZERO;
        }
        let real = Duration::from_secs(10)
            .saturating_mul(1u32 << (restart - 2).min(8))
            .min(Duration::from_secs(300));
        self.scaled(real)
    }

    /// The image-pull back-off before pull attempt `n` (1-based, n >= 2).
    pub fn pull_back_off(&self, attempt: u32) -> Duration {
        let real = Duration::from_secs(10)
            .saturating_mul(1u32 << attempt.saturating_sub(2).min(8))
            .min(Duration::from_secs(300));
        self.scaled(real)
    }

    pub fn scaled(&self, real: Duration) -> Duration {
        real.mul_f64(self.scale.max(0.0))
            .max(Duration::from_millis(100))
    }

    /// How long a `-crash` container runs before it exits.
    pub fn crash_after(&self) -> Duration {
        self.ready_delay.max(Duration::from_millis(300))
    }

    /// How long ErrImagePull shows before the kubelet backs off (its next sync).
    fn pull_error_hold(&self) -> Duration {
        self.scaled(Duration::from_secs(1))
    }

    /// How often a failing readiness probe reports (periodSeconds 10).
    fn probe_period(&self) -> Duration {
        self.scaled(Duration::from_secs(10))
    }
}

/// What an image's tag asks the sandbox to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageTrouble {
    None,
    /// Exits with status 1 shortly after every start.
    Crash,
    /// Runs, never passes readiness.
    Unready,
    /// Never pulls.
    PullError,
}

/// The trouble an image reference asks for, from its tag.
pub fn image_trouble(image: &str) -> ImageTrouble {
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    let Some((_, tag)) = last.split_once(':') else {
        return ImageTrouble::None;
    };
    if tag.ends_with("-crash") {
        ImageTrouble::Crash
    } else if tag.ends_with("-unready") {
        ImageTrouble::Unready
    } else if tag.ends_with("-pullerr") {
        ImageTrouble::PullError
    } else {
        ImageTrouble::None
    }
}

/// Where a container is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerPhase {
    /// waiting: ContainerCreating (sandbox and image pull).
    Creating,
    /// waiting: ErrImagePull.
    PullFailed,
    /// waiting: ImagePullBackOff.
    PullBackOff,
    Running {
        since: Duration,
        ready: bool,
    },
    /// waiting: CrashLoopBackOff until the back-off passes.
    CrashBackOff,
}

/// A container at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSnapshot {
    pub phase: ContainerPhase,
    pub restart_count: u32,
    /// The last run that ended: (started, finished) offsets.
    pub last_run: Option<(Duration, Duration)>,
    /// Back-off of the current CrashLoopBackOff / ImagePullBackOff (for the message).
    pub back_off: Duration,
}

impl ContainerSnapshot {
    fn creating() -> Self {
        ContainerSnapshot {
            phase: ContainerPhase::Creating,
            restart_count: 0,
            last_run: None,
            back_off: Duration::ZERO,
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.phase, ContainerPhase::Running { ready: true, .. })
    }

    /// The container has been started at least once (`started` and pod phase Running).
    pub fn has_started(&self) -> bool {
        matches!(self.phase, ContainerPhase::Running { .. }) || self.last_run.is_some()
    }
}

/// Something that happens to a container, worth an event or a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    Pulling,
    /// The image arrived (`fresh`) or was already on the node (restarts).
    Pulled {
        fresh: bool,
    },
    Created,
    Started,
    /// Readiness passed (no event, but a status change).
    BecameReady,
    /// The container exited with status 1.
    Crashed,
    /// Waiting to restart a crashed container.
    CrashBackOff,
    PullFailed,
    PullBackOff,
    /// A failing readiness probe reported.
    Unhealthy,
}

/// One step of a container's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub at: Duration,
    pub happening: Happening,
    pub after: ContainerSnapshot,
}

/// The steps of a container's life up to `until`, plus the first step after
/// it (when there is one): the time of the next change.
pub fn container_steps(
    trouble: ImageTrouble,
    timing: &KubeletTiming,
    until: Duration,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut state = ContainerSnapshot::creating();
    let push =
        |steps: &mut Vec<Step>, at: Duration, happening: Happening, after: &ContainerSnapshot| {
            steps.push(Step {
                at,
                happening,
                after: after.clone(),
            });
            at <= until
        };
    let start = timing.start_delay;
    if !push(&mut steps, Duration::ZERO, Happening::Pulling, &state) {
        return steps;
    }
    if trouble == ImageTrouble::PullError {
        let mut attempt_at = Duration::ZERO;
        let mut attempt = 1u32;
        loop {
            let failed_at = attempt_at + start;
            state.phase = ContainerPhase::PullFailed;
            if !push(&mut steps, failed_at, Happening::PullFailed, &state) {
                return steps;
            }
            attempt += 1;
            let back_off = timing.pull_back_off(attempt);
            state.phase = ContainerPhase::PullBackOff;
            state.back_off = back_off;
            let backing_off_at = failed_at + timing.pull_error_hold();
            if !push(&mut steps, backing_off_at, Happening::PullBackOff, &state) {
                return steps;
            }
            attempt_at = backing_off_at + back_off;
            // The retry shows ErrImagePull again only when it fails.
            if !push(&mut steps, attempt_at, Happening::Pulling, &state) {
                return steps;
            }
        }
    }
    // The first start.
    let mut run_start = start;
    state.phase = ContainerPhase::Running {
        since: run_start,
        ready: false,
    };
    for happening in [
        Happening::Pulled { fresh: true },
        Happening::Created,
        Happening::Started,
    ] {
        if !push(&mut steps, run_start, happening, &state) {
            return steps;
        }
    }
    match trouble {
        ImageTrouble::None => {
            state.phase = ContainerPhase::Running {
                since: run_start,
                ready: true,
            };
            push(
                &mut steps,
                run_start + timing.ready_delay,
                Happening::BecameReady,
                &state,
            );
        }
        ImageTrouble::Unready => {
            let mut probe_at = run_start + timing.ready_delay;
            while push(&mut steps, probe_at, Happening::Unhealthy, &state) {
                probe_at += timing.probe_period();
            }
        }
        ImageTrouble::Crash => loop {
            let exit_at = run_start + timing.crash_after();
            state.last_run = Some((run_start, exit_at));
            let restart = state.restart_count + 1;
            let back_off = timing.crash_back_off(restart);
            state.phase = ContainerPhase::CrashBackOff;
            state.back_off = back_off;
            if !push(&mut steps, exit_at, Happening::Crashed, &state) {
                return steps;
            }
            if !back_off.is_zero() && !push(&mut steps, exit_at, Happening::CrashBackOff, &state) {
                return steps;
            }
            run_start = exit_at + back_off;
            state.restart_count = restart;
            state.back_off = Duration::ZERO;
            state.phase = ContainerPhase::Running {
                since: run_start,
                ready: false,
            };
            for happening in [
                Happening::Pulled { fresh: false },
                Happening::Created,
                Happening::Started,
            ] {
                if !push(&mut steps, run_start, happening, &state) {
                    return steps;
                }
            }
        },
        ImageTrouble::PullError => {}
    }
    steps
}

/// The container's state at `at`.
pub fn snapshot_at(steps: &[Step], at: Duration) -> ContainerSnapshot {
    steps
        .iter()
        .take_while(|s| s.at <= at)
        .last()
        .map(|s| s.after.clone())
        .unwrap_or_else(ContainerSnapshot::creating)
}

/// When the next step after `at` happens, if any.
pub fn next_step_after(steps: &[Step], at: Duration) -> Option<Duration> {
    steps.iter().map(|s| s.at).find(|t| *t > at)
}

/// Go's `time.Duration` printing for the sub-hour durations a pull takes
/// (`1.5s`, `250ms`, `2m3s`).
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_fraction(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_fraction(nanos as f64 / 1e6));
    }
    let minutes = d.as_secs() / 60;
    let seconds = (nanos - u128::from(minutes) * 60_000_000_000) as f64 / 1e9;
    if minutes > 0 {
        format!("{minutes}m{}s", trim_fraction(seconds))
    } else {
        format!("{}s", trim_fraction(seconds))
    }
}

fn trim_fraction(value: f64) -> String {
    let text = format!("{value:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: KubeletTiming = KubeletTiming {
        start_delay: Duration::from_millis(500),
        ready_delay: Duration::from_millis(1000),
        scale: 1.0,
    };

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn tags_choose_the_trouble() {
        assert_eq!(image_trouble("nginx:1.25"), ImageTrouble::None);
        assert_eq!(image_trouble("nginx:1.25-crash"), ImageTrouble::Crash);
        assert_eq!(
            image_trouble("registry:5000/team/app:v2-unready"),
            ImageTrouble::Unready
        );
        assert_eq!(image_trouble("nginx:1.25-pullerr"), ImageTrouble::PullError);
        assert_eq!(image_trouble("registry:5000-crash/app"), ImageTrouble::None);
        assert_eq!(image_trouble("nginx@sha256:abc"), ImageTrouble::None);
    }

    #[test]
    fn a_healthy_container_starts_then_becomes_ready() {
        let steps = container_steps(ImageTrouble::None, &TIMING, secs(60.0));
        assert_eq!(
            snapshot_at(&steps, secs(0.1)).phase,
            ContainerPhase::Creating
        );
        let running = snapshot_at(&steps, secs(0.6));
        assert_eq!(
            running.phase,
            ContainerPhase::Running {
                since: secs(0.5),
                ready: false
            }
        );
        assert!(snapshot_at(&steps, secs(1.5)).is_ready());
        assert_eq!(next_step_after(&steps, secs(1.5)), None);
        let happenings: Vec<Happening> = steps.iter().map(|s| s.happening).collect();
        assert_eq!(
            happenings,
            [
                Happening::Pulling,
                Happening::Pulled { fresh: true },
                Happening::Created,
                Happening::Started,
                Happening::BecameReady
            ]
        );
    }

    #[test]
    fn a_crashing_container_backs_off_longer_each_time() {
        // Runs 0.5-1.5, restarts at once, runs 1.5-2.5, waits 10s, runs 12.5-13.5, waits 20s...
        let steps = container_steps(ImageTrouble::Crash, &TIMING, secs(40.0));
        let first_restart = snapshot_at(&steps, secs(1.6));
        assert_eq!(first_restart.restart_count, 1);
        assert!(matches!(
            first_restart.phase,
            ContainerPhase::Running { .. }
        ));
        let backing_off = snapshot_at(&steps, secs(5.0));
        assert_eq!(backing_off.phase, ContainerPhase::CrashBackOff);
        assert_eq!(backing_off.restart_count, 1);
        assert_eq!(backing_off.last_run, Some((secs(1.5), secs(2.5))));
        assert_eq!(backing_off.back_off, secs(10.0));
        assert_eq!(next_step_after(&steps, secs(5.0)), Some(secs(12.5)));
        let later = snapshot_at(&steps, secs(20.0));
        assert_eq!((later.restart_count, later.back_off), (2, secs(20.0)));
        assert!(!steps.iter().any(|s| s.happening == Happening::BecameReady));
    }

    #[test]
    fn an_unpullable_image_alternates_err_image_pull_and_back_off() {
        let steps = container_steps(ImageTrouble::PullError, &TIMING, secs(30.0));
        assert_eq!(
            snapshot_at(&steps, secs(0.7)).phase,
            ContainerPhase::PullFailed
        );
        let backing_off = snapshot_at(&steps, secs(2.0));
        assert_eq!(backing_off.phase, ContainerPhase::PullBackOff);
        assert!(!backing_off.has_started());
        let pulls = steps
            .iter()
            .filter(|s| s.happening == Happening::Pulling && s.at <= secs(30.0))
            .count();
        assert_eq!(
            pulls, 2,
            "attempts at 0s and 11.5s; the third waits 20s more"
        );
    }

    #[test]
    fn an_unready_container_runs_and_reports_its_probe() {
        let steps = container_steps(ImageTrouble::Unready, &TIMING, secs(25.0));
        let snapshot = snapshot_at(&steps, secs(25.0));
        assert!(snapshot.has_started() && !snapshot.is_ready());
        let probes = steps
            .iter()
            .filter(|s| s.happening == Happening::Unhealthy && s.at <= secs(25.0))
            .count();
        assert_eq!(probes, 3, "at 1.5s, 11.5s and 21.5s");
    }

    #[test]
    fn back_offs_scale_and_cap() {
        let fast = KubeletTiming {
            scale: 0.1,
            ..TIMING
        };
        assert_eq!(fast.crash_back_off(1), Duration::ZERO);
        assert_eq!(fast.crash_back_off(2), secs(1.0));
        assert_eq!(fast.crash_back_off(4), secs(4.0));
        assert_eq!(TIMING.crash_back_off(30), secs(300.0));
        let instant = KubeletTiming {
            scale: 0.0,
            ..TIMING
        };
        assert_eq!(instant.crash_back_off(3), Duration::from_millis(100));
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(go_duration(Duration::from_secs(123)), "2m3s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
