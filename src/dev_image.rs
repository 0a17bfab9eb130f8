//! Which Dockerfile builds a service's image, and why: the profile's own choice, the
//! repository's `.devcontainer/Dockerfile`, its Dockerfile, or — when that is a production one
//! (every Rails app since 7.1 ships one) — devboot's development image, made of the app's
//! Ruby version and the system packages its gems need. [`choose`] is the pure decision (`init`
//! may call it too); [`apply`] reads the repository's files and settles every built service
//! of a stack. Also here: which files an image depends on ([`watched`]), so a change to
//! anything else never rebuilds it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::detect;
use crate::dockerfile::{self, Analysis};
use crate::fsio;
use crate::model::{Build, BuildSource, Mount, Stack};

/// The repository's development container, as VS Code's Dev Containers and Rails write it.
pub const DEVCONTAINER_DOCKERFILE: &str = ".devcontainer/Dockerfile";

/// The build context of devboot's development image for `service`: it holds nothing but the
/// rendered Dockerfile (the app is bind-mounted, gems live in a volume).
pub fn devboot_context(service: &str) -> String {
    format!("{}/images/{service}", crate::containment::WORK_DIR)
}

/// What a development image needs whatever the gems: compilers for native extensions, git
/// for gems from git, pkg-config to find system libraries.
pub const BASE_PACKAGES: &[&str] = &["build-essential", "git", "pkg-config"];

/// Gems (from `Gemfile.lock`) and the Debian/Ubuntu packages a development image needs for
/// them: headers to compile the extension, and the library or client it calls at run time.
/// Gems shipped precompiled or self-contained (nokogiri, bootsnap, msgpack...) need none.
pub const GEM_PACKAGES: &[(&str, &[&str])] = &[
    ("charlock_holmes", &["libicu-dev"]),
    ("ethon", &["libcurl4"]),
    ("ffi", &["libffi-dev"]),
    ("gpgme", &["libgpgme-dev"]),
    ("image_processing", &["libvips"]),
    ("libxml-ruby", &["libxml2-dev"]),
    ("mini_magick", &["imagemagick"]),
    (
        "mysql2",
        &["default-libmysqlclient-dev", "default-mysql-client"],
    ),
    ("nokogiri", &[]),
    ("pg", &["libpq-dev", "postgresql-client"]),
    ("psych", &["libyaml-dev"]),
    ("rgeo", &["libgeos-dev", "libproj-dev"]),
    ("rmagick", &["libmagickwand-dev"]),
    ("ruby-filemagic", &["libmagic-dev"]),
    ("ruby-vips", &["libvips"]),
    ("sqlite3", &["libsqlite3-0", "sqlite3"]),
    ("tiny_tds", &["freetds-dev"]),
    ("trilogy", &["default-mysql-client"]),
];

/// The system packages for `gems`: the base ones and each gem's, sorted, once each.
pub fn system_packages(gems: &[String]) -> Vec<String> {
    let mut packages: Vec<String> = BASE_PACKAGES.iter().map(|p| (*p).to_owned()).collect();
    for gem in gems {
        if let Some((_, needed)) = GEM_PACKAGES.iter().find(|(name, _)| name == gem) {
            packages.extend(needed.iter().map(|p| (*p).to_owned()));
        }
    }
    packages.sort();
    packages.dedup();
    packages
}

/// The developer's user and group IDs on the host, which devboot's image runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HostUser {
    pub uid: u32,
    pub gid: u32,
}

impl HostUser {
    /// The user running devboot.
    pub fn current() -> Self {
        Self {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }
}

/// The lines devboot appends to a development container's Dockerfile so its image runs as
/// `host`, like the Dev Containers CLI's `updateRemoteUserUID`: the image's own user (e.g.
/// `vscode`, uid 1000) takes the developer's uid and gid, or a user is made for them; their home
/// and the gem directory become theirs. Files the app writes in the bind mount stay the
/// developer's. A developer who is root runs the image as root.
pub fn user_layer(host: HostUser) -> String {
    let HostUser { uid, gid } = host;
    format!(
        r#"
# Added by devboot: run as the developer (uid {uid}, gid {gid}), so that what the app writes in
# the bind mount is theirs; the image's own user takes their ids.
RUN id -un > /tmp/.devboot-image-user
USER root
RUN set -e; user="$(cat /tmp/.devboot-image-user)"; rm -f /tmp/.devboot-image-user;     if ! getent group {gid} >/dev/null; then       if [ "$user" != root ]; then groupmod -o -g {gid} "$(id -gn "$user")"; else groupadd -g {gid} app; fi;     fi;     if ! getent passwd {uid} >/dev/null; then       if [ "$user" != root ]; then usermod -o -u {uid} -g {gid} "$user";       else useradd -u {uid} -g {gid} -m -d /home/app -s /bin/sh app; fi;     fi;     home="$(getent passwd {uid} | cut -d: -f6)";     mkdir -p "$home" /usr/local/bundle;     chown -R {uid}:{gid} "$home" /usr/local/bundle
USER {uid}:{gid}
"#
    )
}

/// What devboot appends to `service`'s Dockerfile, if anything.
pub fn dockerfile_suffix(service: &crate::model::Service) -> Option<String> {
    let choice = service.build.as_ref()?.choice.as_ref()?;
    choice.run_as.map(user_layer)
}

/// Which Dockerfile a build uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Chosen {
    /// The Dockerfile the profile names (or `Dockerfile`), as it is.
    Dockerfile,
    /// `.devcontainer/Dockerfile`, as it is.
    Devcontainer,
    /// devboot's development image.
    Devboot,
}

/// The decision for one build, and what follows from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub chosen: Chosen,
    /// One sentence: why.
    pub reason: String,
    /// The Dockerfile (relative to the project) that devboot's image stands in for, when that
    /// is a production one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// For devboot's image: what it is made of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<DevImage>,
    /// Context paths the Dockerfile's `COPY`/`ADD` take (for the others).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copied: Vec<String>,
    /// What will go wrong with the image as it is, and the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// For a development container's Dockerfile: the developer its image is made to run as
    /// (devboot appends [`user_layer`], as the Dev Containers CLI's `updateRemoteUserUID` does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as: Option<HostUser>,
}

/// What devboot's development image is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevImage {
    /// From `.ruby-version` (or the Gemfile); `None` when the repository does not say or says
    /// something that is not a version.
    pub ruby_version: Option<String>,
    /// Where the version was read (or found unusable).
    pub ruby_version_source: Option<String>,
    pub packages: Vec<String>,
    pub user: HostUser,
}

/// What the repository holds that the choice depends on.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// The text of the Dockerfile the build names (by default `Dockerfile` in the context).
    pub dockerfile: Option<&'a str>,
    /// The text of `.devcontainer/Dockerfile`.
    pub devcontainer: Option<&'a str>,
    pub ruby_version: Option<&'a detect::RubyVersion>,
    /// The gems `Gemfile.lock` resolves.
    pub gems: &'a [String],
}

/// Chooses the Dockerfile for `build` of a service that bind-mounts `mounts`, run by `host`.
/// In order: what the profile names (a Dockerfile, a target, or a `source`);
/// `.devcontainer/Dockerfile`; the build's Dockerfile unless it is a production one (or
/// missing); devboot's development image.
pub fn choose(build: &Build, mounts: &[Mount], facts: &Facts<'_>, host: HostUser) -> Choice {
    let dockerfile_path = project_path(&build.context, &build.dockerfile);
    let as_is = |chosen: Chosen, path: &str, text: Option<&str>, target, reason: String| {
        let analysis = text
            .map(|t| dockerfile::analyze(t, target))
            .unwrap_or_default();
        // A development container's image is made to run as the developer: no warning.
        let run_as = (chosen == Chosen::Devcontainer).then_some(host);
        Choice {
            chosen,
            reason,
            replaces: None,
            image: None,
            warning: run_as
                .is_none()
                .then(|| user_warning(&analysis, path, mounts, host))
                .flatten(),
            copied: analysis.copied,
            run_as,
        }
    };
    let target = build.target.as_deref();
    match build.source {
        BuildSource::Dockerfile => {
            return as_is(
                Chosen::Dockerfile,
                &dockerfile_path,
                facts.dockerfile,
                target,
                format!(
                    "the profile asks for `{dockerfile_path}` as it is (`source = \"dockerfile\"`)"
                ),
            );
        }
        BuildSource::Devcontainer => {
            return as_is(
                Chosen::Devcontainer,
                DEVCONTAINER_DOCKERFILE,
                facts.devcontainer,
                target,
                format!(
                    "the profile asks for `{DEVCONTAINER_DOCKERFILE}` (`source = \"devcontainer\"`)"
                ),
            );
        }
        BuildSource::Devboot => {
            return devboot(
                facts,
                host,
                None,
                "the profile asks for it (`source = \"devboot\"`)".into(),
            );
        }
        BuildSource::Auto => {}
    }
    if build.named {
        let named = match target {
            Some(target) => format!("target `{target}` of `{dockerfile_path}`"),
            None => format!("`{dockerfile_path}`"),
        };
        return as_is(
            Chosen::Dockerfile,
            &dockerfile_path,
            facts.dockerfile,
            target,
            format!("the profile names {named}"),
        );
    }
    if facts.devcontainer.is_some() {
        return as_is(
            Chosen::Devcontainer,
            DEVCONTAINER_DOCKERFILE,
            facts.devcontainer,
            None,
            format!("the repository has a development container (`{DEVCONTAINER_DOCKERFILE}`)"),
        );
    }
    let Some(text) = facts.dockerfile else {
        return devboot(
            facts,
            host,
            None,
            format!("there is no `{dockerfile_path}`"),
        );
    };
    let analysis = dockerfile::analyze(text, None);
    if analysis.production.is_empty() {
        return as_is(
            Chosen::Dockerfile,
            &dockerfile_path,
            Some(text),
            None,
            format!(
                "`{dockerfile_path}` is a development Dockerfile (nothing in it says production)"
            ),
        );
    }
    devboot(
        facts,
        host,
        Some(dockerfile_path.clone()),
        format!(
            "`{dockerfile_path}` is a production one ({})",
            analysis.production.join(", ")
        ),
    )
}

fn devboot(facts: &Facts<'_>, host: HostUser, replaces: Option<String>, reason: String) -> Choice {
    let ruby = facts.ruby_version.filter(|v| is_version(&v.version));
    Choice {
        chosen: Chosen::Devboot,
        reason,
        replaces,
        image: Some(DevImage {
            ruby_version: ruby.map(|v| v.version.clone()),
            ruby_version_source: facts.ruby_version.map(|v| v.source.to_owned()),
            packages: system_packages(facts.gems),
            user: host,
        }),
        copied: Vec::new(),
        warning: None,
        run_as: None,
    }
}

/// A version an image tag can carry: `3.3.8`, `3.4.0-preview1`.
fn is_version(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

/// `context/relative` as a project path.
fn project_path(context: &str, relative: &str) -> String {
    if context == "." {
        relative.to_owned()
    } else {
        format!("{context}/{relative}")
    }
}

/// The warning for an image that runs as another user than the developer while it writes
/// into a bind mount of the project.
fn user_warning(
    analysis: &Analysis,
    dockerfile: &str,
    mounts: &[Mount],
    host: HostUser,
) -> Option<String> {
    let uid = analysis.uid?;
    let user = analysis.user.as_deref()?;
    let mount = mounts.iter().find_map(|m| match m {
        Mount::Bind {
            source,
            read_only: false,
            ..
        } => Some(source),
        _ => None,
    })?;
    (uid != host.uid && uid != 0).then(|| {
        format!(
            "`{dockerfile}` runs as `USER {user}` (uid {uid}), not as you (uid {}): in the bind mount `{mount}` the app cannot write your files (log/, tmp/), and what it writes belongs to uid {uid}; set `source = \"devboot\"` under [services.NAME.build] for devboot's development image, which runs as you",
            host.uid
        )
    })
}

/// Settles the Dockerfile of every built service of `stack`, reading the repository's files:
/// `context`, `dockerfile`, `target` and `args` become what the engine gets, and the choice
/// is recorded. A file that cannot be read counts as missing.
pub fn apply(stack: &mut Stack, host: HostUser) {
    let root = stack.root.clone();
    let read = |relative: &str| {
        fsio::read_optional(&root.join(relative))
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let repository = detect::inspect(&root);
    let devcontainer = read(DEVCONTAINER_DOCKERFILE);
    for service in stack.services.values_mut() {
        let Some(build) = &mut service.build else {
            continue;
        };
        let dockerfile = read(&project_path(&build.context, &build.dockerfile));
        let facts = Facts {
            dockerfile: dockerfile.as_deref(),
            devcontainer: devcontainer.as_deref(),
            ruby_version: repository.ruby_version.as_ref(),
            gems: &repository.locked_gems,
        };
        let choice = choose(build, &service.mounts, &facts, host);
        match choice.chosen {
            Chosen::Dockerfile => {}
            Chosen::Devcontainer => {
                build.context = ".".into();
                build.dockerfile = DEVCONTAINER_DOCKERFILE.into();
            }
            Chosen::Devboot => {
                build.context = devboot_context(&service.name);
                build.dockerfile = "Dockerfile".into();
                build.target = None;
                build.args = BTreeMap::from([
                    ("UID".to_owned(), host.uid.to_string()),
                    ("GID".to_owned(), host.gid.to_string()),
                ]);
            }
        }
        build.choice = Some(choice);
    }
}

/// What `up` would build for the app of built-in profile `profile` (e.g. `rails`) in the
/// repository at `root`, before any `devboot.toml` exists: for `init` to report with
/// [`Report::line`]. `None` when the profile's app has no build.
pub fn for_builtin_profile(profile: &str, root: &std::path::Path) -> Option<Report> {
    let builtin = crate::profile::source::Builtin::get(profile)?;
    let loaded =
        crate::profile::load_standalone(crate::profile::source::Builtin::layer(builtin)).ok()?;
    let mut stack = crate::model::validate::stack(&loaded, root).ok()?;
    apply(&mut stack, HostUser::current());
    let app = stack.app.as_ref()?.service.clone();
    reports(&stack).into_iter().find(|r| r.service == app)
}

/// The choice for one built service, as `plan`, `up` and `profile show --resolved` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub service: String,
    pub source: Chosen,
    /// The Dockerfile built, relative to the project.
    pub dockerfile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The choice of every built service of `stack` (settled by [`apply`]), in name order.
pub fn reports(stack: &Stack) -> Vec<Report> {
    stack
        .services
        .values()
        .filter_map(|service| {
            let build = service.build.as_ref()?;
            let choice = build.choice.as_ref()?;
            Some(Report {
                service: service.name.clone(),
                source: choice.chosen,
                dockerfile: project_path(&build.context, &build.dockerfile),
                target: build.target.clone(),
                reason: choice.reason.clone(),
                replaces: choice.replaces.clone(),
                warning: choice.warning.clone(),
            })
        })
        .collect()
}

impl Report {
    /// One line: the service, what builds its image, and why.
    pub fn line(&self) -> String {
        let what = match self.source {
            Chosen::Devboot => format!("devboot's development image ({})", self.dockerfile),
            _ => match &self.target {
                Some(target) => format!("{} (target `{target}`)", self.dockerfile),
                None => self.dockerfile.clone(),
            },
        };
        format!("{}: {what}, because {}", self.service, self.reason)
    }
}

/// What an image depends on in its build context, as `.dockerignore`-style patterns relative
/// to the context (besides the Dockerfile, which always counts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Watched {
    /// Paths whose change rebuilds (`.` for everything).
    pub include: Vec<String>,
    /// Paths under which nothing counts: what the service bind-mounts (`.` for everything).
    pub exclude: Vec<String>,
}

/// What `build` depends on: its `rebuild_on` paths when the profile gives them, else what the
/// Dockerfile copies that the service does not bind-mount (the mount shows the container the
/// current files anyway). devboot's image copies nothing: only its Dockerfile counts.
pub fn watched(build: &Build, mounts: &[Mount]) -> Watched {
    if !build.rebuild_on.is_empty() {
        return Watched {
            include: build.rebuild_on.clone(),
            exclude: Vec::new(),
        };
    }
    let Some(choice) = &build.choice else {
        return Watched {
            include: vec![".".into()],
            exclude: Vec::new(),
        };
    };
    let exclude = mounts
        .iter()
        .filter_map(|m| match m {
            Mount::Bind { source, .. } => under_context(&build.context, source),
            Mount::Volume { .. } => None,
        })
        .collect();
    Watched {
        include: choice.copied.clone(),
        exclude,
    }
}

/// The project path `path` relative to `context`: `.` when it holds the whole context,
/// `None` when it is outside it.
fn under_context(context: &str, path: &str) -> Option<String> {
    if context == "." {
        return Some(path.to_owned());
    }
    if path == "." || path == context || context.starts_with(&format!("{path}/")) {
        return Some(".".into());
    }
    path.strip_prefix(&format!("{context}/")).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAILS_72: &str = include_str!("../tests/data/dockerfiles/rails-7.2.Dockerfile");
    const DEV: &str = include_str!("../tests/fixtures/rails-app/Dockerfile");
    const HOST: HostUser = HostUser {
        uid: 1234,
        gid: 1234,
    };

    fn rails_build(text: &str) -> (Build, Vec<Mount>) {
        let stack = crate::model::test_stack(text);
        let web = &stack.services["web"];
        (web.build.clone().unwrap(), web.mounts.clone())
    }

    fn ruby() -> detect::RubyVersion {
        detect::RubyVersion {
            version: "3.3.8".into(),
            source: ".ruby-version",
        }
    }

    #[test]
    fn packages_follow_the_locked_gems() {
        let gems = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            system_packages(&gems(&[
                "rails",
                "pg",
                "nokogiri",
                "image_processing",
                "ruby-vips"
            ])),
            [
                "build-essential",
                "git",
                "libpq-dev",
                "libvips",
                "pkg-config",
                "postgresql-client"
            ]
        );
        assert_eq!(
            system_packages(&gems(&["mysql2"])),
            [
                "build-essential",
                "default-libmysqlclient-dev",
                "default-mysql-client",
                "git",
                "pkg-config"
            ]
        );
        assert!(system_packages(&gems(&["sqlite3"])).contains(&"libsqlite3-0".to_owned()));
        assert_eq!(system_packages(&[]), BASE_PACKAGES);
        // The table is sorted by gem, so a reader finds a gem (and a duplicate shows).
        let names: Vec<&str> = GEM_PACKAGES.iter().map(|(g, _)| *g).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn a_production_dockerfile_is_replaced_by_devboots_image() {
        let (build, mounts) = rails_build("extends = \"rails\"\n");
        let gems = vec!["pg".to_owned(), "ruby-vips".to_owned()];
        let version = ruby();
        let facts = Facts {
            dockerfile: Some(RAILS_72),
            ruby_version: Some(&version),
            gems: &gems,
            ..Facts::default()
        };
        let choice = choose(&build, &mounts, &facts, HOST);
        assert_eq!(choice.chosen, Chosen::Devboot);
        assert_eq!(choice.replaces.as_deref(), Some("Dockerfile"));
        assert!(
            choice
                .reason
                .starts_with("`Dockerfile` is a production one (its header says"),
            "{}",
            choice.reason
        );
        let image = choice.image.unwrap();
        assert_eq!(image.ruby_version.as_deref(), Some("3.3.8"));
        assert!(image.packages.contains(&"libvips".to_owned()));
        assert_eq!(image.user, HOST);
    }

    #[test]
    fn a_dev_container_runs_as_the_developer_and_nothing_else_is_changed() {
        let (build, mounts) = rails_build("extends = \"rails\"\n");
        let facts = Facts {
            dockerfile: Some(RAILS_72),
            devcontainer: Some("FROM ghcr.io/rails/devcontainer/images/ruby:3.3.8\nUSER vscode\n"),
            ..Facts::default()
        };
        let choice = choose(&build, &mounts, &facts, HOST);
        assert_eq!(choice.run_as, Some(HOST));
        assert_eq!(choice.warning, None, "made to run as the developer");
        let layer = user_layer(HOST);
        assert!(
            layer.contains("usermod -o -u 1234 -g 1234 \"$user\""),
            "{layer}"
        );
        assert!(layer.trim_end().ends_with("USER 1234:1234"), "{layer}");
        // The other choices are built as they are written.
        let plain = choose(
            &build,
            &mounts,
            &Facts {
                devcontainer: None,
                ..facts
            },
            HOST,
        );
        assert_eq!(plain.run_as, None);
    }

    #[test]
    fn the_order_of_preference() {
        let (build, mounts) = rails_build("extends = \"rails\"\n");
        let with = |dockerfile, devcontainer| Facts {
            dockerfile,
            devcontainer,
            ..Facts::default()
        };
        let chosen = |build: &Build, facts: &Facts<'_>| choose(build, &mounts, facts, HOST).chosen;
        // A development Dockerfile is built as it is.
        assert_eq!(chosen(&build, &with(Some(DEV), None)), Chosen::Dockerfile);
        // No Dockerfile: devboot's.
        assert_eq!(chosen(&build, &with(None, None)), Chosen::Devboot);
        // A dev container beats both.
        let devcontainer = Some("FROM ghcr.io/rails/devcontainer/images/ruby:3.3.8\n");
        assert_eq!(
            chosen(&build, &with(Some(RAILS_72), devcontainer)),
            Chosen::Devcontainer
        );
        // A Dockerfile or target the profile names beats the dev container.
        let (named, _) =
            rails_build("extends = \"rails\"\n[services.web.build]\ntarget = \"build\"\n");
        let choice = choose(&named, &mounts, &with(Some(RAILS_72), devcontainer), HOST);
        assert_eq!(choice.chosen, Chosen::Dockerfile);
        assert_eq!(
            choice.reason,
            "the profile names target `build` of `Dockerfile`"
        );
        // `source` forces any of them.
        for (source, expected) in [
            ("dockerfile", Chosen::Dockerfile),
            ("devcontainer", Chosen::Devcontainer),
            ("devboot", Chosen::Devboot),
        ] {
            let (forced, _) = rails_build(&format!(
                "extends = \"rails\"\n[services.web.build]\nsource = \"{source}\"\n"
            ));
            assert_eq!(
                chosen(&forced, &with(Some(DEV), devcontainer)),
                expected,
                "{source}"
            );
        }
    }

    #[test]
    fn a_forced_user_that_is_not_the_developer_is_a_warning() {
        let (build, mounts) =
            rails_build("extends = \"rails\"\n[services.web.build]\nsource = \"dockerfile\"\n");
        let facts = Facts {
            dockerfile: Some(RAILS_72),
            ..Facts::default()
        };
        let choice = choose(&build, &mounts, &facts, HOST);
        assert_eq!(choice.chosen, Chosen::Dockerfile);
        let warning = choice.warning.unwrap();
        assert!(
            warning.contains("`USER 1000:1000` (uid 1000), not as you (uid 1234)"),
            "{warning}"
        );
        assert!(warning.contains("source = \"devboot\""), "{warning}");
        // The developer is uid 1000: nothing to say.
        let me = HostUser {
            uid: 1000,
            gid: 1000,
        };
        assert_eq!(choose(&build, &mounts, &facts, me).warning, None);
        // No bind mount: nothing to say either.
        assert_eq!(choose(&build, &[], &facts, HOST).warning, None);
    }

    #[test]
    fn init_can_ask_before_a_profile_exists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), RAILS_72).unwrap();
        std::fs::write(dir.path().join(".ruby-version"), "3.3.8\n").unwrap();
        let report = for_builtin_profile("rails", dir.path()).unwrap();
        assert_eq!(report.source, Chosen::Devboot);
        assert!(
            report.line().starts_with("web: devboot's development image (.devboot/images/web/Dockerfile), because `Dockerfile` is a production one"),
            "{}",
            report.line()
        );
        std::fs::write(dir.path().join("Dockerfile"), DEV).unwrap();
        assert_eq!(
            for_builtin_profile("rails", dir.path()).unwrap().source,
            Chosen::Dockerfile
        );
        assert_eq!(for_builtin_profile("nope", dir.path()), None);
    }

    #[test]
    fn an_unusable_ruby_version_is_left_out() {
        let version = detect::RubyVersion {
            version: "3.3\"; rm -rf /".into(),
            source: ".ruby-version",
        };
        let facts = Facts {
            ruby_version: Some(&version),
            ..Facts::default()
        };
        let (build, mounts) = rails_build("extends = \"rails\"\n");
        let image = choose(&build, &mounts, &facts, HOST).image.unwrap();
        assert_eq!(image.ruby_version, None);
    }

    #[test]
    fn an_image_depends_on_what_it_copies_and_the_service_does_not_mount() {
        let (mut build, mounts) = rails_build("extends = \"rails\"\n");
        build.choice = Some(choose(
            &build,
            &mounts,
            &Facts {
                dockerfile: Some(DEV),
                ..Facts::default()
            },
            HOST,
        ));
        assert_eq!(
            watched(&build, &mounts),
            Watched {
                include: vec!["Gemfile".into(), "Gemfile.lock".into(), ".".into()],
                exclude: vec![".".into()],
            }
        );
        build.rebuild_on = vec!["Gemfile.lock".into()];
        assert_eq!(
            watched(&build, &mounts),
            Watched {
                include: vec!["Gemfile.lock".into()],
                exclude: Vec::new(),
            }
        );
        assert_eq!(under_context("app", "."), Some(".".into()));
        assert_eq!(under_context("app", "app/lib"), Some("lib".into()));
        assert_eq!(under_context("app", "lib"), None);
        assert_eq!(under_context(".", "lib"), Some("lib".into()));
    }
}
