//! Getting images in place: refusing before the download an image the registry offers for no
//! platform this engine runs, pulling with per-image progress and failures classified into
//! not found / unauthorized / unreachable / rate limited, and building the app image through
//! the engine API from a deterministic build context labelled with its digest.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::errors::Error as Bollard;
use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt as _;

use super::auth;
use super::build_context::BuildContext;
use super::observe::{disk_full, disk_full_error, engine_error};
use super::progress::{Event, Reporter};
use super::spec::LABEL_CONTEXT_DIGEST;
use crate::env::Environment;
use crate::error::{Error, PullFailure};
use crate::model::platform::{Platform, oci_arch};
use crate::model::{Build, ImageRef};

/// Lines of build output kept for the error message when a build fails.
const BUILD_TAIL: usize = 25;

/// The engine's platform (`/info`), when it says.
pub async fn engine_platform(docker: &Docker) -> Option<Platform> {
    let info = docker.info().await.ok()?;
    Some(Platform::of_engine(
        info.os_type.as_deref().unwrap_or("linux"),
        info.architecture.as_deref().filter(|a| !a.is_empty())?,
    ))
}

/// Which platform a pull is for.
#[derive(Debug, Clone, Copy)]
pub struct PullFor<'a> {
    /// The service the image is for, named in messages.
    pub service: &'a str,
    /// The platform the profile names for it.
    pub named: Option<&'a Platform>,
    /// The engine's own platform, when known.
    pub engine: Option<&'a Platform>,
}

/// Pulls `image` for its platform (the engine's own unless the profile names one), reporting
/// progress as its layers download. First the registry's manifest says which platforms the tag
/// offers: one this engine cannot run is refused before any download.
pub async fn pull(
    docker: &Docker,
    env: &Environment,
    image: &ImageRef,
    target: PullFor<'_>,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let reference = image.to_string();
    let credentials = auth::credentials(env, image)?;
    if let Some(wanted) = target.named.or(target.engine) {
        check_platform(
            docker,
            credentials.clone(),
            &reference,
            target.service,
            wanted,
        )
        .await?;
    }
    let platform = target.named.map(ToString::to_string);
    let mut options = CreateImageOptionsBuilder::default()
        .from_image(&image.name())
        .tag(
            image
                .digest
                .as_deref()
                .unwrap_or_else(|| image.tag_or_latest()),
        );
    if let Some(platform) = &platform {
        options = options.platform(platform);
    }
    reporter.report(Event::PullStarted { image: &reference });
    let mut stream = docker.create_image(Some(options.build()), None, credentials);
    let mut layers: BTreeMap<String, LayerProgress> = BTreeMap::new();
    while let Some(item) = stream.next().await {
        // The registry's and the engine's own failures come as the engine's words; a broken
        // connection to the engine is said as such.
        let info = item.map_err(|error| match error {
            Bollard::DockerResponseServerError { message, .. }
            | Bollard::DockerStreamError { error: message } => pull_error(&reference, &message),
            other => engine_error(&format!("pulling `{reference}`"), &other),
        })?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(pull_error(&reference, &detail));
        }
        let (Some(id), Some(status)) = (info.id, info.status) else {
            continue;
        };
        let layer = layers.entry(id).or_default();
        // The engine retries a layer whose download broke ("Retrying in 5 seconds", counting
        // down each second; longer after each failed attempt): say so whenever a countdown
        // starts, or the wait looks like a hang.
        let retry_in = retry_delay(&status);
        if let Some(in_seconds) = retry_in
            && layer.retry_in.is_none_or(|before| in_seconds > before)
        {
            reporter.report(Event::PullRetrying {
                image: &reference,
                in_seconds,
            });
        }
        layer.retry_in = retry_in;
        match status.as_str() {
            "Downloading" => {
                if let Some(progress) = info.progress_detail {
                    layer.total = progress
                        .total
                        .and_then(|t| u64::try_from(t).ok())
                        .unwrap_or(layer.total);
                    layer.done = progress
                        .current
                        .and_then(|c| u64::try_from(c).ok())
                        .unwrap_or(layer.done);
                }
            }
            "Download complete" => layer.done = layer.total,
            "Pull complete" | "Already exists" => {
                layer.done = layer.total;
                layer.complete = true;
            }
            _ => {}
        }
        // The first status line names the tag, not a layer; it never completes.
        let real: Vec<&LayerProgress> = layers
            .values()
            .filter(|l| l.total > 0 || l.complete)
            .collect();
        reporter.report(Event::Pull {
            image: &reference,
            layers_done: real.iter().filter(|l| l.complete).count(),
            layers_total: real.len(),
            bytes_done: real.iter().map(|l| l.done).sum(),
            bytes_total: real.iter().map(|l| l.total).sum(),
            retrying: layers.values().any(|l| l.retry_in.is_some()),
        });
    }
    reporter.report(Event::PullDone { image: &reference });
    Ok(())
}

/// Asks the registry, through the engine, which platforms `service`'s image offers. When it
/// cannot say (an engine or registry without the distribution endpoint, a login the engine
/// lacks), the pull itself decides.
async fn check_platform(
    docker: &Docker,
    credentials: Option<bollard::auth::DockerCredentials>,
    image: &str,
    service: &str,
    wanted: &Platform,
) -> Result<(), Error> {
    let Ok(inspected) = docker.inspect_registry_image(image, credentials).await else {
        return Ok(());
    };
    let offered: Vec<Platform> = inspected
        .platforms
        .iter()
        .filter_map(|p| {
            Some(Platform {
                os: p.os.clone()?,
                architecture: oci_arch(p.architecture.as_deref()?),
                variant: p.variant.clone().filter(|v| !v.is_empty()),
            })
        })
        .collect();
    judge_platforms(image, service, wanted, &offered)
}

/// Whether one of the platforms a registry offers runs as `wanted`. Entries that are no
/// platform (`unknown/unknown`: build attestations) are not offered; nothing offered at all
/// lets the pull decide.
fn judge_platforms(
    image: &str,
    service: &str,
    wanted: &Platform,
    offered: &[Platform],
) -> Result<(), Error> {
    let offered: Vec<&Platform> = offered.iter().filter(|p| p.os != "unknown").collect();
    if offered.is_empty() || offered.iter().any(|p| wanted.runs(p)) {
        return Ok(());
    }
    Err(Error::ImagePlatform {
        service: service.to_owned(),
        image: image.to_owned(),
        wanted: wanted.to_string(),
        offered: offered.iter().map(ToString::to_string).collect(),
    })
}

#[derive(Debug, Default)]
struct LayerProgress {
    done: u64,
    total: u64,
    complete: bool,
    /// Seconds until the engine retries the layer's download, while it counts down.
    retry_in: Option<u64>,
}

/// The engine's "Retrying in 5 seconds" (or "in 1 second"): the seconds until it tries again.
fn retry_delay(status: &str) -> Option<u64> {
    let seconds = status.strip_prefix("Retrying in ")?.split(' ').next()?;
    seconds.parse().ok()
}

/// Classifies a registry failure by the engine's message.
fn pull_error(image: &str, message: &str) -> Error {
    if disk_full(message) {
        return disk_full_error(&format!("pulling `{image}`"), message, Vec::new());
    }
    let lower = message.to_lowercase();
    let kind = if lower.contains("toomanyrequests") || lower.contains("rate limit") {
        PullFailure::RateLimited
    } else if lower.contains("unauthorized")
        || lower.contains("authentication required")
        || lower.contains("denied")
    {
        PullFailure::Unauthorized
    } else if lower.contains("not found") || lower.contains("manifest unknown") {
        PullFailure::NotFound
    } else if lower.contains("connection refused")
        || lower.contains("no such host")
        || lower.contains("timeout")
        || lower.contains("dial tcp")
        || lower.contains("network is unreachable")
        || lower.contains("connection reset")
        || lower.contains("unexpected eof")
        || lower.contains("broken pipe")
    {
        PullFailure::Unreachable
    } else {
        PullFailure::Other
    };
    Error::Pull {
        image: image.to_owned(),
        kind,
        message: message.trim().to_owned(),
    }
}

/// Builds `image` for `service` from `context`, labelled with the digest of what the image
/// depends on, so it is rebuilt only when that changes. Returns the new image ID.
pub async fn build(
    docker: &Docker,
    service: &str,
    image: &ImageRef,
    build: &Build,
    platform: Option<&Platform>,
    context: BuildContext,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let platform = platform.map(ToString::to_string);
    reporter.report(Event::BuildStarted { service });
    let tag = image.to_string();
    let labels = HashMap::from([(LABEL_CONTEXT_DIGEST, context.digest.as_str())]);
    let mut options = BuildImageOptionsBuilder::default();
    if let Some(target) = &build.target {
        options = options.target(target);
    }
    if let Some(platform) = &platform {
        options = options.platform(platform);
    }
    let options = options
        .dockerfile(&build.dockerfile)
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .buildargs(&build.args.iter().collect::<HashMap<_, _>>())
        .build();
    let mut stream =
        docker.build_image(options, None, Some(bollard::body_full(context.tar.into())));
    let mut output = BuildOutput::default();
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(
                Bollard::DockerResponseServerError { message, .. }
                | Bollard::DockerStreamError { error: message },
            ) => return Err(build_error(service, message, output.end(service, reporter))),
            Err(other) => return Err(engine_error(&format!("building `{service}`"), &other)),
        };
        if let Some(text) = info.stream {
            output.add(&text, service, reporter);
        }
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(build_error(service, message, output.end(service, reporter)));
        }
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            image_id = Some(id);
        }
    }
    let output = output.end(service, reporter);
    reporter.report(Event::BuildDone { service });
    image_id.ok_or_else(|| Error::Build {
        service: service.to_owned(),
        message: "the engine finished without reporting an image".to_owned(),
        output,
    })
}

/// A build's output as whole lines, reported as they complete; the last [`BUILD_TAIL`] are
/// kept for an error. The engine sends chunks as a step writes them — a line may come in
/// pieces, and a step's stderr wrapped in colour codes, which are dropped.
#[derive(Default)]
struct BuildOutput {
    tail: Vec<String>,
    partial: String,
}

impl BuildOutput {
    fn add(&mut self, chunk: &str, service: &str, reporter: &dyn Reporter) {
        self.partial.push_str(&console::strip_ansi_codes(chunk));
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(&line, service, reporter);
        }
    }

    fn line(&mut self, line: &str, service: &str, reporter: &dyn Reporter) {
        let line = line.trim_end();
        if line.trim().is_empty() {
            return;
        }
        reporter.report(Event::BuildOutput { service, line });
        self.tail.push(line.to_owned());
        if self.tail.len() > BUILD_TAIL {
            self.tail.remove(0);
        }
    }

    /// The kept lines, with a last line that never ended.
    fn end(mut self, service: &str, reporter: &dyn Reporter) -> Vec<String> {
        let rest = std::mem::take(&mut self.partial);
        self.line(&rest, service, reporter);
        self.tail
    }
}

/// A failed build; a full disk, whether the engine or the build's own commands hit it, is
/// named as such.
fn build_error(service: &str, message: String, output: Vec<String>) -> Error {
    if disk_full(&message) || output.iter().any(|line| disk_full(line)) {
        return disk_full_error(&format!("building `{service}`"), &message, output);
    }
    Error::Build {
        service: service.to_owned(),
        message,
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_offered_only_for_another_platform_is_refused_with_the_ways_out() {
        let platforms = |list: &[&str]| -> Vec<Platform> {
            list.iter().map(|p| Platform::parse(p).unwrap()).collect()
        };
        let engine = Platform::of_engine("linux", "aarch64");
        let judge =
            |offered: &[&str]| judge_platforms("img:1", "web", &engine, &platforms(offered));
        assert!(judge(&["linux/amd64", "linux/arm64/v8"]).is_ok());
        assert!(judge(&[]).is_ok(), "nothing said: the pull decides");
        let error = judge(&["linux/amd64", "unknown/unknown"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`img:1` has no build for linux/arm64, the platform `web` runs on; the registry offers linux/amd64"
        );
        let hint = error.hint().unwrap();
        assert!(
            hint.contains("`platform = \"linux/amd64\"` under [services.web]"),
            "{hint}"
        );
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Failure);
    }

    #[test]
    fn pull_failures_are_classified() {
        let kind = |message: &str| match pull_error("x", message) {
            Error::Pull { kind, .. } => kind,
            _ => unreachable!(),
        };
        assert_eq!(
            kind("manifest for x:1 not found: manifest unknown"),
            PullFailure::NotFound
        );
        assert_eq!(
            kind("pull access denied for x, repository does not exist"),
            PullFailure::Unauthorized
        );
        assert_eq!(
            kind("Get \"https://r/v2/\": dial tcp 1.2.3.4:443: connect: connection refused"),
            PullFailure::Unreachable
        );
        assert_eq!(
            kind("toomanyrequests: You have reached your pull rate limit"),
            PullFailure::RateLimited
        );
        // The registry going away in the middle of a layer, as the engine words it.
        assert_eq!(
            kind("read tcp 127.0.0.1:51234->127.0.0.1:5000: read: connection reset by peer"),
            PullFailure::Unreachable
        );
        assert_eq!(kind("unexpected EOF"), PullFailure::Unreachable);
        let unreachable = pull_error(
            "r:1/x:1",
            "dial tcp 127.0.0.1:1: connect: connection refused",
        );
        assert_eq!(
            unreachable.to_string(),
            "pulling `r:1/x:1` failed: the registry is not answering: dial tcp 127.0.0.1:1: connect: connection refused"
        );
        assert!(
            unreachable
                .hint()
                .unwrap()
                .contains("run `devboot up` again")
        );
    }

    #[test]
    fn build_output_is_kept_as_whole_lines_without_colour_codes() {
        let mut output = BuildOutput::default();
        let silent = crate::engine::progress::Silent;
        for chunk in [
            "Step 2/2 : RUN head -c 64000000 /dev/zero > /ballast\n ---> Running in 7db1\n",
            "\u{1b}[91mhead: ",
            "error writing 'standard output'",
            ": No space left on device\n\u{1b}[0m",
            "The command returned a non-zero code: 1",
        ] {
            output.add(chunk, "app", &silent);
        }
        assert_eq!(
            output.end("app", &silent),
            [
                "Step 2/2 : RUN head -c 64000000 /dev/zero > /ballast",
                " ---> Running in 7db1",
                "head: error writing 'standard output': No space left on device",
                "The command returned a non-zero code: 1",
            ]
        );
    }

    #[test]
    fn the_engines_retry_countdown_is_read() {
        assert_eq!(retry_delay("Retrying in 10 seconds"), Some(10));
        assert_eq!(retry_delay("Retrying in 1 second"), Some(1));
        assert_eq!(retry_delay("Downloading"), None);
    }

    #[test]
    fn a_full_disk_is_named_with_its_fix() {
        // Both ways the engine words it: while downloading, and while unpacking a layer.
        for message in [
            "write /var/lib/docker/tmp/GetImageBlob4181955419: no space left on device",
            "failed to register layer: Error processing tar file(exit status 1): write /usr/bin/bash: no space left on device",
        ] {
            let error = pull_error("postgres:15", message);
            assert!(matches!(error, Error::EngineDiskFull { .. }), "{error:?}");
            assert!(
                error.to_string().starts_with(
                    "pulling `postgres:15` failed: the Docker engine's disk is full ("
                ),
                "{error}"
            );
            assert!(error.hint().unwrap().contains("docker system prune"));
        }
        // A build whose own command ran out of space says so only in its output.
        let output =
            vec!["head: error writing 'standard output': No space left on device".to_owned()];
        let error = build_error(
            "web",
            "The command '/bin/sh -c head -c 50000000 /dev/zero > /big' returned a non-zero code: 1".to_owned(),
            output,
        );
        assert!(
            error
                .to_string()
                .starts_with("building `web` failed: the Docker engine's disk is full"),
            "{error}"
        );
        let other = build_error("web", "returned a non-zero code: 1".to_owned(), Vec::new());
        assert!(matches!(other, Error::Build { .. }), "{other:?}");
    }
}
