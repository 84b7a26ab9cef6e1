//! Version comparison per ecosystem, as each package manager orders its own versions:
//! dpkg (Debian, Ubuntu), apk (Alpine), SemVer (crates.io, npm, Go) and PEP 440 (PyPI).
//! Every comparator is total: a version it cannot parse compares by its text after the
//! parseable ones, so a malformed record never panics a scan.

use std::cmp::Ordering;

/// How an ecosystem orders versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Apk,
    Semver,
    Pep440,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `Alpine:v3.18`, `crates.io`, `npm`, `Go`,
    /// `PyPI`); `None` for ecosystems Berth does not compare.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Self> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        match base {
            "Debian" | "Ubuntu" => Some(Self::Dpkg),
            "Alpine" => Some(Self::Apk),
            "crates.io" | "npm" | "Go" | "Packagist" | "Hex" | "Pub" => Some(Self::Semver),
            "PyPI" => Some(Self::Pep440),
            _ => None,
        }
    }

    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Self::Dpkg => dpkg(a, b),
            Self::Apk => apk(a, b),
            Self::Semver => semver(a, b),
            Self::Pep440 => pep440(a, b),
        }
    }
}

// ---------------------------------------------------------------- dpkg

/// dpkg's ordering (`dpkg --compare-versions`): epoch, then upstream version, then Debian
/// revision, each compared by `verrevcmp`.
pub fn dpkg(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = dpkg_parts(a);
    let (eb, ub, rb) = dpkg_parts(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

fn dpkg_parts(v: &str) -> (u64, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if e.chars().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().unwrap_or(0), rest)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0i32;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = dpkg_order(a.get(i).copied());
            let bc = dpkg_order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

// ---------------------------------------------------------------- apk

/// apk's ordering: dot-separated numbers (the first compared as an integer, later ones as
/// integers too unless they start with `0`, then as decimal fractions), an optional letter,
/// suffixes (`_alpha` < `_beta` < `_pre` < `_rc` < none < `_cvs` < `_svn` < `_git` < `_hg` <
/// `_p`, each with an optional number), then the package revision `-rN`.
pub fn apk(a: &str, b: &str) -> Ordering {
    match (ApkVersion::parse(a), ApkVersion::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct ApkVersion {
    numbers: Vec<String>,
    letter: Option<char>,
    suffixes: Vec<(i32, u64)>,
    revision: u64,
}

const APK_SUFFIXES: [(&str, i32); 9] = [
    ("alpha", -4),
    ("beta", -3),
    ("pre", -2),
    ("rc", -1),
    ("cvs", 1),
    ("svn", 2),
    ("git", 3),
    ("hg", 4),
    ("p", 5),
];

impl ApkVersion {
    fn parse(v: &str) -> Option<Self> {
        let v = v.trim();
        let (body, revision) = match v.rsplit_once("-r") {
            Some((body, r)) if !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()) => {
                (body, r.parse().ok()?)
            }
            _ => (v, 0),
        };
        let (main, suffix_text) = match body.split_once('_') {
            Some((m, s)) => (m, Some(s)),
            None => (body, None),
        };
        let (digits, letter) = match main.chars().last() {
            Some(c) if c.is_ascii_lowercase() => (&main[..main.len() - 1], Some(c)),
            _ => (main, None),
        };
        if digits.is_empty() {
            return None;
        }
        let numbers: Vec<String> = digits.split('.').map(str::to_string).collect();
        if numbers
            .iter()
            .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        let mut suffixes = Vec::new();
        if let Some(text) = suffix_text {
            for s in text.split('_') {
                let name_len = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
                let (name, number) = s.split_at(name_len);
                let rank = APK_SUFFIXES.iter().find(|(n, _)| *n == name)?.1;
                let n = if number.is_empty() {
                    0
                } else {
                    number.parse().ok()?
                };
                suffixes.push((rank, n));
            }
        }
        Some(Self {
            numbers,
            letter,
            suffixes,
            revision,
        })
    }
}

fn apk_number(a: &str, b: &str, first: bool) -> Ordering {
    if !first && (a.starts_with('0') || b.starts_with('0')) {
        // Fractional comparison: as strings, padded.
        let width = a.len().max(b.len());
        return format!("{a:0<width$}").cmp(&format!("{b:0<width$}"));
    }
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (i, (a, b)) in self.numbers.iter().zip(&other.numbers).enumerate() {
            let c = apk_number(a, b, i == 0);
            if c != Ordering::Equal {
                return c;
            }
        }
        let c = self.numbers.len().cmp(&other.numbers.len());
        if c != Ordering::Equal {
            return c;
        }
        let c = self.letter.cmp(&other.letter);
        if c != Ordering::Equal {
            return c;
        }
        let n = self.suffixes.len().max(other.suffixes.len());
        for i in 0..n {
            // A missing suffix sorts as "none": after pre-releases, before post-releases.
            let a = self.suffixes.get(i).copied().unwrap_or((0, 0));
            let b = other.suffixes.get(i).copied().unwrap_or((0, 0));
            let c = a.cmp(&b);
            if c != Ordering::Equal {
                return c;
            }
        }
        self.revision.cmp(&other.revision)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

// ---------------------------------------------------------------- SemVer

/// SemVer 2.0 precedence, tolerant of what registries hold: a leading `v` or `go`, missing
/// minor or patch (as 0), build metadata ignored.
pub fn semver(a: &str, b: &str) -> Ordering {
    match (Semver::parse(a), Semver::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Semver {
    core: [u64; 3],
    pre: Vec<String>,
}

impl Semver {
    fn parse(v: &str) -> Option<Self> {
        let v = v.trim();
        let v = v
            .strip_prefix("go")
            .or_else(|| v.strip_prefix('v'))
            .unwrap_or(v);
        let v = v.split('+').next()?;
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (v, None),
        };
        let mut parts = [0u64; 3];
        let fields: Vec<&str> = core.split('.').collect();
        if fields.is_empty() || fields.len() > 3 {
            return None;
        }
        for (i, f) in fields.iter().enumerate() {
            parts[i] = f.parse().ok()?;
        }
        Some(Self {
            core: parts,
            pre: pre
                .map(|p| p.split('.').map(str::to_string).collect())
                .unwrap_or_default(),
        })
    }
}

impl Ord for Semver {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let c = match (a.parse::<u64>(), b.parse::<u64>()) {
                            (Ok(x), Ok(y)) => x.cmp(&y),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => a.cmp(b),
                        };
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }
}

impl PartialOrd for Semver {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

// ---------------------------------------------------------------- PEP 440

/// PEP 440 ordering: epoch, release (zero-padded), then `.devN` < `aN` < `bN` < `rcN` < final <
/// `.postN`; local versions (`+…`) are ignored for ranges.
pub fn pep440(a: &str, b: &str) -> Ordering {
    match (Pep440::parse(a), Pep440::parse(b)) {
        (Some(x), Some(y)) => x.key().cmp(&y.key()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[derive(Debug)]
struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Pep440 {
    fn parse(v: &str) -> Option<Self> {
        let v = v.trim().to_ascii_lowercase();
        let v = v.strip_prefix('v').unwrap_or(&v);
        let v = v.split('+').next()?;
        let (epoch, rest) = match v.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, v),
        };
        let bytes = rest.as_bytes();
        let mut i = 0;
        let mut release = Vec::new();
        loop {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return None;
            }
            release.push(rest[start..i].parse().ok()?);
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
            } else {
                break;
            }
        }
        let mut tail = &rest[i..];
        let number = |t: &str| -> (u64, usize) {
            let t2 = t.trim_start_matches(['.', '-', '_']);
            let skipped = t.len() - t2.len();
            let end = t2.find(|c: char| !c.is_ascii_digit()).unwrap_or(t2.len());
            (t2[..end].parse().unwrap_or(0), skipped + end)
        };
        let mut pre = None;
        let mut post = None;
        let mut dev = None;
        while !tail.is_empty() {
            let t = tail.trim_start_matches(['.', '-', '_']);
            let matched = [
                ("alpha", 0u8),
                ("a", 0),
                ("beta", 1),
                ("b", 1),
                ("preview", 2),
                ("pre", 2),
                ("rc", 2),
                ("c", 2),
            ]
            .into_iter()
            .find(|(p, _)| t.starts_with(p));
            if let Some((p, rank)) = matched.filter(|_| pre.is_none()) {
                let (n, used) = number(&t[p.len()..]);
                pre = Some((rank, n));
                tail = &t[p.len() + used..];
            } else if let Some(p) = ["post", "rev", "r"].into_iter().find(|p| t.starts_with(p)) {
                let (n, used) = number(&t[p.len()..]);
                post = Some(n);
                tail = &t[p.len() + used..];
            } else if let Some(rest) = t.strip_prefix("dev") {
                let (n, used) = number(rest);
                dev = Some(n);
                tail = &rest[used..];
            } else {
                return None;
            }
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        Some(Self {
            epoch,
            release,
            pre,
            post,
            dev,
        })
    }

    /// (epoch, release, pre, post, dev) with the sentinels PEP 440 orders by.
    fn key(&self) -> (u64, Vec<u64>, (i64, u64), i64, i64) {
        let pre = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0), // X.devN sorts before X.aN
            (None, _, _) => (3, 0),           // no pre-release: after rc
            (Some((rank, n)), _, _) => (i64::from(rank), n),
        };
        let post = self.post.map_or(-1, |p| p as i64);
        let dev = self.dev.map_or(i64::MAX, |d| d as i64);
        (self.epoch, self.release.clone(), pre, post, dev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn sorted(scheme: Scheme, versions: &[&str]) {
        for (i, a) in versions.iter().enumerate() {
            for (j, b) in versions.iter().enumerate() {
                assert_eq!(scheme.compare(a, b), i.cmp(&j), "{scheme:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn dpkg_orders_like_dpkg() {
        sorted(
            Scheme::Dpkg,
            &[
                "1.0~rc1",
                "1.0",
                "1.0-1",
                "1.0-1+deb12u1",
                "1.0a",
                "1.0.1",
                "2.9.4+dfsg1-2.2+deb9u7",
                "2.9.14+dfsg-1.3~deb12u3",
                "2.9.14+dfsg-1.3~deb12u5",
                "2.9.14+dfsg-1.3",
                "1:0.1",
            ],
        );
        assert_eq!(dpkg("3.0.19-1~deb12u2", "1.1.0l-1~deb9u6"), Greater);
        assert_eq!(dpkg("1.21.22", "1.18.26"), Greater);
        assert_eq!(dpkg("2025b-0+deb12u2", "2021a-0+deb9u4"), Greater);
        assert_eq!(dpkg("1:2.39.5-0+deb12u2", "2.40"), Greater, "epoch wins");
        assert_eq!(dpkg("1.0", "1.0-0"), Equal);
    }

    #[test]
    fn apk_orders_like_apk() {
        sorted(
            Scheme::Apk,
            &[
                "1.0_alpha",
                "1.0_alpha2",
                "1.0_beta",
                "1.0_pre1",
                "1.0_rc1",
                "1.0",
                "1.0-r1",
                "1.0_p1",
                "1.0a",
                "1.0.1",
                "1.2.3-r4",
                "1.2.4-r0",
                "1.2.4-r3",
                "1.9",
                "1.10",
            ],
        );
        // Fractional components after the first: 1.01 < 1.1 is false in apk (0.01 < 0.1).
        assert_eq!(apk("1.01", "1.1"), Less);
    }

    #[test]
    fn semver_orders_by_precedence() {
        sorted(
            Scheme::Semver,
            &[
                "0.0.0-0",
                "0.2.33",
                "0.2.36",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.6.1",
                "1.15.1",
                "v1.17.9",
                "go1.17.10",
                "1.18.0-0",
                "1.18.1",
            ],
        );
        assert_eq!(semver("1.0.0+build", "1.0.0"), Equal);
    }

    #[test]
    fn pep440_orders_like_pip() {
        sorted(
            Scheme::Pep440,
            &[
                "1.0.dev1",
                "1.0a1",
                "1.0a2.dev1",
                "1.0a2",
                "1.0b1",
                "1.0rc1",
                "1.0",
                "1.0.post1",
                "1.0.1",
                "1.11.29",
                "2.2.24",
                "2.3.0",
                "2.20.0",
                "2.31.0",
                "1!0.1",
            ],
        );
        assert_eq!(pep440("1.0.0", "1.0"), Equal);
        assert_eq!(pep440("1.0+local", "1.0"), Equal);
    }

    #[test]
    fn ecosystems_map_to_schemes() {
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(Scheme::for_ecosystem("Alpine:v3.18"), Some(Scheme::Apk));
        assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::for_ecosystem("PyPI"), Some(Scheme::Pep440));
        assert_eq!(Scheme::for_ecosystem("Maven"), None);
    }
}
