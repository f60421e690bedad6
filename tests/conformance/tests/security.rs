//! Security invariants, one test per invariant, each tied to a known class of runtime escape.
//! Both runtimes must hold every one of them.

use serde_json::json;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use vsbx_conformance::*;

/// The fd numbers in a `ls /proc/self/fd` listing.
fn fds(listing: &str) -> Vec<u32> {
    let mut v: Vec<u32> = listing
        .split_whitespace()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("fd listing: {listing:?}"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn no_host_fd_and_cwd_inside_for_init_and_exec() {
    // CVE-2024-21626 class: a runtime fd (e.g. of /sys/fs/cgroup) leaked into the container, or
    // a cwd left outside the rootfs, hands the container the host's filesystem.
    let rt = Runtime::new("fd-leak");
    let mut b = Bundle::new("fd-leak");
    let out = b.out_dir();
    b.config()["process"]["cwd"] = json!("/etc");
    // `ls` lists its own fds: 0, 1, 2 and the one it reads the directory with.
    b.sh(
        "ls /proc/self/fd > /out/fds; ls -l /proc/self/fd > /out/fds-long; \
          readlink /proc/self/cwd > /out/cwd; echo ready > /out/ready; exec sleep 1000",
    );
    let id = unique_id("fd-leak");
    let pid = rt.create_and_start(&id, &b);
    let ready = out.join("ready");
    assert!(wait_until(|| ready.exists()), "the init never got ready");
    assert_eq!(
        fds(&b.read_out("fds")),
        [0, 1, 2, 3],
        "the init's process holds only stdio: {}",
        b.read_out("fds-long")
    );
    assert_eq!(b.read_out("cwd"), "/etc\n");

    // The init itself (now `sleep`), seen from an exec'd process.
    let o = rt.exec(&[
        "exec",
        &id,
        "sh",
        "-c",
        "ls /proc/1/fd; echo --; readlink /proc/1/cwd",
    ]);
    o.assert_ok();
    let (init_fds, init_cwd) = o.stdout.split_once("--\n").unwrap();
    assert_eq!(fds(init_fds), [0, 1, 2], "{o}");
    assert_eq!(init_cwd, "/etc\n", "{o}");
    // And from the host: the init's cwd is the rootfs's /etc.
    // From the host the link reads as the path inside the container's root (a cwd outside it
    // would show a host path).
    let host_cwd = fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(
        host_cwd,
        Path::new("/etc"),
        "the init's cwd seen from the host"
    );

    // exec'd processes: no fd of the runtime, cwd inside (the config's, or --cwd).
    for (flags, want) in [(&[][..], "/etc"), (&["--cwd", "/usr"][..], "/usr")] {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[
            &id,
            "sh",
            "-c",
            "ls /proc/self/fd; echo --; readlink /proc/self/cwd; readlink /proc/$$/cwd",
        ]);
        let o = rt.exec(&args);
        o.assert_ok();
        let (exec_fds, cwd) = o.stdout.split_once("--\n").unwrap();
        assert_eq!(fds(exec_fds), [0, 1, 2, 3], "exec {flags:?}: {o}");
        assert_eq!(cwd, format!("{want}\n{want}\n"), "exec {flags:?}: {o}");
    }
    rt.delete_force(&id).assert_ok();
    rt.assert_gone(&id, &b, Some(pid));
}

/// Length and hash of the content behind `file`, read from the start. Hashing through one open
/// file keeps to the same inode even if the path is replaced on the host meanwhile (a rebuild),
/// while a write through /proc/PID/exe changes that inode in place.
fn file_hash(file: &mut fs::File) -> (u64, u64) {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.read_to_end(&mut bytes)
        .expect("read the runtime binary");
    let mut h = DefaultHasher::new();
    h.write(&bytes);
    (bytes.len() as u64, h.finish())
}

/// Shell: print `WHAT ok` or `WHAT denied` for whether `CMD` succeeded.
const TRY: &str = "t() { w=$1; shift; if ( \"$@\" ) >/dev/null 2>&1; then echo \"$w ok\"; else echo \"$w denied\"; fi; }; ";

#[test]
fn runtime_binary_is_out_of_reach_of_containers() {
    // CVE-2019-5736 class: a container process opens /proc/<runtime pid>/exe (the host's runtime
    // binary) and writes it, now or once the runtime has exited. Container B shares the pid
    // namespace of container A while A's init is still the runtime's process (created, not
    // started), and later while `exec` runs in A.
    let binary = runtime().canonicalize().unwrap();
    let mut binary_file = fs::File::open(&binary).unwrap();
    let before = file_hash(&mut binary_file);

    let rt = Runtime::new("exe");
    let mut a = Bundle::new("exe-a");
    a.args(&["sleep", "1000"]);
    let id_a = unique_id("exe-a");
    rt.create(&id_a, &a).assert_ok();
    let pid_a = rt.pid(&id_a);

    // B holds on to whatever it could open of /proc/1/exe until A has started (the init has
    // exec'd the user program, the runtime binary is no longer busy), then tries to write it.
    let mut b = Bundle::new("exe-b");
    let out_b = b.out_dir();
    b.set_namespace(json!({"type": "pid", "path": format!("/proc/{pid_a}/ns/pid")}));
    b.sh(&format!(
        "{TRY} readlink /proc/self/ns/pid > /out/ns; \
         cat /proc/1/stat >/dev/null && echo visible > /out/stat; \
         readlink /proc/1/exe > /out/exe-link 2>/dev/null; \
         {{ t read cat /proc/1/exe; \
           t append sh -c 'echo x >> /proc/1/exe'; \
           t root ls /proc/1/root/; \
           if (exec 3</proc/1/exe) 2>/dev/null; then exec 3</proc/1/exe; echo 'hold ok'; \
           else echo 'hold denied'; fi; }} > /out/phase1; \
         while [ ! -e /out/go ]; do sleep 0.05; done; \
         if [ -e /proc/self/fd/3 ]; then t write-held sh -c 'echo x >> /proc/self/fd/3'; \
         else echo 'write-held denied'; fi > /out/phase2"
    ));
    let id_b = unique_id("exe-b");
    rt.create_and_start(&id_b, &b);
    let phase1 = out_b.join("phase1");
    assert!(wait_until(
        || phase1.exists() && !b.read_out("phase1").is_empty()
    ));
    // Let the shell finish writing phase1 (it ends with the hold line).
    assert!(wait_until(|| b.read_out("phase1").contains("hold ")));
    assert_eq!(
        b.read_out("ns").trim(),
        ns_inode(&pid_a.to_string(), "pid"),
        "B is in A's pid namespace"
    );
    assert_eq!(
        b.read_out("stat"),
        "visible\n",
        "B sees A's init as its pid 1"
    );
    let phase1 = b.read_out("phase1");
    let link = fs::read_to_string(out_b.join("exe-link")).unwrap_or_default();
    assert_ne!(
        Path::new(link.trim()),
        binary.as_path(),
        "B resolved /proc/1/exe to the host's runtime binary: {phase1}"
    );
    assert!(phase1.contains("append denied"), "{phase1}");
    if is_runc() {
        // runc 1.1.5's created init has already dropped to the container's capabilities and is
        // dumpable, so B may open /proc/1/exe: it is runc's sealed, read-only copy of itself
        // (memfd or O_TMPFILE clone), not the host binary; writes through it fail.
    } else {
        // vsbx's init is the runtime itself (no re-exec, no copy), so it must not be dumpable
        // while it sits in the container's namespaces: nothing of it can be opened.
        for what in ["read", "root", "hold"] {
            assert!(
                phase1.contains(&format!("{what} denied")),
                "{what}: {phase1}"
            );
        }
        assert!(
            link.trim().is_empty(),
            "readlink /proc/1/exe must fail: {link}"
        );
    }

    rt.start(&id_a).assert_ok();
    assert!(
        wait_until(|| fs::read_link(format!("/proc/{pid_a}/exe"))
            .is_ok_and(|l| l == Path::new("/bin/busybox"))),
        "A's init exec'd its program"
    );
    fs::write(out_b.join("go"), "").unwrap();
    let phase2 = out_b.join("phase2");
    assert!(wait_until(
        || phase2.exists() && b.read_out("phase2").contains("write-held ")
    ));
    let phase2 = b.read_out("phase2");
    assert!(phase2.contains("write-held denied"), "{phase1}{phase2}");
    assert_eq!(
        file_hash(&mut binary_file),
        before,
        "the runtime binary on the host changed"
    );
    rt.delete_force(&id_b).assert_ok();
    rt.assert_gone(&id_b, &b, None);

    // During exec: B2 scans A's pid namespace for any process whose exe link it can follow
    // (readlink needs the same ptrace access as opening it); only the container's own binary
    // (busybox) may be reachable, and no exe may be written.
    let mut b2 = Bundle::new("exe-b2");
    let out2 = b2.out_dir();
    b2.set_namespace(json!({"type": "pid", "path": format!("/proc/{pid_a}/ns/pid")}));
    b2.sh(
        "n=0; touch /out/scanning; while [ ! -e /out/stop ]; do n=$((n+1)); \
         for p in /proc/[0-9]*; do [ \"$p\" = /proc/$$ ] && continue; \
         e=$(readlink $p/exe 2>/dev/null); \
         [ -n \"$e\" ] && echo \"$e $p\" >> /out/readable; \
         echo x >> $p/exe 2>/dev/null && echo \"$p\" >> /out/written; \
         done; done; echo $n > /out/rounds",
    );
    let id_b2 = unique_id("exe-b2");
    rt.create_and_start(&id_b2, &b2);
    assert!(
        wait_until(|| out2.join("scanning").exists()),
        "B2 never started"
    );
    for _ in 0..8 {
        rt.exec(&["exec", &id_a, "true"]).assert_ok();
    }
    fs::write(out2.join("stop"), "").unwrap();
    rt.wait_status(&id_b2, "stopped");
    let rounds: u32 = b2.read_out("rounds").trim().parse().unwrap();
    assert!(rounds > 0, "B2 scanned");
    assert!(
        !out2.join("written").exists(),
        "wrote an exe: {}",
        b2.read_out("written")
    );
    if out2.join("readable").exists() {
        let readable = b2.read_out("readable");
        for line in readable.lines() {
            let exe = line.split(' ').next().unwrap_or_default();
            assert_eq!(
                exe, "/bin/busybox",
                "B2 could open the exe of a non-container process: {line}"
            );
        }
    }
    rt.delete(&id_b2).assert_ok();
    rt.delete_force(&id_a).assert_ok();
    rt.assert_gone(&id_a, &a, Some(pid_a));
    assert_eq!(
        file_hash(&mut binary_file),
        before,
        "the runtime binary on the host changed"
    );
}

/// Removes a host directory tree made by a test, unless something is mounted in it.
struct HostDir(PathBuf);

impl Drop for HostDir {
    fn drop(&mut self) {
        if mounts_under(&self.0).is_empty() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn mount_through_a_symlink_in_the_middle_of_the_path_stays_in_rootfs() {
    // CVE-2021-30465 class: rootfs/abs -> /tmp/NAME and rootfs/rel -> ../../../../../tmp/NAME2;
    // mounts at /abs/b/c and /rel/b/c must land in rootfs/tmp/NAME{,2}/b/c, never in the host's
    // /tmp. A symlink swapped by a concurrent process is out of scope here.
    let tag = format!("{}", std::process::id());
    let host_abs = HostDir(PathBuf::from(format!("/tmp/vsbx-conf-mid-abs-{tag}")));
    let host_rel = HostDir(PathBuf::from(format!("/tmp/vsbx-conf-mid-rel-{tag}")));
    fs::create_dir_all(&host_abs.0).unwrap();
    fs::create_dir_all(&host_rel.0).unwrap();
    let src = TempDir::new("mid-src");
    fs::write(src.path().join("marker"), "from-source\n").unwrap();

    let mut b = Bundle::new("mid-symlink");
    b.out_dir();
    std::os::unix::fs::symlink(&host_abs.0, b.rootfs().join("abs")).unwrap();
    let rel_name = host_rel.0.file_name().unwrap().to_str().unwrap();
    std::os::unix::fs::symlink(
        format!("../../../../../../tmp/{rel_name}"),
        b.rootfs().join("rel"),
    )
    .unwrap();
    for dest in ["/abs/b/c", "/rel/b/c"] {
        b.add_mount(json!({
            "destination": dest,
            "type": "bind",
            "source": src.path(),
            "options": ["rbind", "ro"],
        }));
    }
    b.sh("cat /abs/b/c/marker /rel/b/c/marker; cat /proc/self/mountinfo > /out/mounts");
    let rt = Runtime::new("mid-symlink");
    let id = unique_id("mid-symlink");
    let out = rt.run(&id, &b, &[]);
    let host_created = [&host_abs.0, &host_rel.0]
        .iter()
        .filter(|d| d.join("b").exists())
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>();
    assert!(
        host_created.is_empty(),
        "the runtime created dirs on the host: {host_created:?}"
    );
    assert!(mounts_under(&host_abs.0).is_empty() && mounts_under(&host_rel.0).is_empty());
    if out.ok() {
        assert_eq!(out.stdout, "from-source\nfrom-source\n", "{out}");
        let seen: Vec<String> = parse_mountinfo(&b.read_out("mounts"))
            .into_iter()
            .map(|m| m.mount_point)
            .collect();
        for d in [&host_abs.0, &host_rel.0] {
            let want = format!("{}/b/c", d.display());
            assert!(
                seen.contains(&want),
                "mount at {want} inside the rootfs: {seen:?}"
            );
        }
        assert!(b.rootfs().join("tmp").join(rel_name).join("b/c").is_dir());
    } else {
        // Refusing the bundle is acceptable; doing it cleanly is required.
        out.assert_failed().assert_one_line_error();
    }
    rt.assert_gone(&id, &b, None);
}

/// The release_agent of every cgroup v1 hierarchy root on the host.
fn host_release_agents() -> Vec<(PathBuf, String)> {
    mountinfo()
        .into_iter()
        .filter(|m| m.fstype == "cgroup")
        .map(|m| {
            let p = PathBuf::from(&m.mount_point).join("release_agent");
            let v = fs::read_to_string(&p).unwrap_or_default();
            (p, v)
        })
        .collect()
}

#[test]
fn cgroup_release_agent_is_out_of_reach() {
    // CVE-2022-0492 class: with a cgroup namespace and the spec's default capabilities (no
    // CAP_SYS_ADMIN), the container cannot write any release_agent nor mount a cgroup v1
    // hierarchy of its own to reach one. A pure cgroup v2 host has no release_agent to
    // begin with, but a named v1 hierarchy (`-o none,name=...`) mounted by the container
    // would bring one: the mounts are what is tried there.
    let before = host_release_agents();
    let v2 = unified_host();
    assert!(v2 || !before.is_empty(), "a cgroup v1 host");
    let remount = if v2 {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/memory"
    };
    let rt = Runtime::new("release-agent");
    let mut b = Bundle::new("release-agent");
    b.set_namespace(json!({"type": "cgroup"}));
    b.sh(&format!(
        "{TRY} readlink /proc/self/ns/cgroup; \
         for f in /sys/fs/cgroup/memory/release_agent /sys/fs/cgroup/pids/release_agent \
                  $(find /sys/fs/cgroup -name release_agent 2>/dev/null); do \
           t \"write $f\" sh -c \"echo /x > $f\"; done; \
         t mount-memory mount -t cgroup -o memory cgroup /var; \
         t mount-none mount -t cgroup -o none,name=vsbxtest cgroup /var; \
         t remount mount -o remount,rw {remount}"
    ));
    let id = unique_id("release-agent");
    let out = rt.run_ok(&id, &b);
    let mut lines = out.lines();
    let ns = lines.next().unwrap_or_default();
    assert_ne!(
        ns,
        ns_inode("self", "cgroup"),
        "the container has its own cgroup namespace"
    );
    let results: Vec<&str> = lines.collect();
    assert!(results.len() >= 5, "{out}");
    for l in &results {
        assert!(l.ends_with(" denied"), "must be denied: {l}\n{out}");
    }
    assert_eq!(
        host_release_agents(),
        before,
        "the host's release_agents are unchanged"
    );
    rt.assert_gone(&id, &b, None);
}
