# Allocates and touches 200 MB in 10 MB steps; with --memory 64M the OOM killer ends it.
import sys

blocks = []
for i in range(20):
    blocks.append(bytearray(10 * 1024 * 1024))  # zero-filled: every page is touched
    print("allocated", (i + 1) * 10, "MB", flush=True)
print("memory_hog: survived", flush=True)
