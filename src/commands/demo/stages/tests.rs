use super::*;

/// A cluster state built from YAML, the way it reads in `kubectl get -o yaml`.
struct World {
    image: &'static str,
    revision: &'static str,
    partition: i32,
    /// Per ordinal: (uid, ready, ready since, created at).
    pods: Vec<(&'static str, bool, &'static str, &'static str)>,
    /// Per ordinal: the volume its claim is bound to.
    volumes: Vec<&'static str>,
}

impl World {
    fn healthy() -> World {
        World {
            image: "nginx:1.25",
            revision: "web-aaa",
            partition: 0,
            pods: vec![
                (
                    "uid-0",
                    true,
                    "2026-01-01T00:00:02Z",
                    "2026-01-01T00:00:00Z",
                ),
                (
                    "uid-1",
                    true,
                    "2026-01-01T00:00:04Z",
                    "2026-01-01T00:00:02Z",
                ),
                (
                    "uid-2",
                    true,
                    "2026-01-01T00:00:06Z",
                    "2026-01-01T00:00:05Z",
                ),
            ],
            volumes: vec!["pvc-0", "pvc-1", "pvc-2"],
        }
    }

    fn snapshot(&self) -> Snapshot {
        let set: StatefulSet = serde_saphyr::from_str(&format!(
            r#"
metadata: {{name: web, namespace: default, uid: set-uid, generation: 1}}
spec:
  replicas: 3
  serviceName: headless-svc
  selector: {{matchLabels: {{app: nginx}}}}
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{partition: {partition}}}}}
  template:
    metadata: {{labels: {{app: nginx}}}}
    spec:
      containers: [{{name: nginx, image: "{image}"}}]
  volumeClaimTemplates:
  - metadata: {{name: www}}
    spec: {{accessModes: [ReadWriteOnce], storageClassName: managed-nfs-storage}}
status:
  replicas: 3
  readyReplicas: 3
  observedGeneration: 1
  currentRevision: {revision}
  updateRevision: {revision}
"#,
            partition = self.partition,
            image = self.image,
            revision = self.revision,
        ))
        .unwrap();
        let pods = self
            .pods
            .iter()
            .enumerate()
            .map(|(ordinal, (uid, ready, since, created))| {
                serde_saphyr::from_str(&format!(
                    r#"
metadata:
  name: web-{ordinal}
  namespace: default
  uid: {uid}
  creationTimestamp: "{created}"
  labels: {{app: nginx, controller-revision-hash: {revision}}}
spec:
  hostname: web-{ordinal}
  subdomain: headless-svc
  containers: [{{name: nginx, image: "{image}"}}]
status:
  phase: Running
  conditions:
  - {{type: Ready, status: "{ready}", lastTransitionTime: "{since}"}}
"#,
                    revision = self.revision,
                    image = self.image,
                    ready = if *ready { "True" } else { "False" },
                ))
                .unwrap()
            })
            .collect();
        let claims = self
            .volumes
            .iter()
            .enumerate()
            .map(|(ordinal, volume)| {
                serde_saphyr::from_str(&format!(
                    r#"
metadata: {{name: www-web-{ordinal}, namespace: default}}
spec: {{volumeName: {volume}, storageClassName: managed-nfs-storage}}
status: {{phase: Bound}}
"#
                ))
                .unwrap()
            })
            .collect();
        let volumes = self
            .volumes
            .iter()
            .enumerate()
            .map(|(ordinal, volume)| {
                serde_saphyr::from_str(&format!(
                    r#"
metadata: {{name: {volume}}}
spec:
  storageClassName: managed-nfs-storage
  claimRef: {{name: www-web-{ordinal}, namespace: default}}
"#
                ))
                .unwrap()
            })
            .collect();
        Snapshot {
            set,
            pods,
            claims,
            volumes,
            revisions: Vec::new(),
        }
    }
}

fn revision(name: &str, number: i64, image: &str, owner: &str) -> ControllerRevision {
    serde_saphyr::from_str(&format!(
        r#"
metadata:
  name: {name}
  namespace: default
  ownerReferences:
  - {{apiVersion: apps/v1, kind: StatefulSet, name: web, uid: {owner}, controller: true}}
revision: {number}
data:
  spec:
    template:
      $patch: replace
      metadata: {{labels: {{app: nginx}}}}
      spec:
        containers: [{{name: nginx, image: "{image}"}}]
"#
    ))
    .unwrap()
}

fn script() -> Script {
    Script {
        set_name: "web".into(),
        original_image: "nginx:1.25".into(),
        canary_image: "nginx:1.27".into(),
        broken_image: "nginx:1.27-crash".into(),
        namespace: None,
    }
}

fn cluster(stage: Stage, before: &World, after: &World) -> Result<String, String> {
    judge_cluster(stage, &script(), &before.snapshot(), &after.snapshot())
}

#[test]
fn ordered_start_passes_when_each_pod_was_created_after_the_previous_was_ready() {
    let world = World::healthy();
    let detail = cluster(Stage::OrderedStart, &world, &world).unwrap();
    assert!(detail.contains("web-0, web-1, web-2"), "{detail}");
}

#[test]
fn ordered_start_fails_when_a_pod_was_created_before_its_predecessor_was_ready() {
    let mut world = World::healthy();
    // web-2 created at :03, web-1 Ready only at :04: started in parallel.
    world.pods[2].3 = "2026-01-01T00:00:03Z";
    let reason = cluster(Stage::OrderedStart, &world, &world).unwrap_err();
    assert!(reason.contains("web-2 was created"), "{reason}");
    assert!(reason.contains("before web-1 was Ready"), "{reason}");
}

#[test]
fn ordered_start_fails_while_a_pod_is_not_ready() {
    let mut world = World::healthy();
    world.pods[1].1 = false;
    let reason = cluster(Stage::OrderedStart, &world, &world).unwrap_err();
    assert_eq!(reason, "web-1 is not Ready");
}

#[test]
fn the_storage_chain_needs_every_claim_bound_to_a_volume_that_points_back() {
    let world = World::healthy();
    let detail = cluster(Stage::StorageChain, &world, &world).unwrap();
    assert_eq!(
        detail,
        "3 claims Bound to their own volumes (class managed-nfs-storage)"
    );

    let before = world.snapshot();
    let mut broken = world.snapshot();
    broken.claims.remove(1);
    let reason = judge_cluster(Stage::StorageChain, &script(), &before, &broken).unwrap_err();
    assert_eq!(reason, "claim www-web-1 does not exist");

    let mut crossed = world.snapshot();
    crossed.volumes[0]
        .spec
        .as_mut()
        .unwrap()
        .claim_ref
        .as_mut()
        .unwrap()
        .name = Some("www-web-2".into());
    let reason = judge_cluster(Stage::StorageChain, &script(), &before, &crossed).unwrap_err();
    assert!(reason.contains("not bound back to www-web-0"), "{reason}");
}

#[test]
fn identity_needs_each_pod_named_for_itself_under_the_governing_service() {
    let world = World::healthy();
    assert!(cluster(Stage::Identity, &world, &world).is_ok());
    let mut wrong = world.snapshot();
    wrong.pods[2].spec.as_mut().unwrap().subdomain = None;
    let reason = judge_cluster(Stage::Identity, &script(), &world.snapshot(), &wrong).unwrap_err();
    assert!(
        reason.starts_with("web-2 has hostname web-2 and subdomain (none)"),
        "{reason}"
    );
}

#[test]
fn data_survival_needs_new_pods_on_the_same_volumes() {
    let before = World::healthy();
    let mut after = World::healthy();
    after.pods = vec![
        (
            "new-0",
            true,
            "2026-01-01T00:01:02Z",
            "2026-01-01T00:01:00Z",
        ),
        (
            "new-1",
            true,
            "2026-01-01T00:01:04Z",
            "2026-01-01T00:01:02Z",
        ),
        (
            "new-2",
            true,
            "2026-01-01T00:01:06Z",
            "2026-01-01T00:01:05Z",
        ),
    ];
    let detail = cluster(Stage::DataSurvival, &before, &after).unwrap();
    assert_eq!(detail, "3 pods recreated, each back on its own volume");

    let reason = cluster(Stage::DataSurvival, &before, &before).unwrap_err();
    assert_eq!(reason, "web-0 was not recreated");

    after.volumes[1] = "pvc-fresh";
    let reason = cluster(Stage::DataSurvival, &before, &after).unwrap_err();
    assert!(reason.contains("www-web-1 was on volume pvc-1"), "{reason}");
}

#[test]
fn the_canary_passes_when_every_pod_runs_the_new_revision_at_partition_zero() {
    let before = World::healthy();
    let mut after = World::healthy();
    after.image = "nginx:1.27";
    after.revision = "web-bbb";
    assert!(cluster(Stage::Canary, &before, &after).is_ok());

    // A canary that stopped half-way.
    after.partition = 1;
    let reason = cluster(Stage::Canary, &before, &after).unwrap_err();
    assert_eq!(reason, "the partition is 1");

    // Nothing changed at all.
    let reason = cluster(Stage::Canary, &before, &before).unwrap_err();
    assert!(reason.contains("the template runs nginx:1.25"), "{reason}");
}

#[test]
fn the_broken_canary_passes_only_when_template_and_pods_are_back() {
    let mut before = World::healthy();
    before.image = "nginx:1.27";
    before.revision = "web-bbb";
    let detail = cluster(Stage::CanaryRollback, &before, &before).unwrap();
    assert!(
        detail.contains("back on nginx:1.27 (revision web-bbb)"),
        "{detail}"
    );

    let mut stuck = World::healthy();
    stuck.image = "nginx:1.27-crash";
    stuck.revision = "web-ccc";
    stuck.partition = 2;
    let reason = cluster(Stage::CanaryRollback, &before, &stuck).unwrap_err();
    assert!(reason.contains("runs nginx:1.27-crash"), "{reason}");
}

#[test]
fn history_must_hold_all_three_templates_of_this_set() {
    let world = World::healthy();
    let mut snapshot = world.snapshot();
    snapshot.revisions = vec![
        revision("web-aaa", 1, "nginx:1.25", "set-uid"),
        revision("web-ccc", 3, "nginx:1.27-crash", "set-uid"),
        revision("web-bbb", 4, "nginx:1.27", "set-uid"),
    ];
    let detail = judge_cluster(Stage::History, &script(), &world.snapshot(), &snapshot).unwrap();
    assert!(detail.starts_with("3 revisions"), "{detail}");

    // A revision owned by another set does not count.
    snapshot.revisions[1] = revision("other-ccc", 3, "nginx:1.27-crash", "other-uid");
    let reason =
        judge_cluster(Stage::History, &script(), &world.snapshot(), &snapshot).unwrap_err();
    assert_eq!(reason, "no revision holds nginx:1.27-crash");
}

#[test]
fn outcomes_are_judged_before_the_cluster() {
    assert_eq!(judge_outcome(Stage::Canary, &Ok(Outcome::Success)), Ok(()));
    assert_eq!(
        judge_outcome(Stage::CanaryRollback, &Ok(Outcome::Failed)),
        Ok(())
    );
    let reason = judge_outcome(Stage::CanaryRollback, &Ok(Outcome::Success)).unwrap_err();
    assert!(
        reason.contains("should have detected the crash"),
        "{reason}"
    );
    assert_eq!(
        judge_outcome(Stage::Identity, &Ok(Outcome::Failed)).unwrap_err(),
        "the command reported a failure (exit 1)"
    );
    let not_written = Err(Error::NotImplemented {
        command: "volumes",
        issue: 4,
    });
    assert_eq!(
        judge_outcome(Stage::StorageChain, &not_written).unwrap_err(),
        "`kubectl sts volumes` is not implemented yet"
    );
    let timed_out = Err(Error::Timeout {
        after: "60s".into(),
        what: "web to be ready".into(),
    });
    assert_eq!(
        judge_outcome(Stage::OrderedStart, &timed_out).unwrap_err(),
        "the command failed: timed out after 60s: web to be ready"
    );
}

#[test]
fn a_failed_command_fails_the_stage_whatever_the_cluster_shows() {
    let world = World::healthy();
    let snapshot = world.snapshot();
    let verdict = judge(
        Stage::Identity,
        &script(),
        &Err(Error::NotImplemented {
            command: "status",
            issue: 5,
        }),
        &snapshot,
        &snapshot,
    );
    assert_eq!(
        verdict,
        Verdict::Failed("`kubectl sts status` is not implemented yet".into())
    );
    assert!(
        judge(
            Stage::Identity,
            &script(),
            &Ok(Outcome::Success),
            &snapshot,
            &snapshot
        )
        .passed()
    );
}

#[test]
fn only_the_start_blocks_later_stages() {
    let blocking: Vec<Stage> = Stage::ALL
        .into_iter()
        .filter(|s| s.later_stages_need_it())
        .collect();
    assert_eq!(blocking, vec![Stage::OrderedStart]);
    assert_eq!(
        Stage::ALL
            .map(Stage::expected_outcome)
            .iter()
            .filter(|o| **o == Outcome::Failed)
            .count(),
        1
    );
}
