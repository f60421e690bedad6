# The compute profile's workload in CPython: threads, anonymous and file-backed mmap, a
# subprocess, a Unix socketpair. Prints one line per check and `compute: done`.
import mmap
import os
import socket
import subprocess
import sys
import threading

results = [0] * 4


def work(i):
    results[i] = sum(range(i * 1000, (i + 1) * 1000))


threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads:", sum(results))

m = mmap.mmap(-1, 1 << 20)
m[:5] = b"hello"
print("mmap anon:", m[:5].decode())
with open("/tmp/mapped", "wb") as f:
    f.write(b"\0" * 4096)
with open("/tmp/mapped", "r+b") as f:
    fm = mmap.mmap(f.fileno(), 4096)
    fm[:6] = b"mapped"
    fm.flush()
    fm.close()
print("mmap file:", open("/tmp/mapped", "rb").read(6).decode())

out = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True, check=True)
print("subprocess:", out.stdout.strip())

a, b = socket.socketpair()
a.sendall(b"ping")
print("socketpair:", b.recv(4).decode())
print("compute: done")
