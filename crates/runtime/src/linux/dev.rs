//! /dev of the container: the default device nodes, linux.devices and the standard
//! links, made inside the rootfs before pivot_root. In a user namespace, where mknod is
//! refused, each node is the host's own, bound at the same path.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mount_opts::PlannedMount;
use super::resolve::{ensure_in_root, fd_path, open_in_root, Leaf};
use super::sys::Syscall;
use crate::error::{Context, Error, Result};

const NONE: Option<&str> = None;

/// The device nodes every container gets, as runc creates them.
const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const DEV_LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// True if `mounts` bind-mounts a host directory onto /dev (then /dev is left alone).
pub fn dev_is_bound(mounts: &[PlannedMount]) -> bool {
    mounts
        .iter()
        .any(|m| m.mount.destination() == Path::new("/dev") && m.opts.is_bind())
}

/// Creates the default device nodes, linux.devices and the /dev symlinks.
pub fn populate_dev<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    devices: &[LinuxDevice],
    in_userns: bool,
    defaults: bool,
) -> Result<()> {
    // Nodes get exactly the modes we ask for.
    let old = sys.umask(Mode::empty());
    let result = (|| {
        if defaults {
            for (path, major, minor) in DEFAULT_DEVICES {
                make_device(
                    sys,
                    root,
                    Path::new(path),
                    'c',
                    *major,
                    *minor,
                    0o666,
                    0,
                    0,
                    in_userns,
                )?;
            }
        }
        for d in devices {
            let kind = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => 'c',
                LinuxDeviceType::B => 'b',
                LinuxDeviceType::P => 'p',
                LinuxDeviceType::A => {
                    return Err(Error::invalid(format!(
                        "linux.devices: {} has type 'a'",
                        d.path().display()
                    )))
                }
            };
            make_device(
                sys,
                root,
                d.path(),
                kind,
                d.major() as u64,
                d.minor() as u64,
                d.file_mode().unwrap_or(0o666),
                d.uid().unwrap_or(0),
                d.gid().unwrap_or(0),
                in_userns,
            )
            .map_err(|e| Error::other(format!("linux.devices ({}): {e}", d.path().display())))?;
        }
        if defaults {
            for (target, link) in DEV_LINKS {
                symlink_in_root(sys, root, target, Path::new(link))?;
            }
            if Path::new("/proc/kcore").exists() {
                symlink_in_root(sys, root, "/proc/kcore", Path::new("/dev/core"))?;
            }
        }
        Ok(())
    })();
    sys.umask(old);
    result
}

#[allow(clippy::too_many_arguments)]
fn make_device<S: Syscall>(
    sys: &S,
    root: &OwnedFd,
    path: &Path,
    kind: char,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    in_userns: bool,
) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("device path {} has no name", path.display())))?;
    // An O_PATH directory fd serves as the dirfd of mknodat and fchownat.
    let dir = ensure_in_root(root.as_fd(), parent, Leaf::Dir)?;
    let cname = super::resolve::host_cstring(Path::new(name))?;
    let fmt = match kind {
        'b' => libc::S_IFBLK,
        'p' => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    };
    if in_userns {
        // No mknod inside a user namespace: the host's node at the same path (as runc
        // takes it) is bound onto an empty file, by the fd on which it was checked to be
        // the device asked for.
        let host = Path::new("/").join(path);
        let source = open_host_device(&host, kind, fmt, major, minor)?;
        let node = ensure_in_root(root.as_fd(), path, Leaf::File)?;
        return sys
            .mount(
                Some(fd_path(&source).as_path()),
                &fd_path(&node),
                NONE,
                MsFlags::MS_BIND,
                NONE,
            )
            .ctx(|| format!("bind-mounting the host's {}", host.display()));
    }
    let made = sys.mknodat(
        dir.as_fd(),
        cname.as_c_str(),
        SFlag::from_bits_retain(fmt),
        Mode::from_bits_retain(mode & 0o7777),
        libc::makedev(major as u32, minor as u32),
    );
    if let Err(e) = made {
        if e != Errno::EEXIST {
            return Err(Error::os(format!("mknod {}", path.display()), e.into()));
        }
        // The image already has something there (no tmpfs on /dev): it must be this very
        // node, never a symlink or another file that later steps would trust.
        let st = rustix::fs::statat(
            &dir,
            cname.as_c_str(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::os(format!("stat {}", path.display()), e.into()))?;
        let same = (st.st_mode & libc::S_IFMT) == fmt
            && rustix::fs::major(st.st_rdev) == major as u32
            && rustix::fs::minor(st.st_rdev) == minor as u32;
        if !same {
            return Err(Error::other(format!(
                "{} exists in the rootfs and is not the device {kind} {major}:{minor}",
                path.display()
            )));
        }
    }
    // AT_SYMLINK_NOFOLLOW keeps a planted symlink from redirecting it.
    sys.fchownat_nofollow(
        dir.as_fd(),
        cname.as_c_str(),
        Uid::from_raw(uid),
        Gid::from_raw(gid),
    )
    .map_err(|e| Error::os(format!("chown {}", path.display()), e.into()))
}

/// The host's node at `host`, opened O_PATH, once fstat shows it is the device the
/// config describes (`fmt` its S_IFMT bits; numbers are not compared for a fifo).
fn open_host_device(host: &Path, kind: char, fmt: u32, major: u64, minor: u64) -> Result<OwnedFd> {
    use rustix::fs::{Mode as RMode, OFlags};
    let fd = rustix::fs::open(host, OFlags::PATH | OFlags::CLOEXEC, RMode::empty())
        .map_err(|e| Error::os(format!("opening the host's {}", host.display()), e.into()))?;
    let st = rustix::fs::fstat(&fd)
        .map_err(|e| Error::os(format!("stat of the host's {}", host.display()), e.into()))?;
    let (found_major, found_minor) = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
    let same = (st.st_mode & libc::S_IFMT) == fmt
        && (fmt == libc::S_IFIFO
            || (u64::from(found_major), u64::from(found_minor)) == (major, minor));
    if !same {
        let found = match st.st_mode & libc::S_IFMT {
            libc::S_IFCHR => format!("c {found_major}:{found_minor}"),
            libc::S_IFBLK => format!("b {found_major}:{found_minor}"),
            libc::S_IFIFO => "a fifo".into(),
            libc::S_IFDIR => "a directory".into(),
            libc::S_IFREG => "a regular file".into(),
            libc::S_IFSOCK => "a socket".into(),
            _ => "no device".into(),
        };
        return Err(Error::invalid(format!(
            "the host's {} is not the device {kind} {major}:{minor} (it is {found}); in a user \
             namespace the host's node at the device's path is bound",
            host.display(),
        )));
    }
    Ok(fd)
}

fn symlink_in_root<S: Syscall>(sys: &S, root: &OwnedFd, target: &str, link: &Path) -> Result<()> {
    let parent = link.parent().unwrap_or(Path::new("/"));
    let dir = open_in_root(root.as_fd(), parent, libc::O_DIRECTORY | libc::O_RDONLY)
        .map_err(|e| Error::os(format!("opening {}", parent.display()), e))?;
    let name = super::resolve::host_cstring(Path::new(link.file_name().unwrap_or_default()))?;
    let t = super::resolve::host_cstring(Path::new(target))?;
    match sys.symlinkat(t.as_c_str(), dir.as_fd(), name.as_c_str()) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(Error::os(format!("symlink {}", link.display()), e.into())),
    }
}
