//! Why an app crashed, from the tail of its container's log: the exception Ruby printed and the
//! first place in the app's own files it points at (`config/routes.rb:3`), which the last lines
//! of a Rails backtrace (thor, railties, bootsnap frames) never show. Pure; `up`'s crash report
//! and doctor's `stack.containers` both show it before the log's last lines.

/// Log lines read to find the exception: a Rails boot backtrace runs to some 60 frames.
pub const LOG_LINES: usize = 200;

/// What a crash log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// The exception: message and class, as Ruby printed them (`uninitialized constant Foo
    /// (NameError)`).
    pub exception: String,
    /// The first place in the app's own files, relative to the app's directory when under it
    /// (`config/routes.rb:3`).
    pub location: Option<String>,
}

impl Crash {
    /// One line, as shown above the log's tail.
    pub fn summary(&self) -> String {
        match &self.location {
            Some(at) => format!("{} at {at}", self.exception),
            None => self.exception.clone(),
        }
    }
}

/// Finds the last exception in `log` and where in the app it happened; `app_dir` is the
/// container's working directory (`/app`), whose files are the app's own.
pub fn find(log: &[String], app_dir: Option<&str>) -> Option<Crash> {
    let at = log.iter().rposition(|line| is_exception(line))?;
    let line = log[at].trim();
    // `/gems/…/routes_reloader.rb:47:in `load': MESSAGE (Class)`: the message without the frame.
    let exception = line
        .find(":in ")
        .and_then(|i| line[i..].find("': ").map(|j| &line[i + j + 3..]))
        .unwrap_or(line);
    let frames = log[at + 1..]
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix("from "));
    // The message may name the file itself (a SyntaxError does), then the raising frame, then
    // the backtrace.
    let location = locations(exception)
        .chain(locations(line))
        .chain(frames.flat_map(|f| locations(f).take(1)))
        .find_map(|path| app_location(path, app_dir));
    Some(Crash {
        exception: exception.to_owned(),
        location,
    })
}

/// Whether `line` is an exception as Ruby prints an uncaught one (`… (NameError)`), or as
/// Rails' tasks print one (`ActiveRecord::NoDatabaseError: …`).
fn is_exception(line: &str) -> bool {
    let line = line.trim();
    if line.starts_with("from ") {
        return false;
    }
    let constant = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_')
    };
    let error_like =
        |name: &str| constant(name) && (name.ends_with("Error") || name.ends_with("Exception"));
    if let Some(class) = line
        .strip_suffix(')')
        .and_then(|l| l.rsplit_once('('))
        .map(|(_, class)| class)
    {
        // Ruby's own format puts the raising frame first: `file:1:in `m': message (Class)`.
        if error_like(class) || (constant(class) && line.contains(":in ")) {
            return true;
        }
    }
    line.split_once(": ")
        .is_some_and(|(class, _)| error_like(class))
}

/// `path:line` places written in `text`.
fn locations(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace().filter_map(|token| {
        let token = token.trim_start_matches(['`', '\'', '"', '(']);
        let (path, rest) = token.split_once(':')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        (!path.is_empty() && digits > 0).then(|| &token[..=path.len() + digits])
    })
}

/// `place` (`path:line`) as the app's own file, relative to `app_dir`; `None` for Ruby's and
/// the gems' files.
fn app_location(place: &str, app_dir: Option<&str>) -> Option<String> {
    const NOT_THE_APP: &[&str] = &[
        "/gems/",
        "/bundle/",
        "/vendor/",
        "/ruby/",
        "/rubygems",
        "<internal:",
    ];
    if place.starts_with('<') || NOT_THE_APP.iter().any(|p| place.contains(p)) {
        return None;
    }
    let dir = app_dir
        .map(|d| d.trim_end_matches('/'))
        .filter(|d| !d.is_empty());
    match dir {
        Some(dir) if place.starts_with('/') => place
            .strip_prefix(dir)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_owned),
        _ => Some(place.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    /// Both logs are real: Debian's Rails 6.1 on Ruby 3.1 (the fixture image), `bin/rails
    /// server` on a copy of tests/fixtures/rails-app with a broken `config/routes.rb`.
    #[test]
    fn a_syntax_error_in_routes_is_found_past_the_framework_frames() {
        let log = lines(include_str!(
            "crash/testdata/rails-6.1-routes-syntax-error.log"
        ));
        // What the old report showed: its last lines, none naming routes.rb.
        assert!(
            log[log.len() - 5..]
                .iter()
                .all(|l| !l.contains("routes.rb"))
        );
        let crash = find(&log, Some("/app")).unwrap();
        assert_eq!(
            crash.exception,
            "/app/config/routes.rb:5: syntax error, unexpected end-of-input, expecting `end' (SyntaxError)"
        );
        assert_eq!(crash.location.as_deref(), Some("config/routes.rb:5"));
    }

    #[test]
    fn a_name_error_is_placed_at_the_app_frame_that_raised_it() {
        let log = lines(include_str!(
            "crash/testdata/rails-6.1-routes-name-error.log"
        ));
        let crash = find(&log, Some("/app")).unwrap();
        assert_eq!(
            crash.summary(),
            "uninitialized constant NoteConstraint (NameError) at config/routes.rb:3"
        );
    }

    #[test]
    fn frames_of_gems_and_ruby_are_passed_over() {
        // Ruby 3.4's frame format (quotes, `Class#method`), a gem raising, the app frame later.
        let log = lines(
            "/usr/local/bundle/gems/pg-1.5.9/lib/pg/connection.rb:701:in 'PG::Connection.connect_to_hosts': connection to server at \"db\" failed (PG::ConnectionBad)\n\
             \tfrom /usr/local/bundle/gems/pg-1.5.9/lib/pg/connection.rb:655:in 'PG::Connection.new'\n\
             \tfrom /usr/local/lib/ruby/3.4.0/tsort.rb:1:in 'x'\n\
             \tfrom <internal:kernel>:91:in 'Kernel#tap'\n\
             \tfrom /rails/config/initializers/cache.rb:2:in '<main>'\n\
             \tfrom bin/rails:4:in '<main>'\n",
        );
        let crash = find(&log, Some("/rails/")).unwrap();
        assert_eq!(
            crash.summary(),
            "connection to server at \"db\" failed (PG::ConnectionBad) at config/initializers/cache.rb:2"
        );
        let rake = lines(
            "bin/rails aborted!\nActiveRecord::NoDatabaseError: We could not find your database: app\n",
        );
        assert_eq!(
            find(&rake, Some("/app")).unwrap().exception,
            "ActiveRecord::NoDatabaseError: We could not find your database: app"
        );
        assert_eq!(
            find(
                &lines("Puma starting\n* Listening on http://0.0.0.0:3000\nExiting\n"),
                Some("/app")
            ),
            None
        );
    }
}
