//! Capabilities of published profiles through the CLI: a profile file outside the project
//! (`../platform/rails.toml`, as a platform team publishes it) must declare what it does beyond
//! a plain profile, and `up` asks the developer once per project before using it — again when
//! the published file gains one. No engine: every approval happens before `up` connects.

use crate::common::{Output, TestProject, run};
use crate::report::{check, one_json};

const PUBLISHED: &str = "platform/rails.toml";

/// A Rails project whose `devboot.toml` extends the published `../platform/rails.toml`.
fn project(published: &str) -> TestProject {
    let project = TestProject::fixture("rails-app");
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"../platform/rails.toml\"\n",
    );
    publish(&project, published);
    project
}

fn publish(project: &TestProject, text: &str) {
    let path = project.dir.path().join(PUBLISHED);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `devboot ARGS` with no engine to reach: what happens before `up` connects is the point.
fn devboot(project: &TestProject, args: &[&str]) -> Output {
    run(project
        .devboot()
        .args(args)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"))
}

const PLATFORM: &str = "extends = \"rails\"\n[app]\nsetup = [\"bin/rails db:prepare\"]\n";

#[test]
fn an_undeclared_capability_is_refused_at_its_place_before_anything_is_written() {
    let project = project(PLATFORM);
    let out = devboot(&project, &["up", "--yes"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--> ../platform/rails.toml:3:10"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("capability `setup-commands`")
            && out.stderr.contains("`capabilities = [\"setup-commands\"]`"),
        "{}",
        out.stderr
    );
    assert!(!project.root().join(".devboot").exists(), "nothing written");
    // The platform team's own check of the file it publishes warns with the line to add (the
    // file is valid where it is: in its own directory it is nobody's published profile).
    let validate = run(project
        .devboot()
        .args(["profile", "validate", "../platform/rails.toml"]));
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    assert!(
        validate.stderr.contains(
            "../platform/rails.toml uses `setup-commands` without declaring it; published (in a catalog, or extended from outside a project) it would be refused: add `capabilities = [\"setup-commands\"]`"
        ),
        "{}",
        validate.stderr
    );
}

#[test]
fn a_declared_capability_is_asked_once_and_again_when_an_upgrade_adds_one() {
    let project = project(&format!("capabilities = [\"setup-commands\"]\n{PLATFORM}"));

    // `plan` shows what `up` would ask, in plain words, without asking.
    let plan = devboot(&project, &["plan"]);
    assert!(
        plan.stdout.contains(
            "`up` asks first: the published profile ../platform/rails.toml would\n  `setup-commands`: run its setup commands in the app container on every `up` that changes something (bin/rails db:prepare)"
        ),
        "{}",
        plan.stdout
    );

    // No terminal, no --yes: refused before anything is written, with the way to approve.
    let refused = devboot(&project, &["up"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "the published profile ../platform/rails.toml uses `setup-commands`, which you have not approved"
        ) && refused.stderr.contains("devboot up --yes"),
        "{}",
        refused.stderr
    );
    assert!(!project.root().join(".devboot").exists(), "nothing written");
    let doctor = one_json(&devboot(
        &project,
        &["doctor", "--json", "profile.capabilities"],
    ));
    assert_eq!(
        check(&doctor, "profile.capabilities")["status"],
        "warn",
        "{doctor:#}"
    );

    // --yes approves; the approval is kept outside the repository, and the next `up` goes on
    // to the engine without asking.
    let approved = devboot(&project, &["up", "--yes"]);
    assert!(
        approved
            .stderr
            .contains("Approved `setup-commands` of the published profile ../platform/rails.toml"),
        "{}",
        approved.stderr
    );
    let approvals = project.home().join(".local/state/devboot/approvals.json");
    let kept = std::fs::read_to_string(&approvals).unwrap();
    assert!(kept.contains("capability:setup-commands:"), "{kept}");
    let again = devboot(&project, &["up"]);
    assert!(!again.stderr.contains("not approved"), "{}", again.stderr);
    assert!(
        again.stderr.contains("nonexistent"),
        "reached the engine: {}",
        again.stderr
    );
    assert!(!devboot(&project, &["plan"]).stdout.contains("asks first"));
    let doctor = one_json(&devboot(
        &project,
        &["doctor", "--json", "profile.capabilities"],
    ));
    assert_eq!(
        check(&doctor, "profile.capabilities")["status"],
        "ok",
        "{doctor:#}"
    );
    let shown = devboot(&project, &["profile", "show", "--resolved"]);
    assert!(
        shown
            .stdout
            .contains("[capabilities.\"../platform/rails.toml\"]\nsetup-commands = \"approved\""),
        "{}",
        shown.stdout
    );

    // The published file gains a capability: `up` asks again, for the new one only.
    publish(
        &project,
        &format!(
            "capabilities = [\"setup-commands\", \"project-files\"]\n{PLATFORM}[files.\"config/platform.yml\"]\ncontent = \"team: platform\\n\"\n"
        ),
    );
    let upgraded = devboot(&project, &["up"]);
    assert_eq!(upgraded.code, 1, "{}", upgraded.stderr);
    assert!(
        upgraded
            .stderr
            .contains("../platform/rails.toml uses `project-files`, which"),
        "only the new one: {}",
        upgraded.stderr
    );
    assert!(!project.root().join("config/platform.yml").exists());
    let approved = devboot(&project, &["up", "--yes"]);
    assert!(
        approved.stderr.contains("Approved `project-files`"),
        "{}",
        approved.stderr
    );
    assert!(!devboot(&project, &["up"]).stderr.contains("not approved"));

    // Another checkout of the same repository asks for itself.
    let other = TestProject::fixture("rails-app");
    other.write(
        "devboot.toml",
        "schema = 1\nextends = \"../platform/rails.toml\"\n",
    );
    publish(
        &other,
        &std::fs::read_to_string(project.dir.path().join(PUBLISHED)).unwrap(),
    );
    std::fs::create_dir_all(other.home().join(".local/state/devboot")).unwrap();
    std::fs::copy(
        &approvals,
        other.home().join(".local/state/devboot/approvals.json"),
    )
    .unwrap();
    assert!(devboot(&other, &["up"]).stderr.contains("not approved"));
}

#[test]
fn a_published_aws_profile_is_asked_as_its_capability_once() {
    let project = project(&format!(
        "capabilities = [\"setup-commands\", \"aws-profile\"]\n{PLATFORM}[aws]\nprofile = \"dev\"\n"
    ));
    let refused = devboot(&project, &["up"]);
    assert!(
        refused
            .stderr
            .contains("uses `setup-commands`, `aws-profile`, which"),
        "{}",
        refused.stderr
    );
    let approved = devboot(&project, &["up", "--yes"]);
    assert_eq!(
        approved.stderr.matches("Approved").count(),
        1,
        "{}",
        approved.stderr
    );
    // Not asked a second time as the AWS profile a committed file chose.
    let again = devboot(&project, &["up"]);
    assert!(
        !again.stderr.contains("not approved")
            && !again.stderr.contains("chooses your AWS profile"),
        "{}",
        again.stderr
    );
}
