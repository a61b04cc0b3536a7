//! The terminal view of a [`StatusReport`]: a header block, then Identity,
//! Storage and Checks sections.

use owo_colors::OwoColorize;

use super::checks::Severity;
use super::report::{EndpointState, PodIdentity, RolloutState, StatusReport};
use crate::output::{Styled, Styling, Tone, render_table};

/// Colour a run of text by what it means (tables colour their own cells).
pub(super) fn paint(text: &str, tone: Tone, styling: Styling) -> String {
    if !styling.color {
        return text.to_string();
    }
    match tone {
        Tone::Plain => text.to_string(),
        Tone::Good => text.green().to_string(),
        Tone::Warn => text.yellow().to_string(),
        Tone::Bad => text.red().to_string(),
        Tone::Dim => text.dimmed().to_string(),
    }
}

pub(super) fn severity_tone(severity: Severity) -> Tone {
    match severity {
        Severity::Fail => Tone::Bad,
        Severity::Warn => Tone::Warn,
        Severity::Info => Tone::Dim,
    }
}

fn pod_status(pod: &PodIdentity) -> Styled {
    if !pod.exists {
        return Styled::new("missing", Tone::Bad);
    }
    if pod.terminating {
        return Styled::new("Terminating", Tone::Warn);
    }
    if pod.ready {
        return Styled::new("Ready", Tone::Good);
    }
    let phase = pod.phase.as_deref().unwrap_or("Pending");
    let tone = if pod.trouble.is_some() {
        Tone::Bad
    } else {
        Tone::Warn
    };
    Styled::new(format!("{phase}, not ready"), tone)
}

fn endpoint_cell(state: EndpointState) -> Styled {
    let tone = match state {
        EndpointState::Ready => Tone::Good,
        EndpointState::NotReady | EndpointState::Terminating => Tone::Warn,
        EndpointState::Absent => Tone::Bad,
        EndpointState::Unknown => Tone::Dim,
    };
    Styled::new(state.as_str(), tone)
}

fn field(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!("{:<13}{value}\n", format!("{label}:")));
}

/// One set's report as text.
pub fn report(report: &StatusReport, styling: Styling) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{}\n",
        paint(
            &format!("StatefulSet {}/{}", report.namespace, report.name),
            Tone::Plain,
            styling
        )
    ));
    let r = &report.replicas;
    field(
        &mut out,
        "Replicas",
        &format!(
            "{} desired | {} existing | {} ready | {} available | {} updated | {} current",
            r.desired, r.existing, r.ready, r.available, r.updated, r.current
        ),
    );
    let update = &report.update;
    let mut strategy = update.strategy.clone();
    if let Some(partition) = update.partition {
        strategy.push_str(&format!(", partition {partition}"));
    }
    if let Some(max) = &update.max_unavailable {
        strategy.push_str(&format!(", maxUnavailable {max}"));
    }
    field(&mut out, "Update", &strategy);
    field(
        &mut out,
        "Revisions",
        &format!(
            "current {}, update {}",
            update.current_revision.as_deref().unwrap_or("-"),
            update.update_revision.as_deref().unwrap_or("-")
        ),
    );
    let rollout = &update.rollout;
    let tone = match rollout.state {
        RolloutState::Complete => Tone::Good,
        RolloutState::InProgress => Tone::Warn,
        RolloutState::Stalled => Tone::Bad,
    };
    let mut rollout_text = format!(
        "{} ({})",
        paint(rollout.state.as_str(), tone, styling),
        rollout.message
    );
    if let Some(pod) = &rollout.pod {
        match (&rollout.reason, rollout.state) {
            (Some(reason), RolloutState::Stalled) => {
                rollout_text.push_str(&format!(", blocked by {pod}: {reason}"))
            }
            (Some(reason), _) => rollout_text.push_str(&format!(", waiting for {pod}: {reason}")),
            (None, _) => rollout_text.push_str(&format!(", waiting for {pod}")),
        }
    }
    field(&mut out, "Rollout", &rollout_text);
    field(&mut out, "Pod policy", &report.pod_management_policy);
    field(
        &mut out,
        "Retention",
        &format!(
            "whenDeleted {}, whenScaled {}",
            report.retention_policy.when_deleted, report.retention_policy.when_scaled
        ),
    );
    let identity = &report.identity;
    let service_text = match (&identity.service_name, &identity.service) {
        (None, _) => paint("none (spec.serviceName is empty)", Tone::Warn, styling),
        (Some(name), None) => paint(&format!("{name} (missing)"), Tone::Bad, styling),
        (Some(name), Some(service)) => {
            let kind = if service.headless {
                paint("headless", Tone::Good, styling)
            } else {
                paint(
                    &format!(
                        "{} {}, not headless",
                        service.type_,
                        service.cluster_ip.as_deref().unwrap_or("")
                    ),
                    Tone::Bad,
                    styling,
                )
            };
            let selector = match &service.selector {
                Some(selector) if service.selects_pods => format!("selector {selector}"),
                Some(selector) => paint(
                    &format!("selector {selector} does not select the pods"),
                    Tone::Bad,
                    styling,
                ),
                None => paint("no selector", Tone::Bad, styling),
            };
            format!("{name} ({kind}; {selector})")
        }
    };
    field(&mut out, "Service", &service_text);
    if let Some(budgets) = &report.disruption_budgets {
        let budget_text = if budgets.is_empty() {
            paint("none", Tone::Warn, styling)
        } else {
            budgets
                .iter()
                .map(|b| {
                    let allowed = format!("{} disruption(s) allowed now", b.disruptions_allowed);
                    let tone = if b.disruptions_allowed > 0 {
                        Tone::Good
                    } else {
                        Tone::Warn
                    };
                    format!(
                        "{} ({}): {} ({} healthy, {} needed)",
                        b.name,
                        b.rule,
                        paint(&allowed, tone, styling),
                        b.current_healthy,
                        b.desired_healthy
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        field(&mut out, "Budget", &budget_text);
    }

    out.push_str("\nIdentity\n");
    let rows: Vec<Vec<Styled>> = identity
        .pods
        .iter()
        .map(|pod| {
            let mut name = pod.pod.clone();
            if pod.condemned {
                name.push_str(" (scaling away)");
            }
            vec![
                name.into(),
                pod_status(pod),
                pod.restarts.to_string().into(),
                Styled::new(
                    pod.revision.clone().unwrap_or_else(|| "-".into()),
                    Tone::Plain,
                ),
                pod.hostname.clone().into(),
                pod.dns_name.clone().unwrap_or_else(|| "-".into()).into(),
                endpoint_cell(pod.endpoint),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &[
            "pod", "status", "restarts", "revision", "hostname", "dns name", "endpoint",
        ],
        &rows,
        styling,
    ));

    out.push_str("\nStorage\n");
    if report.storage.templates.is_empty() {
        out.push_str("no volumeClaimTemplates\n");
    } else {
        let rows: Vec<Vec<Styled>> = report
            .storage
            .templates
            .iter()
            .map(|t| {
                let class = match (&t.storage_class, &t.effective_class) {
                    (Some(class), _) if class.is_empty() => "\"\" (static only)".to_string(),
                    (Some(class), _) => class.clone(),
                    (None, Some(default)) => format!("{default} (default)"),
                    (None, None) => "(default: none)".to_string(),
                };
                let tone = if t.class_exists == Some(false) {
                    Tone::Bad
                } else {
                    Tone::Plain
                };
                vec![
                    t.name.clone().into(),
                    Styled::new(class, tone),
                    t.provisioner.clone().unwrap_or_else(|| "-".into()).into(),
                    t.access_modes.join(",").into(),
                    t.request.clone().unwrap_or_else(|| "-".into()).into(),
                ]
            })
            .collect();
        out.push_str(&render_table(
            &[
                "template",
                "storage class",
                "provisioner",
                "access modes",
                "request",
            ],
            &rows,
            styling,
        ));
        if !report.storage.claims.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<Styled>> = report
                .storage
                .claims
                .iter()
                .map(|c| {
                    let phase = c.phase.clone().unwrap_or_else(|| "-".into());
                    let tone = match phase.as_str() {
                        "Bound" => Tone::Good,
                        "Pending" => Tone::Warn,
                        _ => Tone::Bad,
                    };
                    let mut name = c.name.clone();
                    if c.orphaned {
                        name.push_str(" (orphaned)");
                    }
                    vec![
                        name.into(),
                        Styled::new(phase, tone),
                        c.storage_class.clone().unwrap_or_else(|| "-".into()).into(),
                        c.volume.clone().unwrap_or_else(|| "-".into()).into(),
                    ]
                })
                .collect();
            out.push_str(&render_table(
                &["claim", "status", "storage class", "volume"],
                &rows,
                styling,
            ));
        }
    }

    out.push_str("\nChecks\n");
    if report.checks.is_empty() {
        out.push_str(&format!(
            "{}\n",
            paint("all checks passed", Tone::Good, styling)
        ));
    }
    for check in &report.checks {
        let tone = severity_tone(check.severity);
        out.push_str(&format!(
            "{} {} {}\n",
            paint(check.severity.as_str(), tone, styling),
            paint(check.id.as_str(), tone, styling),
            check.summary
        ));
        out.push_str(&format!("     {}\n", check.explanation));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("     fix: {fix}\n"));
        }
    }
    out
}

/// Several reports, separated by a blank line.
pub fn reports(reports: &[StatusReport], styling: Styling) -> String {
    reports
        .iter()
        .map(|r| report(r, styling))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::status::test_support::*;

    #[test]
    fn the_terminal_view_has_every_section() {
        let text = report(&report_of(&fixture("web.yaml")), Styling::plain());
        assert!(text.starts_with("StatefulSet default/web\n"), "{text}");
        assert!(
            text.contains("Replicas:    3 desired | 3 existing | 3 ready"),
            "{text}"
        );
        assert!(text.contains("Update:      RollingUpdate, partition 0, maxUnavailable 1"));
        assert!(text.contains("Rollout:     complete (partitioned roll out complete"));
        assert!(text.contains("Service:     headless-svc (headless; selector app=nginx)"));
        assert!(
            text.contains(
                "Budget:      web (maxUnavailable 1): 1 disruption(s) allowed now (3 healthy, 2 needed)\n"
            ),
            "{text}"
        );
        assert!(text.contains("\nIdentity\nPOD     STATUS"), "{text}");
        assert!(
            text.contains("web-2.headless-svc.default.svc.cluster.local   ready"),
            "{text}"
        );
        assert!(text.contains("\nStorage\nTEMPLATE"));
        assert!(text.contains("www-web-0   Bound"), "{text}");
        assert!(text.ends_with("\nChecks\nall checks passed\n"), "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn checks_print_severity_id_explanation_and_fix() {
        let text = report(&report_of(&fixture("redis.yaml")), Styling::plain());
        assert!(
            text.contains("Service:     redis-svc (ClusterIP 10.96.0.20, not headless; selector app=redis-sts)"),
            "{text}"
        );
        assert!(
            text.contains(
                "FAIL service-not-headless governing Service \"redis-svc\" is not headless: it has clusterIP 10.96.0.20\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("     fix: clusterIP cannot be changed in place"),
            "{text}"
        );
        assert!(text.contains("WARN no-pdb no PodDisruptionBudget covers the pods"));
        assert!(text.contains("Budget:      none\n"), "{text}");
    }

    #[test]
    fn a_stalled_rollout_names_its_blocker_and_colours_by_severity() {
        let styling = Styling {
            color: true,
            terminal: true,
        };
        let text = report(&report_of(&fixture("crash-stalled.yaml")), styling);
        assert!(
            text.contains("blocked by web-2: container nginx is CrashLoopBackOff"),
            "{text}"
        );
        assert!(text.contains(&"FAIL".red().to_string()), "{text}");
        let plain = report(&report_of(&fixture("crash-stalled.yaml")), Styling::plain());
        assert!(
            plain.contains("Rollout:     stalled (Waiting for 1 pods to be ready...)"),
            "{plain}"
        );
    }
}
