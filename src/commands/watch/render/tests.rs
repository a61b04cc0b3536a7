use super::*;
use crate::commands::watch::fixtures::*;
use crate::commands::watch::model::{Change, Missing};

fn coloured() -> Styling {
    Styling {
        color: true,
        terminal: true,
    }
}

fn partitioned_view() -> SetView {
    view_with(web(), &[(0, OLD), (1, OLD), (2, UPDATE), (3, UPDATE)])
}

#[test]
fn the_header_names_replicas_strategy_partition_and_both_revisions() {
    assert_eq!(
        header_line(&partitioned_view().header()),
        "statefulset default/web: 4 desired, 4 current, 4 ready, 2 updated | RollingUpdate (partition 2) | OrderedReady | revision 7a1b2 -> 5c7f8"
    );
    let absent = SetView::new("default", "web");
    assert_eq!(
        header_line(&absent.header()),
        "statefulset default/web: does not exist (waiting for it to be created)"
    );
}

#[test]
fn rows_mark_old_and_new_revisions_during_a_partitioned_update() {
    let table = rows_table(&partitioned_view(), at(75.0), None, Styling::plain());
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "POD     STATUS    READY   RESTARTS   AGE   REVISION      NODE     CLAIMS"
    );
    assert_eq!(
        lines[1],
        "web-0   Running   1/1     0          75s   7a1b2 (old)   node-1   -"
    );
    assert!(lines[3].contains("5c7f8 (new)"), "{table}");
    assert!(lines[4].starts_with("web-3"), "{table}");
}

#[test]
fn missing_ordinals_have_rows_and_limits_summarise_the_rest() {
    let mut view = view_with(with_replicas(web(), 5), &[(0, UPDATE), (1, UPDATE)]);
    view.apply(
        &Change::PodDeleted(Box::new(PodSpec::new(1).pod())),
        at(2.0),
    );
    let table = rows_table(&view, at(3.0), None, Styling::plain());
    assert!(table.contains("web-1   gone"), "{table}");
    assert!(table.contains("web-4   not created"), "{table}");
    let limited = rows_table(&view, at(3.0), Some(2), Styling::plain());
    assert!(
        limited.ends_with("... 3 more ordinals (2-4): 0 Ready\n"),
        "{limited}"
    );
}

#[test]
fn log_lines_are_timestamped_and_plain_unless_colour_is_on() {
    let mut view = view_with(web(), &[]);
    let transitions = view.apply(
        &Change::PodApplied(Box::new(
            PodSpec {
                waiting: Some("CrashLoopBackOff"),
                restarts: 2,
                ..PodSpec::new(3)
            }
            .pod(),
        )),
        at(1.5),
    );
    let plain = log_line(&transitions[0], false, Styling::plain());
    assert_eq!(
        plain,
        "2027-01-15T08:00:01.500Z web-3 created (revision 5c7f8)"
    );
    assert!(!plain.contains('\u{1b}'));
    let problem = transitions
        .iter()
        .find(|t| t.kind.is_problem())
        .expect("a problem line");
    let painted = log_line(problem, true, coloured());
    assert!(painted.contains("\u{1b}[31mdefault/web-3"), "{painted}");
}

#[test]
fn json_records_use_stable_camel_case_fields() {
    let mut view = view_with(web(), &[]);
    let transitions = view.apply(
        &Change::PodApplied(Box::new(PodSpec::new(2).pod())),
        at(0.0),
    );
    let line = json_line(&TransitionRecord::from(&transitions[0])).expect("encodes");
    assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
    let value: serde_json::Value = serde_json::from_str(&line).expect("parses");
    assert_eq!(value["type"], "podCreated");
    assert_eq!(value["statefulSet"], "web");
    assert_eq!(value["ordinal"], 2);
    assert_eq!(value["pod"], "web-2");
    assert_eq!(value["revision"], UPDATE);
    assert_eq!(value["message"], "web-2 created (revision 5c7f8)");

    let state = json_line(&StateRecord::of(&partitioned_view(), at(1.0))).expect("encodes");
    let value: serde_json::Value = serde_json::from_str(&state).expect("parses");
    assert_eq!(value["type"], "state");
    assert_eq!(value["rows"][0]["updated"], false);
    assert_eq!(value["rows"][3]["updated"], true);
    assert_eq!(value["rows"][0]["claims"][0]["name"], "www-web-0");
    assert_eq!(value["rows"][0]["claims"][0]["phase"], "Missing");
}

#[test]
fn the_until_summary_names_what_is_missing() {
    let missing = [
        Missing::PodNotReady {
            pod: "web-2".into(),
            status: "CrashLoopBackOff".into(),
            restarts: 4,
            claim: None,
        },
        Missing::PodsOnOldRevision {
            pods: vec!["web-1".into(), "web-0".into()],
            revision: "5c7f8".into(),
        },
    ];
    let strings: Vec<String> = missing.iter().map(ToString::to_string).collect();
    assert_eq!(
        missing_summary(UntilCondition::Rolled, "web", &strings),
        "waiting for statefulset web to roll out: web-2 not Ready: CrashLoopBackOff (restarts 4); web-1, web-0 not yet on revision 5c7f8"
    );
}

#[test]
fn truncation_counts_visible_characters_and_closes_colours() {
    assert_eq!(truncate_visible("abcdef", 3), "abc");
    assert_eq!(truncate_visible("ab", 3), "ab");
    assert_eq!(
        truncate_visible("\u{1b}[31mabcdef\u{1b}[0m", 2),
        "\u{1b}[31mab\u{1b}[0m"
    );
}

#[test]
fn the_frame_fits_the_terminal() {
    let view = view_with(with_replicas(web(), 40), &[(0, UPDATE)]);
    let log: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let lines = frame(
        std::iter::once(&view),
        &log,
        "watching",
        at(1.0),
        (30, 24),
        Styling::plain(),
    );
    assert_eq!(lines.len(), 24);
    assert!(lines.iter().all(|l| l.chars().count() <= 30));
    assert_eq!(lines.last().map(String::as_str), Some("line 49"));
    assert!(lines.iter().any(|l| l.starts_with("... ")), "{lines:#?}");
}
