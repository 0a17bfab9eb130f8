//! `devboot init` in Rails repositories.

use crate::common::{TestProject, run};

/// A Rails repository as `rails new` leaves it, without devboot.
fn rails_app() -> TestProject {
    let project = TestProject::fixture("rails-app");
    std::fs::remove_file(project.root().join("devboot.toml")).unwrap();
    std::fs::remove_file(project.root().join(".gitignore")).ok();
    project
}

#[test]
fn init_writes_a_project_file_that_plan_accepts() {
    let project = rails_app();
    let out = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = project.read("devboot.toml");
    assert!(written.contains("extends = \"rails\""), "{written}");
    assert!(written.contains("name = \"app\""), "{written}");
    assert!(
        out.stderr.contains("Detected database adapter postgres"),
        "{}",
        out.stderr
    );

    let config = run(project.devboot().arg("config"));
    assert_eq!(config.code, 0, "{}", config.stderr);
    let profile = run(project
        .devboot()
        .args(["profile", "validate", "devboot.toml"]));
    assert_eq!(profile.code, 0, "{}", profile.stderr);
}

#[test]
fn init_twice_keeps_one_gitignore_entry_each_and_refuses_to_overwrite() {
    let project = rails_app();
    project.write(".gitignore", "/log/*\n");
    assert_eq!(run(project.devboot().args(["init", "--yes"])).code, 0);
    let second = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(second.code, 2);
    assert!(
        second.stderr.contains("pass `--force`"),
        "{}",
        second.stderr
    );
    assert_eq!(
        run(project.devboot().args(["init", "--yes", "--force"])).code,
        0
    );
    let gitignore = project.read(".gitignore");
    assert_eq!(gitignore.matches(".devboot/").count(), 1, "{gitignore}");
    assert_eq!(
        gitignore.matches("devboot.local.toml").count(),
        1,
        "{gitignore}"
    );
    assert!(gitignore.starts_with("/log/*\n"), "{gitignore}");
}

#[test]
fn init_picks_the_profile_from_the_gemfile() {
    let project = TestProject::empty();
    project.write(
        "Gemfile",
        "source \"https://rubygems.org\"\ngem \"rails\", \"~> 7.1\"\ngem \"mysql2\"\n",
    );
    project.write(".ruby-version", "ruby-3.2.2\n");
    project.write(
        "Dockerfile",
        "ARG RUBY_VERSION=3.2.2\nFROM ruby:$RUBY_VERSION\n",
    );
    let out = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = project.read("devboot.toml");
    assert!(written.contains("extends = \"rails-mysql\""), "{written}");
    assert!(
        written.contains("args = { RUBY_VERSION = \"3.2.2\" }"),
        "{written}"
    );
}

#[test]
fn an_unknown_profile_changes_nothing() {
    let project = TestProject::empty();
    project.write("Gemfile", "gem \"rails\"\n");
    let out = run(project
        .devboot()
        .args(["init", "--yes", "--profile", "rials"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `rails`?"),
        "{}",
        out.stderr
    );
    assert!(!project.root().join("devboot.toml").exists());
    assert!(!project.root().join(".gitignore").exists());
}

#[test]
fn init_carries_a_devcontainer_into_the_project_file_and_says_from_where() {
    let project = rails_app();
    project.write(
        ".devcontainer/compose.yaml",
        include_str!("../../src/adopt/testdata/rails-7.2-compose.yaml"),
    );
    project.write(
        ".devcontainer/devcontainer.json",
        include_str!("../../src/adopt/testdata/rails-7.2-devcontainer.json"),
    );
    let out = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = project.read("devboot.toml");
    assert!(written.contains("image = \"postgres:16.1\""), "{written}");
    assert!(written.contains("DB_HOST = \"db\""), "{written}");
    assert!(
        out.stderr
            .contains("Carried from .devcontainer/compose.yaml")
            && out.stderr.contains("DB_HOST of web: `postgres` → `db`"),
        "{}",
        out.stderr
    );
    // The passwords it carried are in the file, never in the output.
    assert!(
        !out.stderr.contains("POSTGRES_PASSWORD ="),
        "{}",
        out.stderr
    );
    let config = run(project.devboot().arg("config"));
    assert_eq!(config.code, 0, "{}", config.stderr);
    assert!(config.stdout.contains("postgres:16.1"), "{}", config.stdout);
}

#[test]
fn init_leaves_out_a_compose_file_it_cannot_read_and_still_writes() {
    let project = rails_app();
    project.write("docker-compose.yml", "services:\n  db: [\n");
    let out = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("docker-compose.yml:3:1")
            && out.stderr.contains("writing devboot.toml without it"),
        "{}",
        out.stderr
    );
    assert!(project.read("devboot.toml").contains("extends = \"rails\""));
}

#[test]
fn init_reads_no_compose_file_outside_the_project() {
    let project = rails_app();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("compose.yaml");
    std::fs::write(&secret, "services:\n  db:\n    image: postgres:16\n").unwrap();
    std::os::unix::fs::symlink(&secret, project.root().join("compose.yaml")).unwrap();
    project.write(
        ".devcontainer/devcontainer.json",
        "{ \"dockerComposeFile\": \"../../../etc/compose.yaml\" }",
    );
    let out = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("compose.yaml points outside the project; not read"),
        "{}",
        out.stderr
    );
    assert!(!project.read("devboot.toml").contains("postgres:16"));

    std::fs::remove_file(project.root().join("compose.yaml")).unwrap();
    std::fs::remove_file(project.root().join("devboot.toml")).unwrap();
    let out = run(project.devboot().args(["init", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("names `.devcontainer/../../../etc/compose.yaml`, outside the project"),
        "{}",
        out.stderr
    );
}
