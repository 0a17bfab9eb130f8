//! Approving the capabilities of the project's published profiles before `up` acts: the same
//! path as the AWS-profile approval (asked on a terminal, `--yes` approves, refused otherwise
//! with the way to approve), remembered by [`crate::consent`] per project and layer. An
//! upgrade that adds a capability asks for the new ones only.

use std::collections::BTreeSet;

use super::Context;
use crate::consent::{self, Consents, LayerApproval};
use crate::error::Error;
use crate::profile::capabilities::{self, Capability};
use crate::project::Project;

/// Each published layer with capabilities not approved yet for this project, and those.
pub(super) fn pending(
    ctx: &Context<'_>,
    project: &Project,
) -> Vec<(LayerApproval, BTreeSet<Capability>)> {
    let consents = Consents::of_user(ctx.env);
    consent::capability_approvals(consents.as_ref(), &project.stack.root, &project.profile)
        .into_iter()
        .filter_map(|layer| {
            let pending = layer.pending();
            (!pending.is_empty()).then_some((layer, pending))
        })
        .collect()
}

/// Asks for (or, with `--yes`, approves) every capability of a published layer not approved
/// yet, before `up` changes anything; refuses when it cannot ask.
pub(super) fn approve(ctx: &Context<'_>, project: &Project) -> Result<(), Error> {
    let consents = Consents::of_user(ctx.env);
    for (layer, pending) in pending(ctx, project) {
        let display = &layer.layer.display;
        let names = capabilities::names(&pending);
        let approved = if ctx.global.yes {
            ctx.printer.status(
                "Approved",
                format!("{names} of the published profile {display} for this project (--yes)"),
            );
            true
        } else if ctx.printer.interactive() {
            ctx.printer.note(format!(
                "The published profile {display} asks to:\n  {}",
                layer.layer.describe(&pending).join("\n  ")
            ));
            ctx.printer.confirm(
                format!("Allow {display} to do this in this project?"),
                false,
            )?
        } else {
            false
        };
        if !approved {
            return Err(Error::Refused {
                message: format!(
                    "the published profile {display} uses {names}, which you have not approved for this project"
                ),
                hint: Some(
                    "`devboot plan` shows what each lets the profile do; run `devboot up` on a terminal to approve them once, or `devboot up --yes`"
                        .into(),
                ),
            });
        }
        if let Some(consents) = &consents {
            consents.grant_all(&project.stack.root, &layer.grants(&pending))?;
        }
    }
    Ok(())
}
