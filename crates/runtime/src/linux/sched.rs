//! Per-process scheduling knobs: process.scheduler (sched_setattr),
//! process.ioPriority (ioprio_set) and linux.personality.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, Scheduler,
};

use nix::sys::personality::Persona;

use crate::error::{Error, Result};

/// The kernel's struct sched_attr (include/uapi/linux/sched/types.h).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

fn policy_number(p: LinuxSchedulerPolicy) -> Result<u32> {
    Ok(match p {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => {
            return Err(Error::invalid(
                "process.scheduler.policy: SCHED_ISO is not implemented by Linux",
            ))
        }
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    })
}

fn flag_number(f: LinuxSchedulerFlag) -> u64 {
    match f {
        LinuxSchedulerFlag::SchedResetOnFork => 0x01,
        LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
        LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
        LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
        LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
        LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
        LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
    }
}

/// Validates before clone; the same checks `apply_scheduler` relies on.
pub fn check_scheduler(s: &Scheduler) -> Result<()> {
    policy_number(*s.policy())?;
    if let Some(n) = *s.nice() {
        if !(-20..=19).contains(&n) {
            return Err(Error::invalid(format!(
                "process.scheduler.nice: {n} is outside -20..19"
            )));
        }
    }
    Ok(())
}

pub fn apply_scheduler(s: &Scheduler) -> Result<()> {
    let mut attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: policy_number(*s.policy())?,
        flags: s
            .flags()
            .iter()
            .flatten()
            .map(|f| flag_number(*f))
            .fold(0, |a, b| a | b),
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    // Neither nix nor rustix wraps sched_setattr.
    // SAFETY: attr is a live, initialised sched_attr whose `size` field gives its size; the
    // kernel reads it during the call only; pid 0 is the caller.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &mut attr as *mut SchedAttr, 0) };
    if rc != 0 {
        return Err(Error::os(
            "process.scheduler: sched_setattr",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

pub fn check_io_priority(p: &LinuxIOPriority) -> Result<()> {
    if !(0..=7).contains(&p.priority()) {
        return Err(Error::invalid(format!(
            "process.ioPriority.priority: {} is outside 0..7",
            p.priority()
        )));
    }
    Ok(())
}

pub fn apply_io_priority(p: &LinuxIOPriority) -> Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_SHIFT: i64 = 13;
    let class: i64 = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    // Neither nix nor rustix wraps ioprio_set.
    // SAFETY: ioprio_set takes integers only; no memory is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            (class << IOPRIO_CLASS_SHIFT) | p.priority(),
        )
    };
    if rc != 0 {
        return Err(Error::os(
            "process.ioPriority: ioprio_set",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

pub fn check_personality(p: &LinuxPersonality) -> Result<()> {
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(Error::invalid(
            "linux.personality.flags: not supported (runc does not support them either)",
        ));
    }
    Ok(())
}

pub fn apply_personality(p: &LinuxPersonality) -> Result<()> {
    // PER_LINUX32 is an execution domain, not one of nix's flags: passed as bits.
    let persona = Persona::from_bits_retain(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    });
    nix::sys::personality::set(persona)
        .map(drop)
        .map_err(|e| Error::os("linux.personality", e.into()))
}
