# A fork bomb: every process forks forever, ignoring failures; only the pids limit and the
# wall-clock timeout stop it.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
