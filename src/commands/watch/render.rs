//! How the watch looks: the header and ordered rows of a set, timestamped log
//! lines, newline-delimited JSON records, and the full-screen frame. Pure text
//! building; printing and the terminal are elsewhere.

use jiff::Timestamp;
use serde::Serialize;

use super::model::{
    OrdinalRow, RevisionAge, SetHeader, SetView, Transition, TransitionKind, short_revision,
    status_is_problem,
};
use crate::cli::UntilCondition;
use crate::output::{Styled, Styling, Tone, render_table};

/// `2026-11-23T09:02:49.123Z`: sortable, unambiguous in CI logs.
pub fn timestamp(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn paint(text: &str, tone: Tone, styling: Styling) -> String {
    if !styling.color {
        return text.to_string();
    }
    let code = match tone {
        Tone::Plain => return text.to_string(),
        Tone::Good => "32",
        Tone::Warn => "33",
        Tone::Bad => "31",
        Tone::Dim => "90",
    };
    format!("\u{1b}[{code}m{text}\u{1b}[0m")
}

/// The tone of a transition line.
pub fn transition_tone(transition: &Transition) -> Tone {
    if transition.kind.is_problem() {
        return Tone::Bad;
    }
    match &transition.kind {
        TransitionKind::PodReady { .. }
        | TransitionKind::RolloutComplete { .. }
        | TransitionKind::ClaimBound { .. } => Tone::Good,
        TransitionKind::PodDeleted { .. }
        | TransitionKind::PodTerminating { .. }
        | TransitionKind::SetDeleted
        | TransitionKind::ClaimDeleted { .. } => Tone::Warn,
        TransitionKind::Event { .. } => Tone::Dim,
        _ => Tone::Plain,
    }
}

/// One log line: `<time> <what happened>`; namespaced when watching all namespaces.
pub fn log_line(transition: &Transition, with_namespace: bool, styling: Styling) -> String {
    let message = if with_namespace {
        format!("{}/{transition}", transition.namespace)
    } else {
        transition.to_string()
    };
    format!(
        "{} {}",
        timestamp(transition.at),
        paint(&message, transition_tone(transition), styling)
    )
}

/// The header of one set in one line.
pub fn header_line(header: &SetHeader) -> String {
    if !header.exists {
        return format!(
            "statefulset {}/{}: does not exist (waiting for it to be created)",
            header.namespace, header.name
        );
    }
    let revisions = match (&header.current_revision, &header.update_revision) {
        (Some(current), Some(update)) if current == update => {
            format!("revision {}", short_revision(&header.name, update))
        }
        (None, None) => "revision -".to_string(),
        (current, update) => format!(
            "revision {} -> {}",
            current
                .as_deref()
                .map_or("-".to_string(), |r| short_revision(&header.name, r)),
            update
                .as_deref()
                .map_or("-".to_string(), |r| short_revision(&header.name, r)),
        ),
    };
    let mut strategy = header.strategy.clone();
    if header.strategy == "RollingUpdate" && header.partition > 0 {
        strategy.push_str(&format!(" (partition {})", header.partition));
    }
    format!(
        "statefulset {}/{}: {} desired, {} current, {} ready, {} updated | {strategy} | {} | {revisions}",
        header.namespace,
        header.name,
        header.desired,
        header.current,
        header.ready,
        header.updated,
        header.pod_management_policy,
    )
}

fn status_tone(status: &str, ready: bool) -> Tone {
    if status_is_problem(status) {
        Tone::Bad
    } else if status == "Running" && ready {
        Tone::Good
    } else if status == "Completed" || status == "Terminating" {
        Tone::Dim
    } else {
        Tone::Warn
    }
}

fn row_cells(row: &OrdinalRow, header: &SetHeader) -> Vec<Styled> {
    let rolling = header.current_revision != header.update_revision;
    let claims: Vec<String> = row
        .claims
        .iter()
        .map(|(_, claim)| match claim {
            Some(claim) if claim.terminating => "Terminating".to_string(),
            Some(claim) => claim.phase.clone(),
            None => "-".to_string(),
        })
        .collect();
    let claims_tone = if row.claims.iter().all(|(_, c)| c.is_none()) {
        Tone::Dim
    } else if row
        .claims
        .iter()
        .all(|(_, c)| c.as_ref().is_some_and(|c| c.phase == "Bound"))
    {
        Tone::Plain
    } else {
        Tone::Warn
    };
    let claims = Styled::new(
        if claims.is_empty() {
            String::new()
        } else {
            claims.join(",")
        },
        claims_tone,
    );
    let Some(pod) = &row.pod else {
        let (text, tone) = match (row.gone, row.in_range) {
            (true, true) => ("gone", Tone::Warn),
            (true, false) => ("gone", Tone::Dim),
            (false, _) => ("not created", Tone::Dim),
        };
        return vec![
            Styled::new(row.pod_name.clone(), Tone::Dim),
            Styled::new(text, tone),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            claims,
        ];
    };
    let revision = match &row.revision {
        None => Styled::new("-", Tone::Dim),
        Some((revision, age)) => {
            let short = short_revision(&header.name, revision);
            match (rolling, age) {
                (false, _) => Styled::new(short, Tone::Plain),
                (true, RevisionAge::New) => Styled::new(format!("{short} (new)"), Tone::Good),
                (true, RevisionAge::Old) => Styled::new(format!("{short} (old)"), Tone::Warn),
            }
        }
    };
    let name_tone = if row.in_range { Tone::Plain } else { Tone::Dim };
    vec![
        Styled::new(row.pod_name.clone(), name_tone),
        Styled::new(pod.status.clone(), status_tone(&pod.status, pod.ready)),
        Styled::new(
            format!("{}/{}", pod.ready_containers, pod.total_containers),
            if pod.ready { Tone::Plain } else { Tone::Warn },
        ),
        Styled::new(
            pod.restarts.to_string(),
            if pod.restarts > 0 {
                Tone::Warn
            } else {
                Tone::Plain
            },
        ),
        row.age
            .map_or_else(|| "-".to_string(), super::model::human_duration)
            .into(),
        revision,
        pod.node.clone().unwrap_or_else(|| "-".to_string()).into(),
        claims,
    ]
}

pub const ROW_HEADERS: [&str; 8] = [
    "pod", "status", "ready", "restarts", "age", "revision", "node", "claims",
];

/// The ordered rows of one set as a kubectl-style table (no rows: empty
/// string); with a limit, the first rows and one line summing up the rest.
pub fn rows_table(
    view: &SetView,
    now: Timestamp,
    limit: Option<usize>,
    styling: Styling,
) -> String {
    let header = view.header();
    let all = view.row_ordinals();
    let total = usize::try_from(all.end - all.start).unwrap_or(0);
    if total == 0 {
        return String::new();
    }
    let shown = limit.map_or(total, |l| l.min(total));
    let shown_end = all.start + i32::try_from(shown).unwrap_or(i32::MAX);
    let cells: Vec<Vec<Styled>> = view
        .rows_in(all.start..shown_end, now)
        .iter()
        .map(|row| row_cells(row, &header))
        .collect();
    let mut text = render_table(&ROW_HEADERS, &cells, styling);
    if shown < total {
        let hidden = shown_end..all.end;
        let ready = view
            .pods_in(hidden.clone())
            .filter(|(_, pod)| pod.ready)
            .count();
        text.push_str(&format!(
            "... {} more ordinals ({}-{}): {ready} Ready\n",
            total - shown,
            hidden.start,
            hidden.end - 1
        ));
    }
    text
}

/// The header and rows of one set, as printed at the start and end of a log.
pub fn snapshot(view: &SetView, now: Timestamp, styling: Styling) -> String {
    let mut text = header_line(&view.header());
    text.push('\n');
    text.push_str(&rows_table(view, now, None, styling));
    text
}

/// The `--until` line: what was still missing, blocking problems first.
pub fn missing_summary(until: UntilCondition, name: &str, missing: &[String]) -> String {
    let goal = match until {
        UntilCondition::Ready => "to be ready",
        UntilCondition::Rolled => "to roll out",
        UntilCondition::Deleted => "to be deleted",
    };
    let details: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!(
        "waiting for statefulset {name} {goal}: {}",
        details.join("; ")
    )
}

pub fn until_name(until: UntilCondition) -> &'static str {
    match until {
        UntilCondition::Ready => "ready",
        UntilCondition::Rolled => "rolled",
        UntilCondition::Deleted => "deleted",
    }
}

/// One `-o json` line per transition.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionRecord {
    pub time: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub namespace: String,
    pub stateful_set: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordinal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub problem: bool,
    pub message: String,
}

impl From<&Transition> for TransitionRecord {
    fn from(transition: &Transition) -> Self {
        let mut record = TransitionRecord {
            time: timestamp(transition.at),
            kind: transition.kind.type_name(),
            namespace: transition.namespace.clone(),
            stateful_set: transition.stateful_set.clone(),
            ordinal: transition.kind.ordinal(),
            pod: transition.pod(),
            claim: transition.kind.claim().map(str::to_string),
            revision: None,
            status: None,
            restarts: None,
            reason: None,
            problem: transition.kind.is_problem(),
            message: transition.to_string(),
        };
        match &transition.kind {
            TransitionKind::PodCreated { revision, .. } => record.revision = revision.clone(),
            TransitionKind::PodRevisionChanged { revision, .. }
            | TransitionKind::RolloutComplete { revision, .. } => {
                record.revision = Some(revision.clone())
            }
            TransitionKind::UpdateRevisionChanged { to, .. } => record.revision = Some(to.clone()),
            TransitionKind::SetCreated { revision, .. } => record.revision = revision.clone(),
            TransitionKind::PodStatus {
                status, restarts, ..
            } => {
                record.status = Some(status.clone());
                record.restarts = Some(*restarts);
            }
            TransitionKind::PodNotReady { status, .. } => record.status = Some(status.clone()),
            TransitionKind::PodTerminating { disruption, .. } => record.reason = disruption.clone(),
            TransitionKind::PodRestarted { restarts, .. } => record.restarts = Some(*restarts),
            TransitionKind::ClaimPending { reason, .. } => {
                record.status = Some("Pending".to_string());
                record.reason = reason.clone();
            }
            TransitionKind::ClaimBound { .. } => record.status = Some("Bound".to_string()),
            TransitionKind::ClaimCreated { phase, .. }
            | TransitionKind::ClaimPhase { phase, .. } => record.status = Some(phase.clone()),
            TransitionKind::Event { reason, .. } => record.reason = Some(reason.clone()),
            _ => {}
        }
        record
    }
}

/// One pod row in a `-o json` state record.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowRecord {
    pub ordinal: i32,
    pub pod: String,
    pub exists: bool,
    pub in_range: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub ready: bool,
    pub restarts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// On status.updateRevision.
    pub updated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub claims: Vec<ClaimRecord>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRecord {
    pub template: String,
    pub name: String,
    /// Pending, Bound, Lost, or Missing when the claim does not exist.
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The whole state of a set, emitted once synced and again at the end.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateRecord {
    pub time: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub namespace: String,
    pub stateful_set: String,
    pub exists: bool,
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub partition: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_revision: Option<String>,
    pub rows: Vec<RowRecord>,
}

impl StateRecord {
    pub fn of(view: &SetView, now: Timestamp) -> Self {
        let header = view.header();
        let rows = view
            .rows(now)
            .into_iter()
            .map(|row| RowRecord {
                ordinal: row.ordinal,
                exists: row.pod.is_some(),
                in_range: row.in_range,
                status: row.pod.as_ref().map(|p| p.status.clone()),
                ready: row.pod.as_ref().is_some_and(|p| p.ready),
                restarts: row.pod.as_ref().map_or(0, |p| p.restarts),
                updated: matches!(row.revision, Some((_, RevisionAge::New))),
                revision: row.revision.map(|(r, _)| r),
                node: row.pod.as_ref().and_then(|p| p.node.clone()),
                claims: row
                    .claims
                    .iter()
                    .map(|(template, claim)| ClaimRecord {
                        template: template.clone(),
                        name: crate::sts::claim_name(template, view.name(), row.ordinal),
                        phase: claim
                            .as_ref()
                            .map_or_else(|| "Missing".to_string(), |c| c.phase.clone()),
                        reason: claim.as_ref().and_then(|c| c.pending_reason.clone()),
                    })
                    .collect(),
                pod: row.pod_name,
            })
            .collect();
        StateRecord {
            time: timestamp(now),
            kind: "state",
            namespace: header.namespace,
            stateful_set: header.name,
            exists: header.exists,
            desired: header.desired,
            ready: header.ready,
            updated: header.updated,
            partition: header.partition,
            current_revision: header.current_revision,
            update_revision: header.update_revision,
            rows,
        }
    }
}

/// How an `--until` ended, as the last `-o json` line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRecord {
    pub time: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub until: &'static str,
    pub met: bool,
    pub missing: Vec<String>,
}

/// One compact JSON line.
pub fn json_line<T: Serialize>(value: &T) -> crate::error::Result<String> {
    let mut text = serde_json::to_string(value)
        .map_err(|e| crate::error::Error::Failed(format!("cannot encode output as JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Cut a line to `width` visible characters, keeping colour codes intact.
pub fn truncate_visible(line: &str, width: usize) -> String {
    let mut out = String::with_capacity(line.len());
    let mut visible = 0;
    let mut chars = line.chars().peekable();
    let mut cut = false;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            out.push(c);
            // Copy the whole CSI sequence: ESC [ params final-byte.
            while let Some(&next) = chars.peek() {
                out.push(next);
                chars.next();
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        if visible == width {
            cut = true;
            break;
        }
        out.push(c);
        visible += 1;
    }
    if cut && out.contains('\u{1b}') {
        out.push_str("\u{1b}[0m");
    }
    out
}

/// The full-screen frame: each set's header and rows, then the latest log
/// lines that fit, cut to the terminal's size.
pub fn frame<'a>(
    views: impl Iterator<Item = &'a SetView>,
    log: &[String],
    status_line: &str,
    now: Timestamp,
    (width, height): (u16, u16),
    styling: Styling,
) -> Vec<String> {
    let width = usize::from(width.max(20));
    let height = usize::from(height.max(5));
    let mut lines = vec![paint(status_line, Tone::Dim, styling)];
    let views: Vec<&SetView> = views.collect();
    // Keep at least a third of the screen for the log.
    let table_budget = (height * 2 / 3).saturating_sub(1 + 2 * views.len()).max(1);
    let per_set = (table_budget / views.len().max(1)).max(1);
    for view in &views {
        lines.push(String::new());
        lines.push(header_line(&view.header()));
        let table = rows_table(view, now, Some(per_set.saturating_sub(2).max(1)), styling);
        lines.extend(table.lines().map(str::to_string));
    }
    lines.push(String::new());
    let room = height.saturating_sub(lines.len());
    let start = log.len().saturating_sub(room);
    lines.extend(log[start..].iter().cloned());
    lines.truncate(height);
    lines
        .into_iter()
        .map(|line| truncate_visible(&line, width))
        .collect()
}

#[cfg(test)]
mod tests;
