//! Running checks: every check whose dependencies have passed starts at once (file checks on
//! the blocking pool, server checks as tasks), each under its own time limit; a check whose
//! dependency failed or was skipped is skipped with the reason; a panic or a timeout becomes an
//! `error` result, never a crash or a hang. Results come back in registry order, whatever
//! order they finished in. With `--fix`, confirmed safe fixes are applied afterwards and the
//! fixed checks (and those depending on them) run again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::{JoinError, JoinSet};

use super::check::{Check, Outcome, Run, Status};
use super::facts::Facts;
use super::select::Selection;

/// One check's result before redaction.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: &'static Check,
    pub outcome: Outcome,
    pub duration: Duration,
}

/// What `--fix` asks the user before applying a safe fix.
#[derive(Debug, Clone, Copy)]
pub struct FixOffer {
    pub check_id: &'static str,
    pub check_title: &'static str,
    /// What the fix does: "remove the stale `tmp/pids/server.pid`".
    pub description: &'static str,
}

/// Answers a [`FixOffer`]: `true` applies the fix. The command layer prompts on a terminal and
/// answers yes under `--yes`.
pub type Confirm<'a> = dyn FnMut(&FixOffer) -> bool + 'a;

/// Runs the selected checks of `registry` and their dependencies, applies confirmed safe fixes
/// when `confirm` is given, and returns the selected checks' results in registry order.
pub(super) async fn run(
    registry: &'static [Check],
    facts: &Arc<Facts>,
    selection: &Selection,
    confirm: Option<&mut Confirm<'_>>,
) -> Vec<CheckResult> {
    let needed = with_dependencies(registry, selection);
    let mut results = run_checks(registry, facts, &needed, BTreeMap::new()).await;
    if let Some(confirm) = confirm {
        results = apply_fixes(registry, facts, selection, &needed, results, confirm).await;
    }
    registry
        .iter()
        .filter(|check| selection.contains(check.id))
        .filter_map(|check| results.remove(check.id))
        .collect()
}

/// The selected ids and, transitively, every id they depend on.
fn with_dependencies(registry: &'static [Check], selection: &Selection) -> BTreeSet<&'static str> {
    let by_id: HashMap<&str, &Check> = registry.iter().map(|c| (c.id, c)).collect();
    let mut needed = BTreeSet::new();
    let mut pending: Vec<&'static str> = selection.ids().collect();
    while let Some(id) = pending.pop() {
        if needed.insert(id)
            && let Some(check) = by_id.get(id)
        {
            pending.extend(check.depends_on.iter().copied());
        }
    }
    needed
}

/// Whether a check can start: still waiting, blocked by a dependency that did not pass, or
/// ready.
enum Readiness {
    Waiting,
    Blocked(&'static str, Status),
    Ready,
}

fn readiness(check: &Check, results: &BTreeMap<&'static str, CheckResult>) -> Readiness {
    for dependency in check.depends_on {
        match results.get(dependency) {
            None => return Readiness::Waiting,
            Some(result) if !result.outcome.status.satisfies_dependents() => {
                return Readiness::Blocked(dependency, result.outcome.status);
            }
            Some(_) => {}
        }
    }
    Readiness::Ready
}

/// Runs every check of `registry` in `needed` that has no result in `known` yet.
async fn run_checks(
    registry: &'static [Check],
    facts: &Arc<Facts>,
    needed: &BTreeSet<&'static str>,
    known: BTreeMap<&'static str, CheckResult>,
) -> BTreeMap<&'static str, CheckResult> {
    let mut results = known;
    let mut pending: Vec<&'static Check> = registry
        .iter()
        .filter(|check| needed.contains(check.id) && !results.contains_key(check.id))
        .collect();
    let mut running = JoinSet::new();
    let mut running_ids = HashMap::new();
    loop {
        // Start what is ready; skipping one check may unblock (skip) another, so repeat.
        let mut progressed = true;
        while progressed {
            progressed = false;
            let mut index = 0;
            while index < pending.len() {
                let check = pending[index];
                match readiness(check, &results) {
                    Readiness::Waiting => index += 1,
                    Readiness::Blocked(dependency, status) => {
                        pending.remove(index);
                        results.insert(check.id, skipped_by(check, dependency, status));
                        progressed = true;
                    }
                    Readiness::Ready => {
                        pending.remove(index);
                        let handle = running.spawn(run_one(check, Arc::clone(facts)));
                        running_ids.insert(handle.id(), check);
                    }
                }
            }
        }
        match running.join_next_with_id().await {
            Some(Ok((_, result))) => {
                results.insert(result.check.id, result);
            }
            // `run_one` catches the check's own panics; this is a bug in the runner itself.
            Some(Err(error)) => {
                if let Some(check) = running_ids.get(&error.id()) {
                    results.insert(check.id, finished(check, crashed(error), Duration::ZERO));
                }
            }
            None => {
                // Nothing runs and nothing can start: the rest wait on ids that never finish.
                for check in pending.drain(..) {
                    let outcome = Outcome::error(
                        "depends on a check that is not registered or depends on itself",
                    )
                    .detail(format!("depends on: {}", check.depends_on.join(", ")))
                    .fix("this is a bug in devboot; please report it");
                    results.insert(check.id, finished(check, outcome, Duration::ZERO));
                }
                break;
            }
        }
    }
    results
}

fn finished(check: &'static Check, outcome: Outcome, duration: Duration) -> CheckResult {
    CheckResult {
        check,
        outcome,
        duration,
    }
}

fn skipped_by(check: &'static Check, dependency: &str, status: Status) -> CheckResult {
    let why = match status {
        Status::Skipped => "was skipped",
        _ => "failed",
    };
    finished(
        check,
        Outcome::skipped(format!("skipped: `{dependency}` {why}")),
        Duration::ZERO,
    )
}

/// Runs one check under its time limit, turning a panic or a timeout into an error result.
async fn run_one(check: &'static Check, facts: Arc<Facts>) -> CheckResult {
    let started = Instant::now();
    let outcome = match check.run {
        Run::Blocking(run) => {
            // A blocking check cannot be stopped; past its limit it is abandoned to finish
            // on its own thread, and the report goes on without it.
            let handle = tokio::task::spawn_blocking(move || run(&facts));
            match tokio::time::timeout(check.timeout, handle).await {
                Ok(Ok(Ok(outcome) | Err(outcome))) => outcome,
                Ok(Err(error)) => crashed(error),
                Err(_elapsed) => timed_out(check),
            }
        }
        Run::Async(run) => {
            let mut handle = tokio::spawn(run(facts));
            match tokio::time::timeout(check.timeout, &mut handle).await {
                Ok(Ok(Ok(outcome) | Err(outcome))) => outcome,
                Ok(Err(error)) => crashed(error),
                Err(_elapsed) => {
                    handle.abort();
                    timed_out(check)
                }
            }
        }
    };
    finished(check, outcome, started.elapsed())
}

fn crashed(error: JoinError) -> Outcome {
    let message = if error.is_panic() {
        panic_message(&*error.into_panic())
    } else {
        "it was cancelled".to_owned()
    };
    Outcome::error(format!("the check crashed: {message}"))
        .fix("this is a bug in devboot; please report it with this output")
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

fn timed_out(check: &Check) -> Outcome {
    Outcome::error(format!(
        "no result within {} s; the check was abandoned",
        check.timeout.as_secs_f64()
    ))
    .fix_with(
        "run it alone to see whether it is slow or stuck",
        format!("devboot doctor {} -v", check.id),
    )
}

/// Applies the confirmed safe fixes of the selected checks that found a problem, then runs
/// the fixed checks, and every check depending on them, again.
async fn apply_fixes(
    registry: &'static [Check],
    facts: &Arc<Facts>,
    selection: &Selection,
    needed: &BTreeSet<&'static str>,
    mut results: BTreeMap<&'static str, CheckResult>,
    confirm: &mut Confirm<'_>,
) -> BTreeMap<&'static str, CheckResult> {
    let mut fixed: Vec<&'static Check> = Vec::new();
    for check in registry.iter().filter(|check| selection.contains(check.id)) {
        let (Some(fix), Some(result)) = (check.safe_fix, results.get_mut(check.id)) else {
            continue;
        };
        if !result.outcome.status.is_problem() {
            continue;
        }
        let offer = FixOffer {
            check_id: check.id,
            check_title: check.title,
            description: fix.description,
        };
        if !confirm(&offer) {
            continue;
        }
        let applied = std::panic::catch_unwind(AssertUnwindSafe(|| (fix.apply)(facts)))
            .unwrap_or_else(|payload| Err(format!("it crashed: {}", panic_message(&*payload))));
        match applied {
            Ok(()) => fixed.push(check),
            Err(why) => result
                .outcome
                .details
                .push(format!("--fix could not {}: {why}", fix.description)),
        }
    }
    if fixed.is_empty() {
        return results;
    }
    // The fixed checks and, transitively, what depends on them.
    let mut rerun: BTreeSet<&'static str> = fixed.iter().map(|check| check.id).collect();
    let mut grew = true;
    while grew {
        grew = false;
        for check in registry.iter().filter(|check| needed.contains(check.id)) {
            if !rerun.contains(check.id) && check.depends_on.iter().any(|d| rerun.contains(d)) {
                rerun.insert(check.id);
                grew = true;
            }
        }
    }
    results.retain(|id, _| !rerun.contains(id));
    let mut results = run_checks(registry, facts, needed, results).await;
    for check in fixed {
        if let (Some(result), Some(fix)) = (results.get_mut(check.id), check.safe_fix) {
            result
                .outcome
                .details
                .insert(0, format!("--fix applied: {}", fix.description));
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::doctor::check::{QUICK, SafeFix};
    use crate::env::Environment;

    fn facts() -> Arc<Facts> {
        let dir = std::env::temp_dir();
        Arc::new(Facts::new(
            Environment::from_vars([("HOME", "/nonexistent")], dir.clone()),
            dir,
        ))
    }

    #[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
    fn ok(_: &Facts) -> Result<Outcome, Outcome> {
        Ok(Outcome::ok("fine"))
    }
    /// Ends early, as `?` does: reported like any outcome.
    fn fails(_: &Facts) -> Result<Outcome, Outcome> {
        Err(Outcome::error("broken"))
    }
    #[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
    fn warns(_: &Facts) -> Result<Outcome, Outcome> {
        Ok(Outcome::warn("meh"))
    }
    fn panics(_: &Facts) -> Result<Outcome, Outcome> {
        panic!("boom at the check")
    }
    #[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
    fn sleeps_blocking(_: &Facts) -> Result<Outcome, Outcome> {
        std::thread::sleep(Duration::from_millis(400));
        Ok(Outcome::ok("late"))
    }
    async fn sleeps_async(_: Arc<Facts>) -> Result<Outcome, Outcome> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(Outcome::ok("never"))
    }
    async fn answers_async(_: Arc<Facts>) -> Result<Outcome, Outcome> {
        tokio::task::yield_now().await;
        Ok(Outcome::ok("answered"))
    }

    const fn check(id: &'static str, depends_on: &'static [&'static str], run: Run) -> Check {
        Check {
            id,
            title: id,
            depends_on,
            timeout: QUICK,
            run,
            safe_fix: None,
        }
    }

    static REGISTRY: &[Check] = &[
        check("host.a", &[], Run::Blocking(ok)),
        check("host.b", &[], Run::Blocking(fails)),
        check("host.c", &[], Run::Blocking(warns)),
        check(
            "docker.a",
            &["host.a"],
            Run::Async(|facts| Box::pin(answers_async(facts))),
        ),
        check("docker.b", &["host.b"], Run::Blocking(ok)),
        check("docker.c", &["docker.b"], Run::Blocking(ok)),
        check("docker.d", &["host.c", "docker.a"], Run::Blocking(ok)),
        check("stack.crash", &[], Run::Blocking(panics)),
        check("stack.cycle", &["stack.cycle"], Run::Blocking(ok)),
        check("stack.unknown", &["nope.nope"], Run::Blocking(ok)),
        Check {
            timeout: Duration::from_millis(50),
            ..check("stack.slow", &[], Run::Blocking(sleeps_blocking))
        },
        Check {
            timeout: Duration::from_millis(50),
            ..check(
                "stack.hang",
                &[],
                Run::Async(|facts| Box::pin(sleeps_async(facts))),
            )
        },
    ];

    fn by_id(results: &[CheckResult]) -> BTreeMap<&str, &Outcome> {
        results.iter().map(|r| (r.check.id, &r.outcome)).collect()
    }

    #[tokio::test]
    async fn dependencies_gate_checks_and_failures_become_results() {
        let results = run(REGISTRY, &facts(), &Selection::all_in(REGISTRY), None).await;
        let ids: Vec<&str> = results.iter().map(|r| r.check.id).collect();
        let registry_order: Vec<&str> = REGISTRY.iter().map(|c| c.id).collect();
        assert_eq!(ids, registry_order, "results come in registry order");
        let outcome = by_id(&results);
        assert_eq!(outcome["docker.a"].summary, "answered");
        assert_eq!(outcome["docker.b"].status, Status::Skipped);
        assert_eq!(outcome["docker.b"].summary, "skipped: `host.b` failed");
        assert_eq!(
            outcome["docker.c"].summary,
            "skipped: `docker.b` was skipped"
        );
        assert_eq!(
            outcome["docker.d"].status,
            Status::Ok,
            "a warning lets dependents run"
        );
        assert_eq!(outcome["stack.crash"].status, Status::Error);
        assert!(outcome["stack.crash"].summary.contains("boom at the check"));
        for id in ["stack.cycle", "stack.unknown"] {
            assert_eq!(outcome[id].status, Status::Error, "{id}");
        }
        for id in ["stack.slow", "stack.hang"] {
            assert_eq!(outcome[id].status, Status::Error, "{id}");
            assert!(
                outcome[id].summary.contains("no result within 0.05 s"),
                "{id}"
            );
        }
    }

    #[tokio::test]
    async fn only_selected_checks_are_reported_but_dependencies_run() {
        let selection = Selection::parse_in(REGISTRY, &["docker.c".to_owned()]).unwrap();
        let results = run(REGISTRY, &facts(), &selection, None).await;
        assert_eq!(results.len(), 1);
        assert_eq!(
            results[0].outcome.summary,
            "skipped: `docker.b` was skipped"
        );
    }

    #[tokio::test]
    async fn checks_run_concurrently() {
        #[expect(clippy::unnecessary_wraps, reason = "the signature of a check")]
        fn slow(_: &Facts) -> Result<Outcome, Outcome> {
            std::thread::sleep(Duration::from_millis(300));
            Ok(Outcome::ok("slow"))
        }
        static SLOW: &[Check] = &[
            check("host.one", &[], Run::Blocking(slow)),
            check("host.two", &[], Run::Blocking(slow)),
            check("host.three", &[], Run::Blocking(slow)),
        ];
        let started = Instant::now();
        let results = run(SLOW, &facts(), &Selection::all_in(SLOW), None).await;
        assert!(results.iter().all(|r| r.outcome.status == Status::Ok));
        assert!(
            started.elapsed() < Duration::from_millis(850),
            "{:?}",
            started.elapsed()
        );
    }

    static FIXES_APPLIED: AtomicUsize = AtomicUsize::new(0);

    fn fixed_after_fix(_: &Facts) -> Result<Outcome, Outcome> {
        if FIXES_APPLIED.load(Ordering::SeqCst) > 0 {
            Ok(Outcome::ok("fixed"))
        } else {
            Err(Outcome::error("broken"))
        }
    }

    #[expect(clippy::unnecessary_wraps, reason = "the signature of a safe fix")]
    fn apply(_: &Facts) -> Result<(), String> {
        FIXES_APPLIED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn cannot_apply(_: &Facts) -> Result<(), String> {
        Err("read-only".into())
    }

    static FIXABLE: &[Check] = &[
        Check {
            safe_fix: Some(SafeFix {
                description: "make it right",
                apply,
            }),
            ..check("rails.fixable", &[], Run::Blocking(fixed_after_fix))
        },
        check("rails.after", &["rails.fixable"], Run::Blocking(ok)),
        Check {
            safe_fix: Some(SafeFix {
                description: "try",
                apply: cannot_apply,
            }),
            ..check("rails.stuck", &[], Run::Blocking(fails))
        },
        Check {
            safe_fix: Some(SafeFix {
                description: "never offered",
                apply: cannot_apply,
            }),
            ..check("rails.fine", &[], Run::Blocking(ok))
        },
    ];

    #[tokio::test]
    async fn confirmed_fixes_are_applied_and_the_checks_run_again() {
        let facts = facts();
        let selection = Selection::all_in(FIXABLE);
        // Declined: nothing is applied.
        let mut declined = |_: &FixOffer| false;
        let results = run(FIXABLE, &facts, &selection, Some(&mut declined)).await;
        assert_eq!(by_id(&results)["rails.fixable"].status, Status::Error);
        assert_eq!(FIXES_APPLIED.load(Ordering::SeqCst), 0);

        let mut offered = Vec::new();
        let mut accept = |offer: &FixOffer| {
            offered.push(offer.check_id);
            true
        };
        let results = run(FIXABLE, &facts, &selection, Some(&mut accept)).await;
        assert_eq!(
            offered,
            ["rails.fixable", "rails.stuck"],
            "only failing checks"
        );
        let outcome = by_id(&results);
        assert_eq!(outcome["rails.fixable"].status, Status::Ok);
        assert_eq!(
            outcome["rails.fixable"].details,
            ["--fix applied: make it right"]
        );
        assert_eq!(
            outcome["rails.after"].status,
            Status::Ok,
            "dependents ran again"
        );
        assert_eq!(outcome["rails.stuck"].status, Status::Error);
        assert_eq!(
            outcome["rails.stuck"].details,
            ["--fix could not try: read-only"]
        );
    }
}
