//! `rails.lockfile_platforms`: Gemfile.lock lists the platform of the engine (Linux on its
//! CPU architecture), or `bundle install` in the container cannot use the locked gems.

use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::facts::Facts;
use crate::doctor::facts::platform::{engine_arch, oci_arch};

pub(super) const LOCKFILE_PLATFORMS: Check = Check {
    id: "rails.lockfile_platforms",
    title: "Gemfile.lock lists the engine's platform",
    depends_on: &["docker.daemon"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(lockfile_platforms(facts))),
    safe_fix: None,
};

/// The `PLATFORMS` Gemfile.lock lists.
fn lockfile_platforms_of(lockfile: &str) -> Option<Vec<String>> {
    let mut lines = lockfile.lines();
    lines.find(|line| line.trim_end() == "PLATFORMS")?;
    Some(
        lines
            .take_while(|line| line.starts_with(' '))
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty())
            .collect(),
    )
}

/// The gem platform of Linux on the engine's architecture: `x86_64-linux`, `aarch64-linux`.
fn gem_platform(engine_arch: &str) -> String {
    let cpu = match oci_arch(engine_arch).as_str() {
        "amd64" => "x86_64".to_owned(),
        "arm64" => "aarch64".to_owned(),
        "arm" => "arm".to_owned(),
        "386" => "x86".to_owned(),
        other => other.to_owned(),
    };
    format!("{cpu}-linux")
}

async fn lockfile_platforms(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let path = facts.app_dir().join("Gemfile.lock");
    let lockfile =
        std::fs::read_to_string(&path).map_err(|_| Outcome::skipped("no Gemfile.lock here"))?;
    let engine = engine_arch(&facts).await?;
    Ok(lockfile_platforms_outcome(&lockfile, &engine))
}

fn lockfile_platforms_outcome(lockfile: &str, engine_arch: &str) -> Outcome {
    let Some(platforms) = lockfile_platforms_of(lockfile) else {
        return Outcome::skipped("Gemfile.lock has no PLATFORMS section");
    };
    let want = gem_platform(engine_arch);
    let covered = platforms
        .iter()
        .find(|p| *p == "ruby" || *p == &want || p.starts_with(&format!("{want}-")));
    if let Some(platform) = covered {
        let why = if platform == "ruby" {
            " (`ruby`: gems build from source)".to_owned()
        } else {
            String::new()
        };
        return Outcome::ok(format!(
            "Gemfile.lock lists {platform}{why}; the engine runs {engine_arch}"
        ));
    }
    Outcome::warn(format!(
        "Gemfile.lock lists {}, not {want}, the platform of the engine ({engine_arch})",
        if platforms.is_empty() {
            "no platform".to_owned()
        } else {
            platforms.join(", ")
        }
    ))
    .detail(format!("`bundle install` in the image then stops with `Your bundle only supports platforms [...] but your local platform is {want}` when the lock file is frozen, or re-resolves gems and rewrites Gemfile.lock through the bind mount"))
    .fix_with(
        "add the platform to Gemfile.lock (on the host, then commit it)",
        format!("bundle lock --add-platform {want}"),
    )
    .fix_with("then rebuild the app image", "devboot up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Status;

    const LOCK: &str = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n\nPLATFORMS\n  arm64-darwin-22\n  x86_64-linux-gnu\n\nDEPENDENCIES\n  rake\n";

    #[test]
    fn lockfile_platforms_must_cover_the_engine() {
        assert_eq!(
            lockfile_platforms_of(LOCK).unwrap(),
            ["arm64-darwin-22", "x86_64-linux-gnu"]
        );
        assert_eq!(
            lockfile_platforms_outcome(LOCK, "x86_64").status,
            Status::Ok
        );
        let outcome = lockfile_platforms_outcome(LOCK, "aarch64");
        assert_eq!(outcome.status, Status::Warn, "{outcome:?}");
        assert_eq!(
            outcome.summary,
            "Gemfile.lock lists arm64-darwin-22, x86_64-linux-gnu, not aarch64-linux, the platform of the engine (aarch64)"
        );
        assert_eq!(
            outcome.fixes[0].command.as_deref(),
            Some("bundle lock --add-platform aarch64-linux")
        );
        let generic = LOCK.replace("  arm64-darwin-22\n", "  ruby\n");
        assert_eq!(
            lockfile_platforms_outcome(&generic, "aarch64").status,
            Status::Ok
        );
        assert_eq!(
            lockfile_platforms_outcome("GEM\n", "x86_64").status,
            Status::Skipped
        );
    }
}
