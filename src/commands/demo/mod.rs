//! `kubectl sts demo`: the walkthrough in one command. Starts a sandbox (or
//! uses the current context's cluster, in a namespace of its own), creates the
//! `web` example and runs the other commands against it stage by stage, each
//! printed as the user would type it; then judges each stage by the command's
//! outcome and by what the cluster shows afterwards, and cleans up.
//!
//! This module only orchestrates: the stages are the real commands, run
//! in-process through the same dispatch as the command line; what each stage
//! must show is in `stages`, the example in `manifest`.

pub mod manifest;
pub mod stages;

use std::io::IsTerminal;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use owo_colors::OwoColorize;

use self::manifest::WebExample;
use self::stages::{Script, Snapshot, Stage, Verdict};
use super::Outcome;
use crate::cli::{Cli, DemoArgs, GlobalArgs, OutputFormat};
use crate::context::{Connection, Context, FIELD_MANAGER};
use crate::error::{Error, Result};
use crate::inventory::{Inventory, SetScope};
use crate::output::{self, Styled, Styling, Tone};
use crate::sandbox::{self, RunningSandbox, SandboxConfig};

/// Images of the two canaries: a newer nginx, and the same with a tag that
/// makes the sandbox's containers exit shortly after starting.
const CANARY_IMAGE: &str = "nginx:1.27";
const BROKEN_IMAGE: &str = "nginx:1.27-crash";

pub async fn run(context: &Context, args: DemoArgs) -> Result<Outcome> {
    context.output_format("demo", &[OutputFormat::Table])?;
    context.reject_all_namespaces("demo")?;
    let example = WebExample::shipped().map_err(Error::Failed)?;
    let original_image = example
        .images()
        .into_iter()
        .next()
        .ok_or_else(|| Error::Failed("the demo manifest has no container".to_string()))?;
    let pauses = Pauses::new(!args.no_pause);
    let printer = Printer {
        styling: context.styling,
    };

    let mut target = if args.use_current_context {
        Target::current_context(context).await?
    } else {
        printer.line("Starting a sandbox cluster in this process...")?;
        Target::sandbox(context).await?
    };
    let script = Script {
        set_name: example.set_name().to_string(),
        original_image,
        canary_image: CANARY_IMAGE.to_string(),
        broken_image: BROKEN_IMAGE.to_string(),
        namespace: target.shown_namespace(),
    };

    let walked = tokio::select! {
        walked = walk(&mut target, &example, &script, &pauses, &printer) => walked,
        () = interrupted() => Err(Error::Failed("interrupted".to_string())),
    };
    let cleaned = target.clean_up(args.keep, &printer).await;
    let results = walked?;
    cleaned?;
    printer.summary(&results)?;
    match results.iter().find(|r| !r.verdict.passed()) {
        None => {
            printer.line(&format!(
                "All {} stages behaved as described.",
                results.len()
            ))?;
            Ok(Outcome::Success)
        }
        Some(failed) => {
            eprintln!(
                "error: demo stage {} ({}) did not behave as described: {}",
                failed.number,
                failed.title,
                failed.verdict.reason()
            );
            Ok(Outcome::Failed)
        }
    }
}

/// Ctrl-C or SIGTERM: the stage commands listen for them too (so they no longer
/// end the process), and the demo must still clean up.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One line of the summary.
#[derive(Debug, Clone)]
pub struct StageResult {
    /// 0 is setting up the example.
    pub number: usize,
    pub title: &'static str,
    pub verdict: Verdict,
}

/// Where the demo runs, and how the stage commands reach it.
struct Target {
    /// The global flags of the stage commands: the same cluster, the demo's namespace.
    global: GlobalArgs,
    connection: Connection,
    place: Place,
    /// The StorageClass the demo had to create (cluster-wide), to delete afterwards.
    created_class: Option<String>,
}

enum Place {
    Sandbox {
        sandbox: RunningSandbox,
        dir: tempfile::TempDir,
    },
    Cluster {
        namespace: String,
    },
}

impl Target {
    async fn sandbox(context: &Context) -> Result<Target> {
        let dir = tempfile::Builder::new()
            .prefix("kubectl-sts-demo-")
            .tempdir()
            .map_err(|e| Error::io("creating the sandbox's data directory", e))?;
        let sandbox = sandbox::start(SandboxConfig::new(dir.path().join("data")))
            .await
            .map_err(|e| Error::Failed(format!("cannot start the sandbox: {e}")))?;
        let global = GlobalArgs {
            kubeconfig: Some(sandbox.kubeconfig_path.clone()),
            no_color: context.global.no_color,
            ..GlobalArgs::default()
        };
        let connection = match Context::new(global.clone()).connect().await {
            Ok(connection) => connection,
            Err(err) => {
                sandbox.shutdown().await;
                return Err(err);
            }
        };
        Ok(Target {
            global,
            connection,
            place: Place::Sandbox { sandbox, dir },
            created_class: None,
        })
    }

    /// A fresh namespace in the current context's cluster.
    async fn current_context(context: &Context) -> Result<Target> {
        let namespace = format!(
            "sts-demo-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        let global = GlobalArgs {
            namespace: Some(namespace.clone()),
            ..context.global.clone()
        };
        let connection = Context::new(global.clone()).connect().await?;
        let namespaces: Api<Namespace> = Api::all(connection.client.clone());
        let object = Namespace {
            metadata: kube::api::ObjectMeta {
                name: Some(namespace.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces
            .create(&post_params(), &object)
            .await
            .map_err(|e| connection.error(e))?;
        Ok(Target {
            global,
            connection,
            place: Place::Cluster { namespace },
            created_class: None,
        })
    }

    /// The namespace to show in command lines; none when it is the context's own.
    fn shown_namespace(&self) -> Option<String> {
        match &self.place {
            Place::Sandbox { .. } => None,
            Place::Cluster { namespace } => Some(namespace.clone()),
        }
    }

    async fn clean_up(self, keep: bool, printer: &Printer) -> Result<()> {
        match self.place {
            Place::Sandbox { sandbox, dir } => {
                sandbox.shutdown().await;
                if keep {
                    let kept = dir.keep();
                    let data = kept.join("data");
                    printer.line(&format!(
                        "Kept the sandbox's state in {}: start it again with `kubectl sts sandbox --data-dir {}`",
                        data.display(),
                        data.display()
                    ))?;
                } else {
                    printer.line("Stopped the sandbox and removed its data.")?;
                }
                Ok(())
            }
            Place::Cluster { namespace } if keep => {
                printer.line(&format!(
                    "Kept namespace {namespace}: delete it with `kubectl delete namespace {namespace}`"
                ))?;
                if let Some(class) = &self.created_class {
                    printer.line(&format!(
                        "Kept storageclass {class}: delete it with `kubectl delete storageclass {class}`"
                    ))?;
                }
                Ok(())
            }
            Place::Cluster { namespace } => {
                let namespaces: Api<Namespace> = Api::all(self.connection.client.clone());
                namespaces
                    .delete(&namespace, &DeleteParams::background())
                    .await
                    .map_err(|e| self.connection.error(e))?;
                printer.line(&format!("Deleted namespace {namespace}."))?;
                if let Some(class) = &self.created_class {
                    let classes: Api<StorageClass> = Api::all(self.connection.client.clone());
                    classes
                        .delete(class, &DeleteParams::default())
                        .await
                        .map_err(|e| self.connection.error(e))?;
                    printer.line(&format!("Deleted storageclass {class}."))?;
                }
                Ok(())
            }
        }
    }
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    }
}

/// What set-up did: its summary, and the StorageClass it created if the cluster lacked it.
struct Created {
    detail: String,
    storage_class: Option<String>,
}

/// Create the example's objects; the StorageClass only when the cluster lacks it
/// (it is cluster-wide: one already there is the cluster's, not the demo's).
async fn create_example(connection: &Connection, example: &WebExample) -> Result<Created> {
    let classes: Api<StorageClass> = Api::all(connection.client.clone());
    let class_name = example
        .storage_class
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    let existing = classes
        .get_opt(&class_name)
        .await
        .map_err(|e| connection.error(e))?;
    let (class_note, storage_class) = match existing {
        Some(_) => (format!("storageclass {class_name} (already there)"), None),
        None => {
            classes
                .create(&post_params(), &example.storage_class)
                .await
                .map_err(|e| connection.error(e))?;
            (format!("storageclass {class_name}"), Some(class_name))
        }
    };
    let services: Api<Service> = Api::namespaced(connection.client.clone(), &connection.namespace);
    services
        .create(&post_params(), &example.service)
        .await
        .map_err(|e| connection.error(e))?;
    let sets: Api<StatefulSet> = Api::namespaced(connection.client.clone(), &connection.namespace);
    sets.create(&post_params(), &example.statefulset)
        .await
        .map_err(|e| connection.error(e))?;
    let detail = format!(
        "created {class_note}, service {}, statefulset {} in namespace {}",
        example.service.metadata.name.as_deref().unwrap_or_default(),
        example.set_name(),
        connection.namespace
    );
    Ok(Created {
        detail,
        storage_class,
    })
}

async fn walk(
    target: &mut Target,
    example: &WebExample,
    script: &Script,
    pauses: &Pauses,
    printer: &Printer,
) -> Result<Vec<StageResult>> {
    let total = Stage::ALL.len();
    printer.heading("Set-up: the web example")?;
    printer.line(
        "A 3-replica nginx StatefulSet behind a headless Service, one claim per pod from an NFS subdirectory StorageClass.",
    )?;
    let setup = match create_example(&target.connection, example).await {
        Ok(created) => {
            target.created_class = created.storage_class;
            Verdict::Passed(created.detail)
        }
        Err(err) => Verdict::Failed(err.to_string()),
    };
    printer.verdict(0, "set-up", &setup)?;
    let mut results = vec![StageResult {
        number: 0,
        title: "set-up",
        verdict: setup.clone(),
    }];
    let mut blocked_by: Option<String> = (!setup.passed()).then(|| "set-up".to_string());

    for (index, stage) in Stage::ALL.into_iter().enumerate() {
        let number = index + 1;
        if let Some(blocker) = &blocked_by {
            results.push(StageResult {
                number,
                title: stage.title(),
                verdict: Verdict::Failed(format!("not run: {blocker} failed")),
            });
            continue;
        }
        let words = stage.words(script);
        printer.heading(&format!("Stage {number} of {total}: {}", stage.title()))?;
        printer.line(stage.explanation())?;
        printer.command(&words)?;
        pauses.wait().await?;

        let before = snapshot(&target.connection, &script.set_name).await;
        let result = run_stage_command(&target.global, &words).await;
        let after = snapshot(&target.connection, &script.set_name).await;
        let verdict = match (before, after) {
            (Ok(before), Ok(after)) => stages::judge(stage, script, &result, &before, &after),
            (Err(err), _) | (_, Err(err)) => {
                Verdict::Failed(format!("cannot read the cluster: {err}"))
            }
        };
        printer.verdict(number, stage.title(), &verdict)?;
        if !verdict.passed() && stage.later_stages_need_it() {
            blocked_by = Some(format!("stage {number} ({})", stage.title()));
        }
        results.push(StageResult {
            number,
            title: stage.title(),
            verdict,
        });
    }
    Ok(results)
}

/// Run a stage's command line in this process, as `kubectl sts` would run it,
/// against the demo's cluster and namespace. Each stage gets a runtime of its
/// own, so whatever the command leaves running (watches, timers) ends with it
/// instead of talking to a sandbox that is gone.
async fn run_stage_command(global: &GlobalArgs, words: &[String]) -> Result<Outcome> {
    let cli = Cli {
        global: global.clone(),
        command: parse_words(words)?.command,
    };
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("demo-stage".to_string())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Error::io("starting a runtime for the stage", e))
                .and_then(|runtime| runtime.block_on(super::run(cli)));
            let _ = sender.send(result);
        })
        .map_err(|e| Error::io("starting a thread for the stage", e))?;
    receiver
        .await
        .map_err(|_| Error::Failed("the stage's command panicked".to_string()))?
}

/// Parse the words after `kubectl sts`, as the command line would.
fn parse_words(words: &[String]) -> Result<Cli> {
    use clap::Parser;
    Cli::try_parse_from(std::iter::once("kubectl-sts").chain(words.iter().map(String::as_str)))
        .map_err(|e| Error::Failed(format!("the demo built a command line clap refuses: {e}")))
}

/// The set and everything the judges look at, with a constant number of calls.
async fn snapshot(connection: &Connection, set_name: &str) -> Result<Snapshot> {
    let inventory = Inventory::fetch(connection, &SetScope::Named(set_name.to_string())).await?;
    let set = inventory
        .statefulsets
        .into_iter()
        .next()
        .ok_or_else(|| Error::Failed(format!("statefulset {set_name} disappeared")))?;
    let revisions: Api<ControllerRevision> =
        Api::namespaced(connection.client.clone(), &connection.namespace);
    let revisions = revisions
        .list(&ListParams::default())
        .await
        .map_err(|e| connection.error(e))?
        .items;
    Ok(Snapshot {
        set,
        pods: inventory.pods,
        claims: inventory.claims,
        volumes: inventory.volumes.items().to_vec(),
        revisions,
    })
}

/// Waiting for Enter between stages, only when someone is at a terminal.
struct Pauses {
    interactive: bool,
}

impl Pauses {
    fn new(wanted: bool) -> Self {
        Pauses {
            interactive: wanted
                && std::io::stdin().is_terminal()
                && std::io::stdout().is_terminal(),
        }
    }

    async fn wait(&self) -> Result<()> {
        if !self.interactive {
            return Ok(());
        }
        output::print("Press Enter to run it (Ctrl-C stops the demo and cleans up) ")?;
        // A plain thread, not spawn_blocking: a read still pending at Ctrl-C
        // must not keep the runtime from shutting down.
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = sender.send(std::io::stdin().read_line(&mut line));
        });
        match receiver.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::io("reading from the terminal", e)),
            Err(_) => Err(Error::Failed("the terminal went away".to_string())),
        }
    }
}

/// The demo's own lines, between the commands' output.
struct Printer {
    styling: Styling,
}

impl Printer {
    fn line(&self, text: &str) -> Result<()> {
        output::print(&format!("{text}\n"))
    }

    fn heading(&self, text: &str) -> Result<()> {
        let text = if self.styling.color {
            text.bold().to_string()
        } else {
            text.to_string()
        };
        output::print(&format!("\n{text}\n"))
    }

    fn command(&self, words: &[String]) -> Result<()> {
        let line = format!("$ {}", command_line(words));
        let line = if self.styling.color {
            line.cyan().to_string()
        } else {
            line
        };
        output::print(&format!("{line}\n"))
    }

    fn verdict(&self, number: usize, title: &str, verdict: &Verdict) -> Result<()> {
        let text = result_line(number, title, verdict);
        let text = match (self.styling.color, verdict.passed()) {
            (false, _) => text,
            (true, true) => text.green().to_string(),
            (true, false) => text.red().to_string(),
        };
        output::print(&format!("{text}\n"))
    }

    fn summary(&self, results: &[StageResult]) -> Result<()> {
        let rows: Vec<Vec<Styled>> = results
            .iter()
            .map(|r| {
                let (word, tone) = if r.verdict.passed() {
                    ("passed", Tone::Good)
                } else {
                    ("FAILED", Tone::Bad)
                };
                vec![
                    Styled::from(r.number.to_string()),
                    Styled::from(r.title),
                    Styled::new(word, tone),
                    Styled::from(r.verdict.reason()),
                ]
            })
            .collect();
        self.heading("Summary")?;
        output::print(&output::render_table(
            &["stage", "what", "result", "detail"],
            &rows,
            self.styling,
        ))
    }
}

/// `kubectl sts WORDS`, quoting words a shell would split or expand.
pub fn command_line(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=@%+".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!("kubectl sts {}", quoted.join(" "))
}

/// The line a stage's result is reported on (tests look for it).
pub fn result_line(number: usize, title: &str, verdict: &Verdict) -> String {
    match verdict {
        Verdict::Passed(detail) => format!("stage {number} ({title}): passed: {detail}"),
        Verdict::Failed(reason) => format!("stage {number} ({title}): FAILED: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn script(namespace: Option<&str>) -> Script {
        Script {
            set_name: "web".into(),
            original_image: "nginx:1.25".into(),
            canary_image: CANARY_IMAGE.into(),
            broken_image: BROKEN_IMAGE.into(),
            namespace: namespace.map(String::from),
        }
    }

    #[test]
    fn every_stage_is_a_command_line_the_cli_accepts() {
        for namespace in [None, Some("sts-demo-abc123")] {
            for stage in Stage::ALL {
                let words = stage.words(&script(namespace));
                let cli = parse_words(&words).unwrap_or_else(|e| panic!("{stage:?}: {e}"));
                let expected = match stage {
                    Stage::OrderedStart => "watch",
                    Stage::StorageChain => "volumes",
                    Stage::Identity => "status",
                    Stage::DataSurvival => "verify",
                    Stage::Canary | Stage::CanaryRollback => "canary",
                    Stage::History => "history",
                };
                assert_eq!(cli.command.name(), expected);
                assert_eq!(cli.global.namespace.as_deref(), namespace);
            }
        }
    }

    #[test]
    fn the_canaries_roll_out_the_demo_images_without_asking() {
        let parsed = |stage: Stage| match parse_words(&stage.words(&script(None))).unwrap().command
        {
            Command::Canary(args) => args,
            other => panic!("{stage:?} is {}", other.name()),
        };
        let good = parsed(Stage::Canary);
        assert_eq!(good.image, vec![CANARY_IMAGE.to_string()]);
        assert_eq!(good.steps.as_deref(), Some("1,50%,100%"));
        assert!(good.yes);
        assert_eq!(good.step_timeout, Some(std::time::Duration::from_secs(60)));
        let broken = parsed(Stage::CanaryRollback);
        assert_eq!(broken.image, vec![BROKEN_IMAGE.to_string()]);
        assert!(broken.yes && !broken.no_rollback);
    }

    #[test]
    fn the_watch_stage_waits_for_ready_as_lines_with_a_limit() {
        let words = Stage::OrderedStart.words(&script(None));
        let Command::Watch(args) = parse_words(&words).unwrap().command else {
            panic!("not a watch");
        };
        assert_eq!(args.until, Some(crate::cli::UntilCondition::Ready));
        assert!(
            args.log,
            "a full-screen view would wipe the demo's transcript"
        );
        assert!(args.timeout.is_some());
    }

    #[test]
    fn command_lines_read_as_typed_and_quote_what_a_shell_would_split() {
        let words: Vec<String> = [
            "canary",
            "web",
            "--steps",
            "1,50%,100%",
            "--check",
            "cat /x",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(
            command_line(&words),
            "kubectl sts canary web --steps 1,50%,100% --check 'cat /x'"
        );
    }

    #[test]
    fn result_lines_name_the_stage_and_the_verdict() {
        assert_eq!(
            result_line(2, "the storage chain", &Verdict::Passed("3 claims".into())),
            "stage 2 (the storage chain): passed: 3 claims"
        );
        assert_eq!(
            result_line(
                1,
                "ordered start",
                &Verdict::Failed("web-0 is not Ready".into())
            ),
            "stage 1 (ordered start): FAILED: web-0 is not Ready"
        );
    }
}
