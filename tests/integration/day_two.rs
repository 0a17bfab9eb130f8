//! Day two against the real engine and the fixture Rails app: `exec`, `run`, `psql`,
//! `redis-cli` and a profile shortcut (exit statuses and stdin passed through, stdout and
//! stderr apart), and two checkouts of one repository up side by side (`ls`, `down --all`).

use std::io::Write as _;
use std::process::Stdio;

use crate::common::{Output, TestProject, require_engine, run};
use crate::stack::{AUTO_PORTS, EngineProject, docker, http};

/// `devboot ARGS` in `project` with `input` on stdin.
fn devboot_with_stdin(project: &TestProject, args: &[&str], input: &str) -> Output {
    let mut child = project
        .devboot()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn exec_run_clients_and_shortcuts_pass_streams_and_exit_codes_through() {
    if !require_engine() {
        return;
    }
    let shortcuts = "[commands]\nhello = \"echo hello from $RAILS_ENV:\"\n";
    let stack = EngineProject::new("day2", &format!("{AUTO_PORTS}{shortcuts}"));
    stack.up();

    // The command's exit status is devboot's.
    let failed = stack.devboot(&["exec", "db", "sh", "-c", "exit 7"]);
    assert_eq!(failed.code, 7, "{}", failed.stderr);
    assert_eq!(failed.stderr, "");
    // Arguments are argv, not a shell line; stdout and stderr stay apart.
    let streams = stack.devboot(&["exec", "db", "sh", "-c", "echo out; echo err >&2", "x"]);
    assert_eq!(
        (
            streams.code,
            streams.stdout.as_str(),
            streams.stderr.as_str()
        ),
        (0, "out\n", "err\n")
    );
    let literal = stack.devboot(&["exec", "redis", "echo", "$HOME", "a;b"]);
    assert_eq!(literal.stdout, "$HOME a;b\n");
    // stdin is piped in, and its end closes the command's stdin.
    let piped = devboot_with_stdin(&stack.project, &["exec", "db", "wc", "-l"], "1\n2\n3\n");
    assert_eq!(
        (piped.code, piped.stdout.trim()),
        (0, "3"),
        "{}",
        piped.stderr
    );

    // On a terminal the command gets a TTY (util-linux `script` gives devboot one), and its
    // exit status still passes through.
    if crate::common::have("script") {
        let line = format!(
            "{} exec db sh -c 'tty; sleep 1; stty size; exit 5'",
            assert_cmd::cargo::cargo_bin("devboot").display()
        );
        let devboot = stack.project.devboot();
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .current_dir(stack.project.root())
            .env_clear()
            .envs(devboot.get_envs().filter_map(|(k, v)| Some((k, v?))));
        let tty = run(&mut script);
        assert_eq!(tty.code, 5, "{}\n{}", tty.stdout, tty.stderr);
        assert!(tty.stdout.contains("/dev/pts/"), "{}", tty.stdout);
        // `script`'s terminal has no size: the command's TTY is resized to 24x80 once it runs.
        assert!(tty.stdout.contains("24 80"), "{}", tty.stdout);
    }

    // devboot's own failures are 1 or 2 and say `error:`.
    let unknown = stack.devboot(&["exec", "nope", "true"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no service `nope`"),
        "{}",
        unknown.stderr
    );

    // A one-off container of the app: the app's environment, its exit status, removed after.
    let one_off = stack.devboot(&[
        "run",
        "sh",
        "-c",
        "echo \"$RAILS_ENV ${DATABASE_URL%%:*}\"; exit 3",
    ]);
    assert_eq!(one_off.code, 3, "{}", one_off.stderr);
    assert_eq!(one_off.stdout, "development postgres\n");
    let from_stdin = devboot_with_stdin(&stack.project, &["run", "cat"], "piped\n");
    assert_eq!(
        (from_stdin.code, from_stdin.stdout.as_str()),
        (0, "piped\n")
    );
    let left = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.name),
        "--filter",
        "label=com.docker.compose.oneoff=True",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(left, "", "one-off containers left behind");
    // The stack's own web container is untouched by the one-offs.
    let status = stack.status();
    assert!(
        status["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "running"),
        "{status}"
    );

    // The clients run in their containers.
    let psql = stack.devboot(&["psql", "-tAc", "select 40 + 2"]);
    assert_eq!(
        (psql.code, psql.stdout.as_str()),
        (0, "42\n"),
        "{}",
        psql.stderr
    );
    let redis = stack.devboot(&["redis-cli", "ping"]);
    assert_eq!(
        (redis.code, redis.stdout.as_str()),
        (0, "PONG\n"),
        "{}",
        redis.stderr
    );
    let sql_error = stack.devboot(&["psql", "-c", "select nonsense"]);
    assert_eq!(sql_error.code, 1);
    assert!(
        sql_error.stderr.contains("nonsense"),
        "{}",
        sql_error.stderr
    );

    // `console` is the app's Rails console; without a terminal it reads stdin.
    let console = devboot_with_stdin(&stack.project, &["console"], "puts 6 * 7\n");
    assert_eq!(console.code, 0, "{}\n{}", console.stdout, console.stderr);
    assert!(
        console.stdout.lines().any(|l| l == "42"),
        "{}",
        console.stdout
    );

    // A profile shortcut: the profile's line for the app's shell, arguments quoted onto it.
    let hello = stack.devboot(&["hello", "a b", "$HOME"]);
    assert_eq!(
        (hello.code, hello.stdout.as_str()),
        (0, "hello from development: a b $HOME\n"),
        "{}",
        hello.stderr
    );
    let typo = stack.devboot(&["helo"]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains("unknown command `helo`")
            && typo.stderr.contains("did you mean `devboot hello`?"),
        "{}",
        typo.stderr
    );

    // A service that is not running is devboot's failure (1), not the command's.
    stack.devboot(&["down"]);
    let down = stack.devboot(&["exec", "db", "true"]);
    assert_eq!(down.code, 1);
    assert!(
        down.stderr.contains("error: service `db` is not running"),
        "{}",
        down.stderr
    );
}

/// A second checkout of the fixture, with the same project name (the same `devboot.local.toml`
/// as the first); `down --volumes` when dropped.
struct SecondCheckout(TestProject);

impl Drop for SecondCheckout {
    fn drop(&mut self) {
        let _ = run(self.0.devboot().args(["down", "--volumes", "--yes"]));
    }
}

#[test]
fn two_checkouts_run_side_by_side_with_their_own_ports_and_data() {
    if !require_engine() {
        return;
    }
    // The profile's own fixed ports: the default a team commits. The first checkout publishes
    // them; the second gets its own name, volumes and free ports without a file to edit.
    let first = EngineProject::new("checkouts", "");
    let second = SecondCheckout(TestProject::fixture("rails-app"));
    second.0.write(
        "devboot.local.toml",
        &first.project.read("devboot.local.toml"),
    );
    first.up();
    let up = run(second.0.devboot().args(["up", "--yes"]));
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);

    let status = |project: &TestProject| -> serde_json::Value {
        let out = run(project.devboot().args(["status", "--json"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    };
    let port = |status: &serde_json::Value, service: &str| {
        let service = status["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == service)
            .unwrap();
        u16::try_from(service["ports"][0]["host"].as_u64().unwrap()).unwrap()
    };
    let (a, b) = (status(&first.project), status(&second.0));
    assert_eq!(a["project"], first.name.as_str());
    let second_name = b["project"].as_str().unwrap().to_owned();
    assert!(
        second_name.starts_with(&format!("{}-", first.name))
            && second_name.len() == first.name.len() + 7,
        "{second_name}"
    );
    assert_eq!(port(&a, "web"), 3000);
    for service in ["web", "db", "redis"] {
        assert_ne!(port(&a, service), port(&b, service), "{service}");
    }
    // Different data: a note written to the first is not in the second.
    let (web_a, web_b) = (port(&a, "web"), port(&b, "web"));
    assert_eq!(http("POST", web_a, "/notes?body=first").0, 200);
    assert_eq!(
        http("GET", web_a, "/"),
        (200, "notes=1 visits=1".to_owned())
    );
    assert_eq!(
        http("GET", web_b, "/"),
        (200, "notes=0 visits=1".to_owned())
    );
    // The second keeps its name: `status` and `plan` find it again.
    let again = run(second.0.devboot().args(["up", "--yes"]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("Up to date"), "{}", again.stderr);

    // `ls` lists both with their checkouts.
    let ls = run(first.project.devboot().args(["ls", "--json"]));
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    let stacks: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    let find = |name: &str| {
        stacks
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["project"] == name)
            .unwrap_or_else(|| panic!("{name} not in {stacks}"))
            .clone()
    };
    let (listed_a, listed_b) = (find(&first.name), find(&second_name));
    let real = |p: &TestProject| {
        std::fs::canonicalize(p.root())
            .unwrap()
            .display()
            .to_string()
    };
    assert_eq!(listed_a["checkout"], real(&first.project).as_str());
    assert_eq!(listed_b["checkout"], real(&second.0).as_str());
    for listed in [&listed_a, &listed_b] {
        assert_eq!(listed["state"], "running", "{listed}");
        assert!(listed["disk_bytes"].as_u64().unwrap() > 0, "{listed}");
        assert_eq!(
            listed["containers"].as_array().unwrap().len(),
            3,
            "{listed}"
        );
    }
    let table = run(first.project.devboot().arg("ls"));
    assert!(table.stdout.starts_with("PROJECT"), "{}", table.stdout);
    assert!(table.stdout.contains(&second_name), "{}", table.stdout);

    // `down --all` needs a confirmation, then stops both and keeps their volumes.
    let refused = run(first.project.devboot().args(["down", "--all"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let all = run(first.project.devboot().args(["down", "--all", "--yes"]));
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert!(
        all.stderr.contains(&format!("Stopped {}", first.name)),
        "{}",
        all.stderr
    );
    assert!(all.stderr.contains(&second_name), "{}", all.stderr);
    let after: serde_json::Value =
        serde_json::from_str(&run(first.project.devboot().args(["ls", "--json"])).stdout).unwrap();
    for name in [&first.name, &second_name] {
        let listed = after
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["project"] == name.as_str())
            .unwrap();
        assert_eq!(listed["state"], "down", "{listed}");
        assert!(
            !listed["volumes"].as_array().unwrap().is_empty(),
            "{listed}"
        );
    }
    // Each checkout comes back with its own data.
    first.up();
    let back = run(second.0.devboot().args(["up", "--yes"]));
    assert_eq!(back.code, 0, "{}", back.stderr);
    let web_a = port(&status(&first.project), "web");
    let web_b = port(&status(&second.0), "web");
    assert!(http("GET", web_a, "/").1.starts_with("notes=1 "));
    assert!(http("GET", web_b, "/").1.starts_with("notes=0 "));
}
