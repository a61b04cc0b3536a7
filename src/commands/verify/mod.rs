//! `kubectl sts verify NAME`: prove that data survives pod recreation. For
//! each ordinal, highest first and one at a time (each replacement Ready
//! before the next deletion): write a random marker into every data mount,
//! run `--check`, delete the pod, wait for its replacement, read the markers
//! back, run `--check` again, and compare; markers are removed afterwards,
//! also on failure and Ctrl-C.

pub mod judge;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use rand::Rng;
use serde::Serialize;

use self::judge::{MountPlan, MountSource, MountVerdict, StorageIdentity};
use super::Outcome;
use crate::cli::{OutputFormat, VerifyArgs};
use crate::context::{Connection, Context};
use crate::error::{Error, Result};
use crate::output::{self, Styled, Tone};
use crate::{podexec, prompt, retry, sts};

/// Marker files are dot-files named after the tool, so a person who finds one knows what it is.
pub const MARKER_PREFIX: &str = ".kubectl-sts-verify-";

/// One row of the report: an ordinal and one of its mounts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRow {
    pub ordinal: i32,
    pub pod: String,
    pub old_pod_uid: String,
    pub new_pod_uid: Option<String>,
    pub container: String,
    pub mount_path: String,
    pub source: MountSource,
    pub before: StorageIdentity,
    pub after: StorageIdentity,
    pub verdict: MountVerdict,
    /// A marker that could not be removed (path), to clean up by hand.
    pub marker_left: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyReport<'a> {
    api_version: &'static str,
    kind: &'static str,
    namespace: &'a str,
    stateful_set: &'a str,
    survived: bool,
    rows: &'a [VerifyRow],
}

fn random_suffix(length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The ordinals to verify, highest first.
pub fn ordinals_to_verify(set: &StatefulSet, requested: &[i32]) -> Result<Vec<i32>> {
    let range = sts::ordinals(set);
    if range.is_empty() {
        // Nothing would be checked, and "every marker survived" would be a lie.
        return Err(Error::Failed(format!(
            "statefulset \"{name}\" has 0 replicas: there is no pod to verify; scale it up first (kubectl scale statefulset {name} --replicas=1)",
            name = sts::name(set)
        )));
    }
    let mut ordinals: Vec<i32> = if requested.is_empty() {
        range.clone().collect()
    } else {
        for ordinal in requested {
            if !range.contains(ordinal) {
                return Err(Error::Usage(format!(
                    "--ordinal {ordinal} is not one of statefulset {}'s ordinals: pick from {} to {}, or leave --ordinal out to verify them all",
                    sts::name(set),
                    range.start,
                    range.end - 1
                )));
            }
        }
        requested.to_vec()
    };
    ordinals.sort_unstable_by(|a, b| b.cmp(a));
    ordinals.dedup();
    Ok(ordinals)
}

struct Cluster<'a> {
    connection: &'a Connection,
    pods: Api<Pod>,
    claims: Api<PersistentVolumeClaim>,
    volumes: Api<PersistentVolume>,
}

impl Cluster<'_> {
    async fn identity(&self, plan: &MountPlan) -> Result<StorageIdentity> {
        let MountSource::Claim { claim } = &plan.source else {
            return Ok(StorageIdentity::default());
        };
        let claim = self
            .claims
            .get_opt(claim)
            .await
            .map_err(|e| self.connection.error(e))?;
        let volume_name = claim
            .as_ref()
            .and_then(|c| c.spec.as_ref()?.volume_name.clone());
        let volume = match volume_name {
            Some(name) => match self.volumes.get_opt(&name).await {
                Ok(volume) => volume,
                // Volumes are cluster-scoped: without permission, identity still works by name.
                Err(kube::Error::Api(status)) if status.code == 403 => None,
                // Anything else would pass for "the volume changed".
                Err(err) => return Err(self.connection.error(err)),
            },
            None => None,
        };
        Ok(judge::storage_identity(claim.as_ref(), volume.as_ref()))
    }

    async fn exec(&self, pod: &str, container: &str, script: &str) -> Result<podexec::ExecOutput> {
        podexec::run(&self.pods, pod, Some(container), &["sh", "-c", script])
            .await
            .map_err(|e| match e {
                kube::Error::Api(status) if status.code == 403 => Error::Forbidden {
                    message: format!(
                        "{} (verify needs `create` on pods/exec to write and read its markers)",
                        status.message
                    ),
                },
                other => self.connection.error(other),
            })
    }

    /// Deletes this incarnation of the pod (uid precondition), repeating
    /// through server errors: a repeat after a lost answer finds it gone (404)
    /// or already replaced (409), which is what was asked.
    async fn delete_pod(&self, name: &str, uid: &str) -> Result<()> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match retry::idempotent("deleting a pod", || self.pods.delete(name, &params)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => Ok(()),
            Err(err) => Err(Error::Failed(format!(
                "could not delete pod {name}: {}",
                self.connection.error(err)
            ))),
        }
    }

    async fn wait_for_replacement(
        &self,
        name: &str,
        old_uid: &str,
        timeout: Duration,
    ) -> Result<Pod> {
        let ready = retry::await_condition(self.pods.clone(), name, |pod: Option<&Pod>| {
            pod.is_some_and(|p| {
                p.metadata.uid.as_deref() != Some(old_uid)
                    && p.metadata.deletion_timestamp.is_none()
                    && sts::is_pod_ready(p)
            })
        });
        match tokio::time::timeout(timeout, ready).await {
            Ok(Ok(Some(pod))) => Ok(pod),
            Ok(Ok(None)) => Err(Error::Failed(format!(
                "pod {name} vanished while waiting for it"
            ))),
            Ok(Err(e)) => Err(Error::Failed(format!(
                "could not watch pod {name} come back: {}",
                self.connection.error(e)
            ))),
            Err(_) => Err(Error::Timeout {
                after: format!("{timeout:?}"),
                what: format!(
                    "the replacement of pod {name} did not become Ready: {}; see `kubectl sts watch`",
                    judge::replacement_holdup(
                        self.pods.get_opt(name).await.ok().flatten().as_ref(),
                        old_uid
                    )
                ),
            }),
        }
    }
}

pub async fn run(context: &Context, args: VerifyArgs) -> Result<Outcome> {
    context.reject_all_namespaces("verify")?;
    let format = context.output_format(
        "verify",
        &[OutputFormat::Table, OutputFormat::Wide, OutputFormat::Json],
    )?;
    let connection = context.connect().await?;
    let set = connection.statefulset(&args.name).await?;
    let namespace = sts::namespace(&set).to_string();
    let ordinals = ordinals_to_verify(&set, &args.ordinal)?;
    let cluster = Cluster {
        connection: &connection,
        pods: Api::namespaced(connection.client.clone(), &namespace),
        claims: Api::namespaced(connection.client.clone(), &namespace),
        volumes: Api::all(connection.client.clone()),
    };
    let params = match sts::pod_selector(&set) {
        Some(selector) => ListParams::default().labels(&selector),
        None => ListParams::default(),
    };
    let pods = cluster
        .pods
        .list(&params)
        .await
        .map_err(|e| connection.error(e))?
        .items;
    let by_name: BTreeMap<String, Pod> = pods
        .into_iter()
        .filter_map(|p| Some((p.metadata.name.clone()?, p)))
        .collect();
    let templates = sts::claim_templates(&set);

    // Everything must be in place before anything is deleted.
    let mut targets: Vec<(i32, Pod, Vec<MountPlan>)> = Vec::new();
    for ordinal in &ordinals {
        let name = sts::pod_name(&args.name, *ordinal);
        let pod = by_name.get(&name).ok_or_else(|| {
            Error::Failed(format!(
                "pod {name} does not exist; verify needs every chosen ordinal running"
            ))
        })?;
        if !sts::is_pod_ready(pod) {
            return Err(Error::Failed(format!(
                "pod {name} is not Ready; verify deletes pods one at a time and needs the set healthy first"
            )));
        }
        let mounts = judge::data_mounts(pod, &templates);
        if mounts.is_empty() {
            return Err(Error::Failed(format!(
                "pod {name} mounts no data volume (no claim, emptyDir or hostPath): there is nothing to verify; give the StatefulSet volumeClaimTemplates to keep data across pod recreation"
            )));
        }
        targets.push((*ordinal, pod.clone(), mounts));
    }

    let ready_now = by_name.values().filter(|p| sts::is_pod_ready(p)).count();
    let names: Vec<String> = targets
        .iter()
        .map(|(o, _, _)| sts::pod_name(&args.name, *o))
        .collect();
    if args.dry_run || format != OutputFormat::Json {
        let mut plan = format!(
            "verify statefulset {namespace}/{}: one pod at a time, highest ordinal first\n",
            args.name
        );
        for (ordinal, _, mounts) in &targets {
            for mount in mounts {
                plan.push_str(&format!(
                    "  {}: write {}/{MARKER_PREFIX}<random> in {} ({}), delete the pod, wait for it, read it back\n",
                    sts::pod_name(&args.name, *ordinal),
                    mount.mount_path.trim_end_matches('/'),
                    mount.container,
                    describe_source(&mount.source)
                ));
            }
        }
        if let Some(check) = &args.check {
            plan.push_str(&format!(
                "  and compare the output of `{check}` before and after\n"
            ));
        }
        output::print(&plan)?;
    }
    if args.dry_run {
        output::print("dry run: nothing was written or deleted\n")?;
        return Ok(Outcome::Success);
    }
    if ready_now <= 1 {
        eprintln!(
            "warning: deleting a pod leaves statefulset {} with no Ready replica while it is recreated",
            args.name
        );
    }
    if !prompt::confirm(
        &format!("Delete and recreate {} (one at a time)", names.join(", ")),
        args.yes,
    )? {
        output::print("Verification cancelled; nothing was written or deleted.\n")?;
        return Ok(Outcome::Failed);
    }

    let mut rows: Vec<VerifyRow> = Vec::new();
    let mut pending: Vec<PendingMarker> = Vec::new();
    let run = verify_all(&cluster, &args, &targets, &mut rows, &mut pending);
    let failure = tokio::select! {
        result = run => result.err(),
        _ = tokio::signal::ctrl_c() => Some(Error::Failed("interrupted".to_string())),
    };
    if let Some(error) = failure {
        let left = remove_markers_best_effort(&cluster, &pending).await;
        if pending.is_empty() {
            eprintln!("no marker was written");
        } else if left.is_empty() {
            eprintln!("markers written so far were removed");
        } else {
            eprintln!(
                "could not remove these markers, delete them by hand: {}",
                left.join(", ")
            );
        }
        return Err(error);
    }

    let survived = rows.iter().all(|r| r.verdict.survived);
    if format == OutputFormat::Json {
        output::print(&output::to_json(&VerifyReport {
            api_version: "kubectl-sts/v1",
            kind: "VerifyReport",
            namespace: &namespace,
            stateful_set: &args.name,
            survived,
            rows: &rows,
        })?)?;
    } else {
        output::print(&render(&rows, format == OutputFormat::Wide, context))?;
    }
    Ok(if survived {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn describe_source(source: &MountSource) -> String {
    match source {
        MountSource::Claim { claim } => format!("claim {claim}"),
        MountSource::EmptyDir => "emptyDir".to_string(),
        MountSource::HostPath { path } => format!("hostPath {path}"),
        MountSource::Other { kind } => kind.clone(),
    }
}

/// A marker written and not yet removed.
struct PendingMarker {
    pod: String,
    container: String,
    path: String,
}

async fn verify_all(
    cluster: &Cluster<'_>,
    args: &VerifyArgs,
    targets: &[(i32, Pod, Vec<MountPlan>)],
    rows: &mut Vec<VerifyRow>,
    pending: &mut Vec<PendingMarker>,
) -> Result<()> {
    for (ordinal, pod, mounts) in targets {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let old_uid = pod.metadata.uid.clone().unwrap_or_default();
        let mut written: Vec<(usize, Option<String>, String, StorageIdentity)> = Vec::new();
        for (index, mount) in mounts.iter().enumerate() {
            let before = cluster.identity(mount).await?;
            let content = random_suffix(32);
            let path = format!(
                "{}/{MARKER_PREFIX}{}",
                mount.mount_path.trim_end_matches('/'),
                random_suffix(8)
            );
            let script = format!(
                "printf %s {} > {}",
                shell_quote(&content),
                shell_quote(&path)
            );
            // Recorded before writing: a write whose answer is lost may have landed.
            pending.push(PendingMarker {
                pod: name.clone(),
                container: mount.container.clone(),
                path: path.clone(),
            });
            let result = match cluster.exec(&name, &mount.container, &script).await {
                Ok(result) => result,
                Err(refused @ Error::Forbidden { .. }) => {
                    // Refused before it ran: nothing was written there.
                    pending.pop();
                    return Err(refused);
                }
                Err(other) => return Err(other),
            };
            let marker = if result.success() {
                Some(content)
            } else if result.not_found() {
                None
            } else {
                return Err(Error::Failed(format!(
                    "could not write the marker {path} in {name}/{}: {}",
                    mount.container,
                    result.failure()
                )));
            };
            written.push((index, marker, path, before));
        }
        let check_before = match &args.check {
            Some(check) => Some(
                cluster
                    .exec(&name, &mounts[0].container, check)
                    .await?
                    .stdout,
            ),
            None => None,
        };

        cluster.delete_pod(&name, &old_uid).await?;
        let replacement = cluster
            .wait_for_replacement(&name, &old_uid, args.timeout)
            .await?;
        let new_uid = replacement.metadata.uid.clone();

        let check_after = match &args.check {
            Some(check) => Some(
                cluster
                    .exec(&name, &mounts[0].container, check)
                    .await?
                    .stdout,
            ),
            None => None,
        };
        for (index, marker, path, before) in written {
            let mount = &mounts[index];
            let after = cluster.identity(mount).await?;
            let read_back = match &marker {
                Some(_) => {
                    let result = cluster
                        .exec(
                            &name,
                            &mount.container,
                            &format!("cat {}", shell_quote(&path)),
                        )
                        .await?;
                    Some(result.success().then_some(result.stdout))
                }
                None => None,
            };
            let verdict = judge::judge(
                mount,
                &before,
                &after,
                marker.as_deref(),
                read_back.as_ref().map(|r| r.as_deref()),
                (check_before.as_deref(), check_after.as_deref()),
            );
            let marker_left =
                if args.keep_marker || marker.is_none() || !matches!(read_back, Some(Some(_))) {
                    None
                } else {
                    let removed = cluster
                        .exec(
                            &name,
                            &mount.container,
                            &format!("rm -f {}", shell_quote(&path)),
                        )
                        .await;
                    match removed {
                        Ok(r) if r.success() => None,
                        _ => Some(path.clone()),
                    }
                };
            rows.push(VerifyRow {
                ordinal: *ordinal,
                pod: name.clone(),
                old_pod_uid: old_uid.clone(),
                new_pod_uid: new_uid.clone(),
                container: mount.container.clone(),
                mount_path: mount.mount_path.clone(),
                source: mount.source.clone(),
                before,
                after,
                verdict,
                marker_left: if args.keep_marker {
                    Some(path)
                } else {
                    marker_left
                },
            });
        }
    }
    Ok(())
}

/// On Ctrl-C: remove markers that may still be there; return the ones that stayed.
async fn remove_markers_best_effort(
    cluster: &Cluster<'_>,
    pending: &[PendingMarker],
) -> Vec<String> {
    let mut left = Vec::new();
    for marker in pending {
        let script = format!("rm -f {}", shell_quote(&marker.path));
        let removed = cluster.exec(&marker.pod, &marker.container, &script).await;
        if !matches!(removed, Ok(r) if r.success()) {
            left.push(format!("{}:{}", marker.pod, marker.path));
        }
    }
    left
}

fn short_uid(uid: &str) -> &str {
    uid.get(..8).unwrap_or(uid)
}

fn render(rows: &[VerifyRow], wide: bool, context: &Context) -> String {
    let comparison = |c: &judge::Comparison| match c {
        judge::Comparison::Same => Styled::new("same", Tone::Good),
        judge::Comparison::Changed => Styled::new("changed", Tone::Bad),
        judge::Comparison::NotChecked => Styled::new("-", Tone::Dim),
    };
    let mut table_rows = Vec::new();
    let mut notes = Vec::new();
    for row in rows {
        let marker = match row.verdict.marker {
            judge::MarkerOutcome::Survived => Styled::new("survived", Tone::Good),
            judge::MarkerOutcome::Lost => Styled::new("lost", Tone::Bad),
            judge::MarkerOutcome::Mismatch => Styled::new("mismatch", Tone::Bad),
            judge::MarkerOutcome::Unverified => Styled::new("unverified", Tone::Warn),
        };
        let mut cells = vec![
            Styled::from(row.pod.as_str()),
            Styled::from(format!(
                "{} -> {}",
                short_uid(&row.old_pod_uid),
                row.new_pod_uid.as_deref().map(short_uid).unwrap_or("?")
            )),
            Styled::from(format!("{}:{}", row.container, row.mount_path)),
            comparison(&row.verdict.claim),
            comparison(&row.verdict.volume),
            marker,
            comparison(&row.verdict.check),
            if row.verdict.survived {
                Styled::new("OK", Tone::Good)
            } else {
                Styled::new("FAIL", Tone::Bad)
            },
        ];
        if wide {
            cells.push(Styled::from(
                row.after.volume_name.clone().unwrap_or_else(|| "-".into()),
            ));
            cells.push(Styled::from(
                row.after.backend.clone().unwrap_or_else(|| "-".into()),
            ));
        }
        table_rows.push(cells);
        for cause in &row.verdict.causes {
            notes.push(format!("{} {}: {cause}", row.pod, row.mount_path));
        }
        if let Some(path) = &row.marker_left {
            notes.push(format!("{}: marker {path} was left in place", row.pod));
        }
    }
    let mut headers = vec![
        "pod",
        "uid old -> new",
        "mount",
        "claim",
        "volume",
        "marker",
        "check",
        "result",
    ];
    if wide {
        headers.extend(["pv", "backend"]);
    }
    let mut text = output::render_table(&headers, &table_rows, context.styling);
    if !notes.is_empty() {
        text.push('\n');
        for note in notes {
            text.push_str(&format!("  {note}\n"));
        }
    }
    let survived = rows.iter().all(|r| r.verdict.survived);
    text.push_str(if survived {
        "\nEvery marker survived pod recreation.\n"
    } else {
        "\nData did NOT survive for the rows marked FAIL.\n"
    });
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(replicas: i32) -> StatefulSet {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "serviceName": "nginx",
                     "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}}}},
        }))
        .expect("valid set")
    }

    #[test]
    fn ordinals_go_highest_first_and_must_exist() {
        assert_eq!(ordinals_to_verify(&set(3), &[]).unwrap(), vec![2, 1, 0]);
        assert_eq!(ordinals_to_verify(&set(3), &[0, 2, 0]).unwrap(), vec![2, 0]);
        let err = ordinals_to_verify(&set(3), &[5]).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(err.to_string().contains("--ordinal 5"));
        let err = ordinals_to_verify(&set(0), &[]).unwrap_err();
        assert!(err.to_string().contains("0 replicas"), "{err}");
    }

    #[test]
    fn markers_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(random_suffix(8).len(), 8);
        assert_ne!(random_suffix(16), random_suffix(16));
    }
}
