# Reads the --mount bind at /data (read-only) and the --env variable; tries to write into
# the bind and to fill /tmp past --tmp-size.
import errno
import os

print("data:", open("/data/in.txt").read().strip())
try:
    open("/data/new.txt", "w").close()
    print("write /data: ok")
except OSError as e:
    print("write /data:", errno.errorcode[e.errno])
print("env:", os.environ.get("VSBX_TEST_VALUE"))
try:
    with open("/tmp/big", "wb") as f:
        for _ in range(4):
            f.write(b"\0" * (1 << 20))
            f.flush()
    print("fill /tmp: ok")
except OSError as e:
    print("fill /tmp:", errno.errorcode[e.errno])
