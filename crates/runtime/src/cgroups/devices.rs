//! Device access rules: linux.resources.devices and the defaults every container may use.
//!
//! On cgroup v1 the rules are written, in order, to devices.allow / devices.deny and
//! the kernel keeps the state. cgroup v2 has no such files: access is decided by an
//! eBPF program attached to the cgroup. To give both the same meaning, `State` replays
//! the rules with the v1 controller's semantics (security/device_cgroup.c: a default
//! behaviour plus a list of exceptions) and `program` compiles the resulting state to
//! eBPF, so a rule list allows on v2 exactly what it allows on v1.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// Access bits, as both the v1 controller and the eBPF context number them.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
const ALL_ACCESS: u8 = MKNOD | READ | WRITE;

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

/// A minimal eBPF assembler: only the instructions a device program needs.
mod insn {
    /// One 8-byte instruction: opcode, dst/src registers, offset, immediate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[repr(C)]
    pub struct Insn {
        pub code: u8,
        pub regs: u8,
        pub off: i16,
        pub imm: i32,
    }

    const fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | dst,
            off,
            imm,
        }
    }

    // Opcode = operation | source | class (linux/bpf_common.h, linux/bpf.h).
    const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    const ALU64_MOV_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
    const ALU64_AND_K: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
    const ALU64_RSH_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
    const JMP32_JNE_K: u8 = 0x56; // BPF_JMP32 | BPF_JNE | BPF_K
    const JMP32_JEQ_K: u8 = 0x16; // BPF_JMP32 | BPF_JEQ | BPF_K
    const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

    /// dst = *(u32 *)(src + off)
    pub const fn load_u32(dst: u8, src: u8, off: i16) -> Insn {
        ins(LDX_MEM_W, dst, src, off, 0)
    }
    pub const fn mov_imm(dst: u8, imm: i32) -> Insn {
        ins(ALU64_MOV_K, dst, 0, 0, imm)
    }
    pub const fn mov(dst: u8, src: u8) -> Insn {
        ins(ALU64_MOV_X, dst, src, 0, 0)
    }
    pub const fn and_imm(dst: u8, imm: i32) -> Insn {
        ins(ALU64_AND_K, dst, 0, 0, imm)
    }
    pub const fn rsh_imm(dst: u8, imm: i32) -> Insn {
        ins(ALU64_RSH_K, dst, 0, 0, imm)
    }
    /// if (u32)dst != (u32)imm: skip `off` instructions. The 32-bit compare keeps
    /// device numbers above 2^31 from being sign-extended.
    pub const fn jne_imm(dst: u8, imm: u32, off: i16) -> Insn {
        ins(JMP32_JNE_K, dst, 0, off, imm as i32)
    }
    pub const fn jeq_imm(dst: u8, imm: u32, off: i16) -> Insn {
        ins(JMP32_JEQ_K, dst, 0, off, imm as i32)
    }
    pub const fn exit() -> Insn {
        ins(JMP_EXIT, 0, 0, 0, 0)
    }
}

pub use insn::Insn;

// Registers: r1 holds the context (struct bpf_cgroup_dev_ctx); the program keeps the
// device type in r2, the requested access in r3, major in r4, minor in r5; r6 is scratch.
const R_CTX: u8 = 1;
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;
const R_TMP: u8 = 6;

/// Compiles `state` to a BPF_PROG_TYPE_CGROUP_DEVICE program returning 1 (allow) or
/// 0 (deny). One block per exception, each falling through to the next when its
/// device or access does not match; the default verdict ends the program.
pub fn program(state: &State) -> Vec<Insn> {
    use insn::*;
    let mut p = vec![
        // access_type = (access << 16) | type
        load_u32(R_TYPE, R_CTX, 0),
        mov(R_ACCESS, R_TYPE),
        and_imm(R_TYPE, 0xffff),
        rsh_imm(R_ACCESS, 16),
        load_u32(R_MAJOR, R_CTX, 4),
        load_u32(R_MINOR, R_CTX, 8),
    ];
    // An exception's verdict is the opposite of the default.
    let verdict = i32::from(!state.allow_all);
    for e in &state.exceptions {
        // Each test jumps to the end of this block: "skip" is patched once the block's
        // length is known.
        let mut block: Vec<(Insn, bool)> = vec![(jne_imm(R_TYPE, e.kind as u32, 0), true)];
        if let Some(m) = e.major {
            block.push((jne_imm(R_MAJOR, m, 0), true));
        }
        if let Some(m) = e.minor {
            block.push((jne_imm(R_MINOR, m, 0), true));
        }
        if state.allow_all {
            // A deny exception applies when the access touches any of its bits.
            block.push((mov(R_TMP, R_ACCESS), false));
            block.push((and_imm(R_TMP, i32::from(e.access)), false));
            block.push((jeq_imm(R_TMP, 0, 0), true));
        } else if e.access != ALL_ACCESS {
            // An allow exception applies when it covers every requested bit.
            block.push((mov(R_TMP, R_ACCESS), false));
            block.push((and_imm(R_TMP, i32::from(!e.access & ALL_ACCESS)), false));
            block.push((jne_imm(R_TMP, 0, 0), true));
        }
        block.push((mov_imm(0, verdict), false));
        block.push((exit(), false));
        let len = block.len();
        for (i, (mut ins, jumps)) in block.into_iter().enumerate() {
            if jumps {
                // Past the remaining instructions of the block.
                ins.off = (len - i - 1) as i16;
            }
            p.push(ins);
        }
    }
    p.push(mov_imm(0, i32::from(state.allow_all)));
    p.push(exit());
    p
}

// bpf(2) commands, program and attach types, flags (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The leading fields of union bpf_attr for BPF_PROG_LOAD.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The fields of union bpf_attr for BPF_PROG_ATTACH.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: attr is a live, initialised repr(C) prefix of union bpf_attr and its size
    // is passed along; the kernel reads (and for PROG_LOAD's log, writes) only within it
    // and the buffers it points to, which outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Loads a device program; on a verifier error the verifier's log is in the message.
pub fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = CString::new("Apache-2.0").map_err(|_| Error::other("license"))?;
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"vsbx_devices");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: a successful BPF_PROG_LOAD returns a new fd that nothing else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e)
            if e.raw_os_error() == Some(libc::EINVAL) || e.raw_os_error() == Some(libc::EACCES) =>
        {
            // Load again with the verifier's log to say why.
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Err(Error::other(format!(
                "the kernel refused the device program: {e}: {last}"
            )))
        }
        Err(e) => Err(Error::os("cannot load the device eBPF program", e)),
    }
}

/// Attaches `prog` to the cgroup v2 directory `dir`. BPF_F_ALLOW_MULTI keeps the
/// programs of parent cgroups in force: an access must pass all of them. The cgroup
/// holds the program from here on; it goes away with the cgroup.
pub fn attach(dir: &Path, prog: &OwnedFd) -> Result<()> {
    let cgroup = std::fs::File::open(dir).map_err(|e| Error::path("cannot open cgroup", dir, e))?;
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map(drop)
        .map_err(|e| Error::path("cannot attach the device eBPF program to", dir, e))
}

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
    use super::*;

    fn rules(lines: &[(bool, &str)]) -> Vec<Rule> {
        lines
            .iter()
            .map(|(a, l)| Rule::parse(*a, l).unwrap())
            .collect()
    }

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

    /// Runs the program the way the kernel would, for the instructions `program` emits.
    fn interpret(p: &[Insn], typ: Kind, access: u8, major: u32, minor: u32) -> u64 {
        let ctx = [(u32::from(access) << 16) | typ as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                0x61 => r[dst] = u64::from(ctx[(i.off / 4) as usize]),
                0xb7 => r[dst] = i.imm as i64 as u64,
                0xbf => r[dst] = r[src],
                0x57 => r[dst] &= i.imm as i64 as u64,
                0x77 => r[dst] >>= i.imm,
                0x56 if r[dst] as u32 != i.imm as u32 => pc += i.off as usize,
                0x16 if r[dst] as u32 == i.imm as u32 => pc += i.off as usize,
                0x56 | 0x16 => {}
                0x95 => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn program_decides_like_the_state() {
        let lists: &[&[(bool, &str)]] = &[
            &[],
            &[(false, "a")],
            &[
                (false, "a"),
                (true, "c 1:3 rw"),
                (false, "c 1:3 w"),
                (true, "b 7:* r"),
            ],
            &[(false, "c 1:* w"), (false, "b *:0 m")],
            &[(false, "c 1:* rw"), (true, "c 1:* w")],
            &[(false, "a"), (true, "c *:* m"), (true, "c 4294967295:1 r")],
        ];
        for list in lists {
            let mut rs = rules(list);
            rs.extend_from_slice(DEFAULT_ALLOWED);
            let s = State::from_rules(&rs);
            let p = program(&s);
            for kind in [Kind::Char, Kind::Block] {
                for (maj, min) in [
                    (1, 3),
                    (1, 9),
                    (5, 0),
                    (7, 0),
                    (136, 4),
                    (4294967295, 1),
                    (10, 200),
                ] {
                    for access in 1..=ALL_ACCESS {
                        assert_eq!(
                            interpret(&p, kind, access, maj, min) == 1,
                            s.allows(kind, maj, min, access),
                            "{list:?} {kind:?} {maj}:{min} access {access}"
                        );
                    }
                }
            }
        }
    }
}
