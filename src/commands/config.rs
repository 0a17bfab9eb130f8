//! `devboot config`: print the generated compose file.

use super::Context;
use crate::error::{Error, ExitStatus};
use crate::render;

pub(super) fn run(ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let project = ctx.project()?;
    ctx.printer.data(&render::compose_file(&project.stack)?);
    Ok(ExitStatus::Success)
}
