//! Getting images in place: pulling with per-image progress and failures classified into
//! not found / unauthorized / unreachable / rate limited, and building the app image through
//! the engine API from a deterministic build context labelled with its digest.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt as _;

use super::auth;
use super::build_context::BuildContext;
use super::progress::{Event, Reporter};
use super::spec::LABEL_CONTEXT_DIGEST;
use crate::env::Environment;
use crate::error::{Error, PullFailure};
use crate::model::{Build, ImageRef};

/// Lines of build output kept for the error message when a build fails.
const BUILD_TAIL: usize = 25;

/// Pulls `image`, reporting progress as its layers download.
pub async fn pull(
    docker: &Docker,
    env: &Environment,
    image: &ImageRef,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let reference = image.to_string();
    let credentials = auth::credentials(env, image)?;
    let options = CreateImageOptionsBuilder::default()
        .from_image(&image.name())
        .tag(
            image
                .digest
                .as_deref()
                .unwrap_or_else(|| image.tag_or_latest()),
        )
        .build();
    let mut stream = docker.create_image(Some(options), None, credentials);
    let mut layers: BTreeMap<String, LayerProgress> = BTreeMap::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| pull_error(&reference, &e.to_string()))?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(pull_error(&reference, &detail));
        }
        let (Some(id), Some(status)) = (info.id, info.status) else {
            continue;
        };
        let layer = layers.entry(id).or_default();
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
        });
    }
    reporter.report(Event::PullDone { image: &reference });
    Ok(())
}

#[derive(Debug, Default)]
struct LayerProgress {
    done: u64,
    total: u64,
    complete: bool,
}

/// Classifies a registry failure by the engine's message.
fn pull_error(image: &str, message: &str) -> Error {
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
    context: BuildContext,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    reporter.report(Event::BuildStarted { service });
    let tag = image.to_string();
    let labels = HashMap::from([(LABEL_CONTEXT_DIGEST, context.digest.as_str())]);
    let mut options = BuildImageOptionsBuilder::default();
    if let Some(target) = &build.target {
        options = options.target(target);
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
    let mut output: Vec<String> = Vec::new();
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(error) => {
                return Err(Error::Build {
                    service: service.to_owned(),
                    message: error.to_string(),
                    output,
                });
            }
        };
        if let Some(text) = info.stream {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                reporter.report(Event::BuildOutput { service, line });
                output.push(line.to_owned());
                if output.len() > BUILD_TAIL {
                    output.remove(0);
                }
            }
        }
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(Error::Build {
                service: service.to_owned(),
                message,
                output,
            });
        }
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            image_id = Some(id);
        }
    }
    reporter.report(Event::BuildDone { service });
    image_id.ok_or_else(|| Error::Build {
        service: service.to_owned(),
        message: "the engine finished without reporting an image".to_owned(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
