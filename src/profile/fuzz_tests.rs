//! The bad-input contract, property-tested: every built-in profile, mutated at random — its bytes
//! (syntax) or its strings (keys and values) — loads and validates to a stack or to located
//! diagnostics (exit 2), never a panic or another error, and quickly.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use toml::de::{DeTable, DeValue};

use super::source::{self, BUILTIN_PROFILES, Layer, LayerKind};
use crate::error::Error;
use crate::model::{Stack, validate};

const CASES: u32 = 256;
/// Far above what a case takes in a debug build (milliseconds; tens with huge strings), far
/// below a second. Measured in the thread's CPU time, which a busy machine does not stretch.
const TIME_LIMIT: Duration = Duration::from_millis(500);
const FILE: &str = "devboot.toml";

/// The CPU time this thread has used.
pub(crate) fn cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        now.tv_sec.try_into().unwrap_or_default(),
        now.tv_nsec.try_into().unwrap_or_default(),
    )
}

fn load_and_validate(text: String) -> Result<Stack, Error> {
    let loaded = super::load_standalone(Layer {
        display: FILE.to_owned(),
        path: None,
        kind: LayerKind::Project,
        text,
    })?;
    validate::stack(&loaded, Path::new("/src/app"))
}

/// Loads `bytes` as a project's `devboot.toml` and validates it, as `plan` and `up` do.
fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let started = cpu_time();
    let result = source::decode(bytes, FILE).and_then(load_and_validate);
    let shown = result.as_ref().err().map(ToString::to_string);
    let elapsed = cpu_time().saturating_sub(started);
    prop_assert!(elapsed < TIME_LIMIT, "took {elapsed:?}");
    match result {
        Ok(_) => {}
        Err(Error::InvalidProfile(diagnostics)) => {
            prop_assert!(!diagnostics.0.is_empty());
            for diagnostic in &diagnostics.0 {
                let file = diagnostic.location.file();
                prop_assert!(
                    file == FILE || file.starts_with("profiles/"),
                    "{file} in {shown:?}"
                );
                prop_assert!(!diagnostic.message.is_empty(), "{shown:?}");
            }
        }
        Err(other) => prop_assert!(false, "not a profile error: {other:?}"),
    }
    Ok(())
}

fn run<S: Strategy>(
    profile: &str,
    strategy: &S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        // Shrinking huge strings is slow; a failure is clear enough within this.
        max_shrink_time: 20_000,
        ..Config::default()
    };
    match TestRunner::new(config).run(strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, input)) => {
            let mut input = format!("{input:?}");
            if input.len() > 4000 {
                input.truncate(input.floor_char_boundary(4000));
                input.push_str(" ...");
            }
            panic!("profiles/{profile}.toml: {reason}\nminimal failing input: {input}");
        }
        Err(abort) => panic!("profiles/{profile}.toml: {abort}"),
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(Index),
    Insert(Index, u8),
    Replace(Index, u8),
    Truncate(Index),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(b"[]{}=\"'.,#\\\n \t:/-0".to_vec()),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), byte()).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<Index>(), byte()).prop_map(|(at, b)| Edit::Replace(at, b)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        match edit {
            Edit::Insert(at, b) => bytes.insert(at.index(bytes.len() + 1), *b),
            _ if bytes.is_empty() => {}
            Edit::Delete(at) => {
                bytes.remove(at.index(bytes.len()));
            }
            Edit::Replace(at, b) => {
                let at = at.index(bytes.len());
                bytes[at] = *b;
            }
            Edit::Truncate(at) => bytes.truncate(at.index(bytes.len())),
        }
    }
    bytes
}

#[test]
fn a_builtin_profile_with_broken_syntax_is_bad_input() {
    for profile in BUILTIN_PROFILES {
        run(
            profile.name,
            &prop::collection::vec(edit(), 1..8),
            |edits| check(apply(profile.text, &edits)),
        );
    }
}

/// The byte ranges of every string in a profile: each key and each string value.
fn string_sites(text: &str) -> Vec<Range<usize>> {
    fn walk(table: &DeTable<'_>, sites: &mut Vec<Range<usize>>) {
        for (key, value) in table {
            sites.push(key.span());
            value_sites(value, sites);
        }
    }
    fn value_sites(value: &toml::Spanned<DeValue<'_>>, sites: &mut Vec<Range<usize>>) {
        match value.get_ref() {
            DeValue::String(_) => sites.push(value.span()),
            DeValue::Array(array) => array.iter().for_each(|v| value_sites(v, sites)),
            DeValue::Table(table) => walk(table, sites),
            _ => {}
        }
    }
    let mut sites = Vec::new();
    walk(DeTable::parse(text).unwrap().get_ref(), &mut sites);
    sites.sort_by_key(|site| site.start);
    sites.dedup();
    sites
}

/// Strings that have broken profile handling, or might: paths, quotes, newlines, controls,
/// unicode, empty and huge.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "", "..", "../../etc", "/", "/etc/passwd", "~", "./", ".", "\"", "'", "\n", "\0",
            "\\", "-", "_", ":", "::", "@", "web", "db", "rails", "a:b:c:d", "0", "65536",
        ])
        .prop_map(str::to_owned),
        6 => ".{0,24}",
        6 => "[a-z0-9._:/@-]{0,24}",
        6 => prop::collection::vec(
            prop::sample::select(vec![
                "..", "/", "\"", "\n", "\r", "\t", "é", "😀", "\u{202e}", "\u{0}", "\u{7f}",
                "\u{85}", "${X}", ":", "a", "Z", "1",
            ]),
            0..12,
        )
        .prop_map(|parts| parts.concat()),
        // Huge: far past any real value and past the longest name compared for suggestions.
        // Rare, as parsing one costs a debug build milliseconds.
        1 => (".{1,4}", 1_000..8_000usize).prop_map(|(part, n)| part.repeat(n)),
    ]
}

/// `s` as a TOML basic string, which a key or a value can be.
fn basic_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What no built-in profile sets, appended so that every string field is mutated.
const EVERY_OTHER_FIELD: &str = r#"
[project]
name = "shop"

[requires.tools]
git = ">=2.30"

[services.extra]
build = { context = ".", dockerfile = "Dockerfile.dev", args = { RUBY = "3.3" } }
volumes = [{ source = "./tmp", target = "/tmp/x", read_only = true }]
ports = [{ container = 9000, host_ip = "127.0.0.1", policy = "auto" }]

[files."config/extra.yml"]
content = "x: 1"

[files."config/host.env"]
template = "host-env"

[aws]
profile = "dev"
region = "eu-west-1"
account = "123456789012"
mode = "emulator"
emulator_endpoint = "http://moto:5000"
relay_image = "alpine/socat:1.8"
"#;

#[test]
fn a_builtin_profile_with_hostile_strings_is_bad_input_or_a_stack() {
    for profile in BUILTIN_PROFILES {
        let original = format!("{}{EVERY_OTHER_FIELD}", profile.text);
        if let Err(error) = load_and_validate(original.clone()) {
            panic!("{}: {error}", profile.name);
        }
        let sites = string_sites(&original);
        let replacements =
            prop::collection::vec(prop::option::weighted(0.1, hostile_string()), sites.len());
        run(profile.name, &replacements, |replacements| {
            let mut text = original.clone();
            // From the end, so the earlier ranges still hold.
            for (site, replacement) in sites.iter().zip(&replacements).rev() {
                if let Some(replacement) = replacement {
                    text.replace_range(site.clone(), &basic_string(replacement));
                }
            }
            check(text.into_bytes())
        });
    }
}
