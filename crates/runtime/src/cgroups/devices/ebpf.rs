//! The cgroup v2 device program: a minimal eBPF assembler and the code generator that
//! compiles a v1 controller `State` into a BPF_PROG_TYPE_CGROUP_DEVICE program.

use super::rule::ALL_ACCESS;
use super::v1_model::State;

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

#[cfg(test)]
mod tests {
    use super::super::rule::{parse_lines as rules, Kind, DEFAULT_ALLOWED};
    use super::*;

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
