//! `docker.proxy`: the engine's own proxy settings (`/info` `HttpProxy`, `HttpsProxy`,
//! `NoProxy`) against the host's `HTTP(S)_PROXY` / `NO_PROXY`. The engine is a service with an
//! environment of its own: behind a proxy, the variables in the developer's shell do not reach
//! it, and pulls go direct and time out. And an engine with a proxy sends pulls from an
//! internal registry to that proxy unless its `NoProxy` names the registry. Matching follows
//! Go's `net/http` (`golang.org/x/net/http/httpproxy`), which the engine uses: `localhost` and
//! loopback addresses never go through a proxy. Proxy URLs are shown with their password
//! replaced ([`shown`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::platform::engine_info;
use crate::doctor::facts::proxy::{ProxySettings, shown};

pub(super) const PROXY: Check = Check {
    id: "docker.proxy",
    title: "The engine's proxy settings match the host's",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(docker_proxy(facts))),
    safe_fix: None,
};

/// The host a proxy URL points at, lower case, without scheme, credentials, port or path.
fn proxy_host(url: &str) -> String {
    let url = url.trim();
    let url = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    crate::urls::read(&url).map_or_else(String::new, |written| {
        split_host_port(&url[written.host_port]).0
    })
}

/// `host:port`, `[v6]:port`, `host`, or a bare IPv6 address → the host (lower case, without
/// brackets) and the port, when one is given.
fn split_host_port(text: &str) -> (String, Option<u16>) {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host.to_ascii_lowercase(), port);
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host.to_ascii_lowercase(), port.parse().ok()),
        _ => (text.to_ascii_lowercase(), None),
    }
}

/// One entry of a `NO_PROXY` list, as Go parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `*`: nothing goes through the proxy.
    All,
    /// `10.0.0.0/8`, `fd00::/8`.
    Cidr { network: IpAddr, prefix: u8 },
    /// `10.1.2.3`, `10.1.2.3:5000`.
    Ip { ip: IpAddr, port: Option<u16> },
    /// `corp.example` (matches it and its subdomains: `apex`), `.corp.example` or
    /// `*.corp.example` (subdomains only); `suffix` is kept with its leading dot.
    Domain {
        suffix: String,
        port: Option<u16>,
        apex: bool,
    },
}

/// Whether `ip` is in `network/prefix`.
fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

impl Rule {
    /// Whether the rule exempts `host` (`ip` when it is an address) on `port`. `lenient` reads
    /// it as curl and most of the host's tools do: a leading dot also matches the domain
    /// itself, and ports are not compared.
    fn matches(&self, host: &str, port: u16, ip: Option<IpAddr>, lenient: bool) -> bool {
        let port_ok = |rule: Option<u16>| lenient || rule.is_none_or(|p| p == port);
        match self {
            Self::All => true,
            Self::Cidr { network, prefix } => {
                ip.is_some_and(|ip| in_network(ip, *network, *prefix))
            }
            Self::Ip { ip: rule, port: p } => ip == Some(*rule) && port_ok(*p),
            Self::Domain {
                suffix,
                port: p,
                apex,
            } => {
                (host.ends_with(suffix.as_str()) || ((*apex || lenient) && host == &suffix[1..]))
                    && port_ok(*p)
            }
        }
    }
}

/// A `NO_PROXY` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct NoProxy(Vec<Rule>);

impl NoProxy {
    /// Parses a comma-separated list as Go does; entries it cannot read are left out.
    fn parse(text: &str) -> Self {
        let mut rules = Vec::new();
        for entry in text.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return Self(vec![Rule::All]);
            }
            if let Some((address, prefix)) = entry.split_once('/') {
                if let (Ok(network), Ok(prefix)) = (address.parse(), prefix.parse()) {
                    rules.push(Rule::Cidr { network, prefix });
                }
                continue;
            }
            let (host, port) = split_host_port(&entry);
            if host.is_empty() {
                continue;
            }
            if let Ok(ip) = host.parse() {
                rules.push(Rule::Ip { ip, port });
                continue;
            }
            let host = host.strip_prefix('*').unwrap_or(&host);
            let apex = !host.starts_with('.');
            rules.push(Rule::Domain {
                suffix: if apex {
                    format!(".{host}")
                } else {
                    host.to_owned()
                },
                port,
                apex,
            });
        }
        Self(rules)
    }

    /// `*`: nothing goes through the proxy.
    fn exempts_all(&self) -> bool {
        self.0.contains(&Rule::All)
    }

    /// Whether the engine (Go's `net/http`) connects to `host:port` directly: `localhost` and
    /// loopback addresses always, else when a rule matches.
    fn engine_bypasses(&self, host: &str, port: u16) -> bool {
        let ip = host.parse::<IpAddr>().ok();
        host == "localhost"
            || ip.is_some_and(|ip| ip.is_loopback())
            || self
                .0
                .iter()
                .any(|rule| rule.matches(host, port, ip, false))
    }

    /// Whether the list names `host`, read leniently (see [`Rule::matches`]).
    fn names(&self, host: &str) -> bool {
        let ip = host.parse::<IpAddr>().ok();
        self.0.iter().any(|rule| rule.matches(host, 0, ip, true))
    }
}

/// Whether a registry host is one a proxy most likely cannot reach: a private, link-local or
/// unique-local address, a name without a dot, or a special-use local domain.
fn internal(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_private() || ip.is_link_local(),
        Ok(IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
        Err(_) => {
            !host.contains('.')
                || [".local", ".internal", ".lan", ".home.arpa", ".localhost"]
                    .iter()
                    .any(|suffix| host.ends_with(suffix))
        }
    }
}

/// Docker Desktop's own proxy inside its VM (`http.docker.internal:3128`; older releases
/// `gateway.docker.internal`), which forwards as Settings → Resources → Proxies says.
fn is_desktop_proxy(url: &str) -> bool {
    matches!(
        proxy_host(url).as_str(),
        "http.docker.internal" | "gateway.docker.internal"
    )
}

/// `list` with `add` appended, each entry once.
fn extended(list: &str, add: &[String]) -> String {
    let mut entries: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    for entry in add {
        if !entries.iter().any(|e| e.eq_ignore_ascii_case(entry)) {
            entries.push(entry.clone());
        }
    }
    entries.join(",")
}

fn password_note(shown: &str) -> &'static str {
    if shown.contains("***") {
        " (write the proxy password where `***` stands)"
    } else {
        ""
    }
}

async fn docker_proxy(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let sample = engine_info(&facts)
        .await
        .map_err(|outcome| outcome.fix_with("see what the engine says", "docker info"))?;
    let info = &sample.info;
    let engine = ProxySettings::of_engine(
        info.http_proxy.as_deref(),
        info.https_proxy.as_deref(),
        info.no_proxy.as_deref(),
    );
    let desktop = info
        .operating_system
        .as_deref()
        .is_some_and(|os| os.contains("Docker Desktop"));
    // Registries of the images `devboot up` pulls (built services' images are local);
    // Docker Hub needs no exemption.
    let mut registries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(stack) = facts.stack() {
        for service in stack.services.values().filter(|s| s.build.is_none()) {
            if let Some(registry) = &service.image.registry {
                registries
                    .entry(registry.clone())
                    .or_default()
                    .push(service.name.clone());
            }
        }
    }
    Ok(proxy_outcome(
        &ProxySettings::of_host(&facts),
        &engine,
        desktop,
        &registries,
    ))
}

/// Judges the engine's proxy settings against the host's, for the registries the stack pulls
/// from (registry host as written → the services pulling from it). `desktop`: the engine is
/// Docker Desktop's, whose fix comes first.
fn proxy_outcome(
    host: &ProxySettings,
    engine: &ProxySettings,
    desktop: bool,
    registries: &BTreeMap<String, Vec<String>>,
) -> Outcome {
    let host_no_proxy = NoProxy::parse(host.no_proxy_value());
    let engine_no_proxy = NoProxy::parse(engine.no_proxy_value());
    let engine_https = engine
        .https
        .as_ref()
        .filter(|_| !engine_no_proxy.exempts_all());
    let seen_host = format!("this machine: {}", host.describe("no HTTP(S)_PROXY"));
    let seen_engine = format!(
        "the engine (`docker info`): {}",
        engine.describe("no proxy")
    );

    // Behind a proxy, with an engine that goes direct.
    if let (Some(proxy), None) = (host.any_proxy(), engine_https) {
        let reason = if engine_no_proxy.exempts_all() {
            "the engine's NoProxy is `*`"
        } else if engine.http.is_some() {
            "the engine has an HttpProxy but no HttpsProxy (registries are HTTPS)"
        } else {
            "the engine has no proxy"
        };
        let https = shown(&proxy.value);
        let http = host
            .http
            .as_ref()
            .map_or(https.clone(), |s| shown(&s.value));
        // The stack's internal registries stay direct.
        let base = match host.no_proxy.as_ref() {
            Some(setting) => setting.value.clone(),
            None => "localhost,127.0.0.1".to_owned(),
        };
        let base_rules = NoProxy::parse(&base);
        let internal_registries: Vec<String> = registries
            .keys()
            .map(|registry| split_host_port(registry))
            .filter(|(h, port)| {
                (host_no_proxy.names(h) || internal(h))
                    && !base_rules.engine_bypasses(h, port.unwrap_or(443))
            })
            .map(|(h, _)| h)
            .collect();
        let no_proxy = extended(&base, &internal_registries);
        let note = password_note(&https);
        let outcome = Outcome::warn(format!(
            "{} is set on this machine but {reason}: pulls go direct and fail behind the proxy",
            proxy.name
        ))
        .detail(seen_host)
        .detail(seen_engine)
        .detail("the engine is a service with its own environment: it does not read your shell's variables, and `devboot up`, `docker pull` and image builds pull through it");
        let desktop_fix = |o: Outcome| {
            o.fix(format!(
                "Docker Desktop: Settings → Resources → Proxies → Manual proxy configuration: `{https}` for HTTP and HTTPS, bypass `{no_proxy}`; Apply & restart{note}"
            ))
        };
        let linux_fix = |o: Outcome| {
            o.fix_with(
                format!(
                    "Linux: give the engine the proxy; in the editor this opens, add `[Service]` and below it `Environment=\"HTTP_PROXY={http}\" \"HTTPS_PROXY={https}\" \"NO_PROXY={no_proxy}\"`{note}"
                ),
                "sudo systemctl edit docker",
            )
            .fix_with(
                "then restart the engine so it reads them",
                "sudo systemctl restart docker",
            )
        };
        return if desktop {
            linux_fix(desktop_fix(outcome))
        } else {
            desktop_fix(linux_fix(outcome))
        };
    }

    let Some(proxy) = engine_https else {
        return Outcome::ok("no proxy on this machine or in the engine")
            .detail(seen_host)
            .detail(seen_engine);
    };
    let engine_proxy = shown(&proxy.value);

    if is_desktop_proxy(&proxy.value) {
        let outcome = Outcome::ok(format!(
            "Docker Desktop sends the engine's traffic through its own proxy ({engine_proxy})"
        ))
        .detail("it forwards as Settings → Resources → Proxies says (the system proxy unless set by hand), bypass list included; doctor cannot read those settings")
        .detail(seen_host)
        .detail(seen_engine);
        return match host.any_proxy() {
            Some(setting) => outcome.detail(format!(
                "if pulls fail, set {} under Settings → Resources → Proxies",
                shown(&setting.value)
            )),
            None => outcome,
        };
    }

    // Registries the engine would send to its proxy although this machine reaches them
    // directly or they are internal.
    let mut problems: Vec<String> = Vec::new();
    let mut direct: Vec<String> = Vec::new();
    let mut exempt: Vec<String> = Vec::new();
    for (registry, services) in registries {
        let (name, port) = split_host_port(registry);
        let users = format!("`{}`", services.join("`, `"));
        if engine_no_proxy.engine_bypasses(&name, port.unwrap_or(443)) {
            let why =
                if name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
                    "loopback, never proxied"
                } else {
                    "in the engine's NoProxy"
                };
            direct.push(format!("{registry} ({why})"));
        } else if host_no_proxy.names(&name) {
            problems.push(format!(
                "`{registry}` ({users}): this machine's {} exempts it, the engine's NoProxy does not",
                host.no_proxy.as_ref().map_or("NO_PROXY", |s| s.name)
            ));
            if !exempt.contains(&name) {
                exempt.push(name);
            }
        } else if internal(&name) {
            problems.push(format!(
                "`{registry}` ({users}): an internal address, not in the engine's NoProxy"
            ));
            if !exempt.contains(&name) {
                exempt.push(name);
            }
        }
    }
    if !problems.is_empty() {
        let named: Vec<String> = registries
            .keys()
            .filter(|r| exempt.contains(&split_host_port(r).0))
            .map(|r| format!("`{r}`"))
            .collect();
        let wanted = extended(engine.no_proxy_value(), &exempt);
        let hosts = exempt.join(",");
        let outcome = Outcome::warn(format!(
            "{} not in the engine's NoProxy: pulls go to its proxy {engine_proxy}, which usually cannot reach internal registries",
            named.join(", ")
        ))
        .details(problems)
        .detail(seen_host)
        .detail(seen_engine);
        let desktop_fix = |o: Outcome| {
            o.fix(format!(
                "Docker Desktop: Settings → Resources → Proxies → bypass proxy settings for these hosts: add `{hosts}`; Apply & restart"
            ))
        };
        let linux_fix = |o: Outcome| {
            o.fix_with(
                format!(
                    "Linux: in the editor this opens, set `Environment=\"NO_PROXY={wanted}\"` under `[Service]` (if /etc/docker/daemon.json has a `proxies` section, it wins: set `no-proxy` there instead)"
                ),
                "sudo systemctl edit docker",
            )
            .fix_with(
                "then restart the engine so it reads it",
                "sudo systemctl restart docker",
            )
        };
        return if desktop {
            linux_fix(desktop_fix(outcome))
        } else {
            desktop_fix(linux_fix(outcome))
        };
    }

    let mut outcome = Outcome::ok(format!("the engine pulls through the proxy {engine_proxy}"))
        .detail(seen_host)
        .detail(seen_engine);
    if !direct.is_empty() {
        outcome = outcome.detail(format!("reached directly: {}", direct.join(", ")));
    }
    match host.any_proxy() {
        None => outcome.detail("this machine sets no HTTP(S)_PROXY: if pulls fail with `proxyconnect`, the engine's proxy may be one you no longer use"),
        Some(setting) if proxy_host(&setting.value) != proxy_host(&proxy.value) => outcome.detail(format!(
            "this machine uses another proxy ({}) than the engine ({engine_proxy})",
            shown(&setting.value)
        )),
        Some(_) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;
    use crate::doctor::facts::proxy::Setting;

    fn setting(name: &'static str, value: &str) -> Setting {
        Setting {
            name,
            value: value.to_owned(),
        }
    }

    fn host(https: Option<&str>, no_proxy: Option<&str>) -> ProxySettings {
        ProxySettings {
            http: None,
            https: https.map(|v| setting("HTTPS_PROXY", v)),
            no_proxy: no_proxy.map(|v| setting("NO_PROXY", v)),
        }
    }

    fn engine(https: Option<&str>, no_proxy: Option<&str>) -> ProxySettings {
        ProxySettings::of_engine(https, https, no_proxy)
    }

    fn registries(list: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (registry, service) in list {
            map.entry((*registry).to_owned())
                .or_default()
                .push((*service).to_owned());
        }
        map
    }

    /// Every string of an outcome.
    fn text(outcome: &Outcome) -> String {
        format!("{outcome:?}")
    }

    #[test]
    fn proxy_passwords_are_replaced_with_or_without_a_scheme() {
        assert_eq!(
            shown("http://bob:hunter2@proxy.corp:3128"),
            "http://bob:***@proxy.corp:3128"
        );
        assert_eq!(
            shown("bob:hunter2@proxy.corp:3128"),
            "bob:***@proxy.corp:3128"
        );
        assert_eq!(shown("proxy.corp:3128"), "proxy.corp:3128");
        assert_eq!(shown("http://proxy.corp:3128/"), "http://proxy.corp:3128/");
        assert_eq!(proxy_host("http://bob:pw@Proxy.Corp:3128/"), "proxy.corp");
        assert_eq!(proxy_host("bob:p/w#1@proxy.corp:3128"), "proxy.corp");
        assert_eq!(
            proxy_host("http.docker.internal:3128"),
            "http.docker.internal"
        );
    }

    #[test]
    fn no_proxy_lists_match_as_go_matches_them() {
        let list = NoProxy::parse(
            "corp.example, .svc.example, *.dev.example, 10.0.0.0/8, 192.168.1.5:5000, [fd00::1]:443, bad/x",
        );
        let go = |host: &str, port: u16| list.engine_bypasses(host, port);
        // A domain matches itself and its subdomains; a leading dot or `*.` only subdomains.
        assert!(go("corp.example", 443));
        assert!(go("registry.corp.example", 5000));
        assert!(!go("notcorp.example", 443));
        assert!(go("a.svc.example", 443));
        assert!(!go("svc.example", 443));
        assert!(go("a.dev.example", 443));
        assert!(!go("dev.example", 443));
        // Addresses: CIDR, and an address with a port matches that port only.
        assert!(go("10.20.30.40", 5000));
        assert!(go("192.168.1.5", 5000));
        assert!(!go("192.168.1.5", 443));
        assert!(go("fd00::1", 443));
        // Loopback never goes through a proxy, whatever the list says.
        let empty = NoProxy::parse("");
        assert!(empty.engine_bypasses("localhost", 5000));
        assert!(empty.engine_bypasses("127.0.0.1", 5000));
        assert!(empty.engine_bypasses("::1", 5000));
        assert!(!empty.engine_bypasses("registry.localhost", 5000));
        assert!(NoProxy::parse("x, *").exempts_all());
        // Read leniently (the host's tools): a leading dot names the domain itself too.
        assert!(list.names("svc.example"));
        assert!(list.names("192.168.1.5"));
        assert!(!list.names("example"));
    }

    #[test]
    fn registry_hosts_split_like_image_references_write_them() {
        assert_eq!(
            split_host_port("127.0.0.1:5000"),
            ("127.0.0.1".into(), Some(5000))
        );
        assert_eq!(
            split_host_port("Registry.Corp"),
            ("registry.corp".into(), None)
        );
        assert_eq!(split_host_port("[::1]:5000"), ("::1".into(), Some(5000)));
        assert_eq!(split_host_port("fd00::1"), ("fd00::1".into(), None));
        assert!(internal("10.1.2.3"));
        assert!(internal("registry"));
        assert!(internal("nexus.internal"));
        assert!(!internal("ghcr.io"));
        assert!(!internal("8.8.8.8"));
    }

    #[test]
    fn a_host_behind_a_proxy_with_a_direct_engine_warns_with_both_fixes() {
        let host = host(
            Some("http://bob:hunter2@proxy.corp:3128"),
            Some("localhost,127.0.0.1,.corp"),
        );
        let outcome = proxy_outcome(
            &host,
            &ProxySettings::default(),
            false,
            &registries(&[("registry.corp:5000", "db"), ("ghcr.io", "redis")]),
        );
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "HTTPS_PROXY is set on this machine but the engine has no proxy: pulls go direct and fail behind the proxy"
        );
        assert!(!text(&outcome).contains("hunter2"), "{outcome:?}");
        assert_eq!(
            outcome.fixes[0].description,
            "Linux: give the engine the proxy; in the editor this opens, add `[Service]` and below it `Environment=\"HTTP_PROXY=http://bob:***@proxy.corp:3128\" \"HTTPS_PROXY=http://bob:***@proxy.corp:3128\" \"NO_PROXY=localhost,127.0.0.1,.corp\"` (write the proxy password where `***` stands)"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("sudo systemctl edit docker")
        );
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("sudo systemctl restart docker")
        );
        assert!(
            outcome.fixes[2]
                .description
                .starts_with("Docker Desktop: Settings → Resources → Proxies"),
            "{:?}",
            outcome.fixes
        );
        assert!(
            outcome.details[0]
                == "this machine: HTTPS_PROXY=http://bob:***@proxy.corp:3128, NO_PROXY=localhost,127.0.0.1,.corp",
            "{:?}",
            outcome.details
        );

        // On Docker Desktop its fix comes first; an internal registry joins NO_PROXY.
        let outcome = proxy_outcome(
            &ProxySettings {
                http: Some(setting("http_proxy", "proxy.corp:3128")),
                ..ProxySettings::default()
            },
            &engine(None, None),
            true,
            &registries(&[("10.0.0.5:5000", "db")]),
        );
        assert_eq!(
            outcome.summary,
            "http_proxy is set on this machine but the engine has no proxy: pulls go direct and fail behind the proxy"
        );
        assert_eq!(
            outcome.fixes[0].description,
            "Docker Desktop: Settings → Resources → Proxies → Manual proxy configuration: `proxy.corp:3128` for HTTP and HTTPS, bypass `localhost,127.0.0.1,10.0.0.5`; Apply & restart"
        );

        // An engine with only an HTTP proxy, or `NoProxy=*`, goes direct to registries too.
        let only_http = ProxySettings::of_engine(Some("http://proxy.corp:3128"), None, None);
        let outcome = proxy_outcome(&host, &only_http, false, &BTreeMap::new());
        assert_eq!(outcome.status, Status::Warn);
        assert!(
            outcome.summary.contains("no HttpsProxy"),
            "{}",
            outcome.summary
        );
        let all_direct = engine(Some("http://proxy.corp:3128"), Some("*"));
        let outcome = proxy_outcome(&host, &all_direct, false, &BTreeMap::new());
        assert!(
            outcome.summary.contains("NoProxy is `*`"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn matching_settings_and_no_proxy_anywhere_are_fine() {
        let none = proxy_outcome(
            &ProxySettings::default(),
            &ProxySettings::default(),
            false,
            &registries(&[("127.0.0.1:5000", "db")]),
        );
        assert_eq!(none.status, Status::Ok);
        assert_eq!(none.summary, "no proxy on this machine or in the engine");

        // The engine reports credentials masked; they are redacted all the same.
        let both = proxy_outcome(
            &host(
                Some("http://bob:hunter2@proxy.corp:3128"),
                Some("localhost"),
            ),
            &engine(
                Some("http://xxxxx:xxxxx@proxy.corp:3128"),
                Some("localhost,registry.corp"),
            ),
            false,
            &registries(&[
                ("127.0.0.1:5000", "db"),
                ("registry.corp", "redis"),
                ("ghcr.io", "web"),
            ]),
        );
        assert_eq!(both.status, Status::Ok, "{both:?}");
        assert_eq!(
            both.summary,
            "the engine pulls through the proxy http://xxxxx:***@proxy.corp:3128"
        );
        assert!(
            both.details.contains(
                &"reached directly: 127.0.0.1:5000 (loopback, never proxied), registry.corp (in the engine's NoProxy)"
                    .to_owned()
            ),
            "{:?}",
            both.details
        );
        assert!(!text(&both).contains("hunter2"));

        // An engine proxy the host does not use is fine, with a hint.
        let stale = proxy_outcome(
            &ProxySettings::default(),
            &engine(Some("http://old-proxy:3128"), None),
            false,
            &BTreeMap::new(),
        );
        assert_eq!(stale.status, Status::Ok);
        assert!(text(&stale).contains("`proxyconnect`"), "{stale:?}");
    }

    #[test]
    fn registries_the_engine_would_send_to_its_proxy_are_named() {
        let outcome = proxy_outcome(
            &host(
                Some("http://proxy.corp:3128"),
                Some("localhost,127.0.0.1,.corp"),
            ),
            &engine(Some("http://proxy.corp:3128"), Some("localhost")),
            false,
            &registries(&[
                ("registry.corp:5000", "db"),
                ("registry.corp:5000", "redis"),
                ("192.168.10.4:5000", "worker"),
                ("registry.corp:5001", "jobs"),
                ("localhost:5000", "web"),
                ("ghcr.io", "mail"),
            ]),
        );
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "`192.168.10.4:5000`, `registry.corp:5000`, `registry.corp:5001` not in the engine's NoProxy: pulls go to its proxy http://proxy.corp:3128, which usually cannot reach internal registries"
        );
        assert_eq!(
            outcome.details[..2],
            [
                "`192.168.10.4:5000` (`worker`): an internal address, not in the engine's NoProxy",
                "`registry.corp:5000` (`db`, `redis`): this machine's NO_PROXY exempts it, the engine's NoProxy does not",
            ]
        );
        assert_eq!(
            outcome.fixes[0].description,
            "Linux: in the editor this opens, set `Environment=\"NO_PROXY=localhost,192.168.10.4,registry.corp\"` under `[Service]` (if /etc/docker/daemon.json has a `proxies` section, it wins: set `no-proxy` there instead)"
        );
        assert_eq!(
            outcome.fixes[1].command.as_deref(),
            Some("sudo systemctl restart docker")
        );
        assert!(
            outcome.fixes[2]
                .description
                .contains("add `192.168.10.4,registry.corp`")
        );
    }

    #[test]
    fn docker_desktops_own_proxy_is_not_second_guessed() {
        let outcome = proxy_outcome(
            &host(Some("http://bob:pw@proxy.corp:3128"), Some(".corp")),
            &engine(
                Some("http.docker.internal:3128"),
                Some("hubproxy.docker.internal"),
            ),
            true,
            &registries(&[("registry.corp:5000", "db")]),
        );
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "Docker Desktop sends the engine's traffic through its own proxy (http.docker.internal:3128)"
        );
        assert!(!text(&outcome).contains(":pw@"), "{outcome:?}");
    }
}
