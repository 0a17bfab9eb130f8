//! `rails.*` checks that look inside the running app container: pending migrations
//! (`bin/rails db:migrate:status`), service URLs in the container's own environment that point
//! at `localhost`, and the helpers the file-based Rails checks use to ask the container (its
//! Ruby version, whether a pid is a server process in it).
//!
//! `db:migrate:status` boots Rails (about a second). Its result is remembered in
//! `.devboot/doctor-cache/` together with what it depends on — the app and database
//! containers, `config/database.yml`, the migration files, and a fingerprint of the database's
//! `schema_migrations` (read with `psql` in the database container, a few milliseconds) — and
//! reused only while all of them are unchanged. Anything else boots Rails again. The Ruby
//! version of the app container is remembered for as long as that container runs (started
//! once, from one image, its Ruby cannot change).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::super::check::{Check, Outcome, Run, SLOW};
use super::super::engine::{ProjectState, exec};
use super::super::facts::Facts;
use super::env::app_services;
use super::rails::{is_local_host, url_host};
use super::services::is_postgres;
use super::stack::project_state;
use crate::digest::Digest;

pub(super) const PENDING_MIGRATIONS: Check = Check {
    id: "rails.pending_migrations",
    title: "No pending database migrations",
    depends_on: &["docker.daemon", "profile.valid"],
    // Boots Rails in the app container, which may be slow on a cold, large app.
    timeout: Duration::from_secs(90),
    run: Run::Async(pending_migrations),
    safe_fix: None,
};

pub(super) const CONTAINER_ENV: Check = Check {
    id: "rails.container_env",
    title: "The app container's service URLs do not point at localhost",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(container_env),
    safe_fix: None,
};

/// Where doctor remembers what is costly to find out, in the project's `.devboot/`; one file
/// per check, so checks running at once never overwrite each other's.
const CACHE_DIR: &str = ".devboot/doctor-cache";

/// The running app container: its service name and container id, or why there is none.
fn running_app(state: &ProjectState) -> Result<(&str, &str), Outcome> {
    let Some(app) = state.stack.app_service() else {
        return Err(Outcome::skipped("the profile has no app service"));
    };
    match state.running(&app.name) {
        Some(container) => Ok((app.name.as_str(), container.id.as_str())),
        None => Err(Outcome::skipped(format!(
            "`{}` is not running; this is checked while the stack is up",
            app.name
        ))),
    }
}

/// The Ruby version the running app container has, as `(service, version)`; `None` when
/// there is no project, no engine or no running app container.
pub(super) async fn container_ruby(facts: &Facts) -> Option<(String, String)> {
    facts.stack()?;
    let state = facts.engine_project().await.ok()?;
    let (service, id) = running_app(state).ok()?;
    let started = state
        .inspected
        .get(service)
        .and_then(|i| i.state.as_ref())
        .and_then(|s| s.started_at.clone())
        .unwrap_or_default();
    let container = format!("{id}@{started}");
    let root = &state.stack.root;
    if let Some(cached) = read_cache::<RubyCache>(root, "ruby.json")
        && cached.container == container
    {
        return Some((service.to_owned(), cached.version));
    }
    let docker = &facts.connection().await.ok()?.docker;
    let output = exec(docker, id, &["ruby", "-e", "print RUBY_VERSION"])
        .await
        .ok()?;
    let version = output.lines.first()?.trim().to_owned();
    if output.code != 0 || version.is_empty() {
        return None;
    }
    write_cache(
        root,
        "ruby.json",
        &RubyCache {
            container,
            version: version.clone(),
        },
    );
    Some((service.to_owned(), version))
}

/// The Ruby version of one run of the app container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RubyCache {
    /// `CONTAINER_ID@STARTED_AT`.
    container: String,
    version: String,
}

/// The name of process `pid` inside the running app container, which writes
/// `tmp/pids/server.pid` through the bind mount with its own pids: `(service, name)`.
pub(super) async fn container_process(facts: &Facts, pid: u32) -> Option<(String, String)> {
    facts.stack()?;
    let state = facts.engine_project().await.ok()?;
    let (service, id) = running_app(state).ok()?;
    let docker = &facts.connection().await.ok()?.docker;
    let path = format!("/proc/{pid}/comm");
    let output = exec(docker, id, &["cat", &path]).await.ok()?;
    let name = output.lines.first()?.trim().to_owned();
    (output.code == 0 && !name.is_empty()).then(|| (service.to_owned(), name))
}

/// One line of `db:migrate:status`: ` down    20250102000000  Add title to notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MigrationLine {
    up: bool,
    version: String,
    name: String,
}

/// What `db:migrate:status` printed, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MigrationStatus {
    /// The `database: NAME` headers (one per database of a multi-database app).
    databases: Vec<String>,
    migrations: Vec<MigrationLine>,
}

fn parse_migrate_status(lines: &[String]) -> MigrationStatus {
    let mut status = MigrationStatus::default();
    for line in lines {
        let line = line.trim();
        if let Some(database) = line.strip_prefix("database:") {
            status.databases.push(database.trim().to_owned());
            continue;
        }
        let Some((state, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        let (version, name) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let up = match state {
            "up" => true,
            "down" => false,
            _ => continue,
        };
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        status.migrations.push(MigrationLine {
            up,
            version: version.to_owned(),
            name: name.trim().to_owned(),
        });
    }
    status
}

/// What the cache remembers of the last `db:migrate:status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct MigrationCache {
    /// Digest of the app and database containers, `config/database.yml` and the migration
    /// files' names.
    key: String,
    database: String,
    /// `schema_migrations` then: row count, highest version, digest of all versions.
    fingerprint: String,
    migrations: Vec<MigrationLine>,
}

/// Paths (relative to the app) of every migration file: `db/migrate/*.rb`, and those of the
/// other databases of a multi-database app (`db/cache_migrate`, ...).
fn migration_files(app: &Path) -> Vec<String> {
    let dirs: Vec<std::path::PathBuf> = std::fs::read_dir(app.join("db"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_dir()
                && path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().ends_with("migrate"))
        })
        .collect();
    let mut files: Vec<String> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "rb"))
        .filter_map(|path| Some(path.strip_prefix(app).ok()?.display().to_string()))
        .collect();
    files.sort();
    files
}

fn cache_key(
    state: &ProjectState,
    app_id: &str,
    db_id: &str,
    app: &Path,
    files: &[String],
) -> String {
    let database_yml = std::fs::read(app.join("config/database.yml")).unwrap_or_default();
    let mut text = format!("{}\0{app_id}\0{db_id}\0", state.stack.project);
    text.push_str(Digest::of(&database_yml).as_str());
    for file in files {
        text.push('\0');
        text.push_str(file);
    }
    Digest::of(text.as_bytes()).into_string()
}

fn read_cache<T: serde::de::DeserializeOwned>(root: &Path, name: &str) -> Option<T> {
    let bytes = std::fs::read(root.join(CACHE_DIR).join(name)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_cache<T: Serialize>(root: &Path, name: &str, value: &T) {
    // Only an optimisation: a cache that cannot be written costs the next run some time.
    if root.join(".devboot").is_dir()
        && let Ok(mut json) = serde_json::to_vec_pretty(value)
    {
        json.push(b'\n');
        let _ = crate::fsio::write_atomic(&root.join(CACHE_DIR).join(name), &json);
    }
}

/// The database service the app's `DATABASE_URL` names, with its running container id: the
/// only database whose `schema_migrations` doctor can fingerprint.
fn database_container<'s>(
    state: &'s ProjectState,
    app_env: &[String],
) -> Option<(&'s crate::model::Service, &'s str)> {
    let url = app_env
        .iter()
        .find_map(|entry| entry.strip_prefix("DATABASE_URL="))?;
    let (range, _) = url_host(url)?;
    let host = &url[range];
    let service = state
        .stack
        .services
        .values()
        .find(|s| s.name == host && is_postgres(s))?;
    let container = state.running(&service.name)?;
    Some((service, container.id.as_str()))
}

/// `schema_migrations` of `database`, summarised: `count:max:md5`.
async fn fingerprint(
    docker: &bollard::Docker,
    service: &crate::model::Service,
    id: &str,
    database: &str,
) -> Option<String> {
    let user = service
        .environment
        .get("POSTGRES_USER")
        .map_or("postgres", String::as_str);
    let query = "select count(*) || ':' || coalesce(max(version), '') || ':' || \
                 md5(coalesce(string_agg(version, ',' order by version), '')) from schema_migrations";
    let output = exec(
        docker,
        id,
        &[
            "psql", "-X", "-A", "-t", "-U", user, "-d", database, "-c", query,
        ],
    )
    .await
    .ok()?;
    let line = output.lines.first()?.trim().to_owned();
    (output.code == 0 && line.matches(':').count() == 2).then_some(line)
}

fn pending_migrations(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        let app = facts.app_dir().to_path_buf();
        if !app.join("config/application.rb").is_file() {
            return Outcome::skipped(format!(
                "not a Rails app (no config/application.rb in {})",
                facts.display(&app)
            ));
        }
        let state = match project_state(&facts).await {
            Ok(state) => state,
            Err(outcome) => return outcome,
        };
        let (service, app_id) = match running_app(state) {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let Ok(connection) = facts.connection().await else {
            return Outcome::skipped("no engine");
        };
        let docker = &connection.docker;
        let files = migration_files(&app);
        if files.is_empty() {
            return Outcome::ok("the app has no migrations (db/migrate is empty)");
        }
        let app_env: Vec<String> = state
            .inspected
            .get(service)
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.env.clone())
            .unwrap_or_default();
        let database = database_container(state, &app_env);
        let key = database.map(|(_, db_id)| cache_key(state, app_id, db_id, &app, &files));
        let cached = read_cache::<MigrationCache>(&state.stack.root, "migrations.json");

        // Nothing changed since the last `db:migrate:status`: its result stands.
        if let (Some((db_service, db_id)), Some(key), Some(cached)) = (database, &key, &cached)
            && cached.key == *key
            && fingerprint(docker, db_service, db_id, &cached.database).await.as_deref()
                == Some(cached.fingerprint.as_str())
        {
            return migrations_outcome(service, &cached.database, &cached.migrations)
                .detail("from the last `bin/rails db:migrate:status`: the migrations, the database and its configuration are unchanged since");
        }

        let output = match exec(docker, app_id, &["bin/rails", "db:migrate:status"]).await {
            Ok(output) => output,
            Err(error) => {
                return Outcome::warn(format!(
                    "cannot run `bin/rails db:migrate:status` in `{service}`: {error}"
                ));
            }
        };
        let status = parse_migrate_status(&output.lines);
        if output.code != 0 {
            return migrate_status_failed(service, &output.text(), output.tail(8));
        }
        let database_name = status.databases.join(", ");
        if let (Some((db_service, db_id)), Some(key), [single]) = (database, key, status.databases.as_slice())
            && let Some(fingerprint) = fingerprint(docker, db_service, db_id, single).await
        {
            let cache = MigrationCache {
                key,
                database: single.clone(),
                fingerprint,
                migrations: status.migrations.clone(),
            };
            write_cache(&state.stack.root, "migrations.json", &cache);
        }
        migrations_outcome(service, &database_name, &status.migrations)
    }
    .boxed()
}

fn migrations_outcome(service: &str, database: &str, migrations: &[MigrationLine]) -> Outcome {
    let pending: Vec<&MigrationLine> = migrations.iter().filter(|m| !m.up).collect();
    let database = if database.is_empty() {
        String::new()
    } else {
        format!(" in `{database}`")
    };
    if pending.is_empty() {
        return Outcome::ok(format!(
            "{}, all applied{database}",
            crate::error::plural(migrations.len(), "migration")
        ));
    }
    Outcome::error(format!(
        "{} pending{database}: {}",
        if pending.len() == 1 {
            "1 migration is".to_owned()
        } else {
            format!("{} migrations are", pending.len())
        },
        pending
            .iter()
            .map(|m| m.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .details(
        pending
            .iter()
            .map(|m| format!("down  {}  {}", m.version, m.name)),
    )
    .detail("pages fail with `ActiveRecord::PendingMigrationError` until they run")
    .fix_with(
        "run them: `devboot up` runs the profile's setup (`bin/rails db:prepare`)",
        "devboot up",
    )
    .fix_with(
        "or run them in the running container",
        format!("docker compose -f .devboot/compose.yaml exec {service} bin/rails db:migrate"),
    )
}

fn migrate_status_failed(service: &str, text: &str, tail: Vec<String>) -> Outcome {
    let prepare =
        format!("docker compose -f .devboot/compose.yaml exec {service} bin/rails db:prepare");
    let lines = tail.into_iter().map(|l| format!("  {service} | {l}"));
    if text.contains("NoDatabaseError")
        || (text.contains("database") && text.contains("does not exist"))
    {
        return Outcome::error("the app's database does not exist")
            .details(lines)
            .fix_with(
                "create it and load the schema: `devboot up` runs `bin/rails db:prepare`",
                "devboot up",
            )
            .fix_with("or in the running container", prepare);
    }
    if text.contains("Schema migrations table does not exist") {
        return Outcome::error("no migration has run: the database has no schema_migrations table")
            .details(lines)
            .fix_with(
                "load the schema and run the migrations: `devboot up` runs `bin/rails db:prepare`",
                "devboot up",
            )
            .fix_with("or in the running container", prepare);
    }
    Outcome::warn("`bin/rails db:migrate:status` failed, so pending migrations cannot be told")
        .details(lines)
        .fix_with(
            "run it yourself to see the whole error",
            format!(
                "docker compose -f .devboot/compose.yaml exec {service} bin/rails db:migrate:status"
            ),
        )
}

fn container_env(facts: Arc<Facts>) -> BoxFuture<'static, Outcome> {
    async move {
        let state = match project_state(&facts).await {
            Ok(state) => state,
            Err(outcome) => return outcome,
        };
        let services: Vec<&str> = app_services(&facts)
            .iter()
            .map(|s| s.name.as_str())
            .filter(|name| state.inspected.contains_key(*name))
            .collect();
        if services.is_empty() {
            return Outcome::skipped("no app container (the stack is not running)");
        }
        // (service, variable, value as the container has it, whether the profile still says so)
        let mut findings: Vec<(&str, String, String, bool)> = Vec::new();
        for service in &services {
            let env = state
                .inspected
                .get(*service)
                .and_then(|i| i.config.as_ref())
                .and_then(|c| c.env.as_ref());
            for entry in env.into_iter().flatten() {
                let Some((name, value)) = entry.split_once('=') else {
                    continue;
                };
                if !(name.ends_with("_URL") || name.ends_with("_HOST")) {
                    continue;
                }
                let Some((range, _)) = url_host(value) else {
                    continue;
                };
                if is_local_host(&value[range]) {
                    let in_profile = state
                        .stack
                        .services
                        .get(*service)
                        .and_then(|s| s.environment.get(name))
                        .is_some_and(|v| v == value);
                    findings.push((service, name.to_owned(), value.to_owned(), in_profile));
                }
            }
        }
        if findings.is_empty() {
            return Outcome::ok(format!(
                "no service URL in the environment of {} points at localhost",
                services
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let mut outcome = Outcome::error(format!(
            "the `{}` container has {} pointing at localhost",
            findings[0].0,
            findings
                .iter()
                .map(|(_, name, _, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .detail("inside a container, localhost is the container itself: connections to the database or Redis are refused");
        for (service, name, value, _) in &findings {
            outcome = outcome.detail(format!("{name} = {value} (in `{service}`)"));
        }
        if findings.iter().any(|(_, _, _, in_profile)| *in_profile) {
            outcome = outcome.fix(
                "set them to the service name in the profile (devboot.local.toml overrides it; see `rails.database_url_localhost` for the corrected URLs)",
            );
            outcome.fix_with("then recreate the container with them", "devboot up")
        } else {
            outcome.fix_with(
                "the profile no longer sets them: recreate the container so it gets the profile's values",
                "devboot up",
            )
        }
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::super::super::check::Status;
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn migrate_status_output_parses() {
        let output = lines(
            "\ndatabase: app_development\n\n Status   Migration ID    Migration Name\n\
             --------------------------------------------------\n\
             \x1b[1m\x1b[35m (0.4ms)\x1b[0m  SELECT \"schema_migrations\".\"version\" FROM \"schema_migrations\"\n\
                up     20250101000000  Create notes\n\
               down    20250102000000  Add title to notes\n\
                up     20240101000000  ********** NO FILE **********\n",
        );
        let status = parse_migrate_status(&output);
        assert_eq!(status.databases, ["app_development"]);
        assert_eq!(status.migrations.len(), 3);
        assert_eq!(
            status.migrations[1],
            MigrationLine {
                up: false,
                version: "20250102000000".into(),
                name: "Add title to notes".into()
            }
        );
        let outcome = migrations_outcome("web", "app_development", &status.migrations);
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "1 migration is pending in `app_development`: 20250102000000"
        );
        assert_eq!(
            outcome.details[0],
            "down  20250102000000  Add title to notes"
        );
        assert_eq!(outcome.fixes[0].command.as_deref(), Some("devboot up"));
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("docker compose -f .devboot/compose.yaml exec web bin/rails db:migrate")
        );

        let all_up: Vec<MigrationLine> = status.migrations.into_iter().filter(|m| m.up).collect();
        let outcome = migrations_outcome("web", "app_development", &all_up);
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(
            outcome.summary,
            "2 migrations, all applied in `app_development`"
        );
    }

    #[test]
    fn a_failed_status_says_why() {
        let missing = migrate_status_failed(
            "web",
            "ActiveRecord::NoDatabaseError: FATAL:  database \"app_development\" does not exist",
            vec!["x".into()],
        );
        assert_eq!(missing.summary, "the app's database does not exist");
        assert_eq!(missing.fixes[0].command.as_deref(), Some("devboot up"));
        let no_table = migrate_status_failed(
            "web",
            "Schema migrations table does not exist yet.",
            Vec::new(),
        );
        assert_eq!(no_table.status, Status::Error);
        let other = migrate_status_failed("web", "LoadError", Vec::new());
        assert_eq!(other.status, Status::Warn);
    }

    #[test]
    fn migration_files_include_every_database() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "db/migrate/20250101000000_create_notes.rb",
            "db/cache_migrate/20250101000001_create_cache.rb",
            "db/migrate/README.md",
            "db/seeds.rb",
        ] {
            super::super::testing::write(&dir.path().join(file), "");
        }
        assert_eq!(
            migration_files(dir.path()),
            [
                "db/cache_migrate/20250101000001_create_cache.rb",
                "db/migrate/20250101000000_create_notes.rb"
            ]
        );
    }
}
