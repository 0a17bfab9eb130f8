//! `install.sh`: shellcheck-clean, and installs a working `devboot` from the checkout.

use std::process::Command;

use crate::common::{TestProject, repo_root, require_tool, run};

#[test]
fn install_sh_passes_shellcheck() {
    if !require_tool("shellcheck") {
        return;
    }
    let out = run(Command::new("shellcheck").arg(repo_root().join("install.sh")));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn install_sh_installs_a_working_devboot_into_a_prefix() {
    let project = TestProject::empty();
    let prefix = project.dir.path().join("prefix");
    let mut command = Command::new("sh");
    command
        .arg(repo_root().join("install.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .env("HOME", project.home())
        // Reuse one build directory across runs instead of cargo install's throwaway one.
        .env("CARGO_TARGET_DIR", repo_root().join("target/install-test"));
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let installed = prefix.join("bin/devboot");
    let version = run(Command::new(&installed).arg("--version"));
    assert_eq!(
        version.stdout.trim(),
        concat!("devboot ", env!("CARGO_PKG_VERSION"))
    );
    // The prefix is not on PATH: the script says what to add.
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains(&format!("{}/bin", prefix.display())), "{all}");
    assert!(all.contains("PATH"), "{all}");
}

#[test]
fn install_sh_rejects_unknown_arguments() {
    let out = run(Command::new("sh")
        .arg(repo_root().join("install.sh"))
        .arg("--bogus"));
    assert_eq!(out.code, 2, "{}", out.stderr);
}
