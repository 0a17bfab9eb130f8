//! `devboot db` against the real engine and the fixture Rails app: snapshots taken, listed,
//! restored and removed, with the app's rows as the witness.

use crate::common::require_engine;
use crate::stack::{AUTO_PORTS, EngineProject, docker, http};

fn notes(stack: &EngineProject) -> String {
    let (code, out) = stack.psql("SELECT string_agg(body, ',' ORDER BY id) FROM notes");
    assert_eq!(code, 0, "{out}");
    out
}

#[test]
fn a_snapshot_gives_back_the_rows_a_destructive_migration_dropped() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("dbsnap", AUTO_PORTS);
    stack.up();
    let web = stack.host_port("web");
    for body in ["one", "two", "three"] {
        assert_eq!(http("POST", web, &format!("/notes?body={body}")).0, 200);
    }
    assert_eq!(notes(&stack), "one,two,three");

    let out = stack.devboot(&["db", "snapshot", "before-migration"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("Saved"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Started"),
        "the database runs again: {}",
        out.stderr
    );
    assert_eq!(notes(&stack), "one,two,three", "a snapshot changes nothing");
    let again = stack.devboot(&["db", "snapshot", "before-migration"]);
    assert_eq!(again.code, 2, "a name is taken once: {}", again.stderr);

    // A destructive migration: the table and its rows are gone, the app fails.
    let (code, out) = stack.psql("DROP TABLE notes");
    assert_eq!(code, 0, "{out}");
    assert_eq!(http("GET", web, "/").0, 500);

    let listed = stack.devboot(&["db", "snapshots", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "before-migration");
    assert_eq!(listed[0]["of"], "db-data");
    assert_eq!(listed[0]["complete"], true);
    // A Postgres cluster is tens of MB (a size measured, not claimed).
    assert!(
        listed[0]["bytes"].as_u64().unwrap() > 10 << 20,
        "{listed:?}"
    );

    // Without a terminal, a restore needs --yes; nothing changed.
    let refused = stack.devboot(&["db", "restore", "before-migration"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(http("GET", web, "/").0, 500);

    let restored = stack.devboot(&["db", "restore", "--latest", "--yes"]);
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert!(restored.stderr.contains("Restored"), "{}", restored.stderr);
    assert_eq!(notes(&stack), "one,two,three");
    // The app reconnects to the restored database.
    let (status, body) = http("GET", web, "/");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("notes=3 "), "{body}");

    // `down` keeps snapshots and says so; `--rm` removes one.
    let down = stack.devboot(&["down"]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(
        down.stderr.contains("database snapshots before-migration"),
        "{}",
        down.stderr
    );
    let removed = stack.devboot(&["db", "snapshot", "--rm", "before-migration"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let listed = stack.devboot(&["db", "snapshots"]);
    assert!(listed.stderr.contains("No snapshots"), "{}", listed.stderr);
}

#[test]
fn a_restore_that_fails_leaves_the_data_as_it_was_and_the_database_running() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("dbfail", AUTO_PORTS);
    stack.up();
    let web = stack.host_port("web");
    assert_eq!(http("POST", web, "/notes?body=kept").0, 200);
    let out = stack.devboot(&["db", "snapshot", "cut-short"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(http("POST", web, "/notes?body=later").0, 200);
    // A snapshot whose copy was cut short (the engine died while it was taken) has no mark of
    // completion.
    let volume = format!("{}_db-data.snapshot.cut-short", stack.name);
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/s"),
        "--entrypoint",
        "rm",
        "127.0.0.1:5000/devboot/postgres:15",
        "/s/complete",
    ]);
    let out = stack.devboot(&["db", "restore", "cut-short", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("incomplete"), "{}", out.stderr);
    assert_eq!(notes(&stack), "kept,later", "the data is as it was");
    let listed = stack.devboot(&["db", "snapshots"]);
    assert!(listed.stdout.contains("incomplete"), "{}", listed.stdout);
}
