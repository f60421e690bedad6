//! vsbx-runtime: command line compatible with runc.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use vsbx_runtime::container::{self, CreateOptions};
use vsbx_runtime::exec::{self, ExecOptions};
use vsbx_runtime::log::{Format, Logger};
use vsbx_runtime::state::Root;
use vsbx_runtime::{control, features, specgen, Error, Result};

#[derive(Parser, Debug)]
#[command(name = "vsbx-runtime", about = "A runc-compatible OCI runtime built for running untrusted code", version = VERSION, disable_version_flag = true)]
struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/vsbx")]
    root: PathBuf,
    /// Write log lines (errors, warnings, debug) to this file.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Format of log lines.
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Also log debug lines.
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd to manage cgroups (accepted for compatibility; see the error).
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Print the version.
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\nspec: ", "1.2.0");

#[derive(Copy, Clone, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct CreateArgs {
    /// Container ID.
    id: String,
    /// Path to the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// Unix socket to send the pty master to (process.terminal).
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// File to write the init's pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Do not create a new session keyring.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N extra file descriptors (3 to 3+N-1) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
}

impl CreateArgs {
    fn options(&self) -> CreateOptions {
        CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            stdio: None,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
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
        id: String,
        #[arg(short = 'f', long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Arguments for ps(1) in table format (default -ef).
        #[arg(last = true)]
        ps_args: Vec<String>,
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

#[derive(Args, Debug)]
struct UpdateArgs {
    id: String,
    /// A JSON file with linux.resources ("-" for stdin); the flags below override it.
    #[arg(short = 'r', long)]
    resources: Option<PathBuf>,
    #[arg(long = "memory")]
    memory: Option<String>,
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long = "kernel-memory")]
    kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp")]
    kernel_memory_tcp: Option<String>,
    #[arg(long = "cpu-shares", alias = "cpu-share")]
    cpu_shares: Option<u64>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
}

impl UpdateArgs {
    fn resources(&self) -> Result<oci_spec::runtime::LinuxResources> {
        use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
        let mut r: LinuxResources = match &self.resources {
            Some(p) => {
                let text = if p.as_os_str() == "-" {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .map_err(|e| Error::os("reading stdin", e))?;
                    s
                } else {
                    std::fs::read_to_string(p)
                        .map_err(|e| Error::path("--resources: cannot read", p, e))?
                };
                let de = &mut serde_json::Deserializer::from_str(&text);
                serde_path_to_error::deserialize(de).map_err(|e| {
                    Error::invalid(format!("--resources: field {}: {}", e.path(), e.inner()))
                })?
            }
            None => LinuxResources::default(),
        };
        let bytes = |v: &Option<String>| v.as_deref().map(control::parse_bytes).transpose();
        let (limit, reservation, swap, kernel, kernel_tcp) = (
            bytes(&self.memory)?,
            bytes(&self.memory_reservation)?,
            bytes(&self.memory_swap)?,
            bytes(&self.kernel_memory)?,
            bytes(&self.kernel_memory_tcp)?,
        );
        if limit.is_some()
            || reservation.is_some()
            || swap.is_some()
            || kernel.is_some()
            || kernel_tcp.is_some()
        {
            let mut m = r.memory().clone().unwrap_or(LinuxMemory::default());
            if limit.is_some() {
                m.set_limit(limit);
            }
            if reservation.is_some() {
                m.set_reservation(reservation);
            }
            if swap.is_some() {
                m.set_swap(swap);
            }
            if kernel.is_some() {
                m.set_kernel(kernel);
            }
            if kernel_tcp.is_some() {
                m.set_kernel_tcp(kernel_tcp);
            }
            r.set_memory(Some(m));
        }
        let cpu_set = self.cpu_shares.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_period.is_some()
            || self.cpu_rt_period.is_some()
            || self.cpu_rt_runtime.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some();
        if cpu_set {
            let mut c = r.cpu().clone().unwrap_or(LinuxCpu::default());
            if self.cpu_shares.is_some() {
                c.set_shares(self.cpu_shares);
            }
            if self.cpu_quota.is_some() {
                c.set_quota(self.cpu_quota);
            }
            if self.cpu_period.is_some() {
                c.set_period(self.cpu_period);
            }
            if self.cpu_rt_period.is_some() {
                c.set_realtime_period(self.cpu_rt_period);
            }
            if self.cpu_rt_runtime.is_some() {
                c.set_realtime_runtime(self.cpu_rt_runtime);
            }
            if self.cpuset_cpus.is_some() {
                c.set_cpus(self.cpuset_cpus.clone());
            }
            if self.cpuset_mems.is_some() {
                c.set_mems(self.cpuset_mems.clone());
            }
            r.set_cpu(Some(c));
        }
        if let Some(p) = self.pids_limit {
            let mut pids = LinuxPids::default();
            pids.set_limit(p);
            r.set_pids(Some(pids));
        }
        if let Some(w) = self.blkio_weight {
            let mut b = r.block_io().clone().unwrap_or(LinuxBlockIo::default());
            b.set_weight(Some(w));
            r.set_block_io(Some(b));
        }
        Ok(r)
    }
}

#[derive(Args, Debug)]
struct ExecArgs {
    id: String,
    /// The command and its arguments (unless --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
    /// A process.json to run instead of COMMAND.
    #[arg(short = 'p', long)]
    process: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Return once the process runs.
    #[arg(short = 'd', long)]
    detach: bool,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), repeatable.
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// UID[:GID] to run as.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Supplementary group, repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    /// Add a capability, repeatable.
    #[arg(short = 'c', long = "cap")]
    cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Accepted for compatibility; ignored (no SELinux/AppArmor support).
    #[arg(long = "process-label", hide = true)]
    process_label: Option<String>,
    #[arg(long = "apparmor", hide = true)]
    apparmor: Option<String>,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logger = Logger {
        file: cli.log.clone(),
        format: match cli.log_format {
            LogFormat::Text => Format::Text,
            LogFormat::Json => Format::Json,
        },
        debug: cli.debug,
    };
    match dispatch(cli, &logger) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            logger.error(&e.to_string());
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: Cli, logger: &Logger) -> Result<u8> {
    if cli.version {
        println!("vsbx-runtime version {VERSION}");
        return Ok(0);
    }
    let Some(command) = cli.command else {
        return Err(Error::invalid("no command given (see --help)"));
    };
    if cli.systemd_cgroup {
        return Err(Error::invalid(
            if std::path::Path::new("/run/systemd/system").exists() {
                "--systemd-cgroup: the systemd cgroup driver is not supported by this build; drop the flag"
            } else {
                "--systemd-cgroup: systemd is not running on this host; drop the flag"
            },
        ));
    }
    let root = Root::new(cli.root.clone());
    if !matches!(command, Command::Spec { .. } | Command::Features) {
        // runc makes --root (and its parents) for every container command.
        root.ensure()?;
    }
    logger.debug(&format!("command: {command:?}"));
    match command {
        Command::Create(a) => {
            container::create(&root, &a.options(), None)?;
        }
        Command::Start { id } => container::start(&root, &id)?,
        Command::State { id } => {
            let (rec, status) = container::state(&root, &id)?;
            print_json_pretty(&rec.public(status))?;
        }
        Command::Kill { id, signal, all } => {
            let sig = container::parse_signal(&signal)?;
            container::kill(&root, &id, sig, all)?;
        }
        Command::Delete { id, force } => container::delete(&root, &id, force)?,
        Command::Run {
            create,
            detach,
            keep: _,
        } => {
            let o = create.options();
            if detach {
                container::run_detached(&root, &o)?;
            } else {
                let code = container::run_attached(&root, &o)?;
                return Ok(code.clamp(0, 255) as u8);
            }
        }
        Command::List { format, quiet } => list(&root, format, quiet)?,
        Command::Spec { bundle, rootless } => write_spec(&bundle, rootless)?,
        Command::Features => print_json_pretty(&features::features())?,
        Command::Exec(a) => {
            if a.process_label.as_deref().is_some_and(|s| !s.is_empty())
                || a.apparmor.as_deref().is_some_and(|s| !s.is_empty())
            {
                return Err(Error::invalid(
                    "exec: --process-label and --apparmor are not supported by this build",
                ));
            }
            let o = ExecOptions {
                id: a.id,
                process_file: a.process,
                args: a.command,
                tty: a.tty,
                console_socket: a.console_socket,
                detach: a.detach,
                pid_file: a.pid_file,
                env: a.env,
                cwd: a.cwd,
                user: a.user,
                additional_gids: a.additional_gids,
                caps: a.cap,
                no_new_privs: a.no_new_privs,
                preserve_fds: a.preserve_fds,
            };
            let code = exec::exec(&root, &o)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Ps {
            id,
            format,
            ps_args,
        } => {
            let pids = control::pids(&root, &id)?;
            match format {
                ListFormat::Json => println!(
                    "{}",
                    serde_json::to_string(&pids).unwrap_or_else(|_| "[]".into())
                ),
                ListFormat::Table => print!("{}", control::ps_table(&pids, &ps_args)?),
            }
        }
        Command::Pause { id } => control::pause(&root, &id)?,
        Command::Resume { id } => control::resume(&root, &id)?,
        Command::Events {
            id,
            stats,
            interval,
        } => {
            let every = humantime::parse_duration(&interval)
                .map_err(|e| Error::invalid(format!("--interval {interval:?}: {e}")))?;
            if every.is_zero() {
                return Err(Error::invalid("--interval must be above zero"));
            }
            vsbx_runtime::events::events(&root, &id, every, stats)?;
        }
        Command::Update(a) => {
            for w in control::update(&root, &a.id, &a.resources()?)? {
                logger.warn(&w);
            }
        }
    }
    Ok(0)
}

fn print_json_pretty<T: serde::Serialize>(v: &T) -> Result<()> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| Error::other(format!("encoding JSON: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| Error::os("writing to stdout", e))
}

fn owner_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

fn list(root: &Root, format: ListFormat, quiet: bool) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let entries = root.list()?;
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| Error::os("writing to stdout", e);
    if quiet {
        for (_, rec) in &entries {
            writeln!(out, "{}", rec.id).map_err(w)?;
        }
        return Ok(());
    }
    let rows: Vec<(serde_json::Value, [String; 6])> = entries
        .iter()
        .map(|(dir, rec)| {
            let status = rec.status(dir);
            let owner = std::fs::metadata(dir)
                .map(|m| owner_name(m.uid()))
                .unwrap_or_default();
            let mut v = serde_json::to_value(rec.public(status)).unwrap_or_default();
            v["owner"] = serde_json::Value::String(owner.clone());
            let pid = v["pid"].to_string();
            let cols = [
                rec.id.clone(),
                pid,
                status.as_str().to_owned(),
                rec.bundle.display().to_string(),
                rec.created.clone(),
                owner,
            ];
            (v, cols)
        })
        .collect();
    match format {
        ListFormat::Json => {
            let list: Vec<&serde_json::Value> = rows.iter().map(|(v, _)| v).collect();
            // runc prints `null` for no containers.
            let text = if list.is_empty() {
                "null".to_owned()
            } else {
                serde_json::to_string(&list).unwrap_or_default()
            };
            writeln!(out, "{text}").map_err(w)?;
        }
        ListFormat::Table => {
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(str::to_owned);
            let all: Vec<&[String; 6]> = std::iter::once(&header)
                .chain(rows.iter().map(|(_, c)| c))
                .collect();
            // Like Go's tabwriter(minwidth 12, padding 3): each column as wide as its
            // widest cell plus 3, at least 12; the last column unpadded.
            let widths: Vec<usize> = (0..6)
                .map(|i| {
                    all.iter()
                        .map(|r| r[i].len() + 3)
                        .max()
                        .unwrap_or(0)
                        .max(12)
                })
                .collect();
            for r in all {
                let mut line = String::new();
                for i in 0..5 {
                    line.push_str(&format!("{:<w$}", r[i], w = widths[i]));
                }
                line.push_str(&r[5]);
                writeln!(out, "{line}").map_err(w)?;
            }
        }
    }
    Ok(())
}

fn write_spec(bundle: &std::path::Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(Error::other("File config.json exists. Remove it first"));
    }
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let text = serde_json::to_string_pretty(&specgen::default_spec(rootless, uid, gid))
        .map_err(|e| Error::other(format!("encoding the spec: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::path("cannot write", &path, e))
}
