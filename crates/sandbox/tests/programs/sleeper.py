# Prints a line, then sleeps 5 s (long enough to be interrupted, short if orphaned).
import time

print("sleeping", flush=True)
time.sleep(5)
print("woke up")
