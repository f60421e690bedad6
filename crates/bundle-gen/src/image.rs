//! OCI and Docker images as runner filesystems: read an image (an OCI image layout directory,
//! an `oci-archive` tar or a `docker-archive` tar), verify its layers against their digests,
//! and unpack them once into a content-addressed cache keyed by the config digest.
//!
//! Extraction never leaves the tree: entries with `..` or absolute paths are refused, every
//! parent of an entry is walked inside the tree without following symlinks (an entry that would
//! be written through a symlink is refused), hard links point inside the tree only, and
//! symlinks are stored as they are (the runtime resolves them inside the container's root).
//! Whiteouts (`.wh.NAME`) and opaque directories (`.wh..wh..opq`) remove what lower layers
//! made. The tree is built in a temporary directory and renamed into place, so a killed unpack
//! leaves nothing that a later run would use.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{BundleError, Result};

/// Name of the cache directory inside a runner catalog.
pub const IMAGE_CACHE_DIR: &str = ".images";

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Which of the three formats an image source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    OciDir,
    OciArchive,
    DockerArchive,
}

impl ImageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::OciDir => "oci-dir",
            ImageFormat::OciArchive => "oci-archive",
            ImageFormat::DockerArchive => "docker-archive",
        }
    }
}

/// What the image's config says about how it runs (recorded as hints in the manifest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageConfigHints {
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

/// An unpacked image in the cache.
#[derive(Clone, Debug)]
pub struct UnpackedImage {
    pub format: ImageFormat,
    /// `sha256:<hex>` of the image config.
    pub digest: String,
    /// The tree (the runner's rootfs).
    pub tree: PathBuf,
    pub config: ImageConfigHints,
    /// False when the tree was already in the cache.
    pub unpacked_now: bool,
}

fn image_error(source: &Path, message: impl Into<String>) -> BundleError {
    BundleError::Image {
        image: source.to_path_buf(),
        message: message.into(),
    }
}

/// One layer to apply: its blob file and the digests it must have.
struct Layer {
    blob: PathBuf,
    /// Digest of the blob as stored (OCI descriptors).
    blob_digest: Option<String>,
    /// Digest of the uncompressed tar (the config's diff_ids).
    diff_id: Option<String>,
}

/// A located image: its config blob and layers, in order.
struct Located {
    format: ImageFormat,
    config_blob: PathBuf,
    config_digest: Option<String>,
    layers: Vec<Layer>,
}

/// A blob path inside an OCI layout for `sha256:<hex>`; other algorithms are refused.
fn blob_path(layout: &Path, digest: &str, source: &Path) -> Result<PathBuf> {
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| image_error(source, format!("malformed digest `{digest}`")))?;
    if algorithm != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(image_error(
            source,
            format!("unsupported digest `{digest}` (sha256 only)"),
        ));
    }
    Ok(layout.join("blobs").join(algorithm).join(hex))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, source: &Path) -> Result<T> {
    let text =
        fs::read(path).map_err(|e| image_error(source, format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&text)
        .map_err(|e| image_error(source, format!("{}: {e}", path.display())))
}

/// The manifest of an OCI layout, picked by `tag` (org.opencontainers.image.ref.name, or the
/// io.containerd.image.name annotation) when the index has several.
fn locate_oci(
    layout: &Path,
    tag: Option<&str>,
    source: &Path,
    format: ImageFormat,
) -> Result<Located> {
    let index: ImageIndex = read_json(&layout.join("index.json"), source)?;
    let manifests = index.manifests();
    let names = |d: &oci_spec::image::Descriptor| -> Vec<String> {
        d.annotations()
            .as_ref()
            .map(|a| {
                [
                    "org.opencontainers.image.ref.name",
                    "io.containerd.image.name",
                ]
                .iter()
                .filter_map(|k| a.get(*k).cloned())
                .collect()
            })
            .unwrap_or_default()
    };
    let chosen = match tag {
        Some(tag) => manifests
            .iter()
            .find(|d| {
                names(d)
                    .iter()
                    .any(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            })
            .ok_or_else(|| {
                let known: Vec<String> = manifests.iter().flat_map(names).collect();
                image_error(
                    source,
                    format!("no image tagged `{tag}` (tags: {})", known.join(", ")),
                )
            })?,
        None => match manifests.as_slice() {
            [one] => one,
            [] => return Err(image_error(source, "index.json lists no image")),
            _ => {
                let known: Vec<String> = manifests.iter().flat_map(names).collect();
                return Err(image_error(
                    source,
                    format!(
                        "holds {} images; pick one with --tag (tags: {})",
                        manifests.len(),
                        known.join(", ")
                    ),
                ));
            }
        },
    };
    let mut manifest_path = blob_path(layout, chosen.digest().as_ref(), source)?;
    let mut manifest_digest = chosen.digest().to_string();
    // A nested index (multi-platform): take its linux/amd64-or-only entry.
    if chosen.media_type().to_string().contains("image.index")
        || chosen.media_type().to_string().contains("manifest.list")
    {
        let nested: ImageIndex = read_json(&manifest_path, source)?;
        let pick = nested
            .manifests()
            .iter()
            .find(|d| {
                d.platform().as_ref().map_or(true, |p| {
                    p.os().to_string() == "linux" && p.architecture().to_string() == "amd64"
                })
            })
            .ok_or_else(|| image_error(source, "no linux/amd64 image in the index"))?;
        manifest_path = blob_path(layout, pick.digest().as_ref(), source)?;
        manifest_digest = pick.digest().to_string();
    }
    verify_file(&manifest_path, &manifest_digest, source)?;
    let manifest: ImageManifest = read_json(&manifest_path, source)?;
    let config_digest = manifest.config().digest().to_string();
    let config_blob = blob_path(layout, &config_digest, source)?;
    let layers = manifest
        .layers()
        .iter()
        .map(|l| {
            Ok(Layer {
                blob: blob_path(layout, l.digest().as_ref(), source)?,
                blob_digest: Some(l.digest().to_string()),
                diff_id: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Located {
        format,
        config_blob,
        config_digest: Some(config_digest),
        layers,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A path named by a docker-archive manifest, kept inside the extracted archive.
fn archive_member(dir: &Path, name: &str, source: &Path) -> Result<PathBuf> {
    let relative = Path::new(name);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(image_error(
            source,
            format!("manifest.json names `{name}` outside the archive"),
        ));
    }
    Ok(dir.join(relative))
}

fn locate_docker(dir: &Path, tag: Option<&str>, source: &Path) -> Result<Located> {
    let entries: Vec<DockerManifestEntry> = read_json(&dir.join("manifest.json"), source)?;
    let tags = |e: &DockerManifestEntry| e.repo_tags.clone().unwrap_or_default();
    let entry = match tag {
        Some(tag) => entries
            .iter()
            .find(|e| {
                tags(e)
                    .iter()
                    .any(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            })
            .ok_or_else(|| {
                let known: Vec<String> = entries.iter().flat_map(tags).collect();
                image_error(
                    source,
                    format!("no image tagged `{tag}` (tags: {})", known.join(", ")),
                )
            })?,
        None => match entries.as_slice() {
            [one] => one,
            [] => return Err(image_error(source, "manifest.json lists no image")),
            _ => {
                let known: Vec<String> = entries.iter().flat_map(tags).collect();
                return Err(image_error(
                    source,
                    format!(
                        "holds {} images; pick one with --tag (tags: {})",
                        entries.len(),
                        known.join(", ")
                    ),
                ));
            }
        },
    };
    let config_blob = archive_member(dir, &entry.config, source)?;
    let config: ImageConfiguration = read_json(&config_blob, source)?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != entry.layers.len() {
        return Err(image_error(
            source,
            format!(
                "the config lists {} layer digests, manifest.json {} layers",
                diff_ids.len(),
                entry.layers.len()
            ),
        ));
    }
    let layers = entry
        .layers
        .iter()
        .zip(diff_ids)
        .map(|(name, diff_id)| {
            Ok(Layer {
                blob: archive_member(dir, name, source)?,
                blob_digest: None,
                diff_id: Some(diff_id.clone()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Located {
        format: ImageFormat::DockerArchive,
        config_blob,
        config_digest: None,
        layers,
    })
}

/// Extracts an image archive's members (regular files and directories only) into `dir`.
fn extract_archive(archive: &Path, dir: &Path) -> Result<()> {
    let file = fs::File::open(archive).map_err(|e| image_error(archive, e.to_string()))?;
    let mut tar = tar::Archive::new(BufReader::new(file));
    let entries = tar
        .entries()
        .map_err(|e| image_error(archive, format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| image_error(archive, format!("reading the archive: {e}")))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue; // docker-archive's legacy layer symlinks; blobs are regular files
        }
        let unpacked = entry
            .unpack_in(dir)
            .map_err(|e| image_error(archive, format!("extracting the archive: {e}")))?;
        if !unpacked {
            return Err(image_error(
                archive,
                "an archive member's path leaves the archive",
            ));
        }
    }
    Ok(())
}

/// Reads `path` and checks its sha256.
fn verify_file(path: &Path, digest: &str, source: &Path) -> Result<()> {
    let mut file = fs::File::open(path)
        .map_err(|e| image_error(source, format!("{}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)
        .map_err(|e| image_error(source, format!("{}: {e}", path.display())))?;
    let got = format!("sha256:{:x}", hasher.finalize());
    if got != digest {
        return Err(image_error(
            source,
            format!("{} has digest {got}, expected {digest}", path.display()),
        ));
    }
    Ok(())
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }
    /// Reads the rest and returns `sha256:<hex>` of all of it.
    fn finish(mut self) -> io::Result<String> {
        io::copy(&mut self.inner, &mut self.hasher)?;
        Ok(format!("sha256:{:x}", self.hasher.finalize()))
    }
}

/// What a source path holds.
pub fn detect_format(source: &Path) -> Result<ImageFormat> {
    let meta = fs::metadata(source).map_err(|e| image_error(source, e.to_string()))?;
    if meta.is_dir() {
        if source.join("index.json").is_file() || source.join("oci-layout").is_file() {
            return Ok(ImageFormat::OciDir);
        }
        return Err(image_error(
            source,
            "a directory without index.json or oci-layout is not an OCI image layout",
        ));
    }
    let file = fs::File::open(source).map_err(|e| image_error(source, e.to_string()))?;
    let mut tar = tar::Archive::new(BufReader::new(file));
    let entries = tar
        .entries()
        .map_err(|e| image_error(source, format!("not a tar archive: {e}")))?;
    let (mut oci, mut docker) = (false, false);
    for entry in entries {
        let entry = entry.map_err(|e| image_error(source, format!("not a tar archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| image_error(source, e.to_string()))?;
        let name = path.to_string_lossy().trim_start_matches("./").to_string();
        match name.as_str() {
            "index.json" | "oci-layout" => oci = true,
            "manifest.json" => docker = true,
            _ => {}
        }
    }
    // podman's docker-archive has no index.json; an OCI archive may also carry a
    // manifest.json (docker save of recent versions), and then the OCI index wins.
    match (oci, docker) {
        (true, _) => Ok(ImageFormat::OciArchive),
        (false, true) => Ok(ImageFormat::DockerArchive),
        _ => Err(image_error(
            source,
            "neither an OCI image (index.json, oci-layout) nor a docker-archive (manifest.json)",
        )),
    }
}

/// Reads the image at `source` and unpacks it into `cache_dir/sha256-<hex>` unless it is
/// there already.
pub fn unpack_image(source: &Path, tag: Option<&str>, cache_dir: &Path) -> Result<UnpackedImage> {
    let format = detect_format(source)?;
    fs::create_dir_all(cache_dir).map_err(BundleError::io("creating", cache_dir))?;
    // Archives are extracted into a staging directory first (blobs need random access).
    let staging = match format {
        ImageFormat::OciDir => None,
        _ => Some(TempDir::new(cache_dir, "archive")?),
    };
    let layout = staging
        .as_ref()
        .map_or(source.to_path_buf(), |s| s.path.clone());
    if let Some(s) = &staging {
        extract_archive(source, &s.path)?;
    }
    let located = match format {
        ImageFormat::DockerArchive => locate_docker(&layout, tag, source)?,
        _ if layout.join("index.json").is_file() => locate_oci(&layout, tag, source, format)?,
        _ if layout.join("manifest.json").is_file() => locate_docker(&layout, tag, source)?,
        _ => return Err(image_error(source, "no index.json")),
    };
    if let Some(digest) = &located.config_digest {
        verify_file(&located.config_blob, digest, source)?;
    }
    let config_bytes = fs::read(&located.config_blob)
        .map_err(|e| image_error(source, format!("{}: {e}", located.config_blob.display())))?;
    let digest = format!("sha256:{:x}", Sha256::digest(&config_bytes));
    let config: ImageConfiguration = serde_json::from_slice(&config_bytes)
        .map_err(|e| image_error(source, format!("the image config: {e}")))?;
    let hints = config
        .config()
        .as_ref()
        .map(|c| ImageConfigHints {
            env: c.env().clone().unwrap_or_default(),
            working_dir: c.working_dir().clone().filter(|w| !w.is_empty()),
            user: c.user().clone().filter(|u| !u.is_empty()),
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
        })
        .unwrap_or_default();
    let diff_ids = config.rootfs().diff_ids().clone();
    let tree = cache_dir.join(digest.replace(':', "-"));
    let mut unpacked_now = false;
    if !tree.is_dir() {
        remove_stale_temps(cache_dir);
        let temp = TempDir::new(cache_dir, "tree")?;
        for (index, layer) in located.layers.iter().enumerate() {
            let diff_id = layer
                .diff_id
                .clone()
                .or_else(|| diff_ids.get(index).cloned());
            apply_layer(layer, diff_id.as_deref(), &temp.path, source).map_err(|e| match e {
                BundleError::Image { message, .. } => image_error(
                    source,
                    format!("layer {} of {}: {message}", index + 1, located.layers.len()),
                ),
                other => other,
            })?;
        }
        temp.persist_as(&tree)?;
        unpacked_now = true;
    }
    drop(staging);
    Ok(UnpackedImage {
        format: located.format,
        digest,
        tree,
        config: hints,
        unpacked_now,
    })
}

/// A directory under the cache removed on drop unless persisted.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(cache_dir: &Path, what: &str) -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = cache_dir.join(format!(".tmp-{}-{what}-{nanos}", std::process::id()));
        fs::create_dir(&path).map_err(BundleError::io("creating", &path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
            .map_err(BundleError::io("setting the mode of", &path))?;
        Ok(TempDir { path, keep: false })
    }

    /// Renames the tree into place (mode 0755); another unpack that won the race is fine.
    fn persist_as(mut self, target: &Path) -> Result<()> {
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o755))
            .map_err(BundleError::io("setting the mode of", &self.path))?;
        match fs::rename(&self.path, target) {
            Ok(()) => {
                self.keep = true;
                Ok(())
            }
            Err(_) if target.is_dir() => Ok(()),
            Err(e) => Err(BundleError::io("renaming into", target)(e)),
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes `.tmp-PID-*` directories of unpacks whose process is gone (killed mid-way).
fn remove_stale_temps(cache_dir: &Path) {
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(".tmp-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A layer blob, decompressed by its magic bytes: gzip, zstd or a plain tar.
fn decompressed(mut reader: BufReader<Hashing<fs::File>>) -> io::Result<(Box<dyn Read>, bool)> {
    use io::BufRead;
    let head = reader.fill_buf()?.to_vec();
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((Box::new(flate2::read::MultiGzDecoder::new(reader)), true))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(reader)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok((Box::new(decoder), true))
    } else {
        Ok((Box::new(reader), false))
    }
}

fn apply_layer(layer: &Layer, diff_id: Option<&str>, root: &Path, source: &Path) -> Result<()> {
    let fail = |message: String| image_error(source, message);
    let file =
        fs::File::open(&layer.blob).map_err(|e| fail(format!("{}: {e}", layer.blob.display())))?;
    // The blob digest is checked over the stored bytes, the diff_id over the tar; both are
    // computed while extracting and compared at the end (the tree is still a temp dir).
    let blob_reader = BufReader::new(Hashing::new(file));
    let (tar_stream, _) =
        decompressed(blob_reader).map_err(|e| fail(format!("decompressing: {e}")))?;
    let mut tar_hash = Hashing::new(tar_stream);
    {
        let mut archive = tar::Archive::new(&mut tar_hash);
        let mut unpacker = Unpacker::new(root);
        let entries = archive
            .entries()
            .map_err(|e| fail(format!("reading the tar: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| fail(format!("reading the tar: {e}")))?;
            unpacker.entry(entry).map_err(fail)?;
        }
        unpacker.finish().map_err(fail)?;
    }
    // Drain the tar's padding so the diff_id covers the whole stream.
    let tar_digest = tar_hash
        .finish()
        .map_err(|e| fail(format!("reading the tar: {e}")))?;
    if let Some(expected) = diff_id {
        if tar_digest != expected {
            return Err(fail(format!(
                "uncompressed digest {tar_digest}, the config says {expected}"
            )));
        }
    }
    if let Some(expected) = &layer.blob_digest {
        let got = verify_digest_of(&layer.blob).map_err(|e| fail(e.to_string()))?;
        if &got != expected {
            return Err(fail(format!("digest {got}, the manifest says {expected}")));
        }
    }
    Ok(())
}

fn verify_digest_of(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// Applies one layer's entries inside `root`.
struct Unpacker<'a> {
    root: &'a Path,
    /// Paths this layer created (an opaque marker keeps them).
    made: HashSet<PathBuf>,
    /// Directory modes, applied when the layer is done (a 0555 dir must stay writable until then).
    dir_modes: BTreeMap<PathBuf, u32>,
    is_root: bool,
}

/// `a/./b/` -> `a/b`; refuses `..`, absolute paths and the empty path.
fn relative_path(path: &Path) -> std::result::Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!("entry `{}` has a `..` component", path.display()))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("entry `{}` is an absolute path", path.display()))
            }
        }
    }
    Ok(out)
}

impl<'a> Unpacker<'a> {
    fn new(root: &'a Path) -> Self {
        Unpacker {
            root,
            made: HashSet::new(),
            dir_modes: BTreeMap::new(),
            // SAFETY: geteuid has no preconditions.
            is_root: unsafe { libc::geteuid() } == 0,
        }
    }

    /// The parent directory of `relative` inside the root, created as needed, never through
    /// a symlink.
    fn parent_dir(&mut self, relative: &Path) -> std::result::Result<PathBuf, String> {
        let mut dir = self.root.to_path_buf();
        if let Some(parent) = relative.parent() {
            for component in parent.components() {
                dir.push(component);
                match fs::symlink_metadata(&dir) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        return Err(format!(
                            "entry `{}` would be written through the symlink `{}`",
                            relative.display(),
                            dir.strip_prefix(self.root).unwrap_or(&dir).display()
                        ))
                    }
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => {
                        return Err(format!(
                            "entry `{}`: `{}` is not a directory",
                            relative.display(),
                            dir.strip_prefix(self.root).unwrap_or(&dir).display()
                        ))
                    }
                    Err(_) => {
                        fs::create_dir(&dir)
                            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
                        self.made.insert(dir.clone());
                    }
                }
            }
        }
        Ok(dir)
    }

    /// Removes whatever is at `path` (not following a symlink there).
    fn remove(path: &Path) -> std::result::Result<(), String> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(_) => Ok(()),
        }
        .map_err(|e| format!("removing {}: {e}", path.display()))
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> std::result::Result<(), String> {
        let raw = entry
            .path()
            .map_err(|e| format!("an entry's path: {e}"))?
            .into_owned();
        let relative = relative_path(&raw)?;
        if relative.as_os_str().is_empty() {
            return Ok(()); // "./" itself
        }
        let name = relative
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let parent = self.parent_dir(&relative)?;
        if name == OPAQUE_MARKER {
            // Everything lower layers put in this directory goes; this layer's entries stay.
            let entries =
                fs::read_dir(&parent).map_err(|e| format!("reading {}: {e}", parent.display()))?;
            for child in entries.flatten() {
                let path = child.path();
                if !self.made.contains(&path) {
                    Self::remove(&path)?;
                }
            }
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(format!(
                    "entry `{}` is a malformed whiteout",
                    relative.display()
                ));
            }
            return Self::remove(&parent.join(hidden));
        }
        let target = parent.join(&name);
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header
            .mode()
            .map_err(|e| format!("entry `{}`: {e}", relative.display()))?
            & 0o7777;
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        let existing = fs::symlink_metadata(&target).ok();
        if kind.is_dir() {
            if existing.as_ref().is_some_and(|m| !m.is_dir()) {
                Self::remove(&target)?;
            }
            if !target.is_dir()
                || existing
                    .as_ref()
                    .is_some_and(|m| m.file_type().is_symlink())
            {
                fs::create_dir(&target)
                    .map_err(|e| format!("creating {}: {e}", target.display()))?;
            }
            self.dir_modes.insert(target.clone(), mode);
        } else {
            if existing.is_some() {
                Self::remove(&target)?;
            }
            if kind.is_file() || kind == tar::EntryType::Continuous {
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(|e| format!("creating {}: {e}", target.display()))?;
                io::copy(&mut entry, &mut out)
                    .map_err(|e| format!("writing {}: {e}", target.display()))?;
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                    .map_err(|e| format!("setting the mode of {}: {e}", target.display()))?;
            } else if kind.is_symlink() {
                let link = entry
                    .link_name()
                    .map_err(|e| format!("entry `{}`: {e}", relative.display()))?
                    .ok_or_else(|| format!("symlink `{}` has no target", relative.display()))?;
                symlink(&link, &target)
                    .map_err(|e| format!("creating {}: {e}", target.display()))?;
            } else if kind.is_hard_link() {
                let link = entry
                    .link_name()
                    .map_err(|e| format!("entry `{}`: {e}", relative.display()))?
                    .ok_or_else(|| format!("hard link `{}` has no target", relative.display()))?;
                let link_relative = relative_path(&link)
                    .map_err(|e| format!("hard link `{}`: {e}", relative.display()))?;
                let link_parent = self.parent_dir(&link_relative)?;
                let link_path = match link_relative.file_name() {
                    Some(n) => link_parent.join(n),
                    None => {
                        return Err(format!(
                            "hard link `{}` has an empty target",
                            relative.display()
                        ))
                    }
                };
                match fs::symlink_metadata(&link_path) {
                    Ok(meta) if !meta.is_dir() => {}
                    _ => {
                        return Err(format!(
                            "hard link `{}` -> `{}`: no such file in the image",
                            relative.display(),
                            link.display()
                        ))
                    }
                }
                fs::hard_link(&link_path, &target)
                    .map_err(|e| format!("linking {}: {e}", target.display()))?;
                self.made.insert(target);
                return Ok(());
            } else {
                // Devices, fifos and sockets: /dev is the runtime's tmpfs; skip them.
                return Ok(());
            }
        }
        if self.is_root {
            std::os::unix::fs::lchown(&target, Some(uid), Some(gid))
                .map_err(|e| format!("changing the owner of {}: {e}", target.display()))?;
            if kind.is_file() && mode & 0o6000 != 0 {
                // chown cleared set-id bits; put the image's mode back.
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                    .map_err(|e| format!("setting the mode of {}: {e}", target.display()))?;
            }
        }
        self.made.insert(target);
        Ok(())
    }

    fn finish(self) -> std::result::Result<(), String> {
        // Deepest first, so a parent's mode cannot block setting a child's.
        for (dir, mode) in self.dir_modes.iter().rev() {
            if fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
                // Not root: the owner keeps write access, or a later layer could not change it.
                let mode = if self.is_root { *mode } else { mode | 0o700 };
                fs::set_permissions(dir, fs::Permissions::from_mode(mode))
                    .map_err(|e| format!("setting the mode of {}: {e}", dir.display()))?;
            }
        }
        Ok(())
    }
}

/// Bytes used by the files of `tree` (not following symlinks).
pub fn tree_size(tree: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![tree.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => stack.push(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}
