#!/usr/bin/env python3
"""Summarises `strace -f -ttt -T` traces of vsbx-runtime create / start / delete.

Usage: strace_summary.py DIR   (DIR holds create-N.tr, start-N.tr, delete-N.tr)
Prints JSON: for each phase, medians over the N rounds of
  runtime_ms     exec of the runtime to its exit (the process the user waits for)
  syscalls       syscalls made by the runtime process (+ container init for create)
  slow           calls that took >= 0.3 ms, grouped by syscall and target, median ms
                 per round (calls that only wait for the other side are left out)
The container id and pids are replaced by ID / PID so rounds group together.
"""
import json
import os
import re
import statistics
import sys
from collections import defaultdict

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
DURATION = re.compile(r"<(\d+\.\d+)>\s*$")
RESULT = re.compile(r"\)\s+=\s+(-?\d+)")
QUOTED = re.compile(r'"([^"]*)"')
# Calls that block until the other process (init or runtime) answers: waiting, not work.
WAITS = {"recvfrom", "recvmsg", "poll", "ppoll", "wait4", "waitid", "epoll_wait",
         "restart_syscall", "futex", "pidfd_send_signal", "select", "pselect6"}
SLOW_S = 0.0003


def normalise(text, cid):
    text = text.replace(cid, "ID") if cid else text
    text = re.sub(r"/proc/\d+/", "/proc/PID/", text)
    return re.sub(r"/(memory|cpu|cpuacct|pids|blkio|freezer|devices|cpuset|systemd)/\S*?/ID", r"/\1/.../ID", text)


def target(name, args, fds):
    m = QUOTED.search(args)
    if name in ("write", "read", "close", "fsync", "ioctl", "sendto", "getdents64") or not m:
        fd = args.split(",", 1)[0].strip()
        if fd.isdigit() and fd in fds:
            return fds[fd]
        return m.group(1) if m and name not in ("write", "read", "sendto") else ""
    return m.group(1)


def parse(path, cid):
    first_pid = None
    start = end = None
    calls = []  # (pid, name, target, seconds)
    pending = {}
    fds = defaultdict(dict)
    with open(path) as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
            if first_pid is None:
                first_pid, start = pid, ts
            if pid == first_pid and rest.startswith("+++ exited"):
                end = ts
            if rest.startswith("---") or rest.startswith("+++"):
                continue
            if "<unfinished ...>" in rest:
                c = CALL.match(rest)
                if c:
                    pending[pid] = (c.group(1), c.group(2))
                continue
            r = RESUMED.match(rest)
            if r:
                name, args = pending.pop(pid, (r.group(1), ""))
                tail = r.group(2)
            else:
                c = CALL.match(rest)
                if not c:
                    continue
                name, args, tail = c.group(1), c.group(2), c.group(2)
            d = DURATION.search(tail)
            seconds = float(d.group(1)) if d else 0.0
            res = RESULT.search(tail)
            tgt = target(name, args, fds[pid])
            if name in ("openat", "open", "openat2") and res and int(res.group(1)) >= 0:
                fds[pid][res.group(1)] = tgt
            calls.append((pid, name, normalise(tgt, cid), seconds))
    runtime_s = (end - start) if (start is not None and end is not None) else 0.0
    return runtime_s, calls


def summarise(directory, phase):
    rounds = sorted(f for f in os.listdir(directory) if f.startswith(phase + "-") and f.endswith(".tr"))
    runtime_ms, counts, slow_rounds = [], [], []
    for name in rounds:
        cid = f"prof-"  # ids are prof-<pid>-<n>; replace the whole id
        with open(os.path.join(directory, name)) as f:
            m = re.search(r"prof-\d+-\d+", f.read())
        cid = m.group(0) if m else None
        runtime_s, calls = parse(os.path.join(directory, name), cid)
        runtime_ms.append(runtime_s * 1e3)
        counts.append(len(calls))
        slow = defaultdict(float)
        for _pid, sc, tgt, seconds in calls:
            if seconds >= SLOW_S and sc not in WAITS:
                slow[f"{sc}({tgt})" if tgt else sc] += seconds * 1e3
        slow_rounds.append(slow)
    keys = set().union(*slow_rounds) if slow_rounds else set()
    slow_median = {k: statistics.median([r.get(k, 0.0) for r in slow_rounds]) for k in keys}
    top = sorted(((round(v, 2), k) for k, v in slow_median.items() if v > 0), reverse=True)[:12]
    return {
        "rounds": len(rounds),
        "runtime_ms": round(statistics.median(runtime_ms), 2) if runtime_ms else None,
        "syscalls": int(statistics.median(counts)) if counts else None,
        "slow": [{"call": k, "ms": v} for v, k in top],
    }


def main():
    directory = sys.argv[1]
    out = {phase: summarise(directory, phase) for phase in ("create", "start", "delete")}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
