//! Typed errors of the bundle generator. Each message is one line that names the offending
//! input (the runner, the flag and its value, the file or directory).

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = BundleError> = std::result::Result<T, E>;

/// Everything that can go wrong while loading runners or generating a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read runner manifest {path}: {source}")]
    ReadManifest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Bad TOML, a missing key or an unknown key; the message carries line and column.
    #[error("{path}: {message}")]
    ParseManifest { path: PathBuf, message: String },

    /// An image that cannot be read or unpacked.
    #[error("image {image}: {message}")]
    Image { image: PathBuf, message: String },

    #[error("{path}: {key}: {message}")]
    InvalidManifest {
        path: PathBuf,
        key: String,
        message: String,
    },

    /// None of the places a runner directory is looked for exists.
    #[error("no runner directory: {looked} (set ${env} or pass --runners DIR)", env = crate::RunnerCatalog::ENV_VAR)]
    NoRunnerDir { looked: String },

    #[error("cannot read the runner directory {path}: {source}")]
    ReadRunners {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("two runners are named `{name}`: {first} and {second}")]
    DuplicateRunner {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("runners `{first}` and `{second}` both claim the extension `.{extension}`")]
    DuplicateExtension {
        extension: String,
        first: String,
        second: String,
    },

    #[error("unknown runner `{name}`; the runners are: {known}")]
    UnknownRunner { name: String, known: String },

    #[error(
        "no runner for `{file}` (extension {extension}); pass --runner or use one of: {known}"
    )]
    UnknownExtension {
        file: PathBuf,
        extension: String,
        known: String,
    },

    #[error("no input file: give the user's program as FILE")]
    NoFiles,

    #[error("input file {path}: {message}")]
    InputFile { path: PathBuf, message: String },

    #[error("two input files are both named `{name}` in /work")]
    DuplicateInputName { name: String },

    #[error("{flag} {value}: {message}")]
    InvalidFlag {
        flag: &'static str,
        value: String,
        message: String,
    },

    #[error("runner `{runner}`: rootfs {path} does not exist{hint}")]
    MissingRootfs {
        runner: String,
        path: PathBuf,
        hint: String,
    },

    #[error("runner `{runner}`: bind source {path} does not exist")]
    MissingBindSource { runner: String, path: PathBuf },

    #[error("bundle directory {path}: {message}")]
    BundleDir { path: PathBuf, message: String },

    #[error("--output {path}: {message}")]
    OutputDir { path: PathBuf, message: String },

    #[error("extracting {tarball} into {rootfs}: {message}")]
    Extract {
        tarball: PathBuf,
        rootfs: PathBuf,
        message: String,
    },

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Policy(#[from] vsbx_policy::PolicyError),

    #[error("building the OCI configuration: {0}")]
    Oci(#[from] oci_spec::OciSpecError),

    #[error("serializing the OCI configuration: {0}")]
    Json(#[from] serde_json::Error),
}

impl BundleError {
    /// An I/O error on `path` while doing `action` ("creating", "copying", ...).
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BundleError {
        let path = path.into();
        move |source| BundleError::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn flag(
        flag: &'static str,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> BundleError {
        BundleError::InvalidFlag {
            flag,
            value: value.into(),
            message: message.into(),
        }
    }
}
