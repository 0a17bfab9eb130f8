//! Importing and exporting a Postgres database through the running database container
//! (`devboot db import`, `export`): `psql`, `pg_restore` and `pg_dump` run in it, fed and
//! read over the engine's exec streams.
//!
//! An import never leaves a half-imported database: the dump goes into a fresh database
//! `<name>_import` with `ON_ERROR_STOP`; only once it (and the profile's SQL after imports)
//! succeeded is it swapped in for `<name>` with two renames in one transaction, with new
//! connections to the old database refused and the open ones ended first. On any failure the
//! staging database is dropped and `<name>` is as it was.

use bollard::Docker;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::containers::exec_piped;
use crate::error::Error;

/// What a dump file holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain SQL, for `psql`.
    Sql,
    /// Gzip-compressed SQL.
    SqlGz,
    /// `pg_dump -Fc`, for `pg_restore`.
    Custom,
}

impl Format {
    /// The format of a file starting with `head`.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(b"PGDMP") {
            Self::Custom
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Self::SqlGz
        } else {
            Self::Sql
        }
    }

    /// The format an export to `path` writes: by its extension, custom by default.
    pub fn for_path(path: &str) -> Self {
        let path = path.to_ascii_lowercase();
        if path.ends_with(".sql.gz") {
            Self::SqlGz
        } else if std::path::Path::new(&path)
            .extension()
            .is_some_and(|e| e == "sql")
        {
            Self::Sql
        } else {
            Self::Custom
        }
    }
}

/// Whether `name` may name a database here (it is quoted into SQL and shell words).
pub fn valid_database(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The database container and the role devboot connects as.
pub struct Server<'a> {
    pub docker: &'a Docker,
    pub container: &'a str,
    pub user: &'a str,
}

impl Server<'_> {
    /// Runs SQL statements (each its own `-c`) in `database`, stopping at the first error.
    async fn sql(&self, database: &str, statements: &[String]) -> Result<Vec<String>, Error> {
        let mut argv = self.psql(database);
        argv.push("-tA".into());
        for statement in statements {
            argv.extend(["-c".to_owned(), statement.clone()]);
        }
        let mut out = Vec::new();
        let (code, errors) = exec_piped(
            self.docker,
            self.container,
            &argv,
            None,
            Some(&mut out),
            &|_| {},
        )
        .await?;
        if code != 0 {
            return Err(psql_failed(
                &format!("running SQL in `{database}`"),
                code,
                errors,
            ));
        }
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    fn psql(&self, database: &str) -> Vec<String> {
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            self.user,
            "-d",
            database,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The databases that are not Postgres' own.
    pub async fn databases(&self) -> Result<Vec<String>, Error> {
        self.sql(
            "postgres",
            &["SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1".to_owned()],
        )
        .await
    }

    /// Loads `input` (of `format`) into `database` through a fresh staging database, runs
    /// `after` there, then swaps it in. `on_read` is told the bytes read so far. When `cancel`
    /// turns `true` while the dump loads, the staging database is dropped and the result is
    /// [`Error::Interrupted`]; the swap itself is not cancelled.
    pub async fn import(
        &self,
        database: &str,
        format: Format,
        input: &mut (dyn AsyncRead + Unpin + Send),
        after: &[String],
        on_read: &(dyn Fn(u64) + Sync),
        mut cancel: watch::Receiver<bool>,
    ) -> Result<(), Error> {
        let staging = format!("{database}_import");
        self.drop_database(&staging).await?;
        self.sql(
            "postgres",
            &[format!("CREATE DATABASE \"{staging}\" TEMPLATE template0")],
        )
        .await?;
        let loaded = async {
            // `-f -` rather than plain stdin: psql then names the failing line.
            let argv = match format {
                Format::Sql => [self.psql(&staging), vec!["-f".into(), "-".into()]].concat(),
                Format::SqlGz => vec![
                    "bash".to_owned(),
                    "-c".to_owned(),
                    "set -o pipefail; gunzip -c | psql -X -q -v ON_ERROR_STOP=1 -U \"$0\" -d \"$1\" -f -"
                        .to_owned(),
                    self.user.to_owned(),
                    staging.clone(),
                ],
                Format::Custom => [
                    "pg_restore",
                    "--exit-on-error",
                    "--no-owner",
                    "--no-privileges",
                    "-U",
                    self.user,
                    "-d",
                    &staging,
                ]
                .map(str::to_owned)
                .to_vec(),
            };
            let mut discard = tokio::io::sink();
            let (code, errors) = exec_piped(
                self.docker,
                self.container,
                &argv,
                Some(input),
                Some(&mut discard),
                on_read,
            )
            .await?;
            if code != 0 {
                return Err(psql_failed("importing the dump", code, errors));
            }
            if !after.is_empty() {
                self.sql(&staging, after).await?;
            }
            Ok(())
        };
        let loaded = tokio::select! {
            loaded = loaded => loaded,
            _ = cancel.wait_for(|c| *c) => Err(Error::Interrupted),
        };
        if let Err(error) = loaded {
            self.drop_database(&staging).await?;
            return Err(error);
        }
        self.swap(database, &staging).await
    }

    /// Puts `staging` in the place of `database` (which may not exist yet).
    async fn swap(&self, database: &str, staging: &str) -> Result<(), Error> {
        let previous = format!("{database}_before_import");
        let exists = self.databases().await?.iter().any(|d| d == database);
        if !exists {
            self.sql(
                "postgres",
                &[format!(
                    "ALTER DATABASE \"{staging}\" RENAME TO \"{database}\""
                )],
            )
            .await?;
            return Ok(());
        }
        self.drop_database(&previous).await?;
        let swapped = self
            .sql(
                "postgres",
                &[
                    format!("ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS false"),
                    terminate(database),
                    format!(
                        "BEGIN; ALTER DATABASE \"{database}\" RENAME TO \"{previous}\"; \
                         ALTER DATABASE \"{staging}\" RENAME TO \"{database}\"; COMMIT"
                    ),
                ],
            )
            .await;
        if let Err(error) = swapped {
            // The renames happen together or not at all: the old database is still `database`.
            let _ = self
                .sql(
                    "postgres",
                    &[format!(
                        "ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS true"
                    )],
                )
                .await;
            self.drop_database(staging).await?;
            return Err(error);
        }
        self.drop_database(&previous).await
    }

    /// Drops `database` if it exists, ending its connections first.
    pub async fn drop_database(&self, database: &str) -> Result<(), Error> {
        self.sql(
            "postgres",
            &[
                terminate(database),
                format!("DROP DATABASE IF EXISTS \"{database}\""),
            ],
        )
        .await
        .map(drop)
    }

    /// Writes `database` as `format` to `output`; `on_written` is told the bytes so far.
    pub async fn export(
        &self,
        database: &str,
        format: Format,
        output: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> Result<(), Error> {
        let dump = ["pg_dump", "-U", self.user, "-d", database];
        let argv: Vec<String> = match format {
            Format::Sql => dump.map(str::to_owned).to_vec(),
            Format::Custom => [&dump[..], &["-Fc"]]
                .concat()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Format::SqlGz => vec![
                "bash".to_owned(),
                "-c".to_owned(),
                "set -o pipefail; pg_dump -U \"$0\" -d \"$1\" | gzip -c".to_owned(),
                self.user.to_owned(),
                database.to_owned(),
            ],
        };
        let (code, errors) = exec_piped(
            self.docker,
            self.container,
            &argv,
            None,
            Some(output),
            &|_| {},
        )
        .await?;
        if code != 0 {
            return Err(psql_failed("exporting the database", code, errors));
        }
        Ok(())
    }
}

/// SQL ending every other connection to `database`.
fn terminate(database: &str) -> String {
    format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )
}

fn psql_failed(action: &str, code: i64, errors: Vec<String>) -> Error {
    let errors: Vec<String> = errors
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    Error::Refused {
        message: format!(
            "{action} failed (exit code {code}):\n  {}",
            errors.join("\n  ")
        ),
        hint: Some("the database was left as it was before".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_first_bytes_and_exports_by_their_extension() {
        assert_eq!(Format::sniff(b"PGDMP\x01\x0e"), Format::Custom);
        assert_eq!(Format::sniff(&[0x1f, 0x8b, 8]), Format::SqlGz);
        assert_eq!(Format::sniff(b"--\n-- PostgreSQL"), Format::Sql);
        assert_eq!(Format::sniff(b""), Format::Sql);
        assert_eq!(Format::for_path("a.sql"), Format::Sql);
        assert_eq!(Format::for_path("a.sql.gz"), Format::SqlGz);
        assert_eq!(Format::for_path("a.dump"), Format::Custom);
    }

    #[test]
    fn database_names_are_plain_words() {
        assert!(valid_database("app_development"));
        for bad in ["", "a\"b", "a'b", "a b", "a;b"] {
            assert!(!valid_database(bad), "{bad}");
        }
    }
}
