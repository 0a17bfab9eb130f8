//! Rendering tests: snapshots of the generated files, and a property test proving that any
//! value survives the trip through a template and a real parser unchanged.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn stack(text: &str) -> Stack {
    crate::model::test_stack(text)
}

#[test]
fn compose_file_for_the_rails_profile() {
    insta::assert_snapshot!(compose_file(&stack("extends = \"rails\"\n")).unwrap());
}

#[test]
fn host_env_points_urls_at_published_ports() {
    let stack = stack(
        "extends = \"rails\"\n[services.db]\nports = [\"15432:5432\"]\n[services.redis]\nports = []\n",
    );
    let env: BTreeMap<_, _> = host_environment(&stack).into_iter().collect();
    assert_eq!(
        env["DATABASE_URL"],
        "postgres://postgres:postgres@127.0.0.1:15432"
    );
    // Redis publishes no port: the URL stays as the containers see it.
    assert_eq!(env["REDIS_URL"], "redis://redis:6379/0");
    assert_eq!(env["COMPOSE_PROJECT_NAME"], "shop");
    insta::assert_snapshot!(host_env_file(&stack).unwrap());
}

#[test]
fn a_password_with_url_delimiters_still_points_at_the_published_port() {
    let mut stack = stack("extends = \"rails\"\n[services.db]\nports = [\"15432:5432\"]\n");
    let web = stack.services.get_mut("web").unwrap();
    web.environment.insert(
        "DATABASE_URL".into(),
        "postgres://app:Zx9/k+Q#?@db:5432/app?sslmode=disable".into(),
    );
    let env: BTreeMap<_, _> = host_environment(&stack).into_iter().collect();
    assert_eq!(
        env["DATABASE_URL"],
        "postgres://app:Zx9/k+Q#?@127.0.0.1:15432/app?sslmode=disable"
    );
}

#[test]
fn every_builtin_profile_renders() {
    for profile in crate::profile::source::BUILTIN_PROFILES {
        let stack = stack(&format!("extends = \"{}\"\n", profile.name));
        let compose = compose_file(&stack).unwrap();
        let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&compose).unwrap();
        assert_eq!(
            parsed["services"].as_mapping().unwrap().len(),
            stack.services.len()
        );
    }
}

/// Reads a Compose string value back as Compose would: YAML first, then `$$` → `$`.
fn compose_value(yaml: &serde_yaml_ng::Value) -> String {
    yaml.as_str().expect("a string").replace("$$", "$")
}

/// Sources `file` in a real POSIX shell and prints each variable NUL-separated.
fn shell_values(file: &str, keys: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env");
    std::fs::write(&path, file).unwrap();
    let script: Vec<String> = keys
        .iter()
        .map(|k| format!("printf '%s\\0' \"${k}\";"))
        .collect();
    let script = script.join(" ");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(". \"$1\"; {script}"))
        .arg("sh")
        .arg(&path)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut values: Vec<String> = text.split('\0').map(str::to_owned).collect();
    values.pop();
    values
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        // Anything but NUL, which validation rejects.
        "[^\u{0}]{0,40}",
        // Bias toward the characters that break naive templates.
        proptest::collection::vec(
            prop_oneof![
                Just("\"".to_owned()),
                Just("'".to_owned()),
                Just(":".to_owned()),
                Just(" #".to_owned()),
                Just("\n".to_owned()),
                Just("${VAR}".to_owned()),
                Just("$$".to_owned()),
                Just("\\".to_owned()),
                Just("é😀".to_owned()),
                Just("\u{2028}".to_owned()),
                Just("\u{85}".to_owned()),
                Just("- ".to_owned()),
                Just("{{ x }}".to_owned()),
                Just("\t".to_owned()),
                Just("\r".to_owned()),
                "[a-z]{1,3}",
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Environment values, commands and build args come back unchanged from the rendered
    /// compose file, and environment values from the host env file sourced by `sh`.
    #[test]
    fn values_survive_rendering(
        values in proptest::collection::vec(tricky_string(), 1..4),
        arg in tricky_string(),
    ) {
        let mut stack = stack("extends = \"rails\"\n");
        let web = stack.services.get_mut("web").unwrap();
        let environment: BTreeMap<String, String> =
            values.iter().enumerate().map(|(i, v)| (format!("VALUE_{i}"), v.clone())).collect();
        web.environment = environment.clone();
        web.command = Some(crate::model::Command::Argv(vec![arg.clone(), values[0].clone()]));
        web.build.as_mut().unwrap().args = BTreeMap::from([("ARG".to_owned(), arg.clone())]);

        let compose: serde_yaml_ng::Value = serde_yaml_ng::from_str(&compose_file(&stack).unwrap()).unwrap();
        let parsed_web = &compose["services"]["web"];
        for (key, value) in &environment {
            prop_assert_eq!(&compose_value(&parsed_web["environment"][key.as_str()]), value);
        }
        let command: Vec<String> =
            parsed_web["command"].as_sequence().unwrap().iter().map(compose_value).collect();
        prop_assert_eq!(command, vec![arg.clone(), values[0].clone()]);
        prop_assert_eq!(compose_value(&parsed_web["build"]["args"]["ARG"]), arg);

        let keys: Vec<String> = environment.keys().cloned().collect();
        let from_shell = shell_values(&host_env_file(&stack).unwrap(), &keys);
        prop_assert_eq!(from_shell, environment.values().cloned().collect::<Vec<_>>());
    }
}

/// The rails stack with `web`'s image chosen from `dockerfile` and the repository's facts.
fn with_dev_image(dockerfile: Option<&str>, gems: &[&str], ruby: Option<&str>) -> Stack {
    let mut stack = stack("extends = \"rails\"\n");
    let gems: Vec<String> = gems.iter().map(|g| (*g).to_owned()).collect();
    let version = ruby.map(|v| crate::detect::RubyVersion {
        version: v.into(),
        source: ".ruby-version",
    });
    let facts = crate::dev_image::Facts {
        dockerfile,
        ruby_version: version.as_ref(),
        gems: &gems,
        ..crate::dev_image::Facts::default()
    };
    let web = stack.services.get_mut("web").unwrap();
    let host = crate::dev_image::HostUser {
        uid: 1234,
        gid: 100,
    };
    let build = web.build.as_mut().unwrap();
    build.choice = Some(crate::dev_image::choose(build, &web.mounts, &facts, host));
    stack
}

#[test]
fn devboots_development_dockerfile_replaces_a_production_one() {
    let stack = with_dev_image(
        Some(include_str!(
            "../../tests/data/dockerfiles/rails-7.2.Dockerfile"
        )),
        &["rails", "pg", "image_processing", "psych", "nokogiri"],
        Some("3.3.8"),
    );
    let dockerfile = dev_dockerfile(&stack.services["web"]).unwrap().unwrap();
    insta::assert_snapshot!(dockerfile);
    let files = render_all(&stack).unwrap();
    let written = files
        .iter()
        .find(|f| f.path == ".devboot/images/web/Dockerfile")
        .unwrap();
    assert_eq!(written.content, dockerfile);
    assert_eq!(written.ownership, Ownership::Generated);
}

#[test]
fn devboots_development_dockerfile_without_a_dockerfile() {
    let stack = with_dev_image(None, &["mysql2", "sqlite3"], Some("3.2.2"));
    insta::assert_snapshot!(dev_dockerfile(&stack.services["web"]).unwrap().unwrap());
}

#[test]
fn devboots_development_dockerfile_needs_a_ruby_version() {
    let stack = with_dev_image(None, &[], Some("latest\nRUN evil"));
    let error = dev_dockerfile(&stack.services["web"]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`.ruby-version` holds no usable version"),
        "{error}"
    );
    assert!(matches!(error, Error::Usage { .. }));
    // A development Dockerfile is built as it is: nothing to render.
    let stack = with_dev_image(Some("FROM ruby:3.3\n"), &[], Some("3.3.8"));
    assert_eq!(dev_dockerfile(&stack.services["web"]).unwrap(), None);
}
