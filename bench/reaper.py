#!/usr/bin/env python3
"""Run a command as a child subreaper and reap every orphan while it runs.

Usage: reaper.py CMD [ARGS...]

A detached container init (after `create`) is orphaned when the runtime exits; on a
normal host systemd or containerd-shim reaps it when it exits. The benchmark host's
pid 1 does not reap, so without this the inits of finished containers would stay
zombies for the whole run. Being the subreaper of the benchmark makes every runtime
see the same, prompt reaping.
"""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: reaper.py CMD [ARGS...]", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        print(f"reaper: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}", file=sys.stderr)
        return 1
    child = os.fork()
    if child == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except KeyboardInterrupt:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
