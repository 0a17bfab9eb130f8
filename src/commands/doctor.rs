//! `devboot doctor`: runs the checks, prints the report (text or `--json`), writes `--report`
//! files, applies confirmed safe fixes under `--fix`, and maps the result to the exit status.

use super::Context;
use crate::cli::DoctorArgs;
use crate::doctor::{self, FixOffer, Selection};
use crate::error::{Error, ExitStatus};

pub(super) fn run(args: &DoctorArgs, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let printer = ctx.printer;
    if args.list {
        printer.data(&doctor::list());
        return Ok(ExitStatus::Success);
    }
    let selection = Selection::parse(&args.checks)?;
    let start = ctx.start_dir();
    // Safe fixes: a prompt on a terminal, yes under `--yes`, none otherwise.
    let mut confirm = |offer: &FixOffer| {
        let confirmed = if ctx.global.yes {
            true
        } else if printer.interactive() {
            printer
                .confirm(format!("{}: {}?", offer.check_id, offer.description), true)
                .unwrap_or(false)
        } else {
            printer.warn(format!(
                "not applying `{}` for `{}` without a terminal; pass --yes to apply safe fixes",
                offer.description, offer.check_id
            ));
            false
        };
        if confirmed {
            printer.status(
                "Fixing",
                format!("{}: {}", offer.check_id, offer.description),
            );
        }
        confirmed
    };
    let confirm: Option<&mut doctor::Confirm<'_>> =
        if args.fix { Some(&mut confirm) } else { None };
    let report = super::block_on_interruptible(async {
        Ok(doctor::run(ctx.env, &start, &selection, confirm).await)
    })?;
    if let Some(path) = &args.report {
        let files = report.write_files(&ctx.env.cwd.join(path))?;
        printer.status(
            "Wrote",
            format!(
                "{} and {}",
                ctx.env.display_path(&files.json),
                ctx.env.display_path(&files.markdown)
            ),
        );
    }
    if args.json {
        printer.data(&report.to_json()?);
    } else {
        printer.data(&report.to_text(printer));
    }
    Ok(report.exit_status(args.strict))
}
