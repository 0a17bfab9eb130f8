//! Quoting for the YAML devboot writes. Every value a template prints passes through this or
//! [`crate::shell::shell_word`], so no value — quotes, `#`, newlines, `${VAR}`, unicode — can
//! change a file's structure.

use std::fmt::Write as _;

/// A YAML double-quoted scalar that Docker Compose reads back as exactly `value`: `$` is
/// doubled (Compose's own escape for its interpolation), and every character outside YAML's
/// printable set, plus the characters YAML 1.1 treats as line breaks, is written as an escape.
pub fn compose_yaml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => push_escape(&mut out, c),
            ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'.. => {
                out.push(c);
            }
            _ => push_escape(&mut out, c),
        }
    }
    out.push('"');
    out
}

fn push_escape(out: &mut String, c: char) {
    let code = u32::from(c);
    if code <= 0xffff {
        let _ = write!(out, "\\u{code:04x}");
    } else {
        let _ = write!(out, "\\U{code:08x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_escapes() {
        assert_eq!(compose_yaml_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(compose_yaml_string("${HOME}"), "\"$${HOME}\"");
        assert_eq!(compose_yaml_string("x\ny\u{2028}"), "\"x\\ny\\u2028\"");
        assert_eq!(compose_yaml_string("é 😀"), "\"é 😀\"");
        assert_eq!(compose_yaml_string("\u{1}"), "\"\\u0001\"");
    }
}
