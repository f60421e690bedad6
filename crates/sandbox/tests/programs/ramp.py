# Grows to ~40 MB over ~0.8 s, for --monitor samples that show something.
import time

blocks = []
for i in range(8):
    blocks.append(bytearray(5 * 1024 * 1024))
    time.sleep(0.1)
print("ramp: done")
