//! `--output DIR`: the program writes to its own size-limited tmpfs at /output (a host bind
//! would let it fill the host's disk); after the run vsbx copies that tmpfs into DIR.
//!
//! Both sides are walked by fd, never by path: the container's side is an fd of its /output
//! taken before the program started (it keeps the tmpfs alive after the container is gone);
//! on the host side every entry is created with O_EXCL / mkdirat under a directory fd and
//! opened O_NOFOLLOW. Only directories and regular files are copied; symlinks, fifos,
//! sockets and devices are skipped and counted. Copies belong to DIR's owner, without
//! setuid/setgid bits. At most `MAX_ENTRIES` entries, `MAX_DEPTH` levels and the tmpfs size
//! in bytes land in DIR.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fchown, Gid, Uid};
use serde::Serialize;

use crate::Error;

/// Most entries (files and directories) copied out.
pub const MAX_ENTRIES: u64 = 10_000;
/// Deepest directory level copied out.
pub const MAX_DEPTH: usize = 32;

/// What the copy to `--output DIR` did (in the report as `output`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutputStats {
    pub dir: PathBuf,
    /// Size of the /output tmpfs (`--output-size`).
    pub limit_bytes: u64,
    /// Files and directories copied.
    pub files: u64,
    pub bytes: u64,
    /// Entries not copied: symlinks, special files, names already in DIR, past the limits.
    pub skipped: u64,
    /// The tmpfs was full at the end: some write of the program may have failed for it.
    pub limit_reached: bool,
}

fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was just returned by open(2)/openat(2) and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn io(what: String) -> impl FnOnce(nix::errno::Errno) -> Error {
    move |e| Error::Io(what, std::io::Error::from(e))
}

/// Opens `--output DIR` for the copy: an existing, empty directory, not a symlink.
pub fn open_host_dir(dir: &Path) -> Result<OwnedFd, Error> {
    let invalid = |m: &str| Error::Invalid(format!("--output {}: {m}", dir.display()));
    let fd = match nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => own(fd),
        Err(nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR) => {
            let link = fs_is_symlink(dir);
            return Err(invalid(if link {
                "is a symlink"
            } else {
                "is not a directory"
            }));
        }
        Err(e) => return Err(invalid(e.desc())),
    };
    let mut d = Dir::from_fd(nix::unistd::dup(fd.as_raw_fd()).map_err(io("dup".into()))?)
        .map_err(io(format!("reading {}", dir.display())))?;
    let nonempty = d.iter().flatten().any(|e| !is_dot(e.file_name()));
    if nonempty {
        return Err(invalid("is not empty (vsbx never replaces files there)"));
    }
    Ok(fd)
}

/// Checks that `fd`, the container's `/output` as its init opened it before the program
/// runs (`CreateOptions::keep_dirs`), is a tmpfs (the size-limited one of the bundle).
pub fn check_container_dir(fd: OwnedFd, inside: &str) -> Result<OwnedFd, Error> {
    let fs = nix::sys::statfs::fstatfs(&fd).map_err(io(format!("statfs {inside}")))?;
    if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        return Err(Error::Invalid(format!(
            "the sandbox's {inside} is not its size-limited tmpfs"
        )));
    }
    Ok(fd)
}

fn fs_is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn is_dot(name: &CStr) -> bool {
    matches!(name.to_bytes(), b"." | b"..")
}

/// Copies the tree under `from` (the container's /output) into `to` (DIR).
pub fn copy_out(
    from: &OwnedFd,
    to: &OwnedFd,
    dir: &Path,
    limit: u64,
) -> Result<OutputStats, Error> {
    let owner = fstat(to.as_raw_fd()).map_err(io(format!("fstat {}", dir.display())))?;
    let mut c = Copier {
        stats: OutputStats {
            dir: dir.to_path_buf(),
            limit_bytes: limit,
            ..OutputStats::default()
        },
        uid: Uid::from_raw(owner.st_uid),
        gid: Gid::from_raw(owner.st_gid),
    };
    if let Ok(fs) = nix::sys::statfs::fstatfs(from) {
        c.stats.limit_reached = fs.blocks_available() == 0;
    }
    let src = nix::unistd::dup(from.as_raw_fd()).map_err(io("dup".into()))?;
    let dst = nix::unistd::dup(to.as_raw_fd()).map_err(io("dup".into()))?;
    c.tree(own(src), own(dst), 0)?;
    Ok(c.stats)
}

struct Copier {
    stats: OutputStats,
    uid: Uid,
    gid: Gid,
}

impl Copier {
    fn tree(&mut self, src: OwnedFd, dst: OwnedFd, depth: usize) -> Result<(), Error> {
        let mut names: Vec<CString> = Vec::new();
        let dup = nix::unistd::dup(src.as_raw_fd()).map_err(io("dup".into()))?;
        let mut d = Dir::from_fd(dup).map_err(io("reading /output".into()))?;
        for entry in d.iter() {
            let entry = entry.map_err(io("reading /output".into()))?;
            if !is_dot(entry.file_name()) {
                names.push(entry.file_name().to_owned());
            }
        }
        names.sort();
        for name in names {
            if self.stats.files >= MAX_ENTRIES {
                self.stats.skipped += 1;
                continue;
            }
            let st = fstatat(
                Some(src.as_raw_fd()),
                name.as_c_str(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(io("stat in /output".into()))?;
            let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
            let copied = if kind == SFlag::S_IFDIR && depth < MAX_DEPTH {
                self.dir(&src, &dst, &name, depth)?
            } else if kind == SFlag::S_IFREG {
                self.file(&src, &dst, &name, st.st_mode)?
            } else {
                false
            };
            if copied {
                self.stats.files += 1;
            } else {
                self.stats.skipped += 1;
            }
        }
        Ok(())
    }

    fn dir(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        name: &CStr,
        depth: usize,
    ) -> Result<bool, Error> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let from = match openat(Some(src.as_raw_fd()), name, flags, Mode::empty()) {
            Ok(fd) => own(fd),
            Err(_) => return Ok(false),
        };
        match mkdirat(Some(dst.as_raw_fd()), name, Mode::S_IRWXU) {
            Ok(()) => {}
            Err(nix::errno::Errno::EEXIST) => return Ok(false),
            Err(e) => return Err(io(format!("creating {name:?} in --output"))(e)),
        }
        let to = openat(Some(dst.as_raw_fd()), name, flags, Mode::empty())
            .map(own)
            .map_err(io(format!("opening {name:?} in --output")))?;
        self.tree(from, dup_fd(&to)?, depth + 1)?;
        self.finish(&to, 0o755)?;
        Ok(true)
    }

    fn file(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        name: &CStr,
        mode: u32,
    ) -> Result<bool, Error> {
        let from = match openat(
            Some(src.as_raw_fd()),
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => own(fd),
            Err(_) => return Ok(false),
        };
        let st = fstat(from.as_raw_fd()).map_err(io("fstat in /output".into()))?;
        if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
            return Ok(false);
        }
        let to = match openat(
            Some(dst.as_raw_fd()),
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        ) {
            Ok(fd) => own(fd),
            Err(nix::errno::Errno::EEXIST) => return Ok(false),
            Err(e) => return Err(io(format!("creating {name:?} in --output"))(e)),
        };
        let budget = self.stats.limit_bytes.saturating_sub(self.stats.bytes);
        let mut reader = File::from(from).take(budget);
        let mut writer = File::from(dup_fd(&to)?);
        let n = std::io::copy(&mut reader, &mut writer)
            .map_err(|e| Error::Io(format!("copying {name:?} to --output"), e))?;
        writer
            .flush()
            .map_err(|e| Error::Io(format!("copying {name:?} to --output"), e))?;
        self.stats.bytes += n;
        self.finish(&to, if mode & 0o100 != 0 { 0o755 } else { 0o644 })?;
        Ok(true)
    }

    /// The copy belongs to DIR's owner (when vsbx runs as root; an ordinary user's copies
    /// are its own, as any file it makes), with a plain mode (never setuid/setgid).
    fn finish(&self, fd: &OwnedFd, mode: u32) -> Result<(), Error> {
        if nix::unistd::geteuid().is_root() {
            fchown(fd.as_raw_fd(), Some(self.uid), Some(self.gid))
                .map_err(io("chown in --output".into()))?;
        }
        fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(mode))
            .map_err(io("chmod in --output".into()))
    }
}

fn dup_fd(fd: &OwnedFd) -> Result<OwnedFd, Error> {
    fd.try_clone().map_err(|e| Error::Io("dup".into(), e))
}
