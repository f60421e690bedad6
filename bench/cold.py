#!/usr/bin/env python3
"""Cold runs: each command run alone after a pause, as a user runs one script, timed with a
monotonic clock around the spawn. hyperfine runs a command back to back, and a loop keeps
some kernel paths warm that a single run finds cold: on cgroup v1 the first cgroup.procs
write after a pause waits for an RCU grace period (bench/measure.py cgattach), while the
next one within a few milliseconds does not.

Usage: cold.py [--runs N] [--pause SECONDS] [--json FILE] NAME='COMMAND' [NAME='COMMAND' ...]
The commands' runs are interleaved (a b a b ...); each must exit 0. Prints the median, the
quartiles and the ratio of each median to the first command's.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--pause", type=float, default=0.25)
    ap.add_argument("--json")
    ap.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    a = ap.parse_args()
    cmds = []
    for c in a.commands:
        name, sep, command = c.partition("=")
        if not sep or not name or not command:
            sys.exit(f"cold: {c!r}: expected NAME=COMMAND")
        cmds.append((name, shlex.split(command)))
    times = {name: [] for name, _ in cmds}
    for _ in range(a.runs):
        for name, argv in cmds:
            time.sleep(a.pause)
            t0 = time.monotonic()
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode
            t1 = time.monotonic()
            if rc != 0:
                sys.exit(f"cold: {name} exited {rc}")
            times[name].append((t1 - t0) * 1000)
    base = statistics.median(times[cmds[0][0]])
    for name, _ in cmds:
        ts = sorted(times[name])
        q = statistics.quantiles(ts, n=4)
        med = statistics.median(ts)
        print(f"{name:>12}: median {med:7.2f} ms  (q1 {q[0]:.2f}, q3 {q[2]:.2f})  {med / base:.2f}x {cmds[0][0]}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(times, f)


if __name__ == "__main__":
    main()
