//! What a Dockerfile says about the image it builds, read from its text: its stages, whether
//! it is made for production (Rails' template, or it bakes `RAILS_ENV=production`,
//! `BUNDLE_DEPLOYMENT` or a `BUNDLE_WITHOUT` that leaves out development gems), which files of
//! the build context its `COPY`/`ADD` instructions take, and the user the image runs as. Pure;
//! it understands the instructions devboot needs and ignores the rest.

use std::collections::BTreeMap;

/// The first line of the comment Rails (7.1 and later) writes at the top of its Dockerfile.
const RAILS_PRODUCTION_HEADER: &str = "This Dockerfile is designed for production";

/// A Dockerfile, read for one build target (`None`: the last stage, as a plain build does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analysis {
    pub stages: Vec<Stage>,
    /// Why the target is a production image; empty when nothing says so.
    pub production: Vec<String>,
    /// Context paths (as written, globs included) that `COPY`/`ADD` take into the stages a
    /// build of the target runs; copies from other stages or images and URLs are left out.
    pub copied: Vec<String>,
    /// The target's final `USER`, as written, inherited from the stages it builds on.
    pub user: Option<String>,
    /// That user's numeric ID, when the Dockerfile says it (`USER 1000`, or the `useradd
    /// --uid` that created the named user).
    pub uid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stage {
    /// `AS name`, lowercased as Docker compares it.
    pub name: Option<String>,
    /// The image or stage it starts from, with build arguments' defaults substituted.
    pub from: String,
}

/// Instructions read at most: real Dockerfiles have a few dozen; a hostile one cannot make the
/// reading (stages inherit their parent's environment) slow.
const MAX_INSTRUCTIONS: usize = 2000;

/// One instruction: its keyword (uppercase) and the rest of its logical line.
struct Instruction {
    keyword: String,
    rest: String,
}

/// Reads `text` for a build of `target` (a stage name; `None` for the last stage). A target
/// the Dockerfile does not name reads as the last stage.
pub fn analyze(text: &str, target: Option<&str>) -> Analysis {
    let instructions = instructions(text);
    let mut global_args: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<StageState> = Vec::new();
    let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for instruction in instructions.into_iter().take(MAX_INSTRUCTIONS) {
        let words = words(&instruction.rest);
        match (instruction.keyword.as_str(), stages.last_mut()) {
            ("ARG", None) => declare_args(&words, &mut global_args),
            ("FROM", _) => {
                let (from, name) = match words.as_slice() {
                    [from, r#as, name, ..] if r#as.eq_ignore_ascii_case("as") => {
                        (from.clone(), Some(name.to_lowercase()))
                    }
                    [from, ..] => (from.clone(), None),
                    [] => continue,
                };
                let from = substitute(&from, &|name| global_args.get(name).map(String::as_str));
                // A stage built on an earlier one starts with its environment and user.
                let parent = names.get(&from.to_lowercase()).copied();
                if let Some(name) = &name {
                    names.insert(name.clone(), stages.len());
                }
                let mut state = StageState {
                    stage: Stage { name, from },
                    parent,
                    args: global_args.clone(),
                    ..StageState::default()
                };
                if let Some(parent) = parent {
                    state.env.clone_from(&stages[parent].env);
                    state.user.clone_from(&stages[parent].user);
                }
                stages.push(state);
            }
            ("ARG", Some(stage)) => declare_args(&words, &mut stage.args),
            ("ENV", Some(stage)) => {
                for (key, value) in env_pairs(&words) {
                    let value = substitute(&value, &|name| stage.var(name));
                    stage.env.insert(key, value);
                }
            }
            ("USER", Some(stage)) => {
                stage.user = words
                    .first()
                    .map(|u| substitute(u, &|name| stage.var(name)));
            }
            ("RUN", Some(stage)) => stage.runs.push(instruction.rest.clone()),
            ("COPY" | "ADD", Some(stage)) => stage.copied.extend(copy_sources(&words)),
            _ => {}
        }
    }
    let target_index = target
        .and_then(|t| {
            stages
                .iter()
                .position(|s| s.stage.name.as_deref() == Some(t.to_lowercase().as_str()))
        })
        .or_else(|| stages.len().checked_sub(1));
    let Some(target_index) = target_index else {
        return Analysis::default();
    };
    let built = &stages[..=target_index];
    let target = &stages[target_index];
    let mut production = Vec::new();
    if text.contains(RAILS_PRODUCTION_HEADER) {
        production.push("its header says it is designed for production".to_owned());
    }
    production.extend(production_settings(&target.env));
    let runs: Vec<&str> = chain(&stages, target_index)
        .flat_map(|s| s.runs.iter().map(String::as_str))
        .collect();
    Analysis {
        stages: stages.iter().map(|s| s.stage.clone()).collect(),
        production,
        copied: built.iter().flat_map(|s| s.copied.clone()).collect(),
        user: target.user.clone(),
        uid: target.user.as_deref().and_then(|u| user_id(u, &runs)),
    }
}

#[derive(Debug, Default)]
struct StageState {
    stage: Stage,
    /// The stage it starts from, when that is a stage of this file.
    parent: Option<usize>,
    args: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    user: Option<String>,
    runs: Vec<String>,
    copied: Vec<String>,
}

impl StageState {
    /// What `$NAME` expands to here: the environment, else an argument's default.
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.args.get(name))
            .map(String::as_str)
    }
}

/// The stage at `index` and the stages of this file it is built on, nearest first.
fn chain(stages: &[StageState], index: usize) -> impl Iterator<Item = &StageState> {
    std::iter::successors(Some(&stages[index]), |s| s.parent.map(|p| &stages[p]))
}

/// The environment settings that make an image a production one.
fn production_settings(env: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    for key in ["RAILS_ENV", "RACK_ENV"] {
        if env.get(key).is_some_and(|v| v == "production") {
            found.push(format!("it sets {key}=production"));
        }
    }
    if let Some(value) = env.get("BUNDLE_DEPLOYMENT")
        && !matches!(value.as_str(), "" | "0" | "false")
    {
        found.push(format!("it sets BUNDLE_DEPLOYMENT={value}"));
    }
    if let Some(value) = env.get("BUNDLE_WITHOUT")
        && value
            .split([':', ' ', ','])
            .any(|group| group == "development")
    {
        found.push(format!("it sets BUNDLE_WITHOUT={value}"));
    }
    found
}

/// Logical lines: continuations (`\` at the end) joined, comments and blank lines dropped
/// (Docker drops comment lines inside a continuation too).
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(part) = trimmed.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            out.extend(instruction(&current));
            current.clear();
        }
    }
    out.extend(instruction(&current));
    out
}

fn instruction(line: &str) -> Option<Instruction> {
    let line = line.trim();
    let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    (!keyword.is_empty()).then(|| Instruction {
        keyword: keyword.to_uppercase(),
        rest: rest.trim().to_owned(),
    })
}

/// The words of an instruction's arguments: the JSON form (`["a", "b"]`) or whitespace-split
/// words with quotes removed.
fn words(rest: &str) -> Vec<String> {
    if rest.starts_with('[')
        && let Ok(list) = serde_json::from_str::<Vec<String>>(rest)
    {
        return list;
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('"' | '\'', None) => {
                quote = Some(c);
                in_word = true;
            }
            (c, Some(q)) if c == q => quote = None,
            ('\\', q) if q != Some('\'') => {
                word.extend(chars.next());
                in_word = true;
            }
            (c, None) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (c, _) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// `ARG NAME` or `ARG NAME=default`, one or more.
fn declare_args(words: &[String], args: &mut BTreeMap<String, String>) {
    for word in words {
        match word.split_once('=') {
            Some((name, default)) => {
                let default = substitute(default, &|name| args.get(name).map(String::as_str));
                args.insert(name.to_owned(), default);
            }
            None => {
                args.entry(word.clone()).or_default();
            }
        }
    }
}

/// `ENV A=1 B="two"`, or the old form `ENV A one value`.
fn env_pairs(words: &[String]) -> Vec<(String, String)> {
    match words {
        [first, ..] if first.contains('=') => words
            .iter()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        [key, value @ ..] => vec![(key.clone(), value.join(" "))],
        [] => Vec::new(),
    }
}

/// `$NAME` and `${NAME}` replaced by their values (unknown names by nothing, as Docker does).
fn substitute<'v>(text: &str, var: &dyn Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        // `${NAME:-default}` and friends: the name is before the `:`.
        let bare = name.split(':').next().unwrap_or(name);
        out.push_str(var(bare).unwrap_or_default());
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// The context paths a `COPY`/`ADD` takes: every argument but the destination, after its
/// flags; none for `--from` (another stage or image), URLs and git sources.
fn copy_sources(words: &[String]) -> Vec<String> {
    let arguments: Vec<&String> = words.iter().skip_while(|w| w.starts_with("--")).collect();
    let from_elsewhere = words
        .iter()
        .take_while(|w| w.starts_with("--"))
        .any(|w| w.starts_with("--from="));
    if from_elsewhere || arguments.len() < 2 {
        return Vec::new();
    }
    arguments[..arguments.len() - 1]
        .iter()
        .filter(|s| !(s.contains("://") || s.starts_with("git@") || s.starts_with("<<")))
        .map(|s| (*s).clone())
        .collect()
}

/// The numeric user ID of `USER user[:group]`: the number itself, `root`, or the `--uid`/`-u`
/// of the `useradd`/`adduser` that created the user in the stages built.
fn user_id(user: &str, runs: &[&str]) -> Option<u32> {
    let name = user.split(':').next()?;
    if let Ok(uid) = name.parse() {
        return Some(uid);
    }
    if name == "root" {
        return Some(0);
    }
    runs.iter().find_map(|run| {
        run.split("&&").find_map(|command| {
            let words = words(command);
            let creates = words
                .iter()
                .position(|w| w == "useradd" || w == "adduser")?;
            let words = &words[creates + 1..];
            if !words.iter().any(|w| w == name) {
                return None;
            }
            words.windows(2).find_map(|pair| match pair {
                [flag, value] if flag == "--uid" || flag == "-u" => value.parse().ok(),
                _ => None,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAILS_72: &str = include_str!("../tests/data/dockerfiles/rails-7.2.Dockerfile");

    #[test]
    fn reads_the_rails_7_2_production_dockerfile() {
        let analysis = analyze(RAILS_72, None);
        assert_eq!(
            analysis.stages,
            [
                Stage {
                    name: Some("base".into()),
                    from: "docker.io/library/ruby:3.3.8-slim".into()
                },
                Stage {
                    name: Some("build".into()),
                    from: "base".into()
                },
                Stage {
                    name: None,
                    from: "base".into()
                },
            ]
        );
        assert_eq!(
            analysis.production,
            [
                "its header says it is designed for production",
                "it sets RAILS_ENV=production",
                "it sets BUNDLE_DEPLOYMENT=1",
                "it sets BUNDLE_WITHOUT=development",
            ]
        );
        // The final stage's copies come from the build stage; the build stage's from the context.
        assert_eq!(analysis.copied, ["Gemfile", "Gemfile.lock", "."]);
        assert_eq!(analysis.user.as_deref(), Some("1000:1000"));
        assert_eq!(analysis.uid, Some(1000));
    }

    #[test]
    fn the_environment_is_judged_without_the_header() {
        let text = RAILS_72.replace(RAILS_PRODUCTION_HEADER, "A Dockerfile");
        let analysis = analyze(&text, None);
        assert_eq!(analysis.production.len(), 3, "{:?}", analysis.production);
        // Each setting alone is enough.
        for env in [
            "ENV RAILS_ENV=production",
            "ENV BUNDLE_WITHOUT=\"test:development\"",
            "ENV BUNDLE_DEPLOYMENT 1",
        ] {
            let analysis = analyze(&format!("FROM ruby:3.3\n{env}\n"), None);
            assert_eq!(analysis.production.len(), 1, "{env}");
        }
    }

    #[test]
    fn a_target_stage_is_read_with_the_stages_it_builds_on() {
        let text = "ARG RUBY=3.3.8\nFROM ruby:${RUBY}-slim AS base\nUSER nobody\n\
                    FROM base AS dev\nENV RAILS_ENV=development\nCOPY --chown=app Gemfile ./\n\
                    FROM base AS prod\nENV RAILS_ENV=production\nCOPY . .\n";
        let dev = analyze(text, Some("Dev"));
        assert_eq!(dev.stages[0].from, "ruby:3.3.8-slim");
        assert!(dev.production.is_empty(), "{:?}", dev.production);
        assert_eq!(dev.copied, ["Gemfile"]);
        assert_eq!(dev.user.as_deref(), Some("nobody"));
        assert_eq!(dev.uid, None, "no useradd says which uid `nobody` has");
        let prod = analyze(text, None);
        assert_eq!(prod.production, ["it sets RAILS_ENV=production"]);
        assert_eq!(prod.copied, ["Gemfile", "."]);
    }

    #[test]
    fn a_simple_development_dockerfile_is_not_production() {
        let text = include_str!("../tests/fixtures/rails-app/Dockerfile");
        let analysis = analyze(text, None);
        assert!(analysis.production.is_empty());
        assert_eq!(analysis.copied, ["Gemfile", "Gemfile.lock", "."]);
        assert_eq!((analysis.user, analysis.uid), (None, None));
        assert_eq!(analysis.stages.len(), 1);
    }

    #[test]
    fn copy_forms() {
        let text = "FROM ruby\nCOPY [\"Gemfile\", \"Gemfile.lock\", \"/app/\"]\n\
                    ADD https://example.com/x.tgz /tmp/\nADD vendor/*.gem /gems/\n\
                    COPY --from=node:20 /usr/local /usr/local\ncopy --link bin/ /app/bin/\n\
                    COPY 'dir with space' /x\nRUN useradd -m -u 1234 app\nUSER app:app\n";
        let analysis = analyze(text, None);
        assert_eq!(
            analysis.copied,
            [
                "Gemfile",
                "Gemfile.lock",
                "vendor/*.gem",
                "bin/",
                "dir with space"
            ]
        );
        assert_eq!(analysis.uid, Some(1234));
    }

    #[test]
    fn a_hostile_dockerfile_is_read_quickly() {
        let mut text = String::from("FROM ruby AS s0\n");
        for i in 0..2000 {
            text.push_str(&format!("ENV K{i}=${{K{i}}}$K0\n"));
        }
        for i in 1..100_000 {
            text.push_str(&format!("FROM s{} AS s{i}\nUSER u\n", i - 1));
        }
        let cpu_time = crate::profile::fuzz_tests::cpu_time;
        let started = cpu_time();
        let analysis = analyze(&text, None);
        assert!(analysis.stages.len() < 2000);
        // Thread CPU time, so a busy machine cannot fail it; far above a debug build's need.
        let spent = cpu_time().saturating_sub(started);
        assert!(spent < std::time::Duration::from_secs(5), "{spent:?}");
    }

    #[test]
    fn continuations_and_comments() {
        let text = "FROM ruby\n# comment\nENV A=1 \\\n# inside\n    B=\"two words\"\nUSER root\n";
        let analysis = analyze(text, None);
        assert_eq!(analysis.uid, Some(0));
        assert!(analysis.production.is_empty());
        assert_eq!(analyze("", None), Analysis::default());
    }
}
