//! Doublestar patterns, as Harbor's tag and repository selectors use them: `*` matches within
//! one path segment, `**` across segments, `?` one character of a segment, `{a,b}` either
//! alternative, `[abc]`/`[a-z]`/`[!a]` a character class. A selector either keeps what
//! `matches` or what it `excludes`.

use serde::{Deserialize, Serialize};

/// Whether a selector keeps the values its pattern matches or the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decoration {
    #[default]
    Matches,
    Excludes,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    pub pattern: String,
    #[serde(default)]
    pub decoration: Decoration,
}

impl Selector {
    pub fn matches(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            decoration: Decoration::Matches,
        }
    }

    pub fn excludes(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            decoration: Decoration::Excludes,
        }
    }

    /// Every value: `**`.
    pub fn everything() -> Self {
        Self::matches("**")
    }

    pub fn selects(&self, value: &str) -> bool {
        glob(&self.pattern, value) == (self.decoration == Decoration::Matches)
    }
}

/// The longest pattern a selector takes (Harbor's limit on rule fields).
pub const MAX_PATTERN_LEN: usize = 255;
/// How many alternatives `{…}` may expand to: patterns are matched by backtracking, so their
/// size is bounded before anything is stored.
const MAX_ALTERNATIVES: usize = 256;

/// Checks that `pattern` is a well-formed doublestar pattern: not empty, at most 255
/// characters, every `[` class and `{` group closed, classes not empty, ranges in order, no
/// trailing `\`. The error says what is wrong, for the field error shown to the user.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("must not be empty (`**` selects everything)".into());
    }
    if pattern.chars().count() > MAX_PATTERN_LEN {
        return Err(format!("must have at most {MAX_PATTERN_LEN} characters"));
    }
    if pattern.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 == chars.len() {
                    return Err("ends with an unfinished escape `\\`".into());
                }
                i += 1;
            }
            '[' => {
                let Some(len) = chars[i + 1..].iter().position(|&c| c == ']') else {
                    return Err(format!(
                        "has a `[` at position {} that is never closed with `]`",
                        i + 1
                    ));
                };
                let mut class = &chars[i + 1..i + 1 + len];
                if matches!(class.first(), Some('!') | Some('^')) {
                    class = &class[1..];
                }
                if class.is_empty() {
                    return Err(format!(
                        "has an empty character class at position {}",
                        i + 1
                    ));
                }
                let mut j = 0;
                while j < class.len() {
                    if j + 2 < class.len() && class[j + 1] == '-' {
                        if class[j] > class[j + 2] {
                            return Err(format!(
                                "has the range `{}-{}` out of order",
                                class[j],
                                class[j + 2]
                            ));
                        }
                        j += 3;
                    } else {
                        j += 1;
                    }
                }
                i += len + 1;
            }
            ']' => return Err(format!("has a `]` at position {} without its `[`", i + 1)),
            '{' => depth += 1,
            '}' => {
                if depth == 0 {
                    return Err(format!("has a `}}` at position {} without its `{{`", i + 1));
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err("has a `{` that is never closed with `}`".into());
    }
    if count_alternatives(pattern) > MAX_ALTERNATIVES {
        return Err(format!(
            "expands to more than {MAX_ALTERNATIVES} alternatives; use fewer `{{…}}` groups"
        ));
    }
    Ok(())
}

/// How many patterns `expand_braces` would produce, without producing them.
fn count_alternatives(pattern: &str) -> usize {
    let mut total = 1usize;
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        // Top-level groups multiply; nested ones add within their group (an upper bound).
        let mut depth = 0;
        let mut alternatives = 1usize;
        let mut end = rest.len();
        for (k, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                ',' if depth >= 1 => alternatives += 1,
                _ => {}
            }
        }
        total = total.saturating_mul(alternatives);
        rest = &rest[end..];
    }
    total
}

/// Whether `value` matches the doublestar `pattern`.
pub fn glob(pattern: &str, value: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        let p: Vec<char> = p.chars().collect();
        let v: Vec<char> = value.chars().collect();
        match_here(&p, &v)
    })
}

/// `a{b,c}d` → `abd`, `acd` (nested braces expand recursively).
fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(open) = chars.iter().position(|&c| c == '{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let prefix: String = chars[..open].iter().collect();
    let suffix: String = chars[close + 1..].iter().collect();
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alternative: String = chars[w[0] + 1..w[1]].iter().collect();
        out.extend(expand_braces(&format!("{prefix}{alternative}{suffix}")));
    }
    out
}

fn match_here(p: &[char], v: &[char]) -> bool {
    match p.first() {
        None => v.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            // `**` (and `**/`) crosses segments.
            let mut rest = &p[2..];
            if rest.first() == Some(&'/') && (0..=v.len()).any(|i| match_here(&rest[1..], &v[i..]))
            {
                return true;
            }
            while rest.first() == Some(&'*') {
                rest = &rest[1..];
            }
            (0..=v.len()).any(|i| match_here(rest, &v[i..]))
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=v.len() {
                if match_here(rest, &v[i..]) {
                    return true;
                }
                if v.get(i) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Some('?') => v.first().is_some_and(|&c| c != '/') && match_here(&p[1..], &v[1..]),
        Some('[') => {
            let Some(end) = p.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                return v.first() == Some(&'[') && match_here(&p[1..], &v[1..]);
            };
            let Some(&c) = v.first() else { return false };
            let class = &p[1..end];
            let (negated, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negated && c != '/' && match_here(&p[end + 1..], &v[1..])
        }
        Some('\\') if p.len() > 1 => v.first() == Some(&p[1]) && match_here(&p[2..], &v[1..]),
        Some(&c) => v.first() == Some(&c) && match_here(&p[1..], &v[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_questions_classes_and_braces() {
        assert!(glob("v*", "v1.2.3"));
        assert!(glob("v*", "v"));
        assert!(!glob("v*", "release-1"));
        assert!(glob("release-*", "release-2024.1"));
        assert!(glob("latest", "latest"));
        assert!(!glob("latest", "latest2"));
        assert!(glob("v?.?", "v1.2"));
        assert!(!glob("v?.?", "v10.2"));
        assert!(glob("v[0-9].*", "v3.x"));
        assert!(!glob("v[!0-9]*", "v3"));
        assert!(glob("{latest,stable}", "stable"));
        assert!(glob("v{1,2}.{0,1}", "v2.1"));
        assert!(!glob("v{1,2}.{0,1}", "v3.1"));
        assert!(glob("**", ""));
        assert!(glob("**", "anything/at/all"));
    }

    #[test]
    fn one_star_stays_in_a_segment_two_cross() {
        assert!(glob("team/*", "team/app"));
        assert!(!glob("team/*", "team/app/web"));
        assert!(glob("team/**", "team/app/web"));
        assert!(glob("**/web", "team/app/web"));
        assert!(glob("**/web", "web"));
        assert!(!glob("*", "a/b"));
        assert!(glob("*/b", "a/b"));
    }

    #[test]
    fn excludes_inverts() {
        let s = Selector::excludes("dev-*");
        assert!(s.selects("v1"));
        assert!(!s.selects("dev-1"));
        assert!(Selector::everything().selects("x/y"));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_reason() {
        for good in [
            "v*",
            "**",
            "v[0-9]*",
            "v[!a]",
            "{a,b}-{c,d}",
            "a\\[",
            "release-*",
        ] {
            assert_eq!(validate_pattern(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("v[1", "never closed"),
            ("v[]", "empty character class"),
            ("v[!]", "empty character class"),
            ("v[z-a]", "out of order"),
            ("v]", "without its `[`"),
            ("{a,b", "never closed"),
            ("a}", "without its"),
            ("x\\", "escape"),
            ("a\u{7}b", "control"),
        ] {
            let e = validate_pattern(bad).expect_err(bad);
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(validate_pattern(&"a".repeat(256)).is_err());
        assert!(
            validate_pattern(&"{a,b,c,d}".repeat(5)).is_err(),
            "4^5 alternatives"
        );
    }
}
