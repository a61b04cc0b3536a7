//! The binder's decisions, checked against upstream's rules.

use super::*;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaimSpec, PersistentVolumeSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as LabelSelectorSpec, ObjectMeta,
};

fn claim(name: &str, class: Option<&str>, size: &str, modes: &[&str]) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(modes.iter().map(|m| m.to_string()).collect()),
            storage_class_name: class.map(str::to_string),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity(size.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: Some(PersistentVolumeClaimStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        }),
    }
}

fn volume(name: &str, class: Option<&str>, size: &str, modes: &[&str]) -> PersistentVolume {
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: Some(modes.iter().map(|m| m.to_string()).collect()),
            storage_class_name: class.map(str::to_string),
            capacity: Some([("storage".to_string(), Quantity(size.into()))].into()),
            persistent_volume_reclaim_policy: Some("Retain".into()),
            ..Default::default()
        }),
        status: Some(PersistentVolumeStatus {
            phase: Some("Available".into()),
            ..Default::default()
        }),
    }
}

fn class(name: &str, provisioner: &str, binding: Option<&str>) -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        provisioner: provisioner.into(),
        volume_binding_mode: binding.map(str::to_string),
        ..Default::default()
    }
}

fn name(volume: Option<&PersistentVolume>) -> Option<&str> {
    volume.and_then(|v| v.metadata.name.as_deref())
}

const RWO: &[&str] = &["ReadWriteOnce"];

#[test]
fn the_smallest_fitting_volume_of_the_same_class_wins() {
    let volumes = vec![
        volume("big", Some("nfs"), "10Gi", RWO),
        volume("small", Some("nfs"), "1Gi", RWO),
        volume("too-small", Some("nfs"), "500Mi", RWO),
        volume("other-class", Some("fast"), "1Gi", RWO),
        volume("no-class", None, "1Gi", RWO),
    ];
    let c = claim("data", Some("nfs"), "1Gi", RWO);
    assert_eq!(name(find_best_match(&c, &volumes, false)), Some("small"));
    let classless = claim("data", None, "1Gi", RWO);
    assert_eq!(
        name(find_best_match(&classless, &volumes, false)),
        Some("no-class")
    );
    let empty_class = claim("data", Some(""), "1Gi", RWO);
    assert_eq!(
        name(find_best_match(&empty_class, &volumes, false)),
        Some("no-class")
    );
}

#[test]
fn access_modes_must_be_a_superset_and_tighter_sets_come_first() {
    let volumes = vec![
        volume("rwo", Some("x"), "1Gi", RWO),
        volume(
            "both-small",
            Some("x"),
            "1Gi",
            &["ReadWriteOnce", "ReadWriteMany"],
        ),
        volume("rwx-large", Some("x"), "5Gi", &["ReadWriteMany"]),
    ];
    let rwx = claim("c", Some("x"), "1Gi", &["ReadWriteMany"]);
    assert_eq!(
        name(find_best_match(&rwx, &volumes, false)),
        Some("rwx-large")
    );
    let rwo = claim("c", Some("x"), "1Gi", RWO);
    assert_eq!(name(find_best_match(&rwo, &volumes, false)), Some("rwo"));
}

#[test]
fn unavailable_claimed_and_mismatching_volumes_are_skipped() {
    let mut released = volume("released", Some("x"), "1Gi", RWO);
    released.status.as_mut().expect("status").phase = Some("Released".into());
    let mut claimed = volume("claimed", Some("x"), "1Gi", RWO);
    claimed.spec.as_mut().expect("spec").claim_ref = Some(ObjectReference {
        name: Some("other".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    let mut block = volume("block", Some("x"), "1Gi", RWO);
    block.spec.as_mut().expect("spec").volume_mode = Some("Block".into());
    let volumes = vec![released, claimed, block];
    assert_eq!(
        find_best_match(&claim("c", Some("x"), "1Gi", RWO), &volumes, false),
        None
    );
}

#[test]
fn label_selectors_filter_volumes() {
    let mut fast = volume("fast", Some("x"), "2Gi", RWO);
    fast.metadata.labels = Some([("tier".to_string(), "fast".to_string())].into());
    let volumes = vec![volume("plain", Some("x"), "1Gi", RWO), fast];
    let mut c = claim("c", Some("x"), "1Gi", RWO);
    c.spec.as_mut().expect("spec").selector = Some(LabelSelectorSpec {
        match_labels: Some([("tier".to_string(), "fast".to_string())].into()),
        match_expressions: None,
    });
    assert_eq!(name(find_best_match(&c, &volumes, false)), Some("fast"));
}

#[test]
fn a_pre_bound_volume_wins_even_when_delaying() {
    let c = claim("c", Some("x"), "1Gi", RWO);
    let mut reserved = volume("reserved", Some("other"), "5Gi", RWO);
    reserved.spec.as_mut().expect("spec").claim_ref = Some(ObjectReference {
        name: Some("c".into()),
        namespace: Some("default".into()),
        ..Default::default()
    });
    let volumes = vec![volume("fits", Some("x"), "1Gi", RWO), reserved];
    assert_eq!(name(find_best_match(&c, &volumes, false)), Some("reserved"));
    assert_eq!(name(find_best_match(&c, &volumes[..1], true)), None);
}

fn view<'a>(
    volumes: &'a [PersistentVolume],
    classes: &'a BTreeMap<String, StorageClass>,
) -> StorageView<'a> {
    StorageView {
        volumes: volumes.iter().collect(),
        classes,
    }
}

#[test]
fn claims_without_a_match_get_the_upstream_event() {
    let classes: BTreeMap<String, StorageClass> = [
        (
            "nfs-client".to_string(),
            class(
                "nfs-client",
                "k8s-sigs.io/nfs-subdir-external-provisioner",
                None,
            ),
        ),
        (
            "late".to_string(),
            class("late", "example.com/csi", Some("WaitForFirstConsumer")),
        ),
        (
            "local".to_string(),
            class("local", "kubernetes.io/no-provisioner", None),
        ),
    ]
    .into();
    let none: Vec<PersistentVolume> = Vec::new();
    let pending_reason = |decision: ClaimDecision| match decision {
        ClaimDecision::Pending(Some(event)) => (event.reason, event.message),
        other => panic!("expected Pending with an event, got {other:?}"),
    };
    let (reason, message) = pending_reason(plan_claim(
        &claim("a", None, "1Gi", RWO),
        &view(&none, &classes),
    ));
    assert_eq!(reason, "FailedBinding");
    assert_eq!(
        message,
        "no persistent volumes available for this claim and no storage class is set"
    );
    let (reason, message) = pending_reason(plan_claim(
        &claim("b", Some("nfs"), "1Gi", RWO),
        &view(&none, &classes),
    ));
    assert_eq!(
        (reason, message.as_str()),
        (
            "ProvisioningFailed",
            "storageclass.storage.k8s.io \"nfs\" not found"
        )
    );
    let (reason, _) = pending_reason(plan_claim(
        &claim("c", Some("late"), "1Gi", RWO),
        &view(&none, &classes),
    ));
    assert_eq!(reason, "WaitForFirstConsumer");
    let (reason, message) = pending_reason(plan_claim(
        &claim("d", Some("local"), "1Gi", RWO),
        &view(&none, &classes),
    ));
    assert_eq!(
        (reason, message.as_str()),
        (
            "ProvisioningFailed",
            "no volume plugin matched name: kubernetes.io/no-provisioner"
        )
    );
    match plan_claim(
        &claim("e", Some("nfs-client"), "1Gi", RWO),
        &view(&none, &classes),
    ) {
        ClaimDecision::RequestProvisioning { provisioner, event } => {
            assert_eq!(provisioner, "k8s-sigs.io/nfs-subdir-external-provisioner");
            assert_eq!(event.reason, "ExternalProvisioning");
            assert!(event.message.starts_with(
                "Waiting for a volume to be created either by the external provisioner 'k8s-sigs.io/nfs-subdir-external-provisioner' or manually"
            ));
        }
        other => panic!("expected provisioning, got {other:?}"),
    }
    let mut selected = claim("f", Some("late"), "1Gi", RWO);
    selected.metadata.annotations =
        Some([(SELECTED_NODE.to_string(), "sandbox-node".to_string())].into());
    assert!(matches!(
        plan_claim(&selected, &view(&none, &classes)),
        ClaimDecision::RequestProvisioning { .. }
    ));
}

#[test]
fn a_static_match_wins_over_provisioning() {
    let classes: BTreeMap<String, StorageClass> = [(
        "nfs".to_string(),
        class("nfs", "k8s-sigs.io/nfs-subdir-external-provisioner", None),
    )]
    .into();
    let volumes = vec![volume("pv1", Some("nfs"), "1Gi", RWO)];
    assert_eq!(
        plan_claim(
            &claim("a", Some("nfs"), "1Gi", RWO),
            &view(&volumes, &classes)
        ),
        ClaimDecision::Bind {
            volume: "pv1".into()
        }
    );
}

fn bound_pair() -> (PersistentVolumeClaim, PersistentVolume) {
    let mut c = claim("a", Some("x"), "1Gi", RWO);
    let v = volume("pv1", Some("x"), "2Gi", &["ReadWriteOnce", "ReadOnlyMany"]);
    let v = volume_with_claim_ref(&v, &c).expect("claimRef set");
    let v = volume_with_phase(&v, "Bound", None).expect("phase set");
    c = claim_with_volume(&c, "pv1").expect("volumeName set");
    c = claim_status_bound(&c, &v).expect("status set");
    (c, v)
}

#[test]
fn a_bind_writes_what_upstream_writes() {
    let (c, v) = bound_pair();
    let annotations = c.metadata.annotations.clone().expect("annotations");
    assert_eq!(
        annotations.get(BIND_COMPLETED).map(String::as_str),
        Some("yes")
    );
    assert_eq!(
        annotations.get(BOUND_BY_CONTROLLER).map(String::as_str),
        Some("yes")
    );
    let status = c.status.clone().expect("status");
    assert_eq!(status.phase.as_deref(), Some("Bound"));
    assert_eq!(
        status.capacity.and_then(|m| m.get("storage").cloned()),
        Some(Quantity("2Gi".into()))
    );
    assert_eq!(status.access_modes.map(|m| m.len()), Some(2));
    let reference = v
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.clone())
        .expect("claimRef");
    assert_eq!(reference.uid.as_deref(), Some("uid-a"));
    assert_eq!(reference.kind.as_deref(), Some("PersistentVolumeClaim"));
    // A finished bind needs no more writes.
    assert_eq!(volume_with_claim_ref(&v, &c), None);
    assert_eq!(claim_with_volume(&c, "pv1"), None);
    assert_eq!(claim_status_bound(&c, &v), None);
    let classes = BTreeMap::new();
    let volumes = vec![v];
    assert_eq!(
        plan_claim(&c, &view(&volumes, &classes)),
        ClaimDecision::Bound {
            volume: "pv1".into()
        }
    );
}

#[test]
fn a_claim_whose_volume_vanished_is_lost() {
    let (c, _) = bound_pair();
    let classes = BTreeMap::new();
    match plan_claim(&c, &view(&[], &classes)) {
        ClaimDecision::Lost(event) => assert_eq!(event.reason, "ClaimLost"),
        other => panic!("expected Lost, got {other:?}"),
    }
}

#[test]
fn volume_name_pre_binding_checks_the_volume() {
    let classes = BTreeMap::new();
    let mut c = claim("a", Some("x"), "5Gi", RWO);
    c.spec.as_mut().expect("spec").volume_name = Some("pv1".into());
    let volumes = vec![volume("pv1", Some("x"), "1Gi", RWO)];
    match plan_claim(&c, &view(&volumes, &classes)) {
        ClaimDecision::Pending(Some(event)) => {
            assert_eq!(event.reason, "VolumeMismatch");
            assert_eq!(
                event.message,
                "Cannot bind to requested volume \"pv1\": requested PV is too small"
            );
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    let fitting = vec![volume("pv1", Some("x"), "5Gi", RWO)];
    assert_eq!(
        plan_claim(&c, &view(&fitting, &classes)),
        ClaimDecision::Bind {
            volume: "pv1".into()
        }
    );
    // The user set volumeName, so the claim is not marked bound-by-controller.
    let updated = claim_with_volume(&c, "pv1").expect("annotated");
    let annotations = updated.metadata.annotations.expect("annotations");
    assert!(annotations.contains_key(BIND_COMPLETED));
    assert!(!annotations.contains_key(BOUND_BY_CONTROLLER));
}

fn summary(c: &PersistentVolumeClaim) -> ClaimSummary<'_> {
    ClaimSummary {
        uid: c.metadata.uid.as_deref().unwrap_or_default(),
        volume_name: claim_volume_name(c),
    }
}

#[test]
fn volumes_follow_their_claims() {
    let (c, v) = bound_pair();
    assert_eq!(
        plan_volume(&v, Some(summary(&c))),
        VolumeDecision::Phase("Bound")
    );
    assert_eq!(
        plan_volume(&v, None),
        VolumeDecision::Release(Reclaim::Keep)
    );
    let mut recreated = c.clone();
    recreated.metadata.uid = Some("new".into());
    assert_eq!(
        plan_volume(&v, Some(summary(&recreated))),
        VolumeDecision::Release(Reclaim::Keep)
    );
    assert_eq!(
        plan_volume(&volume("free", None, "1Gi", RWO), None),
        VolumeDecision::Phase("Available")
    );
}

#[test]
fn reclaim_policies_map_to_sandbox_actions() {
    let (_, mut v) = bound_pair();
    assert_eq!(reclaim_for(&v), Reclaim::Keep);
    v.spec
        .as_mut()
        .expect("spec")
        .persistent_volume_reclaim_policy = Some("Delete".into());
    match reclaim_for(&v) {
        Reclaim::Fail(event) => assert_eq!(
            event.message,
            "error getting deleter volume plugin for volume \"pv1\": no deletable volume plugin matched"
        ),
        other => panic!("static volumes cannot be deleted, got {other:?}"),
    }
    v.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            PROVISIONED_BY.into(),
            "k8s-sigs.io/nfs-subdir-external-provisioner".into(),
        );
    assert_eq!(
        reclaim_for(&v),
        Reclaim::Delete(SandboxProvisioner::NfsSubdir)
    );
    v.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(PROVISIONED_BY.into(), "ebs.csi.aws.com".into());
    assert_eq!(reclaim_for(&v), Reclaim::LeaveToExternal);
}
