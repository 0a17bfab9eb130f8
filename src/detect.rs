//! What a repository says about itself: is it a Rails app, which Ruby, which database, does it
//! run Sidekiq, does it have a Dockerfile. Pure functions over file contents, plus one reader.

use std::path::Path;

use crate::fsio;

/// The database adapter a Rails app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    Postgres,
    Mysql,
    Sqlite,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repository {
    pub rails: bool,
    pub ruby_version: Option<RubyVersion>,
    pub adapter: Option<Adapter>,
    pub sidekiq: bool,
    pub dockerfile: bool,
    /// The Dockerfile declares `ARG RUBY_VERSION` (Rails 7.1+ generates this).
    pub dockerfile_takes_ruby_version: bool,
    /// Every gem `Gemfile.lock` resolves, dependencies included, in its order.
    pub locked_gems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RubyVersion {
    pub version: String,
    /// Where it was read: `.ruby-version` or `Gemfile`.
    pub source: &'static str,
}

impl Repository {
    /// The built-in profile that fits this repository.
    pub fn suggested_profile(&self) -> &'static str {
        match (self.adapter, self.sidekiq) {
            (Some(Adapter::Mysql), _) => "rails-mysql",
            (_, true) => "rails-sidekiq",
            _ => "rails",
        }
    }
}

/// Reads the files that tell us about the repository at `root`.
pub fn inspect(root: &Path) -> Repository {
    let read = |name: &str| {
        fsio::read_optional(&root.join(name))
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let gemfile = read("Gemfile").unwrap_or_default();
    let locked_gems = locked_gem_names(&read("Gemfile.lock").unwrap_or_default());
    let dockerfile = read("Dockerfile");
    let gems = gem_names(&gemfile);
    let has = |gem: &str| gems.iter().any(|g| g == gem);
    let database_yml = read("config/database.yml").unwrap_or_default();
    Repository {
        rails: has("rails") || has("railties") || root.join("config/application.rb").is_file(),
        ruby_version: read(".ruby-version")
            .and_then(|text| parse_ruby_version_file(&text))
            .map(|version| RubyVersion {
                version,
                source: ".ruby-version",
            })
            .or_else(|| {
                gemfile_ruby_version(&gemfile).map(|version| RubyVersion {
                    version,
                    source: "Gemfile",
                })
            }),
        adapter: adapter(&gems, &database_yml, &locked_gems),
        sidekiq: has("sidekiq"),
        dockerfile_takes_ruby_version: dockerfile.as_deref().is_some_and(|d| {
            d.lines()
                .any(|l| l.trim_start().starts_with("ARG RUBY_VERSION"))
        }),
        dockerfile: dockerfile.is_some(),
        locked_gems,
    }
}

/// The gems a `Gemfile.lock` resolves: the entries of its `specs:` lists (`GEM`, `GIT`,
/// `PATH`), written four spaces in as `name (version)`; their own dependencies sit deeper.
pub fn locked_gem_names(lock: &str) -> Vec<String> {
    lock.lines()
        .filter_map(|line| {
            let entry = line.strip_prefix("    ")?;
            let name = entry.split([' ', '(']).next()?;
            (!name.is_empty() && !entry.starts_with(' ')).then(|| name.to_owned())
        })
        .collect()
}

/// Gem names declared with `gem "name"` or `gem 'name'`, ignoring comments.
fn gem_names(gemfile: &str) -> Vec<String> {
    gemfile
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("gem")?;
            let rest = rest.trim_start_matches([' ', '(']);
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let rest = &rest[1..];
            Some(rest[..rest.find(quote)?].to_owned())
        })
        .collect()
}

/// `.ruby-version` holds `3.3.0` or `ruby-3.3.0`.
fn parse_ruby_version_file(text: &str) -> Option<String> {
    let version = text.lines().next()?.trim();
    let version = version.strip_prefix("ruby-").unwrap_or(version);
    (!version.is_empty()).then(|| version.to_owned())
}

/// `ruby "3.3.0"` or `ruby '~> 3.2'` in a Gemfile (not `ruby file: ".ruby-version"`).
fn gemfile_ruby_version(gemfile: &str) -> Option<String> {
    gemfile.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("ruby ")?.trim();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &rest[1..];
        Some(
            rest[..rest.find(quote)?]
                .trim_start_matches(['~', '>', '=', ' '])
                .to_owned(),
        )
    })
}

fn adapter(gems: &[String], database_yml: &str, locked: &[String]) -> Option<Adapter> {
    let has = |gem: &str| gems.iter().any(|g| g == gem);
    if has("pg") || database_yml.contains("adapter: postgresql") {
        Some(Adapter::Postgres)
    } else if has("mysql2") || has("trilogy") || database_yml.contains("adapter: mysql2") {
        Some(Adapter::Mysql)
    } else if has("sqlite3") || locked.iter().any(|g| g == "sqlite3") {
        Some(Adapter::Sqlite)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rails_gemfile() {
        let gemfile = "source 'https://rubygems.org'\nruby '3.2.2'\ngem 'rails', '~> 7.1'\ngem \"pg\"\n# gem 'mysql2'\ngem(\"sidekiq\")\n";
        assert_eq!(gem_names(gemfile), ["rails", "pg", "sidekiq"]);
        assert_eq!(gemfile_ruby_version(gemfile).as_deref(), Some("3.2.2"));
        assert_eq!(
            adapter(&gem_names(gemfile), "", &[]),
            Some(Adapter::Postgres)
        );
    }

    #[test]
    fn reads_the_gems_a_lock_file_resolves() {
        let lock = "GIT\n  remote: https://github.com/x/y.git\n  specs:\n    y (0.1.0)\n\n\
                    GEM\n  remote: https://rubygems.org/\n  specs:\n    actionpack (7.2.2)\n      \
                    rack (>= 2.2.4)\n    nokogiri (1.16.7-x86_64-linux)\n    pg (1.5.9)\n    \
                    ruby-vips (2.2.2)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  pg (~> 1.1)\n\n\
                    BUNDLED WITH\n   2.5.22\n";
        assert_eq!(
            locked_gem_names(lock),
            ["y", "actionpack", "nokogiri", "pg", "ruby-vips"]
        );
        let fixture = include_str!("../tests/fixtures/rails-app/Gemfile.lock");
        let gems = locked_gem_names(fixture);
        assert!(gems.iter().any(|g| g == "pg") && gems.iter().any(|g| g == "rails"));
        assert!(!gems.iter().any(|g| g.starts_with(['(', ' '])));
    }

    #[test]
    fn ruby_version_file_forms() {
        assert_eq!(
            parse_ruby_version_file("ruby-3.1.4\n").as_deref(),
            Some("3.1.4")
        );
        assert_eq!(parse_ruby_version_file("3.3.0").as_deref(), Some("3.3.0"));
        assert_eq!(parse_ruby_version_file("\n"), None);
    }

    #[test]
    fn profile_follows_the_adapter_and_sidekiq() {
        let repo = Repository {
            adapter: Some(Adapter::Mysql),
            sidekiq: true,
            ..Repository::default()
        };
        assert_eq!(repo.suggested_profile(), "rails-mysql");
        let repo = Repository {
            adapter: Some(Adapter::Postgres),
            sidekiq: true,
            ..Repository::default()
        };
        assert_eq!(repo.suggested_profile(), "rails-sidekiq");
        assert_eq!(Repository::default().suggested_profile(), "rails");
    }
}
