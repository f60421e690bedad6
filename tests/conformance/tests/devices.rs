//! /dev inside the container: the default devices and links, and linux.devices.

use serde_json::json;
use vsbx_conformance::*;

/// Runs `script` in a container made from `edit`ed default bundle; returns stdout.
fn run_script(name: &str, script: &str, edit: impl FnOnce(&mut Bundle)) -> String {
    let rt = Runtime::new(name);
    let mut b = Bundle::new(name);
    b.sh(script);
    edit(&mut b);
    let id = unique_id(name);
    let out = rt.run_ok(&id, &b);
    rt.assert_gone(&id, &b, None);
    out
}

#[test]
fn default_device_nodes() {
    // busybox stat: %F type, %t/%T major/minor in hex, %a octal mode.
    let out = run_script(
        "dev-nodes",
        "for d in null zero full random urandom tty; do stat -c '%n|%F|%t:%T|%a' /dev/$d; done",
        |_| {},
    );
    let want = [
        ("/dev/null", "1:3"),
        ("/dev/zero", "1:5"),
        ("/dev/full", "1:7"),
        ("/dev/random", "1:8"),
        ("/dev/urandom", "1:9"),
        ("/dev/tty", "5:0"),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), want.len(), "{out}");
    for (line, (path, numbers)) in lines.iter().zip(want) {
        assert_eq!(
            *line,
            format!("{path}|character special file|{numbers}|666")
        );
    }
}

#[test]
fn default_devices_work() {
    let out = run_script(
        "dev-use",
        "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; \
         head -c 8 /dev/urandom | wc -c; echo x > /dev/full 2>/dev/null || echo full-refused",
        |_| {},
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["null-ok", "4", "8", "full-refused"]
    );
}

#[test]
fn default_dev_links_and_dirs() {
    let out = run_script(
        "dev-links",
        "for l in ptmx fd stdin stdout stderr; do echo \"$l $(readlink /dev/$l)\"; done; \
         for d in pts shm mqueue; do [ -d /dev/$d ] && echo \"dir $d\"; done; \
         [ -c /dev/pts/ptmx ] && echo pts-ptmx",
        |_| {},
    );
    assert_eq!(
        out,
        "ptmx pts/ptmx\nfd /proc/self/fd\nstdin /proc/self/fd/0\nstdout /proc/self/fd/1\n\
         stderr /proc/self/fd/2\ndir pts\ndir shm\ndir mqueue\npts-ptmx\n"
    );
}

#[test]
fn dev_is_minimal() {
    // Nothing of the host's /dev leaks in (no disks, no /dev/mem, no /dev/kmsg).
    let out = run_script("dev-minimal", "ls -A /dev", |_| {});
    let mut names: Vec<&str> = out.split_whitespace().collect();
    names.sort();
    let mut want = vec![
        "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ];
    // Both runtimes link /dev/core to /proc/kcore where the kernel has one (the VM test
    // bed's Debian kernel does; this build machine's does not).
    if std::path::Path::new("/proc/kcore").exists() {
        want.insert(0, "core");
    }
    assert_eq!(names, want, "{out}");
}

#[test]
fn linux_devices_are_created() {
    let out = run_script(
        "dev-extra",
        "stat -c '%n|%F|%t:%T|%a|%u:%g' /dev/mynull /dev/myblock; \
         echo x > /dev/mynull && echo write-ok",
        |b| {
            b.config()["linux"]["devices"] = json!([
                {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 1000, "gid": 1001},
                {"path": "/dev/myblock", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 0},
            ]);
            // Access to a device also needs a device-cgroup rule (the default spec denies all
            // devices but the defaults).
            b.config()["linux"]["resources"]["devices"]
                .as_array_mut()
                .unwrap()
                .push(json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}));
        },
    );
    assert_eq!(
        out,
        "/dev/mynull|character special file|1:3|666|1000:1001\n\
         /dev/myblock|block special file|7:c8|600|0:0\nwrite-ok\n"
    );
}

#[test]
fn device_cgroup_denies_unlisted_devices() {
    // The default spec's resources.devices denies everything but the default devices. A
    // loop-control node (10:237, openable without any capability) is denied; /dev/zero (a
    // default) is not. (runc's defaults also allow tun, 10:200; vsbx's do not.)
    let script = [
        open_probe("/dev/myctl", "<"),
        open_probe("/dev/zero", "<"),
        open_probe("/dev/zero", ">"),
    ]
    .concat();
    let out = run_script("dev-deny", &script, |b| {
        b.config()["linux"]["devices"] = json!([{"path": "/dev/myctl", "type": "c", "major": 10, "minor": 237, "fileMode": 0o666}]);
    });
    assert_eq!(
        out,
        "/dev/myctl<denied\n/dev/zero<allowed\n/dev/zero>allowed\n"
    );
}

/// "allowed" or "denied" (EPERM from the device cgroup) for opening `path` with `redir`
/// ("<" to read, ">" to write) in busybox sh.
fn open_probe(path: &str, redir: &str) -> String {
    format!(
        "if msg=$( (exec 3{redir} {path}) 2>&1 ); then echo '{path}{redir}allowed'; \
         else case \"$msg\" in *'not permitted'*) echo '{path}{redir}denied';; \
         *) echo '{path}{redir}allowed';; esac; fi; "
    )
}

#[test]
fn linux_devices_need_a_device_cgroup_rule() {
    // A node listed in linux.devices is created, but using it is up to
    // linux.resources.devices: runc adds no rule for it. /dev/loop1 gets read access only.
    let script = [
        open_probe("/dev/loop0", "<"),
        open_probe("/dev/loop0", ">"),
        open_probe("/dev/loop1", "<"),
        open_probe("/dev/loop1", ">"),
    ]
    .concat();
    let out = run_script("dev-rule", &script, |b| {
        b.config()["linux"]["devices"] = json!([
            {"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0, "fileMode": 0o666},
            {"path": "/dev/loop1", "type": "b", "major": 7, "minor": 1, "fileMode": 0o666},
        ]);
        b.config()["linux"]["resources"]["devices"]
            .as_array_mut()
            .unwrap()
            .push(json!({"allow": true, "type": "b", "major": 7, "minor": 1, "access": "r"}));
    });
    assert_eq!(
        out,
        "/dev/loop0<denied\n/dev/loop0>denied\n/dev/loop1<allowed\n/dev/loop1>denied\n"
    );
}

/// A container with a user namespace of its own (root mapped to host 100000).
fn userns(b: &mut Bundle) {
    b.set_namespace(json!({"type": "user"}));
    b.config()["linux"]["uidMappings"] =
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config()["linux"]["gidMappings"] =
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

#[test]
fn linux_devices_in_a_user_namespace_bind_the_host_node_at_the_same_path() {
    // No mknod in a user namespace: the host's node is bound instead, and it is the one at
    // the device's own path. /dev/net/tun (10:200) is the host's /dev/net/tun, not a
    // /dev/tun (which this host does not have: vsbx once bound /dev/<file name> and failed).
    assert!(
        std::path::Path::new("/dev/net/tun").exists() && !std::path::Path::new("/dev/tun").exists(),
        "this test needs a host with /dev/net/tun and without /dev/tun"
    );
    let out = run_script(
        "dev-userns",
        "stat -c '%n|%F|%t:%T' /dev/net/tun /dev/null; [ -e /dev/tun ] || echo no-dev-tun",
        |b| {
            userns(b);
            b.config()["linux"]["devices"] = json!([{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200, "fileMode": 0o666}]);
        },
    );
    assert_eq!(
        out,
        "/dev/net/tun|character special file|a:c8\n\
         /dev/null|character special file|1:3\nno-dev-tun\n"
    );
}

#[test]
fn linux_devices_in_a_user_namespace_must_match_the_host_node() {
    // The config says /dev/net/tun is 1:3, the host's is 10:200. vsbx checks the node it
    // binds and refuses; runc 1.1.5 binds whatever the host has at that path.
    let rt = Runtime::new("dev-userns-mismatch");
    let mut b = Bundle::new("dev-userns-mismatch");
    b.sh("stat -c '%t:%T' /dev/net/tun");
    userns(&mut b);
    b.config()["linux"]["devices"] =
        json!([{"path": "/dev/net/tun", "type": "c", "major": 1, "minor": 3}]);
    let id = unique_id("dev-userns-mismatch");
    let out = rt.run(&id, &b, &[]);
    if is_runc() {
        out.assert_ok();
        assert_eq!(out.stdout, "a:c8\n", "{out}");
    } else {
        out.assert_error(
            "linux.devices (/dev/net/tun): the host's /dev/net/tun is not the device c 1:3 (it is c 10:200)",
        );
    }
    rt.assert_gone(&id, &b, None);
}

#[test]
fn a_read_only_dev_tmpfs_is_filled_first() {
    // `ro` on the /dev tmpfs: the runtime makes the nodes and links, then the mount is
    // read-only (runc remounts it at the end, as vsbx does); the mounts below it are not.
    let out = run_script(
        "dev-ro",
        "touch /dev/new 2>/dev/null && echo dev-writable || echo dev-read-only; \
         echo x > /dev/null && echo null-ok; head -c 1 /dev/zero | wc -c; \
         touch /dev/shm/f && echo shm-writable; [ -L /dev/fd ] && echo links; \
         grep ' /dev ' /proc/self/mountinfo | cut -d' ' -f6",
        |b| {
            let mounts = b.config()["mounts"].as_array_mut().unwrap();
            let dev = mounts
                .iter_mut()
                .find(|m| m["destination"] == "/dev")
                .unwrap();
            dev["options"].as_array_mut().unwrap().push("ro".into());
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..5],
        ["dev-read-only", "null-ok", "1", "shm-writable", "links"],
        "{out}"
    );
    assert!(lines[5].split(',').any(|o| o == "ro"), "{out}");
}
