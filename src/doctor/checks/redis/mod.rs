//! `redis.*`: the stack's Redis services, asked from inside their running containers: each
//! answers `PING` (`redis-cli ping`; one that asks for a password still answers).

use std::sync::Arc;

use crate::doctor::check::{Check, Outcome, Run, SLOW};
use crate::doctor::engine::exec;
use crate::doctor::facts::Facts;
use crate::doctor::facts::project::{is_redis, kind_to_check, not_running};

/// The family's checks, in report order.
pub(super) const CHECKS: &[Check] = &[READY];

pub(super) const READY: Check = Check {
    id: "redis.ready",
    title: "Redis answers PING",
    depends_on: &["docker.daemon", "profile.valid"],
    timeout: SLOW,
    run: Run::Async(|facts| Box::pin(redis_ready(facts))),
    safe_fix: None,
};

async fn redis_ready(facts: Arc<Facts>) -> Result<Outcome, Outcome> {
    let (state, services, connection) = kind_to_check(&facts, "Redis", is_redis).await?;
    let mut outcomes = Vec::new();
    for service in services {
        let name = &service.name;
        let Some(container) = state.running(name) else {
            outcomes.push(not_running(name));
            continue;
        };
        outcomes.push(match exec(&connection.docker, &container.id, &["redis-cli", "ping"]).await {
            Ok(output) => {
                let text = output.text();
                if text.contains("PONG") {
                    Outcome::ok(format!("`{name}` answers PING"))
                } else if text.contains("NOAUTH") {
                    Outcome::ok(format!("`{name}` answers (it requires a password)"))
                } else if text.contains("LOADING") {
                    Outcome::warn(format!("`{name}` is still loading its dataset"))
                        .fix("wait a moment; large datasets take a while to load")
                } else {
                    Outcome::error(format!(
                        "`{name}` does not answer PING (`redis-cli ping` exited with code {})",
                        output.code
                    ))
                    .details(output.tail(5).into_iter().map(|l| format!("  {name} | {l}")))
                    .detail("`MISCONF` means Redis cannot write its snapshot: the disk is full or the volume is not writable")
                    .fix_with(
                        format!("read what Redis says in `{name}`'s log"),
                        format!("devboot logs {name} -n 100"),
                    )
                }
            }
            Err(error) => Outcome::error(format!("cannot run `redis-cli ping` in `{name}`: {error}")),
        });
    }
    Ok(Outcome::combine(outcomes))
}
