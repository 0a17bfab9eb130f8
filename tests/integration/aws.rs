//! `devboot aws status` against a real AWS API emulator (moto, on loopback), and the SSO gate
//! that stops `up` before anything is created.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::common::{Moto, TestProject, require_tool, run};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn with_static_profile(project: &TestProject) {
    let aws = project.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {SECRET}\n"
        ),
    )
    .unwrap();
    std::fs::write(aws.join("config"), "[profile dev]\nregion = eu-west-1\n").unwrap();
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[aws]\nprofile = \"dev\"\naccount = \"123456789012\"\n",
    );
}

#[test]
fn aws_status_reports_account_and_arn_without_secrets() {
    let Some(moto) = Moto::start() else { return };
    let project = TestProject::empty();
    with_static_profile(&project);
    let out =
        run(project
            .devboot()
            .args(["aws", "status", "--json", "--endpoint-url", &moto.url()]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(status["account"], "123456789012");
    assert!(
        status["arn"].as_str().unwrap().starts_with("arn:aws:"),
        "{status}"
    );
    assert_eq!(status["profile"], "dev");
    assert_eq!(status["region"], "eu-west-1");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !all.contains(SECRET) && !all.contains("AKIAIOSFODNN7EXAMPLE"),
        "{all}"
    );
    assert!(all.contains("MPLE"), "the key id is shown masked: {all}");
}

#[test]
fn aws_status_names_a_missing_profile_and_the_close_ones() {
    let project = TestProject::empty();
    with_static_profile(&project);
    project.write("devboot.local.toml", "[aws]\nprofile = \"dve\"\n");
    let out = run(project.devboot().args(["aws", "status"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("dve"), "{}", out.stderr);
    assert!(
        out.stderr.contains("dev"),
        "suggests the close profile: {}",
        out.stderr
    );
}

#[test]
fn a_committed_aws_profile_needs_the_developers_approval_once_per_checkout() {
    let project = TestProject::fixture("rails-app");
    with_static_profile(&project);
    let up = |args: &[&str]| {
        run(project
            .devboot()
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"))
    };
    // No terminal, no --yes: refused before anything else, saying who asks and how to allow.
    let refused = up(&["up"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("devboot.toml chooses your AWS profile `dev`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("devboot up --yes"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("nonexistent"),
        "{}",
        refused.stderr
    );
    assert!(!project.root().join(".devboot").exists(), "nothing written");

    // --yes approves, and the approval is kept outside the repository.
    let approved = up(&["up", "--yes"]);
    assert!(approved.stderr.contains("Approved"), "{}", approved.stderr);
    let approvals = project.home().join(".local/state/devboot/approvals.json");
    assert!(
        std::fs::read_to_string(&approvals)
            .unwrap()
            .contains("aws-profile:dev")
    );
    let again = up(&["up"]);
    assert!(!again.stderr.contains("not approved"), "{}", again.stderr);

    // Another profile asks again; one the developer picks in devboot.local.toml does not ask.
    project.write(
        "devboot.toml",
        "schema = 1\nextends = \"rails\"\n[aws]\nprofile = \"prod\"\n",
    );
    assert!(up(&["up"]).stderr.contains("profile `prod`"));
    project.write("devboot.local.toml", "[aws]\nprofile = \"prod\"\n");
    let local = up(&["up"]);
    assert!(!local.stderr.contains("not approved"), "{}", local.stderr);
}

#[test]
fn a_failing_aws_status_json_is_still_one_json_document() {
    let project = TestProject::empty();
    with_static_profile(&project);
    project.write("devboot.local.toml", "[aws]\nprofile = \"dve\"\n");
    let out = run(project.devboot().args(["aws", "status", "--json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(doc["error"].as_str().unwrap().contains("dve"), "{doc}");
}

#[test]
fn an_expired_sso_login_stops_up_before_anything_is_created() {
    let project = TestProject::fixture("rails-app");
    let aws = project.home().join(".aws");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = eu-west-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    // The cache file for session `corp` is named by the SHA-1 of the session name.
    let name = format!("{}.json", sha1_hex("corp"));
    std::fs::write(
        aws.join("sso/cache").join(name),
        "{\"accessToken\": \"expired-token\", \"expiresAt\": \"2020-01-01T00:00:00Z\", \"region\": \"eu-west-1\", \"startUrl\": \"https://corp.awsapps.com/start\"}",
    )
    .unwrap();
    project.write("devboot.local.toml", "[aws]\nprofile = \"dev\"\n");
    // No engine is needed to stop here, and none is touched.
    let out = run(project
        .devboot()
        .args(["up", "--yes"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("aws sso login --profile dev")
            || out.stderr.contains("aws sso login --sso-session corp"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("nonexistent"),
        "stopped before the engine: {}",
        out.stderr
    );
    assert!(!project.root().join(".devboot/compose.yaml").exists());
}

#[test]
fn on_a_terminal_up_offers_the_sso_login_runs_it_and_goes_on() {
    if !require_tool("script") {
        return;
    }
    let project = TestProject::fixture("rails-app");
    let aws = project.home().join(".aws");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = eu-west-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    let cache = aws
        .join("sso/cache")
        .join(format!("{}.json", sha1_hex("corp")));
    std::fs::write(
        &cache,
        "{\"accessToken\": \"expired-token\", \"expiresAt\": \"2020-01-01T00:00:00Z\", \"region\": \"eu-west-1\", \"startUrl\": \"https://corp.awsapps.com/start\"}",
    )
    .unwrap();
    project.write("devboot.local.toml", "[aws]\nprofile = \"dev\"\n");
    // A stand-in `aws` whose `sso login` does what the real one does to the token cache.
    let bin = project.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("aws"),
        format!(
            "#!/bin/sh\necho \"$@\" > \"$HOME/aws-called\"\n\
             exp=$(date -u -d '+8 hours' +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"accessToken\": \"fresh\", \"expiresAt\": \"%s\", \"region\": \"eu-west-1\", \"startUrl\": \"https://corp.awsapps.com/start\"}}' \"$exp\" > '{}'\n",
            cache.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.join("aws"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let devboot = project.devboot();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // `script` gives devboot a terminal; "y" answers the prompt.
    let mut command = Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} up", devboot.get_program().to_string_lossy()),
            "/dev/null",
        ])
        .current_dir(project.root())
        .env_clear()
        .envs(devboot.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("PATH", path)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Run `aws sso login"), "{text}");
    let called = std::fs::read_to_string(project.home().join("aws-called")).unwrap();
    assert!(
        called.trim() == "sso login --profile dev"
            || called.trim() == "sso login --sso-session corp",
        "{called}"
    );
    // The login is valid now, so `up` went on — to the (dead) engine.
    assert!(text.contains("nonexistent"), "{text}");
    assert!(!text.contains("expired or is missing"), "{text}");
}

fn sha1_hex(text: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s '{text}' | sha1sum"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
