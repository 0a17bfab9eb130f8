//! Reading `devboot doctor --json` reports in tests: the one document on stdout, a check by id,
//! its status, summary, details and fix commands.

use serde_json::Value;

use crate::common::Output;

/// The one JSON document on stdout.
pub(crate) fn one_json(out: &Output) -> Value {
    let mut documents = serde_json::Deserializer::from_str(&out.stdout).into_iter::<Value>();
    let report = documents
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout:\n{}\n{}", out.stdout, out.stderr))
        .unwrap();
    assert!(
        documents.next().is_none(),
        "more than one JSON document:\n{}",
        out.stdout
    );
    report
}

/// The result of check `id` in a `--json` report.
pub(crate) fn check<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` in the report:\n{report:#}"))
}

/// Asserts the status of check `id` and returns it.
pub(crate) fn expect<'r>(report: &'r Value, id: &str, status: &str) -> &'r Value {
    let found = check(report, id);
    assert_eq!(found["status"], status, "{id}:\n{found:#}");
    found
}

pub(crate) fn summary(check: &Value) -> &str {
    check["summary"].as_str().unwrap()
}

pub(crate) fn details(check: &Value) -> Vec<&str> {
    check["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The commands of a check's fixes.
pub(crate) fn commands(check: &Value) -> Vec<&str> {
    check["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["command"].as_str())
        .collect()
}
