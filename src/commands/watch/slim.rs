//! What the watch keeps of each object it is fed: only the fields the model
//! reads. A listing is buffered whole until it is complete (a relist replaces
//! a kind at once), and a busy namespace holds thousands of Events and pods,
//! most of whose bytes (managedFields, annotations, container specs) the
//! view never looks at.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Container, Event, EventSeries, ObjectReference, PersistentVolumeClaim, Pod, PodSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// An object reduced to what the watch reads of it.
pub trait Slim {
    fn slim(self) -> Self;
}

/// Identity, ownership, labels and lifecycle; no managedFields or annotations.
fn slim_metadata(metadata: ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: metadata.name,
        namespace: metadata.namespace,
        uid: metadata.uid,
        resource_version: metadata.resource_version,
        labels: metadata.labels,
        owner_references: metadata.owner_references,
        creation_timestamp: metadata.creation_timestamp,
        deletion_timestamp: metadata.deletion_timestamp,
        ..ObjectMeta::default()
    }
}

impl Slim for StatefulSet {
    /// Few and read in depth (template, strategy, status): only managedFields go.
    fn slim(mut self) -> Self {
        self.metadata.managed_fields = None;
        self
    }
}

impl Slim for Pod {
    fn slim(self) -> Self {
        // Container names (and init containers' restart policy, which makes a
        // sidecar) are what the status columns count.
        let spec = self.spec.map(|spec| PodSpec {
            node_name: spec.node_name,
            containers: spec
                .containers
                .into_iter()
                .map(|c| Container {
                    name: c.name,
                    ..Container::default()
                })
                .collect(),
            init_containers: spec.init_containers.map(|containers| {
                containers
                    .into_iter()
                    .map(|c| Container {
                        name: c.name,
                        restart_policy: c.restart_policy,
                        ..Container::default()
                    })
                    .collect()
            }),
            ..PodSpec::default()
        });
        Pod {
            metadata: slim_metadata(self.metadata),
            spec,
            status: self.status,
        }
    }
}

impl Slim for PersistentVolumeClaim {
    fn slim(self) -> Self {
        PersistentVolumeClaim {
            metadata: slim_metadata(self.metadata),
            spec: self.spec,
            status: self.status,
        }
    }
}

impl Slim for Event {
    fn slim(self) -> Self {
        let object = self.involved_object;
        Event {
            metadata: ObjectMeta {
                name: self.metadata.name,
                namespace: self.metadata.namespace,
                uid: self.metadata.uid,
                resource_version: self.metadata.resource_version,
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                kind: object.kind,
                name: object.name,
                namespace: object.namespace,
                ..ObjectReference::default()
            },
            reason: self.reason,
            message: self.message,
            type_: self.type_,
            count: self.count,
            series: self.series.map(|series| EventSeries {
                count: series.count,
                ..EventSeries::default()
            }),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::commands::watch::fixtures::{self, PodSpec as Fixture, at, web};
    use crate::commands::watch::model::{Change, PodSummary, SetView};

    fn bulky_pod(fixture: Fixture<'_>) -> Pod {
        let mut pod = fixture.pod();
        pod.metadata.annotations = Some([("note".to_string(), "x".repeat(4096))].into());
        pod.metadata.managed_fields = Some(vec![Default::default(); 3]);
        if let Some(spec) = pod.spec.as_mut() {
            spec.containers[0].image = Some("nginx:1.27".into());
            spec.containers[0].args = Some(vec!["--big".into(); 50]);
            spec.init_containers = Some(vec![Container {
                name: "sidecar".into(),
                restart_policy: Some("Always".into()),
                image: Some("envoy".into()),
                ..Container::default()
            }]);
        }
        pod
    }

    #[test]
    fn a_slim_pod_summarises_as_the_whole_one() {
        for fixture in [
            Fixture::new(0),
            Fixture::new(1).running(),
            Fixture::new(2).ready(),
            Fixture {
                restarts: 4,
                waiting: Some("CrashLoopBackOff"),
                ..Fixture::new(3)
            },
            Fixture {
                terminating: true,
                ..Fixture::new(4).ready()
            },
        ] {
            let pod = bulky_pod(fixture);
            let slim = pod.clone().slim();
            assert_eq!(PodSummary::from_pod(&slim), PodSummary::from_pod(&pod));
            assert!(slim.metadata.annotations.is_none() && slim.metadata.managed_fields.is_none());
            let size = |p: &Pod| serde_json::to_string(p).map_or(0, |s| s.len());
            assert!(
                size(&slim) * 4 < size(&pod),
                "{} vs {}",
                size(&slim),
                size(&pod)
            );
        }
    }

    #[test]
    fn slim_objects_tell_the_view_the_same_story() {
        let feed = |slim: bool| {
            let mut view = SetView::new("default", "web");
            let mut lines = Vec::new();
            let mut changes = vec![Change::SetApplied(Box::new(web()))];
            changes.extend((0..3).map(|n| {
                let pod = bulky_pod(Fixture::new(n).ready());
                Change::PodApplied(Box::new(if slim { pod.slim() } else { pod }))
            }));
            let claim = fixtures::claim(1, "Pending", None);
            changes.push(Change::ClaimApplied(Box::new(if slim {
                claim.slim()
            } else {
                claim
            })));
            let mut event: Event = fixtures::event(
                "e1",
                "7",
                "PersistentVolumeClaim",
                "www-web-1",
                "ProvisioningFailed",
                "storageclass \"fast\" not found",
            );
            event.source = Some(Default::default());
            event.series = Some(serde_json::from_value(json!({"count": 3})).expect("series"));
            changes.push(Change::EventApplied(Box::new(if slim {
                event.slim()
            } else {
                event
            })));
            for change in &changes {
                lines.extend(fixtures::lines(&view.apply(change, at(5.0))));
            }
            lines
        };
        let whole = feed(false);
        assert!(whole.iter().any(|l| l.contains("not found")), "{whole:?}");
        assert_eq!(feed(true), whole);
    }

    /// A first listing buffers every change until it is complete: each must
    /// cost a pointer, not the size of the largest kind (kilobytes).
    #[test]
    fn a_buffered_change_is_two_words() {
        assert!(std::mem::size_of::<Change>() <= 2 * std::mem::size_of::<usize>());
    }
}
