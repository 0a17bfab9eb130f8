//! `devboot profile`: list, show (with origins), validate (with located errors), schema.

use crate::common::{TestProject, repo_root, run};

#[test]
fn every_builtin_profile_validates() {
    let project = TestProject::empty();
    let mut command = project.devboot();
    command
        .current_dir(repo_root())
        .args(["profile", "validate"]);
    for entry in std::fs::read_dir(repo_root().join("profiles")).unwrap() {
        command.arg(entry.unwrap().path());
    }
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_misspelled_key_names_file_line_column_and_the_fix() {
    let project = TestProject::empty();
    project.write(
        "team.toml",
        "schema = 1\nextends = \"rails\"\n\n[services.web]\nhelthcheck = { test = \"true\" }\n",
    );
    let out = run(project.devboot().args(["profile", "validate", "team.toml"]));
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.snapshot(&project));
}

#[test]
fn semantic_errors_are_all_reported_with_locations() {
    let project = TestProject::empty();
    project.write(
        "team.toml",
        "extends = \"rails\"\n[services.web]\nports = [\"70000:3000\"]\ndepends_on = [\"dbb\"]\n[services.db]\nvolumes = [\"../../etc:/x\"]\n",
    );
    let out = run(project.devboot().args(["profile", "validate", "team.toml"]));
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.snapshot(&project));
}

#[test]
fn syntax_errors_point_at_the_character() {
    let project = TestProject::empty();
    project.write("bad.toml", "[services.web]\nimage = \"unterminated\n");
    let out = run(project.devboot().args(["profile", "validate", "bad.toml"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bad.toml:2:"), "{}", out.stderr);
}

#[test]
fn list_names_the_builtin_profiles() {
    let project = TestProject::empty();
    let out = run(project.devboot().args(["profile", "list"]));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!(out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&run(project.devboot().args(["profile", "list", "--json"])).stdout)
            .unwrap();
    assert_eq!(json[0]["name"], "rails");
}

#[test]
fn show_resolved_names_the_layer_of_every_value() {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[services.db]\nimage = \"postgres:15\"\n",
    );
    project.write(
        "devboot.local.toml",
        "[services.web.environment]\nRAILS_ENV = \"test\"\n",
    );
    let out = run(project.devboot().args(["profile", "show", "--resolved"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = |prefix: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("image = \"postgres:15\"").ends_with("# devboot.toml:4"),
        "{}",
        out.stdout
    );
    assert!(
        line("RAILS_ENV = \"test\"").ends_with("# devboot.local.toml:2"),
        "{}",
        out.stdout
    );
    assert!(
        line("REDIS_URL").contains("# profiles/rails.toml (built-in):"),
        "{}",
        out.stdout
    );

    let json = run(project
        .devboot()
        .args(["profile", "show", "--resolved", "--json"]));
    let entries: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let image = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["table"] == serde_json::json!(["services", "db"]) && e["key"] == "image")
        .unwrap();
    assert_eq!(image["from"]["file"], "devboot.toml");
    assert_eq!(image["from"]["line"], 4);
}

#[test]
fn schema_is_valid_json_and_matches_the_committed_copy() {
    let project = TestProject::empty();
    let out = run(project.devboot().args(["profile", "schema"]));
    assert_eq!(out.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(schema["title"], "ProfileDocument");
    assert_eq!(
        out.stdout,
        std::fs::read_to_string(repo_root().join("docs/profile.schema.json")).unwrap()
    );
}

#[test]
fn a_project_name_with_a_path_in_it_is_bad_input_not_a_crash() {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        "extends = \"rails\"\n\n[project]\nname = \"../../etc\"\n",
    );
    let out = run(project.devboot().arg("plan"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("devboot.toml:4:8"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_file_that_is_not_utf8_is_located_bad_input() {
    let project = TestProject::empty();
    let path = project.write("team.toml", "");
    std::fs::write(
        path,
        b"extends = \"rails\"\n[project]\nname = \"caf\xe9\"\n",
    )
    .unwrap();
    let out = run(project.devboot().args(["profile", "validate", "team.toml"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not valid UTF-8"), "{}", out.stderr);
    assert!(out.stderr.contains("team.toml:3:12"), "{}", out.stderr);
}

/// `devboot profile lint` on the corpus in `tests/fixtures/lint`, from that directory.
fn lint(args: &[&str]) -> crate::common::Output {
    let project = TestProject::empty();
    let mut command = project.devboot();
    command
        .current_dir(repo_root().join("tests/fixtures/lint"))
        .args(["profile", "lint"])
        .args(args);
    run(&mut command)
}

const LINT_CORPUS: &[&str] = &[
    "postgres-data-dir.toml",
    "image-unpinned.toml",
    "literal-secret.toml",
    "healthcheck-missing.toml",
    "host-port-shared.toml",
    "schema-outdated.toml",
    "catalog/profiles/rails-pg18.toml",
];

#[test]
fn lint_reports_every_rule_of_the_corpus_with_its_id_and_location() {
    let out = lint(LINT_CORPUS);
    assert_eq!(out.code, 1, "errors found: {}", out.stderr);
    assert!(
        out.stderr.contains("4 errors, 5 warnings in 7 profiles"),
        "{}",
        out.stderr
    );
    for secret in ["9f2c1e7d0b6a", "s3cr3t-mail"] {
        assert!(!out.stdout.contains(secret), "{}", out.stdout);
    }
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn lint_json_lists_findings_with_rule_severity_and_position() {
    let out = lint(&[&["--json"], LINT_CORPUS].concat());
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // Each file of the corpus breaks the rule it is named after.
    for file in LINT_CORPUS {
        let rule = file.trim_end_matches(".toml");
        let rule = if rule.starts_with("catalog/") {
            "image-digest"
        } else {
            rule
        };
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == rule && f["location"]["file"] == *file),
            "{rule} in {file}: {report:#}"
        );
    }
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn lint_exit_codes_clean_strict_and_invalid() {
    let clean = lint(&["clean.toml"]);
    assert_eq!(
        (clean.code, clean.stdout.as_str()),
        (0, ""),
        "{}",
        clean.stderr
    );
    // Warnings alone pass, unless --strict.
    assert_eq!(lint(&["schema-outdated.toml"]).code, 0);
    assert_eq!(lint(&["--strict", "schema-outdated.toml"]).code, 1);
    // --catalog makes any file a catalog profile.
    let catalog = lint(&["--catalog", "clean.toml"]);
    assert!(
        catalog.stdout.contains("warning[image-digest]"),
        "{}",
        catalog.stdout
    );
    let invalid = lint(&["invalid.toml", "clean.toml", "missing.toml"]);
    assert_eq!(invalid.code, 2, "{}", invalid.stderr);
    assert!(
        invalid.stderr.contains("invalid.toml:5:1"),
        "{}",
        invalid.stderr
    );
    assert!(
        invalid.stderr.contains("missing.toml"),
        "{}",
        invalid.stderr
    );
}

#[test]
fn a_profile_for_a_newer_devboot_is_refused_with_the_install_command() {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n\n[requires]\ndevboot = \">=99.0\"\n",
    );
    let out = run(project.devboot().args(["plan"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        out.stderr.contains(&format!(
            "this profile needs devboot >=99.0; this is devboot {version}\n --> devboot.toml:5:11"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("./install.sh"), "{}", out.stderr);
}
