//! `devboot doctor tools.*` checks that need no engine, against real programs on a `PATH` the
//! test controls: `tools.libpq` in the fixture Rails app (its Gemfile.lock locks the source pg
//! gem) without `pg_config`, then with one.

use std::path::Path;

use crate::common::{TestProject, run};
use crate::report::{commands, details, expect, one_json, summary};

/// An executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

#[test]
fn libpq_warns_without_pg_config_and_names_its_version_with_one() {
    let project = TestProject::fixture("rails-app");
    // A PATH of its own: `sh` and nothing else, so no pg_config of this machine is found.
    let bin = project.dir.path().join("tools-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/bin/sh", bin.join("sh")).unwrap();
    let doctor = || {
        let out = run(project
            .devboot()
            .args(["doctor", "tools.libpq", "--json"])
            .env("PATH", &bin));
        (out.code, one_json(&out))
    };

    let (code, report) = doctor();
    assert_eq!(code, 0, "a warning does not fail doctor:\n{report:#}");
    let missing = expect(&report, "tools.libpq", "warn");
    assert_eq!(
        summary(missing),
        "`pg_config` is not on PATH: `bundle install` on this machine cannot build pg 1.4.5 (Gemfile.lock)"
    );
    assert!(
        commands(missing).contains(&"sudo apt-get install libpq-dev"),
        "{missing:#}"
    );
    assert!(
        details(missing)
            .iter()
            .any(|d| d.starts_with("inside the app container nothing is needed")),
        "{missing:#}"
    );
    assert_eq!(report["checks"].as_array().unwrap().len(), 1, "{report:#}");

    script(&bin.join("pg_config"), "echo 'PostgreSQL 15.4'");
    let (code, report) = doctor();
    assert_eq!(code, 0);
    let found = expect(&report, "tools.libpq", "ok");
    assert!(
        summary(found).starts_with("PostgreSQL 15.4 (")
            && summary(found).ends_with("from PATH): pg 1.4.5 (Gemfile.lock) builds here"),
        "{found:#}"
    );
}
