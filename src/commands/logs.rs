//! `devboot logs`: a service's output, or every service's, prefixed by service name;
//! `--follow` keeps streaming until Ctrl-C.

use std::fmt::Write as _;

use futures_util::StreamExt as _;
use futures_util::stream::select_all;

use super::Context;
use crate::cli::LogsArgs;
use crate::effective;
use crate::engine::connect;
use crate::engine::observe::engine_error;
use crate::error::{Error, ExitStatus};

pub(super) fn run(args: &LogsArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    if let Some(service) = &args.service {
        project.stack.select(std::slice::from_ref(service))?;
    }
    let result = super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        let docker = &connection.docker;
        let observed = effective::claim(docker, &project).await?.observed;
        let wanted: Vec<_> = observed
            .containers
            .values()
            .filter(|c| args.service.as_ref().is_none_or(|s| *s == c.service))
            .collect();
        if wanted.is_empty() {
            return Err(Error::Usage {
                message: "no containers to show logs of".into(),
                hint: Some("start the stack with `devboot up`".into()),
            });
        }
        let prefix_width = wanted.iter().map(|c| c.service.len()).max().unwrap_or(0);
        let tail = args
            .tail
            .map_or_else(|| "all".to_owned(), |n| n.to_string());
        let streams = wanted.iter().map(|container| {
            let options = bollard::query_parameters::LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .follow(args.follow)
                .tail(&tail)
                .build();
            let service = container.service.clone();
            docker
                .logs(&container.id, Some(options))
                .map(move |chunk| (service.clone(), chunk))
        });
        let mut merged = select_all(streams);
        let single = wanted.len() == 1;
        while let Some((service, chunk)) = merged.next().await {
            let chunk = chunk.map_err(|e| engine_error("reading logs", &e))?;
            let text = String::from_utf8_lossy(&chunk.into_bytes()).into_owned();
            let out = if single {
                text
            } else {
                text.lines().fold(String::new(), |mut out, line| {
                    let _ = writeln!(out, "{service:<prefix_width$} | {line}");
                    out
                })
            };
            ctx.printer.data(&out);
        }
        Ok(ExitStatus::Success)
    });
    match result {
        // `--follow` runs until Ctrl-C: that is how it ends, not a failure.
        Err(Error::Interrupted) if args.follow => Ok(ExitStatus::Success),
        other => other,
    }
}
