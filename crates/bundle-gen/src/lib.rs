//! vsbx-bundle-gen: a language runner + a policy profile + limits + the user's files -> an OCI
//! bundle (`config.json` and `rootfs/`) that runs unchanged under runc or vsbx-runtime.
//!
//! ```no_run
//! use vsbx_bundle_gen::{generate, BundleRequest, RunnerCatalog, StepKind};
//!
//! let catalog = RunnerCatalog::load_dir(RunnerCatalog::default_dir()?)?;
//! let mut request = BundleRequest::new("/tmp/b", vec!["hello.py".into()]);
//! request.limits.memory_bytes = Some(64 << 20);
//! let bundle = generate(&request, &catalog)?;
//! for step in bundle.steps() {
//!     // runc run --bundle step.bundle_dir ID; stop at a failed StepKind::Build
//!     let _ = (step.kind == StepKind::Build, step.bundle_dir);
//! }
//! # Ok::<(), vsbx_bundle_gen::BundleError>(())
//! ```

mod args;
mod bundle;
mod error;
mod image;
mod request;
mod rootfs;
mod runner;
mod spec;

pub use args::RequestArgs;
pub use bundle::{
    generate, BuildPlan, Bundle, Step, StepKind, ARTIFACTS_NAME, BUILD_BUNDLE_NAME, CONFIG_NAME,
    ROOTFS_NAME,
};
pub use error::{BundleError, Result};
pub use image::{
    detect_format, tree_size, unpack_image, ImageConfigHints, ImageFormat, UnpackedImage,
    IMAGE_CACHE_DIR,
};
pub use request::{
    parse_cpus, parse_duration, parse_env, parse_mount, parse_pids, parse_size, BundleRequest,
    EnvVar, LimitOverrides, NetworkMode, PolicySource, UserMount, UserNamespace,
};
pub use rootfs::{open_input, remove_tree};
pub use runner::{
    add_image_runner, expand, remove_runner, source_kind, Bind, BuildStep, ImageInfo,
    ImageRunnerRequest, Launch, Removed, Rootfs, Runner, RunnerCatalog, BUILD_DIR, MANIFEST_NAME,
    WORK_DIR,
};
pub use spec::{
    base_spec, merged_env, ANNOTATION_KIND, ANNOTATION_NETWORK, ANNOTATION_RUNNER,
    ANNOTATION_TIMEOUT, HOSTNAME, OCI_VERSION,
};
