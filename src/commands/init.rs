//! `devboot init`: write `devboot.toml` for a repository and git-ignore devboot's own files.
//!
//! It meets the repository where it is: an existing compose file or `.devcontainer/` is carried
//! over ([`crate::adopt`]) and init prints what it took from where. The new file is validated in
//! memory before anything is written, and written atomically; a second run changes nothing
//! unless `--force` is given.

use std::path::{Path, PathBuf};

use super::Context;
use crate::adopt;
use crate::cli::InitArgs;
use crate::detect::{self, Adapter, Repository};
use crate::error::{Error, ExitStatus};
use crate::fsio;
use crate::model::validate;
use crate::profile::source::{BUILTIN_PROFILES, Builtin, LOCAL_FILE, PROJECT_FILE};
use crate::profile::{self, diagnostic::closest, source};

/// What `.gitignore` must hold for devboot.
const IGNORED: [&str; 2] = [".devboot/", LOCAL_FILE];

pub(super) fn run(args: &InitArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let root = ctx.start_dir();
    let project_file = root.join(PROJECT_FILE);
    if project_file.exists() && !args.force {
        return Err(Error::ProjectFileExists { path: project_file });
    }
    let repo = detect::inspect(&root);
    let printer = ctx.printer;
    if !repo.rails {
        printer.warn("no Rails app found here (no `rails` gem in the Gemfile); writing a Rails profile anyway");
    }
    let profile_name = match &args.profile {
        Some(name) => checked_profile_name(name)?,
        None if printer.interactive() => prompt_profile(repo.suggested_profile())?,
        None => repo.suggested_profile(),
    };
    let default_name = validate::project_name_from_dir(&root);
    let project_name = match &args.name {
        Some(name) => name.clone(),
        None if printer.interactive() => dialoguer::Input::new()
            .with_prompt("Compose project name")
            .default(default_name)
            .interact_text()
            .map_err(|e| Error::Prompt(e.to_string()))?,
        None => default_name,
    };

    let mut adopted = match adopt::find(&root) {
        Ok(adopted) => adopted,
        Err(why) => {
            printer.warn(format!("{why}; writing devboot.toml without it"));
            None
        }
    };
    let base = project_file_text(profile_name, &project_name, &repo);
    let mut text = base.clone()
        + &adopted
            .as_ref()
            .map(adopt::profile_text)
            .unwrap_or_default();
    // Validate before writing: a bad name given on the command line must change nothing.
    let validated = |text: &str| validate_text(text, Some(project_file.clone()), &root);
    if let (Err(error), Some(from)) = (validated(&text), &adopted) {
        // Values from someone's compose file that devboot cannot take must not stop `init`.
        printer.warn(format!(
            "what {} says does not make a valid devboot.toml, so it is left out:\n{error}",
            from.compose_file
        ));
        adopted = None;
        text = base;
    }
    validated(&text)?;

    fsio::write_atomic(&project_file, text.as_bytes())?;
    printer.status(
        "Wrote",
        format!("{PROJECT_FILE} (extends `{profile_name}`, project `{project_name}`)"),
    );
    let added = ensure_ignored(&root)?;
    if !added.is_empty() {
        printer.status("Ignored", format!("{} in .gitignore", added.join(", ")));
    }
    describe(&repo, ctx);
    if let Some(image) = crate::dev_image::for_builtin_profile(profile_name, &root) {
        printer.status("Image", image.line());
    }
    for line in adopted.iter().flat_map(adopt::report) {
        printer.note(line);
    }
    printer.note("\nNext: `devboot plan` to see what `devboot up` will do.");
    Ok(ExitStatus::Success)
}

/// The project file `text` would be, validated as if written at `path` in `root`.
fn validate_text(text: &str, path: Option<PathBuf>, root: &Path) -> Result<(), Error> {
    let layer = source::Layer {
        display: PROJECT_FILE.into(),
        path,
        kind: source::LayerKind::Project,
        text: text.to_owned(),
    };
    validate::stack(&profile::load_standalone(layer)?, root).map(drop)
}

fn checked_profile_name(name: &str) -> Result<&'static str, Error> {
    if let Some(profile) = Builtin::get(name) {
        return Ok(profile.name);
    }
    let names: Vec<&str> = BUILTIN_PROFILES.iter().map(|p| p.name).collect();
    let hint = closest(name, names.iter().copied()).map_or_else(
        || format!("built-in profiles: {}", names.join(", ")),
        |best| format!("did you mean `{best}`?"),
    );
    Err(Error::Usage {
        message: format!("unknown profile `{name}`"),
        hint: Some(hint),
    })
}

fn prompt_profile(suggested: &'static str) -> Result<&'static str, Error> {
    let default = BUILTIN_PROFILES
        .iter()
        .position(|p| p.name == suggested)
        .unwrap_or(0);
    let index = dialoguer::Select::new()
        .with_prompt("Profile")
        .items(BUILTIN_PROFILES.iter().map(|p| p.name))
        .default(default)
        .interact()
        .map_err(|e| Error::Prompt(e.to_string()))?;
    Ok(BUILTIN_PROFILES[index].name)
}

/// The text of a new `devboot.toml`.
fn project_file_text(profile: &str, project: &str, repo: &Repository) -> String {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut text = format!(
        "# devboot project file: the stack `devboot up` starts for this repository.\n\
         # Settings of the base profile can be overridden here; see `devboot profile show --resolved`.\n\
         # Personal overrides go in devboot.local.toml (git-ignored).\n\
         schema = 1\n\
         extends = {}\n\n\
         [project]\n\
         name = {}\n",
        quote(profile),
        quote(project),
    );
    if let Some(ruby) = &repo.ruby_version
        && repo.dockerfile_takes_ruby_version
    {
        text.push_str(&format!(
            "\n# Ruby {} (from {}), passed to the Dockerfile's `ARG RUBY_VERSION`.\n\
             [services.web.build]\ncontext = \".\"\nargs = {{ RUBY_VERSION = {} }}\n",
            ruby.version,
            ruby.source,
            quote(&ruby.version)
        ));
    }
    text
}

/// Adds devboot's entries to `.gitignore` when missing; returns those it added.
fn ensure_ignored(root: &Path) -> Result<Vec<&'static str>, Error> {
    let path = root.join(".gitignore");
    let existing = fsio::read_optional(&path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let present = |entry: &str| {
        let bare = entry.trim_end_matches('/');
        existing.lines().map(str::trim).any(|line| {
            let line = line.trim_start_matches('/');
            line == entry || line == bare
        })
    };
    let missing: Vec<&'static str> = IGNORED.into_iter().filter(|e| !present(e)).collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut text = existing.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("\n# devboot: generated files and personal overrides\n");
    for entry in &missing {
        text.push_str(entry);
        text.push('\n');
    }
    fsio::write_atomic(&path, text.as_bytes())?;
    Ok(missing)
}

/// Tells the user what was detected and what they may need to do.
fn describe(repo: &Repository, ctx: &Context<'_>) {
    let printer = ctx.printer;
    if let Some(ruby) = &repo.ruby_version {
        printer.status(
            "Detected",
            format!("Ruby {} (from {})", ruby.version, ruby.source),
        );
    }
    match repo.adapter {
        Some(Adapter::Sqlite) => printer.warn(
            "the app uses SQLite; the profile adds Postgres — switch the `pg` gem in, or set `DATABASE_URL` yourself in devboot.toml",
        ),
        Some(adapter) => printer.status("Detected", format!("database adapter {adapter:?}").to_lowercase()),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_entries_are_added_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "/log/*\n/.devboot\n").unwrap();
        assert_eq!(ensure_ignored(dir.path()).unwrap(), ["devboot.local.toml"]);
        assert!(ensure_ignored(dir.path()).unwrap().is_empty());
        let text = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert_eq!(text.matches("devboot.local.toml").count(), 1);
    }

    #[test]
    fn project_file_passes_ruby_version_to_the_dockerfile() {
        let repo = Repository {
            ruby_version: Some(detect::RubyVersion {
                version: "3.3.0".into(),
                source: ".ruby-version",
            }),
            dockerfile: true,
            dockerfile_takes_ruby_version: true,
            ..Repository::default()
        };
        insta::assert_snapshot!(project_file_text("rails", "shop", &repo));
    }

    #[test]
    fn project_file_carries_a_rails_devcontainer() {
        let devcontainer = adopt::parse_devcontainer(include_str!(
            "../adopt/testdata/rails-7.2-devcontainer.json"
        ))
        .unwrap();
        let adopted = adopt::adopt(
            ".devcontainer/compose.yaml",
            include_str!("../adopt/testdata/rails-7.2-compose.yaml"),
            Some(&devcontainer),
        )
        .unwrap();
        let text = project_file_text("rails", "shop", &Repository::default())
            + &adopt::profile_text(&adopted);
        // What init writes is a valid project file.
        validate_text(&text, None, tempfile::tempdir().unwrap().path()).unwrap();
        insta::assert_snapshot!(text);
    }
}
