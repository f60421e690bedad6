//! linux.memoryPolicy (runtime-spec 1.2): the container's NUMA memory policy, set by the init
//! with set_mempolicy(2) just before it becomes the user's process, and inherited by
//! everything the process runs. Checked and turned into the syscall's arguments before
//! anything exists.

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

use crate::error::{Error, Result};

/// Node numbers above this are refused (the kernel's own limit, CONFIG_NODES_SHIFT=10).
const MAX_NODE: usize = 1023;

/// The arguments of set_mempolicy(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemPolicy {
    /// The mode with its flags or'ed in.
    mode: i32,
    /// The node mask, one bit per node.
    mask: Vec<libc::c_ulong>,
}

fn bad(why: String) -> Error {
    Error::invalid(format!("linux.memoryPolicy: {why}"))
}

/// Checks `p` and turns it into set_mempolicy's arguments.
pub fn compile(p: &LinuxMemoryPolicy) -> Result<MemPolicy> {
    use MemoryPolicyModeType as M;
    let nodes = p.nodes().as_deref().map(str::trim).unwrap_or("");
    let mask = parse_nodes(nodes)?;
    let (mode, needs_nodes, takes_nodes) = match p.mode() {
        M::MpolDefault => (0, false, false),
        M::MpolPreferred => (1, false, true),
        M::MpolBind => (2, true, true),
        M::MpolInterleave => (3, true, true),
        M::MpolLocal => (4, false, false),
        M::MpolPreferredMany => (5, true, true),
        M::MpolWeightedInterleave => (6, true, true),
    };
    if needs_nodes && nodes.is_empty() {
        return Err(bad(format!("mode {} needs nodes", p.mode())));
    }
    if !takes_nodes && !nodes.is_empty() {
        return Err(bad(format!("mode {} takes no nodes", p.mode())));
    }
    let mut flags = 0;
    for f in p.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
        };
    }
    if flags & (3 << 14) == 3 << 14 {
        return Err(bad(
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other".into(),
        ));
    }
    if flags != 0 && !takes_nodes {
        return Err(bad(format!("mode {} takes no flags", p.mode())));
    }
    Ok(MemPolicy {
        mode: mode | flags,
        mask,
    })
}

/// "0-3,7" as a node mask; empty gives an empty mask.
fn parse_nodes(text: &str) -> Result<Vec<libc::c_ulong>> {
    let bits = libc::c_ulong::BITS as usize;
    let mut mask: Vec<libc::c_ulong> = Vec::new();
    if text.is_empty() {
        return Ok(mask);
    }
    let num = |s: &str| -> Result<usize> {
        let n: usize = s
            .trim()
            .parse()
            .map_err(|_| bad(format!("nodes {text:?}: {s:?} is not a node number")))?;
        if n > MAX_NODE {
            return Err(bad(format!("nodes {text:?}: node {n} is above {MAX_NODE}")));
        }
        Ok(n)
    };
    for part in text.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(bad(format!(
                "nodes {text:?}: range {part:?} runs backwards"
            )));
        }
        for n in lo..=hi {
            if mask.len() <= n / bits {
                mask.resize(n / bits + 1, 0);
            }
            mask[n / bits] |= 1 << (n % bits);
        }
    }
    Ok(mask)
}

impl MemPolicy {
    /// set_mempolicy(2) for this process (and what it execs).
    pub fn apply(&self) -> Result<()> {
        let bits = self.mask.len() * libc::c_ulong::BITS as usize;
        let ptr = if self.mask.is_empty() {
            std::ptr::null()
        } else {
            self.mask.as_ptr()
        };
        // Neither nix nor rustix wraps set_mempolicy.
        // SAFETY: the kernel reads maxnode - 1 bits, rounded up to whole longs, from `ptr`:
        // with maxnode = bits + 1 that is exactly `self.mask`, which lives across the call;
        // a null pointer with an empty mask is what the empty node set means.
        let r = unsafe {
            libc::syscall(
                libc::SYS_set_mempolicy,
                self.mode as libc::c_long,
                ptr,
                (bits + 1) as libc::c_ulong,
            )
        };
        if r != 0 {
            return Err(Error::os(
                "linux.memoryPolicy: set_mempolicy",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<MemPolicy> {
        compile(&serde_json::from_str::<LinuxMemoryPolicy>(json).unwrap())
    }

    #[test]
    fn nodes_and_modes_become_the_syscall_arguments() {
        let p = policy(r#"{"mode":"MPOL_BIND","nodes":"0-2,5,64"}"#).unwrap();
        assert_eq!(p.mode, 2);
        assert_eq!(p.mask, vec![0b100111, 1]);
        let p = policy(r#"{"mode":"MPOL_INTERLEAVE","nodes":"1","flags":["MPOL_F_STATIC_NODES"]}"#)
            .unwrap();
        assert_eq!(p.mode, 3 | 1 << 15);
        let p = policy(r#"{"mode":"MPOL_PREFERRED"}"#).unwrap();
        assert_eq!((p.mode, p.mask.len()), (1, 0));
        assert_eq!(policy(r#"{"mode":"MPOL_LOCAL"}"#).unwrap().mode, 4);
    }

    #[test]
    fn bad_policies_are_refused_naming_the_field() {
        for json in [
            r#"{"mode":"MPOL_BIND"}"#,
            r#"{"mode":"MPOL_DEFAULT","nodes":"0"}"#,
            r#"{"mode":"MPOL_BIND","nodes":"x"}"#,
            r#"{"mode":"MPOL_BIND","nodes":"3-1"}"#,
            r#"{"mode":"MPOL_BIND","nodes":"4096"}"#,
            r#"{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_RELATIVE_NODES"]}"#,
            r#"{"mode":"MPOL_LOCAL","flags":["MPOL_F_STATIC_NODES"]}"#,
        ] {
            let e = policy(json).unwrap_err().to_string();
            assert!(e.starts_with("linux.memoryPolicy: "), "{json}: {e}");
        }
    }
}
