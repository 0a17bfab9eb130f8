//! `devboot doctor aws` against AWS faults produced for real, in a private HOME: fixture
//! `~/.aws/config`, `credentials` and SSO token cache files for each broken setup, variables
//! left in the environment, a world-readable credentials file (fixed by `--fix`), a real AWS
//! API emulator (moto) for the identity and the account, a stub STS that answers with a
//! chosen error and a skewed clock, and — on the engine — the fixture app in server mode with
//! its credential endpoint, relay and container broken one way at a time. Each test asserts
//! the check's id, status and fix command, and that no secret reaches the output.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::common::{Moto, Output, TestProject, require_engine, run};
use crate::report::{check, commands, details, expect, one_json, summary};
use crate::stack::{AUTO_PORTS, EngineProject, docker};

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Every `aws.` check, in report order.
const AWS_CHECKS: &[&str] = &[
    "aws.profile",
    "aws.default_profile_env",
    "aws.env_keys",
    "aws.credentials_file_mode",
    "aws.sso_session",
    "aws.region",
    "aws.credential_process",
    "aws.mfa",
    "aws.credentials",
    "aws.clock",
    "aws.account",
    "aws.container_endpoint",
    "aws.container_credentials",
    "aws.ecr_login",
];

/// Asserts that none of `secrets` shows in stdout or stderr.
fn assert_no_secrets(out: &Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "`{secret}` leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// `devboot doctor --json ARGS` in `project` with `vars` set, and no engine (the container
/// checks are skipped, quickly and the same on every machine).
fn doctor(project: &TestProject, args: &[&str], vars: &[(&str, &str)]) -> (Output, Value) {
    let mut command = project.devboot();
    command
        .arg("doctor")
        .arg("--json")
        .args(args)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = run(&mut command);
    let report = one_json(&out);
    (out, report)
}

/// Writes `relative` under the test HOME, private (0600) as the AWS CLI writes it.
fn home_file(project: &TestProject, relative: &str, text: &str) -> std::path::PathBuf {
    let path = project.home().join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Profile `dev` with static keys and a region.
fn static_profile(project: &TestProject) {
    home_file(
        project,
        ".aws/credentials",
        &format!("[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
    );
    home_file(
        project,
        ".aws/config",
        "[profile dev]\nregion = eu-west-1\n",
    );
}

/// A project extending `rails` with `[aws]` settings `aws`.
fn aws_project(aws: &str) -> TestProject {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        &format!("schema = 1\nextends = \"rails\"\n[aws]\n{aws}"),
    );
    project
}

/// The clock fix doctor names on this operating system.
fn sync_clock() -> &'static str {
    if cfg!(target_os = "macos") {
        "sudo sntp -sS time.apple.com"
    } else {
        "sudo timedatectl set-ntp true"
    }
}

/// RFC 3339 of now + `secs`.
fn rfc3339_in(secs: i64) -> String {
    let now = SystemTime::now();
    let at = if secs >= 0 {
        now + Duration::from_secs(secs.unsigned_abs())
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    aws_smithy_types::DateTime::from(at)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

/// The SSO cache file name of session `corp`: the SHA-1 of the name.
fn sso_cache_file(project: &TestProject, json: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("printf %s corp | sha1sum")
        .output()
        .unwrap();
    let sha1 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    home_file(project, &format!(".aws/sso/cache/{sha1}.json"), json);
}

const SSO_CONFIG: &str = "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = eu-west-1\n\n\
    [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n";

/// A stub STS on loopback: every request gets the Query-protocol error `code` (HTTP 403) and a
/// `Date` header `offset` seconds away from the real time. Stopped on drop.
struct StubSts {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StubSts {
    fn start(code: &'static str, offset: i64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer(stream, code, offset);
                }
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for StubSts {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head and `Content-Length` body) and answers with the error.
fn answer(mut stream: TcpStream, code: &str, offset: i64) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
    }
    let now = SystemTime::now();
    let date = if offset >= 0 {
        now + Duration::from_secs(offset.unsigned_abs())
    } else {
        now - Duration::from_secs(offset.unsigned_abs())
    };
    let date = aws_smithy_types::DateTime::from(date)
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap();
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>stub says {code}</Message></Error><RequestId>stub</RequestId></ErrorResponse>"
    );
    let _ = write!(
        stream,
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nDate: {date}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn without_any_aws_setup_every_aws_check_is_skipped() {
    let project = TestProject::empty();
    let (out, report) = doctor(&project, &["aws"], &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, AWS_CHECKS);
    for id in &AWS_CHECKS[..11] {
        let skipped = expect(&report, id, "skipped");
        assert!(
            summary(skipped).starts_with("no AWS setup here")
                || summary(skipped).starts_with("skipped: `aws."),
            "{id}: {skipped:#}"
        );
    }
}

#[test]
fn a_healthy_static_key_setup_passes_against_moto_and_names_the_identity() {
    let Some(moto) = Moto::start() else { return };
    let project = aws_project("profile = \"dev\"\naccount = \"123456789012\"\n");
    static_profile(&project);
    let (out, report) = doctor(&project, &["aws"], &[("AWS_ENDPOINT_URL_STS", &moto.url())]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    for id in [
        "aws.profile",
        "aws.default_profile_env",
        "aws.env_keys",
        "aws.credentials_file_mode",
        "aws.region",
        "aws.credentials",
        "aws.clock",
        "aws.account",
    ] {
        expect(&report, id, "ok");
    }
    for id in ["aws.sso_session", "aws.credential_process", "aws.mfa"] {
        expect(&report, id, "skipped");
    }
    let credentials = check(&report, "aws.credentials");
    assert!(
        summary(credentials).contains("(account 123456789012), key ****************MPLE"),
        "{credentials:#}"
    );
    assert!(
        summary(credentials).starts_with("arn:aws:"),
        "{credentials:#}"
    );
    assert!(
        details(credentials)
            .iter()
            .any(|d| d.contains(&moto.url()) && d.contains("not by AWS itself")),
        "{credentials:#}"
    );
    assert_eq!(
        summary(check(&report, "aws.profile")),
        "profile `dev` (the project's `[aws] profile`): static keys in profile `dev` (key ****************MPLE)"
    );
    assert_no_secrets(&out, &[KEY_ID, SECRET]);
}

#[test]
fn an_account_other_than_the_expected_one_is_an_error_naming_both_and_the_right_profile() {
    let Some(moto) = Moto::start() else { return };
    let project = aws_project("profile = \"dev\"\naccount = \"111122223333\"\n");
    static_profile(&project);
    home_file(
        &project,
        ".aws/config",
        "[profile dev]\nregion = eu-west-1\n[profile prod]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    );
    let (out, report) = doctor(
        &project,
        &["aws.account"],
        &[("AWS_ENDPOINT_URL_STS", &moto.url())],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    let account = expect(&report, "aws.account", "error");
    assert_eq!(
        summary(account),
        "these credentials belong to account 123456789012, the project expects 111122223333"
    );
    assert!(
        details(account).iter().any(|d| d.contains("moto")),
        "{account:#}"
    );
    assert!(
        account["fixes"][0]["description"]
            .as_str()
            .unwrap()
            .contains("`profile = \"prod\"` under [aws] in devboot.local.toml"),
        "{account:#}"
    );
    assert_no_secrets(&out, &[KEY_ID, SECRET]);
}

#[test]
fn an_expired_token_and_a_clock_two_minutes_behind_from_a_stub_sts() {
    let stub = StubSts::start("ExpiredToken", 120);
    let project = TestProject::empty();
    static_profile(&project);
    let (out, report) = doctor(
        &project,
        &["aws.credentials", "aws.clock", "aws.account"],
        &[
            ("AWS_PROFILE", "dev"),
            ("AWS_ENDPOINT_URL_STS", &stub.url()),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    let credentials = expect(&report, "aws.credentials", "error");
    assert_eq!(
        summary(credentials),
        "AWS rejected the credentials as expired (from static keys in a profile)"
    );
    assert!(details(credentials).contains(&"error code: ExpiredToken"));
    assert_eq!(
        commands(credentials),
        ["aws sts get-caller-identity --profile dev"]
    );
    let clock = expect(&report, "aws.clock", "warn");
    assert!(
        summary(clock).starts_with("the host clock is behind AWS time by 1"),
        "{clock:#}"
    );
    assert_eq!(commands(clock), [sync_clock()]);
    assert_eq!(
        summary(expect(&report, "aws.account", "skipped")),
        "skipped: `aws.credentials` failed"
    );
    assert_no_secrets(&out, &[KEY_ID, SECRET]);
}

#[test]
fn a_clock_fifteen_minutes_ahead_is_an_error_and_explains_the_signature_failure() {
    let stub = StubSts::start("SignatureDoesNotMatch", -900);
    let project = TestProject::empty();
    static_profile(&project);
    let (_, report) = doctor(
        &project,
        &["aws.credentials", "aws.clock"],
        &[
            ("AWS_PROFILE", "dev"),
            ("AWS_ENDPOINT_URL_STS", &stub.url()),
        ],
    );
    let credentials = expect(&report, "aws.credentials", "error");
    assert!(
        summary(credentials).starts_with("the host clock is ahead of AWS time by"),
        "{credentials:#}"
    );
    let clock = expect(&report, "aws.clock", "error");
    assert!(
        summary(clock).starts_with("the host clock is ahead of AWS time by 9"),
        "{clock:#}"
    );
    assert_eq!(commands(clock), [sync_clock()]);
}

#[test]
fn a_stale_session_token_next_to_long_term_keys_is_named_twice_with_the_unset() {
    let stub = StubSts::start("InvalidClientTokenId", 0);
    let project = TestProject::empty();
    let token = "IQoJb3JpZ2luX2VjEOLD-SESSION-TOKEN-0000000000";
    let (out, report) = doctor(
        &project,
        &["aws"],
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", token),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_STS", &stub.url()),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    let keys = expect(&report, "aws.env_keys", "error");
    assert_eq!(
        summary(keys),
        "a stale AWS_SESSION_TOKEN is set next to the long-term key ****************MPLE"
    );
    assert_eq!(commands(keys), ["unset AWS_SESSION_TOKEN"]);
    expect(&report, "aws.profile", "ok");
    let credentials = expect(&report, "aws.credentials", "error");
    assert_eq!(
        summary(credentials),
        "AWS does not accept access key ****************MPLE (InvalidClientTokenId)"
    );
    assert_eq!(commands(credentials), ["unset AWS_SESSION_TOKEN"]);
    assert_no_secrets(&out, &[KEY_ID, SECRET, token]);
}

#[test]
fn a_missing_profile_is_an_error_with_the_close_matches_and_its_dependents_skip() {
    let project = TestProject::empty();
    home_file(
        &project,
        ".aws/config",
        "[profile staging]\nregion = eu-west-1\n[profile production]\nregion = eu-west-1\n",
    );
    let (out, report) = doctor(&project, &["aws"], &[("AWS_PROFILE", "stagign")]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let profile = expect(&report, "aws.profile", "error");
    assert_eq!(
        summary(profile),
        "AWS profile `stagign` (AWS_PROFILE) is not defined in ~/.aws/config or ~/.aws/credentials"
    );
    assert_eq!(commands(profile)[0], "export AWS_PROFILE=staging");
    assert!(commands(profile).contains(&"aws configure sso --profile stagign"));
    for id in [
        "aws.sso_session",
        "aws.credential_process",
        "aws.mfa",
        "aws.credentials",
        "aws.clock",
    ] {
        assert_eq!(
            summary(expect(&report, id, "skipped")),
            "skipped: `aws.profile` failed",
            "{id}"
        );
    }
    assert_eq!(
        summary(expect(&report, "aws.account", "skipped")),
        "skipped: `aws.credentials` was skipped"
    );
    assert_eq!(
        summary(expect(&report, "aws.region", "skipped")),
        "profile `stagign` is not defined (see `aws.profile`)"
    );

    // Named by the project: the fix edits devboot.local.toml.
    let project = aws_project("profile = \"prodution\"\n");
    home_file(
        &project,
        ".aws/config",
        "[profile staging]\nregion = eu-west-1\n[profile production]\nregion = eu-west-1\n",
    );
    let (_, report) = doctor(&project, &["aws.profile"], &[]);
    let profile = expect(&report, "aws.profile", "error");
    assert!(
        summary(profile).contains("(the project's `[aws] profile`)"),
        "{profile:#}"
    );
    assert_eq!(
        profile["fixes"][0]["description"],
        "did you mean `production`? set `profile = \"production\"` under [aws] in devboot.local.toml"
    );
}

#[test]
fn aws_default_profile_without_aws_profile_warns_that_tools_disagree() {
    let project = TestProject::empty();
    home_file(
        &project,
        ".aws/config",
        "[default]\nregion = eu-west-1\n[profile staging]\nregion = eu-west-1\n",
    );
    let (out, report) = doctor(
        &project,
        &["aws.default_profile_env"],
        &[("AWS_DEFAULT_PROFILE", "staging")],
    );
    assert_eq!(out.code, 0, "a warning is not a failure: {}", out.stdout);
    let found = expect(&report, "aws.default_profile_env", "warn");
    assert!(
        summary(found).contains("the AWS CLI and the Ruby SDK use `staging`"),
        "{found:#}"
    );
    assert_eq!(
        commands(found),
        ["export AWS_PROFILE=staging", "unset AWS_DEFAULT_PROFILE"]
    );
    let strict = run(project
        .devboot()
        .args(["doctor", "aws.default_profile_env", "--strict"])
        .env("AWS_DEFAULT_PROFILE", "staging"));
    assert_eq!(strict.code, 1, "{}", strict.stdout);
}

#[test]
fn env_keys_override_the_selected_profile_with_a_warning() {
    let project = TestProject::empty();
    static_profile(&project);
    let (_, report) = doctor(
        &project,
        &["aws.env_keys"],
        &[
            ("AWS_PROFILE", "dev"),
            ("AWS_ACCESS_KEY_ID", "AKIAOTHERKEY00000ENV"),
            ("AWS_SECRET_ACCESS_KEY", "other-secret-key-value"),
        ],
    );
    let keys = expect(&report, "aws.env_keys", "warn");
    assert_eq!(
        summary(keys),
        "the keys in the environment (****************0ENV) override profile `dev` from AWS_PROFILE"
    );
    assert_eq!(
        commands(keys),
        ["unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY"]
    );
}

#[test]
fn sso_logins_expired_never_started_and_ending_soon_name_the_login_command() {
    let project = TestProject::empty();
    home_file(&project, ".aws/config", SSO_CONFIG);
    let vars = [("AWS_PROFILE", "dev")];

    // Never logged in on this machine.
    let (_, report) = doctor(&project, &["aws.sso_session"], &vars);
    let sso = expect(&report, "aws.sso_session", "error");
    assert_eq!(
        summary(sso),
        "profile `dev` has never logged in to AWS SSO on this machine"
    );
    assert_eq!(
        commands(sso),
        [
            "aws sso login --profile dev",
            "aws sso login --sso-session corp"
        ]
    );

    // Expired: both the cache check and the credentials check say how to log in.
    sso_cache_file(
        &project,
        r#"{"accessToken": "expired-sso-access-token", "expiresAt": "2020-01-01T00:00:00Z"}"#,
    );
    let (out, report) = doctor(&project, &["aws.sso_session", "aws.credentials"], &vars);
    assert_eq!(out.code, 1);
    let sso = expect(&report, "aws.sso_session", "error");
    assert_eq!(
        summary(sso),
        "the AWS SSO login of profile `dev` has expired (at 2020-01-01T00:00:00Z)"
    );
    assert_eq!(commands(sso)[0], "aws sso login --profile dev");
    let credentials = expect(&report, "aws.credentials", "error");
    assert_eq!(
        summary(credentials),
        "the AWS SSO session of profile `dev` has expired"
    );
    assert_eq!(commands(credentials), ["aws sso login --profile dev"]);
    assert_no_secrets(&out, &["expired-sso-access-token"]);

    // Ending within the hour: a warning.
    sso_cache_file(
        &project,
        &format!(
            r#"{{"accessToken": "fresh-sso-access-token", "expiresAt": "{}"}}"#,
            rfc3339_in(30 * 60)
        ),
    );
    let (out, report) = doctor(&project, &["aws.sso_session"], &vars);
    let sso = expect(&report, "aws.sso_session", "warn");
    assert!(
        summary(sso).starts_with("the AWS SSO login of profile `dev` expires in 30 min")
            || summary(sso).starts_with("the AWS SSO login of profile `dev` expires in 29 min"),
        "{sso:#}"
    );
    assert_no_secrets(&out, &["fresh-sso-access-token"]);

    // Valid for hours: fine.
    sso_cache_file(
        &project,
        &format!(
            r#"{{"accessToken": "fresh-sso-access-token", "expiresAt": "{}"}}"#,
            rfc3339_in(8 * 3600)
        ),
    );
    let (_, report) = doctor(&project, &["aws.sso_session"], &vars);
    expect(&report, "aws.sso_session", "ok");
}

#[test]
fn broken_sso_settings_are_an_error_with_the_configure_command() {
    let project = TestProject::empty();
    home_file(
        &project,
        ".aws/config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = eu-west-1\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n",
    );
    let (_, report) = doctor(&project, &["aws.sso_session"], &[("AWS_PROFILE", "dev")]);
    let sso = expect(&report, "aws.sso_session", "error");
    assert_eq!(
        summary(sso),
        "the AWS SSO settings of profile `dev` are incomplete: `[sso-session corp]` has no `sso_region`"
    );
    assert_eq!(commands(sso), ["aws configure sso --profile dev"]);
}

#[test]
fn no_region_is_an_error_naming_where_to_set_it_and_stops_the_sts_checks() {
    let project = TestProject::empty();
    home_file(
        &project,
        ".aws/credentials",
        &format!("[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
    );
    let (out, report) = doctor(
        &project,
        &["aws.region", "aws.credentials"],
        &[("AWS_PROFILE", "dev")],
    );
    assert_eq!(out.code, 1);
    let region = expect(&report, "aws.region", "error");
    assert_eq!(summary(region), "no AWS region is set for profile `dev`");
    assert_eq!(
        commands(region),
        [
            "aws configure set region eu-west-1 --profile dev",
            "export AWS_REGION=eu-west-1"
        ]
    );
    assert_eq!(
        summary(expect(&report, "aws.credentials", "skipped")),
        "skipped: `aws.region` failed"
    );
}

#[test]
fn a_credential_process_that_is_not_installed_is_named_without_its_arguments() {
    let project = TestProject::empty();
    home_file(
        &project,
        ".aws/config",
        "[profile ci]\nregion = eu-west-1\ncredential_process = devboot-no-such-helper --profile ci --password hunter2\n",
    );
    let (out, report) = doctor(
        &project,
        &["aws.credential_process", "aws.credentials"],
        &[("AWS_PROFILE", "ci")],
    );
    assert_eq!(out.code, 1);
    let process = expect(&report, "aws.credential_process", "error");
    assert_eq!(
        summary(process),
        "the credential_process program `devboot-no-such-helper` of profile `ci` is not on PATH"
    );
    assert_eq!(
        commands(process),
        ["aws configure get credential_process --profile ci"]
    );
    let credentials = expect(&report, "aws.credentials", "error");
    assert!(
        summary(credentials).contains("is not installed (exit status 127)"),
        "{credentials:#}"
    );
    assert_no_secrets(&out, &["hunter2"]);
}

#[test]
fn an_mfa_role_warns_that_devboot_cannot_prompt() {
    let project = TestProject::empty();
    static_profile(&project);
    home_file(
        &project,
        ".aws/config",
        "[profile dev]\nregion = eu-west-1\n[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = dev\nmfa_serial = arn:aws:iam::111122223333:mfa/me\n",
    );
    let (out, report) = doctor(&project, &["aws.mfa"], &[("AWS_PROFILE", "admin")]);
    assert_eq!(out.code, 0);
    let mfa = expect(&report, "aws.mfa", "warn");
    assert_eq!(
        summary(mfa),
        "profile `admin` assumes arn:aws:iam::111122223333:role/admin with MFA (arn:aws:iam::111122223333:mfa/me): devboot cannot ask for the code"
    );
    assert_eq!(
        commands(mfa),
        [
            "aws configure set credential_process 'aws-vault exec --json admin' --profile admin-vault"
        ]
    );
}

#[test]
fn a_world_readable_credentials_file_is_an_error_that_fix_makes_private() {
    let project = TestProject::empty();
    static_profile(&project);
    let credentials = project.home().join(".aws/credentials");
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (out, report) = doctor(&project, &["aws.credentials_file_mode"], &[]);
    assert_eq!(out.code, 1);
    let mode = expect(&report, "aws.credentials_file_mode", "error");
    assert_eq!(
        summary(mode),
        "~/.aws/credentials is readable by its group and every user (mode 644)"
    );
    assert_eq!(commands(mode), ["chmod 600 ~/.aws/credentials"]);

    let (out, report) = doctor(
        &project,
        &["aws.credentials_file_mode", "--fix", "--yes"],
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let fixed = expect(&report, "aws.credentials_file_mode", "ok");
    assert_eq!(
        fixed["details"][0],
        "--fix applied: make the AWS credential files readable by you only (`chmod 600`)"
    );
    let bits = std::fs::metadata(&credentials)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(bits, 0o600);
    assert_no_secrets(&out, &[KEY_ID, SECRET]);
}

#[test]
fn a_profile_without_credentials_warns_and_sts_is_never_reached() {
    let project = TestProject::empty();
    home_file(
        &project,
        ".aws/config",
        "[profile dev]\nregion = eu-west-1\n",
    );
    let (_, report) = doctor(
        &project,
        &["aws.profile", "aws.credentials"],
        &[("AWS_PROFILE", "dev")],
    );
    let profile = expect(&report, "aws.profile", "warn");
    assert_eq!(
        summary(profile),
        "profile `dev` holds no credentials (no keys, role, SSO or credential_process)"
    );
    let credentials = expect(&report, "aws.credentials", "error");
    assert!(
        summary(credentials).starts_with("no AWS credentials found for profile `dev`"),
        "{credentials:#}"
    );
    assert_eq!(
        commands(credentials),
        [
            "aws configure sso --profile dev",
            "aws configure --profile dev"
        ]
    );
    // Each provider says why it had nothing; instance metadata is not waited on.
    assert!(
        details(credentials)
            .iter()
            .any(|d| d.starts_with("Ec2InstanceMetadata: not asked here")),
        "{credentials:#}"
    );
}

// ---- The app container in server mode, on the engine ----

/// Profile `dev` whose `credential_process` hands out temporary keys valid for an hour.
fn temporary_profile(home: &Path) {
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let script = aws.join("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nexp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\n\
         printf '{\"Version\":1,\"AccessKeyId\":\"ASIADOCTORTEST00001\",\"SecretAccessKey\":\"doctor-secret-key\",\"SessionToken\":\"doctor-session-token\",\"Expiration\":\"%s\"}\\n' \"$exp\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile dev]\nregion = eu-west-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
}

/// The endpoint process's pid, from its pid file under the test HOME.
fn endpoint_pid(home: &Path) -> Option<u32> {
    let projects = home.join(".local/state/devboot/projects");
    let dir = std::fs::read_dir(&projects).ok()?.next()?.ok()?.path();
    let running: Value =
        serde_json::from_slice(&std::fs::read(dir.join("endpoint.pid")).ok()?).ok()?;
    running["pid"].as_u64().and_then(|p| u32::try_from(p).ok())
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

const CONTAINER_CHECKS: &[&str] = &["aws.container_endpoint", "aws.container_credentials"];

fn container_doctor(stack: &EngineProject) -> (Output, Value) {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(CONTAINER_CHECKS);
    let out = stack.devboot(&args);
    let report = one_json(&out);
    (out, report)
}

#[test]
fn the_app_containers_credential_wiring_is_checked_and_each_fault_found() {
    if !require_engine() {
        return;
    }
    let local = format!(
        "{AUTO_PORTS}[aws]\nprofile = \"dev\"\nrelay_image = \"127.0.0.1:5000/devboot/socat:1\"\n"
    );
    let stack = EngineProject::new("doctoraws", &local);
    let home = stack.project.home();
    temporary_profile(&home);
    stack.up();
    let secrets = [
        "doctor-secret-key",
        "doctor-session-token",
        "ASIADOCTORTEST",
    ];

    // Wired: the container asks the endpoint, and gets credentials through the relay.
    let (out, report) = container_doctor(&stack);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let endpoint = expect(&report, "aws.container_endpoint", "ok");
    assert_eq!(
        summary(endpoint),
        "`web` asks devboot's credential endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), and nothing overrides it"
    );
    let served = expect(&report, "aws.container_credentials", "ok");
    assert!(
        summary(served)
            .starts_with("`web` gets credentials from 169.254.170.2 (key …0001, expiring at"),
        "{served:#}"
    );
    assert_no_secrets(&out, &secrets);

    // The endpoint on the host died: the relay answers, the endpoint does not.
    let pid = endpoint_pid(&home).expect("the endpoint records its pid");
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (out, report) = container_doctor(&stack);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let dead = expect(&report, "aws.container_credentials", "error");
    assert_eq!(
        summary(dead),
        "the relay at 169.254.170.2:80 answers `web`, but the endpoint on the host does not"
    );
    assert!(
        details(dead).contains(&"the endpoint on the host is not running"),
        "{dead:#}"
    );
    assert_eq!(commands(dead)[0], "devboot up");
    stack.up();
    let (_, report) = container_doctor(&stack);
    expect(&report, "aws.container_credentials", "ok");

    // The relay is stopped: nothing answers at 169.254.170.2.
    let relay = format!("{}-aws-relay", stack.name);
    docker(&["stop", "-t", "0", &relay]);
    let (out, report) = container_doctor(&stack);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let gone = expect(&report, "aws.container_credentials", "error");
    assert!(summary(gone).contains("169.254.170.2:80"), "{gone:#}");
    assert_eq!(
        commands(gone),
        [
            format!("docker ps --all --filter network={}_awscreds", stack.name).as_str(),
            "devboot up"
        ]
    );
    stack.up();

    // AWS_PROFILE in the app's environment overrides the endpoint in every SDK.
    let local_toml = stack.project.read("devboot.local.toml");
    stack.project.write(
        "devboot.local.toml",
        &format!("{local_toml}[services.web.environment]\nAWS_PROFILE = \"dev\"\n"),
    );
    stack.up();
    let (out, report) = container_doctor(&stack);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let overridden = expect(&report, "aws.container_endpoint", "error");
    assert_eq!(
        summary(overridden),
        "something overrides the credential endpoint in `web`: AWS_PROFILE"
    );
    assert!(
        details(overridden)
            .contains(&"AWS_PROFILE is set by the profile (`[services.web.environment]`)"),
        "{overridden:#}"
    );
    assert_eq!(commands(overridden), ["devboot up"]);
    assert_eq!(
        summary(expect(&report, "aws.container_credentials", "skipped")),
        "skipped: `aws.container_endpoint` failed"
    );
    assert_no_secrets(&out, &secrets);
}
