//! Device rules: the spec's linux.resources.devices entries and the v1 file syntax
//! ("a", "c 1:3 rwm") parsed into `Rule`s, and the defaults every container may use.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// Access bits, as both the v1 controller and the eBPF context number them.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub(super) const ALL_ACCESS: u8 = MKNOD | READ | WRITE;

/// Device types, numbered as in the eBPF context (BPF_DEVCG_DEV_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Block = 1,
    Char = 2,
}

/// One line of a device rule list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// "a": every device; resets the state to allow-all or deny-all.
    All { allow: bool },
    /// "c 1:3 rw": `None` major/minor is the wildcard '*'.
    Dev {
        allow: bool,
        kind: Kind,
        major: Option<u32>,
        minor: Option<u32>,
        access: u8,
    },
}

/// An allow rule for `rwm`-style access to one device pattern (`None` = '*').
const fn allow(kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
    Rule::Dev {
        allow: true,
        kind,
        major,
        minor,
        access,
    }
}

/// The devices every container may use, applied after the spec's own rules (as runc does,
/// without tun): mknod of any node, null, zero, full, random, urandom, tty, console,
/// ptmx and the pty slaves.
pub const DEFAULT_ALLOWED: &[Rule] = &[
    allow(Kind::Char, None, None, MKNOD),
    allow(Kind::Block, None, None, MKNOD),
    allow(Kind::Char, Some(1), Some(3), ALL_ACCESS),
    allow(Kind::Char, Some(1), Some(5), ALL_ACCESS),
    allow(Kind::Char, Some(1), Some(7), ALL_ACCESS),
    allow(Kind::Char, Some(1), Some(8), ALL_ACCESS),
    allow(Kind::Char, Some(1), Some(9), ALL_ACCESS),
    allow(Kind::Char, Some(5), Some(0), ALL_ACCESS),
    allow(Kind::Char, Some(5), Some(1), ALL_ACCESS),
    allow(Kind::Char, Some(5), Some(2), ALL_ACCESS),
    allow(Kind::Char, Some(136), None, ALL_ACCESS),
];

fn parse_access(s: &str) -> Option<u8> {
    let mut bits = 0;
    for c in s.chars() {
        bits |= match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => return None,
        };
    }
    (bits != 0).then_some(bits)
}

fn access_string(bits: u8) -> String {
    [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, c)| *c)
        .collect()
}

impl Rule {
    /// Parses the v1 file syntax ("a", "c 1:3 rwm", "b *:* m") used for the defaults.
    pub fn parse(allow: bool, line: &str) -> Result<Rule> {
        let bad = || {
            Error::invalid(format!(
                "device rule {line:?}: expected \"a\" or \"c|b MAJOR:MINOR ACCESS\""
            ))
        };
        if line.trim() == "a" {
            return Ok(Rule::All { allow });
        }
        let mut parts = line.split_whitespace();
        let kind = match parts.next() {
            Some("c") => Kind::Char,
            Some("b") => Kind::Block,
            _ => return Err(bad()),
        };
        let (maj, min) = parts
            .next()
            .and_then(|n| n.split_once(':'))
            .ok_or_else(bad)?;
        let num = |s: &str| -> Result<Option<u32>> {
            if s == "*" {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|_| bad())
        };
        let access = parts.next().and_then(parse_access).ok_or_else(bad)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Rule::Dev {
            allow,
            kind,
            major: num(maj)?,
            minor: num(min)?,
            access,
        })
    }

    /// One linux.resources.devices entry. `at` names it in errors. FIFOs are not
    /// subject to the device controller: such a rule is `None`.
    pub fn from_spec(r: &LinuxDeviceCgroup, at: usize) -> Result<Option<Rule>> {
        let field = format!("linux.resources.devices[{at}]");
        let num = |n: Option<i64>, what: &str| -> Result<Option<u32>> {
            match n {
                None | Some(-1) => Ok(None),
                Some(v) => u32::try_from(v).map(Some).map_err(|_| {
                    Error::invalid(format!("{field}.{what}: {v} is not a device number"))
                }),
            }
        };
        let access = match r.access().as_deref() {
            None => ALL_ACCESS,
            Some(a) => parse_access(a).ok_or_else(|| {
                Error::invalid(format!(
                    "{field}.access: {a:?} must be a non-empty combination of r, w and m"
                ))
            })?,
        };
        let kind = match r.typ() {
            // Type "a" covers every device whatever major, minor and access say: the v1
            // controller reads "a ..." as a reset to allow-all or deny-all.
            Some(LinuxDeviceType::A) | None => return Ok(Some(Rule::All { allow: r.allow() })),
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Kind::Char,
            Some(LinuxDeviceType::B) => Kind::Block,
            Some(LinuxDeviceType::P) => return Ok(None),
        };
        Ok(Some(Rule::Dev {
            allow: r.allow(),
            kind,
            major: num(r.major(), "major")?,
            minor: num(r.minor(), "minor")?,
            access,
        }))
    }

    pub fn allow(&self) -> bool {
        match self {
            Rule::All { allow } | Rule::Dev { allow, .. } => *allow,
        }
    }

    /// The line for devices.allow / devices.deny.
    pub fn v1_line(&self) -> String {
        match self {
            Rule::All { .. } => "a".into(),
            Rule::Dev {
                kind,
                major,
                minor,
                access,
                ..
            } => {
                let num = |n: &Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
                let k = if *kind == Kind::Block { 'b' } else { 'c' };
                format!(
                    "{k} {}:{} {}",
                    num(major),
                    num(minor),
                    access_string(*access)
                )
            }
        }
    }
}

/// The whole rule list of a container: the spec's rules, then the defaults. Nodes in
/// linux.devices get no rule of their own: as with runc, using them takes an entry in
/// linux.resources.devices.
pub fn container_rules(spec_rules: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    let mut out = Vec::with_capacity(spec_rules.len() + DEFAULT_ALLOWED.len());
    for (i, r) in spec_rules.iter().enumerate() {
        out.extend(Rule::from_spec(r, i)?);
    }
    out.extend_from_slice(DEFAULT_ALLOWED);
    Ok(out)
}

/// Parses `(allow, line)` pairs: rule lists for tests.
#[cfg(test)]
pub(super) fn parse_lines(lines: &[(bool, &str)]) -> Vec<Rule> {
    lines
        .iter()
        .map(|(a, l)| Rule::parse(*a, l).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_devices_as_v1_lines() {
        let lines: Vec<String> = DEFAULT_ALLOWED.iter().map(Rule::v1_line).collect();
        assert_eq!(
            lines,
            [
                "c *:* m",
                "b *:* m",
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:0 rwm",
                "c 5:1 rwm",
                "c 5:2 rwm",
                "c 136:* rwm",
            ]
        );
    }

    #[test]
    fn lines_parse_and_render_back() {
        for l in ["a", "c 1:3 rw", "b *:* m", "c 136:* rwm", "c 10:200 w"] {
            assert_eq!(Rule::parse(true, l).unwrap().v1_line(), l);
        }
        for bad in [
            "",
            "x 1:3 rw",
            "c 1 rw",
            "c 1:3",
            "c 1:3 rx",
            "c a:3 r",
            "c 1:3 r x",
        ] {
            assert!(Rule::parse(true, bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn spec_entries_map_to_rules() {
        let r = |json: &str| {
            let d: LinuxDeviceCgroup = serde_json::from_str(json).unwrap();
            Rule::from_spec(&d, 0)
        };
        assert_eq!(
            r(r#"{"allow":false,"access":"rwm"}"#).unwrap(),
            Some(Rule::All { allow: false })
        );
        assert_eq!(
            r(r#"{"allow":true,"type":"c","major":136,"minor":-1}"#)
                .unwrap()
                .unwrap()
                .v1_line(),
            "c 136:* rwm"
        );
        assert_eq!(
            r(r#"{"allow":true,"type":"p","major":1,"minor":2}"#).unwrap(),
            None
        );
        let e = r(r#"{"allow":true,"type":"c","major":-5,"minor":1}"#).unwrap_err();
        assert!(e.to_string().contains("devices[0].major: -5"), "{e}");
        let e = r(r#"{"allow":true,"type":"c","access":"rx"}"#).unwrap_err();
        assert!(e.to_string().contains("devices[0].access"), "{e}");
    }
}
