//! Tests of the retention policy's selection.

use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn artifact(id: i64, repo: &str, tags: &[&str], pushed_days_ago: i64) -> Candidate {
    Candidate {
        id,
        repository: repo.into(),
        digest: format!("sha256:{id:064x}"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        push_time: now() - Duration::days(pushed_days_ago),
        pull_time: None,
        immutable_tags: Vec::new(),
        children: Vec::new(),
        labels: Vec::new(),
    }
}

fn rule(tags: &str, template: Template) -> Rule {
    Rule {
        repositories: Selector::everything(),
        tags: Selector::matches(tags),
        untagged: false,
        template,
        disabled: false,
        labels: Vec::new(),
    }
}

fn verdicts(decisions: &[Decision]) -> Vec<(String, Verdict)> {
    decisions
        .iter()
        .map(|d| (d.tags.join("+"), d.verdict))
        .collect()
}

/// The seed's three rules on 30 tags: 15 `v*` releases, `latest`, 6 `release-*`, 8 others.
fn seed_fixture() -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    for i in 1..=15 {
        out.push(artifact(next(), "app", &[&format!("v1.{i}")], 40 - i));
    }
    out.push(artifact(next(), "app", &["latest"], 3));
    for i in 1..=6 {
        out.push(artifact(next(), "app", &[&format!("release-{i}")], 300 + i));
    }
    for i in 1..=8 {
        out.push(artifact(next(), "app", &[&format!("dev-{i}")], i));
    }
    assert_eq!(out.len(), 30);
    out
}

fn seed_rules() -> Vec<Rule> {
    vec![
        rule("v*", Template::LatestPushedK(10)),
        rule("latest", Template::NDaysSinceLastPush(7)),
        rule("release-*", Template::Always),
    ]
}

#[test]
fn the_seed_rules_on_thirty_tags() {
    let decisions = evaluate(&seed_rules(), &seed_fixture(), now());
    let kept: Vec<String> = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Keep)
        .map(|d| d.tags.join(""))
        .collect();
    let mut expected: Vec<String> = (6..=15).map(|i| format!("v1.{i}")).collect();
    expected.push("latest".into());
    expected.extend((1..=6).map(|i| format!("release-{i}")));
    assert_eq!(kept, expected);
    let deleted = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Delete)
        .count();
    assert_eq!(deleted, 5 + 8, "v1.1-v1.5 and the dev tags");
    assert!(
        decisions[15].reason.contains("rule 2"),
        "{}",
        decisions[15].reason
    );
}

#[test]
fn every_template() {
    let mut c = vec![
        artifact(1, "r", &["a"], 10),
        artifact(2, "r", &["b"], 5),
        artifact(3, "r", &["c"], 1),
    ];
    c[0].pull_time = Some(now() - Duration::days(1));
    c[1].pull_time = Some(now() - Duration::days(20));
    let keep = |t: Template| -> Vec<i64> {
        evaluate(&[rule("*", t)], &c, now())
            .iter()
            .filter(|d| d.verdict == Verdict::Keep)
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(keep(Template::LatestPushedK(2)), [2, 3]);
    assert_eq!(keep(Template::LatestPulledN(1)), [1]);
    assert_eq!(
        keep(Template::LatestPulledN(2)),
        [1, 2],
        "never pulled comes last"
    );
    assert_eq!(keep(Template::NDaysSinceLastPush(6)), [2, 3]);
    assert_eq!(keep(Template::NDaysSinceLastPull(7)), [1]);
    assert_eq!(keep(Template::Always), [1, 2, 3]);
    assert_eq!(keep(Template::LatestPushedK(0)), Vec::<i64>::new());
}

#[test]
fn ties_in_push_time_keep_the_later_stored() {
    let c = vec![
        artifact(7, "r", &["x"], 2),
        artifact(9, "r", &["y"], 2),
        artifact(8, "r", &["z"], 2),
    ];
    let d = evaluate(&[rule("*", Template::LatestPushedK(1))], &c, now());
    assert_eq!(
        verdicts(&d),
        [
            ("x".into(), Verdict::Delete),
            ("y".into(), Verdict::Keep),
            ("z".into(), Verdict::Delete)
        ]
    );
}

#[test]
fn selectors_combine_per_repository() {
    let c = vec![
        artifact(1, "web/app", &["v1"], 3),
        artifact(2, "web/app", &["v2"], 2),
        artifact(3, "db", &["v1"], 3),
        artifact(4, "db", &["v2"], 2),
        artifact(5, "web/app", &["dev"], 1),
    ];
    let rules = vec![Rule {
        repositories: Selector::matches("web/**"),
        tags: Selector::excludes("dev*"),
        untagged: false,
        template: Template::LatestPushedK(1),
        disabled: false,
        labels: Vec::new(),
    }];
    let d = evaluate(&rules, &c, now());
    assert_eq!(
        d.iter().map(|x| x.verdict).collect::<Vec<_>>(),
        [
            Verdict::Delete,
            Verdict::Keep,
            Verdict::Untouched,
            Verdict::Untouched,
            Verdict::Delete
        ],
        "K counts per repository; other repositories are untouched"
    );
    // A disabled rule selects nothing.
    let mut off = rules.clone();
    off[0].disabled = true;
    assert!(evaluate(&off, &c, now())
        .iter()
        .all(|x| x.verdict == Verdict::Untouched));
}

#[test]
fn untagged_artifacts_only_when_a_rule_includes_them() {
    let c = vec![
        artifact(1, "r", &[], 30),
        artifact(2, "r", &[], 1),
        artifact(3, "r", &["v1"], 1),
    ];
    let without = evaluate(&[rule("v*", Template::Always)], &c, now());
    assert_eq!(without[0].verdict, Verdict::Untouched);
    let mut with = rule("v*", Template::NDaysSinceLastPush(7));
    with.untagged = true;
    let d = evaluate(&[with], &c, now());
    assert_eq!(
        d.iter().map(|x| x.verdict).collect::<Vec<_>>(),
        [Verdict::Delete, Verdict::Keep, Verdict::Keep]
    );
}

#[test]
fn immutable_tags_are_skipped_not_deleted() {
    let mut c = seed_fixture();
    c[0].immutable_tags = vec!["v1.1".into()];
    let d = evaluate(&seed_rules(), &c, now());
    assert_eq!(d[0].verdict, Verdict::Skip);
    assert!(d[0].reason.contains("immutable"));
    assert_eq!(d[1].verdict, Verdict::Delete);
}

/// Images `1.0` and `1.1`, a multi-arch index `multi` over both, and the index's own
/// untagged image for a third platform.
fn index_fixture() -> Vec<Candidate> {
    let mut multi = artifact(4, "r", &["multi"], 1);
    let one_zero = artifact(1, "r", &["1.0"], 3);
    let one_one = artifact(2, "r", &["1.1"], 2);
    let arm = artifact(3, "r", &[], 1);
    multi.children = vec![
        one_zero.digest.clone(),
        one_one.digest.clone(),
        arm.digest.clone(),
    ];
    vec![one_zero, one_one, arm, multi]
}

#[test]
fn every_tagged_artifact_is_decided_and_a_deleted_index_does_not_protect() {
    // The case of the bug report: "keep the latest 1 of tags 1.*". Every tagged artifact
    // has a verdict; `multi` matches no rule and goes, so nothing protects `1.0`.
    let d = evaluate(
        &[rule("1.*", Template::LatestPushedK(1))],
        &index_fixture(),
        now(),
    );
    assert_eq!(
        verdicts(&d),
        [
            ("1.0".into(), Verdict::Delete),
            ("1.1".into(), Verdict::Keep),
            ("".into(), Verdict::Untouched),
            ("multi".into(), Verdict::Delete),
        ]
    );
    // An index goes before the images it references.
    let order = deletion_order(&index_fixture(), &d);
    assert_eq!(order, [3, 0], "multi (index 3) first, then 1.0");
}

#[test]
fn an_index_that_stays_keeps_every_image_it_references() {
    for rules in [
        vec![rule("multi", Template::Always)],
        vec![rule("m*", Template::LatestPushedK(1))],
        vec![
            rule("multi", Template::NDaysSinceLastPush(7)),
            rule("1.*", Template::LatestPushedK(0)),
        ],
    ] {
        let mut with_untagged = rules.clone();
        with_untagged[0].untagged = true;
        for rules in [rules, with_untagged] {
            let d = evaluate(&rules, &index_fixture(), now());
            assert_eq!(d[3].verdict, Verdict::Keep, "{rules:?}");
            for child in &d[..2] {
                assert_eq!(child.verdict, Verdict::Keep, "{rules:?}: {child:?}");
                assert!(
                    child.reason.contains("for index `multi`"),
                    "{}",
                    child.reason
                );
            }
            assert_ne!(d[2].verdict, Verdict::Delete, "{rules:?}");
            assert!(deletion_order(&index_fixture(), &d).is_empty());
        }
    }
}

#[test]
fn an_index_protected_by_an_immutable_tag_keeps_its_images() {
    let mut c = index_fixture();
    c[3].immutable_tags = vec!["multi".into()];
    let d = evaluate(&[rule("1.*", Template::LatestPushedK(1))], &c, now());
    assert_eq!(d[3].verdict, Verdict::Skip);
    assert_eq!(d[0].verdict, Verdict::Keep, "{}", d[0].reason);
}

#[test]
fn a_rule_with_labels_selects_only_artifacts_carrying_all_of_them() {
    let mut approved = artifact(1, "r", &["v1"], 5);
    approved.labels = vec!["approved".into(), "prod".into()];
    let mut half = artifact(2, "r", &["v2"], 4);
    half.labels = vec!["approved".into()];
    let plain = artifact(3, "r", &["v3"], 3);
    let mut keep_approved = rule("**", Template::Always);
    keep_approved.labels = vec!["approved".into(), "prod".into()];
    let d = evaluate(&[keep_approved], &[approved, half, plain], now());
    assert_eq!(
        d.iter().map(|x| x.verdict).collect::<Vec<_>>(),
        [Verdict::Keep, Verdict::Delete, Verdict::Delete],
        "{d:?}"
    );
    assert!(
        d[0].reason.contains("labelled approved and prod"),
        "{}",
        d[0].reason
    );
}

#[test]
fn nested_indexes_keep_their_grandchildren() {
    let image = artifact(1, "r", &["old"], 9);
    let mut inner = artifact(2, "r", &[], 9);
    inner.children = vec![image.digest.clone()];
    let mut outer = artifact(3, "r", &["top"], 1);
    outer.children = vec![inner.digest.clone()];
    let mut keep_top = rule("top", Template::Always);
    keep_top.untagged = true;
    let c = vec![image, inner, outer];
    let d = evaluate(&[keep_top.clone()], &c, now());
    assert!(d.iter().all(|x| x.verdict == Verdict::Keep), "{d:?}");
    // When the outer index goes, the inner index goes before its image.
    let drop_all = Rule {
        template: Template::LatestPushedK(0),
        ..keep_top
    };
    let d = evaluate(&[drop_all], &c, now());
    assert!(d.iter().all(|x| x.verdict == Verdict::Delete), "{d:?}");
    assert_eq!(deletion_order(&c, &d), [2, 1, 0]);
}

#[test]
fn rules_read_from_json_name_the_field_that_is_wrong() {
    let read = |json: &str| serde_json::from_str::<Rule>(json);
    let ok = read(r#"{"repositories":{"pattern":"**"},"tags":{"pattern":"v*"},"template":"latestPushedK","count":3}"#)
        .unwrap();
    assert_eq!(ok.template, Template::LatestPushedK(3));
    // What is written is read back the same (the stored form).
    assert_eq!(read(&serde_json::to_string(&ok).unwrap()).unwrap(), ok);
    let always =
        read(r#"{"repositories":{"pattern":"**"},"tags":{"pattern":"**"},"template":"always"}"#);
    assert_eq!(always.unwrap().template, Template::Always);
    for (json, words) in [
        (r#""template":"latestPushedK","count":-1"#, "count"),
        (r#""template":"latestPushedK""#, "needs a count"),
        (
            r#""template":"nDaysSinceLastPush","count":99999999999"#,
            "number of days",
        ),
        (
            r#""template":"nDaysSinceLastPull","count":36501"#,
            "at most 36500",
        ),
        (
            r#""template":"latestPulledN","count":100001"#,
            "at most 100000",
        ),
        (r#""template":"sometimes""#, "template"),
    ] {
        let e = read(&format!(
            r#"{{"repositories":{{"pattern":"**"}},"tags":{{"pattern":"**"}},{json}}}"#
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains(words), "{json}: {e}");
    }
}
