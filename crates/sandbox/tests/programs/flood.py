# Writes exactly 10 MiB to stdout (and a line to stderr), then exits 0.
import sys

chunk = b"x" * 1023 + b"\n"
out = sys.stdout.buffer
for _ in range(10 * 1024):
    out.write(chunk)
out.flush()
print("flood: done", file=sys.stderr)
