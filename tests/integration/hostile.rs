//! A corpus of hostile repositories: each case is a repo that tries to make devboot act outside
//! the project (run a program on the host, write through a link, mount or send the host's
//! files, read something endless, echo a file from outside), and what devboot does instead:
//! refuse with a clear message, exit 2, and write nothing anywhere. None needs an engine: each
//! is stopped before one would be asked (`DOCKER_HOST` points at nothing, and no message may
//! name it).

use std::os::unix::fs::symlink;

use crate::common::{Output, TestProject, run};

const DEAD_ENGINE: &str = "unix:///nonexistent/devboot-hostile.sock";

/// Runs devboot `args` in `project` against no engine.
fn devboot(project: &TestProject, args: &[&str]) -> Output {
    run(project.devboot().args(args).env("DOCKER_HOST", DEAD_ENGINE))
}

/// Asserts that `args` are refused as bad input with `message`, before any engine is asked.
fn refused(project: &TestProject, args: &[&str], message: &str) {
    let out = devboot(project, args);
    assert_eq!(out.code, 2, "{args:?}: {}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    assert!(
        !out.stderr.contains("nonexistent"),
        "stopped before the engine: {}",
        out.stderr
    );
}

/// A repo whose `[requires.tools]` names its own `bin/x`: the gate and doctor would run it
/// on the host (`which_in(tool, PATH, ".")` found it). Now the name is refused, and nothing
/// runs: the program would leave a marker file.
#[test]
fn a_tool_path_into_the_repo_is_never_run() {
    let project = TestProject::fixture("rails-app");
    let marker = project.dir.path().join("ran");
    let program = project.write(
        "bin/x",
        &format!("#!/bin/sh\ntouch '{}'\necho 'x 1.0.0'\n", marker.display()),
    );
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[requires.tools]\n\"bin/x\" = \"*\"\n",
    );
    for args in [&["up", "--yes"][..], &["plan"], &["config"]] {
        refused(&project, args, "`bin/x` is not a tool name");
    }
    let doctor = devboot(&project, &["doctor", "tools", "profile", "--json"]);
    assert!(doctor.stdout.contains("profile.valid"), "{}", doctor.stdout);
    assert!(!marker.exists(), "the repository's program ran on the host");
}

/// A committed `.devboot -> .git` link: devboot's generated files would overwrite
/// `.git/config` (through a `[files]` entry, or the compose file itself).
#[test]
fn a_linked_devboot_directory_is_refused_and_git_is_untouched() {
    let project = TestProject::fixture("rails-app");
    project.write(".git/config", "[core]\n\trepositoryformatversion = 0\n");
    symlink(".git", project.root().join(".devboot")).unwrap();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[files.\".devboot/config\"]\ncontent = \"[core]\\n\\tfsmonitor = /tmp/evil\\n\"\n",
    );
    for args in [&["up", "--yes"][..], &["plan"], &["down", "--yes"]] {
        refused(
            &project,
            args,
            "`.devboot` in the project is a symbolic link",
        );
    }
    assert_eq!(
        project.read(".git/config"),
        "[core]\n\trepositoryformatversion = 0\n"
    );
    let entries: Vec<_> = std::fs::read_dir(project.root().join(".git"))
        .unwrap()
        .collect();
    assert_eq!(entries.len(), 1, "nothing was added to .git");
}

/// `h -> /` and `volumes = ["./h:/host"]`: the host's root mounted into a root container.
#[test]
fn a_bind_mount_through_a_link_to_the_host_root_is_refused() {
    let project = TestProject::fixture("rails-app");
    symlink("/", project.root().join("h")).unwrap();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[services.web]\nvolumes = [\"./h:/host\"]\n",
    );
    refused(
        &project,
        &["up", "--yes"],
        "the bind mount `h` of service `web` leads outside the project",
    );
    refused(&project, &["config"], "leads outside the project");
    assert!(!project.root().join(".devboot").exists(), "nothing written");
}

/// A build context linked to the developer's home: the whole home sent to the engine.
#[test]
fn a_build_context_linked_to_home_is_refused() {
    let project = TestProject::fixture("rails-app");
    symlink(project.home(), project.root().join("ctx")).unwrap();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[services.web.build]\ncontext = \"ctx\"\n",
    );
    refused(
        &project,
        &["up", "--yes"],
        "the build context of service `web` leads outside the project",
    );
    refused(&project, &["plan"], "leads outside the project");
}

/// A setup input linked to a file of the host: devboot would read it (for its digest).
#[test]
fn a_setup_input_linked_outside_the_project_is_refused() {
    let project = TestProject::fixture("rails-app");
    std::fs::remove_file(project.root().join("Gemfile.lock")).unwrap();
    symlink("/etc/passwd", project.root().join("Gemfile.lock")).unwrap();
    refused(
        &project,
        &["up", "--yes"],
        "the setup input `Gemfile.lock` leads outside the project",
    );
    assert!(!project.root().join(".devboot").exists(), "nothing written");
}

/// `extends` pointing at a secret outside the project: the error must locate the problem
/// without echoing the file (here, AWS keys).
#[test]
fn an_extends_path_outside_the_project_is_never_echoed() {
    let project = TestProject::fixture("rails-app");
    let aws = project.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_secret_access_key = hostile-repo-must-not-see-this\n",
    )
    .unwrap();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"../home/.aws/credentials.toml\"\n",
    );
    symlink(
        aws.join("credentials"),
        project.home().join(".aws/credentials.toml"),
    )
    .unwrap();
    for args in [
        &["plan"][..],
        &["profile", "show", "--resolved"],
        &["up", "--yes"],
    ] {
        let out = devboot(&project, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains("hostile-repo-must-not-see-this"), "{all}");
        assert!(!all.contains("aws_secret_access_key"), "{all}");
        assert!(all.contains("credentials.toml:"), "located: {all}");
    }
}

/// A profile that is endless (`extends` → a link to `/dev/zero`) or huge: read with a bound,
/// refused at once instead of exhausting memory.
#[test]
fn an_endless_or_huge_profile_file_is_refused_without_reading_it_all() {
    let project = TestProject::fixture("rails-app");
    symlink("/dev/zero", project.root().join("zero.toml")).unwrap();
    project.write("devboot.toml", "schema = 1\nextends = \"./zero.toml\"\n");
    let started = std::time::Instant::now();
    let out = devboot(&project, &["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    project.write("devboot.toml", "schema = 1\nextends = \"./big.toml\"\n");
    std::fs::File::create(project.root().join("big.toml"))
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let out = devboot(&project, &["plan"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("larger than devboot reads"),
        "{}",
        out.stderr
    );
}
