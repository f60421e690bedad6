//! Argument conditions: the operators on 64-bit values, MASKED_EQ, AND within a rule, OR
//! across rules, repeated argument indices. The same corners run in the kernel against runc
//! (libseccomp) in tests/conformance/tests/seccomp_operators.rs.
use super::*;

/// ALLOW by default; ERRNO(13) on getppid when `args` (a JSON list of conditions) hold.
fn getppid_denied_if(args: serde_json::Value) -> BpfProgram {
    program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": args}]}))
}

#[test]
fn args_and_within_a_rule_or_across_rules() {
    let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 1, "value": 12, "op": "SCMP_CMP_EQ"}]},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 75, "args": [
            {"index": 1, "value": 240, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
    let kill = |pid: u64, sig: u64| call(&p, "kill", [pid, sig, 0, 0, 0, 0]);
    assert_eq!(kill(1, 10), errno(1));
    assert_eq!(kill(2, 10), ALLOW);
    assert_eq!(kill(2, 12), errno(1));
    assert_eq!(kill(1, 18), errno(75)); // 18 & 0xf0 == 0x10
    assert_eq!(kill(1, 31), errno(75));
    assert_eq!(kill(1, 15), ALLOW);
    assert_eq!(kill(2, 0x1_0000_000c), ALLOW); // EQ compares all 64 bits
    assert_eq!(kill(1, 0x1_0000_0012), errno(75)); // the mask has no high bits
}

/// Every operator is an unsigned comparison of all 64 bits: datums whose halves both matter,
/// with the top bit set in one or both halves, probed where the halves order differently.
#[test]
fn operators_compare_unsigned_64_bit() {
    type Holds = fn(&u64, &u64) -> bool;
    let ops: [(&str, Holds); 6] = [
        ("SCMP_CMP_EQ", u64::eq),
        ("SCMP_CMP_NE", u64::ne),
        ("SCMP_CMP_LT", u64::lt),
        ("SCMP_CMP_LE", u64::le),
        ("SCMP_CMP_GT", u64::gt),
        ("SCMP_CMP_GE", u64::ge),
    ];
    let datums = [
        0x0000_0001_0000_0005u64, // both halves matter
        0xffff_ffff_8000_0000,    // i32::MIN sign-extended: top bit in both halves
        0x0000_0000_ffff_ffff,    // u32::MAX (an int -1 seen as 32 bits)
    ];
    for datum in datums {
        let (hi, lo) = (datum & !0xffff_ffff, datum & 0xffff_ffff);
        let probes = [
            0,
            1,
            lo,                 // same low half, high half 0
            lo.wrapping_sub(1), // low half below
            lo.wrapping_add(1) & 0xffff_ffff,
            datum - 1,
            datum,
            datum + 1,
            hi,                          // same high half, low half 0
            hi | 0xffff_ffff,            // same high half, low half all ones
            datum.wrapping_add(1 << 32), // high half above, same low half
            datum.wrapping_sub(1 << 32), // high half below, same low half
            (datum.wrapping_sub(1 << 32) & !0xffff_ffff) | 0xffff_ffff, // high below, low above
            0x7fff_ffff_ffff_ffff,
            0x8000_0000_0000_0000,
            u64::MAX,
        ];
        for (op, holds) in ops {
            let p = getppid_denied_if(json!([{"index": 0, "value": datum, "op": op}]));
            for arg in probes {
                let want = if holds(&arg, &datum) {
                    errno(13)
                } else {
                    ALLOW
                };
                assert_eq!(
                    call(&p, "getppid", a0(arg)),
                    want,
                    "{op} {datum:#x} on {arg:#x}"
                );
            }
        }
    }
    // No 32-bit view: a sign-extended -1 is not u32::MAX.
    let p = getppid_denied_if(json!([{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]));
    assert_eq!(call(&p, "getppid", a0(u64::MAX)), ALLOW);
    assert_eq!(call(&p, "getppid", a0(0xffff_ffff)), errno(13));
}

/// libseccomp masks the datum: bits of valueTwo outside the mask are ignored. (vsbx used to
/// drop such a rule as unsatisfiable, which let the call through: fail-open.)
#[test]
fn masked_eq_ignores_datum_bits_outside_the_mask() {
    let masked = |mask: u64, datum: u64| {
        getppid_denied_if(json!([
            {"index": 0, "value": mask, "valueTwo": datum, "op": "SCMP_CMP_MASKED_EQ"}]))
    };
    // (a0 & 0xff) == 0x101 is (a0 & 0xff) == 0x01.
    let p = masked(0xff, 0x101);
    for arg in [1, 0x101, 0x201, 0xff01, 0x1_0000_0001] {
        assert_eq!(call(&p, "getppid", a0(arg)), errno(13), "{arg:#x}");
    }
    for arg in [0, 2, 0x100] {
        assert_eq!(call(&p, "getppid", a0(arg)), ALLOW, "{arg:#x}");
    }
    // A datum entirely outside the mask compares with 0.
    let p = masked(0xff, 0x1_0000_0000);
    assert_eq!(call(&p, "getppid", a0(0x1_0000_0000)), errno(13));
    assert_eq!(call(&p, "getppid", a0(0x300)), errno(13));
    assert_eq!(call(&p, "getppid", a0(0x1_0000_0001)), ALLOW);
    // An empty mask matches every value.
    let p = masked(0, 7);
    for arg in [0, 7, u64::MAX] {
        assert_eq!(call(&p, "getppid", a0(arg)), errno(13), "{arg:#x}");
    }
    // Both halves of mask and datum count.
    let p = masked(0xffff_0000_0000_ffff, 0x1234_5678_9abc_5678);
    assert_eq!(call(&p, "getppid", a0(0x1234_0000_0000_5678)), errno(13));
    assert_eq!(call(&p, "getppid", a0(0x1234_ffff_ffff_5678)), errno(13));
    assert_eq!(call(&p, "getppid", a0(0x1235_0000_0000_5678)), ALLOW);
    assert_eq!(call(&p, "getppid", a0(0x1234_0000_0000_5679)), ALLOW);
}

/// MASKED_EQ datums that differ only outside the mask are one condition: with different
/// actions libseccomp refuses the second rule (EEXIST, runc fails); with the same action it
/// is a duplicate.
#[test]
fn masked_eq_datums_equal_under_the_mask_are_one_condition() {
    let masked = |datum: u64| json!([{"index": 0, "value": 0xff, "valueTwo": datum, "op": "SCMP_CMP_MASKED_EQ"}]);
    let got = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 101, "args": masked(0x101)},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 102, "args": masked(0x1)}]}));
    assert!(
        got.starts_with(
            "linux.seccomp.syscalls[1]: a rule for getppid with the same arguments as \
             linux.seccomp.syscalls[0] has a different action"
        ),
        "{got}"
    );
    let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 101, "args": masked(0x101)},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 101, "args": masked(0x1)}]}));
    assert_eq!(call(&p, "getppid", a0(1)), errno(101));
    assert_eq!(call(&p, "getppid", a0(2)), ALLOW);
}

#[test]
fn repeated_argument_index_is_ored_like_runc() {
    let p = program(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 4, "op": "SCMP_CMP_EQ"}]}]}));
    assert_eq!(call(&p, "kill", [1, 3, 0, 0, 0, 0]), errno(1));
    assert_eq!(call(&p, "kill", [1, 4, 0, 0, 0, 0]), errno(1));
    assert_eq!(call(&p, "kill", [1, 5, 0, 0, 0, 0]), ALLOW);
    // Every condition of such a rule stands alone, also those on other indices.
    let p = getppid_denied_if(json!([
        {"index": 0, "value": 3, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": 7, "op": "SCMP_CMP_EQ"},
        {"index": 0, "value": 4, "op": "SCMP_CMP_EQ"}]));
    assert_eq!(call(&p, "getppid", [3, 0, 0, 0, 0, 0]), errno(13));
    assert_eq!(call(&p, "getppid", [0, 7, 0, 0, 0, 0]), errno(13));
    assert_eq!(call(&p, "getppid", [4, 0, 0, 0, 0, 0]), errno(13));
    assert_eq!(call(&p, "getppid", [5, 8, 0, 0, 0, 0]), ALLOW);
    // A range written as two conditions on one index matches everything.
    let p = getppid_denied_if(json!([
        {"index": 0, "value": 0x10, "op": "SCMP_CMP_GE"},
        {"index": 0, "value": 0x20, "op": "SCMP_CMP_LE"}]));
    for arg in [0, 0x15, 0x30, u64::MAX] {
        assert_eq!(call(&p, "getppid", a0(arg)), errno(13), "{arg:#x}");
    }
}
