//! `devboot ls`: every devboot stack on this engine — of this checkout and every other — with
//! its checkout, state, published ports and the disk its volumes use.

use super::Context;
use crate::cli::LsArgs;
use crate::engine::connect;
use crate::engine::stacks::{self, StackSummary};
use crate::error::{Error, ExitStatus};

pub(super) fn run(args: &LsArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let stacks = super::block_on_interruptible(async {
        let connection = connect::connect(ctx.env).await?;
        stacks::list(&connection).await
    })?;
    if args.json {
        ctx.printer.json(&stacks)?;
    } else if stacks.is_empty() {
        ctx.printer.note("No devboot stacks on this engine.");
    } else {
        ctx.printer
            .data(&table(&stacks, |path| ctx.env.display_path(path)));
    }
    Ok(ExitStatus::Success)
}

/// The stacks as a table, paths shown by `display` (the home directory as `~`).
fn table(stacks: &[StackSummary], display: impl Fn(&std::path::Path) -> String) -> String {
    let rows: Vec<[String; 5]> = stacks
        .iter()
        .map(|s| {
            let ports: Vec<String> = s
                .ports
                .iter()
                .map(|p| format!("{}->{}", p.host, p.service))
                .collect();
            [
                s.project.clone(),
                s.state.to_string(),
                if ports.is_empty() {
                    "-".to_owned()
                } else {
                    ports.join(",")
                },
                s.disk_bytes
                    .map_or_else(|| "?".to_owned(), crate::model::units::format_bytes),
                s.checkout
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |c| display(std::path::Path::new(c))),
            ]
        })
        .collect();
    let header = ["PROJECT", "STATE", "PORTS", "DISK", "CHECKOUT"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        line.push('\n');
        line
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}
