//! Semantic validation: turns a merged profile document into a [`Stack`], or reports every
//! problem at once, each at the `file:line:column` of the value at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Component, Path};

use super::platform::Platform;
use super::postgres;
use super::units::{parse_api_version, parse_bytes, parse_duration};
use super::{
    App, AppWiring, Aws, AwsMode, Build, BuildSource, Command, DEFAULT_RELAY_IMAGE, DeclaredFile,
    FileSource, Healthcheck, ImageRef, Mount, PortMapping, Requirements, Service, Stack,
};
use crate::error::Error;
use crate::profile::LoadedProfile;
use crate::profile::diagnostic::{Diagnostic, Diagnostics, closest};
use crate::profile::document::{
    BuildDocument, CommandDocument, HealthcheckDocument, Origin, PortDocument, PortPolicy,
    ProfileDocument, ServiceDocument, Sourced, VolumeDocument,
};
use crate::profile::source::{LayerKind, Sources};

/// Healthcheck timing when a profile leaves it out: poll fast, give slow services two minutes.
const DEFAULT_INTERVAL_MS: u64 = 1000;
const DEFAULT_TIMEOUT_MS: u64 = 5000;
const DEFAULT_RETRIES: u32 = 120;

/// Validates the merged profile of a project rooted at `root`.
pub fn stack(loaded: &LoadedProfile, root: &Path) -> Result<Stack, Error> {
    stack_as(loaded, root, None)
}

/// Validates the merged profile of a project rooted at `root`; with `checkout_name`, as a
/// second checkout of the repository runs it: under that project name (so its containers,
/// volumes and built images are its own), every published port `auto` (the declared ports
/// are the first checkout's).
pub fn stack_as(
    loaded: &LoadedProfile,
    root: &Path,
    checkout_name: Option<&str>,
) -> Result<Stack, Error> {
    let mut validator = Validator {
        sources: &loaded.sources,
        diagnostics: Vec::new(),
    };
    let mut stack = validator.stack(&loaded.merged, root, checkout_name);
    validator
        .diagnostics
        .extend(crate::profile::capabilities::undeclared(loaded));
    if checkout_name.is_some() {
        for port in stack.services.values_mut().flat_map(|s| &mut s.ports) {
            port.policy = PortPolicy::Auto;
        }
    }
    if validator.diagnostics.is_empty() {
        Ok(stack)
    } else {
        Err(Error::InvalidProfile(Diagnostics::sorted(
            validator.diagnostics,
        )))
    }
}

/// A Compose-compatible project name derived from a directory name: `My App` → `my-app`.
pub fn project_name_from_dir(root: &Path) -> String {
    let raw = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches(['-', '_']);
    if name.is_empty() {
        "devboot".to_owned()
    } else {
        name.to_owned()
    }
}

struct Validator<'a> {
    sources: &'a Sources,
    diagnostics: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, origin: &Origin, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::at(self.sources, origin, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// Whether a value was written by a built-in profile.
    fn is_builtin(&self, origin: &Origin) -> bool {
        self.sources.get(origin.layer).kind == LayerKind::Builtin
    }

    /// Runs `parse` on a sourced value, reporting its error at the value.
    fn parse<T, U>(
        &mut self,
        value: &Sourced<T>,
        parse: impl FnOnce(&T) -> Result<U, String>,
    ) -> Option<U> {
        match parse(&value.value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.error(&value.origin, message);
                None
            }
        }
    }

    fn stack(&mut self, doc: &ProfileDocument, root: &Path, checkout_name: Option<&str>) -> Stack {
        let declared = match &doc.project.name {
            Some(name) => {
                self.parse(name, |n| valid_project_name(n).then(|| n.clone()).ok_or_else(|| {
                    format!("project name `{n}` must be lowercase letters, digits, `-` and `_`, starting with a letter or digit")
                }))
                // Reported; the directory's name stands in so the other checks still run.
                .unwrap_or_else(|| project_name_from_dir(root))
            }
            None => project_name_from_dir(root),
        };
        let project = checkout_name.map_or(declared, str::to_owned);
        let names: Vec<&str> = doc.services.keys().map(|k| k.value.as_str()).collect();
        let mut services = BTreeMap::new();
        for (name, service) in &doc.services {
            if let Some(service) = self.service(&project, name, service, &names) {
                services.insert(name.value.clone(), service);
            }
        }
        self.check_host_ports(doc);
        self.check_dependency_cycles(doc);
        let app = self.app(doc, &names);
        let requirements = self.requirements(doc);
        let files = self.files(doc);
        let aws = self.aws(doc);
        let commands = self.commands(doc);
        let import_after = doc
            .db
            .import
            .after
            .iter()
            .flatten()
            .filter_map(|statement| {
                if statement.value.trim().is_empty() {
                    self.error(
                        &statement.origin,
                        "`[db.import] after` statements cannot be empty",
                    );
                    None
                } else {
                    Some(statement.value.clone())
                }
            })
            .collect();
        let volumes = services
            .values()
            .flat_map(|s: &Service| &s.mounts)
            .filter_map(|m| match m {
                Mount::Volume { name, .. } => Some(name.clone()),
                Mount::Bind { .. } => None,
            })
            .collect();
        if doc.services.is_empty() {
            self.diagnostics.push(
                // Against the file being loaded: the project's, or the one profile validated.
                Diagnostic::in_file(&self.sources.top().display, "the profile declares no services")
                    .with_hint("extend a built-in profile (`extends = \"rails\"`) or add `[services.NAME]` tables"),
            );
        }
        Stack {
            project,
            root: root.to_path_buf(),
            services,
            app,
            requirements,
            volumes,
            files,
            aws,
            app_wiring: AppWiring::default(),
            commands,
            import_after,
        }
    }

    /// `[commands]`: names that read as a command and hide none of devboot's own, and a
    /// command line each, for the app service's shell.
    fn commands(&mut self, doc: &ProfileDocument) -> BTreeMap<String, String> {
        let mut commands = BTreeMap::new();
        for (name, command) in &doc.commands {
            if !valid_service_name(&name.value) {
                self.error(
                    &name.origin,
                    format!(
                        "shortcut name `{}` must be lowercase letters, digits, `-` and `_`",
                        name.value
                    ),
                );
            } else if crate::cli::command_names().any(|own| own == name.value) {
                self.error(
                    &name.origin,
                    format!(
                        "shortcut `{}` would hide devboot's own `devboot {}`",
                        name.value, name.value
                    ),
                )
                .hint = Some(format!("name it otherwise, like `{}-app`", name.value));
            } else if command.value.trim().is_empty() {
                self.error(
                    &command.origin,
                    format!("shortcut `{}` runs nothing", name.value),
                )
                .hint = Some("write the command line, like `test = \"bin/rails test\"`".into());
            } else {
                commands.insert(name.value.clone(), command.value.clone());
            }
        }
        if let (None, Some((name, _))) = (&doc.app.service, doc.commands.first_key_value()) {
            self.error(
                &name.origin,
                "shortcuts run in the app service, and `[app] service` is not set",
            )
            .hint = Some("name the app service: `[app]` `service = \"web\"`".into());
        }
        commands
    }

    fn service(
        &mut self,
        project: &str,
        name: &Sourced<String>,
        doc: &ServiceDocument,
        names: &[&str],
    ) -> Option<Service> {
        let before = self.diagnostics.len();
        let valid_name = valid_service_name(&name.value);
        if !valid_name {
            self.error(
                &name.origin,
                format!(
                    "service name `{}` must be lowercase letters, digits, `-` and `_`",
                    name.value
                ),
            );
        }
        let build = doc.build.as_ref().and_then(|build| self.build(build));
        let image = match (&doc.image, &build) {
            (Some(image), _) => self.parse(image, |text| ImageRef::parse(text)),
            // A built image is tagged like Compose v2 tags it: `<project>-<service>`.
            (None, Some(_)) => {
                let tag = format!("{project}-{}", name.value);
                match ImageRef::parse(&tag) {
                    Ok(image) => Some(image),
                    // An invalid service name is reported above.
                    Err(_) if !valid_name => None,
                    Err(reason) => {
                        self.error(
                            &name.origin,
                            format!(
                                "the image built for service `{}` would be named `{tag}`, which is not a valid image name: {reason}",
                                name.value
                            ),
                        )
                        .hint = Some("end the service name with a letter or digit".into());
                        None
                    }
                }
            }
            (None, None) => {
                self.error(
                    &name.origin,
                    format!("service `{}` has neither `image` nor `build`", name.value),
                )
                .hint = Some(
                    "set `image = \"NAME:TAG\"`, or `build = \".\"` to build the repo's Dockerfile"
                        .into(),
                );
                None
            }
        };
        let command = doc.command.as_ref().map(|c| match &c.value {
            CommandDocument::Shell(script) => Command::Shell(script.clone()),
            CommandDocument::Argv(argv) => Command::Argv(argv.clone()),
        });
        if let Some(command) = &doc.command
            && matches!(&command.value, CommandDocument::Argv(argv) if argv.is_empty())
        {
            self.error(&command.origin, "`command` is an empty list");
        }
        if let Some(dir) = &doc.working_dir
            && !dir.value.starts_with('/')
        {
            self.error(
                &dir.origin,
                format!(
                    "`working_dir` must be an absolute container path, not `{}`",
                    dir.value
                ),
            );
        }
        let mut environment = BTreeMap::new();
        for (key, value) in &doc.environment {
            if !valid_env_name(&key.value) {
                self.error(
                    &key.origin,
                    format!("`{}` is not a valid environment variable name", key.value),
                )
                .hint = Some("use letters, digits and `_`, not starting with a digit".into());
            }
            if value.value.0.contains('\0') {
                self.error(
                    &value.origin,
                    "environment values cannot contain a NUL character",
                );
            }
            environment.insert(key.value.clone(), value.value.0.clone());
        }
        let ports = doc
            .ports
            .iter()
            .flatten()
            .filter_map(|port| self.port(port))
            .collect();
        let mounts = doc
            .volumes
            .iter()
            .flatten()
            .filter_map(|volume| {
                let mount = self.mount(volume)?;
                Some(match &image {
                    Some(image) if self.is_builtin(&volume.origin) => {
                        follow_postgres_major(mount, image)
                    }
                    _ => mount,
                })
            })
            .collect();
        let healthcheck = doc.healthcheck.as_ref().and_then(|h| self.healthcheck(h));
        let platform = doc
            .platform
            .as_ref()
            .and_then(|p| self.parse(p, |text| Platform::parse(text)));
        let mut depends_on = BTreeMap::new();
        for (dependency, condition) in doc.depends_on.iter().flat_map(|d| &d.0) {
            if dependency.value == name.value {
                self.error(
                    &dependency.origin,
                    format!("service `{}` depends on itself", name.value),
                );
            } else if !names.contains(&dependency.value.as_str()) {
                let hint = closest(&dependency.value, names.iter().copied()).map_or_else(
                    || format!("services: {}", names.join(", ")),
                    |b| format!("did you mean `{b}`?"),
                );
                self.error(
                    &dependency.origin,
                    format!("`depends_on` names unknown service `{}`", dependency.value),
                )
                .hint = Some(hint);
            }
            depends_on.insert(dependency.value.clone(), condition.value);
        }
        if self.diagnostics.len() > before {
            return None;
        }
        // Every way `image` ends up `None` reports a diagnostic, so this returns a service.
        Some(Service {
            name: name.value.clone(),
            image: image?,
            build,
            command,
            working_dir: doc.working_dir.as_ref().map(|d| d.value.clone()),
            environment,
            ports,
            mounts,
            depends_on,
            healthcheck,
            platform,
        })
    }

    fn build(&mut self, build: &Sourced<BuildDocument>) -> Option<Build> {
        let b = &build.value;
        let context = self.parse(build, |b| relative_in_project(&b.context))?;
        let source = b.source.unwrap_or_default();
        let ignored = match source {
            BuildSource::Devboot => [("dockerfile", &b.dockerfile), ("target", &b.target)]
                .into_iter()
                .find(|(_, value)| value.is_some()),
            BuildSource::Devcontainer => {
                Some(("dockerfile", &b.dockerfile)).filter(|(_, v)| v.is_some())
            }
            _ => None,
        };
        if let Some((key, _)) = ignored {
            self.error(
                &build.origin,
                format!(
                    "`{key}` means nothing with `source = \"{}\"`",
                    source.name()
                ),
            )
            .hint = Some(format!(
                "remove `{key}`, or set `source = \"dockerfile\"` to build the Dockerfile you name"
            ));
            return None;
        }
        if b.target
            .as_deref()
            .is_some_and(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            self.error(
                &build.origin,
                "`target` must name a stage of the Dockerfile",
            );
            return None;
        }
        let rebuild_on = b.rebuild_on.clone().unwrap_or_default();
        for pattern in &rebuild_on {
            let problem = if pattern.starts_with('/') || pattern.split('/').any(|p| p == "..") {
                Some("must be a path inside the build context".to_owned())
            } else {
                crate::engine::build_context::pattern_problem(pattern)
            };
            if let Some(problem) = problem {
                self.error(
                    &build.origin,
                    format!("`rebuild_on` entry `{pattern}` {problem}"),
                )
                .hint = Some(
                    "write paths relative to the build context, like `Gemfile.lock` or `vendor/**`"
                        .into(),
                );
                return None;
            }
        }
        Some(Build {
            context,
            dockerfile: b.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into()),
            target: b.target.clone(),
            args: b.args.clone(),
            source,
            named: b.dockerfile.is_some() || b.target.is_some(),
            rebuild_on,
            choice: None,
        })
    }

    fn port(&mut self, port: &Sourced<PortDocument>) -> Option<PortMapping> {
        let p = &self.parse(port, PortDocument::mapping)?;
        if p.container == 0 || p.host == Some(0) {
            self.error(
                &port.origin,
                "port 0 cannot be published; ports run from 1 to 65535",
            );
            return None;
        }
        let host_ip = match &p.host_ip {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(ip) => self.parse(&Sourced::new(ip.clone(), port.origin.clone()), |ip| {
                ip.parse::<IpAddr>()
                    .map_err(|_| format!("`{ip}` is not an IP address"))
            })?,
        };
        Some(PortMapping {
            container: p.container,
            host: p.host.unwrap_or(p.container),
            host_ip,
            policy: p.policy,
        })
    }

    fn mount(&mut self, volume: &Sourced<VolumeDocument>) -> Option<Mount> {
        let v = &self.parse(volume, VolumeDocument::mount)?;
        if !v.target.starts_with('/') {
            self.error(
                &volume.origin,
                format!(
                    "volume target `{}` must be an absolute container path",
                    v.target
                ),
            );
            return None;
        }
        let is_path = v.source.starts_with(['.', '/', '~']);
        if is_path {
            let source = self.parse(volume, |_| relative_in_project(&v.source))?;
            Some(Mount::Bind {
                source,
                target: v.target.clone(),
                read_only: v.read_only,
            })
        } else if valid_volume_name(&v.source) {
            Some(Mount::Volume {
                name: v.source.clone(),
                target: v.target.clone(),
                read_only: v.read_only,
            })
        } else {
            self.error(
                &volume.origin,
                format!(
                    "`{}` is neither a volume name nor a path starting with `./`",
                    v.source
                ),
            );
            None
        }
    }

    fn healthcheck(&mut self, check: &Sourced<HealthcheckDocument>) -> Option<Healthcheck> {
        let h = &check.value;
        if h.disable {
            return None;
        }
        let test = match &h.test {
            Some(CommandDocument::Shell(script)) => vec!["CMD-SHELL".to_owned(), script.clone()],
            Some(CommandDocument::Argv(argv)) if !argv.is_empty() => {
                std::iter::once("CMD".to_owned())
                    .chain(argv.iter().cloned())
                    .collect()
            }
            _ => {
                self.error(
                    &check.origin,
                    "a healthcheck needs a `test` command (or `disable = true`)",
                );
                return None;
            }
        };
        let mut duration = |text: &Option<String>, default_ms: u64| match text {
            None => Some(std::time::Duration::from_millis(default_ms)),
            Some(written) => self
                .parse(&Sourced::new(written.clone(), check.origin.clone()), |t| {
                    parse_duration(t)
                }),
        };
        Some(Healthcheck {
            test,
            interval: duration(&h.interval, DEFAULT_INTERVAL_MS)?,
            timeout: duration(&h.timeout, DEFAULT_TIMEOUT_MS)?,
            start_period: duration(&h.start_period, 0)?,
            retries: h.retries.unwrap_or(DEFAULT_RETRIES),
        })
    }

    /// No two published ports may claim the same host address and port.
    fn check_host_ports(&mut self, doc: &ProfileDocument) {
        let mut claimed: BTreeMap<(String, u16), (String, Origin)> = BTreeMap::new();
        for (name, service) in &doc.services {
            for port in service.ports.iter().flatten() {
                // Malformed mappings are reported by `port`.
                let Ok(p) = port.value.mapping() else {
                    continue;
                };
                if p.policy == PortPolicy::Auto {
                    continue;
                }
                let host = p.host.unwrap_or(p.container);
                let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
                if let Some((other, other_origin)) = claimed.get(&(ip.clone(), host)) {
                    let other_at = self.sources.locate(other_origin);
                    let message =
                        format!("host port {host} is already published by service `{other}`");
                    self.error(&port.origin, message).hint = Some(format!(
                        "pick another host port, or `policy = \"auto\"` to let devboot choose (first use at {}:{})",
                        other_at.file, other_at.line
                    ));
                } else {
                    claimed.insert((ip, host), (name.value.clone(), port.origin.clone()));
                }
            }
        }
    }

    /// Reports one `depends_on` cycle, at the entry that closes it.
    fn check_dependency_cycles(&mut self, doc: &ProfileDocument) {
        let edges: BTreeMap<&str, Vec<&Sourced<String>>> = doc
            .services
            .iter()
            .map(|(name, s)| {
                (
                    name.value.as_str(),
                    s.depends_on
                        .iter()
                        .flat_map(|d| &d.0)
                        .map(|(n, _)| n)
                        .collect(),
                )
            })
            .collect();
        let mut finished = BTreeSet::new();
        for start in edges.keys() {
            let mut path = vec![*start];
            if let Some((closing, cycle)) = find_cycle(&edges, &mut path, &mut finished) {
                self.error(
                    &closing.origin,
                    format!("`depends_on` forms a cycle: {}", cycle.join(" → ")),
                )
                .hint = Some("remove one of these dependencies".into());
                return;
            }
        }
    }

    fn app(&mut self, doc: &ProfileDocument, names: &[&str]) -> Option<App> {
        let service = doc.app.service.as_ref()?;
        if !names.contains(&service.value.as_str()) {
            let hint = closest(&service.value, names.iter().copied()).map_or_else(
                || format!("services: {}", names.join(", ")),
                |b| format!("did you mean `{b}`?"),
            );
            self.error(
                &service.origin,
                format!("the app service `{}` is not declared", service.value),
            )
            .hint = Some(hint);
        }
        let setup: Vec<String> = doc
            .app
            .setup
            .iter()
            .flatten()
            .map(|c| c.value.clone())
            .collect();
        for command in doc.app.setup.iter().flatten() {
            if command.value.trim().is_empty() {
                self.error(&command.origin, "setup commands cannot be empty");
            }
        }
        let setup_inputs = doc
            .app
            .setup_inputs
            .iter()
            .flatten()
            .filter_map(|input| self.parse(input, |path| setup_input(path)))
            .collect();
        Some(App {
            service: service.value.clone(),
            setup,
            setup_inputs,
        })
    }

    fn requirements(&mut self, doc: &ProfileDocument) -> Requirements {
        let r = &doc.requires;
        let docker_api = r.docker_api.as_ref().and_then(|v| {
            self.parse(v, |t| {
                parse_api_version(t)
                    .ok_or_else(|| format!("`{t}` is not an API version like `1.41`"))
            })
        });
        let memory_bytes = r
            .memory
            .as_ref()
            .and_then(|v| self.parse(v, |t| parse_bytes(t)));
        let disk_bytes = r
            .disk
            .as_ref()
            .and_then(|v| self.parse(v, |t| parse_bytes(t)));
        let mut tools = BTreeMap::new();
        for (tool, constraint) in &r.tools {
            if !crate::host::tools::is_bare_name(&tool.value) {
                self.error(
                    &tool.origin,
                    format!(
                        "`{}` is not a tool name: name a program found on PATH (letters, digits, `.`, `_`, `+`, `-`), not a path",
                        tool.value
                    ),
                )
                .hint = Some("devboot never runs a program from the repository on your machine; a tool the project ships belongs in its container".into());
                continue;
            }
            if let Some(req) = self.parse(constraint, |c| {
                semver::VersionReq::parse(c)
                    .map_err(|e| format!("`{c}` is not a version constraint: {e}"))
            }) {
                tools.insert(tool.value.clone(), req);
            }
        }
        Requirements {
            docker_api,
            memory_bytes,
            disk_bytes,
            tools,
        }
    }

    fn aws(&mut self, doc: &ProfileDocument) -> Option<Aws> {
        let a = &doc.aws;
        let declared = a.profile.is_some()
            || a.region.is_some()
            || a.account.is_some()
            || a.mode.is_some()
            || a.emulator_endpoint.is_some()
            || a.relay_image.is_some()
            || a.relay_route.is_some();
        if !declared {
            return None;
        }
        if let Some(account) = &a.account
            && !(account.value.len() == 12 && account.value.bytes().all(|b| b.is_ascii_digit()))
        {
            self.error(
                &account.origin,
                format!("`{}` is not a 12-digit AWS account id", account.value),
            );
        }
        if let Some(region) = &a.region
            && !region
                .value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.error(
                &region.origin,
                format!(
                    "`{}` is not an AWS region name like `eu-west-1`",
                    region.value
                ),
            );
        }
        let relay_image = match &a.relay_image {
            Some(image) => self.parse(image, |text| ImageRef::parse(text)),
            None => ImageRef::parse(DEFAULT_RELAY_IMAGE).ok(),
        }?;
        let mode = a.mode.as_ref().map(|m| m.value).unwrap_or_default();
        match (&a.emulator_endpoint, mode) {
            (None, AwsMode::Emulator) => {
                let origin = a
                    .mode
                    .as_ref()
                    .map(|m| m.origin.clone())
                    .unwrap_or_default();
                self.error(&origin, "`mode = \"emulator\"` needs `emulator_endpoint`")
                    .hint = Some("e.g. `emulator_endpoint = \"http://moto:5000\"` (the emulator as the app container sees it)".into());
            }
            (Some(url), _)
                if !(url.value.starts_with("http://") || url.value.starts_with("https://")) =>
            {
                self.error(
                    &url.origin,
                    format!("`{}` is not an http(s) URL", url.value),
                );
            }
            _ => {}
        }
        Some(Aws {
            profile: a.profile.as_ref().map(|v| v.value.clone()),
            region: a.region.as_ref().map(|v| v.value.clone()),
            account: a.account.as_ref().map(|v| v.value.clone()),
            mode,
            emulator_endpoint: a.emulator_endpoint.as_ref().map(|v| v.value.clone()),
            relay_image,
            relay_route: a.relay_route.as_ref().map(|r| r.value).unwrap_or_default(),
        })
    }

    fn files(&mut self, doc: &ProfileDocument) -> Vec<DeclaredFile> {
        let mut files = Vec::new();
        for (path, file) in &doc.files {
            let Some(relative) = self.parse(path, |p| relative_in_project(p)) else {
                continue;
            };
            let source = match (&file.template, &file.content) {
                (Some(template), None) => {
                    if crate::render::template_source(&template.value).is_none() {
                        let known = crate::render::FILE_TEMPLATES;
                        let hint = closest(&template.value, known.iter().copied()).map_or_else(
                            || format!("built-in templates: {}", known.join(", ")),
                            |b| format!("did you mean `{b}`?"),
                        );
                        self.error(
                            &template.origin,
                            format!("unknown template `{}`", template.value),
                        )
                        .hint = Some(hint);
                        continue;
                    }
                    FileSource::Template(template.value.clone())
                }
                (None, Some(content)) => FileSource::Content(content.value.clone()),
                _ => {
                    self.error(
                        &path.origin,
                        format!(
                            "file `{}` needs exactly one of `template` and `content`",
                            path.value
                        ),
                    );
                    continue;
                }
            };
            files.push(DeclaredFile {
                path: relative,
                source,
            });
        }
        files
    }
}

fn find_cycle<'a>(
    edges: &BTreeMap<&'a str, Vec<&'a Sourced<String>>>,
    path: &mut Vec<&'a str>,
    finished: &mut BTreeSet<&'a str>,
) -> Option<(&'a Sourced<String>, Vec<String>)> {
    let current = *path.last()?;
    if finished.contains(current) {
        return None;
    }
    for next in edges.get(current).into_iter().flatten() {
        if let Some(start) = path.iter().position(|p| *p == next.value) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(next.value.clone());
            return Some((next, cycle));
        }
        if edges.contains_key(next.value.as_str()) {
            path.push(next.value.as_str());
            if let Some(found) = find_cycle(edges, path, finished) {
                return Some(found);
            }
            path.pop();
        }
    }
    finished.insert(current);
    None
}

/// A built-in profile's Postgres data volume, mounted where `image`'s major keeps its data:
/// the profile writes the path of Postgres 17 and earlier, `/var/lib/postgresql/data`, and an
/// image of 18 or later gets the volume at `/var/lib/postgresql` instead. What a project or
/// catalog profile writes itself is kept as written (`devboot profile lint` flags it).
fn follow_postgres_major(mount: Mount, image: &ImageRef) -> Mount {
    match mount {
        Mount::Volume {
            name,
            target,
            read_only,
        } if target == postgres::LEGACY_DATA_DIR => Mount::Volume {
            name,
            target: postgres::volume_target(image).to_owned(),
            read_only,
        },
        other => other,
    }
}

/// Normalises a project-relative path; refuses absolute paths and `..` that leave the project.
pub(crate) fn relative_in_project(path: &str) -> Result<String, String> {
    let escapes =
        || format!("`{path}` points outside the project; use a path inside it, like `./tmp`");
    if path.starts_with('~') || Path::new(path).is_absolute() {
        return Err(escapes());
    }
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(escapes)?;
            }
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::RootDir | Component::Prefix(_) => return Err(escapes()),
        }
    }
    Ok(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

/// A setup input: a file of the project, not the project itself.
fn setup_input(path: &str) -> Result<String, String> {
    match relative_in_project(path)? {
        root if root == "." => Err(format!(
            "`{path}` is the project itself; name a file, like `Gemfile.lock`"
        )),
        file => Ok(file),
    }
}

pub(crate) fn valid_env_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_project_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn valid_service_name(name: &str) -> bool {
    valid_project_name(name)
}

pub(crate) fn valid_volume_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load_standalone;
    use crate::profile::source::{Layer, LayerKind};

    fn validate(text: &str) -> Result<Stack, String> {
        let layer = Layer {
            display: "devboot.toml".into(),
            path: None,
            kind: LayerKind::Project,
            text: text.into(),
        };
        let loaded = load_standalone(layer).map_err(|e| e.to_string())?;
        stack(&loaded, Path::new("/src/My App")).map_err(|e| e.to_string())
    }

    #[test]
    fn shortcuts_are_named_like_commands_and_hide_none_of_devboots() {
        let ok = validate("extends = \"rails\"\n[commands]\ntest = \"bin/rails test\"\n").unwrap();
        assert_eq!(ok.commands["test"], "bin/rails test");
        let err =
            validate("extends = \"rails\"\n[commands]\nup = \"x\"\nTest = \"x\"\nlint = \" \"\n")
                .unwrap_err();
        assert!(
            err.contains("shortcut `up` would hide devboot's own `devboot up`"),
            "{err}"
        );
        assert!(
            err.contains("shortcut name `Test` must be lowercase"),
            "{err}"
        );
        assert!(err.contains("shortcut `lint` runs nothing"), "{err}");
        let no_app = validate("[services.db]\nimage = \"postgres:16\"\n[commands]\nx = \"y\"\n")
            .unwrap_err();
        assert!(no_app.contains("`[app] service` is not set"), "{no_app}");
    }

    #[test]
    fn a_second_checkout_has_its_own_name_images_and_auto_ports() {
        let layer = Layer {
            display: "devboot.toml".into(),
            path: None,
            kind: LayerKind::Project,
            text: "extends = \"rails\"\n[project]\nname = \"shop\"\n".into(),
        };
        let loaded = load_standalone(layer).unwrap();
        let root = Path::new("/src/shop-2");
        let first = stack(&loaded, root).unwrap();
        assert_eq!(first.project, "shop");
        assert!(
            first
                .services
                .values()
                .flat_map(|s| &s.ports)
                .all(|p| p.policy == PortPolicy::Fixed)
        );
        let second = stack_as(&loaded, root, Some("shop-1f3a9c")).unwrap();
        assert_eq!(second.project, "shop-1f3a9c");
        assert_eq!(second.services["web"].image.to_string(), "shop-1f3a9c-web");
        let ports: Vec<_> = second.services.values().flat_map(|s| &s.ports).collect();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|p| p.policy == PortPolicy::Auto));
        // The declared port stays the preferred one.
        assert_eq!(second.services["web"].ports[0].host, 3000);
    }

    #[test]
    fn the_rails_profile_validates_into_three_services() {
        let stack = validate("extends = \"rails\"\n").unwrap();
        assert_eq!(stack.project, "my-app");
        assert_eq!(
            stack.services.keys().collect::<Vec<_>>(),
            ["db", "redis", "web"]
        );
        assert_eq!(stack.services["web"].image.to_string(), "my-app-web");
        let order: Vec<_> = stack
            .start_order()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(order, ["db", "redis", "web"]);
        assert_eq!(
            stack.volumes.iter().collect::<Vec<_>>(),
            ["bundle", "db-data", "redis-data"]
        );
        let app = stack.app.as_ref().unwrap();
        assert_eq!(
            app.setup[0],
            "bundle check || bundle install --local || bundle install"
        );
        assert_eq!(app.setup_inputs, ["Gemfile", "Gemfile.lock"]);
    }

    #[test]
    fn setup_inputs_are_files_inside_the_project() {
        let stack = crate::model::test_stack(
            "extends = \"rails\"\n[app]\nsetup_inputs = [\"./Gemfile\", \"front/../package.json\"]\n",
        );
        assert_eq!(stack.app.unwrap().setup_inputs, ["Gemfile", "package.json"]);
        let err = validate("extends = \"rails\"\n[app]\nsetup_inputs = [\"../Gemfile\", \".\"]\n")
            .unwrap_err();
        assert!(
            err.contains("`../Gemfile` points outside the project"),
            "{err}"
        );
        assert!(err.contains("`.` is the project itself"), "{err}");
    }

    #[test]
    fn reports_every_problem_with_its_location() {
        let err = validate(
            "[services.web]\nimage = \"Bad:tag\"\nports = [\"3000:3000\"]\ndepends_on = [\"dbb\"]\n\
             [services.web.environment]\n\"1BAD\" = \"x\"\n\
             [services.db]\nimage = \"postgres:16\"\nports = [\"3000:5432\"]\nvolumes = [\"../outside:/data\"]\n",
        )
        .unwrap_err();
        for expected in [
            "devboot.toml:2:9",
            "`Bad` is not a valid image name part",
            "devboot.toml:4:15",
            "`depends_on` names unknown service `dbb`",
            "did you mean `db`?",
            "`1BAD` is not a valid environment variable name",
            "host port 3000 is already published by service `db`",
            "`../outside` points outside the project",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
        }
    }

    #[test]
    fn build_tables_are_checked_at_the_build() {
        let stack = validate(
            "extends = \"rails\"\n[services.web.build]\ntarget = \"dev\"\nrebuild_on = [\"Gemfile.lock\", \"vendor/**\"]\n",
        )
        .unwrap();
        let build = stack.services["web"].build.as_ref().unwrap();
        assert_eq!(
            (build.context.as_str(), build.dockerfile.as_str()),
            (".", "Dockerfile"),
            "the table's context defaults to the project root"
        );
        assert_eq!(build.target.as_deref(), Some("dev"));
        assert!(build.named);
        assert_eq!(build.source, BuildSource::Auto);
        assert_eq!(build.rebuild_on, ["Gemfile.lock", "vendor/**"]);
        assert!(
            !validate("extends = \"rails\"\n").unwrap().services["web"]
                .build
                .as_ref()
                .unwrap()
                .named
        );

        for (table, expected) in [
            (
                "source = \"devboot\"\ntarget = \"dev\"",
                "`target` means nothing with `source = \"devboot\"`",
            ),
            (
                "source = \"devcontainer\"\ndockerfile = \"D\"",
                "`dockerfile` means nothing with `source = \"devcontainer\"`",
            ),
            (
                "rebuild_on = [\"../Gemfile.lock\"]",
                "`rebuild_on` entry `../Gemfile.lock` must be a path inside the build context",
            ),
            (
                "rebuild_on = [\"[oops\"]",
                "`rebuild_on` entry `[oops` has a `[` without its `]`",
            ),
            ("target = \"\"", "`target` must name a stage"),
        ] {
            let err = validate(&format!(
                "extends = \"rails\"\n[services.web.build]\n{table}\n"
            ))
            .unwrap_err();
            assert!(err.contains(expected), "{table}: {err}");
            assert!(
                err.contains("devboot.toml:2:1"),
                "located at the build table: {err}"
            );
        }
        let err = validate("extends = \"rails\"\n[services.web.build]\nsource = \"devbot\"\n")
            .unwrap_err();
        assert!(
            err.contains("unknown variant `devbot`, expected one of `auto`, `dockerfile`"),
            "{err}"
        );
        assert!(err.contains("devboot.toml:3:10"), "at the value: {err}");
    }

    #[test]
    fn names_that_cannot_name_a_built_image_are_reported_not_panicked_on() {
        let err = validate("extends = \"rails\"\n[project]\nname = \"../../etc\"\n").unwrap_err();
        assert!(err.contains("project name `../../etc` must be"), "{err}");
        assert!(err.contains("devboot.toml:3:8"), "{err}");
        let err = validate("[services.Web]\nbuild = \".\"\n").unwrap_err();
        assert!(err.contains("service name `Web` must be"), "{err}");
        assert!(
            !err.contains("not a valid image name"),
            "reported once: {err}"
        );
        let err = validate("[services.web_]\nbuild = \".\"\n").unwrap_err();
        assert!(
            err.contains("the image built for service `web_` would be named `my-app-web_`"),
            "{err}"
        );
        assert!(err.contains("devboot.toml:1:11"), "{err}");
    }

    #[test]
    fn a_problem_with_the_whole_profile_names_its_file() {
        let err = validate("schema = 1\n").unwrap_err();
        assert!(
            err.starts_with("the profile declares no services\n --> devboot.toml\n"),
            "{err}"
        );
    }

    #[test]
    fn dependency_cycles_are_named() {
        let err = validate(
            "[services.a]\nimage = \"x\"\ndepends_on = [\"b\"]\n[services.b]\nimage = \"y\"\ndepends_on = [\"a\"]\n",
        )
        .unwrap_err();
        assert!(
            err.contains("`depends_on` forms a cycle: a → b → a"),
            "{err}"
        );
    }

    #[test]
    fn app_service_must_exist() {
        let err = validate("extends = \"rails\"\n[app]\nservice = \"wbe\"\n").unwrap_err();
        assert!(
            err.contains("the app service `wbe` is not declared"),
            "{err}"
        );
        assert!(err.contains("did you mean `web`?"), "{err}");
    }

    #[test]
    fn requirements_parse() {
        let stack = validate(
            "extends = \"rails\"\n[requires]\nmemory = \"2GiB\"\n[requires.tools]\ngit = \">=2.30\"\n",
        )
        .unwrap();
        assert_eq!(stack.requirements.docker_api, Some((1, 41)));
        assert_eq!(stack.requirements.memory_bytes, Some(2 << 30));
        assert!(stack.requirements.tools["git"].matches(&semver::Version::new(2, 40, 0)));
        let err = validate("extends = \"rails\"\n[requires.tools]\ngit = \"two\"\n").unwrap_err();
        assert!(err.contains("`two` is not a version constraint"), "{err}");
    }

    #[test]
    fn a_required_tool_is_a_program_name_never_a_path_into_the_repo() {
        for tool in ["bin/x", "./x", "/tmp/x", ".."] {
            let err = validate(&format!(
                "extends = \"rails\"\n[requires.tools]\n\"{tool}\" = \"*\"\n"
            ))
            .unwrap_err();
            assert!(
                err.contains(&format!("`{tool}` is not a tool name")),
                "{err}"
            );
            assert!(err.contains("devboot.toml:3:1"), "located: {err}");
        }
    }

    #[test]
    fn aws_settings_are_checked() {
        let stack = validate("extends = \"rails\"\n[aws]\nprofile = \"dev\"\nregion = \"eu-west-1\"\naccount = \"123456789012\"\n").unwrap();
        let aws = stack.aws.unwrap();
        assert_eq!(
            (aws.mode, aws.profile.as_deref()),
            (AwsMode::Server, Some("dev"))
        );
        let err = validate("extends = \"rails\"\n[aws]\naccount = \"1234\"\nmode = \"emulator\"\n")
            .unwrap_err();
        assert!(
            err.contains("`1234` is not a 12-digit AWS account id"),
            "{err}"
        );
        assert!(err.contains("needs `emulator_endpoint`"), "{err}");
        assert!(validate("extends = \"rails\"\n").unwrap().aws.is_none());
    }

    #[test]
    fn the_builtin_postgres_volume_follows_the_images_major() {
        let db_target = |local: &str| {
            let stack =
                validate(&format!("extends = \"rails\"\n[services.db]\n{local}\n")).unwrap();
            let db = &stack.services["db"];
            assert_eq!(db.mounts.len(), 1, "{:?}", db.mounts);
            db.mounts[0].target().to_owned()
        };
        assert_eq!(db_target(""), "/var/lib/postgresql/data", "postgres:16");
        assert_eq!(
            db_target("image = \"postgres:17.6\""),
            "/var/lib/postgresql/data"
        );
        assert_eq!(db_target("image = \"postgres:18\""), "/var/lib/postgresql");
        assert_eq!(
            db_target("image = \"postgres:latest\""),
            "/var/lib/postgresql"
        );
        // A mount the project writes itself is kept as written.
        assert_eq!(
            db_target("image = \"postgres:18\"\nvolumes = [\"db-data:/var/lib/postgresql/data\"]"),
            "/var/lib/postgresql/data"
        );
    }

    #[test]
    fn paths_stay_inside_the_project() {
        assert_eq!(relative_in_project("./a/../b/./c").as_deref(), Ok("b/c"));
        assert_eq!(relative_in_project(".").as_deref(), Ok("."));
        assert!(relative_in_project("../x").is_err());
        assert!(relative_in_project("/etc").is_err());
        assert!(relative_in_project("~/x").is_err());
    }

    #[test]
    fn project_names_from_directories() {
        assert_eq!(
            project_name_from_dir(Path::new("/x/My Rails.App")),
            "my-rails-app"
        );
        assert_eq!(project_name_from_dir(Path::new("/")), "devboot");
    }
}
