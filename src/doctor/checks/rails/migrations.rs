//! `rails.pending_migrations`: no migration is pending in the running app container
//! (`bin/rails db:migrate:status`).
//!
//! `db:migrate:status` boots Rails (about a second). Its result is remembered in
//! `.devboot/doctor-cache/` together with what it depends on — the app and database
//! containers, `config/database.yml`, the migration files, and a fingerprint of the database's
//! `schema_migrations` (read with `psql` in the database container, a few milliseconds) — and
//! reused only while all of them are unchanged. Anything else boots Rails again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::doctor::check::{Check, Outcome, Run};
use crate::doctor::engine::{ProjectState, exec};
use crate::doctor::facts::Facts;
use crate::doctor::facts::app::{rails_app, read_cache, url_host, write_cache};
use crate::doctor::facts::project::{is_postgres, project_state, running_app};

pub(super) const PENDING_MIGRATIONS: Check = Check {
    id: "rails.pending_migrations",
    title: "No pending database migrations",
    depends_on: &["docker.daemon", "profile.valid"],
    // Boots Rails in the app container, which may be slow on a cold, large app.
    timeout: Duration::from_secs(90),
    run: Run::Async(|facts| Box::pin(pending_migrations(facts))),
    safe_fix: None,
};

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

async fn pending_migrations(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let app = rails_app(&facts)?.to_path_buf();
    let state = project_state(&facts).await?;
    let (service, app_id) = running_app(state)?;
    let docker = &facts
        .connection()
        .await
        .map_err(|_| Outcome::skipped("no engine"))?
        .docker;
    let files = migration_files(&app);
    if files.is_empty() {
        return Ok(Outcome::ok(
            "the app has no migrations (db/migrate is empty)",
        ));
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
        && fingerprint(docker, db_service, db_id, &cached.database)
            .await
            .as_deref()
            == Some(cached.fingerprint.as_str())
    {
        return Ok(migrations_outcome(service, &cached.database, &cached.migrations)
            .detail("from the last `bin/rails db:migrate:status`: the migrations, the database and its configuration are unchanged since"));
    }

    let output = exec(docker, app_id, &["bin/rails", "db:migrate:status"])
        .await
        .map_err(|error| {
            Outcome::warn(format!(
                "cannot run `bin/rails db:migrate:status` in `{service}`: {error}"
            ))
        })?;
    let status = parse_migrate_status(&output.lines);
    if output.code != 0 {
        return Ok(migrate_status_failed(
            service,
            &output.text(),
            output.tail(8),
        ));
    }
    let database_name = status.databases.join(", ");
    if let (Some((db_service, db_id)), Some(key), [single]) =
        (database, key, status.databases.as_slice())
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
    Ok(migrations_outcome(
        service,
        &database_name,
        &status.migrations,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

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
            crate::doctor::testing::write(&dir.path().join(file), "");
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
