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
