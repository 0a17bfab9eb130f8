//! `profile.*`: the project's profile loads and validates (with the located diagnostics when it
//! does not), the capabilities its published profiles use are approved, and the developer's
//! own files — `devboot.local.toml` and the generated `.devboot/` — are git-ignored.

use std::path::{Path, PathBuf};

use crate::consent::{self, Consents};
use crate::doctor::check::{Check, Outcome, QUICK, Run, SafeFix};
use crate::doctor::facts::{Facts, ProjectLookup};
use crate::error::Error;
use crate::fsio;
use crate::profile::capabilities;
use crate::profile::source::{LOCAL_FILE, PROJECT_FILE};

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[VALID, CAPABILITIES, LOCAL_IGNORED];

const VALID: Check = Check {
    id: "profile.valid",
    title: "The project's profile loads and validates",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(valid),
    safe_fix: None,
};

const CAPABILITIES: Check = Check {
    id: "profile.capabilities",
    title: "The capabilities of published profiles are approved",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(capabilities),
    safe_fix: None,
};

const LOCAL_IGNORED: Check = Check {
    id: "profile.local_ignored",
    title: "devboot.local.toml and .devboot/ are git-ignored",
    depends_on: &[],
    timeout: QUICK,
    run: Run::Blocking(local_ignored),
    safe_fix: Some(SafeFix {
        description: "add `.devboot/` and `devboot.local.toml` to .gitignore",
        apply: ignore_local_files,
    }),
};

fn valid(facts: &Facts) -> Result<Outcome, Outcome> {
    match facts.project() {
        ProjectLookup::Missing => Err(Outcome::skipped(format!(
            "no {PROJECT_FILE} in {} or any parent directory",
            facts.display(&facts.start)
        ))
        .fix_with("create one for this repository", "devboot init")),
        ProjectLookup::Loaded(project) => {
            let stack = &project.stack;
            let services: Vec<&str> = stack.services.keys().map(String::as_str).collect();
            let mut summary = format!(
                "{} ({}): {}",
                PROJECT_FILE,
                facts.display(&project.workspace.root),
                services.join(", ")
            );
            if let Some(app) = &stack.app {
                summary.push_str(&format!("; app `{}`", app.service));
            }
            Ok(Outcome::ok(summary))
        }
        ProjectLookup::Invalid { root, error } => {
            let shown = facts.display(&root.join(PROJECT_FILE));
            let outcome = match error {
                Error::InvalidProfile(diagnostics) => Outcome::error(format!(
                    "the profile of {shown} is invalid ({})",
                    crate::error::plural(diagnostics.0.len(), "problem")
                ))
                .details(diagnostics.to_string().lines().map(str::to_owned)),
                other => Outcome::error(other.to_string()),
            };
            let outcome = match error.hint() {
                Some(hint) => outcome.fix(hint),
                None => outcome.fix("fix the file at the line shown"),
            };
            Ok(outcome.fix_with(
                "see every layer and where each value comes from",
                "devboot profile show --resolved",
            ))
        }
    }
}

fn capabilities(facts: &Facts) -> Result<Outcome, Outcome> {
    let ProjectLookup::Loaded(project) = facts.project() else {
        return Err(Outcome::skipped(
            "no valid profile here (see profile.valid)",
        ));
    };
    let consents = Consents::of_user(&facts.env);
    let layers =
        consent::capability_approvals(consents.as_ref(), &project.stack.root, &project.profile);
    if layers.is_empty() {
        return Ok(Outcome::ok("the profile extends no published profile"));
    }
    let mut details = Vec::new();
    let mut pending = Vec::new();
    for layer in &layers {
        let waiting = layer.pending();
        if layer.layer.capabilities.is_empty() {
            details.push(format!("{}: no capabilities", layer.layer.display));
        }
        for (approved, which) in [("approved", &layer.approved), ("not approved", &waiting)] {
            details.extend(
                layer
                    .layer
                    .describe(which)
                    .into_iter()
                    .map(|line| format!("{}: {line} — {approved}", layer.layer.display)),
            );
        }
        if !waiting.is_empty() {
            pending.push(format!(
                "{} ({})",
                layer.layer.display,
                capabilities::names(&waiting)
            ));
        }
    }
    if pending.is_empty() {
        let shown: Vec<&str> = layers.iter().map(|l| l.layer.display.as_str()).collect();
        return Ok(
            Outcome::ok(format!("approved for this project: {}", shown.join(", ")))
                .details(details),
        );
    }
    Ok(Outcome::warn(format!(
        "not approved for this project yet: {}",
        pending.join("; ")
    ))
    .details(details)
    .fix_with(
        "`devboot up` asks before it acts (or approve with `--yes`)",
        "devboot up",
    ))
}

/// Lines of a .gitignore that ignore `.devboot/`.
const DEVBOOT_DIR_PATTERNS: &[&str] = &[
    ".devboot",
    ".devboot/",
    "/.devboot",
    "/.devboot/",
    ".devboot/*",
    "/.devboot/*",
    "/.devboot/**",
    ".devboot/**",
];

/// Lines of a .gitignore that ignore `devboot.local.toml`.
const LOCAL_FILE_PATTERNS: &[&str] = &[
    "devboot.local.toml",
    "/devboot.local.toml",
    "*.local.toml",
    "/*.local.toml",
];

/// The entries to add to .gitignore for what is not ignored yet.
fn missing_entries(gitignore: &str) -> Vec<&'static str> {
    let lines: Vec<&str> = gitignore.lines().map(str::trim).collect();
    let mut missing = Vec::new();
    if !lines.iter().any(|line| DEVBOOT_DIR_PATTERNS.contains(line)) {
        missing.push(".devboot/");
    }
    if !lines.iter().any(|line| LOCAL_FILE_PATTERNS.contains(line)) {
        missing.push(LOCAL_FILE);
    }
    missing
}

fn in_git_repository(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
}

fn gitignore_of(facts: &Facts) -> Option<PathBuf> {
    facts.project_root().map(|root| root.join(".gitignore"))
}

fn local_ignored(facts: &Facts) -> Result<Outcome, Outcome> {
    let root = facts
        .project_root()
        .ok_or_else(|| Outcome::skipped(format!("no {PROJECT_FILE} here")))?;
    if !in_git_repository(root) {
        return Err(Outcome::skipped("the project is not in a git repository"));
    }
    let path = root.join(".gitignore");
    let bytes = fsio::read_optional(&path).map_err(|error| Outcome::warn(error.to_string()))?;
    let text = String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned();
    let missing = missing_entries(&text);
    if missing.is_empty() {
        return Ok(Outcome::ok(
            ".devboot/ and devboot.local.toml are in .gitignore",
        ));
    }
    let names = missing
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(" and ");
    Ok(Outcome::warn(format!("{names} not in .gitignore"))
        .detail(".devboot/ holds generated files and devboot.local.toml your own overrides; committed, they override your teammates' settings")
        .fix_with(
            "add them (`devboot doctor --fix` does this)",
            format!("printf '%s\\n' {} >> .gitignore", missing.join(" ")),
        ))
}

fn ignore_local_files(facts: &Facts) -> Result<(), String> {
    let path = gitignore_of(facts).ok_or("no project here")?;
    let mut text = fsio::read_optional(&path)
        .map_err(|e| e.to_string())?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let missing = missing_entries(&text);
    if missing.is_empty() {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for entry in missing {
        text.push_str(entry);
        text.push('\n');
    }
    fsio::write_atomic(&path, text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::testing::{PROFILE, Sandbox, reported};

    #[test]
    fn a_valid_profile_is_summarised() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        std::fs::create_dir_all(sandbox.project().join("app/models")).unwrap();
        // Found from a subdirectory, as git finds its repository.
        let facts = sandbox.facts_at(&sandbox.project().join("app/models"));
        let outcome = reported(valid(&facts));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.summary.ends_with(": db"), "{}", outcome.summary);
    }

    #[test]
    fn an_invalid_profile_shows_the_located_diagnostic() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", &PROFILE.replace("image =", "imag ="));
        let outcome = reported(valid(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome.summary.contains("is invalid (1 problem)"),
            "{}",
            outcome.summary
        );
        let details = outcome.details.join("\n");
        assert!(details.contains("devboot.toml:7:1"), "{details}");
        assert!(details.contains("did you mean `image`?"), "{details}");
    }

    #[test]
    fn outside_a_project_it_is_skipped_with_the_way_in() {
        let sandbox = Sandbox::new();
        let outcome = reported(valid(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Skipped);
        assert_eq!(outcome.fixes[0].command.as_deref(), Some("devboot init"));
        assert_eq!(
            reported(local_ignored(&sandbox.facts())).status,
            Status::Skipped
        );
    }

    #[test]
    fn local_files_must_be_ignored_and_the_fix_adds_them() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        assert_eq!(
            reported(local_ignored(&sandbox.facts())).summary,
            "the project is not in a git repository"
        );
        std::fs::create_dir(sandbox.project().join(".git")).unwrap();
        sandbox.write(".gitignore", "/log/*\n.devboot\n/tmp/*");
        let outcome = reported(local_ignored(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(outcome.summary, "`devboot.local.toml` not in .gitignore");
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("printf '%s\\n' devboot.local.toml >> .gitignore")
        );

        ignore_local_files(&sandbox.facts()).unwrap();
        let gitignore = std::fs::read_to_string(sandbox.project().join(".gitignore")).unwrap();
        assert_eq!(gitignore, "/log/*\n.devboot\n/tmp/*\ndevboot.local.toml\n");
        assert_eq!(reported(local_ignored(&sandbox.facts())).status, Status::Ok);
    }

    #[test]
    fn published_capabilities_are_listed_with_their_approval() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        let outcome = reported(capabilities(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(outcome.summary, "the profile extends no published profile");

        crate::doctor::testing::write(
            &sandbox.dir.path().join("platform/base.toml"),
            "capabilities = [\"setup-commands\"]\n[app]\nservice = \"db\"\nsetup = [\"bin/setup\"]\n",
        );
        sandbox.write(
            "devboot.toml",
            &format!("extends = \"../platform/base.toml\"\n{PROFILE}"),
        );
        let facts = sandbox.facts();
        let outcome = reported(capabilities(&facts));
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "not approved for this project yet: ../platform/base.toml (`setup-commands`)"
        );
        assert_eq!(
            outcome.details,
            [
                "../platform/base.toml: `setup-commands`: run its setup commands in the app container on every `up` that changes something (bin/setup) — not approved"
            ]
        );
        assert_eq!(outcome.fixes[0].command.as_deref(), Some("devboot up"));

        let ProjectLookup::Loaded(project) = facts.project() else {
            panic!()
        };
        let consents = Consents::of_user(&facts.env).unwrap();
        for layer in
            consent::capability_approvals(Some(&consents), &project.stack.root, &project.profile)
        {
            consents
                .grant_all(&project.stack.root, &layer.grants(&layer.pending()))
                .unwrap();
        }
        let outcome = reported(capabilities(&sandbox.facts()));
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.details[0].ends_with("— approved"), "{outcome:?}");
    }

    #[test]
    fn the_fix_creates_a_missing_gitignore() {
        let sandbox = Sandbox::new();
        sandbox.write("devboot.toml", PROFILE);
        std::fs::create_dir(sandbox.project().join(".git")).unwrap();
        assert_eq!(
            reported(local_ignored(&sandbox.facts())).summary,
            "`.devboot/` and `devboot.local.toml` not in .gitignore"
        );
        ignore_local_files(&sandbox.facts()).unwrap();
        let gitignore = std::fs::read_to_string(sandbox.project().join(".gitignore")).unwrap();
        assert_eq!(gitignore, ".devboot/\ndevboot.local.toml\n");
    }
}
