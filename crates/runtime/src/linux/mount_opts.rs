//! config.json mount options -> mount(2) flags, propagation changes and fs data.

use nix::mount::MsFlags;

use crate::error::{Error, Result};

/// One entry of config.json's `mounts` with its options parsed, once, by the plan.
#[derive(Debug, Clone)]
pub struct PlannedMount {
    pub mount: oci_spec::runtime::Mount,
    pub opts: MountOptions,
}

/// One mount entry's options, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for mount(2) (includes MS_BIND / MS_REC for bind mounts).
    pub flags: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options, comma-joined for the data argument.
    pub data: Vec<String>,
    /// Attributes set on the mount and every mount below it (the `r*` options).
    pub recursive: TreeAttrs,
}

/// Mount attributes for mount_setattr(2) with AT_RECURSIVE: bits to set and to clear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeAttrs {
    pub set: u64,
    pub clear: u64,
}

impl TreeAttrs {
    pub const READONLY: TreeAttrs = TreeAttrs {
        set: attr::RDONLY,
        clear: 0,
    };

    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }
}

/// MOUNT_ATTR_* of <linux/mount.h>.
pub mod attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    /// The access-time field: one of the three values below, not a set of bits.
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x00;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
}

/// What one recursive option does to the tree's attributes.
enum Rec {
    Set(u64),
    Clear(u64),
    /// The access-time field takes this value.
    Atime(u64),
}

/// The recursive options of runc 1.1 and runtime-spec 1.1+. Access time is one field
/// with three values, so each atime option picks one: `ratime`, `rnostrictatime` and
/// `rrelatime` pick relatime (what the kernel does when a mount says nothing), and
/// `rnorelatime` picks strictatime, the only value that is neither relatime nor noatime.
const RECURSIVE: &[(&str, Rec)] = &[
    ("rro", Rec::Set(attr::RDONLY)),
    ("rrw", Rec::Clear(attr::RDONLY)),
    ("rnosuid", Rec::Set(attr::NOSUID)),
    ("rsuid", Rec::Clear(attr::NOSUID)),
    ("rnodev", Rec::Set(attr::NODEV)),
    ("rdev", Rec::Clear(attr::NODEV)),
    ("rnoexec", Rec::Set(attr::NOEXEC)),
    ("rexec", Rec::Clear(attr::NOEXEC)),
    ("rnodiratime", Rec::Set(attr::NODIRATIME)),
    ("rdiratime", Rec::Clear(attr::NODIRATIME)),
    ("rnosymfollow", Rec::Set(attr::NOSYMFOLLOW)),
    ("rsymfollow", Rec::Clear(attr::NOSYMFOLLOW)),
    ("rrelatime", Rec::Atime(attr::RELATIME)),
    ("rnorelatime", Rec::Atime(attr::STRICTATIME)),
    ("rnoatime", Rec::Atime(attr::NOATIME)),
    ("ratime", Rec::Atime(attr::RELATIME)),
    ("rstrictatime", Rec::Atime(attr::STRICTATIME)),
    ("rnostrictatime", Rec::Atime(attr::RELATIME)),
];

impl TreeAttrs {
    fn apply(&mut self, r: &Rec) {
        match *r {
            Rec::Set(bit) => {
                self.set |= bit;
                self.clear &= !bit;
            }
            Rec::Clear(bit) => {
                self.clear |= bit;
                self.set &= !bit;
            }
            // The kernel changes the field only when the whole mask is in `clear`.
            Rec::Atime(value) => {
                self.clear |= attr::ATIME_MASK;
                self.set = (self.set & !attr::ATIME_MASK) | value;
            }
        }
    }
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
            recursive: TreeAttrs::default(),
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn data_string(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// MS_NOSYMFOLLOW (Linux 5.10), which nix 0.29 does not name.
pub const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

/// Flag options: (name, set?, flag). `set == false` clears the flag.
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("acl", true, MsFlags::MS_POSIXACL),
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("atime", false, MsFlags::MS_NOATIME),
    ("bind", true, MsFlags::MS_BIND),
    ("defaults", true, MsFlags::empty()),
    ("dev", false, MsFlags::MS_NODEV),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("iversion", true, MsFlags::MS_I_VERSION),
    ("lazytime", true, MsFlags::MS_LAZYTIME),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("noacl", false, MsFlags::MS_POSIXACL),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("nodev", true, MsFlags::MS_NODEV),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("noiversion", false, MsFlags::MS_I_VERSION),
    ("nolazytime", false, MsFlags::MS_LAZYTIME),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("nosuid", true, MsFlags::MS_NOSUID),
    ("nosymfollow", true, MS_NOSYMFOLLOW),
    ("relatime", true, MsFlags::MS_RELATIME),
    ("remount", true, MsFlags::MS_REMOUNT),
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("silent", true, MsFlags::MS_SILENT),
    ("loud", false, MsFlags::MS_SILENT),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("suid", false, MsFlags::MS_NOSUID),
    ("symfollow", false, MS_NOSYMFOLLOW),
    ("sync", true, MsFlags::MS_SYNCHRONOUS),
];

const PROPAGATION: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// Every option `parse` honours (flags, propagation, recursive), sorted, for `features`.
pub fn known_names() -> Vec<&'static str> {
    let mut all: Vec<&str> = FLAGS
        .iter()
        .map(|(n, _, _)| *n)
        .chain(PROPAGATION.iter().map(|(n, _)| *n))
        .chain(RECURSIVE.iter().map(|(n, _)| *n))
        .chain(["rbind"])
        .collect();
    all.sort_unstable();
    all
}

/// Options runc knows that this runtime refuses rather than ignores.
const REFUSED: &[&str] = &["tmpcopyup", "idmap", "ridmap"];

/// Parses one mount's options. `typ` of "bind" also means a bind mount.
pub fn parse(typ: Option<&str>, options: &[String]) -> Result<MountOptions> {
    let mut out = MountOptions::default();
    if typ == Some("bind") {
        out.flags |= MsFlags::MS_BIND;
    }
    for o in options {
        let o = o.as_str();
        if o == "rbind" {
            out.flags |= MsFlags::MS_BIND | MsFlags::MS_REC;
        } else if let Some((_, set, f)) = FLAGS.iter().find(|(n, _, _)| *n == o) {
            if *set {
                out.flags |= *f;
            } else {
                out.flags.remove(*f);
            }
        } else if let Some((_, f)) = PROPAGATION.iter().find(|(n, _)| *n == o) {
            out.propagation.push(*f);
        } else if let Some((_, r)) = RECURSIVE.iter().find(|(n, _)| *n == o) {
            out.recursive.apply(r);
        } else if REFUSED.contains(&o) {
            return Err(Error::invalid(format!(
                "mount option {o:?} is not supported by this vsbx-runtime build"
            )));
        } else {
            out.data.push(o.to_owned());
        }
    }
    Ok(out)
}

/// The host path a bind mount takes: `source` as is if absolute, else relative to the
/// bundle. Checks that it exists; returns whether it is a directory.
pub fn bind_source(
    bundle: &std::path::Path,
    source: Option<&std::path::PathBuf>,
) -> Result<(std::path::PathBuf, bool)> {
    let src = source.ok_or_else(|| Error::invalid("bind mount without a source"))?;
    let src = if src.is_absolute() {
        src.clone()
    } else {
        bundle.join(src)
    };
    let meta = std::fs::metadata(&src).map_err(|e| Error::path("source", &src, e))?;
    Ok((src, meta.is_dir()))
}

/// Parses one propagation name (for linux.rootfsPropagation).
pub fn propagation(name: &str) -> Result<MsFlags> {
    PROPAGATION
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .ok_or_else(|| Error::invalid(format!("linux.rootfsPropagation: unknown value {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(
            None,
            &opts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn flags_data_and_propagation() {
        let o = p(&[
            "nosuid",
            "noexec",
            "mode=755",
            "size=65536k",
            "ro",
            "rslave",
        ]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.data_string().as_deref(), Some("mode=755,size=65536k"));
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
    }

    #[test]
    fn later_options_win_and_bind_is_detected() {
        let o = p(&["ro", "rw", "rbind"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.is_bind() && o.flags.contains(MsFlags::MS_REC));
        assert!(parse(Some("bind"), &[]).unwrap().is_bind());
    }

    #[test]
    fn refused_options_are_errors() {
        assert!(parse(None, &["tmpcopyup".into()]).is_err());
        assert!(propagation("sideways").is_err());
        assert_eq!(
            propagation("rprivate").unwrap(),
            MsFlags::MS_PRIVATE | MsFlags::MS_REC
        );
    }

    #[test]
    fn recursive_options_set_and_clear_tree_attributes() {
        let o = p(&["rbind", "rro", "rnosuid", "rdev", "nodev"]);
        assert_eq!(o.recursive.set, attr::RDONLY | attr::NOSUID);
        assert_eq!(o.recursive.clear, attr::NODEV);
        // The plain flags are untouched by their recursive namesakes.
        assert_eq!(
            o.flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_NODEV
        );
        // A later option undoes an earlier one.
        let o = p(&["rro", "rrw"]);
        assert_eq!(
            o.recursive,
            TreeAttrs {
                set: 0,
                clear: attr::RDONLY
            }
        );
        assert!(p(&["ro", "rw"]).recursive.is_empty());
    }

    #[test]
    fn recursive_atime_options_replace_the_whole_field() {
        let o = p(&["rnoatime"]);
        assert_eq!(
            o.recursive,
            TreeAttrs {
                set: attr::NOATIME,
                clear: attr::ATIME_MASK
            }
        );
        let o = p(&["rnoatime", "rstrictatime"]);
        assert_eq!(o.recursive.set, attr::STRICTATIME);
        let o = p(&["rstrictatime", "ratime"]);
        assert_eq!(
            o.recursive,
            TreeAttrs {
                set: attr::RELATIME,
                clear: attr::ATIME_MASK
            }
        );
        assert_eq!(p(&["rnorelatime"]).recursive.set, attr::STRICTATIME);
        assert_eq!(
            p(&["rnodiratime", "rnoatime"]).recursive.set,
            attr::NODIRATIME | attr::NOATIME
        );
    }

    #[test]
    fn flags_nix_does_not_name_survive_clearing_others() {
        // MS_NOSYMFOLLOW is outside nix's MsFlags; clearing a known flag must keep it.
        let o = p(&["nosymfollow", "rw", "dev", "lazytime"]);
        assert!(
            o.flags.contains(MS_NOSYMFOLLOW | MsFlags::MS_LAZYTIME),
            "{:?}",
            o.flags
        );
        assert!(o.data.is_empty());
        assert!(!p(&["nosymfollow", "symfollow"])
            .flags
            .contains(MS_NOSYMFOLLOW));
    }
}
