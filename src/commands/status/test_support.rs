//! Fixtures for the unit tests of `status`: YAML snapshots under
//! tests/fixtures/status, a fixed clock, and lookups into a report.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;

use super::checks::{Check, CheckId};
use super::report::{self, Settings, StatusReport};
use super::snapshot::{self, Related, Snapshot};

/// The fixtures' "now": pods were created around 08:00, claims at 08:50.
pub const NOW: &str = "2026-11-23T09:00:00Z";

pub fn fixture(name: &str) -> Snapshot {
    let path = format!(
        "{}/tests/fixtures/status/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    snapshot::from_yaml(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn settings_at(now: &str) -> Settings {
    Settings {
        cluster_domain: "cluster.local".to_string(),
        now: now.parse::<Timestamp>().expect("valid timestamp"),
    }
}

/// The report of the snapshot's first StatefulSet, at [`NOW`].
pub fn report_of(snapshot: &Snapshot) -> StatusReport {
    report_at(snapshot, NOW)
}

pub fn report_at(snapshot: &Snapshot, now: &str) -> StatusReport {
    let set = &snapshot.inventory.statefulsets[0];
    report::build(&Related::gather(set, snapshot), &settings_at(now))
}

pub fn set_mut(snapshot: &mut Snapshot) -> &mut StatefulSet {
    &mut snapshot.inventory.statefulsets[0]
}

pub fn ids(report: &StatusReport) -> Vec<&'static str> {
    report.checks.iter().map(|c| c.id.as_str()).collect()
}

pub fn find(report: &StatusReport, id: CheckId) -> &Check {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {} check in {:?}", id.as_str(), ids(report)))
}
