//! The command line: global flags kubectl users expect, and one Args struct per
//! command. Parsing never does I/O; commands never read argv.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-sts",
    bin_name = "kubectl-sts",
    version,
    about = "The StatefulSet workflows of kubectl, done properly: ordered watch, partition canaries, volume chains, data-survival checks.",
    long_about = "kubectl-sts (run as `kubectl sts ...`) wraps the StatefulSet workflows that otherwise take a page of hand-typed kubectl.\n\nNo cluster at hand? `kubectl sts sandbox` starts a local simulated one and prints the KUBECONFIG to use.",
    propagate_version = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The flags every command honours, named as kubectl names them.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,

    /// Namespace (default: the context's namespace, else "default")
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// List across all namespaces (commands that list)
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,

    /// Output format
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub request_timeout: Option<Duration>,

    /// Never colour output (also: NO_COLOR in the environment)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Username to impersonate for the operation
    #[arg(long = "as", global = true, value_name = "USER")]
    pub impersonate: Option<String>,

    /// Group to impersonate for the operation (repeatable)
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub impersonate_groups: Vec<String>,

    /// Do not check the server's certificate (insecure)
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,

    /// Log verbosity: -v logs API calls, -v=6 and up adds request details
    #[arg(
        short = 'v',
        long = "v",
        global = true,
        value_name = "LEVEL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1"
    )]
    pub verbosity: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, as kubectl prints them
    Table,
    /// Table with extra columns
    Wide,
    /// JSON with stable field names
    Json,
    /// YAML with stable field names
    Yaml,
    /// resource/name per line
    Name,
    /// Ownership tree (volumes)
    Tree,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Wide => "wide",
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
            OutputFormat::Name => "name",
            OutputFormat::Tree => "tree",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live, ordered view of a StatefulSet's pods, revisions and claims
    Watch(WatchArgs),
    /// Roll out a template change in partition steps, gated on health, with automatic rollback
    Canary(CanaryArgs),
    /// The pod -> claim -> volume -> storage chain, and what is wrong with it
    Volumes(VolumesArgs),
    /// Prove that data in each claimed volume survives pod recreation
    Verify(VerifyArgs),
    /// Identity, health and common mistakes of StatefulSets
    Status(StatusArgs),
    /// Revisions of a StatefulSet: numbers, images, and which pods run each
    History(HistoryArgs),
    /// Roll a StatefulSet back to an earlier revision
    Undo(UndoArgs),
    /// Print a shell completion script
    Completion(CompletionArgs),
    /// Run a local simulated Kubernetes cluster to try kubectl-sts without one
    Sandbox(SandboxArgs),
    /// A guided tour: create a StatefulSet and walk through every command against it
    Demo(DemoArgs),
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Watch(_) => "watch",
            Command::Canary(_) => "canary",
            Command::Volumes(_) => "volumes",
            Command::Verify(_) => "verify",
            Command::Status(_) => "status",
            Command::History(_) => "history",
            Command::Undo(_) => "undo",
            Command::Completion(_) => "completion",
            Command::Sandbox(_) => "sandbox",
            Command::Demo(_) => "demo",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UntilCondition {
    /// All desired replicas Ready and available
    Ready,
    /// The update is complete (as `kubectl rollout status` decides, partition included)
    Rolled,
    /// The StatefulSet is gone
    Deleted,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// StatefulSet to watch (default: every StatefulSet in the namespace)
    pub name: Option<String>,

    /// Exit 0 once this holds (1 on --timeout, naming what is missing)
    #[arg(long, value_enum)]
    pub until: Option<UntilCondition>,

    /// Give up after this long (e.g. 90s, 5m); without --until, stop watching then (exit 0)
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub timeout: Option<Duration>,

    /// One timestamped line per transition even on a terminal (also: -o wide)
    #[arg(long)]
    pub log: bool,
}

#[derive(Debug, Args)]
pub struct CanaryArgs {
    /// StatefulSet to roll out
    pub name: String,

    /// New image: CONTAINER=IMAGE (repeatable), or a bare IMAGE for a single-container pod
    #[arg(long, value_name = "[CONTAINER=]IMAGE")]
    pub image: Vec<String>,

    /// Template change as an RFC 6902 JSON patch or a merge patch against the StatefulSet (FILE or - for stdin)
    #[arg(long, value_name = "FILE")]
    pub patch: Option<String>,

    /// Take the pod template from this StatefulSet manifest
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// Rising pod counts or percentages of replicas; a final 100% is implied [default: 1,50%,100%]
    #[arg(long, value_name = "LIST")]
    pub steps: Option<String>,

    // The gate flags are Options so `--resume` can tell a flag given again
    // (it wins) from one left out (the recorded value applies).
    /// How long updated pods must stay Ready without restarts before the next step [default: 30s]
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub soak: Option<Duration>,

    /// Restarts tolerated per updated pod during a step [default: 0]
    #[arg(long, value_name = "N")]
    pub max_restarts: Option<u32>,

    /// Fail a step whose pods are not all Ready within this long [default: 5m]
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub step_timeout: Option<Duration>,

    /// Command run in each updated pod as a health gate (exit 0 = healthy)
    #[arg(long, value_name = "CMD")]
    pub check: Option<String>,

    /// Wait between steps: a duration, or "manual" to wait for --promote or a key press
    #[arg(long, value_name = "DURATION|manual", allow_hyphen_values = true)]
    pub pause: Option<String>,

    /// Let a paused canary of NAME continue (from another terminal)
    #[arg(long, conflicts_with_all = ["abort", "resume", "status"])]
    pub promote: bool,

    /// With --promote: skip the remaining steps
    #[arg(long, requires = "promote")]
    pub full: bool,

    /// Stop the running canary of NAME and roll it back (from another terminal)
    #[arg(long, conflicts_with_all = ["resume", "status"])]
    pub abort: bool,

    /// Continue a canary whose process died, from its recorded step, with its recorded gates
    /// (--soak, --max-restarts, --step-timeout, --check, --pause, --no-rollback,
    /// --rollback-on-interrupt); a gate flag given again here wins over the recorded value
    #[arg(long, conflicts_with = "status")]
    pub resume: bool,

    /// Show the recorded state of the canary of NAME
    #[arg(long)]
    pub status: bool,

    /// On failure, stop where it is instead of rolling back
    #[arg(long, conflicts_with = "rollback")]
    pub no_rollback: bool,

    /// With --resume: roll back on failure again, though --no-rollback was recorded
    #[arg(long)]
    pub rollback: bool,

    /// Roll back when interrupted with Ctrl-C (default: leave it paused, resumable)
    #[arg(long, conflicts_with = "no_rollback_on_interrupt")]
    pub rollback_on_interrupt: bool,

    /// With --resume: leave it paused on Ctrl-C again, though --rollback-on-interrupt was recorded
    #[arg(long)]
    pub no_rollback_on_interrupt: bool,

    /// Show the plan and the template diff; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Drive an OnDelete StatefulSet by deleting its pods, one at a time from the highest
    /// ordinal down, as each step allows (the controller recreates them on the new revision)
    #[arg(long)]
    pub on_delete: bool,

    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct VolumesArgs {
    /// StatefulSet (default: every StatefulSet in the namespace)
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// StatefulSet to verify
    pub name: String,

    /// Only these ordinals (repeatable; default: all, highest first)
    #[arg(long, value_name = "N")]
    pub ordinal: Vec<i32>,

    /// Command whose output must be the same before and after recreation
    #[arg(long, value_name = "CMD")]
    pub check: Option<String>,

    /// Do not ask before deleting pods
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Give up waiting for a replacement pod after this long
    #[arg(long, default_value = "5m", value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub timeout: Duration,

    /// Leave the marker files in place
    #[arg(long)]
    pub keep_marker: bool,

    /// Show what would be written, deleted and compared; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// StatefulSet (default: every StatefulSet in the namespace)
    pub name: Option<String>,

    /// Cluster DNS domain used for the pods' DNS names
    #[arg(long, default_value = "cluster.local", value_name = "DOMAIN")]
    pub cluster_domain: String,

    /// Fail (exit 1) on warnings too
    #[arg(long)]
    pub strict: bool,

    /// Without NAME: the full report of every set (reads every pod) instead of one row each
    #[arg(long)]
    pub details: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// StatefulSet
    pub name: String,

    /// Print the pod template of this revision
    #[arg(long, value_name = "N", conflicts_with = "diff")]
    pub revision: Option<i64>,

    /// Show a readable diff of two revisions' templates
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub diff: Option<Vec<i64>>,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// StatefulSet
    pub name: String,

    /// Revision to return to (default: the one before the current)
    #[arg(long, value_name = "N")]
    pub to_revision: Option<i64>,

    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Return once the template is rolled back, without waiting for the pods
    #[arg(long)]
    pub no_wait: bool,

    /// Give up waiting for the pods after this long
    #[arg(long, default_value = "5m", value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// Shell to print the completion script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 = any free port)
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Address to listen on; only loopback unless you say otherwise here
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub listen: std::net::IpAddr,

    /// Where to write the kubeconfig (default: DATA_DIR/kubeconfig)
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,

    /// Where the sandbox keeps its state and volume contents (default: a per-user directory)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Make requests fail for resilience testing, e.g. "error-rate=0.1,codes=500:429,cut-watches=5s"
    ///
    /// Comma-separated settings: error-rate=F (that fraction of requests is
    /// refused), codes=C:C... (their codes: 500, 429 with Retry-After, 503,
    /// 504; default 500), delay=D (every request waits D first),
    /// cut-watches=D (open watches end D after they start),
    /// expire-watches=F (that fraction of watches resuming from a
    /// resourceVersion get 410 Expired), timeout-writes=F (that fraction of
    /// writes is carried out but answered 504 Timeout). Change them while it
    /// runs with POST /sandbox/faults (JSON: errorRate, codes, delayMs,
    /// cutWatchesAfterMs, expireWatches, timeoutWrites).
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,

    /// How long a container takes to start
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub start_delay: Option<Duration>,

    /// How long a started container takes to become Ready
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub ready_delay: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run every stage straight through instead of waiting for Enter before each
    #[arg(long)]
    pub no_pause: bool,

    /// Use the cluster of the current kubeconfig context (in a new namespace, deleted afterwards) instead of a built-in sandbox
    #[arg(long)]
    pub use_current_context: bool,

    /// Keep what the demo created: the sandbox's data directory, or the namespace
    #[arg(long)]
    pub keep: bool,
}

/// Parse a Go-style duration as kubectl accepts it: `500ms`, `5s`, `2m30s`, `1h`;
/// a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: use e.g. 30s, 5m or 1h".to_string());
    }
    // Duration flags take hyphen values so that these get a message of their own.
    if text.starts_with("--") {
        return Err(format!(
            "expected a duration, found the flag \"{text}\": use e.g. 30s, 5m or 1h"
        ));
    }
    if text.starts_with('-') {
        return Err(format!(
            "invalid duration \"{text}\": a duration cannot be negative; use e.g. 30s, 5m or 1h"
        ));
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration \"{text}\": missing unit (ms, s, m, h)"))?;
        if number_len == 0 {
            return Err(format!(
                "invalid duration \"{text}\": expected a number before the unit, e.g. 30s, 5m, 1h30m"
            ));
        }
        let value: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration \"{text}\": bad number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => {
                return Err(format!(
                    "invalid duration \"{text}\": unknown unit \"{unit}\" (use ms, s, m or h)"
                ));
            }
        };
        total += Duration::from_secs_f64(value * seconds_per_unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kubectl-sts").chain(args.iter().copied()))
    }

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_are_accepted_before_and_after_the_subcommand() {
        let cli = parse(&[
            "-n",
            "prod",
            "volumes",
            "web",
            "-o",
            "json",
            "--context",
            "c1",
        ])
        .unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("prod"));
        assert_eq!(cli.global.context.as_deref(), Some("c1"));
        assert_eq!(cli.global.output, Some(OutputFormat::Json));
        let Command::Volumes(args) = cli.command else {
            panic!("expected volumes");
        };
        assert_eq!(args.name.as_deref(), Some("web"));
    }

    #[test]
    fn verbosity_takes_kubectl_style_levels() {
        assert_eq!(parse(&["status"]).unwrap().global.verbosity, None);
        assert_eq!(parse(&["status", "-v"]).unwrap().global.verbosity, Some(1));
        assert_eq!(
            parse(&["status", "-v=8"]).unwrap().global.verbosity,
            Some(8)
        );
        assert_eq!(
            parse(&["--v=6", "status"]).unwrap().global.verbosity,
            Some(6)
        );
    }

    #[test]
    fn all_namespaces_and_timeouts_parse() {
        let cli = parse(&["status", "-A", "--request-timeout", "1m30s"]).unwrap();
        assert!(cli.global.all_namespaces);
        assert_eq!(cli.global.request_timeout, Some(Duration::from_secs(90)));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(parse(&["volumes", "-o", "xml"]).is_err());
        assert!(parse(&["watch", "web", "--until", "soon"]).is_err());
        assert!(parse(&["watch", "web", "--timeout", "ten"]).is_err());
        let negative = parse(&["watch", "web", "--timeout", "-1s"]).unwrap_err();
        assert!(
            negative.to_string().contains("cannot be negative"),
            "{negative}"
        );
        assert!(parse(&["canary"]).is_err(), "canary needs a name");
        assert!(parse(&["canary", "web", "--promote", "--abort"]).is_err());
        assert!(
            parse(&["canary", "web", "--full"]).is_err(),
            "--full needs --promote"
        );
    }

    #[test]
    fn canary_defaults_match_the_documented_plan() {
        let Command::Canary(args) = parse(&["canary", "web", "--image", "nginx=nginx:1.27"])
            .unwrap()
            .command
        else {
            panic!("expected canary");
        };
        // Unset: the canary plans DEFAULT_STEPS, which the help names.
        assert_eq!(args.steps, None);
        let help = Cli::command()
            .find_subcommand_mut("canary")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let default = crate::commands::canary::plan::DEFAULT_STEPS;
        assert!(help.contains(&format!("[default: {default}]")), "{help}");
        // Unset here: the canary applies 30s, or the recorded value on --resume.
        assert_eq!(args.soak, None);
        assert_eq!(args.image, vec!["nginx=nginx:1.27"]);
    }

    #[test]
    fn history_diff_takes_two_revisions() {
        let Command::History(args) = parse(&["history", "web", "--diff", "1", "3"])
            .unwrap()
            .command
        else {
            panic!("expected history");
        };
        assert_eq!(args.diff, Some(vec![1, 3]));
        assert!(parse(&["history", "web", "--diff", "1"]).is_err());
    }

    #[test]
    fn durations_parse_like_kubectl() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("").is_err());
        assert!(
            parse_duration("5x")
                .unwrap_err()
                .contains("unknown unit \"x\"")
        );
        assert!(parse_duration("s").is_err());
        assert!(
            parse_duration("-1s")
                .unwrap_err()
                .contains("cannot be negative")
        );
        assert!(parse_duration("10").is_ok());
    }
}
