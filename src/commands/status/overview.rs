//! `status` without a NAME: one row per StatefulSet and the checks that fail
//! or warn, read at the cost of a `kubectl get` (see [`super::snapshot::fetch_overview`]).
//! A set's identity and storage tables are for `status NAME` (or `--details`).

use serde::Serialize;

use super::checks::{Check, Severity};
use super::render::{paint, severity_tone};
use super::report::{self, Replicas, Rollout, RolloutState, Settings, StatusReport};
use super::snapshot::{Related, Snapshot};
use crate::output::{Styled, Styling, Tone, render_table};

/// One set in the overview.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetOverview {
    pub namespace: String,
    pub name: String,
    pub replicas: Replicas,
    pub rollout: Rollout,
    /// The governing Service, as `status NAME` shows it in one line.
    pub service: String,
    /// False when the set's own status showed every replica Ready on its one
    /// revision, so its pods were not read.
    pub pods_read: bool,
    pub checks: Vec<Check>,
}

impl SetOverview {
    pub fn of(report: StatusReport, pods_read: bool) -> Self {
        let identity = &report.identity;
        let service = match (&identity.service_name, &identity.service) {
            (None, _) => "none".to_string(),
            (Some(name), None) => format!("{name} (missing)"),
            (Some(name), Some(service)) if !service.headless => format!("{name} (not headless)"),
            (Some(name), Some(service)) if !service.selects_pods => {
                format!("{name} (selects no pods)")
            }
            (Some(name), Some(_)) => name.clone(),
        };
        SetOverview {
            namespace: report.namespace,
            name: report.name,
            replicas: report.replicas,
            rollout: report.update.rollout,
            service,
            pods_read,
            checks: report.checks,
        }
    }
}

/// One row per set of the snapshot, in namespace/name order.
pub fn overviews(snapshot: &Snapshot, settings: &Settings) -> Vec<SetOverview> {
    let mut sets: Vec<SetOverview> = snapshot
        .inventory
        .statefulsets
        .iter()
        .map(|set| {
            let related = Related::gather(set, snapshot);
            SetOverview::of(report::build(&related, settings), related.pods_read)
        })
        .collect();
    sets.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    sets
}

fn rollout_cell(rollout: &Rollout) -> Styled {
    let tone = match rollout.state {
        RolloutState::Complete => Tone::Good,
        RolloutState::InProgress => Tone::Warn,
        RolloutState::Stalled => Tone::Bad,
    };
    let text = match (&rollout.pod, rollout.state) {
        (Some(pod), RolloutState::Stalled) => format!("{} at {pod}", rollout.state.as_str()),
        (Some(pod), _) => format!("{}, waiting for {pod}", rollout.state.as_str()),
        _ => rollout.state.as_str().to_string(),
    };
    Styled::new(text, tone)
}

/// FAIL and WARN check ids, worst first; "ok" when there are none.
fn checks_cell(checks: &[Check]) -> Styled {
    let shown: Vec<&Check> = checks
        .iter()
        .filter(|c| c.severity != Severity::Info)
        .collect();
    let Some(worst) = shown.iter().map(|c| c.severity).min() else {
        return Styled::new("ok", Tone::Good);
    };
    let text = shown
        .iter()
        .map(|c| format!("{} {}", c.severity.as_str(), c.id.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    Styled::new(text, severity_tone(worst))
}

/// A finding on more sets than this names the first few and counts the rest.
const GROUP_ABOVE: usize = 3;

/// The overview table, then one line per failing or warning finding.
pub fn render(sets: &[SetOverview], with_namespace: bool, styling: Styling) -> String {
    let mut headers = vec![
        "name",
        "ready",
        "up-to-date",
        "rollout",
        "service",
        "checks",
    ];
    if with_namespace {
        headers.insert(0, "namespace");
    }
    let rows: Vec<Vec<Styled>> = sets
        .iter()
        .map(|set| {
            let r = &set.replicas;
            let ready_tone = if r.ready == r.desired {
                Tone::Plain
            } else {
                Tone::Warn
            };
            let mut row = vec![
                set.name.clone().into(),
                Styled::new(format!("{}/{}", r.ready, r.desired), ready_tone),
                r.updated.to_string().into(),
                rollout_cell(&set.rollout),
                set.service.clone().into(),
                checks_cell(&set.checks),
            ];
            if with_namespace {
                row.insert(0, set.namespace.clone().into());
            }
            row
        })
        .collect();
    let mut out = render_table(&headers, &rows, styling);
    // The same finding on many sets (no PDB anywhere, say) is one line.
    let mut findings: Vec<(&Check, Vec<String>)> = Vec::new();
    for set in sets {
        for check in set.checks.iter().filter(|c| c.severity != Severity::Info) {
            let at = format!("{}/{}", set.namespace, set.name);
            match findings
                .iter_mut()
                .find(|(seen, _)| (seen.id, &seen.summary) == (check.id, &check.summary))
            {
                Some((_, places)) => places.push(at),
                None => findings.push((check, vec![at])),
            }
        }
    }
    findings.sort_by_key(|(check, _)| check.severity);
    if !findings.is_empty() {
        out.push('\n');
    }
    for (check, places) in &findings {
        let tone = severity_tone(check.severity);
        let at = match places.as_slice() {
            [one] => one.clone(),
            few if few.len() <= GROUP_ABOVE => few.join(", "),
            many => format!(
                "{} sets ({} and {} more)",
                many.len(),
                many[..GROUP_ABOVE].join(", "),
                many.len() - GROUP_ABOVE
            ),
        };
        out.push_str(&format!(
            "{} {} {}: {}\n",
            paint(check.severity.as_str(), tone, styling),
            at,
            paint(check.id.as_str(), tone, styling),
            check.summary
        ));
    }
    out.push_str(&format!(
        "\n{}\n",
        paint(
            "`kubectl sts status NAME` shows a set's pods, DNS names, storage and how to fix each check; --details shows that for every set.",
            Tone::Dim,
            styling
        )
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::status::snapshot::Examined;
    use crate::commands::status::test_support::*;

    fn overview_of(mut snapshot: Snapshot) -> Vec<SetOverview> {
        snapshot.examined = Examined::Unsettled;
        overviews(&snapshot, &settings_at(NOW))
    }

    #[test]
    fn a_settled_set_is_complete_without_its_pods_and_passes() {
        let mut snapshot = fixture("web.yaml");
        // What the overview has of a settled set: no pods, claim metadata only.
        snapshot.inventory.pods.clear();
        for claim in &mut snapshot.inventory.claims {
            claim.spec = None;
            claim.status = None;
        }
        let overview = overview_of(snapshot);
        assert!(!overview[0].pods_read);
        assert_eq!(overview[0].rollout.state, RolloutState::Complete);
        assert_eq!(overview[0].service, "headless-svc");
        let text = render(&overview, false, Styling::plain());
        assert!(
            text.starts_with(
                "NAME   READY   UP-TO-DATE   ROLLOUT    SERVICE        CHECKS\nweb    3/3     3            complete   headless-svc   ok\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_stalled_set_is_read_in_full_and_its_failures_are_listed() {
        let overview = overview_of(fixture("crash-stalled.yaml"));
        assert!(overview[0].pods_read);
        assert_eq!(overview[0].rollout.state, RolloutState::Stalled);
        let text = render(&overview, true, Styling::plain());
        assert!(text.contains("stalled at web-2"), "{text}");
        assert!(text.contains("FAIL update-stalled"), "{text}");
        assert!(
            text.contains("\nFAIL default/web update-stalled: "),
            "{text}"
        );
        assert!(text.starts_with("NAMESPACE   NAME"), "{text}");
    }

    #[test]
    fn a_finding_shared_by_many_sets_is_one_line() {
        let mut snapshot = fixture("redis.yaml");
        let set = snapshot.inventory.statefulsets[0].clone();
        for n in 1..6 {
            let mut copy = set.clone();
            copy.metadata.name = Some(format!("redis-{n}"));
            snapshot.inventory.statefulsets.push(copy);
        }
        let text = render(&overview_of(snapshot), false, Styling::plain());
        assert!(
            text.contains("\nWARN 6 sets (default/redis-1, default/redis-2, default/redis-3 and 3 more) no-pdb: no PodDisruptionBudget covers the pods\n"),
            "{text}"
        );
    }

    #[test]
    fn a_service_that_is_not_headless_shows_in_the_row() {
        let overview = overview_of(fixture("redis.yaml"));
        assert_eq!(overview[0].service, "redis-svc (not headless)");
        let cell = checks_cell(&overview[0].checks);
        assert!(
            cell.text.starts_with("FAIL service-not-headless"),
            "{}",
            cell.text
        );
        assert!(cell.text.contains("WARN no-pdb"), "{}", cell.text);
        assert_eq!(cell.tone, Tone::Bad);
    }
}
