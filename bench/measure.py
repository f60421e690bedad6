#!/usr/bin/env python3
"""Measurements hyperfine cannot make: peak RSS of `create`, and lifecycle time per phase.

Usage:
  measure.py rss    --runs N --bundle DIR --roots DIR --piddir DIR --out FILE name=binary...
  measure.py phases --runs N --bundle DIR --roots DIR --piddir DIR --out FILE name=binary...
  measure.py cgattach --runs N --bundle - --roots - --piddir - --out FILE

rss: `/usr/bin/time -f %M RUNTIME create` for each run. time(1) prints ru_maxrss from
wait4(): the peak resident set of the runtime process, or of any descendant the runtime
itself waited for, whichever is larger. The container init is still alive (waiting for
`start`) when create exits, so it is NOT included; its resident set is read separately
from /proc/PID/status (VmRSS, VmHWM) right after create returns.

phases: one lifecycle at a time, each of create, start, wait-for-exit and delete timed
with a monotonic clock around the spawned command (the spawn cost, the same for all
runtimes, is included). The runs of the runtimes are interleaved.

Both write JSON: {runtime: {metric: [values...]}}.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


# stderr goes to a file, not a pipe: the container init inherits it and stays alive after
# create, so a pipe would never reach EOF.
ERR = tempfile.TemporaryFile(mode="w+")


def run(cmd):
    ERR.seek(0)
    ERR.truncate()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ERR)
    if proc.returncode != 0:
        ERR.seek(0)
        sys.exit(f"measure: {' '.join(cmd)}: exit {proc.returncode}: {ERR.read().strip()}")


def read_pid(pidfile):
    with open(pidfile) as f:
        return int(f.read().strip())


def wait_stopped(pid, limit_s=10.0):
    """Wait until PID is gone or a zombie (the bench runs under a reaper)."""
    deadline = time.monotonic() + limit_s
    path = f"/proc/{pid}/stat"
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            return
        if ") Z " in stat:
            return
    sys.exit(f"measure: container process {pid} did not stop")


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def delete_args(rt_bin, root, cid):
    if os.environ.get("BENCH_DELETE", "wait") == "force":
        return [rt_bin, "--root", root, "delete", "--force", cid]
    return [rt_bin, "--root", root, "delete", cid]


def measure_rss(args, runtimes):
    out = {name: {"create_maxrss_kb": [], "init_vmrss_kb": [], "init_vmhwm_kb": []}
           for name, _ in runtimes}
    with tempfile.TemporaryDirectory() as tmp:
        timefile = os.path.join(tmp, "time")
        for i in range(args.runs):
            for name, rt_bin in runtimes:
                root = os.path.join(args.roots, name)
                cid = f"bench-rss-{os.getpid()}-{i}"
                pidfile = os.path.join(args.piddir, cid)
                run(["/usr/bin/time", "-f", "%M", "-o", timefile, rt_bin, "--root", root,
                     "create", "--bundle", args.bundle, "--pid-file", pidfile, cid])
                with open(timefile) as f:
                    out[name]["create_maxrss_kb"].append(int(f.read().split()[-1]))
                pid = read_pid(pidfile)
                out[name]["init_vmrss_kb"].append(status_kb(pid, "VmRSS"))
                out[name]["init_vmhwm_kb"].append(status_kb(pid, "VmHWM"))
                run([rt_bin, "--root", root, "start", cid])
                if os.environ.get("BENCH_DELETE", "wait") != "force":
                    wait_stopped(pid)
                run(delete_args(rt_bin, root, cid))
                os.unlink(pidfile)
    return out


def measure_phases(args, runtimes):
    out = {name: {"create": [], "start": [], "wait": [], "delete": [], "total": []}
           for name, _ in runtimes}
    clock = time.perf_counter_ns
    for i in range(args.runs):
        for name, rt_bin in runtimes:
            root = os.path.join(args.roots, name)
            cid = f"bench-phase-{os.getpid()}-{i}"
            pidfile = os.path.join(args.piddir, cid)
            t0 = clock()
            run([rt_bin, "--root", root, "create", "--bundle", args.bundle,
                 "--pid-file", pidfile, cid])
            t1 = clock()
            run([rt_bin, "--root", root, "start", cid])
            t2 = clock()
            if os.environ.get("BENCH_DELETE", "wait") != "force":
                wait_stopped(read_pid(pidfile))
            t3 = clock()
            run(delete_args(rt_bin, root, cid))
            t4 = clock()
            os.unlink(pidfile)
            ms = lambda a, b: (b - a) / 1e6  # noqa: E731
            rec = out[name]
            rec["create"].append(ms(t0, t1))
            rec["start"].append(ms(t1, t2))
            rec["wait"].append(ms(t2, t3))
            rec["delete"].append(ms(t3, t4))
            rec["total"].append(ms(t0, t4))
    return out


def measure_cgattach(args):
    """Time of writing a pid into cgroup.procs of fresh cgroup v1 directories, one per
    mounted controller: 'cold' after a pause (100 ms), 'warm' straight after the previous
    round. The first write of a burst waits for an RCU grace period in the kernel
    (cgroup_threadgroup_rwsem is a per-cpu rwsem unless the hierarchy is mounted with
    favordynmods); writes that follow within that period are cheap."""
    base = "/sys/fs/cgroup"
    ctrls = [c for c in ("pids", "blkio", "freezer", "devices", "memory", "cpuacct", "cpu")
             if os.path.exists(os.path.join(base, c, "cgroup.procs"))]
    out = {"controllers": ctrls, "cold_first_ms": [], "cold_rest_ms": [],
           "warm_first_ms": [], "warm_rest_ms": []}
    for i in range(args.runs * 2):
        kind = "cold" if i % 2 == 0 else "warm"
        if kind == "cold":
            time.sleep(0.1)
        child = subprocess.Popen(["sleep", "10"])
        dirs = []
        try:
            for c in ctrls:
                d = os.path.join(base, c, f"vsbx-bench-probe-{os.getpid()}-{i}")
                os.mkdir(d)
                dirs.append(d)
            times = []
            for d in dirs:
                t = time.perf_counter_ns()
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(child.pid))
                times.append((time.perf_counter_ns() - t) / 1e6)
        finally:
            child.kill()
            child.wait()
            for d in dirs:
                os.rmdir(d)
        out[kind + "_first_ms"].append(times[0])
        out[kind + "_rest_ms"].append(sum(times[1:]))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["rss", "phases", "cgattach"])
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--roots", required=True)
    p.add_argument("--piddir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("runtimes", nargs="*", help="name=binary")
    args = p.parse_intermixed_args()
    runtimes = [tuple(r.split("=", 1)) for r in args.runtimes]
    if args.what == "rss":
        data = measure_rss(args, runtimes)
    elif args.what == "phases":
        data = measure_phases(args, runtimes)
    else:
        data = measure_cgattach(args)
    with open(args.out, "w") as f:
        json.dump(data, f, indent=1)


if __name__ == "__main__":
    main()
