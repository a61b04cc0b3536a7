//! How volume chains are shown: the table (and `-o wide`), the problem
//! summary under it, the ownership tree, `-o name`, and the stable
//! `VolumeChainList` document for `-o json` / `-o yaml`.

use std::collections::BTreeMap;

use owo_colors::OwoColorize;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::chain::{
    Backend, ProblemKind, Severity, VolumeChain, VolumeLink, access_modes_text, backend,
    claim_phase, node_affinity, reclaim_policy, same_quantity, volume_capacity, volume_phase,
};
use crate::inventory::Lookup;
use crate::output::{Styled, Styling, Tone, render_table};

/// What the cell of an unreadable list says.
const FORBIDDEN: &str = "forbidden";
const NONE: &str = "<none>";

/// How many names a grouped summary line lists before "and N more".
const NAMES_SHOWN: usize = 5;

// ---------------------------------------------------------------- table

/// The table, `wide` adding PROVISIONER and NODE AFFINITY; `namespaces` adds
/// the NAMESPACE column (for -A).
pub fn table(chains: &[VolumeChain<'_>], wide: bool, namespaces: bool, styling: Styling) -> String {
    let mut headers = vec![];
    if namespaces {
        headers.push("namespace");
    }
    headers.extend([
        "pod",
        "pod status",
        "pvc",
        "pvc status",
        "pv",
        "pv status",
        "capacity",
        "access modes",
        "reclaim",
        "storageclass",
    ]);
    if wide {
        headers.push("provisioner");
    }
    headers.push("backend");
    if wide {
        headers.push("node affinity");
    }
    headers.push("problems");

    let rows: Vec<Vec<Styled>> = chains
        .iter()
        .map(|chain| row(chain, wide, namespaces))
        .collect();
    render_table(&headers, &rows, styling)
}

fn row(chain: &VolumeChain<'_>, wide: bool, namespaces: bool) -> Vec<Styled> {
    let mut cells = Vec::new();
    if namespaces {
        cells.push(Styled::from(chain.namespace()));
    }
    let (pod_name, pod_status) = match chain.pod {
        Some(pod) => (chain.pod_name(), pod_status(pod)),
        None => (NONE.to_string(), Styled::from("")),
    };
    cells.push(pod_name.into());
    cells.push(pod_status);

    match chain.claim {
        Some(claim) => {
            cells.push(chain.claim_name.clone().into());
            cells.push(claim_status(claim));
        }
        None => {
            cells.push(Styled::new(
                NONE,
                if chain.orphan { Tone::Plain } else { Tone::Bad },
            ));
            cells.push("".into());
        }
    }

    let volume = chain.volume.volume();
    cells.push(chain.volume_name().unwrap_or_default().into());
    cells.push(match chain.volume {
        VolumeLink::Found(volume) => volume_status(volume),
        VolumeLink::Missing => Styled::new("missing", Tone::Bad),
        VolumeLink::Forbidden if chain.claim.is_some() => Styled::new(FORBIDDEN, Tone::Dim),
        _ => "".into(),
    });

    cells.push(capacity_cell(chain));
    let modes = chain
        .claim
        .and_then(|c| c.status.as_ref())
        .and_then(|s| s.access_modes.as_deref())
        .or_else(|| {
            chain
                .claim
                .and_then(|c| c.spec.as_ref())
                .and_then(|s| s.access_modes.as_deref())
        })
        .unwrap_or_default();
    cells.push(access_modes_text(modes).into());
    cells.push(match chain.volume {
        VolumeLink::Found(volume) => {
            let policy = reclaim_policy(volume).unwrap_or_default();
            Styled::new(
                policy,
                if policy == "Delete" {
                    Tone::Warn
                } else {
                    Tone::Plain
                },
            )
        }
        VolumeLink::Forbidden if chain.claim.is_some() => Styled::new(FORBIDDEN, Tone::Dim),
        _ => "".into(),
    });
    cells.push(chain.storage_class_name.clone().unwrap_or_default().into());
    if wide {
        cells.push(match (&chain.storage_class_name, chain.storage_class) {
            (None, _) => "".into(),
            (Some(_), Lookup::Found(class)) => class.provisioner.clone().into(),
            (Some(_), Lookup::Missing) => Styled::new("<class not found>", Tone::Bad),
            (Some(_), Lookup::Forbidden) => Styled::new(FORBIDDEN, Tone::Dim),
        });
    }
    cells.push(match chain.volume {
        VolumeLink::Found(volume) => backend(volume)
            .map(|b| b.to_string())
            .unwrap_or_default()
            .into(),
        VolumeLink::Forbidden if chain.claim.is_some() => Styled::new(FORBIDDEN, Tone::Dim),
        _ => "".into(),
    });
    if wide {
        cells.push(match chain.volume {
            VolumeLink::Forbidden if chain.claim.is_some() => Styled::new(FORBIDDEN, Tone::Dim),
            _ => volume.and_then(node_affinity).unwrap_or_default().into(),
        });
    }
    cells.push(problem_tags(chain));
    cells
}

/// The pod's phase as kubectl shows it: Terminating once deletion started.
fn pod_status(pod: &k8s_openapi::api::core::v1::Pod) -> Styled {
    if crate::sts::is_pod_terminating(pod) {
        return Styled::new("Terminating", Tone::Warn);
    }
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown");
    let tone = match phase {
        "Running" if crate::sts::is_pod_ready(pod) => Tone::Good,
        "Running" | "Pending" => Tone::Warn,
        "Succeeded" => Tone::Plain,
        _ => Tone::Bad,
    };
    Styled::new(phase, tone)
}

fn claim_status(claim: &k8s_openapi::api::core::v1::PersistentVolumeClaim) -> Styled {
    if claim.metadata.deletion_timestamp.is_some() {
        return Styled::new("Terminating", Tone::Warn);
    }
    let phase = claim_phase(claim).unwrap_or("Pending");
    let tone = match phase {
        "Bound" => Tone::Good,
        "Pending" => Tone::Warn,
        _ => Tone::Bad,
    };
    Styled::new(phase, tone)
}

fn volume_status(volume: &k8s_openapi::api::core::v1::PersistentVolume) -> Styled {
    if volume.metadata.deletion_timestamp.is_some() {
        return Styled::new("Terminating", Tone::Warn);
    }
    let phase = volume_phase(volume).unwrap_or("Pending");
    let tone = match phase {
        "Bound" => Tone::Good,
        "Available" | "Pending" => Tone::Warn,
        _ => Tone::Bad,
    };
    Styled::new(phase, tone)
}

/// The actual capacity, with the request beside it when they differ.
fn capacity_cell(chain: &VolumeChain<'_>) -> Styled {
    let requested = chain.requested();
    match (chain.capacity(), requested) {
        (Some(actual), Some(requested)) if !same_quantity(actual, &requested) => {
            Styled::new(format!("{} (req {})", actual.0, requested.0), Tone::Warn)
        }
        (Some(actual), _) => actual.0.clone().into(),
        (None, Some(requested)) => requested.0.into(),
        (None, None) => "".into(),
    }
}

/// The PROBLEMS cell: the tags, coloured by the worst severity.
fn problem_tags(chain: &VolumeChain<'_>) -> Styled {
    let tags: Vec<&str> = chain.problems.iter().map(|p| p.kind.tag()).collect();
    let tone = match chain.problems.iter().map(|p| p.kind.severity()).min() {
        Some(Severity::Error) => Tone::Bad,
        Some(Severity::Warning) => Tone::Warn,
        None => Tone::Plain,
    };
    Styled::new(tags.join(","), tone)
}

// ---------------------------------------------------------------- summary

/// One line of the summary under the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    pub severity: Severity,
    pub text: String,
}

/// The problems in full, errors first. Orphan claims are grouped per set (one
/// delete command for all of them) and Delete reclaim policies into one line,
/// so a large set does not bury the real trouble.
pub fn summary(chains: &[VolumeChain<'_>]) -> Vec<SummaryLine> {
    let mut lines = Vec::new();
    let mut orphans: BTreeMap<(&str, &str), Vec<&VolumeChain<'_>>> = BTreeMap::new();
    let mut delete_policies: Vec<String> = Vec::new();
    for chain in chains {
        for problem in &chain.problems {
            match problem.kind {
                ProblemKind::Orphan => orphans
                    .entry((chain.namespace(), chain.set_name()))
                    .or_default()
                    .push(chain),
                ProblemKind::ReclaimDelete => {
                    delete_policies.push(chain.volume_name().unwrap_or_default());
                }
                kind => lines.push(SummaryLine {
                    severity: kind.severity(),
                    text: problem.sentence(),
                }),
            }
        }
    }
    for ((namespace, set), group) in orphans {
        if let [single] = group.as_slice()
            && let Some(problem) = single
                .problems
                .iter()
                .find(|p| p.kind == ProblemKind::Orphan)
        {
            lines.push(SummaryLine {
                severity: Severity::Warning,
                text: problem.sentence(),
            });
            continue;
        }
        let names: Vec<&str> = group.iter().map(|c| c.claim_name.as_str()).collect();
        let replicas = group
            .first()
            .map(|c| crate::sts::desired_replicas(c.set))
            .unwrap_or_default();
        lines.push(SummaryLine {
            severity: Severity::Warning,
            text: format!(
                "{} orphan claims of {set} ({}): their ordinals are beyond its {replicas} replicas and the retention policy kept them; scaling up reuses them; to delete them: kubectl delete pvc {} -n {namespace}",
                names.len(),
                abbreviated(&names),
                names.join(" ")
            ),
        });
    }
    match delete_policies.as_slice() {
        [] => {}
        [_] => lines.extend(
            chains
                .iter()
                .flat_map(|c| &c.problems)
                .filter(|p| p.kind == ProblemKind::ReclaimDelete)
                .map(|p| SummaryLine {
                    severity: Severity::Warning,
                    text: p.sentence(),
                }),
        ),
        names => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            lines.push(SummaryLine {
                severity: Severity::Warning,
                text: format!(
                    "{} volumes have reclaim policy Delete ({}): deleting a claim deletes its data; to keep one: kubectl patch pv NAME -p '{{\"spec\":{{\"persistentVolumeReclaimPolicy\":\"Retain\"}}}}'",
                    names.len(),
                    abbreviated(&names)
                ),
            });
        }
    }
    lines.sort_by_key(|line| line.severity);
    lines
}

/// `1 error`, `2 errors`.
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `a, b, c, d, e and 7 more`.
fn abbreviated(names: &[&str]) -> String {
    if names.len() <= NAMES_SHOWN {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..NAMES_SHOWN].join(", "),
        names.len() - NAMES_SHOWN
    )
}

/// The summary as printed under the table; empty when nothing is wrong.
pub fn summary_text(lines: &[SummaryLine], styling: Styling) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let errors = lines
        .iter()
        .filter(|l| l.severity == Severity::Error)
        .count();
    let warnings = lines.len() - errors;
    let mut text = format!(
        "\nProblems ({}, {}):\n",
        counted(errors, "error"),
        counted(warnings, "warning")
    );
    for line in lines {
        let marker = match line.severity {
            Severity::Error => "!",
            Severity::Warning => "-",
        };
        let entry = format!("{marker} {}", line.text);
        if styling.color {
            let coloured = match line.severity {
                Severity::Error => entry.red().to_string(),
                Severity::Warning => entry.yellow().to_string(),
            };
            text.push_str(&coloured);
        } else {
            text.push_str(&entry);
        }
        text.push('\n');
    }
    text
}

// ---------------------------------------------------------------- tree

/// A node of the ownership tree, built apart from its drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub label: String,
    pub tone: Tone,
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    fn leaf(label: impl Into<String>, tone: Tone) -> Self {
        TreeNode {
            label: label.into(),
            tone,
            children: Vec::new(),
        }
    }
}

/// StatefulSet -> pod -> claim -> volume -> backend, one tree per set. Claims
/// without a pod (orphans) hang from the set.
pub fn tree(chains: &[VolumeChain<'_>]) -> Vec<TreeNode> {
    let mut roots: Vec<TreeNode> = Vec::new();
    let mut current: Option<(&str, &str)> = None;
    for chain in chains {
        let key = (chain.namespace(), chain.set_name());
        if current != Some(key) {
            current = Some(key);
            roots.push(TreeNode::leaf(
                format!(
                    "StatefulSet/{}  {}  replicas {}",
                    chain.set_name(),
                    chain.namespace(),
                    crate::sts::desired_replicas(chain.set)
                ),
                Tone::Plain,
            ));
        }
        let Some(root) = roots.last_mut() else {
            continue;
        };
        let claim_node = claim_subtree(chain);
        match chain.pod {
            Some(pod) => {
                let label = format!("Pod/{}  {}", chain.pod_name(), pod_status(pod).text);
                let pod_node = match root.children.iter_mut().find(|n| n.label == label) {
                    Some(node) => node,
                    None => {
                        root.children
                            .push(TreeNode::leaf(label, pod_status(pod).tone));
                        let last = root.children.len() - 1;
                        &mut root.children[last]
                    }
                };
                pod_node.children.push(claim_node);
            }
            None if sts_has_ordinal(chain) => {
                let mut pod_node =
                    TreeNode::leaf(format!("Pod/{}  <missing>", chain.pod_name()), Tone::Warn);
                let label = pod_node.label.clone();
                match root.children.iter_mut().find(|n| n.label == label) {
                    Some(node) => node.children.push(claim_node),
                    None => {
                        pod_node.children.push(claim_node);
                        root.children.push(pod_node);
                    }
                }
            }
            None => root.children.push(claim_node),
        }
    }
    roots
}

fn sts_has_ordinal(chain: &VolumeChain<'_>) -> bool {
    crate::sts::ordinals(chain.set).contains(&chain.ordinal)
}

fn claim_subtree(chain: &VolumeChain<'_>) -> TreeNode {
    let tags: Vec<&str> = chain.problems.iter().map(|p| p.kind.tag()).collect();
    let marker = if tags.is_empty() {
        String::new()
    } else {
        format!("  [{}]", tags.join(","))
    };
    let Some(claim) = chain.claim else {
        return TreeNode::leaf(
            format!(
                "PersistentVolumeClaim/{}  <missing>{marker}",
                chain.claim_name
            ),
            Tone::Bad,
        );
    };
    let status = claim_status(claim);
    let capacity = capacity_cell(chain).text;
    let mut node = TreeNode::leaf(
        format!(
            "PersistentVolumeClaim/{}  {}  {capacity}{marker}",
            chain.claim_name, status.text
        )
        .replace("    ", "  "),
        more_alarming(problem_tags(chain).tone, status.tone),
    );
    match chain.volume {
        VolumeLink::Found(volume) => {
            let name = volume.metadata.name.as_deref().unwrap_or_default();
            let status = volume_status(volume);
            let mut volume_node = TreeNode::leaf(
                format!(
                    "PersistentVolume/{name}  {}  {}  {}",
                    status.text,
                    volume_capacity(volume)
                        .map(|q| q.0.as_str())
                        .unwrap_or_default(),
                    reclaim_policy(volume).unwrap_or_default()
                ),
                status.tone,
            );
            volume_node.children.push(match backend(volume) {
                Some(b) => TreeNode::leaf(b.to_string(), Tone::Plain),
                None => TreeNode::leaf("<no source>", Tone::Dim),
            });
            node.children.push(volume_node);
        }
        VolumeLink::Missing => node.children.push(TreeNode::leaf(
            format!(
                "PersistentVolume/{}  <missing>",
                chain.volume_name().unwrap_or_default()
            ),
            Tone::Bad,
        )),
        VolumeLink::Forbidden => node.children.push(TreeNode::leaf(
            format!(
                "PersistentVolume/{}  {FORBIDDEN}",
                chain.volume_name().unwrap_or_else(|| "?".to_string())
            ),
            Tone::Dim,
        )),
        VolumeLink::Unbound => {}
    }
    node
}

/// The more alarming of two tones.
fn more_alarming(a: Tone, b: Tone) -> Tone {
    let rank = |tone: Tone| match tone {
        Tone::Bad => 3,
        Tone::Warn => 2,
        Tone::Good => 1,
        Tone::Plain | Tone::Dim => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Draw trees as kubectl-tree does: `├─` and `└─`, `│` carrying on.
pub fn tree_text(roots: &[TreeNode], styling: Styling) -> String {
    let mut text = String::new();
    for root in roots {
        push_line(&mut text, "", root, styling);
        draw_children(&mut text, &root.children, "", styling);
    }
    text
}

fn draw_children(text: &mut String, children: &[TreeNode], prefix: &str, styling: Styling) {
    for (index, child) in children.iter().enumerate() {
        let last = index + 1 == children.len();
        let branch = if last { "└─ " } else { "├─ " };
        push_line(text, &format!("{prefix}{branch}"), child, styling);
        let carry = if last { "   " } else { "│  " };
        draw_children(text, &child.children, &format!("{prefix}{carry}"), styling);
    }
}

fn push_line(text: &mut String, prefix: &str, node: &TreeNode, styling: Styling) {
    text.push_str(prefix);
    if styling.color {
        let label = &node.label;
        let coloured = match node.tone {
            Tone::Good => label.green().to_string(),
            Tone::Warn => label.yellow().to_string(),
            Tone::Bad => label.red().to_string(),
            Tone::Dim => label.dimmed().to_string(),
            Tone::Plain => label.to_string(),
        };
        text.push_str(&coloured);
    } else {
        text.push_str(&node.label);
    }
    text.push('\n');
}

// ---------------------------------------------------------------- -o name

/// `persistentvolumeclaim/<name>` for each claim that exists, as `kubectl get -o name`.
pub fn names(chains: &[VolumeChain<'_>]) -> String {
    chains
        .iter()
        .filter(|chain| chain.claim.is_some())
        .map(|chain| format!("persistentvolumeclaim/{}\n", chain.claim_name))
        .collect()
}

// ---------------------------------------------------------------- document

pub const API_VERSION: &str = "kubectl-sts/v1";
pub const KIND: &str = "VolumeChainList";

/// The `-o json` / `-o yaml` document. Field names are a stable interface.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeChainList {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// Resources these credentials could not list (their fields are null).
    pub forbidden: Vec<&'static str>,
    pub items: Vec<VolumeChainItem>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeChainItem {
    pub namespace: String,
    pub stateful_set: String,
    pub ordinal: i32,
    pub template: String,
    pub pod: Option<PodItem>,
    pub claim: Option<ClaimItem>,
    pub volume: Option<VolumeItem>,
    pub orphan: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodItem {
    pub name: String,
    pub uid: Option<String>,
    pub phase: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimItem {
    pub name: String,
    pub uid: Option<String>,
    pub phase: Option<String>,
    pub requested: Option<String>,
    pub capacity: Option<String>,
    pub access_modes: Vec<String>,
    pub storage_class: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeItem {
    pub name: String,
    pub phase: Option<String>,
    pub capacity: Option<String>,
    pub reclaim_policy: Option<String>,
    pub backend: Option<BackendItem>,
    pub node_affinity: Option<String>,
}

/// `{"type": "nfs", "server": ..., "path": ...}`: the type and its fields, flat.
#[derive(Debug)]
pub struct BackendItem(pub Backend);

impl Serialize for BackendItem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.0.fields();
        let mut map = serializer.serialize_map(Some(fields.len() + 1))?;
        map.serialize_entry("type", self.0.type_name())?;
        for (key, value) in &fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

pub fn document(chains: &[VolumeChain<'_>], forbidden: Vec<&'static str>) -> VolumeChainList {
    VolumeChainList {
        api_version: API_VERSION,
        kind: KIND,
        forbidden,
        items: chains.iter().map(item).collect(),
    }
}

fn item(chain: &VolumeChain<'_>) -> VolumeChainItem {
    let pod = chain.pod.map(|pod| PodItem {
        name: chain.pod_name(),
        uid: pod.metadata.uid.clone(),
        phase: pod.status.as_ref().and_then(|s| s.phase.clone()),
    });
    let claim = chain.claim.map(|claim| ClaimItem {
        name: chain.claim_name.clone(),
        uid: claim.metadata.uid.clone(),
        phase: claim_phase(claim).map(str::to_string),
        requested: chain.requested().map(|q| q.0),
        capacity: chain.capacity().map(|q| q.0.clone()),
        access_modes: claim
            .status
            .as_ref()
            .and_then(|s| s.access_modes.clone())
            .or_else(|| claim.spec.as_ref().and_then(|s| s.access_modes.clone()))
            .unwrap_or_default(),
        storage_class: chain.storage_class_name.clone(),
    });
    let volume = match chain.volume {
        VolumeLink::Found(volume) => Some(VolumeItem {
            name: volume.metadata.name.clone().unwrap_or_default(),
            phase: volume_phase(volume).map(str::to_string),
            capacity: volume_capacity(volume).map(|q| q.0.clone()),
            reclaim_policy: reclaim_policy(volume).map(str::to_string),
            backend: backend(volume).map(BackendItem),
            node_affinity: node_affinity(volume),
        }),
        // Known by name only: the claim names it, the volume cannot be read.
        VolumeLink::Missing | VolumeLink::Forbidden => chain.volume_name().map(|name| VolumeItem {
            name,
            phase: None,
            capacity: None,
            reclaim_policy: None,
            backend: None,
            node_affinity: None,
        }),
        VolumeLink::Unbound => None,
    };
    VolumeChainItem {
        namespace: chain.namespace().to_string(),
        stateful_set: chain.set_name().to_string(),
        ordinal: chain.ordinal,
        template: chain.template.clone(),
        pod,
        claim,
        volume,
        orphan: chain.orphan,
        problems: chain.problems.iter().map(|p| p.sentence()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::chain::build_chains;
    use super::super::chain::tests::{BOUND_NFS, ORPHANS, STATIC_PENDING, inventory};
    use super::*;
    use crate::inventory::Listing;

    #[test]
    fn the_table_shows_each_link_and_flags_orphans() {
        let inventory = inventory(ORPHANS);
        let chains = build_chains(&inventory);
        let text = table(&chains, false, false, Styling::plain());
        let expected = "\
POD      POD STATUS   PVC         PVC STATUS   PV     PV STATUS   CAPACITY   ACCESS MODES   RECLAIM   STORAGECLASS   BACKEND               PROBLEMS
web-0    Running      www-web-0   Bound        pv-0   Bound       1Gi        RWO            Retain                   hostPath /data/pv-0
<none>                www-web-1   Bound        pv-1   Bound       1Gi        RWO            Retain                   hostPath /data/pv-1   orphan
<none>                www-web-2   Bound        pv-2   Bound       1Gi        RWO            Retain                   hostPath /data/pv-2   orphan
";
        assert_eq!(text, expected);
    }

    #[test]
    fn the_summary_groups_orphans_into_one_delete_command() {
        let inventory = inventory(ORPHANS);
        let chains = build_chains(&inventory);
        let text = summary_text(&summary(&chains), Styling::plain());
        assert_eq!(
            text,
            "\nProblems (0 errors, 1 warning):\n- 2 orphan claims of web (www-web-1, www-web-2): their ordinals are beyond its 1 replicas and the retention policy kept them; scaling up reuses them; to delete them: kubectl delete pvc www-web-1 www-web-2 -n default\n"
        );
    }

    #[test]
    fn errors_come_before_warnings_in_the_summary() {
        let inventory = inventory(STATIC_PENDING);
        let chains = build_chains(&inventory);
        let lines = summary(&chains);
        let severities: Vec<Severity> = lines.iter().map(|l| l.severity).collect();
        assert_eq!(severities, vec![Severity::Error, Severity::Warning]);
        assert!(lines[0].text.starts_with("claim data-db-3 is Pending"));
        assert_eq!(summary_text(&[], Styling::plain()), "");
    }

    #[test]
    fn wide_adds_the_provisioner_and_node_affinity() {
        let inventory = inventory(STATIC_PENDING);
        let chains = build_chains(&inventory);
        let text = table(&chains, true, true, Styling::plain());
        let header = text.lines().next().unwrap_or_default();
        assert!(header.starts_with("NAMESPACE   POD"), "{header}");
        assert!(
            header.contains("PROVISIONER") && header.contains("NODE AFFINITY"),
            "{header}"
        );
        let db1 = text
            .lines()
            .find(|l| l.contains("data-db-1"))
            .unwrap_or_default();
        assert!(db1.contains("kubernetes.io/hostname=node-1"), "{db1}");
        assert!(db1.contains("<class not found>"), "{db1}");
        let narrow = table(&chains, false, false, Styling::plain());
        assert!(!narrow.contains("PROVISIONER") && !narrow.contains("NAMESPACE"));
    }

    #[test]
    fn cells_of_unreadable_lists_say_forbidden() {
        let mut inventory = inventory(BOUND_NFS);
        inventory.volumes = Listing::Forbidden;
        inventory.storage_classes = Listing::Forbidden;
        let chains = build_chains(&inventory);
        let text = table(&chains, true, false, Styling::plain());
        let row = text.lines().nth(1).unwrap_or_default();
        let words: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            &words[..5],
            &["web-0", "Running", "www-web-0", "Bound", "pvc-c0"]
        );
        assert_eq!(
            words.iter().filter(|w| **w == "forbidden").count(),
            5,
            "{row}"
        );
        let document = document(&chains, vec!["persistentvolumes", "storageclasses"]);
        let json = serde_json::to_value(&document).expect("serializes");
        assert_eq!(json["forbidden"][0], "persistentvolumes");
        assert_eq!(json["items"][0]["volume"]["name"], "pvc-c0");
        assert!(json["items"][0]["volume"]["phase"].is_null());
        assert!(json["items"][0]["volume"]["backend"].is_null());
    }

    #[test]
    fn the_tree_runs_from_set_to_backend() {
        let inventory = inventory(ORPHANS);
        let chains = build_chains(&inventory);
        let expected = "\
StatefulSet/web  default  replicas 1
├─ Pod/web-0  Running
│  └─ PersistentVolumeClaim/www-web-0  Bound  1Gi
│     └─ PersistentVolume/pv-0  Bound  1Gi  Retain
│        └─ hostPath /data/pv-0
├─ PersistentVolumeClaim/www-web-1  Bound  1Gi  [orphan]
│  └─ PersistentVolume/pv-1  Bound  1Gi  Retain
│     └─ hostPath /data/pv-1
└─ PersistentVolumeClaim/www-web-2  Bound  1Gi  [orphan]
   └─ PersistentVolume/pv-2  Bound  1Gi  Retain
      └─ hostPath /data/pv-2
";
        assert_eq!(tree_text(&tree(&chains), Styling::plain()), expected);
    }

    #[test]
    fn a_missing_pod_still_holds_its_claims_in_the_tree() {
        let inventory = inventory(STATIC_PENDING);
        let mut chains = build_chains(&inventory);
        chains[3].pod = None;
        let text = tree_text(&tree(&chains), Styling::plain());
        assert!(
            text.ends_with("└─ Pod/db-3  <missing>\n   └─ PersistentVolumeClaim/data-db-3  Pending  1Gi  [pending]\n"),
            "{text}"
        );
    }

    #[test]
    fn names_are_the_claims_that_exist() {
        let inventory = inventory(STATIC_PENDING);
        let chains = build_chains(&inventory);
        assert_eq!(
            names(&chains),
            "persistentvolumeclaim/data-db-0\npersistentvolumeclaim/data-db-1\npersistentvolumeclaim/data-db-2\npersistentvolumeclaim/data-db-3\n"
        );
    }

    #[test]
    fn the_document_follows_the_schema() {
        let inventory = inventory(BOUND_NFS);
        let chains = build_chains(&inventory);
        let json = serde_json::to_value(document(&chains, Vec::new())).expect("serializes");
        assert_eq!(json["apiVersion"], "kubectl-sts/v1");
        assert_eq!(json["kind"], "VolumeChainList");
        let item = &json["items"][1];
        assert_eq!(item["namespace"], "default");
        assert_eq!(item["statefulSet"], "web");
        assert_eq!(item["ordinal"], 1);
        assert_eq!(item["template"], "www");
        assert_eq!(
            item["pod"],
            serde_json::json!({"name": "web-1", "uid": "pod-1", "phase": "Running"})
        );
        assert_eq!(
            item["claim"],
            serde_json::json!({
                "name": "www-web-1", "uid": "c1", "phase": "Bound", "requested": "1Gi",
                "capacity": "1Gi", "accessModes": ["ReadWriteOnce"],
                "storageClass": "managed-nfs-storage"
            })
        );
        assert_eq!(
            item["volume"],
            serde_json::json!({
                "name": "pvc-c1", "phase": "Bound", "capacity": "1Gi", "reclaimPolicy": "Delete",
                "backend": {"type": "nfs", "server": "192.168.56.18",
                            "path": "/ifs/kubernetes/default-www-web-1-pvc-c1"},
                "nodeAffinity": null
            })
        );
        assert_eq!(item["orphan"], false);
        assert_eq!(item["problems"].as_array().map(Vec::len), Some(1));

        let yaml = crate::output::to_yaml(&document(&chains, Vec::new())).expect("yaml");
        assert!(
            yaml.starts_with("apiVersion: kubectl-sts/v1\nkind: VolumeChainList\n"),
            "{yaml}"
        );
    }
}
