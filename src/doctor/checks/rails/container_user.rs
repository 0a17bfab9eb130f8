//! `rails.container_user`: on Linux, the app container runs as the developer's uid:gid, so
//! what it writes through the bind mount (log/, tmp/, db/schema.rb) belongs to them, and what
//! they own it may write. Docker Desktop and similar map ownership on bind mounts themselves.
//! `rails.file_ownership` finds the files once they are there; this one names the cause.

use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::engine::exec;
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::{project_state, running_app};

pub(super) const CONTAINER_USER: Check = Check {
    id: "rails.container_user",
    title: "The app container runs as your user",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(container_user(facts))),
    safe_fix: None,
};

/// A user and group id.
type Ids = (u32, u32);

async fn container_user(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    if !cfg!(target_os = "linux") {
        return Err(Outcome::skipped(
            "not Linux: Docker Desktop and similar map file ownership on bind mounts",
        ));
    }
    let state = project_state(&facts).await?;
    let app = state
        .stack
        .app_service()
        .ok_or_else(|| Outcome::skipped("the profile has no app service"))?;
    let service = app.name.as_str();
    let user = state
        .inspected
        .get(service)
        .and_then(|i| i.config.as_ref())
        .map(|c| c.user.clone().unwrap_or_default())
        .ok_or_else(|| Outcome::skipped(format!("`{service}` has no container")))?;
    // Numbers are read as they are (also from a container that has stopped); names only the
    // running container can tell.
    let ids = if let Some(ids) = numeric_user(&user) {
        ids
    } else {
        let (_, id) = running_app(state)?;
        let connection = facts
            .connection()
            .await
            .map_err(|e| Outcome::skipped(format!("no engine: {e}")))?;
        let mut ids = [0u32; 2];
        for (slot, flag) in ids.iter_mut().zip(["-u", "-g"]) {
            let output = exec(&connection.docker, id, &["id", flag])
                .await
                .map_err(|e| Outcome::skipped(format!("cannot run `id` in `{service}`: {e}")))?;
            *slot = output
                .lines
                .first()
                .and_then(|l| l.trim().parse().ok())
                .filter(|_| output.code == 0)
                .ok_or_else(|| {
                    Outcome::skipped(format!(
                        "`{service}` runs as `{user}`, whose id `id` does not tell"
                    ))
                })?;
        }
        (ids[0], ids[1])
    };
    let host = (
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    );
    Ok(judge(service, &user, ids, host))
}

/// `1000`, `1000:1000`, or empty (root); `None` for a name.
fn numeric_user(user: &str) -> Option<Ids> {
    if user.is_empty() {
        return Some((0, 0));
    }
    let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
    let uid: u32 = uid.parse().ok()?;
    // Without a group, Docker takes the primary group from the image's /etc/passwd; only the
    // uid is compared, so the uid stands in for it.
    let gid = if gid.is_empty() {
        uid
    } else {
        gid.parse().ok()?
    };
    Some((uid, gid))
}

fn judge(service: &str, user: &str, (uid, gid): Ids, (yours, your_gid): Ids) -> Outcome {
    let written = if user.is_empty() {
        "root (no USER)".to_owned()
    } else {
        format!("`{user}`")
    };
    if uid == yours {
        return Outcome::ok(format!("`{service}` runs as {written}, uid {uid} like you"));
    }
    let consequence = if uid == 0 {
        "what it writes in the project (log/, tmp/, db/schema.rb) belongs to root: you cannot change or delete it without sudo, and git cannot clean it".to_owned()
    } else {
        format!(
            "what it writes in the project (log/, tmp/, db/schema.rb) belongs to uid {uid}, and it cannot write in directories you own: Rails stops with `Permission denied @ dir_s_mkdir - tmp/cache`"
        )
    };
    Outcome::warn(format!(
        "`{service}` runs as {written} (uid {uid}:{gid}), you as {yours}:{your_gid}"
    ))
    .detail(consequence)
    .fix(format!(
        "run the app container as you: build the development image with a user of uid {yours} and gid {your_gid} (e.g. build args `UID`/`GID` and `USER $UID:$GID` in its Dockerfile)"
    ))
    .fix_with(
        "take back what it already wrote",
        "sudo chown -R $(id -u):$(id -g) log tmp db",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    #[test]
    fn users_are_read_as_docker_reads_them() {
        assert_eq!(numeric_user(""), Some((0, 0)));
        assert_eq!(numeric_user("1000:1000"), Some((1000, 1000)));
        assert_eq!(numeric_user("1000"), Some((1000, 1000)));
        assert_eq!(numeric_user("rails:rails"), None);
        assert_eq!(numeric_user("1000:staff"), None);
    }

    #[test]
    fn another_uid_than_yours_is_warned_about_with_the_fix() {
        // Rails' production Dockerfile ends with `USER 1000:1000`; here the developer is 1001.
        let outcome = judge("web", "1000:1000", (1000, 1000), (1001, 1001));
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(
            outcome.summary,
            "`web` runs as `1000:1000` (uid 1000:1000), you as 1001:1001"
        );
        assert!(outcome.details[0].contains("Permission denied"));
        let root = judge("web", "", (0, 0), (1000, 1000));
        assert!(root.details[0].contains("belongs to root"), "{root:?}");
        assert_eq!(judge("web", "", (0, 0), (0, 0)).status, Status::Ok);
    }
}
