//! `devboot man`: the man pages, rendered from the clap command (`clap_mangen`). On stdout the
//! page of `devboot` itself; with `--out-dir DIR`, that page and one per subcommand
//! (`devboot-up.1`, `devboot-profile-show.1`, …), the pages its SUBCOMMANDS section names.

use std::path::Path;

use super::Context;
use crate::error::{Error, ExitStatus};
use crate::fsio;

pub(super) fn run(out_dir: Option<&Path>, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let mut command = super::cli_command().disable_help_subcommand(true);
    // Gives every subcommand its full name (`devboot-profile-show`), as the pages are named.
    command.build();
    let Some(out_dir) = out_dir else {
        ctx.printer
            .data(&String::from_utf8_lossy(&render(&command)?));
        return Ok(ExitStatus::Success);
    };
    let out_dir = ctx.env.cwd.join(out_dir);
    let mut pages = Vec::new();
    collect(&command, &mut pages);
    for page in &pages {
        let man = clap_mangen::Man::new(page.clone());
        fsio::write_atomic(&out_dir.join(man.get_filename()), &render(page)?)?;
    }
    ctx.printer.status(
        "Wrote",
        format!("{} man pages to {}", pages.len(), out_dir.display()),
    );
    Ok(ExitStatus::Success)
}

/// `command` and every visible subcommand, depth first.
fn collect(command: &clap::Command, pages: &mut Vec<clap::Command>) {
    pages.push(command.clone());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages);
    }
}

fn render(command: &clap::Command) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("rendering the man page: {e}")))?;
    Ok(out)
}
