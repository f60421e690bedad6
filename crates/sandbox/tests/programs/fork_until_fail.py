# Forks sleeping children until fork fails, reports the errno, then kills and reaps them.
import errno
import os
import signal
import time

children = []
try:
    while len(children) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    print("fork: never failed after", len(children))
except OSError as e:
    print("fork failed:", errno.errorcode.get(e.errno, e.errno), "after", len(children), "children", flush=True)
for pid in children:
    os.kill(pid, signal.SIGKILL)
for pid in children:
    os.waitpid(pid, 0)
print("fork: done")
