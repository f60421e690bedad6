//! A private copy of the runtime binary for attacks that try to overwrite it (CVE-2019-5736
//! class), and the host's shared libraries for a rootfs that must run a dynamically linked host
//! binary (the runtime image executed inside a container, as in a glibc-based image).

use crate::{runtime, TempDir};
use std::cell::Cell;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the runtime under test in a temp dir of its own, with the hash of its content at
/// copy time. Tests run THIS binary, so an attack that wins overwrites only the copy.
pub struct RuntimeCopy {
    _dir: TempDir,
    path: PathBuf,
    /// A second copy, never run, to put back after a successful attack (so that the test can
    /// still clean up its containers with a working binary).
    pristine: PathBuf,
    hash: u64,
    overwritten: Cell<bool>,
}

impl RuntimeCopy {
    /// Copies [`runtime()`] (resolved from PATH when it is a bare name such as `runc`), keeping
    /// its file name (so that `runc` is still recognised as runc).
    pub fn new(name: &str) -> RuntimeCopy {
        Self::of(runtime(), name)
    }

    /// Copies `binary`.
    pub fn of(binary: &Path, name: &str) -> RuntimeCopy {
        let dir = TempDir::new(&format!("bin-{name}"));
        let path = dir
            .path()
            .join(binary.file_name().expect("binary has a file name"));
        fs::copy(binary, &path)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", binary.display(), path.display()));
        let pristine = dir.path().join("pristine");
        fs::copy(binary, &pristine).expect("copy the runtime binary twice");
        let hash = file_hash(&path);
        RuntimeCopy {
            _dir: dir,
            path,
            pristine,
            hash,
            overwritten: Cell::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `DEV:INO` of the copy as `fstat` reports it inside a container (the attack programs
    /// print the fds they hold this way).
    pub fn dev_ino(&self) -> String {
        let m = fs::metadata(&self.path).expect("stat the runtime copy");
        format!("{}:{}", m.dev(), m.ino())
    }

    /// The copy's inode number as the attack programs print it (`DEV:INO `): a protected
    /// runtime may show it through an overlay or another mount with its own device number, so
    /// a held fd of the binary is recognised by the inode alone (the content hash is the
    /// ground truth either way).
    pub fn ino_pattern(&self) -> String {
        let m = fs::metadata(&self.path).expect("stat the runtime copy");
        format!(":{} ", m.ino())
    }

    /// Whether the content is still what was copied, and was so at every earlier check. When
    /// it is not, the original content is put back (same inode) before this returns, so that
    /// the test can go on using the binary to clean up.
    pub fn unchanged(&self) -> bool {
        if file_hash(&self.path) != self.hash {
            self.overwritten.set(true);
            fs::copy(&self.pristine, &self.path).expect("restore the runtime copy");
        }
        !self.overwritten.get()
    }

    /// A guard that puts the original content back when dropped. Declare it AFTER the
    /// [`crate::Runtime`] that runs the copy: it is dropped first, so that the runtime's
    /// cleanup runs a working binary even when a test fails after a successful attack.
    pub fn restore_on_drop(&self) -> impl Drop + '_ {
        struct Restore<'a>(&'a RuntimeCopy);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let _ = self.0.unchanged();
            }
        }
        Restore(self)
    }
}

/// A hash of the file's content (not cryptographic: it detects a change, not an adversary
/// aiming for a collision, which the payload of these tests is not).
pub fn file_hash(path: &Path) -> u64 {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut h = DefaultHasher::new();
    h.write(&bytes);
    h.write_usize(bytes.len());
    h.finish()
}

/// Copies the ELF interpreter and every shared library `binary` needs (per `ldd`) into `rootfs`
/// at the same paths, so that the binary can be executed inside a container made from it.
pub fn install_libs(rootfs: &Path, binary: &Path) {
    let out = Command::new("ldd").arg(binary).output().expect("run ldd");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux... (0x...)"
        let Some(lib) = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(Path::new)
        else {
            continue;
        };
        let dest = rootfs.join(lib.strip_prefix("/").unwrap());
        fs::create_dir_all(dest.parent().unwrap()).expect("mkdir for a library");
        // Follow symlinks on the host: the rootfs gets the real content at the linked name.
        fs::copy(lib, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", lib.display()));
    }
}
