//! Reading `devboot doctor --json` reports in tests: the one document on stdout, a check by id,
//! its status, summary, details and fix commands. And what no report may hold: the secrets of
//! the profile and of the host, in any output, container log tails included.

use serde_json::Value;

use crate::common::{Output, require_engine, run};
use crate::stack::{AUTO_PORTS, EngineProject};

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

/// A secret of the profile (`[services.web.environment] STRIPE_SECRET_KEY`) and one of the host
/// (`GITHUB_TOKEN`) stay out of the text, the JSON and the `--report` files; so do both when the
/// crashing `web` prints them to its log, whose tail `stack.containers` reports (a URL in it
/// keeps all but its password).
#[test]
fn profile_and_host_secrets_never_reach_a_report_nor_a_log_tail_in_it() {
    const STRIPE: &str = "sk_test_devboot_hidden_1234";
    const GITHUB: &str = "ghp_devbootHostToken0123456789abcd";
    if !require_engine() {
        return;
    }
    let local = format!(
        "{}[services.web.environment]\nSTRIPE_SECRET_KEY = \"{STRIPE}\"\nDB_PASSWORD = \"pw9\"\n",
        AUTO_PORTS.replace(
            "[services.web]\n",
            &format!(
                "[services.web]\ncommand = \"echo \\\"charging with $STRIPE_SECRET_KEY as {GITHUB} at postgres://app:pa55word-in-log@db/app DB_PASSWORD=$DB_PASSWORD\\\" >&2; exit 3\"\n"
            ),
        )
    );
    let stack = EngineProject::new("redact", &local);
    let up = run(stack
        .project
        .devboot()
        .args(["up", "--yes"])
        .env("GITHUB_TOKEN", GITHUB));
    assert_eq!(up.code, 1, "web crashes: {}", up.stderr);
    // `up` shows the crash's log tail, redacted as doctor's reports are; a secret too short to
    // look for anywhere goes where its name labels it.
    assert!(
        up.stderr.contains(
            "charging with [redacted] as [redacted] at postgres://app:***@db/app DB_PASSWORD=[redacted]"
        ),
        "up's crash log, redacted:\n{}",
        up.stderr
    );

    let report_dir = tempfile::tempdir().unwrap();
    let report_path = report_dir.path().join("doctor.json");
    let doctor = |args: &[&str]| {
        run(stack
            .project
            .devboot()
            .arg("doctor")
            .args(args)
            .env("GITHUB_TOKEN", GITHUB))
    };
    let json = doctor(&["--json"]);
    let text = doctor(&[]);
    let written = doctor(&["--report", report_path.to_str().unwrap()]);
    assert_eq!(written.code, 1, "{}", written.stdout);

    let report = one_json(&json);
    let containers = expect(&report, "stack.containers", "error");
    assert!(
        summary(containers).starts_with("`web` exited with code 3"),
        "{containers:#}"
    );
    let tail = details(containers).join("\n");
    assert!(
        tail.contains(
            "charging with [redacted] as [redacted] at postgres://app:***@db/app DB_PASSWORD=[redacted]"
        ),
        "the log tail, redacted:\n{tail}"
    );
    let outputs = [
        ("up", format!("{}{}", up.stdout, up.stderr)),
        ("json", format!("{}{}", json.stdout, json.stderr)),
        ("text", format!("{}{}", text.stdout, text.stderr)),
        (
            "report json",
            std::fs::read_to_string(&report_path).unwrap(),
        ),
        (
            "report markdown",
            std::fs::read_to_string(report_dir.path().join("doctor.md")).unwrap(),
        ),
    ];
    for (name, output) in &outputs {
        for secret in [STRIPE, GITHUB, "pa55word-in-log", "DB_PASSWORD=pw9"] {
            assert!(
                !output.contains(secret),
                "`{secret}` leaked into the {name}:\n{output}"
            );
        }
    }
}
