//! Helpers shared by the fuzz targets: a structure-aware JSON mutator (edits of the
//! parsed tree, so that mutations of a valid config.json reach past the parser), a
//! checker of classic-BPF programs as the kernel checks a seccomp filter, and the
//! scratch bundle directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Number, Value};

/// A tiny xorshift generator: the mutator is driven by libFuzzer's seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u32) -> Rng {
        Rng(u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Strings worth trying anywhere: OCI enum values, paths that escape, odd names.
const STRINGS: &[&str] = &[
    "",
    "/",
    ".",
    "..",
    "../../..",
    "/proc/self/exe",
    "/dev/null",
    "rootfs",
    "bind",
    "rbind",
    "ro",
    "nosuid,noexec",
    "tmpfs",
    "proc",
    "private",
    "rshared",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_GE",
    "SCMP_ARCH_X86",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "read",
    "clone",
    "clone3",
    "personality",
    "CAP_SYS_ADMIN",
    "CAP_NET_RAW",
    "RLIMIT_NOFILE",
    "RLIMIT_BOGUS",
    "SCHED_FIFO",
    "IOPRIO_CLASS_RT",
    "LINUX32",
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
    "fs.mqueue.msg_max",
    "mount",
    "network",
    "user",
    "pid",
    "time",
    "cgroup",
    "a",
    "c",
    "b",
    "rwm",
    "1.0.0",
    "1.2.0",
    "2.0.0",
    "1.0",
    "A=B",
    "NOEQUALS",
    "\u{0}",
    "é",
];

/// Object keys of config.json, linux.seccomp and profile data, for inserted fields.
const KEYS: &[&str] = &[
    "ociVersion",
    "process",
    "root",
    "path",
    "readonly",
    "hostname",
    "domainname",
    "mounts",
    "destination",
    "source",
    "type",
    "options",
    "args",
    "env",
    "cwd",
    "user",
    "uid",
    "gid",
    "additionalGids",
    "umask",
    "terminal",
    "consoleSize",
    "capabilities",
    "bounding",
    "effective",
    "permitted",
    "inheritable",
    "ambient",
    "rlimits",
    "hard",
    "soft",
    "noNewPrivileges",
    "oomScoreAdj",
    "scheduler",
    "policy",
    "nice",
    "priority",
    "ioPriority",
    "class",
    "linux",
    "namespaces",
    "uidMappings",
    "gidMappings",
    "containerID",
    "hostID",
    "size",
    "sysctl",
    "resources",
    "devices",
    "allow",
    "access",
    "major",
    "minor",
    "memory",
    "limit",
    "swap",
    "cpu",
    "pids",
    "cgroupsPath",
    "rootfsPropagation",
    "maskedPaths",
    "readonlyPaths",
    "personality",
    "domain",
    "flags",
    "timeOffsets",
    "secs",
    "nanosecs",
    "seccomp",
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "listenerPath",
    "syscalls",
    "names",
    "action",
    "errnoRet",
    "index",
    "value",
    "valueTwo",
    "op",
    "hooks",
    "annotations",
    "intelRdt",
    "mountLabel",
];

fn interesting_number(rng: &mut Rng) -> Value {
    let ints: [i64; 12] = [
        0,
        1,
        -1,
        2,
        5,
        6,
        64,
        4096,
        65536,
        i64::from(i32::MAX),
        i64::MIN,
        i64::MAX,
    ];
    match rng.below(4) {
        0 => Value::Number(Number::from(u64::MAX)),
        1 => Number::from_f64(
            rng.pick(&[0.5, -0.0, 1e308, -1e-308])
                .copied()
                .unwrap_or(0.5),
        )
        .map(Value::Number)
        .unwrap_or(Value::Null),
        _ => Value::Number(Number::from(rng.pick(&ints).copied().unwrap_or(0))),
    }
}

fn interesting_scalar(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 | 3 => interesting_number(rng),
        _ => Value::String(rng.pick(STRINGS).copied().unwrap_or("").to_string()),
    }
}

/// Every node of `v` as a path of steps (array index or object key).
fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(Step::Key(k.clone()));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum Step {
    Index(usize),
    Key(String),
}

fn at_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn at<'a>(v: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Step::Index(i), Value::Array(a)) => a.get(*i)?,
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Applies one random structural edit to `root`.
pub fn mutate_value(root: &mut Value, rng: &mut Rng) {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let Some(target) = all.get(rng.below(all.len())).cloned() else {
        return;
    };
    let donor = all
        .get(rng.below(all.len()))
        .and_then(|p| at(root, p))
        .cloned();
    let op = rng.below(8);
    let Some(node) = at_mut(root, &target) else {
        return;
    };
    match op {
        0 => *node = interesting_scalar(rng),
        1 => {
            if let Some(d) = donor {
                *node = d;
            }
        }
        2 => match node {
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                a.remove(i);
            }
            Value::Object(m) if !m.is_empty() => {
                let i = rng.below(m.len());
                if let Some(k) = m.keys().nth(i).cloned() {
                    m.remove(&k);
                }
            }
            _ => *node = Value::Null,
        },
        3 => match node {
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                let copy = a[i].clone();
                a.insert(i, copy);
            }
            Value::Array(a) => a.push(interesting_scalar(rng)),
            Value::Object(m) => {
                let key = rng.pick(KEYS).copied().unwrap_or("x").to_string();
                let value = donor.unwrap_or_else(|| interesting_scalar(rng));
                m.insert(key, value);
            }
            _ => *node = Value::Array(vec![node.clone()]),
        },
        4 => {
            *node = if rng.below(2) == 0 {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        }
        5 => match node {
            Value::Number(n) => {
                let x = n.as_i64().unwrap_or(0);
                let delta: i64 = match rng.below(4) {
                    0 => 1,
                    1 => -1,
                    2 => x,
                    _ => x.wrapping_mul(2).wrapping_neg(),
                };
                *node = Value::Number(Number::from(x.wrapping_add(delta)));
            }
            Value::String(s) => {
                if rng.below(2) == 0 {
                    s.push_str(rng.pick(STRINGS).copied().unwrap_or(""));
                } else {
                    let cut = rng.below(s.len() + 1);
                    let cut = (0..=cut)
                        .rev()
                        .find(|c| s.is_char_boundary(*c))
                        .unwrap_or(0);
                    s.truncate(cut);
                }
            }
            _ => *node = interesting_number(rng),
        },
        6 => {
            let key = rng.pick(KEYS).copied().unwrap_or("x").to_string();
            let inner = node.clone();
            let mut m = Map::new();
            m.insert(key, inner);
            *node = Value::Object(m);
        }
        _ => {
            *node = Value::String(rng.pick(STRINGS).copied().unwrap_or("").to_string());
        }
    }
}

/// libFuzzer's custom mutator for JSON inputs: half the time (and whenever the input
/// is not JSON) libFuzzer's own byte mutations, otherwise one to four tree edits.
pub fn mutate_json(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    let parsed = data
        .get(..size)
        .and_then(|d| serde_json::from_slice::<Value>(d).ok());
    let Some(mut value) = parsed.filter(|_| rng.below(2) == 0) else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    for _ in 0..=rng.below(4) {
        mutate_value(&mut value, &mut rng);
    }
    let Ok(text) = serde_json::to_vec(&value) else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    if text.len() > max_size || text.len() > data.len() {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    data[..text.len()].copy_from_slice(&text);
    text.len()
}

/// Checks a classic-BPF seccomp program as the kernel's `bpf_check_classic` and
/// `seccomp_check_filter` do: 1..=4096 instructions, known opcodes only, loads of
/// `seccomp_data` aligned and in range, no division by a constant zero, every jump
/// inside the program, and a return as the last instruction.
pub fn check_bpf(prog: &[(u16, u8, u8, u32)]) -> Result<(), String> {
    const SECCOMP_DATA_SIZE: u32 = 64;
    if prog.is_empty() || prog.len() > 4096 {
        return Err(format!("{} instructions", prog.len()));
    }
    let len = prog.len();
    for (pc, &(code, jt, jf, k)) in prog.iter().enumerate() {
        let class = code & 0x07;
        let bad = |what: &str| Err(format!("insn {pc} (code {code:#x}, k {k}): {what}"));
        match class {
            // BPF_LD: only W|ABS of seccomp_data, W|LEN, IMM, MEM in seccomp.
            0x00 => match code {
                0x20 => {
                    if k >= SECCOMP_DATA_SIZE || k % 4 != 0 {
                        return bad("load outside seccomp_data or misaligned");
                    }
                }
                0x80 | 0x00 => {}
                0x60 => {
                    if k >= 16 {
                        return bad("scratch memory index");
                    }
                }
                _ => return bad("load mode not allowed in seccomp"),
            },
            // BPF_LDX
            0x01 => match code {
                0x81 | 0x01 => {}
                0x61 => {
                    if k >= 16 {
                        return bad("scratch memory index");
                    }
                }
                _ => return bad("ldx mode not allowed in seccomp"),
            },
            // BPF_ST, BPF_STX
            0x02 | 0x03 => {
                if code != class || k >= 16 {
                    return bad("store");
                }
            }
            // BPF_ALU
            0x04 => {
                let op = code & 0xf0;
                if op > 0xa0 {
                    return bad("unknown alu op");
                }
                if (op == 0x30 || op == 0x90) && code & 0x08 == 0 && k == 0 {
                    return bad("division by constant zero");
                }
            }
            // BPF_JMP
            0x05 => {
                let op = code & 0xf0;
                if op == 0x00 {
                    if code != 0x05 {
                        return bad("ja with a source bit");
                    }
                    if (k as usize) >= len - pc - 1 {
                        return bad("ja out of range");
                    }
                } else {
                    if !matches!(op, 0x10 | 0x20 | 0x30 | 0x40) {
                        return bad("unknown jump");
                    }
                    if pc + 1 + jt as usize >= len || pc + 1 + jf as usize >= len {
                        return bad("conditional jump out of range");
                    }
                }
            }
            // BPF_RET
            0x06 => {
                if !matches!(code, 0x06 | 0x16) {
                    return bad("return of X");
                }
            }
            // BPF_MISC: TAX, TXA
            _ => {
                if !matches!(code, 0x07 | 0x87) {
                    return bad("misc op");
                }
            }
        }
    }
    match prog.last() {
        Some(&(code, ..)) if code & 0x07 == 0x06 => Ok(()),
        _ => Err("the program does not end with a return".into()),
    }
}

/// A bundle directory with an empty `rootfs/` (shared by all runs: made, never changed).
pub fn scratch_bundle() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("vsbx-fuzz-bundle");
        // A failure shows as "root.path: cannot open" on every input: visible at once.
        let _ = std::fs::create_dir_all(dir.join("rootfs"));
        dir
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_checker_follows_the_kernel() {
        let ok = [
            (0x20, 0, 0, 0),
            (0x15, 0, 1, 0),
            (0x06, 0, 0, 0),
            (0x06, 0, 0, 1),
        ];
        assert!(check_bpf(&ok).is_ok());
        // A jump past the end, a misaligned load, no return at the end.
        assert!(check_bpf(&[(0x15, 2, 0, 0), (0x06, 0, 0, 0)]).is_err());
        assert!(check_bpf(&[(0x20, 0, 0, 2), (0x06, 0, 0, 0)]).is_err());
        assert!(check_bpf(&[(0x20, 0, 0, 0)]).is_err());
        assert!(check_bpf(&[(0x05, 0, 0, 1), (0x06, 0, 0, 0)]).is_err());
        assert!(check_bpf(&[]).is_err());
    }

    #[test]
    fn tree_edits_keep_json() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            // A few edits at a time, as the mutator does: copies can double the tree.
            let mut v: Value = serde_json::from_str(r#"{"a":[1,{"b":"c"}],"d":null}"#).unwrap();
            for _ in 0..4 {
                mutate_value(&mut v, &mut rng);
            }
            assert!(serde_json::to_vec(&v).is_ok());
        }
    }
}
