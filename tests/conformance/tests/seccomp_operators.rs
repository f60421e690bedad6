//! `linux.seccomp` argument conditions, operator by operator, against libseccomp: under runc
//! (`VSBX_TEST_RUNTIME=runc`, libseccomp 2.5) these tables are libseccomp's observed
//! behaviour, and vsbx must give the same. A static probe calls getppid (which ignores its
//! arguments, so a call that gets through has no effect) with a table of 64-bit argument
//! values and prints, per call, whether it got through or which errno it got; each rule has
//! its own errnoRet, so the errno says which rule matched.

use serde_json::{json, Value};
use vsbx_conformance::*;

const PROBE_C: &str = include_str!("../probes/seccomp_args.c");

/// The six arguments of one getppid call.
type Args = [u64; 6];

/// What one call got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    Allowed,
    Errno(i32),
}
use Got::{Allowed, Errno};

/// A condition of a rule, as `linux.seccomp.syscalls[].args[]`.
fn cond(index: u8, op: &str, value: u64) -> Value {
    json!({"index": index, "value": value, "op": format!("SCMP_CMP_{op}")})
}

fn masked(index: u8, mask: u64, datum: u64) -> Value {
    json!({"index": index, "value": mask, "valueTwo": datum, "op": "SCMP_CMP_MASKED_EQ"})
}

/// A rule for getppid: ERRNO(`errno`) when all of `args` hold.
fn rule(errno: u32, args: &[Value]) -> Value {
    json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno, "args": args})
}

/// Args with a0 set.
fn a0(v: u64) -> Args {
    [v, 0, 0, 0, 0, 0]
}

/// Args with only argument `index` set.
fn at(index: usize, v: u64) -> Args {
    let mut a = [0; 6];
    a[index] = v;
    a
}

/// Runs the probe as the container process (no shell: nothing else runs under the filter)
/// with `rules` under an ALLOW default, one getppid call per entry of `calls`.
fn run_probe(name: &str, rules: &[Value], calls: &[Args]) -> Outcome {
    let rt = Runtime::new(name);
    let mut b = Bundle::new(name);
    let bin = build_static_c(b.path(), "seccomp_args", PROBE_C);
    std::fs::copy(bin, b.rootfs().join("probe")).expect("copy probe into rootfs");
    let mut args = vec!["/probe".to_string()];
    args.extend(calls.iter().map(|a| {
        a.iter()
            .map(|v| format!("{v:x}"))
            .collect::<Vec<_>>()
            .join(",")
    }));
    b.config()["process"]["args"] = json!(args);
    b.config()["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules});
    let id = unique_id(name);
    let out = rt.run(&id, &b, &[]);
    rt.assert_gone(&id, &b, None);
    out
}

/// Runs `table`'s calls under `rules` and asserts what each got, listing every mismatch.
#[track_caller]
fn check(name: &str, rules: &[Value], table: &[(Args, Got)]) {
    let calls: Vec<Args> = table.iter().map(|(a, _)| *a).collect();
    let out = run_probe(name, rules, &calls);
    out.assert_ok();
    let got: Vec<Got> = out
        .stdout
        .lines()
        .map(|l| match l.strip_prefix("errno ") {
            Some(n) => Errno(n.parse().expect("errno number")),
            None if l == "ok" => Allowed,
            None => panic!("unexpected probe output {l:?}: {out}"),
        })
        .collect();
    assert_eq!(got.len(), table.len(), "one line per call: {out}");
    let wrong: Vec<String> = table
        .iter()
        .zip(&got)
        .filter(|((_, want), got)| want != *got)
        .map(|((args, want), got)| format!("  args {args:x?}: want {want:?}, got {got:?}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{name}: rules {}\n{}",
        Value::from(rules.to_vec()),
        wrong.join("\n")
    );
}

const OPS: [&str; 6] = ["EQ", "NE", "LT", "LE", "GT", "GE"];

/// For one datum: rows of (argument, which of EQ NE LT LE GT GE match: `x` yes, `.` no).
/// Checks each operator in its own container, the datum compared with argument `index`.
#[track_caller]
fn check_operators(name: &str, index: usize, datum: u64, rows: &[(u64, &str)]) {
    for (col, op) in OPS.iter().enumerate() {
        let table: Vec<(Args, Got)> = rows
            .iter()
            .map(|(arg, marks)| {
                let marks: Vec<char> = marks.chars().filter(|c| !c.is_whitespace()).collect();
                assert_eq!(marks.len(), OPS.len(), "row {arg:#x}");
                let got = if marks[col] == 'x' {
                    Errno(101)
                } else {
                    Allowed
                };
                (at(index, *arg), got)
            })
            .collect();
        let idx = u8::try_from(index).expect("index 0..=5");
        check(
            &format!("{name}-{op}"),
            &[rule(101, &[cond(idx, op, datum)])],
            &table,
        );
    }
}

/// Both halves matter: the high half decides unless equal, then the low half.
#[test]
fn operators_compare_all_64_bits_high_half_first() {
    #[rustfmt::skip]
    check_operators("sco-hilo", 0, 0x0000_0001_0000_0005, &[
        //  a0                    EQ NE LT LE GT GE
        (0x0000_0000_0000_0000, " .  x  x  x  .  . "),
        (0x0000_0000_0000_0005, " .  x  x  x  .  . "), // low half equal, high half below
        (0x0000_0000_0000_0006, " .  x  x  x  .  . "), // high half below, low half above
        (0x0000_0000_ffff_ffff, " .  x  x  x  .  . "),
        (0x0000_0001_0000_0000, " .  x  x  x  .  . "),
        (0x0000_0001_0000_0004, " .  x  x  x  .  . "),
        (0x0000_0001_0000_0005, " x  .  .  x  .  x "),
        (0x0000_0001_0000_0006, " .  x  .  .  x  x "),
        (0x0000_0001_ffff_ffff, " .  x  .  .  x  x "),
        (0x0000_0002_0000_0000, " .  x  .  .  x  x "), // high half above, low half below
        (0x0000_0002_0000_0005, " .  x  .  .  x  x "), // high half above, low half equal
        (0x8000_0000_0000_0005, " .  x  .  .  x  x "), // top bit set: unsigned
        (0xffff_ffff_ffff_ffff, " .  x  .  .  x  x "),
    ]);
}

/// The top bit set in both halves (i32::MIN as a sign-extended register), on argument 4:
/// every comparison is unsigned.
#[test]
fn operators_are_unsigned_with_the_top_bits_set() {
    #[rustfmt::skip]
    check_operators("sco-top", 4, 0xffff_ffff_8000_0000, &[
        //  a4                    EQ NE LT LE GT GE
        (0x0000_0000_0000_0000, " .  x  x  x  .  . "),
        (0x0000_0000_8000_0000, " .  x  x  x  .  . "), // the same low half only
        (0x7fff_ffff_ffff_ffff, " .  x  x  x  .  . "),
        (0x8000_0000_8000_0000, " .  x  x  x  .  . "),
        (0xffff_fffe_ffff_ffff, " .  x  x  x  .  . "), // high half below, low half above
        (0xffff_ffff_0000_0000, " .  x  x  x  .  . "),
        (0xffff_ffff_7fff_ffff, " .  x  x  x  .  . "),
        (0xffff_ffff_8000_0000, " x  .  .  x  .  x "),
        (0xffff_ffff_8000_0001, " .  x  .  .  x  x "),
        (0xffff_ffff_ffff_ffff, " .  x  .  .  x  x "),
    ]);
}

/// No 32-bit view of an argument: u32::MAX (an `int` -1 seen as 32 bits) is not the
/// sign-extended -1 a caller may leave in the register. On argument 2.
#[test]
fn operators_have_no_32_bit_view() {
    #[rustfmt::skip]
    check_operators("sco-u32", 2, 0x0000_0000_ffff_ffff, &[
        //  a2                    EQ NE LT LE GT GE
        (0x0000_0000_0000_0000, " .  x  x  x  .  . "),
        (0x0000_0000_7fff_ffff, " .  x  x  x  .  . "),
        (0x0000_0000_ffff_ffff, " x  .  .  x  .  x "),
        (0x0000_0001_0000_0000, " .  x  .  .  x  x "),
        (0x0000_0001_ffff_ffff, " .  x  .  .  x  x "),
        (0xffff_ffff_ffff_ffff, " .  x  .  .  x  x "),
    ]);
}

/// MASKED_EQ is `arg & value == valueTwo & value`: libseccomp masks the datum, so bits of
/// valueTwo outside the mask are ignored (they do not make the rule unsatisfiable).
#[test]
fn masked_eq_masks_the_datum() {
    let e = Errno(101);
    // (mask, datum, [(a1, what the call gets)])
    type Case<'a> = (u64, u64, &'a [(u64, Got)]);
    let cases: [Case; 6] = [
        // The finding: (a0 & 0xff) == 0x101 denies a0 = 1.
        (
            0xff,
            0x101,
            &[
                (0x1, e),
                (0x101, e),
                (0x201, e),
                (0xff01, e),
                (0x1_0000_0001, e),
                (0x0, Allowed),
                (0x2, Allowed),
                (0x100, Allowed),
            ],
        ),
        // A datum entirely outside the mask compares with 0.
        (
            0xff,
            0x1_0000_0000,
            &[(0x0, e), (0x300, e), (0x1_0000_0000, e), (0x1, Allowed)],
        ),
        // Datum bits outside the mask in the high half, inside it in the low half.
        (
            0xffff_ffff,
            0xdead_0000_0000_0001,
            &[
                (0x1, e),
                (0x1_0000_0001, e),
                (0xdead_0000_0000_0001, e),
                (0xdead_0000_0000_0000, Allowed),
            ],
        ),
        // An empty mask matches everything.
        (0, 7, &[(0x0, e), (0x7, e), (u64::MAX, e)]),
        // Both halves of mask and datum count.
        (
            0xffff_0000_0000_ffff,
            0x1234_0000_0000_5678,
            &[
                (0x1234_0000_0000_5678, e),
                (0x1234_abcd_ef00_5678, e),
                (0x1234_0000_0000_5679, Allowed),
                (0x1235_0000_0000_5678, Allowed),
                (0x0000_0000_0000_5678, Allowed),
                (0x1234_0000_0000_0000, Allowed),
            ],
        ),
        // The top bit of each half in the mask.
        (
            0x8000_0000_8000_0000,
            0x8000_0000_0000_0000,
            &[
                (0x8000_0000_0000_0000, e),
                (0xffff_ffff_7fff_ffff, e),
                (0x8000_0000_8000_0000, Allowed),
                (0x0000_0000_0000_0000, Allowed),
                (0x7fff_ffff_ffff_ffff, Allowed),
            ],
        ),
    ];
    for (i, (mask, datum, rows)) in cases.into_iter().enumerate() {
        let table: Vec<(Args, Got)> = rows.iter().map(|(v, g)| (at(1, *v), *g)).collect();
        check(
            &format!("sco-masked-{i}"),
            &[rule(101, &[masked(1, mask, datum)])],
            &table,
        );
    }
}

/// MASKED_EQ conditions whose datums differ only outside the mask are the same condition:
/// libseccomp refuses the second rule with a different action (EEXIST), so the container
/// never starts.
#[test]
fn masked_eq_same_under_the_mask_with_different_actions_is_refused() {
    let out = run_probe(
        "sco-masked-dup",
        &[
            rule(101, &[masked(0, 0xff, 0x101)]),
            rule(102, &[masked(0, 0xff, 0x1)]),
        ],
        &[a0(1)],
    );
    out.assert_failed();
    assert_eq!(out.stdout, "", "the probe must not run: {out}");
}

/// Conditions of one rule are ANDed; rules for one syscall are alternatives. The calls are
/// chosen so that at most one rule matches each (where several overlap, libseccomp's answer
/// depends on its decision tree: see the seccomp module docs).
#[test]
fn conditions_and_within_a_rule_rules_or() {
    let rules = [
        rule(101, &[cond(0, "EQ", 1)]),
        rule(102, &[cond(1, "EQ", 2)]),
        rule(103, &[cond(0, "EQ", 3), cond(1, "EQ", 4)]),
        rule(104, &[cond(5, "EQ", 0x1_0000_0000)]),
        rule(105, &[cond(2, "NE", 0), cond(3, "NE", 0)]),
        rule(
            106,
            &[cond(0, "LT", 0x1_0000_0000), cond(4, "GT", 0xffff_ffff)],
        ),
    ];
    check(
        "sco-or",
        &rules,
        &[
            ([1, 0, 0, 0, 0, 0], Errno(101)),
            ([0, 2, 0, 0, 0, 0], Errno(102)),
            ([3, 4, 0, 0, 0, 0], Errno(103)),
            ([3, 0, 0, 0, 0, 0], Allowed),
            ([0, 4, 0, 0, 0, 0], Allowed),
            ([3, 5, 0, 0, 0, 0], Allowed),
            ([0, 0, 0, 0, 0, 0x1_0000_0000], Errno(104)),
            ([0, 0, 0, 0, 0, 0x0_0000_0000], Allowed),
            ([0, 0, 0, 0, 0, 0x1_0000_0001], Allowed),
            ([0, 0, 5, 6, 0, 0], Errno(105)),
            ([0, 0, 5, 0, 0, 0], Allowed),
            ([0, 0, 0, 1 << 32, 0, 0], Allowed),
            ([0, 0, 1 << 32, 1 << 63, 0, 0], Errno(105)),
            ([5, 0, 0, 0, 1 << 32, 0], Errno(106)),
            ([5, 0, 0, 0, 0xffff_ffff, 0], Allowed),
            ([1 << 32, 0, 0, 0, 1 << 32, 0], Allowed),
            ([0xffff_ffff, 0, 0, 0, u64::MAX, 0], Errno(106)),
        ],
    );
}

/// runc turns a rule that compares one argument index more than once into one rule per
/// condition (ORed), before libseccomp sees it: the conditions no longer AND, not even
/// those on other indices.
#[test]
fn repeated_argument_index_splits_the_rule() {
    check(
        "sco-rep-eq",
        &[rule(
            101,
            &[cond(0, "EQ", 3), cond(1, "EQ", 7), cond(0, "EQ", 4)],
        )],
        &[
            (a0(3), Errno(101)),
            (a0(4), Errno(101)),
            ([0, 7, 0, 0, 0, 0], Errno(101)),
            ([3, 7, 0, 0, 0, 0], Errno(101)),
            (a0(5), Allowed),
            ([5, 8, 0, 0, 0, 0], Allowed),
        ],
    );
    // A range written as two conditions on one index matches every value.
    check(
        "sco-rep-range",
        &[rule(101, &[cond(0, "GE", 0x10), cond(0, "LE", 0x20)])],
        &[
            (a0(0), Errno(101)),
            (a0(0x15), Errno(101)),
            (a0(0x30), Errno(101)),
            (a0(u64::MAX), Errno(101)),
        ],
    );
    // The split also applies to MASKED_EQ, with the datum masked.
    check(
        "sco-rep-masked",
        &[rule(101, &[masked(0, 0xf0, 0x110), masked(0, 0x0f, 0x03)])],
        &[
            (a0(0x10), Errno(101)),
            (a0(0x03), Errno(101)),
            (a0(0x13), Errno(101)),
            (a0(0x20), Allowed),
        ],
    );
}
