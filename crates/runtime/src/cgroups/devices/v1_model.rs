//! The v1 device controller's model (security/device_cgroup.c): a default behaviour
//! plus a list of exceptions, changed rule by rule as writes to devices.allow and
//! devices.deny change it. cgroup v2 programs are compiled from this state.

use super::rule::{Kind, Rule};

/// An exception of the v1 model: a device pattern and the access bits it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

/// The v1 device controller's state: with `allow_all`, every access not matching an
/// exception (even partly) is allowed; without, an access is allowed only when one
/// exception covers it entirely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub allow_all: bool,
    pub exceptions: Vec<Exception>,
}

impl Default for State {
    /// A new cgroup below an unrestricted parent allows everything.
    fn default() -> Self {
        State {
            allow_all: true,
            exceptions: Vec::new(),
        }
    }
}

impl State {
    /// Replays `rules` in order, as writes to devices.allow / devices.deny would.
    pub fn from_rules(rules: &[Rule]) -> State {
        let mut s = State::default();
        for r in rules {
            s.apply(r);
        }
        s
    }

    pub fn apply(&mut self, rule: &Rule) {
        match rule {
            Rule::All { allow } => {
                self.allow_all = *allow;
                self.exceptions.clear();
            }
            Rule::Dev {
                allow,
                kind,
                major,
                minor,
                access,
            } => {
                let ex = Exception {
                    kind: *kind,
                    major: *major,
                    minor: *minor,
                    access: *access,
                };
                // An allow in allow-all mode (or a deny in deny-all mode) takes access
                // away from a matching exception; otherwise it adds an exception.
                if *allow == self.allow_all {
                    self.remove(&ex);
                } else {
                    self.add(ex);
                }
            }
        }
    }

    fn same_device(a: &Exception, b: &Exception) -> bool {
        a.kind == b.kind && a.major == b.major && a.minor == b.minor
    }

    fn add(&mut self, ex: Exception) {
        match self
            .exceptions
            .iter_mut()
            .find(|e| Self::same_device(e, &ex))
        {
            Some(e) => e.access |= ex.access,
            None => self.exceptions.push(ex),
        }
    }

    fn remove(&mut self, ex: &Exception) {
        for e in self
            .exceptions
            .iter_mut()
            .filter(|e| Self::same_device(e, ex))
        {
            e.access &= !ex.access;
        }
        self.exceptions.retain(|e| e.access != 0);
    }

    /// The decision for one access to one device (what the kernel's v1 check gives).
    pub fn allows(&self, kind: Kind, major: u32, minor: u32, access: u8) -> bool {
        let dev_matches = |e: &Exception| {
            e.kind == kind
                && e.major.is_none_or(|m| m == major)
                && e.minor.is_none_or(|m| m == minor)
        };
        if self.allow_all {
            !self
                .exceptions
                .iter()
                .any(|e| dev_matches(e) && access & e.access != 0)
        } else {
            self.exceptions
                .iter()
                .any(|e| dev_matches(e) && access & !e.access == 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::{parse_lines as rules, MKNOD, READ, WRITE};
    use super::*;

    #[test]
    fn state_follows_the_v1_controller() {
        // The usual container list: deny all, then allow a few.
        let s = State::from_rules(&rules(&[
            (false, "a"),
            (true, "c 1:3 rw"),
            (true, "c 1:3 m"),
        ]));
        assert!(!s.allow_all);
        assert_eq!(s.exceptions.len(), 1, "same device merges: {s:?}");
        assert!(s.allows(Kind::Char, 1, 3, READ | WRITE | MKNOD));
        assert!(!s.allows(Kind::Char, 1, 5, READ));
        assert!(!s.allows(Kind::Block, 1, 3, READ));

        // Deny all, allow rw on every char device, then deny w on 1:3 again.
        let s = State::from_rules(&rules(&[
            (false, "a"),
            (true, "c 1:3 rw"),
            (false, "c 1:3 w"),
        ]));
        assert!(s.allows(Kind::Char, 1, 3, READ));
        assert!(!s.allows(Kind::Char, 1, 3, WRITE));
        assert!(!s.allows(Kind::Char, 1, 3, READ | WRITE));

        // Allow-all with a deny exception: any overlap denies.
        let s = State::from_rules(&rules(&[(false, "c 1:* w")]));
        assert!(s.allow_all);
        assert!(!s.allows(Kind::Char, 1, 9, READ | WRITE));
        assert!(s.allows(Kind::Char, 1, 9, READ));
        assert!(s.allows(Kind::Block, 1, 9, WRITE));
        // An allow in allow-all mode removes the exception's bits.
        let s = State::from_rules(&rules(&[(false, "c 1:* rw"), (true, "c 1:* w")]));
        assert!(s.allows(Kind::Char, 1, 9, WRITE));
        assert!(!s.allows(Kind::Char, 1, 9, READ));
        // A wildcard exception is a different device from a numbered one (as in v1).
        let s = State::from_rules(&rules(&[
            (false, "a"),
            (true, "c 1:* r"),
            (false, "c 1:3 r"),
        ]));
        assert!(s.allows(Kind::Char, 1, 3, READ));
        // "a" resets whatever came before.
        let s = State::from_rules(&rules(&[(false, "c 1:3 r"), (true, "a")]));
        assert_eq!(s, State::default());
    }
}
