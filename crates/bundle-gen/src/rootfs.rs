//! The bundle's rootfs directory: the runner's filesystem (a copied directory, an extracted
//! tarball, or a skeleton of mount points for host binds), the directories every sandbox needs
//! (/proc, /sys, /dev, /tmp with mode 1777, /work), a minimal /etc, the user's files under /work
//! (read-only), and a mount point for every mount of the spec.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::Mount;

use crate::runner::{Rootfs, Runner, WORK_DIR};
use crate::spec::BindMount;
use crate::{BundleError, Result};

/// Directory mode for everything the generator creates, except /tmp.
const DIR_MODE: u32 = 0o755;
/// /tmp: runc keeps the mode of an existing mount point for the tmpfs, so the skeleton's /tmp
/// must already be world-writable and sticky.
const TMP_MODE: u32 = 0o1777;
/// The user's files and /work: readable by the sandbox user, writable by nobody.
const WORK_FILE_MODE: u32 = 0o444;
const WORK_DIR_MODE: u32 = 0o555;

const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n";
const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

fn create_dir(path: &Path, mode: u32) -> Result<()> {
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists && path.is_dir() => {}
        Err(e) => return Err(BundleError::io("creating", path)(e)),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(BundleError::io("setting the mode of", path))
}

/// Creates `relative` (a container path) inside `rootfs`, directory by directory. Stops without
/// error at a component that is a symlink: the runtime resolves it inside the root, and
/// following it here could leave the rootfs.
fn create_inside(rootfs: &Path, relative: &str, leaf_is_file: bool) -> Result<()> {
    let components: Vec<Component> = Path::new(relative.trim_start_matches('/'))
        .components()
        .collect();
    let mut path = rootfs.to_path_buf();
    for (index, component) in components.iter().enumerate() {
        let Component::Normal(name) = component else {
            continue;
        };
        path.push(name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Ok(()),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(BundleError::io("inspecting", &path)(e)),
        }
        let is_leaf = index + 1 == components.len();
        if is_leaf && leaf_is_file {
            fs::write(&path, b"").map_err(BundleError::io("creating", &path))?;
        } else {
            create_dir(&path, DIR_MODE)?;
        }
    }
    Ok(())
}

/// Copies a root filesystem directory: directories, regular files (with their modes) and
/// symlinks (as symlinks). Device nodes, fifos and sockets are skipped: /dev is a tmpfs and the
/// runtime creates the standard devices.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(from).map_err(BundleError::io("reading", from))?;
    create_dir(to, meta.permissions().mode() & 0o7777)?;
    for entry in fs::read_dir(from).map_err(BundleError::io("reading", from))? {
        let entry = entry.map_err(BundleError::io("reading", from))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(BundleError::io("reading", &source))?;
        if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(BundleError::io("reading", &source))?;
            symlink(&link, &target).map_err(BundleError::io("creating", &target))?;
        } else if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_file() {
            fs::copy(&source, &target).map_err(BundleError::io("copying", &source))?;
        }
    }
    Ok(())
}

fn extract_tarball(tarball: &Path, rootfs: &Path) -> Result<()> {
    let failed = |message: String| BundleError::Extract {
        tarball: tarball.to_path_buf(),
        rootfs: rootfs.to_path_buf(),
        message,
    };
    let output = Command::new("tar")
        .arg("--extract")
        .arg("--file")
        .arg(tarball)
        .arg("--directory")
        .arg(rootfs)
        .output()
        .map_err(|e| failed(format!("cannot run tar: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("tar failed").to_string();
        return Err(failed(first));
    }
    Ok(())
}

/// Top-level directories of a runner's rootfs that each bundle makes for itself (mount
/// points and the generated /etc) instead of binding the runner's.
const BUNDLE_OWNED: &[&str] = &[
    "proc", "sys", "dev", "tmp", "run", "etc", "work", "output", "build",
];

/// A directory rootfs is shared, not copied: its top-level directories are bound
/// read-only (a copy of busybox's 270 links cost most of a short run), its /etc is
/// copied (the skeleton adds passwd and group to it), and top-level symlinks and files
/// are recreated.
fn bind_tree_entries(from: &Path, rootfs: &Path, binds: &mut Vec<BindMount>) -> Result<()> {
    for entry in fs::read_dir(from).map_err(BundleError::io("reading", from))? {
        let entry = entry.map_err(BundleError::io("reading", from))?;
        let name = entry.file_name();
        let source = entry.path();
        let target = rootfs.join(&name);
        let kind = entry
            .file_type()
            .map_err(BundleError::io("reading", &source))?;
        let owned = BUNDLE_OWNED.iter().any(|o| name == *o);
        if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(BundleError::io("reading", &source))?;
            symlink(&link, &target).map_err(BundleError::io("creating", &target))?;
        } else if kind.is_dir() && name == "etc" {
            copy_tree(&source, &target)?;
        } else if kind.is_dir() && !owned {
            binds.push(BindMount::read_only(
                &source,
                format!("/{}", name.to_string_lossy()),
            ));
        } else if kind.is_file() {
            fs::copy(&source, &target).map_err(BundleError::io("copying", &source))?;
        }
    }
    Ok(())
}

/// Fills `rootfs` (an empty directory) with the runner's filesystem and returns the read-only
/// binds it needs, in mount order.
pub fn populate(rootfs: &Path, runner: &Runner) -> Result<Vec<BindMount>> {
    let mut binds = Vec::new();
    match &runner.rootfs {
        Rootfs::Directory { path, hint } => {
            if !path.is_dir() {
                return Err(BundleError::MissingRootfs {
                    runner: runner.name.clone(),
                    path: path.clone(),
                    hint: hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default(),
                });
            }
            bind_tree_entries(path, rootfs, &mut binds)?;
        }
        Rootfs::Image { tree, image } => {
            if !tree.is_dir() {
                return Err(BundleError::MissingRootfs {
                    runner: runner.name.clone(),
                    path: tree.clone(),
                    hint: format!(
                        "; the unpacked image {} is gone: run `vsbx runner add {} --image {}` again",
                        image.digest, runner.name, image.source
                    ),
                });
            }
            bind_tree_entries(tree, rootfs, &mut binds)?;
        }
        Rootfs::Tarball { path } => {
            if !path.is_file() {
                return Err(BundleError::MissingRootfs {
                    runner: runner.name.clone(),
                    path: path.clone(),
                    hint: String::new(),
                });
            }
            extract_tarball(path, rootfs)?;
        }
        Rootfs::HostBinds { paths } => {
            for host_path in paths {
                let Ok(meta) = fs::symlink_metadata(host_path) else {
                    continue; // not on this host (e.g. /lib64 elsewhere): nothing to bind
                };
                let inside = host_path.to_string_lossy().to_string();
                if meta.file_type().is_symlink() {
                    let link =
                        fs::read_link(host_path).map_err(BundleError::io("reading", host_path))?;
                    if let Some(parent) = Path::new(&inside).parent() {
                        create_inside(rootfs, &parent.to_string_lossy(), false)?;
                    }
                    let target = rootfs.join(inside.trim_start_matches('/'));
                    symlink(&link, &target).map_err(BundleError::io("creating", &target))?;
                } else {
                    binds.push(BindMount::read_only(host_path, inside));
                }
            }
        }
    }
    for bind in &runner.binds {
        if fs::symlink_metadata(&bind.source).is_err() {
            if bind.optional {
                continue;
            }
            return Err(BundleError::MissingBindSource {
                runner: runner.name.clone(),
                path: bind.source.clone(),
            });
        }
        binds.push(BindMount::read_only(&bind.source, bind.destination.clone()));
    }
    Ok(binds)
}

/// The directories every sandbox needs, and /etc/passwd, group and hosts when the runner's
/// filesystem has none.
pub fn add_skeleton(rootfs: &Path) -> Result<()> {
    for dir in ["proc", "sys", "dev", "etc"] {
        create_inside(rootfs, dir, false)?;
    }
    let tmp = rootfs.join("tmp");
    if !fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_symlink()) {
        create_dir(&tmp, TMP_MODE)?;
    }
    let etc = rootfs.join("etc");
    if fs::symlink_metadata(&etc).is_ok_and(|m| m.is_dir()) {
        for (name, content) in [("passwd", PASSWD), ("group", GROUP), ("hosts", HOSTS)] {
            let path = etc.join(name);
            if fs::symlink_metadata(&path).is_err() {
                fs::write(&path, content).map_err(BundleError::io("writing", &path))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
                    .map_err(BundleError::io("setting the mode of", &path))?;
            }
        }
    }
    Ok(())
}

/// Opens an input file of the user's the way vsbx may read it as root for a less privileged
/// caller: never through a symlink (O_NOFOLLOW: a link to a root-only file would hand its
/// content to the program) and only a regular file (fstat; O_NONBLOCK so a fifo cannot
/// block the open).
/// Removes `path` and everything below it, as `remove_dir_all` does, also where a
/// directory lacks its owner's write permission (the read-only /work made here: without
/// root, its entries cannot be unlinked until it is writable again). Directories of ours
/// below `path` are made owner-writable first; symlinks are not followed.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            make_owner_writable(path);
            fs::remove_dir_all(path)
        }
        r => r,
    }
}

fn make_owner_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o700 != 0o700 {
        // Not ours: the removal reports it.
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o700));
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_owner_writable(&entry.path());
        }
    }
}

pub fn open_input(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let invalid = |message: String| BundleError::InputFile {
        path: path.to_path_buf(),
        message,
    };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => invalid("is a symlink; give the file itself".into()),
            _ => invalid(e.to_string()),
        })?;
    let meta = file.metadata().map_err(|e| invalid(e.to_string()))?;
    if !meta.is_file() {
        return Err(invalid("is not a regular file".into()));
    }
    Ok(file)
}

/// Copies the user's files to /work/<file name> (mode 0444, /work 0555) and returns their
/// container paths, in order. Each is read from `open_input`'s fd, never by its path.
pub fn copy_work_files(rootfs: &Path, files: &[PathBuf]) -> Result<Vec<String>> {
    let work = rootfs.join(WORK_DIR.trim_start_matches('/'));
    create_dir(&work, DIR_MODE)?;
    let mut inside = Vec::with_capacity(files.len());
    for file in files {
        let name = file.file_name().ok_or_else(|| BundleError::InputFile {
            path: file.clone(),
            message: "has no file name".to_string(),
        })?;
        let target = work.join(name);
        if fs::symlink_metadata(&target).is_ok() {
            return Err(BundleError::DuplicateInputName {
                name: name.to_string_lossy().to_string(),
            });
        }
        let mut from = open_input(file)?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(BundleError::io("creating", &target))?;
        std::io::copy(&mut from, &mut to).map_err(BundleError::io("copying", file))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(WORK_FILE_MODE))
            .map_err(BundleError::io("setting the mode of", &target))?;
        inside.push(format!("{WORK_DIR}/{}", name.to_string_lossy()));
    }
    fs::set_permissions(&work, fs::Permissions::from_mode(WORK_DIR_MODE))
        .map_err(BundleError::io("setting the mode of", &work))?;
    Ok(inside)
}

/// A mount point inside `rootfs` for every mount outside /dev: a directory, or an empty file for
/// a bind of a host file. The runtime could create them, but with a read-only root it is clearer
/// (and works with every runtime) when they already exist.
pub fn create_mount_points(rootfs: &Path, mounts: &[Mount]) -> Result<()> {
    for mount in mounts {
        let destination = mount.destination().to_string_lossy().to_string();
        if destination.starts_with("/dev/") {
            continue; // inside the /dev tmpfs, made by the runtime
        }
        let is_file_bind = mount.typ().as_deref() == Some("bind")
            && mount
                .source()
                .as_ref()
                .is_some_and(|source| source.is_file());
        create_inside(rootfs, &destination, is_file_bind)?;
    }
    Ok(())
}

/// Makes `dir` writable by the sandbox user (host uid `owner`): chown when we may, else (not
/// root) world-writable with the sticky bit.
pub fn make_writable_for(dir: &Path, owner: u32, group: u32) -> Result<()> {
    match std::os::unix::fs::chown(dir, Some(owner), Some(group)) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
            .map_err(BundleError::io("setting the mode of", dir)),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            fs::set_permissions(dir, fs::Permissions::from_mode(TMP_MODE))
                .map_err(BundleError::io("setting the mode of", dir))
        }
        Err(e) => Err(BundleError::io("changing the owner of", dir)(e)),
    }
}
