//! The command line: runc's commands, flags and defaults.

pub mod output;
pub mod update;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use vsbx_runtime::container::CreateOptions;

pub use update::UpdateArgs;

#[derive(Parser, Debug)]
#[command(name = "vsbx-runtime", about = "A runc-compatible OCI runtime built for running untrusted code", version = VERSION, disable_version_flag = true)]
pub struct Cli {
    /// Directory for container state [default: /run/vsbx; rootless: $XDG_RUNTIME_DIR/vsbx].
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write log lines (errors, warnings, debug) to this file.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of log lines.
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Also log debug lines.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Put the container's cgroup in a transient systemd scope (cgroup v2 only).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Cgroups as for a user without root: true, false or auto (detect) [default: auto].
    /// true: use only cgroups this user may write, run without them otherwise; false: a
    /// cgroup that cannot be made or programmed is an error.
    // Before the command only (as in runc): `spec --rootless` is spec's own flag.
    #[arg(long, value_name = "true|false|auto")]
    pub rootless: Option<String>,
    /// Accepted for compatibility with runc (its checkpoint/restore helper); ignored.
    #[arg(long, global = true, value_name = "PATH", hide = true)]
    pub criu: Option<PathBuf>,
    /// Print the version.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The value of --rootless: `Some(true)`, `Some(false)`, or `None` for auto (also when the
/// flag is absent or empty). Takes the spellings runc takes (Go's boolean forms: 1, t,
/// TRUE, 0, f, False, ...; "auto" in any case).
pub fn parse_rootless(value: Option<&str>) -> Result<Option<bool>, String> {
    let Some(v) = value else { return Ok(None) };
    match v {
        "" => Ok(None),
        _ if v.eq_ignore_ascii_case("auto") => Ok(None),
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Some(true)),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Some(false)),
        _ => Err(format!("--rootless {v:?}: expected true, false or auto")),
    }
}

pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\nspec: ", "1.2.0");

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Container ID.
    pub id: String,
    /// Path to the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket to send the pty master to (process.terminal).
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the init's pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3 to 3+N-1) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
}

impl CreateArgs {
    /// The options for `create`; `systemd_cgroup` is the global --systemd-cgroup and
    /// `rootless_cgroups` the global --rootless (None: auto).
    pub fn options(&self, systemd_cgroup: bool, rootless_cgroups: Option<bool>) -> CreateOptions {
        CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            stdio: None,
            systemd_cgroup,
            rootless_cgroups,
            keep_dirs: Vec::new(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Print the state of a container as JSON.
    State { id: String },
    /// Send a signal (default SIGTERM) to the container's init.
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        /// Signal every process in the container.
        #[arg(short = 'a', long)]
        all: bool,
    },
    /// Delete a container and everything it holds.
    Delete {
        id: String,
        /// Kill a running container first.
        #[arg(short = 'f', long)]
        force: bool,
    },
    /// Create and start a container; wait for it unless --detach.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return after start instead of waiting.
        #[arg(short = 'd', long)]
        detach: bool,
        /// Accepted for compatibility with runc (keep the container after exit); ignored.
        #[arg(long, hide = true)]
        keep: bool,
        /// Accepted for compatibility with runc: vsbx never makes itself a subreaper.
        #[arg(long = "no-subreaper", hide = true)]
        no_subreaper: bool,
    },
    /// List containers.
    List {
        #[arg(short = 'f', long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Print only IDs.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Write a default config.json.
    Spec {
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// A spec for a user without root: a user namespace mapped to the caller.
        #[arg(long)]
        rootless: bool,
    },
    /// Print what this runtime implements as JSON.
    Features,
    /// Run a new process inside a running container.
    Exec(ExecArgs),
    /// List the processes of a container.
    Ps {
        #[arg(short = 'f', long, value_enum, default_value = "table")]
        format: ListFormat,
        /// The container ID, then arguments for ps(1) in table format (default -ef):
        /// everything after the ID goes to ps, as runc takes it (`ps ID -ef`); a `--`
        /// right after the ID is dropped.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ID [PS OPTIONS]"
        )]
        args: Vec<String>,
    },
    /// Freeze every process of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Change the resource limits of a container.
    Update(UpdateArgs),
    /// Print resource usage and OOM events as JSON lines.
    Events {
        id: String,
        /// Print one stats event and exit.
        #[arg(long)]
        stats: bool,
        /// Time between stats events (e.g. 5s, 500ms).
        #[arg(long, default_value = "5s")]
        interval: String,
    },
}

/// `ps`'s positional words as (ID, ps options): the first is the ID, the rest go to
/// ps(1), except a `--` right after the ID (vsbx took ps options only after one before).
pub fn ps_split(mut args: Vec<String>) -> Result<(String, Vec<String>), &'static str> {
    if args.is_empty() {
        return Err("ps: no container ID given");
    }
    let id = args.remove(0);
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    Ok((id, args))
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    pub id: String,
    /// The command and its arguments (unless --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A process.json to run instead of COMMAND.
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Return once the process runs.
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), repeatable.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// UID[:GID] to run as.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Supplementary group, repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Add a capability, repeatable.
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// SELinux label of the process (applied where SELinux is enabled).
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile for the process (applied where AppArmor is enabled).
    #[arg(long = "apparmor")]
    pub apparmor: Option<String>,
    /// Allow exec in a paused container (the process stays frozen until resume).
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Run the process in an existing sub-cgroup: [CONTROLLER[,CONTROLLER]:]PATH, repeatable.
    #[arg(long = "cgroup")]
    pub cgroup: Vec<String>,
}

impl ExecArgs {
    /// What `exec` runs with, from these flags.
    pub fn into_options(self) -> vsbx_runtime::exec::ExecOptions {
        vsbx_runtime::exec::ExecOptions {
            id: self.id,
            process_file: self.process,
            args: self.command,
            tty: self.tty,
            console_socket: self.console_socket,
            detach: self.detach,
            pid_file: self.pid_file,
            env: self.env,
            cwd: self.cwd,
            user: self.user,
            additional_gids: self.additional_gids,
            caps: self.cap,
            no_new_privs: self.no_new_privs,
            preserve_fds: self.preserve_fds,
            apparmor: self.apparmor,
            process_label: self.process_label,
            ignore_paused: self.ignore_paused,
            sub_cgroups: self.cgroup,
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootless_takes_runcs_spellings() {
        for v in ["true", "TRUE", "True", "t", "T", "1"] {
            assert_eq!(parse_rootless(Some(v)), Ok(Some(true)), "{v}");
        }
        for v in ["false", "FALSE", "False", "f", "F", "0"] {
            assert_eq!(parse_rootless(Some(v)), Ok(Some(false)), "{v}");
        }
        for v in [None, Some(""), Some("auto"), Some("AUTO"), Some("Auto")] {
            assert_eq!(parse_rootless(v), Ok(None), "{v:?}");
        }
        let e = parse_rootless(Some("yes")).unwrap_err();
        assert_eq!(e, "--rootless \"yes\": expected true, false or auto");
    }

    #[test]
    fn global_rootless_and_criu_parse_before_the_command() {
        let cli = Cli::try_parse_from([
            "vsbx-runtime",
            "--rootless",
            "false",
            "--criu",
            "/usr/sbin/criu",
            "list",
        ])
        .unwrap();
        assert_eq!(cli.rootless.as_deref(), Some("false"));
        assert!(matches!(cli.command, Some(Command::List { .. })));
        // `spec --rootless` stays spec's own switch.
        let cli = Cli::try_parse_from(["vsbx-runtime", "spec", "--rootless"]).unwrap();
        assert!(cli.rootless.is_none());
        assert!(matches!(
            cli.command,
            Some(Command::Spec { rootless: true, .. })
        ));
    }

    /// `ps ARGS...` as parsed: (id, format is json, ps options).
    fn ps(args: &[&str]) -> (String, bool, Vec<String>) {
        let mut argv = vec!["vsbx-runtime", "ps"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Some(Command::Ps { format, args }) => {
                let (id, ps_args) = ps_split(args).unwrap();
                (id, matches!(format, ListFormat::Json), ps_args)
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn ps_options_follow_the_id_as_in_runc() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(ps(&["c1"]), ("c1".into(), false, v(&[])));
        assert_eq!(ps(&["c1", "-ef"]), ("c1".into(), false, v(&["-ef"])));
        assert_eq!(
            ps(&["c1", "-o", "pid,comm"]),
            ("c1".into(), false, v(&["-o", "pid,comm"]))
        );
        // After the ID even -f is ps's (its full format), as runc passes it on.
        assert_eq!(ps(&["c1", "-f"]), ("c1".into(), false, v(&["-f"])));
        assert_eq!(ps(&["-f", "json", "c1"]), ("c1".into(), true, v(&[])));
        assert_eq!(
            ps(&["--format", "table", "c1", "aux"]),
            ("c1".into(), false, v(&["aux"]))
        );
        // `--` before or right after the ID.
        assert_eq!(ps(&["c1", "--", "-ef"]), ("c1".into(), false, v(&["-ef"])));
        assert_eq!(ps(&["--", "c1", "-ef"]), ("c1".into(), false, v(&["-ef"])));
    }
}
