//! POSIX shell quoting: the one quoter for every word devboot writes for a shell — values in
//! the generated env files, and the commands that messages and fixes suggest (`aws sso login
//! --profile …`, `chmod 600 …`).

/// Characters a word may hold and still mean itself to a POSIX shell without quotes.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | '+')
}

/// A POSIX shell word that expands to exactly `word` (which must not contain NUL): bare when
/// it holds only characters no shell treats specially (`dev-1`, `--profile`, `a/b.c`, `KEY=v`),
/// else single-quoted with each `'` written `'\''`. The empty string is `''`.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(is_plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A path as messages show it (the home directory written `~`), as a shell word that expands
/// to that path: a leading `~/` stays bare so the shell expands it, the rest is [`shell_word`].
pub fn home_path_word(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some("") => "~/".to_owned(),
        Some(rest) => format!("~/{}", shell_word(rest)),
        None if path == "~" => path.to_owned(),
        None => shell_word(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh` makes of `script`, one word per argument.
    fn sh_words(script: &str) -> Vec<String> {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {script}; do printf '%s\\0' \"$w\"; done"))
            .env_clear()
            .env("HOME", "/home/alice")
            .output()
            .unwrap();
        assert!(output.status.success(), "{script}");
        let text = String::from_utf8(output.stdout).unwrap();
        let mut words: Vec<String> = text.split('\0').map(str::to_owned).collect();
        words.pop();
        words
    }

    #[test]
    fn plain_words_stay_bare() {
        for word in [
            "aws",
            "--profile",
            "dev-1",
            "a/b.c",
            "KEY=v",
            "team/dev",
            "x@y:1",
        ] {
            assert_eq!(shell_word(word), word);
        }
    }

    #[test]
    fn anything_else_is_single_quoted() {
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("my profile"), "'my profile'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME `x`"), "'$HOME `x`'");
        assert_eq!(shell_word("~/x"), "'~/x'");
    }

    #[test]
    fn hostile_words_reach_the_shell_unchanged() {
        let hostile = [
            "",
            "two words",
            "$HOME",
            "${PATH}",
            "`id`",
            "$(id)",
            "a;rm -rf /",
            "line\nbreak",
            "it's",
            "''",
            "\\'",
            "*",
            "~",
            "~root",
            "a|b&c>d<e",
            "#comment",
            "!event",
            "tab\there",
            "é 😀",
        ];
        let script: Vec<String> = hostile.iter().map(|w| shell_word(w)).collect();
        assert_eq!(sh_words(&script.join(" ")), hostile);
    }

    #[test]
    fn home_paths_keep_their_tilde_for_the_shell() {
        assert_eq!(home_path_word("~/.aws/credentials"), "~/.aws/credentials");
        assert_eq!(home_path_word("~/my dir/x"), "~/'my dir/x'");
        assert_eq!(home_path_word("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(home_path_word("~user/x"), "'~user/x'");
        assert_eq!(
            sh_words(&home_path_word("~/my dir/it's")),
            ["/home/alice/my dir/it's"]
        );
    }
}
