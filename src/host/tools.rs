//! Host tools the profile requires (`[requires.tools]`): finding each on `PATH`, reading its
//! version from `TOOL --version`, and turning what is missing, unreadable or too old into
//! [`Problem`]s with a fix.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use semver::{Op, Version, VersionReq};

use crate::error::Problem;

/// How long `TOOL --version` may take.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a running `--version` is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How much of each output stream is kept; version banners are a few lines.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// Spawn attempts when the executable is busy (being written, or a write handle leaked into
/// a concurrently forked child): `ETXTBSY` is transient.
const SPAWN_ATTEMPTS: u32 = 5;

/// The version `program --version` prints: the first version-looking token of its standard
/// output, else of its standard error. `Ok(None)` when it ran but printed no version; `Err`
/// says why it could not be run or did not finish (within [`VERSION_TIMEOUT`]) or failed.
pub fn version_of(program: &Path) -> Result<Option<Version>, String> {
    version_with_timeout(program, VERSION_TIMEOUT)
}

fn version_with_timeout(program: &Path, timeout: Duration) -> Result<Option<Version>, String> {
    let output = run(program, &["--version"], timeout)?;
    if !output.status.success() {
        let said = first_line(&output.stderr)
            .or_else(|| first_line(&output.stdout))
            .map(|line| format!(": {line}"))
            .unwrap_or_default();
        return Err(format!("`--version` exited with {}{said}", output.status));
    }
    Ok(parse_version(&output.stdout).or_else(|| parse_version(&output.stderr)))
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

/// The first version-looking token in `text`: `MAJOR.MINOR` or `MAJOR.MINOR.PATCH` (a missing
/// patch counts as 0). A leading `v` or other letters and anything after the numbers are
/// ignored, so `v20.10.24`, `go1.21.6`, `3.1.2p20`, `2.39.2.windows.1` and `15.4-2` all read.
/// Pre-release and build suffixes are dropped: `1.2.3-rc1` reads as 1.2.3.
pub fn parse_version(text: &str) -> Option<Version> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .find_map(|start| version_at(&text[start..]))
}

/// A version at the start of `text`, which starts with a digit.
fn version_at(text: &str) -> Option<Version> {
    let (major, rest) = number(text)?;
    let (minor, rest) = number(rest.strip_prefix('.')?)?;
    let patch = rest
        .strip_prefix('.')
        .and_then(number)
        .map_or(0, |(patch, _)| patch);
    Some(Version::new(major, minor, patch))
}

/// A run of ASCII digits at the start of `text`, and what follows it.
fn number(text: &str) -> Option<(u64, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    Some((text[..end].parse().ok()?, &text[end..]))
}

/// What a finished process printed.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `program args` with no input, killing it after `timeout`. The output is read on
/// helper threads; output still held open by a child's own children after it exits is read
/// until the deadline and no longer.
fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<Output, String> {
    let deadline = Instant::now() + timeout;
    let mut child = spawn(program, args)?;
    let (sender, receiver) = mpsc::channel();
    let mut open_streams = 0;
    if let Some(stdout) = child.stdout.take() {
        read_in_background(stdout, Stream::Stdout, sender.clone());
        open_streams += 1;
    }
    if let Some(stderr) = child.stderr.take() {
        read_in_background(stderr, Stream::Stderr, sender);
        open_streams += 1;
    }

    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Already exited if these fail; either way it is gone.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`--version` did not finish within {} s",
                    timeout.as_secs_f64()
                ));
            }
            Ok(None) => thread::sleep(POLL_INTERVAL),
            Err(error) => return Err(format!("cannot wait for it: {error}")),
        }
    };

    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    while open_streams > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(wait) {
            Ok((_, None)) => open_streams -= 1,
            Ok((stream, Some(chunk))) => {
                let buffer = match stream {
                    Stream::Stdout => &mut stdout,
                    Stream::Stderr => &mut stderr,
                };
                let room = OUTPUT_LIMIT.saturating_sub(buffer.len());
                buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Err(_) => break,
        }
    }
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn spawn(program: &Path, args: &[&str]) -> Result<std::process::Child, String> {
    let mut attempt = 1;
    loop {
        let spawned = Command::new(program)
            .args(args)
            // English, unlocalised output.
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Err(error)
                if error.kind() == io::ErrorKind::ExecutableFileBusy
                    && attempt < SPAWN_ATTEMPTS =>
            {
                attempt += 1;
                thread::sleep(Duration::from_millis(20));
            }
            Err(error) => return Err(format!("cannot run it: {error}")),
            Ok(child) => return Ok(child),
        }
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Sends what `reader` yields as chunks, then `None` at its end (or on a read error).
fn read_in_background(
    mut reader: impl io::Read + Send + 'static,
    stream: Stream,
    sender: mpsc::Sender<(Stream, Option<Vec<u8>>)>,
) {
    thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    if sender.send((stream, Some(buffer[..n].to_vec()))).is_err() {
                        return;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = sender.send((stream, None));
    });
}

/// Whether `name` is a bare program name (`git`, `docker-compose`, `python3.11`, `g++`):
/// no path separator, not `.` or `..`, not an option. Profiles may require only such names.
pub fn is_bare_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// The executable `name` in an absolute directory of `path_var` (a `PATH` value). A name that is
/// not bare, and relative `PATH` entries (`.`, `bin`, empty), are never searched: whatever the
/// repository holds is never found, so never run, on the host.
pub fn find_on_path(name: &str, path_var: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    if !is_bare_name(name) {
        return None;
    }
    std::env::split_paths(path_var?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A problem for each required tool that is missing from `path_var` (the `PATH` value), whose
/// version cannot be read, or whose version does not satisfy its requirement. The tools are
/// checked in parallel; problems come back in tool-name order.
pub fn check(requirements: &BTreeMap<String, VersionReq>, path_var: Option<&str>) -> Vec<Problem> {
    check_with_timeout(requirements, path_var, VERSION_TIMEOUT)
}

fn check_with_timeout(
    requirements: &BTreeMap<String, VersionReq>,
    path_var: Option<&str>,
    timeout: Duration,
) -> Vec<Problem> {
    thread::scope(|scope| {
        let checks: Vec<_> = requirements
            .iter()
            .map(|(tool, requirement)| {
                scope.spawn(move || check_tool(tool, requirement, path_var, timeout))
            })
            .collect();
        checks
            .into_iter()
            .filter_map(|check| {
                check
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn check_tool(
    tool: &str,
    requirement: &VersionReq,
    path_var: Option<&str>,
    timeout: Duration,
) -> Option<Problem> {
    let Some(program) = find_on_path(tool, path_var) else {
        return Some(Problem {
            message: format!("`{tool}` is not installed (the profile needs {requirement})"),
            fix: Some(format!(
                "install `{tool}` ({}), or put it on PATH; then run again",
                install_hint(tool)
            )),
        });
    };
    let version = match version_with_timeout(&program, timeout) {
        Ok(Some(version)) => version,
        Ok(None) => {
            return Some(unreadable(
                tool,
                &program,
                requirement,
                "it printed no version",
            ));
        }
        Err(reason) => return Some(unreadable(tool, &program, requirement, &reason)),
    };
    if requirement.matches(&version) {
        return None;
    }
    let message = if is_older(&version, requirement) {
        format!("`{tool}` {version} is older than the profile needs ({requirement})")
    } else {
        format!("`{tool}` {version} does not match what the profile needs ({requirement})")
    };
    Some(Problem {
        message,
        fix: Some(format!(
            "install a `{tool}` matching {requirement} ({}), or change `requires.tools.{tool}` \
             in devboot.local.toml",
            upgrade_hint(tool)
        )),
    })
}

fn unreadable(tool: &str, program: &Path, requirement: &VersionReq, reason: &str) -> Problem {
    Problem {
        message: format!(
            "cannot read the version of `{tool}` (`{} --version`: {reason}); the profile needs \
             {requirement}",
            program.display()
        ),
        fix: Some(format!(
            "check that `{} --version` works, or remove `{tool}` from `requires.tools`",
            program.display()
        )),
    }
}

/// Whether `version` is below the lowest version `requirement` allows.
fn is_older(version: &Version, requirement: &VersionReq) -> bool {
    requirement.comparators.iter().any(|comparator| {
        let floor = Version::new(
            comparator.major,
            comparator.minor.unwrap_or(0),
            comparator.patch.unwrap_or(0),
        );
        let bounds_below = matches!(
            comparator.op,
            Op::Exact | Op::Greater | Op::GreaterEq | Op::Tilde | Op::Caret | Op::Wildcard
        );
        bounds_below && *version < floor
    })
}

/// Package names for tools whose package is not named after them: (tool, apt, brew).
const PACKAGES: &[(&str, &str, &str)] = &[
    ("psql", "postgresql-client", "libpq"),
    ("pg_dump", "postgresql-client", "libpq"),
    ("redis-cli", "redis-tools", "redis"),
    ("node", "nodejs", "node"),
    ("docker", "docker.io", "--cask docker"),
];

fn packages(tool: &str) -> (&str, &str) {
    PACKAGES
        .iter()
        .find(|(name, _, _)| *name == tool)
        .map_or((tool, tool), |&(_, apt, brew)| (apt, brew))
}

fn install_hint(tool: &str) -> String {
    match tool {
        "bundle" | "bundler" => "`gem install bundler`".to_owned(),
        "rails" => "`gem install rails`".to_owned(),
        _ => {
            let (apt, brew) = packages(tool);
            format!("e.g. `sudo apt-get install {apt}` / `brew install {brew}`")
        }
    }
}

fn upgrade_hint(tool: &str) -> String {
    match tool {
        "bundle" | "bundler" | "rails" => install_hint(tool),
        _ => {
            let (apt, brew) = packages(tool);
            format!("e.g. `sudo apt-get install --only-upgrade {apt}` / `brew upgrade {brew}`")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Option<Version> {
        parse_version(text)
    }

    #[test]
    fn versions_are_read_from_common_banners() {
        let cases = [
            ("fake 1.2.3", Some(Version::new(1, 2, 3))),
            ("git version 2.39.5", Some(Version::new(2, 39, 5))),
            ("git version 2.39.2.windows.1", Some(Version::new(2, 39, 2))),
            (
                "Docker version 28.2.2, build e6534b4",
                Some(Version::new(28, 2, 2)),
            ),
            ("v20.10.24", Some(Version::new(20, 10, 24))),
            ("3.1.2p20", Some(Version::new(3, 1, 2))),
            (
                "ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]",
                Some(Version::new(3, 1, 2)),
            ),
            (
                "psql (PostgreSQL) 15.4 (Debian 15.4-2.pgdg120+1)",
                Some(Version::new(15, 4, 0)),
            ),
            (
                "go version go1.21.6 linux/amd64",
                Some(Version::new(1, 21, 6)),
            ),
            (
                "GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)",
                Some(Version::new(5, 2, 15)),
            ),
            (
                "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0",
                Some(Version::new(7, 0, 15)),
            ),
            ("Bundler version 2.4.10", Some(Version::new(2, 4, 10))),
            ("Rails 7.1.3.2", Some(Version::new(7, 1, 3))),
            ("1.2.3-rc1", Some(Version::new(1, 2, 3))),
            ("node 2.05", Some(Version::new(2, 5, 0))),
            ("Python 3.11", Some(Version::new(3, 11, 0))),
            (
                "mysql  Ver 8.0.36 for Linux on x86_64",
                Some(Version::new(8, 0, 36)),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(v(text), expected, "{text}");
        }
    }

    #[test]
    fn numbers_that_are_not_versions_are_skipped() {
        assert_eq!(v("release 1. build 2.3"), Some(Version::new(2, 3, 0)));
        assert_eq!(v("libfoo2 version 3.4.5"), Some(Version::new(3, 4, 5)));
        assert_eq!(v("x86_64 2024-01-02 then 1.0"), Some(Version::new(1, 0, 0)));
        assert_eq!(v("1.2."), Some(Version::new(1, 2, 0)));
        assert_eq!(
            v("99999999999999999999999.1 and 4.5.6"),
            Some(Version::new(4, 5, 6))
        );
    }

    #[test]
    fn text_without_a_version_reads_as_none() {
        for text in [
            "",
            "fake",
            "version 2",
            "build e6534b4",
            "2024-01-02",
            ".5",
            "1.",
            "é 1",
        ] {
            assert_eq!(v(text), None, "{text}");
        }
    }

    #[test]
    fn older_is_told_apart_from_other_mismatches() {
        let req = |text: &str| VersionReq::parse(text).unwrap();
        let ver = |text: &str| Version::parse(text).unwrap();
        assert!(is_older(&ver("2.30.1"), &req(">=2.39")));
        assert!(is_older(&ver("3.0.0"), &req("^3.1")));
        assert!(is_older(&ver("3.0.9"), &req("~3.1")));
        assert!(!is_older(&ver("4.0.0"), &req("^3.1")));
        assert!(!is_older(&ver("4.0.0"), &req("<4")));
        assert!(is_older(&ver("1.9.0"), &req(">=2, <4")));
    }

    #[test]
    fn install_hints_name_the_package() {
        assert_eq!(
            install_hint("ruby"),
            "e.g. `sudo apt-get install ruby` / `brew install ruby`"
        );
        assert!(install_hint("psql").contains("postgresql-client"));
        assert_eq!(install_hint("bundle"), "`gem install bundler`");
        assert_eq!(install_hint("bundler"), "`gem install bundler`");
        assert_eq!(install_hint("rails"), "`gem install rails`");
    }

    #[cfg(unix)]
    mod with_fake_tools {
        use std::fs;
        use std::os::unix::fs::PermissionsExt as _;
        use std::path::PathBuf;

        use tempfile::TempDir;

        use super::*;

        /// A directory of shell scripts, each named after a tool, running `body`.
        fn fake_tools(tools: &[(&str, &str)]) -> TempDir {
            let dir = tempfile::tempdir().unwrap();
            for (name, body) in tools {
                let path = dir.path().join(name);
                fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            }
            dir
        }

        fn path_of(dir: &TempDir) -> String {
            dir.path().to_str().unwrap().to_owned()
        }

        fn requirements(pairs: &[(&str, &str)]) -> BTreeMap<String, VersionReq> {
            pairs
                .iter()
                .map(|(tool, req)| ((*tool).to_owned(), VersionReq::parse(req).unwrap()))
                .collect()
        }

        fn program(dir: &TempDir, name: &str) -> PathBuf {
            dir.path().join(name)
        }

        #[test]
        fn version_of_reads_stdout_then_stderr() {
            let dir = fake_tools(&[
                ("out", "echo \"fake 1.2.3\""),
                ("err", "echo 'fake 4.5' >&2"),
                ("both", "echo 'fake 1.0.0'; echo 'fake 2.0.0' >&2"),
                ("none", "echo 'no version here'"),
            ]);
            assert_eq!(
                version_of(&program(&dir, "out")),
                Ok(Some(Version::new(1, 2, 3)))
            );
            assert_eq!(
                version_of(&program(&dir, "err")),
                Ok(Some(Version::new(4, 5, 0)))
            );
            assert_eq!(
                version_of(&program(&dir, "both")),
                Ok(Some(Version::new(1, 0, 0)))
            );
            assert_eq!(version_of(&program(&dir, "none")), Ok(None));
        }

        #[test]
        fn version_of_reports_failures() {
            let dir = fake_tools(&[("failing", "echo 'unknown option --version' >&2; exit 3")]);
            let error = version_of(&program(&dir, "failing")).unwrap_err();
            assert!(error.contains("exit status: 3"), "{error}");
            assert!(error.contains("unknown option"), "{error}");
            let error = version_of(&dir.path().join("absent")).unwrap_err();
            assert!(error.starts_with("cannot run it"), "{error}");
        }

        #[test]
        fn a_hanging_tool_is_killed_at_the_timeout() {
            // The shell's `sleep` child keeps the output pipes open after the shell is killed.
            let dir = fake_tools(&[("hang", "sleep 5")]);
            let started = Instant::now();
            let error = version_with_timeout(&program(&dir, "hang"), Duration::from_millis(200))
                .unwrap_err();
            assert!(error.contains("did not finish"), "{error}");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
        }

        #[test]
        fn a_tool_that_exits_but_leaves_its_output_open_does_not_block() {
            let dir = fake_tools(&[("daemon", "echo 'daemon 1.2.3'; sleep 3 &")]);
            let started = Instant::now();
            let read = version_with_timeout(&program(&dir, "daemon"), Duration::from_millis(500));
            assert_eq!(read, Ok(Some(Version::new(1, 2, 3))));
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
        }

        #[test]
        fn satisfied_requirements_give_no_problem() {
            let dir = fake_tools(&[
                ("git", "echo 'git version 2.39.5'"),
                ("ruby", "echo 'ruby 3.1.2p20'"),
            ]);
            let needs = requirements(&[("git", ">=2.30"), ("ruby", "^3.1")]);
            assert_eq!(check(&needs, Some(&path_of(&dir))), []);
            assert_eq!(check(&BTreeMap::new(), Some(&path_of(&dir))), []);
        }

        #[test]
        fn each_kind_of_problem_is_reported_in_tool_order() {
            let dir = fake_tools(&[
                ("git", "echo 'git version 2.30.1'"),
                ("node", "echo 'v22.1.0'"),
                ("weird", "echo 'weird build'"),
                ("ok", "echo 'ok 1.0.0'"),
            ]);
            let needs = requirements(&[
                ("git", ">=2.39"),
                ("node", "^20"),
                ("ok", "1"),
                ("ruby", ">=3.1"),
                ("weird", ">=1"),
            ]);
            let problems = check(&needs, Some(&path_of(&dir)));
            let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            assert_eq!(messages.len(), 4, "{messages:#?}");
            assert_eq!(
                messages[0],
                "`git` 2.30.1 is older than the profile needs (>=2.39)"
            );
            assert_eq!(
                messages[1],
                "`node` 22.1.0 does not match what the profile needs (^20)"
            );
            assert_eq!(
                messages[2],
                "`ruby` is not installed (the profile needs >=3.1)"
            );
            assert!(
                messages[3].starts_with("cannot read the version of `weird`")
                    && messages[3].contains("it printed no version")
                    && messages[3].ends_with("the profile needs >=1"),
                "{}",
                messages[3]
            );
            assert!(problems.iter().all(|p| p.fix.is_some()));
            assert_eq!(
                problems[2].fix.as_deref(),
                Some(
                    "install `ruby` (e.g. `sudo apt-get install ruby` / `brew install ruby`), \
                     or put it on PATH; then run again"
                )
            );
        }

        #[test]
        fn without_a_path_every_tool_is_missing() {
            let needs = requirements(&[("sh", ">=0")]);
            let problems = check(&needs, None);
            assert_eq!(problems.len(), 1);
            assert!(problems[0].message.contains("not installed"));
        }

        #[test]
        fn a_hanging_tool_is_reported_as_unreadable() {
            let dir = fake_tools(&[("hang", "sleep 5"), ("git", "echo 'git version 1.0.0'")]);
            let needs = requirements(&[("git", ">=2"), ("hang", ">=1")]);
            let started = Instant::now();
            let problems =
                check_with_timeout(&needs, Some(&path_of(&dir)), Duration::from_millis(200));
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(problems.len(), 2);
            assert!(problems[0].message.contains("older"));
            assert!(
                problems[1].message.contains("did not finish"),
                "{}",
                problems[1].message
            );
        }

        #[test]
        fn non_executable_files_are_not_tools() {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("ruby"), "#!/bin/sh\necho 'ruby 3.3.0'\n").unwrap();
            let needs = requirements(&[("ruby", ">=3.1")]);
            let problems = check(&needs, Some(&path_of(&dir)));
            assert_eq!(problems.len(), 1);
            assert!(problems[0].message.contains("not installed"));
        }

        #[test]
        fn only_bare_names_in_absolute_path_entries_are_found() {
            let dir = fake_tools(&[("x", "echo 'x 1.0.0'")]);
            let absolute = path_of(&dir);
            assert_eq!(
                find_on_path("x", Some(&absolute)),
                Some(dir.path().join("x"))
            );
            // A path, even one that exists, is never a tool: a repo's `bin/x` is not run.
            let path = dir.path().join("x").display().to_string();
            assert_eq!(find_on_path(&path, Some(&absolute)), None);
            assert_eq!(find_on_path("./x", Some(&absolute)), None);
            // Relative PATH entries (`.`, empty, `bin`) would resolve in the repository.
            let relative = format!(
                ".::bin:{}",
                dir.path().file_name().unwrap().to_string_lossy()
            );
            assert_eq!(find_on_path("x", Some(&relative)), None);
        }

        #[test]
        fn bare_names_are_program_names() {
            for name in ["git", "docker-compose", "python3.11", "g++", "node_js"] {
                assert!(is_bare_name(name), "{name}");
            }
            for name in [
                "",
                ".",
                "..",
                "bin/x",
                "/usr/bin/git",
                "-rf",
                "a b",
                "x;y",
                "..\\x",
            ] {
                assert!(!is_bare_name(name), "{name}");
            }
        }
    }
}
