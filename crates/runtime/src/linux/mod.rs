//! Linux mechanics: clone, namespaces, the init's setup sequence, mounts, devices,
//! terminals and the process's final confinement.

pub mod apparmor;
pub mod clone;
pub mod console;
pub mod dev;
pub mod fdmount;
pub mod host_mounts;
pub mod init;
pub mod mempolicy;
pub mod mount_opts;
pub mod namespaces;
pub mod process;
pub mod procfs;
pub mod protocol;
pub mod resolve;
pub mod rootfs;
pub mod sched;
pub mod sealed_exe;
pub mod seccomp;
pub mod selinux;
pub mod sys;
pub mod sysctl;
