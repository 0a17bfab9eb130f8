//! `devboot db` against the real engine and the fixture Rails app: snapshots taken, listed,
//! restored and removed, with the app's rows as the witness.

use crate::common::{require_engine, stderr_lines};
use crate::stack::{AUTO_PORTS, EngineProject, docker, http, with_db_image};

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

#[test]
fn an_import_that_fails_half_way_leaves_the_database_as_it_was_and_a_good_one_replaces_it() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("dbimport", AUTO_PORTS);
    stack.up();
    let web = stack.host_port("web");
    assert_eq!(http("POST", web, "/notes?body=before").0, 200);

    // 2,000 statements; the 1,000th fails.
    let mut sql = String::from("CREATE TABLE imported (n integer);\n");
    for n in 2..=2000 {
        if n == 1000 {
            sql.push_str("INSERT INTO missing_table VALUES (1);\n");
        } else {
            sql.push_str(&format!("INSERT INTO imported VALUES ({n});\n"));
        }
    }
    stack.project.write("broken.sql", &sql);
    let out = stack.devboot(&["db", "import", "broken.sql"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(":1000: ERROR"),
        "psql names the statement: {}",
        out.stderr
    );
    assert!(out.stderr.contains("left as it was"), "{}", out.stderr);
    assert_eq!(notes(&stack), "before");
    let (_, databases) = stack.psql("SELECT string_agg(datname, ',') FROM pg_database");
    assert!(
        !databases.contains("_import"),
        "no staging database is left: {databases}"
    );

    // An export, then changes, then the export imported back (custom format, then gzip).
    let out = stack.devboot(&["db", "export", "saved.dump"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(stack.project.read_bytes("saved.dump").starts_with(b"PGDMP"));
    let out = stack.devboot(&["db", "export", "saved.sql.gz"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(http("POST", web, "/notes?body=after").0, 200);
    assert_eq!(notes(&stack), "before,after");
    let out = stack.devboot(&["db", "import", "saved.dump"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("Imported"), "{}", out.stderr);
    assert_eq!(notes(&stack), "before");
    assert_eq!(http("POST", web, "/notes?body=again").0, 200);
    let out = stack.devboot(&["db", "import", "saved.sql.gz"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(notes(&stack), "before");
    // The app works on the imported database.
    let (status, body) = http("GET", web, "/");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("notes=1 "), "{body}");

    // The team's sanitising SQL runs in the imported database before it replaces the current
    // one; a statement that fails fails the import, and the current database stays.
    let local = stack.project.read("devboot.local.toml");
    let sanitise = "[db.import]\nafter = [\"UPDATE notes SET body = 'sanitised'\"]\n";
    stack
        .project
        .write("devboot.local.toml", &format!("{local}{sanitise}"));
    let out = stack.devboot(&["db", "import", "saved.dump"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(notes(&stack), "sanitised");
    let broken = "[db.import]\nafter = [\"UPDATE no_such_table SET x = 1\"]\n";
    stack
        .project
        .write("devboot.local.toml", &format!("{local}{broken}"));
    let out = stack.devboot(&["db", "import", "saved.sql.gz"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no_such_table"), "{}", out.stderr);
    assert_eq!(notes(&stack), "sanitised");
}

const POSTGRES_15: &str = "127.0.0.1:5000/devboot/postgres:15";
const POSTGRES_17: &str = "127.0.0.1:5000/devboot/postgres:17";

/// Runs `sql` with psql in the project's `db` container, in `database`; its output, unaligned.
fn sql_in(stack: &EngineProject, database: &str, sql: &str) -> String {
    docker(&[
        "exec",
        &format!("{}-db-1", stack.name),
        "psql",
        "-X",
        "-U",
        "postgres",
        "-d",
        database,
        "-v",
        "ON_ERROR_STOP=1",
        "-tAc",
        sql,
    ])
    .trim()
    .to_owned()
}

/// Seeds two databases with tables of different sizes, a schema and a partitioned table, and a
/// role that owns one database.
fn seed_two_databases(stack: &EngineProject) {
    sql_in(
        stack,
        "postgres",
        "CREATE ROLE shopkeeper LOGIN PASSWORD 'pw'",
    );
    sql_in(stack, "postgres", "CREATE DATABASE app_development");
    sql_in(stack, "postgres", "CREATE DATABASE shop OWNER shopkeeper");
    sql_in(
        stack,
        "app_development",
        "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); \
         INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 2500) g; \
         CREATE TABLE empty_one (id int); \
         CREATE SCHEMA \"Billing\"; \
         CREATE TABLE \"Billing\".\"Invoices\" (id int, total numeric); \
         INSERT INTO \"Billing\".\"Invoices\" SELECT g, g * 1.5 FROM generate_series(1, 321) g",
    );
    sql_in(
        stack,
        "shop",
        "CREATE TABLE orders (id bigint, placed date, item text) PARTITION BY RANGE (placed); \
         CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01'); \
         CREATE TABLE orders_2026 PARTITION OF orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'); \
         INSERT INTO orders SELECT g, DATE '2025-01-01' + (g % 700), 'item' FROM generate_series(1, 4000) g; \
         ALTER TABLE orders OWNER TO shopkeeper",
    );
}

/// Every table's exact row count in the two seeded databases, one line per table.
fn row_counts(stack: &EngineProject) -> String {
    let count = "SELECT string_agg(format('%s.%s=%s', table_schema, table_name, \
        (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', table_schema, table_name), false, true, '')))[1]), ' ' ORDER BY table_schema COLLATE \"C\", table_name COLLATE \"C\") \
        FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')";
    format!(
        "app_development: {}\nshop: {}",
        sql_in(stack, "app_development", count),
        sql_in(stack, "shop", count)
    )
}

fn volumes_named(prefix: &str) -> Vec<String> {
    docker(&["volume", "ls", "-q", "--filter", &format!("name={prefix}")])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_upgrade_from_postgres_15_to_17_keeps_every_row_and_the_old_data_until_finished() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("dbupgrade", &with_db_image(POSTGRES_15));
    let out = stack.devboot(&["up", "--yes", "db"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    seed_two_databases(&stack);
    let before = row_counts(&stack);
    assert!(before.contains("public.notes=2500"), "{before}");
    assert!(
        before.contains("public.orders_2026=") && before.contains("public.orders=0"),
        "{before}"
    );

    // The profile moves to Postgres 17: `up` refuses the old data and points at the upgrade.
    stack.project.write(
        "devboot.local.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n{}",
            stack.name,
            with_db_image(POSTGRES_17)
        ),
    );
    let refused = stack.devboot(&["up", "--yes", "db"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("devboot db upgrade"),
        "{}",
        refused.stderr
    );

    let out = stack.devboot(&["db", "upgrade"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for said in [
        "Saved", "Dumped", "Restored", "Verified", "Swapped", "Upgraded",
    ] {
        assert!(out.stderr.contains(said), "{said}: {}", out.stderr);
    }
    assert!(
        out.stderr.contains("6821 rows in 6 tables"),
        "{}",
        out.stderr
    );

    let out = stack.devboot(&["up", "--yes", "db"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sql_in(&stack, "postgres", "SHOW server_version_num").get(..2),
        Some("17")
    );
    assert_eq!(row_counts(&stack), before, "every table kept its rows");
    // The database's owner and the role came along (the role's password too: it logs in).
    assert_eq!(
        sql_in(
            &stack,
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'"
        ),
        "shopkeeper"
    );

    // The old data is kept as a snapshot until the developer finishes.
    let listed = stack.devboot(&["db", "snapshots", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed[0]["name"], "postgres-15-before-upgrade", "{listed}");
    assert!(
        volumes_named(&format!("{}_db-data.upgrade", stack.name)).is_empty(),
        "the work volume is gone"
    );
    let again = stack.devboot(&["db", "upgrade"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("nothing to upgrade"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("--finish"), "{}", again.stderr);
    let unconfirmed = stack.devboot(&["db", "upgrade", "--finish"]);
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.stderr);
    let finished = stack.devboot(&["db", "upgrade", "--finish", "--yes"]);
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert!(finished.stderr.contains("Removed"), "{}", finished.stderr);
    let listed = stack.devboot(&["db", "snapshots"]);
    assert!(listed.stderr.contains("No snapshots"), "{}", listed.stderr);
}

#[test]
fn an_upgrade_whose_restore_fails_rolls_back_to_the_old_data_and_database() {
    if !require_engine() {
        return;
    }
    let stack = EngineProject::new("dbupgradefail", &with_db_image(POSTGRES_15));
    let out = stack.devboot(&["up", "--yes", "db"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    seed_two_databases(&stack);
    // `adminpack` was removed in Postgres 17: its `CREATE EXTENSION` in the dump cannot be
    // restored there, as happens with extensions a new major no longer ships.
    sql_in(&stack, "shop", "CREATE EXTENSION adminpack");
    let before = row_counts(&stack);
    let db_before = stack.container_ids();

    stack.project.write(
        "devboot.local.toml",
        &format!(
            "[project]\nname = \"{}\"\n\n{}",
            stack.name,
            with_db_image(POSTGRES_17)
        ),
    );
    let out = stack.devboot(&["db", "upgrade"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("adminpack"),
        "the cause is named: {}",
        out.stderr
    );
    assert!(out.stderr.contains("Rolled back"), "{}", out.stderr);
    assert!(!out.stderr.contains("Upgraded"), "{}", out.stderr);
    // The same container runs Postgres 15 on the same data; nothing the upgrade made is left.
    let as_before = || {
        assert_eq!(stack.container_ids(), db_before);
        assert_eq!(
            sql_in(&stack, "postgres", "SHOW server_version_num").get(..2),
            Some("15")
        );
        assert_eq!(row_counts(&stack), before);
        assert_eq!(
            volumes_named(&format!("{}_db-data", stack.name)),
            [format!("{}_db-data", stack.name)],
            "no snapshot or work volume is left"
        );
    };
    as_before();

    // Ctrl-C once the snapshot is taken (while the old server dumps): the same rollback.
    sql_in(&stack, "shop", "DROP EXTENSION adminpack");
    let mut upgrade = stack
        .project
        .devboot()
        .args(["db", "upgrade"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut upgrade);
    lines
        .iter()
        .find(|line| line.contains("Saved"))
        .expect("the upgrade takes its snapshot");
    std::process::Command::new("kill")
        .args(["-INT", &upgrade.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(upgrade.wait().unwrap().code(), Some(1));
    let said: Vec<String> = lines.iter().collect();
    assert!(said.iter().any(|l| l.contains("interrupted")), "{said:?}");
    assert!(said.iter().any(|l| l.contains("Rolled back")), "{said:?}");
    as_before();
}
