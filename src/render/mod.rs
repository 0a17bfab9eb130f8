//! Rendering: turns a [`Stack`] into the files devboot generates — `.devboot/compose.yaml`,
//! `.devboot/env` and any file a profile declares — from the templates embedded from
//! `templates/`. Pure: it returns contents; `crate::workspace` decides whether and how to write.
//!
//! Templates cannot produce a malformed file: every value they print goes through the
//! environment's formatter, which quotes it for the template's format (YAML or shell).

mod escape;
mod view;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use crate::error::Error;
use crate::model::{FileSource, Service, Stack};
use crate::shell::shell_word;

pub use escape::compose_yaml_string;
pub use view::{ComposeView, host_environment};

/// Where the generated compose file lives, relative to the project root.
pub const COMPOSE_FILE: &str = ".devboot/compose.yaml";
/// The host-side environment file, relative to the project root.
pub const HOST_ENV_FILE: &str = ".devboot/env";
/// Compose reads `.env` beside the compose file; it names the project for Compose v1 and v2
/// alike (a top-level `name:` in the compose file is rejected by Compose v1).
pub const COMPOSE_ENV_FILE: &str = ".devboot/.env";

/// Every embedded template: its name and text.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "compose.yaml.j2",
        include_str!("../../templates/compose.yaml.j2"),
    ),
    (
        "host-env.sh.j2",
        include_str!("../../templates/host-env.sh.j2"),
    ),
    (
        "compose.env.sh.j2",
        include_str!("../../templates/compose.env.sh.j2"),
    ),
    (
        "dev.Dockerfile.j2",
        include_str!("../../templates/dev.Dockerfile.j2"),
    ),
];

/// Templates a profile may place in the repo with `[files."PATH"] template = "NAME"`.
pub const FILE_TEMPLATES: &[&str] = &["host-env"];

/// The template file behind a name a profile uses.
pub fn template_source(name: &str) -> Option<&'static str> {
    match name {
        "host-env" => Some("host-env.sh.j2"),
        _ => None,
    }
}

/// Who owns a generated file, which decides how it may be overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// Under `.devboot/`: devboot's own, always brought up to date.
    Generated,
    /// Elsewhere in the repo: overwritten only while it still holds what devboot last wrote.
    Tracked,
}

/// A file's path (relative to the project root) and its rendered content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: String,
    pub content: String,
    pub ownership: Ownership,
}

/// Renders every file the stack needs.
pub fn render_all(stack: &Stack) -> Result<Vec<RenderedFile>, Error> {
    let mut files = vec![
        RenderedFile {
            path: COMPOSE_FILE.into(),
            content: compose_file(stack)?,
            ownership: Ownership::Generated,
        },
        RenderedFile {
            path: COMPOSE_ENV_FILE.into(),
            content: render(
                "compose.env.sh.j2",
                minijinja::context! { project => stack.project.clone() },
            )?,
            ownership: Ownership::Generated,
        },
        RenderedFile {
            path: HOST_ENV_FILE.into(),
            content: host_env_file(stack)?,
            ownership: Ownership::Generated,
        },
    ];
    for service in stack.services.values() {
        if let Some(content) = dev_dockerfile(service)? {
            files.push(RenderedFile {
                path: format!(
                    "{}/Dockerfile",
                    crate::dev_image::devboot_context(&service.name)
                ),
                content,
                ownership: Ownership::Generated,
            });
        }
    }
    for declared in &stack.files {
        let content = match &declared.source {
            FileSource::Content(content) => content.clone(),
            FileSource::Template(name) => {
                let template = template_source(name).expect("validation checked template names");
                render(
                    template,
                    minijinja::context! { environment => host_environment(stack) },
                )?
            }
        };
        let ownership = if declared.path.starts_with(".devboot/") {
            Ownership::Generated
        } else {
            Ownership::Tracked
        };
        files.push(RenderedFile {
            path: declared.path.clone(),
            content,
            ownership,
        });
    }
    Ok(files)
}

/// The compose file describing the stack (what `devboot config` prints).
pub fn compose_file(stack: &Stack) -> Result<String, Error> {
    render(
        "compose.yaml.j2",
        Value::from(minijinja::value::Serde(ComposeView::new(stack))),
    )
}

/// devboot's development Dockerfile for `service`, when its build uses one. Every value in it
/// is one devboot checked: a version of letters, digits and `.-_`, package names from its
/// own table, a service name.
pub fn dev_dockerfile(service: &Service) -> Result<Option<String>, Error> {
    let Some(choice) = service.build.as_ref().and_then(|b| b.choice.as_ref()) else {
        return Ok(None);
    };
    let Some(image) = &choice.image else {
        return Ok(None);
    };
    let Some(ruby_version) = &image.ruby_version else {
        return Err(Error::Usage {
            message: format!(
                "devboot's development image for service `{}` needs the app's Ruby version, and the repository does not say it{}",
                service.name,
                image
                    .ruby_version_source
                    .as_ref()
                    .map(|s| format!(" (`{s}` holds no usable version)"))
                    .unwrap_or_default()
            ),
            hint: Some(
                "write it to `.ruby-version` (e.g. `3.3.8`), or build your own Dockerfile with `source = \"dockerfile\"` under [services.NAME.build]".into(),
            ),
        });
    };
    render(
        "dev.Dockerfile.j2",
        minijinja::context! {
            service => service.name.clone(),
            replaces => choice.replaces.clone(),
            ruby_version => ruby_version.clone(),
            packages => image.packages.clone(),
        },
    )
    .map(Some)
}

/// The app's environment for tools run on the host.
pub fn host_env_file(stack: &Stack) -> Result<String, Error> {
    render(
        "host-env.sh.j2",
        minijinja::context! { environment => host_environment(stack) },
    )
}

fn render(template: &str, context: Value) -> Result<String, Error> {
    let env = environment();
    let rendered = env
        .get_template(template)
        .and_then(|t| t.render(context))
        .map_err(|error| Error::Internal(format!("rendering template `{template}`: {error:#}")))?;
    Ok(rendered + "\n")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".yaml.j2") {
            AutoEscape::Custom("compose-yaml".into())
        } else if name.ends_with(".sh.j2") {
            AutoEscape::Custom("shell".into())
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out, state, value| {
        if value.is_safe() || value.kind() == minijinja::value::ValueKind::Number {
            return out
                .write_str(&value.to_string())
                .map_err(minijinja::Error::from);
        }
        let text = match value.as_str() {
            Some(text) => text,
            None if value.kind() == minijinja::value::ValueKind::Bool => {
                let text = if value.is_true() { "true" } else { "false" };
                return out.write_str(text).map_err(minijinja::Error::from);
            }
            None => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "template printed a {} where a string was expected",
                        value.kind()
                    ),
                ));
            }
        };
        let quoted = match state.auto_escape() {
            AutoEscape::Custom(format) if format == "compose-yaml" => compose_yaml_string(text),
            AutoEscape::Custom(format) if format == "shell" => shell_word(text),
            _ => text.to_owned(),
        };
        out.write_str(&quoted).map_err(minijinja::Error::from)
    });
    // Environment variable names print bare; this filter refuses anything that is not one.
    env.add_filter(
        "env_name",
        |name: String| -> Result<Value, minijinja::Error> {
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                Ok(Value::from_safe_string(name))
            } else {
                Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("`{name}` is not a variable name"),
                ))
            }
        },
    );
    // Last: a template's escaping is fixed when it is added, from the callback above.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("embedded templates parse (tested)");
    }
    env
}

#[cfg(test)]
mod tests;
