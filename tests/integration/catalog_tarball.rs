//! Catalogs published as https tarballs, against real parts: `openssl s_server -WWW` serving
//! archives on 127.0.0.1 with a certificate from a CA the test makes, trusted through
//! `SSL_CERT_FILE` (without it the download is refused), archives built by Python's `tarfile`
//! (which writes hostile entries as readily as good ones).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::catalog::{Server, profile, wait_for};
use crate::common::{Output, TestProject, free_port, require_tool, run};

/// Runs `openssl` in `dir`, asserting success.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An https server for the files in `served`, with a certificate for 127.0.0.1 signed by a CA
/// made here (`ca.pem` beside `served`).
struct Https {
    served: PathBuf,
    ca: PathBuf,
    port: u16,
    server: Option<Server>,
    _dir: tempfile::TempDir,
}

impl Https {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path();
        let served = tls.join("served");
        std::fs::create_dir_all(&served).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=devboot test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ]);
        openssl(tls, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        openssl(tls, &csr);
        std::fs::write(
            tls.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            tls,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        let mut https = Self {
            served,
            ca: tls.join("ca.pem"),
            port: free_port(),
            server: None,
            _dir: dir,
        };
        https.resume();
        https
    }

    /// (Re)starts the server on its port.
    fn resume(&mut self) {
        let tls = self.ca.parent().unwrap();
        let mut child = Command::new("openssl")
            .current_dir(&self.served)
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("-cert")
            .arg(tls.join("server.pem"))
            .arg("-key")
            .arg(tls.join("server.key"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(self.port, &mut child);
        self.server = Some(Server(child));
    }

    fn stop(&mut self) {
        self.server = None;
    }

    /// Publishes an archive of `entries` (`(name, content)`; content `-> target` makes a
    /// symbolic link) as `name`; returns its `[catalogs]` value (with its SHA-256).
    fn publish(&self, name: &str, entries: &[(&str, &str)]) -> String {
        let archive = self.served.join(name);
        let mut python = Command::new("python3");
        python.args(["-c", TARFILE]).arg(&archive);
        for (path, content) in entries {
            python.arg(format!("{path}\u{1}{content}"));
        }
        assert!(python.status().unwrap().success());
        let digest = devboot::digest::Digest::of(&std::fs::read(&archive).unwrap());
        format!(
            "https://127.0.0.1:{}/{name}#sha256={}",
            self.port,
            digest.as_str()
        )
    }
}

const TARFILE: &str = r#"
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tar:
    for spec in sys.argv[2:]:
        name, content = spec.split("\x01")
        info = tarfile.TarInfo(name)
        if content.startswith("-> "):
            info.type, info.linkname = tarfile.SYMTYPE, content[3:]
            tar.addfile(info)
        else:
            data = content.encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
"#;

const BASE: &str = "schema = 1\n[services.db]\nimage = \"postgres:16\"\n";

fn release(version: &str, image: &str) -> Vec<(String, String)> {
    let root = format!("acme-profiles-{version}");
    vec![
        (format!("{root}/profiles/base.toml"), BASE.to_owned()),
        (
            format!("{root}/profiles/rails.toml"),
            profile(version, image),
        ),
    ]
}

fn entries(release: &[(String, String)]) -> Vec<(&str, &str)> {
    release
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect()
}

fn project_with(catalog: &str) -> TestProject {
    let project = TestProject::empty();
    project.write(
        "devboot.toml",
        &format!("extends = \"acme:rails\"\n\n[catalogs]\nacme = \"{catalog}\"\n"),
    );
    project
}

/// `devboot ARGS` trusting the test's CA.
fn devboot(project: &TestProject, https: &Https, args: &[&str]) -> Output {
    run(project.devboot().env("SSL_CERT_FILE", &https.ca).args(args))
}

/// What the catalog cache holds of unpacked archives (nothing half-done included).
fn unpacked(project: &TestProject) -> Vec<String> {
    std::fs::read_dir(project.home().join(".cache/devboot/catalogs/tarballs"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_https_tarball_catalog_is_verified_locked_used_offline_and_upgraded_by_review() {
    if !require_tool("openssl") || !require_tool("python3") {
        return;
    }
    let mut https = Https::start();
    let v2 = release("2.0.0", "ruby:3.2");
    let catalog = https.publish("acme-2.0.0.tar.gz", &entries(&v2));
    let project = project_with(&catalog);

    // Without the CA the platform's store does not trust the server: refused, nothing kept.
    let untrusted = run(project.devboot().arg("config"));
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("cannot fetch catalog `acme`")
            && untrusted.stderr.contains("SSL_CERT_FILE"),
        "{}",
        untrusted.stderr
    );
    assert!(unpacked(&project).is_empty());
    assert!(!project.root().join("devboot.lock").exists());

    // First use: fetched, verified, unpacked under its top directory, locked with the digest.
    let started = std::time::Instant::now();
    let first = devboot(&project, &https, &["config"]);
    eprintln!("cold fetch and resolution: {:?}", started.elapsed());
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("ruby:3.2") && first.stdout.contains("postgres:16"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("Fetched catalog acme")
            && first.stderr.contains("locked acme:rails sha256:"),
        "{}",
        first.stderr
    );
    let digest = catalog.rsplit_once("#sha256=").unwrap().1;
    let lock = project.read("devboot.lock");
    assert!(
        lock.contains(&format!("digest = \"{digest}\"")) && lock.contains("profiles/base.toml"),
        "{lock}"
    );
    assert_eq!(unpacked(&project), [digest]);

    // Offline: the server is gone; the cache serves exactly the locked content.
    https.stop();
    let started = std::time::Instant::now();
    let offline = devboot(&project, &https, &["config"]);
    eprintln!("warm resolution: {:?}", started.elapsed());
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert!(offline.stdout.contains("ruby:3.2"), "{}", offline.stdout);
    assert!(!offline.stderr.contains("Fetched"), "{}", offline.stderr);
    assert_eq!(project.read("devboot.lock"), lock);

    // An altered cache is refused, with the fix; the fix fetches and verifies afresh.
    https.resume();
    let cached = project
        .home()
        .join(".cache/devboot/catalogs/tarballs")
        .join(digest);
    std::fs::write(
        cached.join("profiles/rails.toml"),
        "[services.web]\nimage = \"evil:latest\"\n",
    )
    .unwrap();
    let tampered = devboot(&project, &https, &["config"]);
    assert_eq!(tampered.code, 1, "{}", tampered.stderr);
    assert!(
        tampered.stderr.contains(&format!(
            "`acme:profiles/rails.toml` in the catalog cache does not match devboot.lock (sha256 {})",
            &digest[..12]
        )) && tampered.stderr.contains(&format!(
            "remove `~/.cache/devboot/catalogs/tarballs/{digest}`"
        )),
        "{}",
        tampered.stderr
    );
    assert!(!tampered.stdout.contains("evil"), "{}", tampered.stdout);
    std::fs::remove_dir_all(&cached).unwrap();
    let refetched = devboot(&project, &https, &["config"]);
    assert_eq!(refetched.code, 0, "{}", refetched.stderr);
    assert!(
        refetched.stdout.contains("ruby:3.2"),
        "{}",
        refetched.stdout
    );
    assert_eq!(project.read("devboot.lock"), lock);

    // The team releases 2.1.0 as a new archive; the repo points `[catalogs]` at it. `up`
    // refuses until the upgrade is reviewed.
    let v21 = release("2.1.0", "ruby:3.3");
    let catalog21 = https.publish("acme-2.1.0.tar.gz", &entries(&v21));
    let digest21 = catalog21.rsplit_once("#sha256=").unwrap().1;
    project.write(
        "devboot.toml",
        &project.read("devboot.toml").replace(&catalog, &catalog21),
    );
    let pinned = devboot(&project, &https, &["config"]);
    assert_eq!(pinned.code, 2, "{}", pinned.stderr);
    assert!(
        pinned.stderr.contains(&format!(
            "`[catalogs] acme` pins sha256 {digest21}, devboot.lock pins acme:rails sha256:{}",
            &digest[..12]
        )) && pinned
            .stderr
            .contains("devboot profile update rails --dry-run"),
        "{}",
        pinned.stderr
    );

    let dry = devboot(&project, &https, &["profile", "update", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    for expected in [
        format!(
            "acme:rails sha256:{} → sha256:{}",
            &digest[..12],
            &digest21[..12]
        ),
        "services.web.image: \"ruby:3.2\" → \"ruby:3.3\"".to_owned(),
        "~ services.web.environment.SECRET_KEY_BASE changed (value redacted)".to_owned(),
    ] {
        assert!(
            dry.stdout.contains(&expected),
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

    let update = devboot(&project, &https, &["profile", "update"]);
    assert_eq!(update.code, 0, "{}", update.stderr);
    assert!(
        project
            .read("devboot.lock")
            .contains(&format!("digest = \"{digest21}\""))
    );
    let upgraded = devboot(&project, &https, &["config"]);
    assert!(upgraded.stdout.contains("ruby:3.3"), "{}", upgraded.stdout);
}

#[test]
fn a_digest_mismatch_is_refused_before_anything_is_unpacked() {
    if !require_tool("openssl") || !require_tool("python3") {
        return;
    }
    let https = Https::start();
    let good = https.publish("good.tar.gz", &entries(&release("2.0.0", "ruby:3.2")));
    let evil = https.publish(
        "evil.tar.gz",
        &entries(&release("2.0.0", "evil.example/miner:latest")),
    );
    let expected = good.rsplit_once("#sha256=").unwrap().1;
    let actual = evil.rsplit_once("#sha256=").unwrap().1;
    // The catalog's URL now serves other bytes than the digest pins.
    std::fs::rename(
        https.served.join("evil.tar.gz"),
        https.served.join("good.tar.gz"),
    )
    .unwrap();
    let project = project_with(&good);
    let refused = devboot(&project, &https, &["config"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    for text in [
        "catalog `acme`: the downloaded archive does not have the digest devboot.toml pins"
            .to_owned(),
        format!("expected sha256 {expected}, got sha256 {actual}"),
        "nothing was unpacked".to_owned(),
        "[catalogs] acme".to_owned(),
    ] {
        assert!(
            refused.stderr.contains(&text),
            "{text} in {}",
            refused.stderr
        );
    }
    assert!(!refused.stdout.contains("evil") && !refused.stderr.contains("miner"));
    assert!(unpacked(&project).is_empty());
    assert!(!project.root().join("devboot.lock").exists());
}

#[test]
fn a_hostile_tarball_is_refused_whole() {
    if !require_tool("openssl") || !require_tool("python3") {
        return;
    }
    let https = Https::start();
    let good = release("2.0.0", "ruby:3.2");
    for (hostile, why) in [
        (("../../../../escaped.toml", "pwned"), "leaves the archive"),
        (
            (
                "acme-profiles-2.0.0/profiles/passwd.toml",
                "-> ../../../../../../etc/passwd",
            ),
            "outside the archive",
        ),
    ] {
        let mut entries = entries(&good);
        entries.push(hostile);
        let catalog = https.publish("hostile.tar.gz", &entries);
        // A token in the URL goes to the server as basic auth and never into a message.
        let project = project_with(&catalog.replace("https://", "https://platform:s3cret-token@"));
        let refused = devboot(&project, &https, &["config"]);
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        assert!(
            !refused.stderr.contains("s3cret-token") && refused.stderr.contains("platform:***@"),
            "{}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("catalog `acme`") && refused.stderr.contains(why),
            "{why} in {}",
            refused.stderr
        );
        assert!(unpacked(&project).is_empty(), "{:?}", unpacked(&project));
        let cache = project.home().join(".cache/devboot/catalogs");
        assert!(
            !cache.join("escaped.toml").exists()
                && !project.dir.path().join("escaped.toml").exists()
        );
        assert!(!project.root().join("devboot.lock").exists());
    }
}

/// An HTTP CONNECT proxy that logs each request line to `argv[2]`.
const CONNECT_PROXY: &str = r#"
import select, socket, sys, threading
port, log = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
def handle(client):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk:
            return
        head += chunk
    line = head.split(b"\r\n")[0].decode()
    with open(log, "a") as f:
        f.write(line + "\n")
    host, _, port = line.split()[1].rpartition(":")
    upstream = socket.create_connection((host, int(port)))
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    while True:
        ready, _, _ = select.select([client, upstream], [], [])
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (upstream if sock is client else client).sendall(data)
while True:
    client, _ = server.accept()
    threading.Thread(target=handle, args=(client,), daemon=True).start()
"#;

#[test]
fn a_tarball_is_fetched_through_https_proxy_unless_no_proxy_exempts_it() {
    if !require_tool("openssl") || !require_tool("python3") {
        return;
    }
    let https = Https::start();
    let catalog = https.publish("acme.tar.gz", &entries(&release("2.0.0", "ruby:3.2")));
    let log = https.served.parent().unwrap().join("proxy.log");
    let proxy_port = free_port();
    let mut child = Command::new("python3")
        .args(["-c", CONNECT_PROXY])
        .arg(proxy_port.to_string())
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(proxy_port, &mut child);
    let _proxy = Server(child);
    let proxy = format!("http://127.0.0.1:{proxy_port}");

    let project = project_with(&catalog);
    let through = run(project
        .devboot()
        .env("SSL_CERT_FILE", &https.ca)
        .env("HTTPS_PROXY", &proxy)
        .arg("config"));
    assert_eq!(through.code, 0, "{}", through.stderr);
    let connects = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        connects.lines().collect::<Vec<_>>(),
        [format!("CONNECT 127.0.0.1:{} HTTP/1.1", https.port)],
        "{connects}"
    );

    let direct = project_with(&catalog);
    let exempt = run(direct
        .devboot()
        .env("SSL_CERT_FILE", &https.ca)
        .env("https_proxy", &proxy)
        .env("no_proxy", "localhost,127.0.0.1")
        .arg("config"));
    assert_eq!(exempt.code, 0, "{}", exempt.stderr);
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), connects);
}
