//! `kubectl sts canary NAME`: change the pod template, then lower the
//! partition step by step, each step gated on the health of the updated pods,
//! with pause/promote/abort from another terminal, resume after a crash, and
//! automatic rollback.
//!
//! The decisions live in `plan` (partitions), `change` (the new template),
//! `gate` (health) and `state` (the annotation that makes the canary
//! resumable); this module drives them against the cluster.

pub mod change;
pub mod gate;
pub mod plan;
pub mod state;

mod driver;

use std::time::Duration;

use super::Outcome;
use crate::cli::{CanaryArgs, OutputFormat};
use crate::context::Context;
use crate::error::{Error, Result};
use state::{GateSettings, millis};

/// How long a driver's claim on a canary lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(30);

/// `--soak` when neither given nor recorded.
pub const DEFAULT_SOAK: Duration = Duration::from_secs(30);
/// `--step-timeout` when neither given nor recorded.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(300);

/// The gates a run applies: each flag given on the command line, else the
/// value recorded by the canary being resumed, else the default.
pub fn gate_settings(
    args: &CanaryArgs,
    recorded: Option<&GateSettings>,
) -> Result<GateSettings, String> {
    let settings = GateSettings {
        soak_ms: args
            .soak
            .map(millis)
            .or(recorded.map(|r| r.soak_ms))
            .unwrap_or(millis(DEFAULT_SOAK)),
        max_restarts: args
            .max_restarts
            .or(recorded.map(|r| r.max_restarts))
            .unwrap_or(0),
        step_timeout_ms: args
            .step_timeout
            .map(millis)
            .or(recorded.map(|r| r.step_timeout_ms))
            .unwrap_or(millis(DEFAULT_STEP_TIMEOUT)),
        check: args
            .check
            .clone()
            .or_else(|| recorded.and_then(|r| r.check.clone())),
        pause: args
            .pause
            .clone()
            .or_else(|| recorded.and_then(|r| r.pause.clone())),
        // Switches: a flag turns one on or (--rollback, --no-rollback-on-interrupt
        // at --resume) off; left out, the recorded choice stands.
        no_rollback: !args.rollback
            && (args.no_rollback || recorded.is_some_and(|r| r.no_rollback)),
        rollback_on_interrupt: !args.no_rollback_on_interrupt
            && (args.rollback_on_interrupt || recorded.is_some_and(|r| r.rollback_on_interrupt)),
    };
    parse_pause(settings.pause.as_deref())?;
    Ok(settings)
}

/// `--pause`: between steps, for a while or until promoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    None,
    For(Duration),
    Manual,
}

pub fn parse_pause(value: Option<&str>) -> Result<Pause, String> {
    match value {
        None => Ok(Pause::None),
        Some("manual") => Ok(Pause::Manual),
        Some(text) => crate::cli::parse_duration(text)
            .map(Pause::For)
            .map_err(|e| format!("invalid --pause: {e}; or use --pause manual")),
    }
}

pub async fn run(context: &Context, args: CanaryArgs) -> Result<Outcome> {
    context.reject_all_namespaces("canary")?;
    let format = context.output_format(
        "canary",
        &[OutputFormat::Table, OutputFormat::Wide, OutputFormat::Json],
    )?;
    let sources = usize::from(!args.image.is_empty())
        + usize::from(args.patch.is_some())
        + usize::from(args.from.is_some());
    let control = args.promote || args.abort || args.resume || args.status;
    if control && sources > 0 {
        return Err(Error::Usage(
            "--promote, --abort, --resume and --status act on the running canary; do not pass --image, --patch or --from with them"
                .to_string(),
        ));
    }
    if !control && sources != 1 {
        return Err(Error::Usage(if sources == 0 {
            "say what to roll out: --image [CONTAINER=]IMAGE, --patch FILE or --from FILE"
                .to_string()
        } else {
            "use one of --image, --patch and --from, not several".to_string()
        }));
    }
    if (args.rollback || args.no_rollback_on_interrupt) && !args.resume {
        return Err(Error::Usage(
            "--rollback and --no-rollback-on-interrupt switch off a choice recorded by the canary being resumed: use them with --resume (a new canary rolls back on failure and pauses on Ctrl-C unless told otherwise)".to_string(),
        ));
    }
    if args.steps.is_some() && control {
        return Err(Error::Usage(
            "--steps plans a new canary; a running one keeps the steps it recorded, so do not pass --steps with --promote, --abort, --resume or --status (abort it and start again to change them)".to_string(),
        ));
    }
    if args.on_delete && control {
        return Err(Error::Usage(
            "--on-delete chooses how a new canary runs; a resumed canary keeps its recorded mode, so do not pass it with --promote, --abort, --resume or --status".to_string(),
        ));
    }
    // Bad values fail before anything is read from the cluster.
    gate_settings(&args, None).map_err(Error::Usage)?;
    driver::run(context, args, format).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> CanaryArgs {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(
            ["kubectl-sts", "canary", "web"].iter().chain(words.iter()),
        )
        .expect("valid arguments");
        match cli.command {
            crate::cli::Command::Canary(args) => args,
            _ => panic!("expected canary"),
        }
    }

    #[test]
    fn gates_default_when_neither_given_nor_recorded() {
        let gates = gate_settings(&args(&["--image", "nginx:1.27"]), None).unwrap();
        assert_eq!(gates.soak(), DEFAULT_SOAK);
        assert_eq!(gates.step_timeout(), DEFAULT_STEP_TIMEOUT);
        assert_eq!(gates.max_restarts, 0);
        assert_eq!((gates.check, gates.pause), (None, None));
        assert!(!gates.no_rollback && !gates.rollback_on_interrupt);
    }

    #[test]
    fn resume_takes_the_recorded_gates_and_flags_given_again_win() {
        let recorded = GateSettings {
            soak_ms: 300,
            max_restarts: 2,
            step_timeout_ms: 60_000,
            check: Some("true".into()),
            pause: Some("manual".into()),
            no_rollback: true,
            rollback_on_interrupt: true,
        };
        let resumed = gate_settings(&args(&["--resume"]), Some(&recorded)).unwrap();
        assert_eq!(resumed, recorded, "nothing given: everything recorded");
        let overridden = gate_settings(
            &args(&[
                "--resume", "--soak", "2s", "--pause", "10s", "--check", "false",
            ]),
            Some(&recorded),
        )
        .unwrap();
        assert_eq!(overridden.soak(), Duration::from_secs(2));
        assert_eq!(overridden.pause.as_deref(), Some("10s"));
        assert_eq!(overridden.check.as_deref(), Some("false"));
        assert_eq!(overridden.max_restarts, 2, "not given: recorded");
        assert_eq!(overridden.step_timeout(), Duration::from_secs(60));
        let switched_off = gate_settings(
            &args(&["--resume", "--rollback", "--no-rollback-on-interrupt"]),
            Some(&recorded),
        )
        .unwrap();
        assert!(!switched_off.no_rollback && !switched_off.rollback_on_interrupt);
        assert_eq!(switched_off.pause, recorded.pause, "not given: recorded");
        assert!(
            gate_settings(&args(&["--resume", "--pause", "later"]), Some(&recorded))
                .unwrap_err()
                .contains("--pause manual")
        );
    }

    #[test]
    fn pauses_parse() {
        assert_eq!(parse_pause(None), Ok(Pause::None));
        assert_eq!(parse_pause(Some("manual")), Ok(Pause::Manual));
        assert_eq!(
            parse_pause(Some("30s")),
            Ok(Pause::For(Duration::from_secs(30)))
        );
        assert!(
            parse_pause(Some("later"))
                .unwrap_err()
                .contains("--pause manual")
        );
    }
}
