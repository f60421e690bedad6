//! Device access rules: linux.resources.devices and the defaults every container may use.
//!
//! On cgroup v1 the rules are written, in order, to devices.allow / devices.deny and
//! the kernel keeps the state. cgroup v2 has no such files: access is decided by an
//! eBPF program attached to the cgroup. To give both the same meaning, `State` replays
//! the rules with the v1 controller's semantics (security/device_cgroup.c: a default
//! behaviour plus a list of exceptions) and `program` compiles the resulting state to
//! eBPF, so a rule list allows on v2 exactly what it allows on v1.
//!
//! Modules: `rule` parses rules, `v1_model` is the v1 controller's state machine,
//! `ebpf` compiles a state to a program and `bpf_sys` loads and attaches it; this
//! module puts a rule list in force on either version.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

mod bpf_sys;
mod ebpf;
mod rule;
mod v1_model;

pub use bpf_sys::{attach, load};
pub use ebpf::{program, Insn};
pub use rule::{container_rules, Kind, Rule, DEFAULT_ALLOWED, MKNOD, READ, WRITE};
pub use v1_model::{Exception, State};

/// Puts `rules` in force for the cgroup `dir`: v1 (a devices hierarchy directory) by
/// writing the rules, v2 by attaching their compiled program.
pub fn apply(dir: &Path, v2: bool, rules: &[Rule]) -> Result<()> {
    if v2 {
        let state = State::from_rules(rules);
        if state == State::default() {
            return Ok(()); // nothing to restrict: no program needed
        }
        return attach(dir, &load(&program(&state))?);
    }
    write_v1(dir, rules)
}

fn write_v1(dir: &Path, rules: &[Rule]) -> Result<()> {
    use std::io::Write;
    // One open file per control file: each write(2) is one rule to the kernel.
    let open = |name: &str| -> Result<(PathBuf, std::fs::File)> {
        let p = dir.join(name);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| Error::path("cannot open", &p, e))?;
        Ok((p, f))
    };
    let mut allow: Option<(PathBuf, std::fs::File)> = None;
    let mut deny: Option<(PathBuf, std::fs::File)> = None;
    for r in rules {
        let slot = if r.allow() { &mut allow } else { &mut deny };
        if slot.is_none() {
            *slot = Some(open(if r.allow() {
                "devices.allow"
            } else {
                "devices.deny"
            })?);
        }
        let Some((p, f)) = slot.as_mut() else {
            continue;
        };
        let line = r.v1_line();
        f.write_all(line.as_bytes())
            .map_err(|e| Error::os(format!("cannot write {line:?} to {}", p.display()), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rule::parse_lines;
    use super::*;

    #[test]
    fn v1_rules_go_in_order_to_allow_and_deny() {
        let tmp = tempfile::tempdir().unwrap();
        for f in ["devices.allow", "devices.deny"] {
            std::fs::write(tmp.path().join(f), "").unwrap();
        }
        let rules = parse_lines(&[(false, "a"), (true, "c 1:3 rw"), (true, "b *:* m")]);
        apply(tmp.path(), false, &rules).unwrap();
        let read = |f: &str| std::fs::read_to_string(tmp.path().join(f)).unwrap();
        // One write(2) per rule; a regular file just concatenates them.
        assert_eq!(read("devices.deny"), "a");
        assert_eq!(read("devices.allow"), "c 1:3 rwb *:* m");
    }

    #[test]
    fn v1_missing_control_file_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        let e = apply(tmp.path(), false, &parse_lines(&[(true, "c 1:3 r")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("devices.allow"), "{e}");
        // Nothing to write: no file is opened.
        apply(tmp.path(), false, &[]).unwrap();
    }

    #[test]
    fn v2_without_restrictions_loads_no_program() {
        // The default state needs no program: no bpf(2) call, so this runs unprivileged.
        let tmp = tempfile::tempdir().unwrap();
        apply(
            tmp.path(),
            true,
            &parse_lines(&[(false, "c 1:3 r"), (true, "a")]),
        )
        .unwrap();
    }
}
