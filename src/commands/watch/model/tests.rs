use super::*;
use crate::commands::watch::fixtures::*;

#[test]
fn ordered_creation_reads_as_created_then_ready_with_the_time_it_took() {
    let mut view = SetView::new("default", "web");
    let mut log = Vec::new();
    log.extend(view.apply(
        &Change::SetApplied(Box::new(with_replicas(web(), 2))),
        at(0.0),
    ));
    let web0 = PodSpec {
        created: 0.0,
        ..PodSpec::new(0)
    };
    log.extend(view.apply(&Change::PodApplied(Box::new(web0.pod())), at(0.1)));
    log.extend(
        view.apply(
            &Change::PodApplied(Box::new(
                PodSpec {
                    created: 0.0,
                    ..PodSpec::new(0)
                }
                .running()
                .pod(),
            )),
            at(1.0),
        ),
    );
    log.extend(
        view.apply(
            &Change::PodApplied(Box::new(
                PodSpec {
                    created: 0.0,
                    ..PodSpec::new(0)
                }
                .ready()
                .pod(),
            )),
            at(3.3),
        ),
    );
    log.extend(
        view.apply(
            &Change::PodApplied(Box::new(
                PodSpec {
                    created: 3.0,
                    ..PodSpec::new(1)
                }
                .pod(),
            )),
            at(3.4),
        ),
    );
    assert_eq!(
        lines(&log),
        vec![
            "statefulset web created: 2 replicas, revision 5c7f8",
            "web-0 created (revision 5c7f8)",
            "web-0 ContainerCreating",
            "web-0 Running",
            "web-0 Ready after 3.2s",
            "web-1 created (revision 5c7f8)",
            "web-1 ContainerCreating",
        ]
    );
    // Re-applying the same state says nothing.
    let again = view.apply(
        &Change::PodApplied(Box::new(
            PodSpec {
                created: 3.0,
                ..PodSpec::new(1)
            }
            .pod(),
        )),
        at(5.0),
    );
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_pod_found_long_after_creation_is_ready_after_its_creation_timestamp() {
    let mut view = view_with(web(), &[]);
    view.apply(
        &Change::PodApplied(Box::new(PodSpec::new(0).running().pod())),
        at(60.0),
    );
    let log = view.apply(
        &Change::PodApplied(Box::new(PodSpec::new(0).ready().pod())),
        at(61.5),
    );
    assert_eq!(lines(&log), vec!["web-0 Ready after 61s"]);
}

#[test]
fn restarts_crash_loops_and_lost_readiness_are_reported() {
    let mut view = view_with(web(), &[(3, UPDATE)]);
    let crashing = |restarts| PodSpec {
        waiting: Some("CrashLoopBackOff"),
        restarts,
        ..PodSpec::new(3)
    };
    let log = view.apply(&Change::PodApplied(Box::new(crashing(1).pod())), at(10.0));
    assert_eq!(
        lines(&log),
        vec![
            "web-3 CrashLoopBackOff (restarts 1)",
            "web-3 restarted (restarts 1)",
            "web-3 not Ready (CrashLoopBackOff)",
        ]
    );
    assert!(log.iter().all(|t| t.kind.is_problem()));
    let log = view.apply(&Change::PodApplied(Box::new(crashing(2).pod())), at(20.0));
    assert_eq!(lines(&log), vec!["web-3 restarted (restarts 2)"]);
    assert_eq!(view.pod(3).map(|p| p.restarts), Some(2));
}

#[test]
fn a_pod_recreated_on_another_revision_says_so() {
    let mut view = view_with(web(), &[(2, OLD)]);
    let mut log = view.apply(
        &Change::PodApplied(Box::new(
            PodSpec {
                terminating: true,
                revision: OLD,
                ..PodSpec::new(2)
            }
            .ready()
            .pod(),
        )),
        at(1.0),
    );
    log.extend(view.apply(
        &Change::PodDeleted(Box::new(PodSpec::new(2).pod())),
        at(2.0),
    ));
    let recreated = PodSpec {
        uid: "uid-web-2-b",
        created: 2.0,
        ..PodSpec::new(2)
    };
    log.extend(view.apply(&Change::PodApplied(Box::new(recreated.pod())), at(2.1)));
    assert_eq!(
        lines(&log),
        vec![
            "web-2 terminating",
            "web-2 deleted",
            "web-2 created (revision 5c7f8)",
            "web-2 -> revision 5c7f8",
            "web-2 ContainerCreating",
        ]
    );
}

#[test]
fn an_evicted_pod_says_it_was_evicted_as_it_terminates() {
    let mut view = view_with(web(), &[(2, OLD)]);
    let mut evicted = PodSpec {
        terminating: true,
        revision: OLD,
        ..PodSpec::new(2)
    }
    .ready()
    .pod();
    let marked: Vec<k8s_openapi::api::core::v1::PodCondition> =
        serde_json::from_value(serde_json::json!([
            {"type": "Ready", "status": "True"},
            {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
             "message": "Eviction API: evicting"}
        ]))
        .unwrap();
    evicted.status.as_mut().unwrap().conditions = Some(marked);
    let log = view.apply(&Change::PodApplied(Box::new(evicted)), at(1.0));
    assert_eq!(
        lines(&log),
        vec!["web-2 terminating: evicted through the eviction API (a drain, an autoscaler)"]
    );
    let record = crate::commands::watch::render::TransitionRecord::from(&log[0]);
    assert_eq!(record.reason.as_deref(), Some("EvictionByEvictionAPI"));
}

#[test]
fn a_new_uid_at_the_same_ordinal_means_the_old_pod_went_unseen() {
    let mut view = view_with(web(), &[(1, OLD)]);
    let replacement = PodSpec {
        uid: "other",
        ..PodSpec::new(1)
    };
    let log = view.apply(&Change::PodApplied(Box::new(replacement.pod())), at(5.0));
    assert_eq!(
        lines(&log)[..3],
        [
            "web-1 deleted",
            "web-1 created (revision 5c7f8)",
            "web-1 -> revision 5c7f8"
        ]
    );
}

#[test]
fn set_changes_are_reported_scale_partition_revision_and_completion() {
    let mut view = view_with(web(), &[]);
    let mut changed = with_replicas(web(), 5);
    if let Some(strategy) = changed.spec.update_strategy.as_mut()
        && let Some(rolling) = strategy.rolling_update.as_mut()
    {
        rolling.partition = Some(0);
    }
    if let Some(status) = changed.status.as_mut() {
        status.update_revision = Some("web-9e8d7c6b5".into());
    }
    let log = view.apply(&Change::SetApplied(Box::new(changed.clone())), at(1.0));
    assert_eq!(
        lines(&log),
        vec![
            "web scaled 4 -> 5",
            "web partition 2 -> 0",
            "web update revision 5c7f8 -> 9e8d7"
        ]
    );
    if let Some(status) = changed.status.as_mut() {
        status.replicas = 5;
        status.ready_replicas = Some(5);
        status.updated_replicas = Some(5);
        status.current_revision = Some("web-9e8d7c6b5".into());
    }
    let log = view.apply(&Change::SetApplied(Box::new(changed)), at(2.0));
    assert_eq!(
        lines(&log),
        vec!["web rollout complete: 5 pods Ready at revision 9e8d7"]
    );
    let log = view.apply(&Change::SetDeleted(Box::new(web())), at(3.0));
    assert_eq!(lines(&log), vec!["statefulset web deleted"]);
}

#[test]
fn rows_cover_every_ordinal_in_order_including_missing_and_condemned_ones() {
    let mut view = view_with(with_replicas(web(), 3), &[(0, OLD), (4, UPDATE)]);
    view.apply(
        &Change::ClaimApplied(Box::new(claim(0, "Bound", Some("pvc-0")))),
        at(0.0),
    );
    let rows = view.rows(at(30.0));
    let ordinals: Vec<i32> = rows.iter().map(|r| r.ordinal).collect();
    assert_eq!(ordinals, vec![0, 1, 2, 3, 4]);
    assert!(rows[0].pod.is_some() && rows[1].pod.is_none() && rows[3].pod.is_none());
    assert_eq!(
        rows.iter().map(|r| r.in_range).collect::<Vec<_>>(),
        vec![true, true, true, false, false]
    );
    assert_eq!(rows[0].revision, Some((OLD.to_string(), RevisionAge::Old)));
    assert_eq!(
        rows[4].revision,
        Some((UPDATE.to_string(), RevisionAge::New))
    );
    assert_eq!(rows[0].age, Some(Duration::from_secs(30)));
    assert_eq!(
        rows[0].claims[0].1.as_ref().map(|c| c.phase.as_str()),
        Some("Bound")
    );
    assert_eq!(rows[1].claims, vec![("www".to_string(), None)]);
}

#[test]
fn ordinals_start_where_the_set_says() {
    let mut set = with_replicas(web(), 2);
    set.spec.ordinals = Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
    let view = view_with(set, &[(6, UPDATE)]);
    let rows: Vec<i32> = view.rows(at(1.0)).iter().map(|r| r.ordinal).collect();
    assert_eq!(rows, vec![5, 6]);
}

#[test]
fn until_rolled_holds_for_a_partition_once_the_ordinals_above_it_are_new() {
    let view = view_with(web(), &[(0, OLD), (1, OLD), (2, UPDATE), (3, UPDATE)]);
    assert!(view.status_says_met(UntilCondition::Rolled));
    assert_eq!(view.evaluate(UntilCondition::Rolled, at(1.0)), vec![]);

    let mut set = web();
    if let Some(status) = set.status.as_mut() {
        status.updated_replicas = Some(1);
    }
    let view = view_with(set, &[(0, OLD), (1, OLD), (2, OLD), (3, UPDATE)]);
    assert!(!view.status_says_met(UntilCondition::Rolled));
    let missing = view.evaluate(UntilCondition::Rolled, at(1.0));
    assert_eq!(
        missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["web-2 not yet on revision 5c7f8"]
    );
}

#[test]
fn until_rolled_names_the_blocked_ordinal_first() {
    let mut set = with_replicas(web(), 3);
    if let Some(strategy) = set.spec.update_strategy.as_mut() {
        strategy.rolling_update = Some(Default::default());
    }
    let mut view = view_with(set, &[(0, OLD), (1, OLD)]);
    let crashing = PodSpec {
        waiting: Some("CrashLoopBackOff"),
        restarts: 4,
        ..PodSpec::new(2)
    };
    view.apply(&Change::PodApplied(Box::new(crashing.pod())), at(1.0));
    let missing: Vec<String> = view
        .evaluate(UntilCondition::Rolled, at(2.0))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        missing,
        vec![
            "web-2 not Ready: CrashLoopBackOff (restarts 4)",
            "web-1, web-0 not yet on revision 5c7f8",
        ]
    );
}

#[test]
fn until_ready_waits_for_every_desired_pod_and_for_scale_down_to_finish() {
    let mut set = with_replicas(web(), 3);
    if let Some(status) = set.status.as_mut() {
        status.replicas = 3;
        status.ready_replicas = Some(2);
        status.available_replicas = Some(2);
    }
    let view = view_with(set.clone(), &[(0, UPDATE), (1, UPDATE)]);
    assert!(!view.status_says_met(UntilCondition::Ready));
    assert_eq!(
        view.evaluate(UntilCondition::Ready, at(1.0)),
        vec![Missing::PodAbsent {
            pod: "web-2".into()
        }]
    );

    let view = view_with(
        set.clone(),
        &[(0, UPDATE), (1, UPDATE), (2, UPDATE), (3, UPDATE)],
    );
    let missing = view.evaluate(UntilCondition::Ready, at(1.0));
    assert_eq!(
        missing[0].to_string(),
        "web-3 still present (scaling down to 3)"
    );

    if let Some(status) = set.status.as_mut() {
        status.ready_replicas = Some(3);
        status.available_replicas = Some(3);
    }
    let view = view_with(set, &[(0, UPDATE), (1, UPDATE), (2, UPDATE)]);
    assert!(view.status_says_met(UntilCondition::Ready));
    assert!(view.evaluate(UntilCondition::Ready, at(1.0)).is_empty());
}

#[test]
fn min_ready_seconds_delays_availability() {
    let mut set = with_replicas(web(), 1);
    set.spec.min_ready_seconds = Some(10);
    let view = view_with(set, &[(0, UPDATE)]);
    // Ready since t=1 (the fixture's lastTransitionTime).
    assert_eq!(
        view.evaluate(UntilCondition::Ready, at(5.0))[0].to_string(),
        "web-0 Ready for less than minReadySeconds (10s)"
    );
    assert!(
        !view
            .evaluate(UntilCondition::Ready, at(12.0))
            .iter()
            .any(|m| matches!(m, Missing::PodNotAvailable { .. }))
    );
}

#[test]
fn until_deleted_and_until_anything_on_an_absent_set() {
    let mut view = SetView::new("default", "web");
    assert!(view.evaluate(UntilCondition::Deleted, at(0.0)).is_empty());
    assert_eq!(
        view.evaluate(UntilCondition::Ready, at(0.0))[0].to_string(),
        "statefulset web does not exist"
    );
    view.apply(&Change::SetApplied(Box::new(web())), at(0.0));
    assert!(!view.status_says_met(UntilCondition::Deleted));
    assert_eq!(
        view.evaluate(UntilCondition::Deleted, at(0.0))[0].to_string(),
        "statefulset web still exists (0 pods)"
    );
}

#[test]
fn an_unobserved_spec_change_is_missing() {
    let mut set = web();
    set.metadata.generation = Some(3);
    let view = view_with(set, &[(0, OLD), (1, OLD), (2, UPDATE), (3, UPDATE)]);
    assert!(!view.status_says_met(UntilCondition::Rolled));
    assert!(matches!(
        view.evaluate(UntilCondition::Rolled, at(0.0))[0],
        Missing::SpecNotObserved {
            generation: 3,
            observed: 2,
            ..
        }
    ));
}

#[test]
fn claims_report_pending_with_the_reason_from_events_then_bound() {
    let mut view = view_with(web(), &[]);
    let log = view.apply(
        &Change::ClaimApplied(Box::new(claim(3, "Pending", None))),
        at(0.0),
    );
    assert_eq!(lines(&log), vec!["claim www-web-3 created (Pending)"]);
    let message = "no persistent volumes available for this claim and no storage class is set";
    let failed = event(
        "e1",
        "10",
        "PersistentVolumeClaim",
        "www-web-3",
        "FailedBinding",
        message,
    );
    let log = view.apply(&Change::EventApplied(Box::new(failed.clone())), at(1.0));
    assert_eq!(
        lines(&log),
        vec![format!("claim www-web-3 Pending: {message}")]
    );
    // The same event seen again (a relist) is not news.
    assert!(
        view.apply(&Change::EventApplied(Box::new(failed)), at(2.0))
            .is_empty()
    );
    assert_eq!(
        view.claim(3, "www")
            .and_then(|c| c.pending_reason.as_deref()),
        Some(message)
    );
    let log = view.apply(
        &Change::ClaimApplied(Box::new(claim(3, "Bound", Some("pvc-9")))),
        at(3.0),
    );
    assert_eq!(lines(&log), vec!["claim www-web-3 Bound to pvc-9"]);
}

#[test]
fn a_pending_reason_that_arrives_before_its_claim_is_kept() {
    let mut view = view_with(web(), &[]);
    let message = "storageclass.storage.k8s.io \"nfs\" not found";
    let failed = event(
        "e9",
        "3",
        "PersistentVolumeClaim",
        "www-web-1",
        "ProvisioningFailed",
        message,
    );
    let log = view.apply(&Change::EventApplied(Box::new(failed)), at(0.0));
    assert_eq!(
        lines(&log),
        vec![format!("claim www-web-1 Pending: {message}")]
    );
    view.apply(
        &Change::ClaimApplied(Box::new(claim(1, "Pending", None))),
        at(1.0),
    );
    assert_eq!(
        view.claim(1, "www")
            .and_then(|c| c.pending_reason.as_deref()),
        Some(message)
    );
    view.apply(
        &Change::ClaimApplied(Box::new(claim(1, "Bound", Some("pv-1")))),
        at(2.0),
    );
    assert_eq!(
        view.claim(1, "www").and_then(|c| c.pending_reason.clone()),
        None
    );
}

#[test]
fn a_pod_blocked_on_its_claim_says_why() {
    let mut view = view_with(with_replicas(web(), 1), &[]);
    view.apply(
        &Change::ClaimApplied(Box::new(claim(0, "Pending", None))),
        at(0.0),
    );
    view.apply(
        &Change::PodApplied(Box::new(
            PodSpec {
                waiting: None,
                ..PodSpec::new(0)
            }
            .pod(),
        )),
        at(0.0),
    );
    let missing = view.evaluate(UntilCondition::Ready, at(1.0));
    assert_eq!(
        missing[0].to_string(),
        "web-0 not Ready: Running; claim www-web-0 Pending"
    );
}

#[test]
fn events_are_attached_to_the_set_its_pods_and_claims_only() {
    let mut view = view_with(web(), &[]);
    let backoff = event(
        "e2",
        "5",
        "Pod",
        "web-2",
        "BackOff",
        "Back-off restarting failed container nginx",
    );
    let log = view.apply(&Change::EventApplied(Box::new(backoff)), at(0.0));
    assert_eq!(
        lines(&log),
        vec!["pod/web-2 BackOff: Back-off restarting failed container nginx"]
    );
    assert!(log[0].kind.is_problem());
    let other = event("e3", "6", "Pod", "webby-0", "BackOff", "x");
    assert!(
        view.apply(&Change::EventApplied(Box::new(other)), at(0.0))
            .is_empty()
    );
    let again = event(
        "e2",
        "7",
        "Pod",
        "web-2",
        "BackOff",
        "Back-off restarting failed container nginx",
    );
    assert_eq!(
        view.apply(&Change::EventApplied(Box::new(again)), at(1.0))
            .len(),
        1
    );
}

#[test]
fn a_relist_reports_what_went_missing_and_nothing_else() {
    let mut sets = WatchedSets::new(WatchTarget::One {
        namespace: "default".into(),
        name: "web".into(),
    });
    sets.apply(&Change::SetApplied(Box::new(web())), at(0.0));
    for ordinal in 0..3 {
        sets.apply(
            &Change::PodApplied(Box::new(PodSpec::new(ordinal).ready().pod())),
            at(0.0),
        );
    }
    let listed = (0..2)
        .map(|o| Change::PodApplied(Box::new(PodSpec::new(o).ready().pod())))
        .collect();
    let log = sets.relist(WatchedKind::Pods, listed, at(5.0));
    assert_eq!(lines(&log), vec!["web-2 deleted"]);
    let log = sets.relist(WatchedKind::Sets, vec![], at(6.0));
    assert_eq!(lines(&log), vec!["statefulset web deleted"]);
}

#[test]
fn watching_every_set_routes_pods_by_owner_and_adopts_early_claims() {
    let mut sets = WatchedSets::new(WatchTarget::All {
        namespace: Some("default".into()),
    });
    // The claim arrives before its set (separate watches race).
    assert!(
        sets.apply(
            &Change::ClaimApplied(Box::new(claim(0, "Bound", Some("pvc-0")))),
            at(0.0)
        )
        .is_empty()
    );
    let log = sets.apply(&Change::SetApplied(Box::new(web())), at(1.0));
    assert_eq!(
        lines(&log),
        vec![
            "statefulset web created: 4 replicas, revision 5c7f8",
            "claim www-web-0 created (Bound)"
        ]
    );
    let mut other = web();
    other.metadata.name = Some("db".into());
    other.metadata.namespace = Some("other".into());
    assert!(
        sets.apply(&Change::SetApplied(Box::new(other)), at(1.0))
            .is_empty()
    );
    sets.apply(
        &Change::PodApplied(Box::new(PodSpec::new(1).pod())),
        at(2.0),
    );
    let web_view = sets.view("default", "web").expect("web is watched");
    assert!(web_view.pod(1).is_some());
    assert_eq!(sets.views().count(), 1);
    // A deleted set stays in view until its last pod is gone.
    sets.apply(&Change::SetDeleted(Box::new(web())), at(3.0));
    assert_eq!(sets.views().count(), 1);
    let log = sets.apply(
        &Change::PodDeleted(Box::new(PodSpec::new(1).pod())),
        at(4.0),
    );
    assert_eq!(lines(&log), vec!["web-1 deleted"]);
    assert_eq!(sets.views().count(), 0);
}

#[test]
fn durations_revisions_and_claim_names() {
    assert_eq!(human_duration(Duration::from_secs(59)), "59s");
    assert_eq!(human_duration(Duration::from_secs(125)), "2m5s");
    assert_eq!(
        human_duration(Duration::from_secs(3600 * 5 + 60 * 3)),
        "5h3m"
    );
    assert_eq!(human_duration(Duration::from_secs(3600 * 30)), "30h");
    assert_eq!(
        human_duration(Duration::from_secs(86400 * 3 + 3600)),
        "3d1h"
    );
    assert_eq!(short_duration(Duration::from_millis(3240)), "3.2s");
    assert_eq!(short_revision("web", "web-5c7f8d9b6"), "5c7f8");
    assert_eq!(short_revision("web", "other-123456"), "other");
    assert_eq!(
        split_claim_name("web", "www-web-12"),
        Some(("www".into(), 12))
    );
    assert_eq!(
        split_claim_name("web", "data-x-web-0"),
        Some(("data-x".into(), 0))
    );
    assert_eq!(split_claim_name("web", "www-webby-0"), None);
    assert_eq!(split_claim_name("web", "web-0"), None);
}

#[test]
fn a_view_from_listed_objects_holds_what_was_listed() {
    let pods = [PodSpec::new(0).ready().pod(), PodSpec::new(1).pod()];
    let claims = [claim(0, "Bound", Some("pv-0"))];
    let view = SetView::from_objects(&web(), &pods, &claims, at(1.0));
    assert_eq!(view.name(), "web");
    assert_eq!(view.namespace(), "default");
    assert_eq!(view.pods().map(|(o, _)| o).collect::<Vec<_>>(), vec![0, 1]);
    assert!(view.pod(0).is_some_and(|p| p.ready));
    assert_eq!(
        view.claim(0, "www").map(|c| c.phase.as_str()),
        Some("Bound")
    );
}
