//! `devboot aws status` against a real AWS API emulator (moto, on loopback), and the SSO gate
//! that stops `up` before anything is created.

use std::process::Command;

use crate::common::{Moto, TestProject, run};

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
