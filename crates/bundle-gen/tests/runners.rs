//! Runner manifests: the examples load, extensions map to runners, commands expand, and bad
//! manifests are refused with the file and key named.

mod common;

use std::path::Path;

use vsbx_bundle_gen::{expand, BundleError, Launch, Rootfs, Runner, RunnerCatalog};

#[test]
fn example_runners_load() {
    let catalog = common::example_catalog();
    assert_eq!(catalog.names(), ["go", "node", "python", "rust", "shell"]);
    let python = catalog.get("python").expect("python");
    assert_eq!(python.profile, "compute");
    assert!(
        matches!(&python.rootfs, Rootfs::HostBinds { paths } if paths.iter().any(|p| p == Path::new("/usr")))
    );
    assert!(!python.is_compiled());
    let rust = catalog.get("rust").expect("rust");
    assert!(rust.is_compiled());
    assert_eq!(rust.binds[0].destination, "/opt/rust");
    let shell = catalog.get("shell").expect("shell");
    assert!(
        matches!(&shell.rootfs, Rootfs::Directory { path, .. } if path.ends_with("shell/rootfs"))
    );
}

#[test]
fn extensions_map_to_runners() {
    let catalog = common::example_catalog();
    for (file, runner) in [
        ("a.py", "python"),
        ("b.js", "node"),
        ("c.MJS", "node"),
        ("d.sh", "shell"),
        ("e.rs", "rust"),
        ("dir/f.go", "go"),
    ] {
        assert_eq!(catalog.for_file(Path::new(file)).expect(file).name, runner);
    }
    let err = catalog.for_file(Path::new("x.cobol")).expect_err("unknown");
    assert!(matches!(err, BundleError::UnknownExtension { .. }));
    assert!(err.to_string().contains(".py (python)"), "{err}");
    assert!(catalog.for_file(Path::new("Makefile")).is_err());
    let err = catalog
        .get("cobol")
        .expect_err("unknown runner")
        .to_string();
    assert!(
        err.contains("unknown runner `cobol`") && err.contains("python"),
        "{err}"
    );
}

#[test]
fn commands_expand_placeholders() {
    let template: Vec<String> = ["cc", "-o", "{build}/main", "{file}", "{files}", "x{file}"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let files = vec!["/work/a.c".to_string(), "/work/b.c".to_string()];
    assert_eq!(
        expand(&template, &files),
        [
            "cc",
            "-o",
            "/build/main",
            "/work/a.c",
            "/work/a.c",
            "/work/b.c",
            "x/work/a.c"
        ]
    );
    let catalog = common::example_catalog();
    let go = catalog.get("go").expect("go");
    assert_eq!(go.run_args(&files), ["/build/main"]);
    let Launch::Compile { build, .. } = &go.launch else {
        panic!("go is compiled")
    };
    assert_eq!(build.limits.tmp_bytes, Some(256 << 20));
}

const GOOD: &str = r#"
name = "t"
extensions = ["t"]
profile = "io"
command = ["/bin/t", "{file}"]
[rootfs]
host = ["/usr"]
"#;

fn load(text: &str) -> Result<Runner, BundleError> {
    Runner::from_toml_str(text, Path::new("/runners/t/runner.toml"))
}

#[test]
fn bad_manifests_name_file_and_key() {
    assert!(load(GOOD).is_ok());
    let cases = [
        (
            GOOD.replace("profile", "colour = 1\nprofile"),
            "unknown field `colour`",
        ),
        (GOOD.replace("name = \"t\"", "name = \"a b\""), "name"),
        (
            GOOD.replace("\"{file}\"", "\"{input}\""),
            "unknown placeholder `{input}`",
        ),
        (
            GOOD.replace("\"{file}\"", "\"{build}\""),
            "unknown placeholder `{build}`",
        ),
        (
            GOOD.replace("\"{file}\"", "\"-f{files}\""),
            "`{files}` must be an argument of its own",
        ),
        (
            GOOD.replace("command = [\"/bin/t\", \"{file}\"]", "command = []"),
            "the command is empty",
        ),
        (
            GOOD.replace("command =", "build_command = [\"b\"]\ncommand ="),
            "give either `command`, or `build_command` and `entry_point`",
        ),
        (
            GOOD.replace("host = [\"/usr\"]", "host = [\"usr\"]"),
            "rootfs.host",
        ),
        (
            GOOD.replace("host = [\"/usr\"]", "host = [\"/usr\"]\ndirectory = \"r\""),
            "exactly one of",
        ),
        (
            GOOD.replace("command =", "env = [\"NOEQUALS\"]\ncommand ="),
            "env",
        ),
        (
            GOOD.replace("extensions = [\"t\"]", "extensions = [\".\"]"),
            "extension is empty",
        ),
        (
            format!("{GOOD}[[rootfs.bind]]\nsource = \"/usr\"\ndestination = \"rel\"\n"),
            "rootfs.bind.destination",
        ),
    ];
    for (text, expected) in cases {
        let err = load(&text).expect_err(expected).to_string();
        assert!(err.starts_with("/runners/t/runner.toml"), "{err}");
        assert!(err.contains(expected), "{expected:?} not in {err:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}

#[test]
fn compiled_manifest_defaults_and_limits() {
    let text = GOOD.replace(
        "command = [\"/bin/t\", \"{file}\"]",
        "build_command = [\"cc\", \"-o\", \"{build}/m\", \"{files}\"]\nentry_point = [\"{build}/m\"]\n[build_limits]\nmemory = \"1G\"\ncpus = 1.5",
    );
    // [build_limits] must come before [rootfs] in TOML order; move [rootfs] after it.
    let text = text.replace("[rootfs]\nhost = [\"/usr\"]\n", "") + "[rootfs]\nhost = [\"/usr\"]\n";
    let runner = load(&text).expect("compiled manifest");
    let Launch::Compile { build, entry_point } = &runner.launch else {
        panic!("compiled")
    };
    assert_eq!(build.profile, "compute");
    assert_eq!(build.limits.memory_bytes, Some(1 << 30));
    assert_eq!(build.limits.cpu_millis, Some(1500));
    assert_eq!(entry_point, &["{build}/m"]);
    let bad = text.replace("memory = \"1G\"", "memory = \"lots\"");
    let err = load(&bad).expect_err("bad size").to_string();
    assert!(err.contains("build_limits.memory"), "{err}");
}

#[test]
fn catalog_refuses_duplicates_and_missing_dirs() {
    let mut catalog = RunnerCatalog::default();
    catalog.add(load(GOOD).expect("good")).expect("first");
    assert!(matches!(
        catalog.add(load(GOOD).expect("good")),
        Err(BundleError::DuplicateRunner { .. })
    ));
    let other = load(&GOOD.replace("name = \"t\"", "name = \"u\"")).expect("u");
    let err = catalog.add(other).expect_err("same extension").to_string();
    assert!(err.contains("`.t`"), "{err}");
    let err = RunnerCatalog::load_dir("/no/such/vsbx/runners")
        .expect_err("missing")
        .to_string();
    assert!(err.contains("/no/such/vsbx/runners"), "{err}");
}

/// The runner directory beside an installed binary comes before the source tree's, which is
/// only the fallback of a development build. (Runs with `$VSBX_RUNNERS` unset, as cargo
/// test does unless the caller sets it.)
#[test]
fn runner_dir_is_found_beside_the_executable_then_in_the_source_tree() {
    if std::env::var_os(RunnerCatalog::ENV_VAR).is_some() {
        return;
    }
    let prefix = tempfile::tempdir().expect("tempdir");
    let exe = prefix.path().join("bin/vsbx");
    let source = RunnerCatalog::find_dir(Some(&exe)).expect("the source tree's runners");
    assert!(source.ends_with("examples/bundles/runners"), "{source:?}");
    assert!(!source.to_string_lossy().contains(".."), "{source:?}");
    let installed = prefix.path().join("share/vsbx/runners");
    std::fs::create_dir_all(&installed).expect("mkdir");
    assert_eq!(
        RunnerCatalog::find_dir(Some(&exe)).expect("found"),
        installed
    );
    assert_eq!(
        RunnerCatalog::find_dir(None).expect("source tree"),
        source,
        "no executable path: the source tree"
    );
}

/// A bind marked `optional` is left out where its source is missing; without the mark the
/// same manifest is refused with the runner and the path named.
#[test]
fn optional_binds_are_skipped_when_the_source_is_missing() {
    let present = tempfile::tempdir().expect("tempdir");
    let manifest = |optional: bool| {
        format!(
            "{GOOD}[[rootfs.bind]]\nsource = \"/no/such/vsbx-toolchain\"\ndestination = \"/opt/a\"\n\
             optional = {optional}\n[[rootfs.bind]]\nsource = \"{}\"\ndestination = \"/opt/b\"\n\
             optional = true\n",
            present.path().display()
        )
    };
    let generate = |text: String| {
        let mut catalog = RunnerCatalog::default();
        catalog
            .add(load(&text).expect("manifest loads"))
            .expect("add");
        let work = common::Workspace::new();
        let request = work.request("x.t", "echo\n");
        vsbx_bundle_gen::generate(&request, &catalog)
            .map(|_| common::config_json(&work.bundle_dir()))
    };
    let config = generate(manifest(true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(common::mount_at(&config, "/opt/a").is_none(), "{config}");
    let b = common::mount_at(&config, "/opt/b").expect("the present optional bind is mounted");
    assert_eq!(b["source"], present.path().to_str().unwrap());
    let err = generate(manifest(false))
        .expect_err("a missing required bind")
        .to_string();
    assert!(
        err.contains("runner `t`") && err.contains("/no/such/vsbx-toolchain does not exist"),
        "{err}"
    );
}
