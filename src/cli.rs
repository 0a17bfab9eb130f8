//! The command line: clap definitions only, with the help texts users learn from.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  devboot init                 Write devboot.toml for this Rails repo
  devboot up                   Start the stack (again: only what changed)
  devboot plan                 Show what `devboot up` would change
  devboot status               Services, health and host ports
  devboot down                 Stop the stack; volumes are kept
  devboot doctor               Diagnose the machine and the stack, with fixes
  devboot db snapshot NAME     Save the database (`devboot db restore NAME` puts it back)
  devboot config               Print the generated compose file
  devboot exec web bin/rails routes
                               Run a command in a running service's container
  devboot run bin/rails db:seed
                               Run a command in a one-off container of the app
  devboot console              bin/rails console (also: psql, redis-cli)
  devboot ls                   Every devboot stack on this engine, with its checkout
  devboot test                 A shortcut the profile declares: [commands] test = \"bin/rails test\"
  devboot profile show --resolved
                               Show every setting and the file it came from

Exit codes: 0 success, 1 operation failed, 2 invalid input, 3 internal error. exec, run,
console, psql, redis-cli and profile shortcuts exit with the command's own status once it ran;
devboot's own failures (no project, service not running) print `error:` and exit 1, 2 or 3.";

/// Bootstrap a Rails + Postgres + Redis development stack on Docker, from a declarative profile.
#[derive(Debug, Parser)]
#[command(name = "devboot", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// Print only errors and requested data
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail (engine output, timings)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colour; `NO_COLOR` turns it off under `auto`
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Never draw progress bars
    #[arg(long, global = true, env = "DEVBOOT_NO_PROGRESS", hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_progress: bool,

    /// Never prompt; take the default answer (needed for destructive actions in scripts)
    #[arg(short = 'y', long, global = true, env = "DEVBOOT_YES", hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write devboot.toml for this repository (detects Rails, Ruby version, database)
    #[command(long_about = "Write devboot.toml for this repository.\n\n\
        Detects Rails from the Gemfile, the Ruby version from .ruby-version or the Gemfile, and \
        the database adapter, then picks a built-in profile. Adds `.devboot/` and \
        `devboot.local.toml` to .gitignore. Prompts only on a terminal; `--yes` takes the \
        detected defaults.")]
    Init(InitArgs),

    /// Show what `devboot up` would change, without changing anything
    #[command(
        long_about = "Show what `devboot up` would change, without changing anything: \
        generated files (create, update, unchanged, conflict), images (pull, build, present), \
        containers (create, recreate, start, unchanged) and setup commands, and the \
        capabilities of published profiles that `up` would ask you to approve first."
    )]
    Plan(PlanArgs),

    /// Start the stack: pull and build images, start services in order, run setup
    #[command(long_about = "Start the stack.\n\n\
        Checks prerequisites first (engine, tools, memory, free host ports) and changes nothing \
        if one is missing. Then writes .devboot/, pulls and builds images, starts services in \
        dependency order (independent ones together), waits until each is healthy, and runs the \
        profile's setup commands in the app service. Running it again changes only what \
        changed; volumes are never removed.\n\n\
        With an [aws] section the app gets your AWS identity without a long-term key: by \
        default devboot serves refreshing credentials on the container endpoint every AWS SDK \
        reads (169.254.170.2), from a background process that `devboot down` stops. An expired \
        SSO login stops `up` before anything changes (on a terminal it offers `aws sso login`).\n\n\
        A published profile (a catalog's, or a profile file outside the project) may do more \
        than run containers only through the capabilities it declares (setup commands, AWS \
        credentials, ports beyond 127.0.0.1, project files): the first `up` that uses one, and \
        every upgrade that adds one, lists them and asks before anything changes (`--yes` \
        approves); the answer is remembered outside the repository.")]
    Up(UpArgs),

    /// Stop and remove the stack: containers, networks, AWS endpoint (volumes are kept)
    Down(DownArgs),

    /// Show each service's state, health and host ports
    Status(StatusArgs),

    /// List every devboot stack on this engine: checkout, state, ports, disk use
    #[command(
        long_about = "List every devboot stack on this engine: its project name, the \
        checkout (directory) it runs from, its state (running, partly running, stopped, or \
        down with volumes kept), its published host ports and the disk its volumes use.\n\n\
        Two checkouts of one repository (a second clone or a `git worktree`) are two stacks: \
        the second gets a project name of its own, `NAME-` and six characters from its path, \
        with its own volumes and free host ports. `devboot down --all` stops them all."
    )]
    Ls(LsArgs),

    /// Run a command in a service's running container: `devboot exec web bin/rails routes`
    #[command(long_about = "Run a command in a service's running container.\n\n\
        The command and its arguments are passed as they are, not through a shell (write \
        `devboot exec web sh -c 'echo $HOME'` for one). On a terminal the command gets a TTY \
        (raw mode, resized with the window); otherwise stdin is piped in and stdout and stderr \
        stay separate, so `devboot exec db pg_dump -U postgres app > dump.sql` is byte-exact. \
        devboot exits with the command's exit status.")]
    Exec(ExecArgs),

    /// Run a command in a one-off container of the app service, removed afterwards
    #[command(
        long_about = "Run a command in a one-off container of the app service: its image, \
        environment, mounts and network, without its published ports, removed when the command \
        ends. The rest of the stack must be up for the command to reach it (`devboot up`).\n\n\
        Arguments are passed as they are, not through a shell; TTY and exit status as for \
        `devboot exec`. The environment is the app's and is never printed."
    )]
    Run(RunArgs),

    /// `bin/rails console` in the app's running container (arguments are passed on)
    Console(PassArgs),

    /// `psql` in the Postgres service's container: nothing to install on the host
    #[command(long_about = "Run `psql` in the Postgres service's container, as its \
        POSTGRES_USER (default `postgres`): nothing to install on the host. Arguments are \
        passed on: `devboot psql -d app_development -c 'select 1'`.")]
    Psql(PassArgs),

    /// `redis-cli` in the Redis service's container: nothing to install on the host
    #[command(name = "redis-cli")]
    RedisCli(PassArgs),

    /// Show a service's logs (all services when none is named)
    Logs(LogsArgs),

    /// Print the generated compose file (what `.devboot/compose.yaml` holds)
    #[command(long_about = "Print the generated compose file to stdout.\n\n\
        It describes the same stack `devboot up` starts, so it can be checked or used with \
        Docker Compose: `devboot config | docker compose -f - config -q`.")]
    Config,

    /// Diagnose the machine, the Docker engine, the project and the app, with fixes
    #[command(
        long_about = "Diagnose the machine, the Docker engine, the project and the app.\n\n\
        Every check has a stable id (`devboot doctor --list`); name ids or families \
        (`devboot doctor docker rails.server_pid`) to run only those. Secrets are never shown: \
        AWS keys are masked, passwords in URLs replaced, the home directory shown as `~`.\n\n\
        Exit status: 0 no errors, 1 an error was found (or a warning under --strict), \
        2 bad usage."
    )]
    Doctor(DoctorArgs),

    /// The stack's database: snapshots, import and export of dumps, major upgrades
    #[command(
        long_about = "The stack's database: snapshots of its data.\n\n\
        A snapshot is a copy of the database service's data volume, taken while the database is \
        stopped (a few seconds for a development database; the app reconnects when it is back). \
        It lives in a volume of its own: `devboot down --volumes` keeps snapshots, and \
        `devboot db snapshot --rm NAME` removes one. A restore copies the snapshot next to the \
        current data first and swaps only once the copy is complete, so a failed or interrupted \
        restore leaves the data as it was. Works for any database service whose data lives in a \
        named volume (the Postgres and MySQL profiles).\n\n\
        `import` loads a dump (`.sql`, `.sql.gz`, `pg_dump -Fc`) into a fresh database with \
        ON_ERROR_STOP and swaps it in for the old one only if all of it succeeded: a dump that fails half way exits 1 and leaves the \
        database as it was. `export` writes one. Both are for Postgres.\n\n\
        `upgrade` moves Postgres data to the major the profile's image runs: snapshot, dump with \
        the old major, restore into a new cluster, every table's rows compared, swap; a failure \
        rolls back, and the old data is kept until `upgrade --finish`.",
        after_help = "Examples:\n  \
        devboot db snapshot before-migration     Save the data\n  \
        bin/rails db:migrate                     ...a migration goes wrong\n  \
        devboot db restore before-migration      Put the data back\n  \
        devboot db restore --latest              ...or the newest snapshot\n  \
        devboot db snapshots                     Names, sizes and ages\n  \
        devboot db snapshot --rm before-migration\n  \
        devboot db import prod-sample.sql.gz     Replace the data with a dump\n  \
        devboot db export backup.dump            Write the data as pg_dump -Fc\n  \
        devboot db upgrade                       Postgres 15 data -> the profile's 17\n  \
        devboot db upgrade --finish              Remove the old data it kept"
    )]
    Db(DbArgs),

    /// The AWS identity the app gets (account, ARN, source, expiry) and its endpoint
    Aws(AwsArgs),

    /// Inspect, validate and document profiles (for platform teams)
    Profile(ProfileArgs),

    /// Print shell completions: `devboot completions bash > ~/.local/share/bash-completion/completions/devboot`
    Completions {
        /// The shell to generate completions for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Write the man pages: `devboot man --out-dir ~/.local/share/man/man1`
    Man {
        /// Write `devboot.1` and a page for every subcommand (`devboot-up.1`, …) into DIR; without it, `devboot.1` goes to stdout
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },

    /// A shortcut the profile declares under `[commands]` (`devboot test`)
    #[command(external_subcommand)]
    Shortcut(Vec<String>),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Base profile to extend (default: detected; see `devboot profile list`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Compose project name (default: the directory name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Replace an existing devboot.toml
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Start only these services (and what they depend on)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the stack's volumes — its databases (asks first unless --yes); database
    /// snapshots are kept (`devboot db snapshot --rm NAME` removes one)
    #[arg(long, conflicts_with = "all")]
    pub volumes: bool,
    /// Stop every devboot stack on this engine, of every checkout (asks first unless --yes;
    /// volumes are kept)
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print as one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The service whose container runs the command
    pub service: String,
    /// The command and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The command and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PassArgs {
    /// Arguments passed on to the command
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print as one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The service to show (default: all)
    pub service: Option<String>,
    /// Keep printing new output until interrupted
    #[arg(short, long)]
    pub follow: bool,
    /// Show only the last N lines of each service
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Run only these checks: exact ids (`rails.server_pid`) or families (`docker`)
    #[arg(value_name = "ID_OR_PREFIX")]
    pub checks: Vec<String>,
    /// Print the report as one JSON document
    #[arg(long)]
    pub json: bool,
    /// Also write the redacted report, for a mentor: JSON to PATH and Markdown beside it with
    /// the extension .md (`--report out.json` writes out.json and out.md; so does `out.md`)
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Apply safe fixes for failing checks, each after confirmation (`--yes` confirms all)
    #[arg(long)]
    pub fix: bool,
    /// Exit with status 1 on warnings too
    #[arg(long)]
    pub strict: bool,
    /// List every check's id and title
    #[arg(long, conflicts_with_all = ["checks", "json", "report", "fix", "strict"])]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Save the database's data as snapshot NAME (default: the UTC time, `20261207-153000`);
    /// the database stops for the copy and starts again
    Snapshot {
        /// Letters, digits, `-`, `_` and `.`, starting with a letter or digit
        #[arg(value_name = "NAME")]
        name: Option<String>,
        /// Remove snapshot NAME instead (its data is deleted)
        #[arg(long, value_name = "NAME", conflicts_with = "name")]
        rm: Option<String>,
    },
    /// Replace the database's data with a snapshot's (asks first unless --yes); the current
    /// data is kept until the copy is complete, and lost after: snapshot it first to keep it
    Restore {
        /// The snapshot to restore (see `devboot db snapshots`)
        #[arg(value_name = "NAME", required_unless_present = "latest")]
        name: Option<String>,
        /// Restore the newest snapshot
        #[arg(long, conflicts_with = "name")]
        latest: bool,
    },
    /// List the snapshots, oldest first, with their size and age
    Snapshots {
        /// Print as one JSON document
        #[arg(long)]
        json: bool,
    },
    /// Load a dump into the database: `.sql`, `.sql.gz` or `pg_dump -Fc` (told by its first
    /// bytes); it goes into a fresh database first and replaces the old one only when every
    /// statement succeeded (Postgres only)
    Import {
        /// The dump file, or `-` for standard input
        #[arg(value_name = "FILE")]
        file: String,
        /// The database to replace (default: the one whose name ends in `_development`)
        #[arg(long, value_name = "NAME")]
        database: Option<String>,
    },
    /// Write the database to FILE: `.sql` plain SQL, `.sql.gz` compressed, anything else
    /// `pg_dump -Fc` (default: `<database>-<UTC time>.dump`; Postgres only)
    Export {
        #[arg(value_name = "FILE")]
        file: Option<String>,
        /// The database to export (default: the one whose name ends in `_development`)
        #[arg(long, value_name = "NAME")]
        database: Option<String>,
    },
    /// Move the data to the Postgres major the profile's image runs (dump and restore, every
    /// table's rows counted); the old data is kept until `--finish`
    #[command(
        long_about = "Move the database's data to the Postgres major the profile's image runs.\n\n\
        Change the image first (`image = \"postgres:17\"` under [services.db]): `devboot up` then \
        refuses the old data and points here. The upgrade\n\
        \x20 1. stops the database and snapshots its volume as `postgres-<old>-before-upgrade`;\n\
        \x20 2. dumps the roles and every database with a server of the old image, counting the \
        rows of every table;\n\
        \x20 3. initialises a new cluster with the new image (its POSTGRES_* settings) and restores \
        the dumps into it;\n\
        \x20 4. counts again: every table in every database must hold exactly as many rows;\n\
        \x20 5. swaps the new cluster into the data volume and removes the old container, so \
        `devboot up` starts the new major.\n\n\
        A failure or Ctrl-C before the swap leaves the data and the database as they were and \
        removes what the upgrade made. The old data stays in the snapshot until `devboot db \
        upgrade --finish` removes it; to go back, pin the old image and `devboot db restore` the \
        snapshot. Needs free disk space for about three copies of the data.\n\n\
        The old image is `--from IMAGE`, else the profile's image with the data's major as its tag \
        (`postgres:17` -> `postgres:15`); it must run the major that wrote the data. Both images \
        follow the official postgres image's contract (`docker-entrypoint.sh`, `POSTGRES_*`)."
    )]
    Upgrade {
        /// The image that wrote the data (default: the profile's image, tagged with the data's
        /// major)
        #[arg(long, value_name = "IMAGE", conflicts_with = "finish")]
        from: Option<String>,
        /// Remove the old data an upgrade kept (asks first unless --yes)
        #[arg(long)]
        finish: bool,
    },
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    #[command(subcommand)]
    pub command: AwsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// Resolve the credentials of the project's AWS profile on this machine and ask STS who
    /// they belong to; never prints a secret (the key id is masked to its last 4 characters)
    Status {
        /// Print as one JSON document
        #[arg(long)]
        json: bool,
        /// Send STS requests to this URL instead of AWS (a local emulator such as moto)
        #[arg(
            long,
            value_name = "URL",
            env = "DEVBOOT_AWS_STS_ENDPOINT",
            hide_env_values = true
        )]
        endpoint_url: Option<String>,
    },
    /// Serve the project's credential endpoint in the foreground (`devboot up` starts it in
    /// the background and `devboot down` stops it; run it yourself only to debug)
    #[command(hide = true)]
    Serve {
        /// Listen on this address (`up` passes the one the relay's route arrives at; default:
        /// the credential network's gateway, 169.254.170.1)
        #[arg(long, value_name = "IP")]
        address: Option<std::net::IpAddr>,
    },
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the built-in profiles
    List {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a profile (a built-in name or a file; default: this project's)
    Show {
        /// A built-in profile name or a path to a profile file
        name: Option<String>,
        /// Merge all layers and say which file every value came from
        #[arg(long)]
        resolved: bool,
        /// Print as JSON: every value with its file, line and column
        #[arg(long)]
        json: bool,
    },
    /// Check profile files; errors name `file:line:column` (exit 2 when any is invalid)
    Validate {
        /// Profile files to check
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Find what hurts a profile's users (rules below), for catalog authors' CI
    #[command(
        long_about = "Find what hurts a profile's users, for catalog authors' CI.\n\n\
        Each FILE is loaded with its bases and validated as `validate` does (an invalid profile \
        is reported at `file:line:column`, exit 2), then checked against the rules below. A \
        profile is a catalog profile under `--catalog`, or when it sits in a directory named \
        `profiles` (a catalog's layout: `profiles/NAME.toml`).\n\n\
        Exit status: 0 no error found (warnings are shown), 1 an error was found (or a warning \
        under --strict), 2 a profile could not be read or is invalid.",
        after_help = crate::lint::rules_help()
    )]
    Lint {
        /// Profile files to lint (default: this project's devboot.toml)
        #[arg(value_name = "FILE")]
        paths: Vec<PathBuf>,
        /// Print the findings as one JSON document
        #[arg(long)]
        json: bool,
        /// Lint every FILE as a catalog profile (images need a digest)
        #[arg(long)]
        catalog: bool,
        /// Exit with status 1 on warnings too
        #[arg(long)]
        strict: bool,
    },
    /// Print the JSON Schema of profile files (for editor completion and CI checks)
    Schema,
    /// List newer releases of the catalog profiles this project extends
    ///
    /// For each profile in devboot.lock: the locked release, the newest one the version in
    /// `extends` accepts (`wanted`), and the newest published (`latest`). Fetches the catalogs;
    /// changes nothing. Take an upgrade with `devboot profile update`.
    Outdated {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Upgrade catalog profiles in devboot.lock, showing what changes in the resolved stack
    ///
    /// Selects the newest release each `extends` accepts (all catalog profiles, or NAME) — for
    /// an https tarball catalog, the archive and digest now in `[catalogs]`; for a directory
    /// catalog, its files as they are now — prints the difference from the locked stack — images, environment (values redacted),
    /// ports, setup commands, every other value — and rewrites devboot.lock. Review it with
    /// `--dry-run` first; to cross a major version, edit the range in `extends`.
    ///
    /// Example: `devboot profile update rails --dry-run`, then `devboot profile update rails`
    /// and commit devboot.lock. See docs/publishing.md.
    Update {
        /// A catalog profile (`rails` or `acme:rails`); default: every one
        name: Option<String>,
        /// Show the difference without writing devboot.lock
        #[arg(long)]
        dry_run: bool,
    },
}

/// The names of devboot's own commands (and their aliases), which a profile's shortcuts may
/// not take.
pub fn command_names() -> impl Iterator<Item = String> {
    let cli = <Cli as clap::CommandFactory>::command();
    let names: Vec<String> = cli
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .chain(["help"])
        .map(str::to_owned)
        .collect();
    names.into_iter()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> super::Cli {
        <super::Cli as clap::Parser>::try_parse_from(args).unwrap()
    }

    #[test]
    fn a_command_in_a_container_keeps_its_own_flags() {
        let cli = parse(&[
            "devboot", "-C", "app", "exec", "web", "ls", "-la", "--color", "-q",
        ]);
        let super::Command::Exec(exec) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(exec.service, "web");
        assert_eq!(exec.command, ["ls", "-la", "--color", "-q"]);
        assert!(!cli.global.quiet);
        let super::Command::Psql(psql) = parse(&["devboot", "psql", "-c", "select 1"]).command
        else {
            panic!("not psql")
        };
        assert_eq!(psql.args, ["-c", "select 1"]);
        let super::Command::Shortcut(words) = parse(&["devboot", "test", "-v", "a b"]).command
        else {
            panic!("not a shortcut")
        };
        assert_eq!(words, ["test", "-v", "a b"]);
    }

    #[test]
    fn shortcut_names_may_not_take_devboots_own() {
        let names: Vec<String> = super::command_names().collect();
        for own in ["up", "exec", "redis-cli", "ls", "help"] {
            assert!(names.iter().any(|n| n == own), "{own}: {names:?}");
        }
    }
}
