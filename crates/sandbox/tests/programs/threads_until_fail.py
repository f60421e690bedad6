# Starts threads that wait, until starting one more fails (or 200 run); prints how many.
import threading

release = threading.Event()
started = []
try:
    while len(started) < 200:
        t = threading.Thread(target=release.wait)
        t.start()
        started.append(t)
    print(f"threads: all {len(started)}")
except RuntimeError as e:
    print(f"threads: failed after {len(started)} ({e})")
release.set()
for t in started:
    t.join()
