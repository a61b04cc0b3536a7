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

/// How long a driver's claim on a canary lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(30);

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
    if args.on_delete {
        return Err(Error::Usage(
            "--on-delete is not supported yet: switch the StatefulSet to RollingUpdate to canary it with a partition".to_string(),
        ));
    }
    let pause = parse_pause(args.pause.as_deref()).map_err(Error::Usage)?;
    driver::run(context, args, format, pause).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
