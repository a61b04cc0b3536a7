//! `kubectl sts watch`: the ordered live view of StatefulSets.
//!
//! One kube-rs watcher per kind (StatefulSets, pods, claims, Events; relist on
//! expiry and backoff on errors come from the runtime) feeds `model`, whose
//! transitions are printed as log lines, JSON lines, or a redrawn screen. The
//! pod and claim watches follow the set's selector and restart when it changes
//! (a set deleted and recreated differently).

#[cfg(test)]
mod fixtures;
pub mod model;
pub mod pod_status;
pub mod render;
mod slim;
pub mod terminal;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::time::{Instant, MissedTickBehavior};

use self::model::{
    Change, SetView, Transition, WatchTarget, WatchedKind, WatchedSets, human_duration,
};
use self::render::{OutcomeRecord, StateRecord, TransitionRecord};
use self::slim::Slim;
use self::terminal::{Input, LiveScreen};
use super::Outcome;
use crate::cli::{OutputFormat, UntilCondition, WatchArgs};
use crate::context::{Connection, Context, NamespaceScope};
use crate::error::{Error, Result};
use crate::output::{Styling, print};
use crate::{retry, sts};

/// How the watch presents itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Full-screen redraw on a terminal.
    Live,
    /// One timestamped line per transition.
    Log,
    /// One JSON object per line.
    Json,
}

/// Redraw on a terminal unless asked for lines or JSON.
pub fn choose_mode(format: OutputFormat, log_flag: bool, terminal: bool) -> Mode {
    match format {
        OutputFormat::Json => Mode::Json,
        OutputFormat::Wide => Mode::Log,
        _ if log_flag || !terminal => Mode::Log,
        _ => Mode::Live,
    }
}

/// The usage rules of the flags, checked before connecting.
pub fn check_args(args: &WatchArgs, all_namespaces: bool) -> Result<()> {
    if args.name.is_some() && all_namespaces {
        return Err(Error::Usage(
            "`watch NAME` watches one StatefulSet: drop -A/--all-namespaces, or drop NAME to watch every StatefulSet".to_string(),
        ));
    }
    if args.until.is_some() && args.name.is_none() {
        return Err(Error::Usage(
            "--until waits for one StatefulSet: give its NAME (kubectl sts watch NAME --until ready)"
                .to_string(),
        ));
    }
    Ok(())
}

pub async fn run(context: &Context, args: WatchArgs) -> Result<Outcome> {
    let format = context.output_format(
        "watch",
        &[OutputFormat::Table, OutputFormat::Wide, OutputFormat::Json],
    )?;
    check_args(&args, context.global.all_namespaces)?;
    let mode = choose_mode(format, args.log, context.styling.terminal);
    let connection = context.connect().await?;
    let target = match &args.name {
        Some(name) => WatchTarget::One {
            namespace: connection.namespace.clone(),
            name: name.clone(),
        },
        None if context.global.all_namespaces => WatchTarget::All { namespace: None },
        None => WatchTarget::All {
            namespace: Some(connection.namespace.clone()),
        },
    };
    let mut styling = context.styling;
    if mode == Mode::Json {
        styling.color = false;
    }
    let session = Session::new(connection, target, mode, styling, &args);
    session.run(args.until, args.timeout).await
}

/// One item from any of the watches.
enum Fed {
    Init(WatchedKind),
    Item {
        kind: WatchedKind,
        change: Change,
        initial: bool,
    },
    InitDone(WatchedKind),
    Failed(WatchedKind, watcher::Error),
}

type Feed = BoxStream<'static, Fed>;

fn feed<K>(
    api: Api<K>,
    config: watcher::Config,
    kind: WatchedKind,
    applied: fn(Box<K>) -> Change,
    deleted: fn(Box<K>) -> Change,
) -> Feed
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Slim
        + 'static,
{
    watcher(api, config)
        .backoff(retry::watch_backoff())
        .map(move |event| match event {
            Ok(watcher::Event::Apply(o)) => Fed::Item {
                kind,
                change: applied(Box::new(o.slim())),
                initial: false,
            },
            Ok(watcher::Event::Delete(o)) => Fed::Item {
                kind,
                change: deleted(Box::new(o.slim())),
                initial: false,
            },
            Ok(watcher::Event::Init) => Fed::Init(kind),
            Ok(watcher::Event::InitApply(o)) => Fed::Item {
                kind,
                change: applied(Box::new(o.slim())),
                initial: true,
            },
            Ok(watcher::Event::InitDone) => Fed::InitDone(kind),
            Err(e) => Fed::Failed(kind, e),
        })
        .boxed()
}

/// The next item of a watch that may not be running (then: never).
async fn next_of(feed: &mut Option<Feed>) -> Option<Fed> {
    match feed {
        Some(feed) => feed.next().await,
        None => std::future::pending().await,
    }
}

async fn next_input(screen: &mut Option<LiveScreen>) -> Input {
    match screen {
        Some(screen) => screen.next_input().await,
        None => std::future::pending().await,
    }
}

/// Label selectors for the pods and the claims of a set: claims carry only
/// the selector's matchLabels (the controller copies those).
fn member_selectors(set: &StatefulSet) -> (Option<String>, Option<String>) {
    let pods = sts::pod_selector(set);
    let claims = Some(sts::selector_string(
        &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
            match_labels: set.spec.selector.match_labels.clone(),
            match_expressions: None,
        },
    ))
    .filter(|s| !s.is_empty());
    (pods, claims)
}

fn config_with(labels: Option<&str>) -> watcher::Config {
    match labels {
        Some(labels) => watcher::Config::default().labels(labels),
        None => watcher::Config::default(),
    }
}

/// Errors no retry will fix; the others are retried with backoff.
/// What a failed watch means for the session.
enum Trouble {
    /// 410 Expired: the runtime relists and the model reconciles; routine.
    Relisting,
    /// The runtime restarts the watch with backoff; shown until it delivers.
    Retrying(Error),
    /// No retry will fix it.
    Fatal(Error),
}

/// Permissions never mend; a server that cannot be reached at all before
/// the first listing is reported at once rather than waited for; throttling,
/// server errors and cut connections are waited out (--timeout bounds it).
fn watch_error(connection: &Connection, err: watcher::Error, synced: bool) -> Trouble {
    if matches!(&err, watcher::Error::WatchError(status) if status.code == 410) {
        return Trouble::Relisting;
    }
    let transient = retry::watch_error_is_transient(&err);
    let kube_error = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(status) => kube::Error::Api(status),
        other => return Trouble::Retrying(Error::Client(other.to_string())),
    };
    let error = connection.error(kube_error);
    let unreachable_at_start = !synced && matches!(error, Error::Unreachable { .. });
    if !transient
        || unreachable_at_start
        || matches!(error, Error::Forbidden { .. } | Error::Unauthorized { .. })
    {
        Trouble::Fatal(error)
    } else {
        Trouble::Retrying(error)
    }
}

fn kind_name(kind: WatchedKind) -> &'static str {
    match kind {
        WatchedKind::Sets => "statefulsets",
        WatchedKind::Pods => "pods",
        WatchedKind::Claims => "persistentvolumeclaims",
        WatchedKind::Events => "events",
    }
}

/// How much of the log the live view keeps for scrolling into view.
const LIVE_LOG_LINES: usize = 500;
/// Redraw at most this often; changes in between are coalesced.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Redraw at least this often, so ages move.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Why the watch stopped.
enum Stop {
    Met,
    TimedOut,
    Interrupted,
}

struct Session {
    connection: Connection,
    scope: NamespaceScope,
    mode: Mode,
    styling: Styling,
    sets: WatchedSets,
    set_feed: Feed,
    event_feed: Feed,
    pod_feed: Option<Feed>,
    claim_feed: Option<Feed>,
    /// The selectors the pod and claim watches run with (One mode).
    member_selectors: Option<(Option<String>, Option<String>)>,
    /// Objects of a kind being relisted, applied together at InitDone.
    relisting: HashMap<WatchedKind, Vec<Change>>,
    /// Kinds whose first listing is the starting state, not news.
    baseline: HashSet<WatchedKind>,
    synced: bool,
    live_log: VecDeque<String>,
    /// The last watch error, shown until that watch delivers again.
    notice: Option<(WatchedKind, String)>,
    /// The error behind `notice`, for the last words if the watch never recovers.
    failing: Option<String>,
    dirty: bool,
    /// Something was printed since the last state snapshot (log mode).
    changed_since_snapshot: bool,
    last_frame: Vec<String>,
    title: String,
}

impl Session {
    fn new(
        connection: Connection,
        target: WatchTarget,
        mode: Mode,
        styling: Styling,
        args: &WatchArgs,
    ) -> Self {
        let scope = match &target {
            WatchTarget::One { namespace, .. }
            | WatchTarget::All {
                namespace: Some(namespace),
            } => NamespaceScope::One(namespace.clone()),
            WatchTarget::All { namespace: None } => NamespaceScope::All,
        };
        let set_config = match &target {
            WatchTarget::One { name, .. } => {
                watcher::Config::default().fields(&format!("metadata.name={name}"))
            }
            WatchTarget::All { .. } => watcher::Config::default(),
        };
        let set_feed = feed(
            connection.api_in::<StatefulSet>(&scope),
            set_config,
            WatchedKind::Sets,
            Change::SetApplied,
            Change::SetDeleted,
        );
        let event_feed = feed(
            connection.api_in::<Event>(&scope),
            watcher::Config::default(),
            WatchedKind::Events,
            Change::EventApplied,
            Change::EventDeleted,
        );
        let mut baseline = HashSet::from([WatchedKind::Sets, WatchedKind::Events]);
        let (mut pod_feed, mut claim_feed) = (None, None);
        if matches!(target, WatchTarget::All { .. }) {
            // Every set: follow all pods and claims in scope and route them.
            pod_feed = Some(feed(
                connection.api_in::<Pod>(&scope),
                watcher::Config::default(),
                WatchedKind::Pods,
                Change::PodApplied,
                Change::PodDeleted,
            ));
            claim_feed = Some(feed(
                connection.api_in::<PersistentVolumeClaim>(&scope),
                watcher::Config::default(),
                WatchedKind::Claims,
                Change::ClaimApplied,
                Change::ClaimDeleted,
            ));
            baseline.extend([WatchedKind::Pods, WatchedKind::Claims]);
        }
        let what = match &target {
            WatchTarget::One { namespace, name } => format!("statefulset {namespace}/{name}"),
            WatchTarget::All {
                namespace: Some(ns),
            } => format!("statefulsets in {ns}"),
            WatchTarget::All { namespace: None } => "statefulsets in all namespaces".to_string(),
        };
        let mut title = format!("kubectl sts watch {what}");
        if let Some(until) = args.until {
            title.push_str(&format!(" --until {}", render::until_name(until)));
        }
        Session {
            connection,
            scope,
            mode,
            styling,
            sets: WatchedSets::new(target),
            set_feed,
            event_feed,
            pod_feed,
            claim_feed,
            member_selectors: None,
            relisting: HashMap::new(),
            baseline,
            synced: false,
            live_log: VecDeque::new(),
            notice: None,
            failing: None,
            dirty: true,
            changed_since_snapshot: false,
            last_frame: Vec::new(),
            title,
        }
    }

    fn the_view(&self) -> Option<&SetView> {
        match self.sets.target() {
            WatchTarget::One { namespace, name } => self.sets.view(namespace, name),
            WatchTarget::All { .. } => None,
        }
    }

    /// (Re)start the pod and claim watches when the watched set's selector is
    /// first known or changes.
    fn follow_members(&mut self) {
        let Some(selectors) = self.the_view().and_then(SetView::set).map(member_selectors) else {
            return;
        };
        if self.member_selectors.as_ref() == Some(&selectors) {
            return;
        }
        let (pods, claims) = &selectors;
        self.pod_feed = Some(feed(
            self.connection.api_in::<Pod>(&self.scope),
            config_with(pods.as_deref()),
            WatchedKind::Pods,
            Change::PodApplied,
            Change::PodDeleted,
        ));
        self.claim_feed = Some(feed(
            self.connection.api_in::<PersistentVolumeClaim>(&self.scope),
            config_with(claims.as_deref()),
            WatchedKind::Claims,
            Change::ClaimApplied,
            Change::ClaimDeleted,
        ));
        self.relisting.remove(&WatchedKind::Pods);
        self.relisting.remove(&WatchedKind::Claims);
        if !self.synced {
            self.baseline
                .extend([WatchedKind::Pods, WatchedKind::Claims]);
        }
        self.member_selectors = Some(selectors);
    }

    fn handle(&mut self, fed: Fed) -> Result<()> {
        let now = Timestamp::now();
        // A watch that delivers again has recovered from its last error.
        if let Fed::Item { kind, .. } | Fed::InitDone(kind) = &fed
            && self
                .notice
                .as_ref()
                .is_some_and(|(failed, _)| failed == kind)
        {
            self.notice = None;
            self.failing = None;
            self.dirty = true;
        }
        match fed {
            Fed::Init(kind) => {
                self.relisting.insert(kind, Vec::new());
            }
            Fed::Item {
                kind,
                change,
                initial: true,
            } => self.relisting.entry(kind).or_default().push(change),
            Fed::Item { kind, change, .. } => {
                let transitions = self.sets.apply(&change, now);
                self.emit(&transitions)?;
                if kind == WatchedKind::Sets {
                    self.follow_members();
                }
            }
            Fed::InitDone(kind) => {
                let listed = self.relisting.remove(&kind).unwrap_or_default();
                let transitions = self.sets.relist(kind, listed, now);
                if !self.baseline.remove(&kind) {
                    self.emit(&transitions)?;
                }
                if kind == WatchedKind::Sets {
                    self.follow_members();
                }
            }
            Fed::Failed(kind, err) => {
                let error = match watch_error(&self.connection, err, self.synced) {
                    Trouble::Relisting => return Ok(()),
                    Trouble::Fatal(error) => return Err(error),
                    Trouble::Retrying(error) => error,
                };
                let notice = format!("watching {} failed, retrying: {error}", kind_name(kind));
                if self.notice.as_ref().is_none_or(|(_, last)| *last != notice) {
                    if self.mode != Mode::Live {
                        eprintln!("warning: {notice}");
                    }
                    self.notice = Some((kind, notice));
                    self.failing = Some(error.to_string());
                    self.dirty = true;
                }
            }
        }
        if !self.synced && self.baseline.is_empty() {
            self.synced = true;
            self.show_state(Timestamp::now())?;
        }
        Ok(())
    }

    fn with_namespace(&self) -> bool {
        matches!(self.sets.target(), WatchTarget::All { namespace: None })
    }

    fn emit(&mut self, transitions: &[Transition]) -> Result<()> {
        if transitions.is_empty() {
            return Ok(());
        }
        self.changed_since_snapshot = true;
        let with_namespace = self.with_namespace();
        match self.mode {
            Mode::Log => {
                let mut text = String::new();
                for transition in transitions {
                    text.push_str(&render::log_line(transition, with_namespace, self.styling));
                    text.push('\n');
                }
                print(&text)
            }
            Mode::Json => {
                let mut text = String::new();
                for transition in transitions {
                    text.push_str(&render::json_line(&TransitionRecord::from(transition))?);
                }
                print(&text)
            }
            Mode::Live => {
                for transition in transitions {
                    self.live_log.push_back(render::log_line(
                        transition,
                        with_namespace,
                        self.styling,
                    ));
                }
                while self.live_log.len() > LIVE_LOG_LINES {
                    self.live_log.pop_front();
                }
                self.dirty = true;
                Ok(())
            }
        }
    }

    /// The whole state, in the output's form (start and end of a log).
    fn show_state(&mut self, now: Timestamp) -> Result<()> {
        self.changed_since_snapshot = false;
        match self.mode {
            Mode::Log => {
                let mut text = String::new();
                for view in self.sets.views() {
                    text.push_str(&render::snapshot(view, now, self.styling));
                }
                if self.sets.views().next().is_none() {
                    text.push_str(&format!("{}: no StatefulSets yet\n", self.title));
                }
                print(&text)
            }
            Mode::Json => {
                let mut text = String::new();
                for view in self.sets.views() {
                    text.push_str(&render::json_line(&StateRecord::of(view, now))?);
                }
                print(&text)
            }
            Mode::Live => {
                self.dirty = true;
                Ok(())
            }
        }
    }

    fn draw(&mut self, screen: &mut LiveScreen, deadline: Option<Instant>) -> Result<()> {
        let mut status = self.title.clone();
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            status.push_str(&format!(" ({} left)", human_duration(left)));
        }
        if !self.synced {
            status.push_str(" · listing...");
        }
        if let Some((_, notice)) = &self.notice {
            status.push_str(&format!(" · {notice}"));
        }
        status.push_str(" · q to quit");
        let lines = render::frame(
            self.sets.views(),
            self.live_log.make_contiguous(),
            &status,
            Timestamp::now(),
            screen.size(),
            self.styling,
        );
        // Ages only move once a second: skip repainting an identical frame.
        if lines != self.last_frame {
            screen.draw(&lines)?;
            self.last_frame = lines;
        }
        self.dirty = false;
        Ok(())
    }

    /// Whether the `--until` condition holds; the cheap status check first so
    /// most changes cost no walk over the ordinals.
    fn until_met(&self, until: UntilCondition) -> bool {
        self.the_view().is_some_and(|view| {
            view.status_says_met(until) && view.evaluate(until, Timestamp::now()).is_empty()
        })
    }

    fn missing(&self, until: UntilCondition) -> Vec<String> {
        self.the_view()
            .map(|view| {
                view.evaluate(until, Timestamp::now())
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn run(
        mut self,
        until: Option<UntilCondition>,
        timeout: Option<Duration>,
    ) -> Result<Outcome> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut screen = match self.mode {
            Mode::Live => Some(LiveScreen::enter()?),
            _ => None,
        };
        let mut redraw = tokio::time::interval(REDRAW_EVERY);
        redraw.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut last_draw = Instant::now();
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let terminated = terminated();
        tokio::pin!(terminated);

        let stop = loop {
            enum Step {
                Fed(Fed),
                Input(Input),
                Tick,
                Deadline,
                Interrupt,
            }
            let step = tokio::select! {
                Some(fed) = self.set_feed.next() => Step::Fed(fed),
                Some(fed) = next_of(&mut self.pod_feed) => Step::Fed(fed),
                Some(fed) = next_of(&mut self.claim_feed) => Step::Fed(fed),
                Some(fed) = self.event_feed.next() => Step::Fed(fed),
                input = next_input(&mut screen) => Step::Input(input),
                _ = redraw.tick(), if screen.is_some() => Step::Tick,
                () = sleep_until(deadline) => Step::Deadline,
                _ = &mut ctrl_c, if screen.is_none() => Step::Interrupt,
                () = &mut terminated => Step::Interrupt,
            };
            match step {
                Step::Fed(fed) => self.handle(fed)?,
                Step::Input(Input::Quit) | Step::Interrupt => break Stop::Interrupted,
                Step::Input(_) => {
                    // A resize or Ctrl-L: repaint everything.
                    self.last_frame.clear();
                    self.dirty = true;
                }
                Step::Tick => {
                    if let Some(screen) = screen.as_mut()
                        && (self.dirty || last_draw.elapsed() >= REFRESH_EVERY)
                    {
                        self.draw(screen, deadline)?;
                        last_draw = Instant::now();
                    }
                }
                Step::Deadline => break Stop::TimedOut,
            }
            if self.synced
                && let Some(until) = until
                && self.until_met(until)
            {
                break Stop::Met;
            }
        };
        // Give the terminal back before the last words.
        drop(screen);
        self.finish(stop, until, timeout)
    }

    fn finish(
        &mut self,
        stop: Stop,
        until: Option<UntilCondition>,
        timeout: Option<Duration>,
    ) -> Result<Outcome> {
        let now = Timestamp::now();
        let styling = Styling {
            terminal: false,
            ..self.styling
        };
        let missing = match (&stop, until) {
            (Stop::Met, _) | (_, None) => Vec::new(),
            (_, Some(until)) => self.missing(until),
        };
        match self.mode {
            Mode::Json => {
                self.show_state(now)?;
                if let Some(until) = until {
                    print(&render::json_line(&OutcomeRecord {
                        time: render::timestamp(now),
                        kind: "until",
                        until: render::until_name(until),
                        met: matches!(stop, Stop::Met),
                        missing: missing.clone(),
                    })?)?;
                }
            }
            Mode::Log | Mode::Live => {
                let mut text = String::new();
                if self.mode == Mode::Live {
                    // The screen is gone: leave the final state and the latest lines visible.
                    for view in self.sets.views() {
                        text.push_str(&render::snapshot(view, now, styling));
                    }
                    let tail = self.live_log.len().saturating_sub(10);
                    for line in self.live_log.iter().skip(tail) {
                        text.push_str(line);
                        text.push('\n');
                    }
                } else if self.changed_since_snapshot {
                    for view in self.sets.views() {
                        text.push_str(&render::snapshot(view, now, styling));
                    }
                }
                if let (Stop::Met, Some(until)) = (&stop, until) {
                    let name = self.the_view().map(SetView::name).unwrap_or_default();
                    let done = match until {
                        UntilCondition::Ready => "is ready",
                        UntilCondition::Rolled => "has rolled out",
                        UntilCondition::Deleted => "is deleted",
                    };
                    text.push_str(&format!(
                        "{} statefulset {name} {done}\n",
                        render::timestamp(now)
                    ));
                }
                print(&text)?;
            }
        }
        match (stop, until) {
            (Stop::Met, _) => Ok(Outcome::Success),
            (Stop::TimedOut, Some(until)) => {
                let name = self.the_view().map(SetView::name).unwrap_or_default();
                let mut what = render::missing_summary(until, name, &missing);
                if let Some(error) = &self.failing {
                    what.push_str(&format!("\nThe watch was failing at the end: {error}"));
                }
                Err(Error::Timeout {
                    after: timeout.map_or_else(String::new, human_duration),
                    what,
                })
            }
            // A watch that ends blind must not look like one that saw everything.
            (Stop::TimedOut, None) => match &self.failing {
                Some(error) => Err(Error::Failed(format!(
                    "the watch was failing when --timeout ended it: {error}"
                ))),
                None => Ok(Outcome::Success),
            },
            (Stop::Interrupted, Some(_)) => {
                eprintln!("stopped before the condition held: {}", missing.join("; "));
                Ok(Outcome::Failed)
            }
            (Stop::Interrupted, None) => Ok(Outcome::Success),
        }
    }
}

/// SIGTERM or SIGHUP (a closed terminal, `timeout`, CI cancelling a job): stop
/// like on q so the terminal is restored.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            tokio::select! {
                _ = term.recv() => return,
                _ = hangup.recv() => return,
            }
        }
    }
    std::future::pending::<()>().await
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: Option<&str>, until: Option<UntilCondition>) -> WatchArgs {
        WatchArgs {
            name: name.map(str::to_string),
            until,
            timeout: None,
            log: false,
        }
    }

    #[test]
    fn a_terminal_gets_the_live_view_unless_lines_or_json_are_asked_for() {
        assert_eq!(choose_mode(OutputFormat::Table, false, true), Mode::Live);
        assert_eq!(choose_mode(OutputFormat::Table, true, true), Mode::Log);
        assert_eq!(choose_mode(OutputFormat::Table, false, false), Mode::Log);
        assert_eq!(choose_mode(OutputFormat::Wide, false, true), Mode::Log);
        assert_eq!(choose_mode(OutputFormat::Json, false, true), Mode::Json);
    }

    #[test]
    fn until_needs_a_name_and_a_name_excludes_all_namespaces() {
        assert!(check_args(&args(Some("web"), Some(UntilCondition::Ready)), false).is_ok());
        assert!(check_args(&args(None, None), true).is_ok());
        let err = check_args(&args(None, Some(UntilCondition::Ready)), false).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        let err = check_args(&args(Some("web"), None), true).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
    }

    #[test]
    fn claims_are_watched_by_the_selectors_match_labels_only() {
        let set = fixtures::web();
        assert_eq!(
            member_selectors(&set),
            (Some("app=nginx".to_string()), Some("app=nginx".to_string()))
        );
    }
}
