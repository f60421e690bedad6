//! config.json mount options -> mount(2) flags, propagation changes and fs data.

use nix::mount::MsFlags;

use crate::error::{Error, Result};

/// One mount entry's options, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for mount(2) (includes MS_BIND / MS_REC for bind mounts).
    pub flags: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options, comma-joined for the data argument.
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
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

/// Flag options: (name, set?, flag). `set == false` clears the flag.
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("atime", false, MsFlags::MS_NOATIME),
    ("bind", true, MsFlags::MS_BIND),
    ("defaults", true, MsFlags::empty()),
    ("dev", false, MsFlags::MS_NODEV),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("nodev", true, MsFlags::MS_NODEV),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("nosuid", true, MsFlags::MS_NOSUID),
    ("relatime", true, MsFlags::MS_RELATIME),
    ("remount", true, MsFlags::MS_REMOUNT),
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("silent", true, MsFlags::MS_SILENT),
    ("loud", false, MsFlags::MS_SILENT),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("suid", false, MsFlags::MS_NOSUID),
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
                out.flags &= !*f;
            }
        } else if let Some((_, f)) = PROPAGATION.iter().find(|(n, _)| *n == o) {
            out.propagation.push(*f);
        } else if REFUSED.contains(&o)
            || (o.starts_with('r')
                && FLAGS.iter().any(|(n, _, _)| Some(*n) == o.get(1..))
                && o != "remount"
                && o != "relatime"
                && o != "rw"
                && o != "ro")
        {
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
        assert!(parse(None, &["rnosuid".into()]).is_err());
        assert!(propagation("sideways").is_err());
        assert_eq!(
            propagation("rprivate").unwrap(),
            MsFlags::MS_PRIVATE | MsFlags::MS_REC
        );
    }
}
