"""A sample untrusted program: it computes, uses a thread, writes to /tmp, and pokes
at things the compute profile forbids, reporting what happened to each attempt."""

import os
import socket
import threading

total = sum(i * i for i in range(200_000))
print(f"sum of squares: {total}")

results = []
t = threading.Thread(target=lambda: results.append("thread ran"))
t.start()
t.join()
print(results[0])

with open("/tmp/scratch.txt", "w") as f:
    f.write("scratch space works\n")
print(open("/tmp/scratch.txt").read().strip())

for what, attempt in [
    ("write to /etc", lambda: open("/etc/owned", "w")),
    ("connect to 1.1.1.1:53", lambda: socket.create_connection(("1.1.1.1", 53), timeout=1)),
    ("read /etc/shadow", lambda: open("/etc/shadow").read()),
]:
    try:
        attempt()
        print(f"{what}: allowed (unexpected)")
    except OSError as e:
        print(f"{what}: denied ({e.strerror})")
