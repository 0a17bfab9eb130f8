//! `devboot profile list | show | validate | lint | schema`: the platform team's view of profiles
//! (`outdated` and `update` are in [`super::catalog`]).

use std::path::Path;

use serde::Serialize;

use super::Context;
use crate::catalog::{Catalogs, Refresh};
use crate::cli::ProfileCommand;
use crate::consent::{self, Consents};
use crate::error::{Error, ExitStatus};
use crate::lint;
use crate::model::validate;
use crate::output::Role;
use crate::profile::capabilities::{self, Capability};
use crate::profile::document::{LayerId, parse_document};
use crate::profile::resolve::{Entry, annotated_toml, entries};
use crate::profile::source::{self, BUILTIN_PROFILES, Builtin, Layer, LayerKind};
use crate::profile::{self, LoadedProfile, schema};

pub(super) fn run(command: &ProfileCommand, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    match command {
        ProfileCommand::List { json } => list(*json, ctx),
        ProfileCommand::Show {
            name,
            resolved,
            json,
        } => show(name.as_deref(), *resolved, *json, ctx),
        ProfileCommand::Validate { paths } => Ok(validate_files(paths, ctx)),
        ProfileCommand::Lint {
            paths,
            json,
            catalog,
            strict,
        } => lint_files(paths, *json, *catalog, *strict, ctx),
        ProfileCommand::Schema => {
            ctx.printer.data(&schema::profile_schema());
            Ok(ExitStatus::Success)
        }
        ProfileCommand::Outdated { json } => super::catalog::outdated(*json, ctx),
        ProfileCommand::Update { name, dry_run } => {
            super::catalog::update(name.as_deref(), *dry_run, ctx)
        }
    }
}

#[derive(Serialize)]
struct Listed {
    name: &'static str,
    description: String,
    services: Vec<String>,
}

fn list(json: bool, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let mut listed = Vec::new();
    for builtin in BUILTIN_PROFILES {
        let loaded = profile::load_standalone(Builtin::layer(builtin))?;
        let own =
            parse_document(builtin.text, LayerId(0)).map_err(|e| Error::Internal(e.to_string()))?;
        listed.push(Listed {
            name: builtin.name,
            description: own.description.map(|d| d.value).unwrap_or_default(),
            services: loaded
                .merged
                .services
                .keys()
                .map(|k| k.value.clone())
                .collect(),
        });
    }
    if json {
        ctx.printer.json(&listed)?;
        return Ok(ExitStatus::Success);
    }
    let width = listed.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for l in &listed {
        out.push_str(&format!(
            "{:<width$}  {} ({})\n",
            l.name,
            l.description,
            l.services.join(", ")
        ));
    }
    ctx.printer.data(&out);
    Ok(ExitStatus::Success)
}

/// The layer `show` starts from: a built-in name, a file, or this project's `devboot.toml`.
fn show_target(name: Option<&str>, ctx: &Context<'_>) -> Result<Layer, Error> {
    match name {
        Some(name) if !source::Files::is_path(name) => {
            Builtin::get(name).map(Builtin::layer).ok_or_else(|| {
                let names: Vec<&str> = BUILTIN_PROFILES.iter().map(|p| p.name).collect();
                Error::Usage {
                    message: format!("unknown profile `{name}`"),
                    hint: Some(format!(
                        "built-in profiles: {}; or pass a path to a profile file",
                        names.join(", ")
                    )),
                }
            })
        }
        Some(path) => {
            let path = ctx.start_dir().join(path);
            source::read_layer(&path, LayerKind::File, &ctx.env.display_path(&path))
        }
        None => {
            let start = ctx.start_dir();
            let root = source::find_project_root(&start).ok_or(Error::NoProject { start })?;
            source::read_layer(
                &root.join(source::PROJECT_FILE),
                LayerKind::Project,
                source::PROJECT_FILE,
            )
        }
    }
}

fn show(
    name: Option<&str>,
    resolved: bool,
    json: bool,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    let layer = show_target(name, ctx)?;
    if !resolved && !json {
        ctx.printer.data(&layer.text);
        return Ok(ExitStatus::Success);
    }
    let project_root = match (resolved, name, &layer.path) {
        (true, None, Some(path)) => Some(path.parent().unwrap_or(Path::new(".")).to_path_buf()),
        _ => None,
    };
    let loaded: LoadedProfile = match (resolved, name, &layer.path) {
        // The project's resolution includes devboot.local.toml.
        (true, None, Some(path)) => {
            let root = path.parent().unwrap_or(Path::new("."));
            let catalogs = Catalogs::for_project(ctx.env, root, Refresh::None)?;
            profile::load_project(root, &catalogs)?
        }
        (true, _, _) => profile::load_standalone(layer)?,
        // This layer alone: parse it without following `extends`.
        (false, _, _) => profile::load_alone(layer)?,
    };
    let mut entries = entries(&loaded.merged, &loaded.sources);
    // What the repository's files decide: which Dockerfile each build uses.
    // Read only: showing a profile writes no `devboot.lock`.
    let project = project_root
        .and_then(|root| crate::project::Project::resolve(root, ctx.env, Refresh::None).ok())
        .map(|(project, _)| project);
    if let Some(project) = &project {
        entries.extend(chosen_entries(&project.stack));
    }
    entries.extend(capability_entries(&loaded, project.as_ref(), ctx));
    if json {
        ctx.printer.json(&entries)?;
    } else {
        ctx.printer.data(&annotated_toml(&entries));
    }
    Ok(ExitStatus::Success)
}

/// The choice of each build's Dockerfile as resolved entries of
/// `[services.NAME.build.chosen]`, written by no layer (devboot decides them).
fn chosen_entries(stack: &crate::model::Stack) -> Vec<Entry> {
    crate::dev_image::reports(stack)
        .into_iter()
        .flat_map(|report| {
            let table = vec![
                "services".to_owned(),
                report.service.clone(),
                "build".to_owned(),
                "chosen".to_owned(),
            ];
            let source = serde_json::to_value(report.source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            [
                Some(("source", source)),
                Some(("dockerfile", report.dockerfile)),
                report.target.map(|t| ("target", t)),
                Some(("reason", report.reason)),
                report.warning.map(|w| ("warning", w)),
            ]
            .into_iter()
            .flatten()
            .map(move |(key, value)| Entry {
                table: table.clone(),
                key: key.to_owned(),
                value: toml::Value::String(value),
                from: None,
            })
        })
        .collect()
}

/// The capabilities each published layer uses, as entries of `[capabilities."LAYER"]`: for the
/// project, whether the developer approved each; for a profile file shown on its own (the
/// file being published, and its published bases), whether the layer declares each.
fn capability_entries(
    loaded: &LoadedProfile,
    project: Option<&crate::project::Project>,
    ctx: &Context<'_>,
) -> Vec<Entry> {
    let entry = |display: &str, capability: Capability, value: &str| Entry {
        table: vec!["capabilities".to_owned(), display.to_owned()],
        key: capability.name().to_owned(),
        value: toml::Value::String(value.to_owned()),
        from: None,
    };
    if let Some(project) = project {
        let consents = Consents::of_user(ctx.env);
        return consent::capability_approvals(consents.as_ref(), &project.stack.root, loaded)
            .iter()
            .flat_map(|layer| {
                layer.layer.used().into_iter().map(|capability| {
                    let approved = layer.approved.contains(&capability);
                    entry(
                        &layer.layer.display,
                        capability,
                        if approved { "approved" } else { "not approved" },
                    )
                })
            })
            .collect();
    }
    let shown = |id| id == LayerId(0) && loaded.sources.get(id).kind == LayerKind::File;
    capabilities::of_layers(loaded, |id| shown(id) || loaded.sources.is_published(id))
        .iter()
        .flat_map(|layer| {
            layer.used().into_iter().map(|capability| {
                let declared = layer.declared.contains(&capability);
                entry(
                    &layer.display,
                    capability,
                    if declared { "declared" } else { "not declared" },
                )
            })
        })
        .collect()
}

/// A file that uses capabilities it does not declare is valid where it is, and refused once
/// published (a catalog's, or extended from outside a project): says so, with the line to add.
fn warn_undeclared(file: &capabilities::Published, ctx: &Context<'_>) {
    let missing: std::collections::BTreeSet<Capability> =
        file.used().difference(&file.declared).copied().collect();
    if missing.is_empty() {
        return;
    }
    let all = file.declared.union(&file.used()).copied().collect();
    ctx.printer.warn(format!(
        "{} uses {} without declaring it; published (in a catalog, or extended from outside a project) it would be refused: add `{}`",
        file.display,
        capabilities::names(&missing),
        capabilities::declaration(&all)
    ));
}

fn validate_files(paths: &[std::path::PathBuf], ctx: &Context<'_>) -> ExitStatus {
    let mut invalid = 0;
    for path in paths {
        let full = ctx.start_dir().join(path);
        let display = path.display().to_string();
        let result = source::read_layer(&full, LayerKind::File, &display)
            .and_then(profile::load_standalone)
            .and_then(|loaded| {
                let root = full.parent().unwrap_or(Path::new("."));
                validate::stack(&loaded, root)?;
                Ok(capabilities::of_layers(&loaded, |id| id == LayerId(0)))
            });
        match result {
            Ok(checked) => {
                ctx.printer.status("Valid", &display);
                for file in checked {
                    warn_undeclared(&file, ctx);
                }
            }
            Err(error) => {
                invalid += 1;
                ctx.printer.error(&error);
            }
        }
    }
    if invalid > 0 {
        let summary = format!("{invalid} of {} profiles invalid", paths.len());
        ctx.printer
            .note(ctx.printer.style(Role::Bad).apply_to(summary));
        return ExitStatus::Usage;
    }
    ExitStatus::Success
}

/// What `profile lint --json` prints.
#[derive(Serialize)]
struct LintReport {
    findings: Vec<lint::Finding>,
    errors: usize,
    warnings: usize,
}

fn lint_files(
    paths: &[std::path::PathBuf],
    json: bool,
    catalog: bool,
    strict: bool,
    ctx: &Context<'_>,
) -> Result<ExitStatus, Error> {
    let start = ctx.start_dir();
    let targets: Vec<(std::path::PathBuf, String)> = if paths.is_empty() {
        let root = source::find_project_root(&start).ok_or(Error::NoProject {
            start: start.clone(),
        })?;
        vec![(
            root.join(source::PROJECT_FILE),
            source::PROJECT_FILE.to_owned(),
        )]
    } else {
        paths
            .iter()
            .map(|path| (start.join(path), path.display().to_string()))
            .collect()
    };
    let mut findings = Vec::new();
    let mut invalid = 0;
    for (full, display) in &targets {
        // A catalog keeps its profiles in `profiles/NAME.toml`.
        let in_catalog = catalog
            || full
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|dir| dir == "profiles");
        let linted = source::read_layer(full, LayerKind::File, display)
            .and_then(profile::load_standalone)
            .and_then(|loaded| {
                let root = full.parent().unwrap_or(Path::new("."));
                let stack = validate::stack(&loaded, root)?;
                Ok(lint::lint(&loaded, &stack, in_catalog))
            });
        match linted {
            Ok(found) => findings.extend(found),
            Err(error) => {
                invalid += 1;
                ctx.printer.error(&error);
            }
        }
    }
    let errors = lint::count_at_least(&findings, lint::Severity::Error);
    let warnings = findings.len() - errors;
    let summary = format!(
        "{errors} error{}, {warnings} warning{} in {} profile{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        targets.len() - invalid,
        if targets.len() - invalid == 1 {
            ""
        } else {
            "s"
        },
    );
    if json {
        ctx.printer.json(&LintReport {
            findings,
            errors,
            warnings,
        })?;
    } else {
        let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
        ctx.printer.data(&text.join("\n"));
    }
    let status = if invalid > 0 {
        ExitStatus::Usage
    } else if errors > 0 || (strict && warnings > 0) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    let role = if status == ExitStatus::Success {
        Role::Good
    } else {
        Role::Bad
    };
    ctx.printer.note(ctx.printer.style(role).apply_to(summary));
    Ok(status)
}
