//! The checks that look at the running app container: `aws.container_endpoint` (the
//! environment it was created with points its SDK at the wiring the project's `[aws] mode`
//! asks for, and nothing overrides it) and `aws.container_credentials` (from inside the
//! container, devboot's credential endpoint at `169.254.170.2` answers with credentials).
//!
//! Server mode's contract (`devboot up`): the app container gets
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`, and a relay
//! container answers at `169.254.170.2:80` on the network `<project>_awscreds`, forwarding to
//! the host's endpoint. Only variable *names* are reported: the relative URI and the token are
//! secrets, and the probe in the container reads them from its own environment, never from a
//! command line.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::SystemTime;

use bollard::models::ContainerInspectResponse;

use crate::aws::container_env::SECRET_VARS;
use crate::aws::endpoint_process::EndpointFiles;
use crate::aws::{mask_key_id, parse_rfc3339, rfc3339};
use crate::doctor::check::{Check, Fix, Outcome, Run, SLOW, Status};
use crate::doctor::engine::{ProjectState, exec};
use crate::doctor::facts::Facts;
use crate::doctor::facts::aws::span;
use crate::doctor::facts::project::project_state;
use crate::engine::credential_relay;
use crate::model::AwsMode;
use crate::shell::home_path_word;

pub(super) const CONTAINER_ENDPOINT: Check = Check {
    id: "aws.container_endpoint",
    title: "The app container is wired to devboot's credential endpoint",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(container_endpoint(facts))),
    safe_fix: None,
};

pub(super) const CONTAINER_CREDENTIALS: Check = Check {
    id: "aws.container_credentials",
    title: "The app container gets credentials from the endpoint",
    depends_on: &["aws.container_endpoint"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(container_credentials(facts))),
    safe_fix: None,
};

/// Where the relay answers, as the app container sees it.
const RELAY: &str = "169.254.170.2:80";

/// Variables that, set in the app container, win over the container endpoint in the SDKs'
/// default chains (Ruby: environment keys, then profiles and the shared files, then ECS).
const OVERRIDING: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// Hosts every SDK accepts in a plain-http `AWS_CONTAINER_CREDENTIALS_FULL_URI`: loopback and
/// the ECS and EKS link-local addresses.
const ALLOWED_HTTP_HOSTS: &[&str] = &[
    "localhost",
    "169.254.170.2",
    "169.254.170.23",
    "fd00:ec2::23",
    "::1",
];

/// The running app container, as doctor found it.
struct AppContainer<'s> {
    service: &'s str,
    id: &'s str,
    inspected: &'s ContainerInspectResponse,
}

/// The project's `[aws]` mode, and the running app container; or why the check is skipped.
async fn app_container(
    facts: &Facts,
) -> Result<(AwsMode, &ProjectState, AppContainer<'_>), Outcome> {
    let stack = facts
        .stack()
        .ok_or_else(|| Outcome::skipped("no valid devboot.toml here"))?;
    let aws = stack.aws.as_ref().ok_or_else(|| {
        Outcome::skipped("the project has no [aws] section: devboot gives the app no AWS settings")
    })?;
    let state = project_state(facts).await?;
    let app = state
        .stack
        .app_service()
        .ok_or_else(|| Outcome::skipped("the profile has no app service"))?;
    let (Some(container), Some(inspected)) =
        (state.running(&app.name), state.inspected.get(&app.name))
    else {
        return Err(Outcome::skipped(format!(
            "`{}` is not running; this is checked while the stack is up",
            app.name
        )));
    };
    Ok((
        aws.mode,
        state,
        AppContainer {
            service: &app.name,
            id: &container.id,
            inspected,
        },
    ))
}

/// `NAME=value` entries of the container's environment, by name.
fn env_of(inspected: &ContainerInspectResponse) -> BTreeMap<String, String> {
    inspected
        .config
        .as_ref()
        .and_then(|c| c.env.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn mount_targets(inspected: &ContainerInspectResponse) -> Vec<String> {
    inspected
        .mounts
        .iter()
        .flatten()
        .filter_map(|m| m.destination.clone())
        .collect()
}

async fn container_endpoint(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let (mode, state, app) = app_container(&facts).await?;
    let in_profile: BTreeSet<String> = state
        .stack
        .services
        .get(app.service)
        .map(|s| s.environment.keys().cloned().collect())
        .unwrap_or_default();
    Ok(judge_container_env(
        mode,
        app.service,
        &env_of(app.inspected),
        &mount_targets(app.inspected),
        &in_profile,
    ))
}

/// Judges the app container's AWS variables (and `~/.aws` mounts) for `mode`. `in_profile`
/// names the variables the profile itself sets for the service.
fn judge_container_env(
    mode: AwsMode,
    service: &str,
    env: &BTreeMap<String, String>,
    mounts: &[String],
    in_profile: &BTreeSet<String>,
) -> Outcome {
    let has = |name: &str| env.get(name).is_some_and(|v| !v.is_empty());
    let recreate = |outcome: Outcome| outcome.fix_with("then recreate the container", "devboot up");
    let mut findings: Vec<Outcome> = Vec::new();

    match mode {
        AwsMode::Server => {
            if !has("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
                findings.push(
                    Outcome::error(format!(
                        "`{service}` has no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: its SDK never asks devboot's credential endpoint"
                    ))
                    .detail("the container was created before the project used `[aws]` server mode, or not by `devboot up`")
                    .fix_with("recreate it with the wiring", "devboot up"),
                );
            }
            let overriding: Vec<&str> = OVERRIDING.iter().copied().filter(|n| has(n)).collect();
            let aws_mounts: Vec<&String> = mounts
                .iter()
                .filter(|m| m.trim_end_matches('/').ends_with("/.aws"))
                .collect();
            if !overriding.is_empty() || !aws_mounts.is_empty() {
                let mut what: Vec<String> = overriding.iter().map(|n| (*n).to_owned()).collect();
                what.extend(aws_mounts.iter().map(|m| format!("a mount at {m}")));
                let mut outcome = Outcome::error(format!(
                    "something overrides the credential endpoint in `{service}`: {}",
                    what.join(", ")
                ))
                .detail("the SDKs take environment keys, AWS_PROFILE and the files under ~/.aws before the container endpoint (Ruby: the environment, then the shared files, then ECS)");
                for name in &overriding {
                    outcome = outcome.detail(if in_profile.contains(*name) {
                        format!("{name} is set by the profile (`[services.{service}.environment]`)")
                    } else {
                        format!("{name} is not in the profile: it comes from an env file, the image, or the container is older than the profile")
                    });
                }
                if !overriding.is_empty() {
                    outcome = outcome.fix(format!(
                        "remove {} from `{service}`'s environment (devboot.toml, devboot.local.toml, env files, the Dockerfile)",
                        overriding.join(", ")
                    ));
                }
                if !aws_mounts.is_empty() {
                    outcome = outcome.fix(format!(
                        "remove the ~/.aws mount from `{service}`'s volumes: the endpoint replaces it"
                    ));
                }
                findings.push(recreate(outcome));
            }
        }
        AwsMode::Env => {
            let key = env.get("AWS_ACCESS_KEY_ID").filter(|k| !k.is_empty());
            match key {
                None => findings.push(recreate(
                    Outcome::error(format!(
                        "`{service}` has no AWS_ACCESS_KEY_ID, which `mode = \"env\"` gives it"
                    ))
                    .fix("nothing to remove; the container is older than the project's [aws] settings"),
                )),
                Some(key) if key.starts_with("AKIA") => findings.push(recreate(
                    Outcome::error(format!(
                        "`{service}` holds the long-term key {}: anyone who can run `docker inspect` can read it",
                        mask_key_id(key)
                    ))
                    .fix("remove AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the app service's environment; `mode = \"env\"` passes short-lived keys"),
                )),
                Some(key) if !has("AWS_SECRET_ACCESS_KEY") || !has("AWS_SESSION_TOKEN") => {
                    findings.push(recreate(Outcome::error(format!(
                        "`{service}` has the key {} without {}",
                        mask_key_id(key),
                        if has("AWS_SECRET_ACCESS_KEY") {
                            "AWS_SESSION_TOKEN"
                        } else {
                            "AWS_SECRET_ACCESS_KEY"
                        }
                    ))));
                }
                Some(_) => {}
            }
        }
        AwsMode::Emulator => {
            if !has("AWS_ENDPOINT_URL") {
                findings.push(recreate(Outcome::error(format!(
                    "`{service}` has no AWS_ENDPOINT_URL: it would call real AWS with the emulator's dummy keys"
                ))));
            }
        }
    }

    if let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        && let Some(host) = refused_full_uri_host(full)
    {
        findings.push(recreate(
            Outcome::error(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI in `{service}` points at `{host}` over http: the SDK will refuse this endpoint"
            ))
            .detail("Ruby: \"... must use a local loopback or an ECS or EKS link-local address\"; plain http is accepted only for 127.0.0.0/8, ::1, 169.254.170.2, 169.254.170.23 and fd00:ec2::23")
            .fix("remove it from the app service's environment; devboot's server mode uses AWS_CONTAINER_CREDENTIALS_RELATIVE_URI through 169.254.170.2"),
        ));
    }
    if mode != AwsMode::Emulator {
        let endpoints: Vec<&str> = env
            .keys()
            .map(String::as_str)
            .filter(|n| n.starts_with("AWS_ENDPOINT_URL") && has(n))
            .collect();
        if !endpoints.is_empty() {
            findings.push(recreate(
                Outcome::warn(format!(
                    "an emulator endpoint is left set in `{service}`: {}",
                    endpoints.join(", ")
                ))
                .detail("its SDK sends those calls there, not to AWS")
                .fix(format!(
                    "remove {} from the app service's environment",
                    endpoints.join(", ")
                )),
            ));
        }
    }
    if !has("AWS_REGION") && !has("AWS_DEFAULT_REGION") {
        findings.push(recreate(
            Outcome::warn(format!("`{service}` has no AWS_REGION"))
                .detail("the credential endpoint carries no region: the app's AWS calls fail with a missing region")
                .fix("set a region (see `aws.region`)"),
        ));
    }

    if findings.is_empty() {
        return Outcome::ok(match mode {
            AwsMode::Server => format!(
                "`{service}` asks devboot's credential endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), and nothing overrides it"
            ),
            AwsMode::Env => format!(
                "`{service}` has short-lived keys ({}) in its environment",
                env.get("AWS_ACCESS_KEY_ID")
                    .map(|k| mask_key_id(k))
                    .unwrap_or_default()
            ),
            AwsMode::Emulator => format!(
                "`{service}` talks to the emulator at {}",
                env.get("AWS_ENDPOINT_URL").cloned().unwrap_or_default()
            ),
        });
    }
    merge(findings)
}

/// One outcome from several findings: the worst one leads, the others follow as details.
fn merge(findings: Vec<Outcome>) -> Outcome {
    let rank = |status: Status| match status {
        Status::Error => 2,
        Status::Warn => 1,
        Status::Ok | Status::Skipped => 0,
    };
    let worst = findings
        .iter()
        .map(|f| rank(f.status))
        .max()
        .unwrap_or_default();
    let lead = findings
        .iter()
        .position(|f| rank(f.status) == worst)
        .unwrap_or_default();
    let mut findings = findings;
    let mut outcome = findings.remove(lead);
    let mut fixes: Vec<Fix> = std::mem::take(&mut outcome.fixes);
    for other in findings {
        outcome.details.push(format!("also: {}", other.summary));
        outcome.details.extend(other.details);
        fixes.extend(other.fixes);
    }
    // Each fix once, "devboot up" last.
    let mut seen = Vec::new();
    let (mut up, mut rest): (Vec<Fix>, Vec<Fix>) = fixes
        .into_iter()
        .filter(|f| {
            let new = !seen.contains(f);
            if new {
                seen.push(f.clone());
            }
            new
        })
        .partition(|f| f.command.as_deref() == Some("devboot up"));
    up.truncate(1);
    rest.extend(up);
    outcome.fixes = rest;
    outcome
}

/// The host of a plain-http `AWS_CONTAINER_CREDENTIALS_FULL_URI` the SDKs refuse; `None` when
/// it is https or points at an allowed address.
fn refused_full_uri_host(uri: &str) -> Option<String> {
    let rest = uri.trim().strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let host = host.to_ascii_lowercase();
    let allowed = ALLOWED_HTTP_HOSTS.contains(&host.as_str()) || host.starts_with("127.");
    (!allowed).then_some(host)
}

/// What the probe prints, one `key=value` per line: the HTTP status and, of the reply, the
/// expiry, the key id's last four characters and an error's code and message — or `error=`
/// with why no reply came. The relative URI and the token are read from the container's own
/// environment; no secret is printed.
const PROBE: &str = r#"
require "net/http"
require "json"
begin
  uri = URI("http://169.254.170.2" + ENV.fetch("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
  request = Net::HTTP::Get.new(uri)
  token = ENV["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
  request["Authorization"] = token if token && !token.empty?
  response = Net::HTTP.start(uri.host, uri.port, open_timeout: 2, read_timeout: 5) { |http| http.request(request) }
  puts "status=#{response.code}"
  body = (JSON.parse(response.body.to_s) rescue {})
  body = {} unless body.is_a?(Hash)
  puts "expiration=#{body["Expiration"]}" if body["Expiration"]
  puts "key=#{body["AccessKeyId"].to_s[-4..]}" if body["AccessKeyId"]
  puts "code=#{body["code"]}" if body["code"]
  puts "message=#{body["message"].to_s.gsub(/\s+/, " ")[0, 300]}" if body["message"]
rescue KeyError
  puts "error=AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not set"
rescue Exception => e
  puts "error=#{e.class}: #{e.message.to_s.gsub(/\s+/, " ")[0, 300]}"
end
"#;

/// The probe's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ProbeReply {
    status: Option<u16>,
    expiration: Option<String>,
    key_tail: Option<String>,
    code: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

/// Parses the probe's output; lines that are not its own are ignored.
fn parse_probe(lines: &[String]) -> ProbeReply {
    let mut reply = ProbeReply::default();
    for line in lines {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = value.trim().to_owned();
        match key {
            "status" => reply.status = value.parse().ok(),
            "expiration" => reply.expiration = Some(value),
            "key" => {
                let chars: Vec<char> = value.chars().collect();
                reply.key_tail = Some(chars[chars.len().saturating_sub(4)..].iter().collect());
            }
            "code" => reply.code = Some(value),
            "message" => reply.message = Some(value),
            "error" => reply.error = Some(value),
            _ => {}
        }
    }
    reply
}

/// `text` with every secret value of the container's environment cut out.
fn scrub(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut text = text.to_owned();
    for name in SECRET_VARS {
        if let Some(value) = env.get(*name).filter(|v| v.len() >= 4) {
            text = text.replace(value.as_str(), "[redacted]");
        }
    }
    text
}

async fn container_credentials(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let (mode, state, app) = app_container(&facts).await?;
    if mode != AwsMode::Server {
        return Err(Outcome::skipped(format!(
            "`mode = \"{}\"`: only server mode uses the credential endpoint",
            match mode {
                AwsMode::Server => "server",
                AwsMode::Env => "env",
                AwsMode::Emulator => "emulator",
            }
        )));
    }
    let connection = facts
        .connection()
        .await
        .map_err(|_| Outcome::skipped("no engine"))?;
    let env = env_of(app.inspected);
    let network = credential_relay::network_name(&state.stack.project);
    let attached = app
        .inspected
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .is_some_and(|networks| networks.contains_key(&network));
    let files = facts
        .stack()
        .and_then(|stack| EndpointFiles::for_stack(&facts.env, stack).ok());
    let host = HostEndpoint {
        process: match files.as_ref().map(EndpointFiles::running) {
            Some(Some(running)) => EndpointProcess::Running {
                pid: running.pid,
                port: running.port,
            },
            Some(None) => EndpointProcess::Stopped,
            None => EndpointProcess::Unknown,
        },
        log: files.as_ref().map(|f| facts.display(&f.log_path())),
    };
    let output = exec(&connection.docker, app.id, &["ruby", "-e", PROBE])
        .await
        .map_err(|error| {
            Outcome::warn(format!(
                "cannot run the probe in `{}`: {}",
                app.service,
                scrub(&error.to_string(), &env)
            ))
        })?;
    let lines: Vec<String> = output.lines.iter().map(|l| scrub(l, &env)).collect();
    let reply = parse_probe(&lines);
    if reply.status.is_none() && reply.error.is_none() {
        return Ok(Outcome::warn(format!(
            "cannot probe the endpoint: `ruby` did not run in `{}` (exit {})",
            app.service, output.code
        ))
        .details(lines.iter().rev().take(3).rev().cloned())
        .fix(format!(
            "probe by hand: `docker compose -f .devboot/compose.yaml exec {} sh`, then request http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI with the header `Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN`",
            app.service
        )));
    }
    let seen = Seen {
        service: app.service,
        network: &network,
        attached,
        host: &host,
    };
    Ok(judge_probe(&reply, &seen, SystemTime::now()))
}

/// The endpoint process on the host, as its files describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HostEndpoint {
    process: EndpointProcess,
    /// Its log, as messages show the path.
    log: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum EndpointProcess {
    Running {
        pid: u32,
        port: u16,
    },
    Stopped,
    /// Its files cannot be located.
    #[default]
    Unknown,
}

/// What the probe's outcome is judged against.
struct Seen<'a> {
    service: &'a str,
    /// The credential network, `<project>_awscreds`.
    network: &'a str,
    /// Whether the app container is attached to it.
    attached: bool,
    host: &'a HostEndpoint,
}

impl Seen<'_> {
    /// Details and fixes about the relay side: the network and the relay container.
    fn relay(&self, outcome: Outcome) -> Outcome {
        let outcome = if self.attached {
            outcome
        } else {
            outcome.detail(format!(
                "`{}` is not attached to the network `{}`, where the relay answers",
                self.service, self.network
            ))
        };
        outcome
            .detail(format!(
                "devboot's relay container answers at 169.254.170.2 on the network `{}` and forwards to the endpoint on the host",
                self.network
            ))
            .fix_with(
                "see whether the relay container runs",
                format!("docker ps --all --filter network={}", self.network),
            )
            .fix_with("recreate the wiring (network, relay, endpoint, container)", "devboot up")
    }

    /// Details and fixes about the endpoint process on the host.
    fn endpoint(&self, outcome: Outcome) -> Outcome {
        let outcome = match self.host.process {
            EndpointProcess::Running { pid, port } => outcome.detail(format!(
                "the endpoint on the host runs (pid {pid}, port {port})"
            )),
            EndpointProcess::Stopped => outcome.detail("the endpoint on the host is not running"),
            EndpointProcess::Unknown => outcome,
        };
        let outcome = outcome.fix_with(
            "start the endpoint again (it follows the stack)",
            "devboot up",
        );
        match &self.host.log {
            Some(log) => outcome.fix_with(
                "read the endpoint's log",
                format!("tail -n 50 {}", home_path_word(log)),
            ),
            None => outcome,
        }
    }
}

/// Judges what the probe in the app container found.
fn judge_probe(reply: &ProbeReply, seen: &Seen<'_>, now: SystemTime) -> Outcome {
    let service = seen.service;
    if let Some(error) = &reply.error {
        let lower = error.to_lowercase();
        let outcome = |summary: String| Outcome::error(summary).detail(error.clone());
        if lower.contains("end of file") || lower.contains("eof") || lower.contains("reset") {
            return seen.endpoint(outcome(format!(
                "the relay at {RELAY} answers `{service}`, but the endpoint on the host does not"
            )));
        }
        let summary = if lower.contains("refused") {
            format!("nothing listens at {RELAY} as `{service}` sees it")
        } else if lower.contains("timeout")
            || lower.contains("expired")
            || lower.contains("unreach")
            || lower.contains("no route")
        {
            format!("{RELAY} does not answer from `{service}`")
        } else {
            format!("the probe in `{service}` failed")
        };
        return seen.relay(
            outcome(summary)
                .detail("on Linux, a firewall (ufw, firewalld) dropping container-to-host traffic on the bridge has the same effect"),
        );
    }
    let status = reply.status.unwrap_or_default();
    let key = reply
        .key_tail
        .as_deref()
        .map(|tail| format!("key …{tail}, "))
        .unwrap_or_default();
    match status {
        200 => match reply.expiration.as_deref().and_then(parse_rfc3339) {
            Some(expires) if expires > now => Outcome::ok(format!(
                "`{service}` gets credentials from 169.254.170.2 ({key}expiring at {}, in {})",
                rfc3339(expires),
                span(expires.duration_since(now).unwrap_or_default())
            )),
            Some(expires) => seen.endpoint(Outcome::error(format!(
                "the endpoint served `{service}` credentials that expired at {}",
                rfc3339(expires)
            ))),
            None => seen.endpoint(Outcome::error(format!(
                "the endpoint answered `{service}` without an `Expiration`: the SDKs refuse such credentials"
            ))),
        },
        403 | 401 => seen.relay(
            Outcome::error(format!(
                "the credential endpoint refused `{service}`'s token (HTTP {status})"
            ))
            .detail("the container holds the token of another run of the endpoint"),
        ),
        404 => seen.relay(
            Outcome::error(format!(
                "the credential endpoint does not know `{service}`'s path (HTTP 404)"
            ))
            .detail("the container holds the path of another run of the endpoint"),
        ),
        _ => {
            let why = match (&reply.code, &reply.message) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.clone(),
                (None, Some(message)) => message.clone(),
                (None, None) => "no reason given".to_owned(),
            };
            Outcome::error(format!(
                "the credential endpoint answered `{service}` with HTTP {status}: {why}"
            ))
            .detail("the endpoint cannot get credentials on the host; the message names the fix")
            .fix_with("see what is wrong on the host", "devboot doctor aws")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn env(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const WIRED: &[(&str, &str)] = &[
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/creds/0123456789abcdef",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "fedcba9876543210"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];

    fn commands(outcome: &Outcome) -> Vec<&str> {
        outcome
            .fixes
            .iter()
            .filter_map(|f| f.command.as_deref())
            .collect()
    }

    fn no_secrets(outcome: &Outcome) {
        let text = format!("{outcome:?}");
        assert!(
            !text.contains("0123456789abcdef") && !text.contains("fedcba9876543210"),
            "{text}"
        );
    }

    #[test]
    fn a_wired_server_mode_container_is_fine() {
        let outcome =
            judge_container_env(AwsMode::Server, "web", &env(WIRED), &[], &BTreeSet::new());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        no_secrets(&outcome);
    }

    #[test]
    fn overriding_variables_and_mounts_are_errors_naming_names_only() {
        let mut entries = WIRED.to_vec();
        entries.push(("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"));
        entries.push(("AWS_PROFILE", "dev"));
        entries.push(("AWS_ENDPOINT_URL", "http://moto:5000"));
        let in_profile: BTreeSet<String> = ["AWS_PROFILE".to_owned()].into();
        let outcome = judge_container_env(
            AwsMode::Server,
            "web",
            &env(&entries),
            &["/rails".into(), "/home/rails/.aws".into()],
            &in_profile,
        );
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "something overrides the credential endpoint in `web`: AWS_ACCESS_KEY_ID, AWS_PROFILE, a mount at /home/rails/.aws"
        );
        assert!(
            outcome
                .details
                .iter()
                .any(|d| d == "AWS_PROFILE is set by the profile (`[services.web.environment]`)")
        );
        assert!(
            outcome
                .details
                .iter()
                .any(|d| d == "also: an emulator endpoint is left set in `web`: AWS_ENDPOINT_URL")
        );
        assert_eq!(commands(&outcome), ["devboot up"]);
        assert!(!format!("{outcome:?}").contains("AKIAIOSFODNN7EXAMPLE"));
        no_secrets(&outcome);
    }

    #[test]
    fn a_missing_relative_uri_and_a_left_endpoint() {
        let outcome = judge_container_env(
            AwsMode::Server,
            "web",
            &env(&[("AWS_REGION", "eu-west-1")]),
            &[],
            &BTreeSet::new(),
        );
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome
                .summary
                .contains("no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        );
        let mut entries = WIRED.to_vec();
        entries.push(("AWS_ENDPOINT_URL_S3", "http://localstack:4566"));
        let outcome = judge_container_env(
            AwsMode::Server,
            "web",
            &env(&entries),
            &[],
            &BTreeSet::new(),
        );
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "an emulator endpoint is left set in `web`: AWS_ENDPOINT_URL_S3"
        );
    }

    #[test]
    fn full_uris_the_sdks_refuse() {
        assert_eq!(
            refused_full_uri_host("http://host.docker.internal:8080/creds"),
            Some("host.docker.internal".into())
        );
        assert_eq!(
            refused_full_uri_host("http://creds:80/x"),
            Some("creds".into())
        );
        for fine in [
            "http://127.0.0.1:9911/creds",
            "http://localhost/creds",
            "http://169.254.170.2/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/creds",
            "http://[::1]:80/",
            "https://creds.example.com/creds",
        ] {
            assert_eq!(refused_full_uri_host(fine), None, "{fine}");
        }
        let mut entries = WIRED.to_vec();
        entries.push((
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://host.docker.internal:9911/creds",
        ));
        let outcome =
            judge_container_env(AwsMode::Env, "web", &env(&entries), &[], &BTreeSet::new());
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome
                .details
                .iter()
                .any(|d| d.contains("the SDK will refuse this endpoint")),
            "{outcome:?}"
        );
    }

    #[test]
    fn env_and_emulator_modes() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let outcome = judge_container_env(AwsMode::Env, "web", &env(&keys), &[], &BTreeSet::new());
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "`web` has short-lived keys (****************MPLE) in its environment"
        );
        let long_term = [
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let outcome =
            judge_container_env(AwsMode::Env, "web", &env(&long_term), &[], &BTreeSet::new());
        assert_eq!(outcome.status, Status::Error);
        assert!(
            outcome
                .summary
                .contains("long-term key ****************MPLE")
        );

        let emulated = [
            ("AWS_ENDPOINT_URL", "http://moto:5000"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let outcome = judge_container_env(
            AwsMode::Emulator,
            "web",
            &env(&emulated),
            &[],
            &BTreeSet::new(),
        );
        assert_eq!(outcome.status, Status::Ok);
        let outcome = judge_container_env(
            AwsMode::Emulator,
            "web",
            &env(&[("AWS_REGION", "x")]),
            &[],
            &BTreeSet::new(),
        );
        assert_eq!(outcome.status, Status::Error);
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    fn seen<'a>(network: &'a str, attached: bool, host: &'a HostEndpoint) -> Seen<'a> {
        Seen {
            service: "web",
            network,
            attached,
            host,
        }
    }

    #[test]
    fn probe_output_parses_and_is_judged() {
        let now = SystemTime::now();
        let host = HostEndpoint {
            process: EndpointProcess::Running {
                pid: 4242,
                port: 40123,
            },
            log: Some("~/.local/state/devboot/projects/shop-0123/endpoint.log".into()),
        };
        let fine = seen("shop_awscreds", true, &host);
        let expires = rfc3339(now + Duration::from_secs(3000));
        let reply = parse_probe(&lines(&format!(
            "some warning from ruby\nstatus=200\nexpiration={expires}\nkey=XMPLE\n"
        )));
        assert_eq!(reply.status, Some(200));
        assert_eq!(reply.key_tail.as_deref(), Some("MPLE"));
        let outcome = judge_probe(&reply, &fine, now);
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(
            outcome.summary.contains("(key …MPLE, expiring at "),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.summary.ends_with("in 50 min)"),
            "{}",
            outcome.summary
        );

        let stale = parse_probe(&lines("status=200\nexpiration=2020-01-01T00:00:00Z\n"));
        assert_eq!(judge_probe(&stale, &fine, now).status, Status::Error);

        let refused = parse_probe(&lines(
            "error=Errno::ECONNREFUSED: Failed to open TCP connection to 169.254.170.2:80 (Connection refused - connect(2) for \"169.254.170.2\" port 80)",
        ));
        let outcome = judge_probe(&refused, &seen("shop_awscreds", false, &host), now);
        assert_eq!(outcome.status, Status::Error);
        assert_eq!(
            outcome.summary,
            "nothing listens at 169.254.170.2:80 as `web` sees it"
        );
        assert!(
            outcome
                .details
                .iter()
                .any(|d| d.contains("not attached to the network `shop_awscreds`"))
        );
        assert_eq!(
            commands(&outcome),
            [
                "docker ps --all --filter network=shop_awscreds",
                "devboot up"
            ]
        );

        let timeout = parse_probe(&lines("error=Net::OpenTimeout: execution expired"));
        assert_eq!(
            judge_probe(&timeout, &fine, now).summary,
            "169.254.170.2:80 does not answer from `web`"
        );

        // socat accepts, cannot reach the host, and closes: Ruby reads end of file.
        let dead = HostEndpoint {
            process: EndpointProcess::Stopped,
            ..host.clone()
        };
        let eof = parse_probe(&lines("error=EOFError: end of file reached"));
        let outcome = judge_probe(&eof, &seen("shop_awscreds", true, &dead), now);
        assert_eq!(
            outcome.summary,
            "the relay at 169.254.170.2:80 answers `web`, but the endpoint on the host does not"
        );
        assert!(
            outcome
                .details
                .contains(&"the endpoint on the host is not running".to_owned())
        );
        assert_eq!(
            commands(&outcome),
            [
                "devboot up",
                "tail -n 50 ~/.local/state/devboot/projects/shop-0123/endpoint.log"
            ]
        );

        let host_failed = parse_probe(&lines(
            "status=503\ncode=SsoTokenExpired\nmessage=run `aws sso login --profile dev` on the host",
        ));
        let outcome = judge_probe(&host_failed, &fine, now);
        assert_eq!(
            outcome.summary,
            "the credential endpoint answered `web` with HTTP 503: SsoTokenExpired: run `aws sso login --profile dev` on the host"
        );
        assert_eq!(commands(&outcome), ["devboot doctor aws"]);
        let forbidden = parse_probe(&lines("status=403\ncode=AccessDenied"));
        assert_eq!(judge_probe(&forbidden, &fine, now).status, Status::Error);
    }

    #[test]
    fn secrets_are_scrubbed_from_probe_output() {
        let env = env(WIRED);
        assert_eq!(
            scrub(
                "bad URI(is not URI?): http://169.254.170.2/creds/0123456789abcdef",
                &env
            ),
            "bad URI(is not URI?): http://169.254.170.2[redacted]"
        );
    }
}
