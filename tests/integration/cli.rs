//! The command-line contract: help, version, exit codes, completions.

use crate::common::{TestProject, run};

#[test]
fn help_lists_the_commands_and_exit_codes() {
    let project = TestProject::empty();
    let out = run(project.devboot().arg("--help"));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn profile_lint_help_lists_the_rules() {
    let project = TestProject::empty();
    let out = run(project.devboot().args(["profile", "lint", "--help"]));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn version_prints_the_crate_version() {
    let project = TestProject::empty();
    let out = run(project.devboot().arg("--version"));
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, concat!("devboot ", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let project = TestProject::empty();
    let out = run(project.devboot().arg("--no-such-flag"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unexpected argument '--no-such-flag'"),
        "{}",
        out.stderr
    );
}

#[test]
fn commands_outside_a_project_say_how_to_start_one() {
    let project = TestProject::empty();
    let out = run(project.devboot().arg("config"));
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.snapshot(&project));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let project = TestProject::empty();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(project.devboot().args(["completions", shell]));
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("devboot"), "{shell}");
    }
    let bash = run(project.devboot().args(["completions", "bash"])).stdout;
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&bash)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash completion script parses");
}

#[test]
fn doctor_help_names_the_files_report_writes() {
    let project = TestProject::empty();
    let out = run(project.devboot().args(["doctor", "--help"]));
    assert_eq!(out.code, 0);
    let help = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("`--report out.json` writes out.json and out.md"),
        "{help}"
    );
    assert!(!help.contains("PATH.md"), "{help}");
}

#[test]
fn the_man_page_is_roff_for_every_command() {
    let project = TestProject::empty();
    let out = run(project.devboot().arg("man"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // roff's preamble (`.ie`/`.el` defining the apostrophe), then the title.
    let title = out
        .stdout
        .lines()
        .find(|line| !line.starts_with(".ie ") && !line.starts_with(".el "));
    assert!(
        title.is_some_and(|line| line.starts_with(".TH devboot 1 ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("doctor"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Diagnose the machine"),
        "{}",
        out.stdout
    );
}

/// `man --out-dir` writes a page for every page another page names, each titled with its name.
#[test]
fn man_out_dir_writes_every_page_the_subcommands_sections_name() {
    let project = TestProject::empty();
    let dir = project.root().join("man1");
    let out = run(project.devboot().args(["man", "--out-dir", "man1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in ["devboot.1", "devboot-up.1", "devboot-profile-show.1"] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    let mut references = 0;
    for page in &pages {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        let name = page.trim_end_matches(".1");
        assert!(
            text.contains(&format!(".TH {name} 1 ")),
            "{page} is titled {name}"
        );
        // References are written `devboot\-profile\-show(1)` in roff.
        for reference in text.lines().filter_map(|l| l.strip_suffix("(1)")) {
            let file = format!("{}.1", reference.replace("\\-", "-"));
            assert!(pages.contains(&file), "{page} names {file}, not written");
            references += 1;
        }
    }
    assert!(references >= pages.len() / 2, "{references} references");
    assert!(!pages.iter().any(|p| p.contains("help")), "{pages:?}");
}

#[test]
fn profile_update_help_teaches_the_reviewed_upgrade() {
    let project = TestProject::empty();
    let out = run(project.devboot().args(["profile", "--help"]));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!("profile_help", out.stdout);
    let out = run(project.devboot().args(["profile", "update", "--help"]));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!("profile_update_help", out.stdout);
}
