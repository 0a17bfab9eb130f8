//! `devboot aws status`: who the project's AWS credentials belong to, where they come from and
//! when they expire — resolved on this machine, never printing a secret.

use std::time::SystemTime;

use serde::Serialize;

use super::Context;
use crate::aws::{self, HostAws, HostOptions, SsoState};
use crate::cli::AwsCommand;
use crate::error::{Error, ExitStatus};
use crate::project::Project;

#[derive(Serialize)]
struct Status {
    profile: String,
    region: String,
    account: String,
    arn: String,
    source: String,
    access_key_id: String,
    /// RFC 3339, or `null` for long-term keys.
    expires: Option<String>,
    /// The account the project expects, when it names one.
    expected_account: Option<String>,
}

pub(super) fn run(command: &AwsCommand, ctx: &Context<'_>) -> Result<ExitStatus, Error> {
    let AwsCommand::Status { json, endpoint_url } = command;
    // Outside a project the developer's default AWS setup is shown.
    let settings = Project::discover(&ctx.start_dir())
        .ok()
        .and_then(|p| p.stack.aws);
    let mut options = settings
        .as_ref()
        .map(HostOptions::from_stack)
        .unwrap_or_default();
    options.endpoint_url.clone_from(endpoint_url);
    let host = HostAws::load(ctx.env, &options)?;
    if let Some(login) = host.sso_state(SystemTime::now()).login_command() {
        return Err(Error::Usage {
            message: "the AWS SSO login of this profile has expired or is missing".into(),
            hint: Some(format!("run `{login}`, then try again")),
        });
    }
    let identity = super::block_on_interruptible(async { Ok(host.identity().await?) })?;
    let status = Status {
        profile: identity.profile.clone(),
        region: identity.region.clone(),
        account: identity.account.clone(),
        arn: identity.arn.clone(),
        source: format!("{:?}", identity.source).to_lowercase(),
        access_key_id: identity.access_key_id_masked.clone(),
        expires: identity.expires.map(aws::rfc3339),
        expected_account: settings.and_then(|s| s.account),
    };
    let wrong_account = status
        .expected_account
        .as_ref()
        .is_some_and(|expected| *expected != status.account);
    if *json {
        ctx.printer.json(&status)?;
    } else {
        let mut out = format!(
            "profile  {}\nregion   {}\naccount  {}\narn      {}\nsource   {}\nkey id   {}\nexpires  {}\n",
            status.profile,
            status.region,
            status.account,
            status.arn,
            status.source,
            status.access_key_id,
            status
                .expires
                .as_deref()
                .unwrap_or("never (long-term keys)"),
        );
        if let Some(expected) = &status.expected_account {
            out.push_str(&format!("expected {expected}\n"));
        }
        ctx.printer.data(&out);
    }
    if wrong_account {
        return Err(Error::Usage {
            message: format!(
                "these credentials belong to account {}, the project expects {}",
                status.account,
                status.expected_account.unwrap_or_default()
            ),
            hint: Some(
                "pick the right profile (`[aws] profile` in devboot.local.toml, or AWS_PROFILE)"
                    .into(),
            ),
        });
    }
    Ok(ExitStatus::Success)
}

/// Stops before `up` changes anything when the project's AWS SSO login has expired.
pub(super) fn check_sso(
    ctx: &Context<'_>,
    settings: Option<&crate::model::Aws>,
) -> Result<(), Error> {
    let Some(settings) = settings.filter(|s| s.mode != crate::model::AwsMode::Emulator) else {
        return Ok(());
    };
    let host = HostAws::load(ctx.env, &HostOptions::from_stack(settings))?;
    match host.sso_state(SystemTime::now()) {
        state @ (SsoState::Expired { .. } | SsoState::Missing { .. }) => {
            let login = state.login_command().unwrap_or("aws sso login").to_owned();
            Err(Error::Prerequisites(vec![crate::error::Problem {
                message: "the AWS SSO login for this project has expired or is missing".into(),
                fix: Some(format!("run `{login}`, then `devboot up` again")),
            }]))
        }
        _ => Ok(()),
    }
}
