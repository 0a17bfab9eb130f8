//! Server mode end to end: `devboot up` serves the developer's credentials to the fixture Rails
//! app through the relay at 169.254.170.2, the app's own aws-sdk-core calls STS (moto) with
//! them, they rotate without a container restart, the endpoint refuses requests without its
//! secret, and `down` stops it all. Over both relay routes: `link-local` (this Linux engine's
//! default) and `host-gateway` (a VM engine's, forced here: the relay calls
//! `host.docker.internal`, which the engine maps to its default bridge's gateway).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Moto, free_port, require_engine, require_tool, run};
use crate::stack::{AUTO_PORTS, EngineProject, docker, http};

/// A host profile whose `credential_process` hands out new keys, valid 30 s, on every call:
/// the endpoint refreshes them at half-life (15 s), and the SDK (which refreshes when less than
/// 300 s are left) asks for them on every request.
fn rotating_profile(home: &Path) {
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let script = aws.join("rotate.sh");
    std::fs::write(
        &script,
        r#"#!/bin/sh
n=$(cat "$(dirname "$0")/count" 2>/dev/null || echo 0); n=$((n + 1))
echo "$n" > "$(dirname "$0")/count"
exp=$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version":1,"AccessKeyId":"ASIAROTATING%04d","SecretAccessKey":"rotating-secret-%d","SessionToken":"rotating-token-%d","Expiration":"%s"}\n' "$n" "$n" "$n" "$exp"
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile dev]\nregion = eu-west-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
}

/// `GET path` to `addr` with an optional `Authorization` header; the status code, 0 when the
/// connection is closed without an answer.
fn endpoint_status(addr: &str, path: &str, token: Option<&str>) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let auth = token
        .map(|t| format!("Authorization: {t}\r\n"))
        .unwrap_or_default();
    // A connection closed unanswered may refuse the write too: that is status 0 as well.
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The endpoint's stored secrets (path, token) under the test HOME.
fn stored_secrets(home: &Path) -> (String, String) {
    let projects = home.join(".local/state/devboot/projects");
    let dir = std::fs::read_dir(&projects)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("endpoint.json")).unwrap()).unwrap();
    (
        stored["path"].as_str().unwrap().to_owned(),
        stored["token"].as_str().unwrap().to_owned(),
    )
}

/// The endpoint's pid file under the test HOME.
fn endpoint_running(home: &Path) -> Option<serde_json::Value> {
    let projects = home.join(".local/state/devboot/projects");
    let dir = std::fs::read_dir(&projects).ok()?.next()?.ok()?.path();
    serde_json::from_slice(&std::fs::read(dir.join("endpoint.pid")).ok()?).ok()
}

fn endpoint_pid(home: &Path) -> Option<u32> {
    endpoint_running(home)?["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
}

/// Whether `pid` runs (a zombie has exited: some sandboxes' init never reaps orphans).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The fixture relay image pinned by digest, as docs/profiles.md recommends
/// (`name:tag@sha256:…`): the digest it has in the local test registry.
fn pinned_relay_image() -> String {
    const TAGGED: &str = "127.0.0.1:5000/devboot/socat:1";
    docker(&["pull", "-q", TAGGED]);
    let digests = docker(&[
        "image",
        "inspect",
        "--format",
        "{{range .RepoDigests}}{{println .}}{{end}}",
        TAGGED,
    ]);
    let digest = digests
        .lines()
        .find_map(|line| line.strip_prefix("127.0.0.1:5000/devboot/socat@"))
        .unwrap_or_else(|| panic!("no registry digest for {TAGGED}: {digests}"));
    format!("{TAGGED}@{digest}")
}

#[test]
fn the_app_gets_rotating_credentials_through_the_endpoint_and_down_stops_it() {
    if !require_engine() || !require_tool("moto_server") {
        return;
    }
    serve_rotating_credentials("awssrv", None);
}

/// The route a VM engine takes, forced on this Linux engine: the relay reaches the host through
/// the engine's `host-gateway`, and the endpoint listens where that arrives.
#[test]
fn over_host_gateway_the_app_gets_rotating_credentials_and_down_stops_it() {
    if !require_engine() || !require_tool("moto_server") {
        return;
    }
    serve_rotating_credentials("awshgw", Some("host-gateway"));
}

/// The server-mode scenario with the profile's `relay_route` (`None`: automatic, which is
/// `link-local` on this Linux engine).
fn serve_rotating_credentials(name: &str, relay_route: Option<&str>) {
    let moto_port = free_port();
    let relay_image = pinned_relay_image();
    let route_line = relay_route
        .map(|route| format!("relay_route = \"{route}\"\n"))
        .unwrap_or_default();
    let stack = EngineProject::new(
        name,
        &format!(
            "{AUTO_PORTS}[services.web.environment]\nAWS_ENDPOINT_URL_STS = \"http://169.254.170.1:{moto_port}\"\n\
             [aws]\nprofile = \"dev\"\nrelay_image = \"{relay_image}\"\n{route_line}"
        ),
    );
    let home = stack.project.home();
    rotating_profile(&home);

    let up = stack.up();
    assert!(
        up.stdout
            .contains("AWS for the app: served by devboot from profile `dev`"),
        "{}",
        up.stdout
    );
    // The endpoint's network exists now; moto listens on the host side of it, where the
    // app container reaches it.
    let _moto = Moto::start_at("169.254.170.1", moto_port);
    let web = stack.host_port("web");

    let (status, first) = http("GET", web, "/aws");
    assert_eq!(status, 200, "{first}");
    assert!(first.contains("arn=arn:aws:sts::123456789012:"), "{first}");
    let key_of = |body: &str| {
        body.rsplit("key=")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let first_key = key_of(&first);

    // Rotation: the endpoint refreshes on the host; the running container keeps working with
    // the new keys.
    let container = format!("{}-web-1", stack.name);
    let started = docker(&["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", &container]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let rotated = loop {
        std::thread::sleep(Duration::from_millis(500));
        let (status, body) = http("GET", web, "/aws");
        assert_eq!(status, 200, "{body}");
        if key_of(&body) != first_key {
            break body;
        }
        assert!(Instant::now() < deadline, "the key never rotated: {body}");
    };
    assert!(
        rotated.contains("arn=arn:aws:sts::123456789012:"),
        "{rotated}"
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", &container]),
        started,
        "rotation must not restart the app container"
    );

    // The relay runs the image by the digest the profile pins.
    let relay_container = format!("{}-aws-relay", stack.name);
    assert_eq!(
        docker(&["inspect", "-f", "{{.Config.Image}}", &relay_container]).trim(),
        relay_image
    );

    // Requests without the secret are refused; with it, answered.
    let (path, token) = stored_secrets(&home);
    let relay = "169.254.170.2:80";
    assert_eq!(
        endpoint_status(relay, "/creds/not-the-secret", Some(&token)),
        404
    );
    assert_eq!(endpoint_status(relay, &path, Some("wrong-token")), 403);
    assert_eq!(endpoint_status(relay, &path, Some(&token)), 200);
    // The endpoint listens where the route arrives: the credential network's gateway, or the
    // default bridge's gateway that `host-gateway` stands for on this engine; the relay calls
    // it there.
    let running = endpoint_running(&home).unwrap();
    let (address, port) = (
        running["address"].as_str().unwrap().to_owned(),
        running["port"].as_u64().unwrap(),
    );
    let relay_inspect = |format: &str| docker(&["inspect", "-f", format, &relay_container]);
    if relay_route == Some("host-gateway") {
        assert_eq!(address, bridge_gateway());
        assert_eq!(
            relay_inspect("{{json .HostConfig.ExtraHosts}}").trim(),
            r#"["host.docker.internal:host-gateway"]"#
        );
        assert!(
            relay_inspect("{{json .Args}}").contains(&format!("TCP:host.docker.internal:{port}"))
        );
    } else {
        assert_eq!(address, "169.254.170.1");
        assert!(relay_inspect("{{json .Args}}").contains(&format!("TCP:169.254.170.1:{port}")));
    }
    // The endpoint answers the relay alone: from the host, even the right secret gets nothing.
    let direct = format!("{address}:{port}");
    assert_eq!(endpoint_status(&direct, &path, Some(&token)), 0);
    assert_eq!(endpoint_status(relay, &path, Some(&token)), 200);

    // No AWS key in the container definition, only the endpoint's own path and token; no
    // secret in any file of the project.
    let inspect = docker(&["inspect", &container]);
    for absent in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "ASIAROTATING",
        "rotating-secret",
        "/.aws",
    ] {
        assert!(!inspect.contains(absent), "`{absent}` in docker inspect");
    }
    assert!(inspect.contains(&format!("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={path}")));
    assert!(inspect.contains("AWS_EC2_METADATA_DISABLED=true"));
    for file in files_under(&stack.project.root()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for secret in [token.as_str(), path.as_str(), "rotating-secret"] {
            assert!(!text.contains(secret), "{} holds a secret", file.display());
        }
    }

    // doctor sees the app as `up` defined it (AWS variables and network included).
    let doctor = stack.devboot(&["doctor", "stack.config_drift", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap();
    let drift = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "stack.config_drift")
        .unwrap();
    assert_eq!(drift["status"], "ok", "{drift}");
    // And so does `plan`.
    let plan: serde_json::Value =
        serde_json::from_str(&stack.devboot(&["plan", "--json"]).stdout).unwrap();
    for container in plan["containers"].as_array().unwrap() {
        assert_eq!(container["action"], "unchanged", "{container}");
    }

    // A second `up` changes nothing and keeps the same endpoint process.
    let pid = endpoint_pid(&home).expect("the endpoint records its pid");
    let moto_url = format!("http://169.254.170.1:{moto_port}");
    let status = stack.devboot(&["aws", "status", "--json", "--endpoint-url", &moto_url]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["mode"], "server");
    assert_eq!(status["endpoint"]["pid"], pid);
    assert_eq!(status["endpoint"]["address"], format!("{address}:{port}"));
    let route = &status["relay_route"];
    assert_eq!(
        route["route"],
        relay_route.unwrap_or("link-local"),
        "{route}"
    );
    let reason = route["reason"].as_str().unwrap();
    assert!(
        reason.ends_with("the engine runs on this host's kernel")
            && reason.starts_with("set by") == relay_route.is_some(),
        "{reason}"
    );
    let text = stack.devboot(&["aws", "status", "--endpoint-url", &moto_url]);
    let route_line = format!("route    {}", route["route"].as_str().unwrap());
    assert!(text.stdout.contains(&route_line), "{}", text.stdout);
    assert!(text.stdout.contains(reason), "{}", text.stdout);
    let status = stack.status();
    assert_eq!(status["aws"]["mode"], "server");
    assert_eq!(status["aws"]["endpoint"]["pid"], pid);
    assert!(!status.to_string().contains("rotating-secret"));
    let again = stack.up();
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    assert_eq!(endpoint_pid(&home), Some(pid));

    // An endpoint that died is restarted by the next `up`, without touching the app.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stack.up();
    let restarted = endpoint_pid(&home).expect("a new endpoint");
    assert_ne!(restarted, pid);
    assert_eq!(
        docker(&["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", &container]),
        started
    );
    let (status, body) = http("GET", web, "/aws");
    assert_eq!(status, 200, "{body}");

    // `down` stops the endpoint and removes the relay and its network.
    let down = stack.devboot(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(!alive(restarted), "the endpoint outlived `down`");
    assert!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("name={}-aws-relay", stack.name)
        ])
        .trim()
        .is_empty()
    );
    assert!(
        docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name={}_awscreds", stack.name)
        ])
        .trim()
        .is_empty()
    );

    // Leaving server mode removes what it used: endpoint, relay, network and stored secrets.
    stack.up();
    let serving = endpoint_pid(&home).expect("serving again");
    stack.project.write(
        "devboot.local.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n{AUTO_PORTS}[aws]\nprofile = \"dev\"\nmode = \"emulator\"\nemulator_endpoint = \"http://169.254.170.1:{moto_port}\"\n",
            stack.name
        ),
    );
    let emulator = stack.up();
    assert!(
        emulator
            .stderr
            .contains(&format!("Removed container {}-aws-relay", stack.name)),
        "{}",
        emulator.stderr
    );
    assert!(!alive(serving), "the endpoint outlived server mode");
    assert!(
        docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("name={}_awscreds", stack.name)
        ])
        .trim()
        .is_empty()
    );
    let projects = home.join(".local/state/devboot/projects");
    let dir = std::fs::read_dir(&projects)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        !dir.join("endpoint.json").exists(),
        "the secrets are forgotten"
    );
}

/// The host's address on the engine's default bridge: one every container can reach. The IPAM
/// config names it as `Gateway`, except on a freshly started dockerd 20.10, which lists only the
/// subnet; the bridge interface (`docker0`) holds the address then.
fn bridge_gateway() -> String {
    let inspect = |format: &str| docker(&["network", "inspect", "bridge", "-f", format]);
    let gateway = inspect("{{range .IPAM.Config}}{{.Gateway}}{{end}}");
    if !gateway.trim().is_empty() {
        return gateway.trim().to_owned();
    }
    let interface = inspect(r#"{{index .Options "com.docker.network.bridge.name"}}"#);
    let interface = Some(interface.trim())
        .filter(|name| !name.is_empty() && *name != "<no value>")
        .unwrap_or("docker0");
    let addresses = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", interface])
        .output()
        .unwrap();
    let addresses = String::from_utf8_lossy(&addresses.stdout);
    // `4: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0 ...`
    addresses
        .split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .unwrap_or_else(|| {
            panic!("no IPv4 address on the default bridge `{interface}`: {addresses}")
        })
        .to_owned()
}

#[test]
fn env_mode_injects_short_lived_keys_and_emulator_mode_points_at_the_emulator() {
    if !require_engine() || !require_tool("moto_server") {
        return;
    }
    let gateway = bridge_gateway();
    let moto_port = free_port();
    let moto_server = Moto::start_at(&gateway, moto_port);
    let moto = moto_server.url();
    let settings = |aws: &str| {
        format!(
            "{AUTO_PORTS}[services.web.environment]\nAWS_ENDPOINT_URL_STS = \"{moto}\"\n[aws]\nprofile = \"dev\"\n{aws}"
        )
    };
    let stack = EngineProject::new("awsenv", &settings("mode = \"env\"\n"));
    let aws = stack.project.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[dev]\naws_access_key_id = AKIADEVBOOTLONGTERM1\naws_secret_access_key = devboot-long-term-secret\n",
    )
    .unwrap();
    std::fs::write(aws.join("config"), "[profile dev]\nregion = eu-west-1\n").unwrap();
    let up = |stack: &EngineProject| {
        let out = run(stack
            .project
            .devboot()
            .args(["up", "--yes"])
            .env("DEVBOOT_AWS_STS_ENDPOINT", &moto));
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        out
    };

    // env: temporary keys from STS GetSessionToken, with their expiry announced.
    let first = up(&stack);
    assert!(first.stderr.contains("do not refresh"), "{}", first.stderr);
    let web = stack.host_port("web");
    let (status, body) = http("GET", web, "/aws");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("account=123456789012"), "{body}");
    let container = format!("{}-web-1", stack.name);
    let inspect = docker(&["inspect", &container]);
    assert!(
        inspect.contains("AWS_SESSION_TOKEN="),
        "temporary keys are injected"
    );
    assert!(
        !inspect.contains("AKIADEVBOOTLONGTERM1"),
        "never the long-term key"
    );
    assert!(
        !inspect.contains("devboot-long-term-secret"),
        "never the long-term secret"
    );
    // Still-valid keys are reused: the second `up` changes nothing.
    let again = up(&stack);
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);
    // Another region needs new keys.
    stack.project.write(
        "devboot.local.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n{}",
            stack.name,
            settings("mode = \"env\"\nregion = \"us-west-2\"\n")
        ),
    );
    up(&stack);
    let inspect = docker(&["inspect", &container]);
    assert!(inspect.contains("AWS_REGION=us-west-2"), "{inspect}");

    // emulator: the app talks to the emulator with dummy keys.
    stack.project.write(
        "devboot.local.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n{}",
            stack.name,
            settings(&format!(
                "mode = \"emulator\"\nemulator_endpoint = \"{moto}\"\n"
            ))
        ),
    );
    up(&stack);
    let (status, body) = http("GET", stack.host_port("web"), "/aws");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("key=test"), "{body}");
    let inspect = docker(&["inspect", &container]);
    assert!(
        inspect.contains(&format!("AWS_ENDPOINT_URL={moto}")),
        "{inspect}"
    );
    assert!(!inspect.contains("AWS_SESSION_TOKEN="));
}

#[test]
fn credentials_the_host_cannot_resolve_stop_up_before_the_app_starts() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new(
        "awsfail",
        &format!(
            "{AUTO_PORTS}[aws]\nprofile = \"dev\"\nrelay_image = \"127.0.0.1:5000/devboot/socat:1\"\n"
        ),
    );
    let aws = stack.project.home().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile dev]\nregion = eu-west-1\ncredential_process = /bin/sh -c 'echo token expired >&2; exit 3'\n",
    )
    .unwrap();
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the AWS credential endpoint did not start"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("credential_process"), "{}", out.stderr);
    let app = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name={}-web-1", stack.name),
    ]);
    assert!(app.trim().is_empty(), "the app container must not exist");
}

/// Removes a Docker network when dropped.
struct NetworkGuard(String);

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        docker(&["network", "rm", &self.0]);
    }
}

#[test]
fn a_second_project_in_server_mode_is_refused_before_anything_is_created() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new(
        "awstaken",
        &format!("{AUTO_PORTS}[aws]\nprofile = \"dev\"\nregion = \"eu-west-1\"\n"),
    );
    rotating_profile(&stack.project.home());
    // Another project's credential network holds the subnet.
    let holder = NetworkGuard(format!("devboot-test-holder-{}", std::process::id()));
    docker(&[
        "network",
        "create",
        "--subnet",
        "169.254.170.0/24",
        "--label",
        "dev.devboot.project=billing",
        &holder.0,
    ]);
    let out = stack.devboot(&["up", "--yes"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("devboot project `billing`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("`devboot down` in `billing`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("mode = \"env\""), "{}", out.stderr);
    assert!(stack.container_ids().is_empty(), "nothing may be created");
}

#[test]
fn the_endpoint_stops_by_itself_when_its_network_is_removed_without_down() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new(
        "awsgone",
        &format!(
            "{AUTO_PORTS}[aws]\nprofile = \"dev\"\nrelay_image = \"127.0.0.1:5000/devboot/socat:1\"\n"
        ),
    );
    let home = stack.project.home();
    rotating_profile(&home);
    stack.up();
    let pid = endpoint_pid(&home).expect("serving");
    // What `docker rm -f` and `docker network prune` leave: no relay, no network, no `down`.
    let web = format!("{}-web-1", stack.name);
    let relay = format!("{}-aws-relay", stack.name);
    let network = format!("{}_awscreds", stack.name);
    docker(&["rm", "-f", &relay]);
    docker(&["network", "disconnect", "-f", &network, &web]);
    docker(&["network", "rm", &network]);
    // The endpoint looks every 30 s.
    let deadline = Instant::now() + Duration::from_secs(45);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the endpoint outlived its network"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
