//! Language runners: a rootfs plus a small manifest (`runner.toml`) that says which files the
//! runner takes, how to run them, under which profile, and for compiled languages how to build
//! them first. [`RunnerCatalog`] loads a directory of runners and maps file extensions to them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::request::{parse_cpus, parse_env, parse_size, EnvVar, LimitOverrides};
use crate::{BundleError, Result};

/// The manifest file name inside a runner directory.
pub const MANIFEST_NAME: &str = "runner.toml";

/// Where the user's files are inside the container.
pub const WORK_DIR: &str = "/work";
/// Where a compiled runner's build writes its output, and where the run finds it.
pub const BUILD_DIR: &str = "/build";

/// The placeholders an interpreter's command may use.
const INTERPRETER_PLACEHOLDERS: &[&str] = &["{file}", "{files}"];
/// The placeholders a compiled runner's build command and entry point may use.
const COMPILED_PLACEHOLDERS: &[&str] = &["{file}", "{files}", "{build}"];

/// Where the runner's filesystem comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rootfs {
    /// A ready root filesystem directory, copied into the bundle. `hint` says how to make it
    /// when it is missing.
    Directory { path: PathBuf, hint: Option<String> },
    /// A tarball (any compression GNU tar detects), extracted into the bundle.
    Tarball { path: PathBuf },
    /// Host paths bound read-only at the same place; the bundle's rootfs is a skeleton of
    /// mount points. Paths missing on the host are skipped; a host path that is a symlink
    /// (`/bin -> usr/bin` on merged-/usr systems) is recreated as the same symlink.
    HostBinds { paths: Vec<PathBuf> },
    /// An image unpacked into the catalog's cache (`vsbx runner add --image`), shared
    /// read-only by every run like a directory rootfs.
    Image { tree: PathBuf, image: ImageInfo },
}

/// Where an image runner came from and what its config said (hints; runs use /work, the
/// sandbox user and the runner's command).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageInfo {
    /// `sha256:<hex>` of the image config (the cache key).
    pub digest: String,
    /// The source path given to `runner add`.
    pub source: String,
    /// oci-dir, oci-archive or docker-archive.
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
}

/// An extra read-only bind of a host path (a toolchain, say) at `destination`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub destination: String,
    /// Skipped when `source` is not on this host (a rustup toolchain that a host with the
    /// distribution's compiler under /usr lacks); otherwise a missing source is an error.
    pub optional: bool,
}

/// How a compiled runner builds the user's program.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildStep {
    /// Command template run in the build bundle; it writes its output under `{build}`.
    pub command: Vec<String>,
    /// Profile of the build bundle.
    pub profile: String,
    /// Environment added for the build only.
    pub env: Vec<EnvVar>,
    /// Limits of the build bundle, over the build profile's defaults.
    pub limits: LimitOverrides,
}

/// What the runner does with the user's files.
#[derive(Clone, Debug, PartialEq)]
pub enum Launch {
    /// Run `command` (an interpreter with `{file}`) directly.
    Interpret { command: Vec<String> },
    /// Build in a build bundle, then run `entry_point` (the built binary) in the run bundle.
    Compile {
        build: BuildStep,
        entry_point: Vec<String>,
    },
}

/// A loaded runner manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Runner {
    pub name: String,
    pub description: String,
    /// Lower-case file extensions without the dot.
    pub extensions: Vec<String>,
    /// The profile used when the caller names none.
    pub profile: String,
    /// Environment of the run (on top of PATH, HOME and LANG).
    pub env: Vec<EnvVar>,
    pub launch: Launch,
    pub rootfs: Rootfs,
    pub binds: Vec<Bind>,
    /// The runner.toml it was loaded from.
    pub manifest: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunnerFile {
    name: String,
    #[serde(default)]
    description: String,
    extensions: Vec<String>,
    profile: String,
    command: Option<Vec<String>>,
    #[serde(default)]
    env: Vec<String>,
    build_command: Option<Vec<String>>,
    entry_point: Option<Vec<String>>,
    build_profile: Option<String>,
    #[serde(default)]
    build_env: Vec<String>,
    #[serde(default)]
    build_limits: LimitsFile,
    rootfs: RootfsFile,
    image: Option<ImageInfo>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    memory: Option<String>,
    cpus: Option<f64>,
    pids: Option<u64>,
    tmp: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RootfsFile {
    directory: Option<PathBuf>,
    tarball: Option<PathBuf>,
    host: Option<Vec<PathBuf>>,
    image: Option<PathBuf>,
    hint: Option<String>,
    #[serde(default)]
    bind: Vec<BindFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindFile {
    source: PathBuf,
    destination: String,
    #[serde(default)]
    optional: bool,
}

/// Checks a manifest value; errors name the manifest and the key.
struct ManifestCheck<'a> {
    path: &'a Path,
}

impl ManifestCheck<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> BundleError {
        BundleError::InvalidManifest {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn command(&self, key: &str, command: Vec<String>, allowed: &[&str]) -> Result<Vec<String>> {
        if command.first().map_or(true, |program| program.is_empty()) {
            return Err(self.invalid(key, "the command is empty"));
        }
        for arg in &command {
            for placeholder in placeholders_in(arg) {
                if !allowed.contains(&placeholder) {
                    return Err(self.invalid(
                        key,
                        format!(
                            "unknown placeholder `{placeholder}` (allowed: {})",
                            allowed.join(" ")
                        ),
                    ));
                }
            }
            if arg.contains("{files}") && arg != "{files}" {
                return Err(self.invalid(key, "`{files}` must be an argument of its own"));
            }
        }
        Ok(command)
    }

    fn env(&self, key: &str, entries: &[String]) -> Result<Vec<EnvVar>> {
        entries
            .iter()
            .map(|entry| parse_env(entry).map_err(|e| self.invalid(key, e.to_string())))
            .collect()
    }

    fn limits(&self, file: LimitsFile) -> Result<LimitOverrides> {
        let size = |key: &str, value: Option<String>| -> Result<Option<u64>> {
            value
                .map(|text| parse_size("size", &text).map_err(|e| self.invalid(key, e.to_string())))
                .transpose()
        };
        Ok(LimitOverrides {
            memory_bytes: size("build_limits.memory", file.memory)?,
            cpu_millis: file
                .cpus
                .map(|cpus| {
                    parse_cpus(&cpus.to_string())
                        .map_err(|e| self.invalid("build_limits.cpus", e.to_string()))
                })
                .transpose()?,
            pids: file.pids,
            tmp_bytes: size("build_limits.tmp", file.tmp)?,
            output_bytes: None,
        })
    }

    fn rootfs(
        &self,
        file: &RootfsFile,
        image_info: Option<&ImageInfo>,
        base: &Path,
    ) -> Result<Rootfs> {
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        if let Some(tree) = &file.image {
            if file.directory.is_some() || file.tarball.is_some() || file.host.is_some() {
                return Err(self.invalid(
                    "rootfs",
                    "give exactly one of `directory`, `tarball`, `host` or `image`",
                ));
            }
            let image = image_info
                .cloned()
                .ok_or_else(|| self.invalid("image", "an image rootfs needs an [image] table"))?;
            return Ok(Rootfs::Image {
                tree: lexically_normal(&resolve(tree)),
                image,
            });
        }
        match (&file.directory, &file.tarball, &file.host) {
            (Some(dir), None, None) => Ok(Rootfs::Directory {
                path: resolve(dir),
                hint: file.hint.clone(),
            }),
            (None, Some(tarball), None) => Ok(Rootfs::Tarball {
                path: resolve(tarball),
            }),
            (None, None, Some(paths)) => {
                if let Some(relative) = paths.iter().find(|p| !p.is_absolute()) {
                    return Err(self.invalid(
                        "rootfs.host",
                        format!("{} is not an absolute path", relative.display()),
                    ));
                }
                Ok(Rootfs::HostBinds {
                    paths: paths.clone(),
                })
            }
            _ => Err(self.invalid(
                "rootfs",
                "give exactly one of `directory`, `tarball`, `host` or `image`",
            )),
        }
    }

    fn binds(&self, binds: Vec<BindFile>) -> Result<Vec<Bind>> {
        binds
            .into_iter()
            .map(|bind| {
                if !bind.source.is_absolute() {
                    return Err(self.invalid(
                        "rootfs.bind.source",
                        format!("{} is not an absolute path", bind.source.display()),
                    ));
                }
                if !bind.destination.starts_with('/') || bind.destination == "/" {
                    return Err(self.invalid(
                        "rootfs.bind.destination",
                        format!("`{}` must be an absolute path below /", bind.destination),
                    ));
                }
                Ok(Bind {
                    source: bind.source,
                    destination: bind.destination,
                    optional: bind.optional,
                })
            })
            .collect()
    }
}

/// `a/b/../c` -> `a/c` without touching the filesystem (the manifest's directory may be
/// removed while the tree it names is still in use).
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The `{...}` placeholders in one argument.
fn placeholders_in(arg: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(start) = rest.find('{') {
        match rest[start..].find('}') {
            Some(len) => {
                found.push(&rest[start..start + len + 1]);
                rest = &rest[start + len + 1..];
            }
            None => break,
        }
    }
    found
}

impl Runner {
    /// Loads and checks one runner.toml. Relative rootfs paths are relative to its directory.
    pub fn load(manifest: impl AsRef<Path>) -> Result<Runner> {
        let path = manifest.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| BundleError::ReadManifest {
            path: path.to_path_buf(),
            source,
        })?;
        Runner::from_toml_str(&text, path)
    }

    /// Parses a manifest's text; `path` names it in errors and anchors relative paths.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Runner> {
        let file: RunnerFile = toml::from_str(text).map_err(|e| BundleError::ParseManifest {
            path: path.to_path_buf(),
            message: e.to_string().replace('\n', " ").trim().to_string(),
        })?;
        let check = ManifestCheck { path };
        if file.name.is_empty()
            || !file
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(check.invalid(
                "name",
                format!("`{}` is not a plain name ([A-Za-z0-9_-]+)", file.name),
            ));
        }
        let extensions: Vec<String> = file
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        if extensions.iter().any(String::is_empty) {
            return Err(check.invalid("extensions", "an extension is empty"));
        }
        let launch = match (file.command, file.build_command, file.entry_point) {
            (Some(command), None, None) => Launch::Interpret {
                command: check.command("command", command, INTERPRETER_PLACEHOLDERS)?,
            },
            (None, Some(build_command), Some(entry_point)) => Launch::Compile {
                build: BuildStep {
                    command: check.command(
                        "build_command",
                        build_command,
                        COMPILED_PLACEHOLDERS,
                    )?,
                    profile: file.build_profile.unwrap_or_else(|| "compute".to_string()),
                    env: check.env("build_env", &file.build_env)?,
                    limits: check.limits(file.build_limits)?,
                },
                entry_point: check.command("entry_point", entry_point, COMPILED_PLACEHOLDERS)?,
            },
            _ => {
                return Err(check.invalid(
                    "command",
                    "give either `command`, or `build_command` and `entry_point`",
                ))
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let rootfs = check.rootfs(&file.rootfs, file.image.as_ref(), base)?;
        Ok(Runner {
            name: file.name,
            description: file.description,
            extensions,
            profile: file.profile,
            env: check.env("env", &file.env)?,
            launch,
            rootfs,
            binds: check.binds(file.rootfs.bind)?,
            manifest: path.to_path_buf(),
        })
    }

    /// True when the runner builds before it runs.
    pub fn is_compiled(&self) -> bool {
        matches!(self.launch, Launch::Compile { .. })
    }

    /// The process args of the run: the interpreter command or the entry point, expanded.
    pub fn run_args(&self, work_files: &[String]) -> Vec<String> {
        match &self.launch {
            Launch::Interpret { command } => expand(command, work_files),
            Launch::Compile { entry_point, .. } => expand(entry_point, work_files),
        }
    }
}

/// Expands `{file}` (the first file), `{files}` (all files, one argument each) and `{build}` in
/// a command template. `work_files` are container paths under /work.
pub fn expand(template: &[String], work_files: &[String]) -> Vec<String> {
    let first = work_files.first().map(String::as_str).unwrap_or("");
    let mut args = Vec::with_capacity(template.len() + work_files.len());
    for arg in template {
        if arg == "{files}" {
            args.extend(work_files.iter().cloned());
        } else {
            args.push(arg.replace("{file}", first).replace("{build}", BUILD_DIR));
        }
    }
    args
}

/// `<dir of exe>/../share/vsbx/runners`, with `..` taken lexically (the bin directory's
/// parent), so that it names the same place however the executable's directory is reached.
fn installed_dir(exe: &Path) -> Option<PathBuf> {
    let prefix = exe.parent()?.parent()?;
    Some(prefix.join("share/vsbx/runners"))
}

/// The runner directory of the source tree this crate was built from.
fn source_tree_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match crate_dir.parent().and_then(Path::parent) {
        Some(root) => root.join("examples/bundles/runners"),
        None => crate_dir.join("../../examples/bundles/runners"),
    }
}

/// The runners of one directory (`examples/bundles/runners/<name>/runner.toml`).
#[derive(Clone, Debug, Default)]
pub struct RunnerCatalog {
    runners: BTreeMap<String, Runner>,
}

impl RunnerCatalog {
    /// Environment variable naming the runner directory.
    pub const ENV_VAR: &'static str = "VSBX_RUNNERS";

    /// The runner directory of this program ([`RunnerCatalog::find_dir`] for the running
    /// executable, `/proc/self/exe`).
    pub fn default_dir() -> Result<PathBuf> {
        Self::find_dir(std::env::current_exe().ok().as_deref())
    }

    /// The runner directory of the program installed as `exe`, the first of:
    /// `$VSBX_RUNNERS`; `<directory of exe>/../share/vsbx/runners` if it exists (what
    /// `make install` lays out, under any prefix); this source tree's
    /// `examples/bundles/runners` if it exists (a development build run from its checkout).
    pub fn find_dir(exe: Option<&Path>) -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os(Self::ENV_VAR).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let mut looked = vec![format!("${} is not set", Self::ENV_VAR)];
        match exe.and_then(installed_dir) {
            Some(dir) if dir.is_dir() => return Ok(dir),
            Some(dir) => looked.push(format!("{} does not exist", dir.display())),
            None => looked.push("the executable's path is unknown".to_string()),
        }
        let source = source_tree_dir();
        if source.is_dir() {
            return Ok(source);
        }
        looked.push(format!(
            "the source tree's {} does not exist",
            source.display()
        ));
        Err(BundleError::NoRunnerDir {
            looked: looked.join(", "),
        })
    }

    /// Loads every `*/runner.toml` under `dir`.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<RunnerCatalog> {
        let dir = dir.as_ref();
        let read_error = |source| BundleError::ReadRunners {
            path: dir.to_path_buf(),
            source,
        };
        let mut manifests = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            let manifest = entry.map_err(read_error)?.path().join(MANIFEST_NAME);
            if manifest.is_file() {
                manifests.push(manifest);
            }
        }
        manifests.sort();
        let mut catalog = RunnerCatalog::default();
        for manifest in manifests {
            catalog.add(Runner::load(&manifest)?)?;
        }
        Ok(catalog)
    }

    /// Adds a runner; names and extensions must stay unique.
    pub fn add(&mut self, runner: Runner) -> Result<()> {
        if let Some(existing) = self.runners.get(&runner.name) {
            return Err(BundleError::DuplicateRunner {
                name: runner.name.clone(),
                first: existing.manifest.clone(),
                second: runner.manifest.clone(),
            });
        }
        for extension in &runner.extensions {
            if let Some(other) = self
                .runners
                .values()
                .find(|r| r.extensions.contains(extension))
            {
                return Err(BundleError::DuplicateExtension {
                    extension: extension.clone(),
                    first: other.name.clone(),
                    second: runner.name.clone(),
                });
            }
        }
        self.runners.insert(runner.name.clone(), runner);
        Ok(())
    }

    pub fn names(&self) -> Vec<&str> {
        self.runners.keys().map(String::as_str).collect()
    }

    pub fn runners(&self) -> impl Iterator<Item = &Runner> {
        self.runners.values()
    }

    /// The runner called `name`.
    pub fn get(&self, name: &str) -> Result<&Runner> {
        self.runners
            .get(name)
            .ok_or_else(|| BundleError::UnknownRunner {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    /// The runner whose extensions include `file`'s extension.
    pub fn for_file(&self, file: &Path) -> Result<&Runner> {
        let extension = file
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        self.runners
            .values()
            .find(|runner| !extension.is_empty() && runner.extensions.contains(&extension))
            .ok_or_else(|| BundleError::UnknownExtension {
                file: file.to_path_buf(),
                extension: if extension.is_empty() {
                    "none".to_string()
                } else {
                    format!("`.{extension}`")
                },
                known: self.extension_list(),
            })
    }

    /// `.py (python), .js (node), ...` for error messages.
    fn extension_list(&self) -> String {
        let mut items = Vec::new();
        for runner in self.runners.values() {
            for extension in &runner.extensions {
                items.push(format!(".{extension} ({})", runner.name));
            }
        }
        items.join(", ")
    }
}

/// What `vsbx runner add NAME --image SRC` asks for.
#[derive(Clone, Debug, Default)]
pub struct ImageRunnerRequest {
    pub name: String,
    pub source: PathBuf,
    pub tag: Option<String>,
    pub extensions: Vec<String>,
    /// The command template; empty: the image's Entrypoint and Cmd followed by `{file}`.
    pub command: Vec<String>,
    pub profile: String,
    pub env: Vec<String>,
}

#[derive(serde::Serialize)]
struct ImageRunnerFile<'a> {
    name: &'a str,
    description: String,
    extensions: &'a [String],
    profile: &'a str,
    command: &'a [String],
    env: Vec<String>,
    rootfs: ImageRootfsFile,
    image: &'a ImageInfo,
}

#[derive(serde::Serialize)]
struct ImageRootfsFile {
    image: PathBuf,
}

/// How a runner's filesystem is made, for `vsbx runner list`.
pub fn source_kind(runner: &Runner) -> &'static str {
    match runner.rootfs {
        Rootfs::HostBinds { .. } => "host-binds",
        Rootfs::Image { .. } => "image",
        Rootfs::Directory { .. } | Rootfs::Tarball { .. } => "builtin",
    }
}

/// Unpacks the image (once per config digest, under `catalog_dir/.images`) and writes
/// `catalog_dir/NAME/runner.toml` naming it. Nothing is left behind on error, except a cached
/// tree another runner may share.
pub fn add_image_runner(
    catalog_dir: &Path,
    request: &ImageRunnerRequest,
) -> Result<(Runner, crate::UnpackedImage)> {
    let invalid = |message: String| BundleError::flag("runner add", request.name.clone(), message);
    if request.name.is_empty()
        || !request
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid("not a plain name ([A-Za-z0-9_-]+)".into()));
    }
    let catalog = RunnerCatalog::load_dir(catalog_dir)?;
    if catalog.runners.contains_key(&request.name) {
        return Err(invalid(format!(
            "a runner of that name exists; `vsbx runner rm {}` first",
            request.name
        )));
    }
    let extensions: Vec<String> = request
        .extensions
        .iter()
        .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
        .collect();
    if extensions.is_empty() {
        return Err(invalid(
            "give the file extensions it runs with --ext".into(),
        ));
    }
    for extension in &extensions {
        if let Some(other) = catalog
            .runners
            .values()
            .find(|r| r.extensions.contains(extension))
        {
            return Err(invalid(format!(
                "runner `{}` already takes .{extension}",
                other.name
            )));
        }
    }
    let dir = catalog_dir.join(&request.name);
    if fs::symlink_metadata(&dir).is_ok() {
        return Err(invalid(format!("{} already exists", dir.display())));
    }
    let cache = catalog_dir.join(crate::IMAGE_CACHE_DIR);
    let image = crate::unpack_image(&request.source, request.tag.as_deref(), &cache)?;
    let command = if request.command.is_empty() {
        let mut c: Vec<String> = image
            .config
            .entrypoint
            .iter()
            .chain(&image.config.cmd)
            .cloned()
            .collect();
        if c.is_empty() {
            return Err(invalid(
                "the image has no Entrypoint or Cmd; give --command".into(),
            ));
        }
        c.push("{file}".into());
        c
    } else {
        request.command.clone()
    };
    let source = fs::canonicalize(&request.source).unwrap_or_else(|_| request.source.clone());
    let info = ImageInfo {
        digest: image.digest.clone(),
        source: source.to_string_lossy().to_string(),
        format: image.format.as_str().to_string(),
        tag: request.tag.clone(),
        working_dir: image.config.working_dir.clone(),
        user: image.config.user.clone(),
        entrypoint: image.config.entrypoint.clone(),
        cmd: image.config.cmd.clone(),
    };
    let tree_name = image
        .tree
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_default();
    let file = ImageRunnerFile {
        name: &request.name,
        description: format!("image {} ({})", info.source, info.digest),
        extensions: &extensions,
        profile: &request.profile,
        command: &command,
        env: image
            .config
            .env
            .iter()
            .chain(&request.env)
            .cloned()
            .collect(),
        rootfs: ImageRootfsFile {
            image: Path::new("..").join(crate::IMAGE_CACHE_DIR).join(tree_name),
        },
        image: &info,
    };
    let text = toml::to_string(&file).map_err(|e| invalid(format!("writing the manifest: {e}")))?;
    let text = format!(
        "# Written by `vsbx runner add {} --image {}`; remove with `vsbx runner rm {}`.\n{text}",
        request.name, info.source, request.name
    );
    fs::create_dir(&dir).map_err(BundleError::io("creating", &dir))?;
    let manifest = dir.join(MANIFEST_NAME);
    let written = fs::write(&manifest, text)
        .map_err(BundleError::io("writing", &manifest))
        .and_then(|()| Runner::load(&manifest));
    match written {
        Ok(runner) => Ok((runner, image)),
        Err(e) => {
            let _ = fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

/// What `remove_runner` removed.
#[derive(Clone, Debug)]
pub struct Removed {
    pub manifest: PathBuf,
    /// The cached tree, when no other runner used it.
    pub tree: Option<PathBuf>,
}

/// Removes the image runner NAME of `catalog_dir` and its cached tree when no other runner
/// uses it. Runners of other kinds are refused (they are files of the project).
pub fn remove_runner(catalog_dir: &Path, name: &str) -> Result<Removed> {
    let catalog = RunnerCatalog::load_dir(catalog_dir)?;
    let runner = catalog.get(name)?;
    let Rootfs::Image { tree, .. } = &runner.rootfs else {
        return Err(BundleError::flag(
            "runner rm",
            name,
            format!(
                "is a {} runner, not one made by `runner add --image`; remove {} by hand",
                source_kind(runner),
                runner.manifest.display()
            ),
        ));
    };
    let dir = runner
        .manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    fs::remove_dir_all(&dir).map_err(BundleError::io("removing", &dir))?;
    let shared = catalog.runners().any(|other| {
        other.name != name && matches!(&other.rootfs, Rootfs::Image { tree: t, .. } if t == tree)
    });
    let mut removed_tree = None;
    if !shared && tree.is_dir() {
        fs::remove_dir_all(tree).map_err(BundleError::io("removing", tree))?;
        removed_tree = Some(tree.clone());
    }
    Ok(Removed {
        manifest: runner.manifest.clone(),
        tree: removed_tree,
    })
}
