//! The partition plan: which partition each canary step writes and which
//! ordinals it updates. Pure.
//!
//! The StatefulSet controller updates every pod whose index (ordinal minus
//! `spec.ordinals.start`) is at or above the partition, highest first. Step k
//! of a canary over R replicas that should run n(k) updated pods therefore
//! writes partition R - n(k). Before the first step the partition is raised to
//! R (the gate), so no pod changes before the canary is in control.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How a canary moves pods to the new revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// RollingUpdate: the canary lowers the partition, the controller replaces the pods.
    #[default]
    Partition,
    /// OnDelete (`--on-delete`): the controller only recreates deleted pods, so
    /// the canary deletes them itself, highest ordinal first.
    OnDelete,
}

/// One entry of `--steps`: a pod count or a percentage of the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepSize {
    Pods(u32),
    Percent(u32),
}

impl fmt::Display for StepSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepSize::Pods(n) => write!(f, "{n}"),
            StepSize::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl StepSize {
    /// Pods updated at this step: percentages round up, and any non-zero step
    /// updates at least one pod (3 replicas at 20% updates 1, not 0).
    pub fn pods(self, replicas: u32) -> u32 {
        let pods = match self {
            StepSize::Pods(n) => n,
            StepSize::Percent(p) => (u64::from(p) * u64::from(replicas)).div_ceil(100) as u32,
        };
        pods.clamp(1, replicas.max(1))
    }
}

/// The steps when none are given: one pod, half, all.
pub const DEFAULT_STEPS: &str = "1,50%,100%";

/// Parse `--steps` (`1,25%,50%,100%`): rising, non-zero, percentages at most 100.
pub fn parse_steps(text: &str) -> Result<Vec<StepSize>, String> {
    let mut steps = Vec::new();
    for raw in text.split(',') {
        let item = raw.trim();
        if item.is_empty() {
            return Err(format!(
                "invalid --steps \"{text}\": empty entry; use pod counts or percentages, e.g. 1,25%,100%"
            ));
        }
        let step = if let Some(percent) = item.strip_suffix('%') {
            let value: u32 = percent.trim().parse().map_err(|_| {
                format!("invalid --steps \"{text}\": \"{item}\" is not a percentage like 25%")
            })?;
            if value == 0 || value > 100 {
                return Err(format!(
                    "invalid --steps \"{text}\": {item} is out of range; use percentages from 1% to 100%"
                ));
            }
            StepSize::Percent(value)
        } else {
            let value: u32 = item.parse().map_err(|_| {
                format!(
                    "invalid --steps \"{text}\": \"{item}\" is neither a pod count nor a percentage; use e.g. 1,25%,100%"
                )
            })?;
            if value == 0 {
                return Err(format!(
                    "invalid --steps \"{text}\": a step of 0 pods updates nothing; start at 1 or more"
                ));
            }
            StepSize::Pods(value)
        };
        steps.push(step);
    }
    Ok(steps)
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStep {
    /// As the user wrote it (`25%`), or `100%` for the implied last step.
    pub size: String,
    pub updated_pods: u32,
    pub partition: u32,
    /// Ordinals on the new revision once this step is done.
    pub ordinals: Range<i32>,
}

/// The whole plan for a set of `replicas` pods starting at `ordinal_start`.
pub fn plan(
    steps: &[StepSize],
    replicas: u32,
    ordinal_start: i32,
) -> Result<Vec<PlannedStep>, String> {
    if replicas == 0 {
        return Err(
            "the StatefulSet has 0 replicas: there is no pod to canary; scale it up first"
                .to_string(),
        );
    }
    let mut planned: Vec<PlannedStep> = Vec::new();
    let mut previous: Option<(StepSize, u32)> = None;
    let with_final = steps
        .iter()
        .copied()
        .chain(std::iter::once(StepSize::Percent(100)));
    for (index, step) in with_final.enumerate() {
        let is_implied_final = index == steps.len();
        let pods = step.pods(replicas);
        if let Some((previous_step, previous_pods)) = previous {
            if pods < previous_pods && !is_implied_final {
                return Err(format!(
                    "--steps must rise: {step} ({pods} of {replicas} pods) comes after {previous_step} ({previous_pods} pods)"
                ));
            }
            if pods == previous_pods {
                // Rounding (or an explicit 100%) made two steps equal: one write is enough.
                previous = Some((step, pods));
                continue;
            }
        }
        let partition = replicas - pods;
        let ordinal_end = ordinal_start + replicas as i32;
        planned.push(PlannedStep {
            size: step.to_string(),
            updated_pods: pods,
            partition,
            ordinals: ordinal_start + partition as i32..ordinal_end,
        });
        previous = Some((step, pods));
    }
    Ok(planned)
}

/// Human text of a plan, shown before anything changes.
pub fn describe(plan: &[PlannedStep], replicas: u32, set_name: &str, mode: Mode) -> String {
    if mode == Mode::OnDelete {
        return describe_on_delete(plan, replicas, set_name);
    }
    let mut text = format!(
        "Plan for statefulset {set_name} ({replicas} replicas):\n  gate: partition {replicas} (no pod updates yet)\n"
    );
    for (index, step) in plan.iter().enumerate() {
        let ordinals: Vec<String> = step
            .ordinals
            .clone()
            .rev()
            .map(|o| format!("{set_name}-{o}"))
            .collect();
        text.push_str(&format!(
            "  step {}: {:>4} -> partition {}, {} updated: {}\n",
            index + 1,
            step.size,
            step.partition,
            step.updated_pods,
            ordinals.join(", ")
        ));
    }
    text
}

/// The plan of an OnDelete canary: which pods each step deletes.
fn describe_on_delete(plan: &[PlannedStep], replicas: u32, set_name: &str) -> String {
    let mut text = format!(
        "Plan for statefulset {set_name} ({replicas} replicas, OnDelete):\n  the template changes first; no pod is replaced until the canary deletes it\n"
    );
    let mut done = None;
    for (index, step) in plan.iter().enumerate() {
        let deleted: Vec<String> = step
            .ordinals
            .clone()
            .rev()
            .filter(|o| done.as_ref().is_none_or(|d: &Range<i32>| !d.contains(o)))
            .map(|o| format!("{set_name}-{o}"))
            .collect();
        text.push_str(&format!(
            "  step {}: {:>4} -> delete {} one at a time ({} updated in all)\n",
            index + 1,
            step.size,
            deleted.join(", "),
            step.updated_pods,
        ));
        done = Some(step.ordinals.clone());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partitions(steps: &str, replicas: u32) -> Vec<u32> {
        plan(&parse_steps(steps).unwrap(), replicas, 0)
            .unwrap()
            .iter()
            .map(|s| s.partition)
            .collect()
    }

    #[test]
    fn five_replicas_at_1_60_100_write_4_2_0() {
        assert_eq!(partitions("1,60%,100%", 5), vec![4, 2, 0]);
        let steps = plan(&parse_steps("1,60%").unwrap(), 5, 0).unwrap();
        assert_eq!(steps[0].ordinals, 4..5);
        assert_eq!(steps[1].ordinals, 2..5);
        assert_eq!(
            steps.last().map(|s| s.partition),
            Some(0),
            "100% is implied"
        );
    }

    #[test]
    fn percentages_round_up_and_never_update_zero_pods() {
        assert_eq!(StepSize::Percent(20).pods(3), 1);
        assert_eq!(StepSize::Percent(50).pods(3), 2);
        assert_eq!(StepSize::Percent(1).pods(1000), 10);
        assert_eq!(StepSize::Percent(1).pods(5), 1);
        assert_eq!(
            StepSize::Pods(9).pods(3),
            3,
            "a count above replicas updates them all"
        );
    }

    #[test]
    fn the_default_plan_on_three_replicas() {
        assert_eq!(partitions("1,50%,100%", 3), vec![2, 1, 0]);
        assert_eq!(
            partitions("1,50%,100%", 2),
            vec![1, 0],
            "1 and 50% of 2 are the same step"
        );
        assert_eq!(partitions("1,50%", 1), vec![0]);
    }

    #[test]
    fn steps_must_rise() {
        let err = plan(&parse_steps("50%,1").unwrap(), 10, 0).unwrap_err();
        assert!(err.contains("must rise"), "{err}");
        assert!(plan(&parse_steps("3,2").unwrap(), 10, 0).is_err());
    }

    #[test]
    fn bad_step_lists_are_explained() {
        assert!(parse_steps("").unwrap_err().contains("empty entry"));
        assert!(parse_steps("1,,2").unwrap_err().contains("empty entry"));
        assert!(parse_steps("0,50%").unwrap_err().contains("0 pods"));
        assert!(parse_steps("150%").unwrap_err().contains("out of range"));
        assert!(parse_steps("ten").unwrap_err().contains("neither"));
        assert!(parse_steps("5x%").unwrap_err().contains("percentage"));
    }

    #[test]
    fn zero_replicas_are_refused() {
        assert!(
            plan(&[StepSize::Pods(1)], 0, 0)
                .unwrap_err()
                .contains("0 replicas")
        );
    }

    #[test]
    fn ordinals_follow_spec_ordinals_start() {
        let steps = plan(&[StepSize::Pods(1)], 3, 10).unwrap();
        assert_eq!(steps[0].ordinals, 12..13);
        assert_eq!(steps[1].ordinals, 10..13);
    }

    #[test]
    fn the_plan_names_the_pods_each_step_updates() {
        let steps = plan(&parse_steps("1,60%").unwrap(), 5, 0).unwrap();
        let text = describe(&steps, 5, "web", Mode::Partition);
        assert!(text.contains("gate: partition 5"), "{text}");
        assert!(text.contains("partition 4, 1 updated: web-4"), "{text}");
        assert!(
            text.contains("partition 2, 3 updated: web-4, web-3, web-2"),
            "{text}"
        );
    }

    #[test]
    fn an_on_delete_plan_names_the_pods_each_step_deletes() {
        let steps = plan(&parse_steps("1,60%").unwrap(), 5, 0).unwrap();
        let text = describe(&steps, 5, "web", Mode::OnDelete);
        assert!(text.contains("OnDelete"), "{text}");
        assert!(text.contains("step 1:    1 -> delete web-4 one"), "{text}");
        assert!(
            text.contains("step 2:  60% -> delete web-3, web-2 one at a time (3 updated"),
            "{text}"
        );
        assert!(
            text.contains("step 3: 100% -> delete web-1, web-0 one"),
            "{text}"
        );
    }
}
