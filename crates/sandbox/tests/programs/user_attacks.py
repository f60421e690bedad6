# Attacks of a sandboxed program on the files and the identity of the user that started
# vsbx (for an ordinary user: container root, or, without subordinate ranges, the sandbox
# user itself on the host). PROBES (a space-separated list) picks some; each prints
# `NAME: ok` (the attack worked) or `NAME: ERRNONAME`, then `probe: done`.
import errno
import os
import shutil
import subprocess

SELF = "/work/user_attacks.py"


def append(path):
    with open(path, "a") as f:
        f.write("changed by the sandbox\n")


def write_now(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def create(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def run_copy_setuid():
    # A setuid copy the program makes itself belongs to the sandbox user: running it must
    # not give any other identity.
    shutil.copy("/usr/bin/id", "/tmp/id")
    os.chmod("/tmp/id", 0o6755)
    out = subprocess.run(["/tmp/id", "-u"], capture_output=True, text=True).stdout.strip()
    if out != str(os.getuid()):
        return
    raise OSError(errno.EPERM, "no other uid")


def run_newuidmap():
    # The host's setuid helper, bound with /usr: it must not map anything for us.
    helper = shutil.which("newuidmap")
    if helper is None:
        raise OSError(errno.ENOENT, "no newuidmap")
    r = subprocess.run([helper, str(os.getpid()), "0", "0", "1"], capture_output=True)
    if r.returncode == 0:
        return
    raise OSError(errno.EPERM, r.stderr)


def status_field(name):
    for line in open("/proc/self/status"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def has_privilege():
    if status_field("CapEff").strip("0") == "" and status_field("NoNewPrivs") == "1":
        raise OSError(errno.EPERM, "no capability, no new privileges")


def foreign_fds():
    fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
    extra = [f for f in fds if f > 2 and os.path.exists(f"/proc/self/fd/{f}")]
    if extra:
        print("fds:", [os.readlink(f"/proc/self/fd/{f}") for f in extra])
        return
    raise OSError(errno.ENOENT, "only stdio")


PROBES = {
    # the caller's files: the copy of this program, the rootfs, /work
    "chmod_work_file": lambda: os.chmod(SELF, 0o777),
    "append_work_file": lambda: append(SELF),
    "chown_work_file": lambda: os.chown(SELF, os.getuid(), os.getgid()),
    "utime_work_file": lambda: os.utime(SELF, (0, 0)),
    "unlink_work_file": lambda: os.unlink(SELF),
    "rename_work_file": lambda: os.rename(SELF, "/work/moved.py"),
    "create_work_file": lambda: create("/work/new.txt"),
    "chmod_work": lambda: os.chmod("/work", 0o777),
    "chmod_root": lambda: os.chmod("/", 0o777),
    "chmod_etc": lambda: os.chmod("/etc", 0o777),
    "append_etc_passwd": lambda: append("/etc/passwd"),
    "create_etc_file": lambda: create("/etc/new"),
    # container root or any other identity
    "setresuid_0": lambda: os.setresuid(0, 0, 0),
    "setgid_0": lambda: os.setgid(0),
    "setgroups_0": lambda: os.setgroups([0]),
    "write_uid_map": lambda: write_now("/proc/self/uid_map", "0 0 1\n"),
    "write_setgroups": lambda: write_now("/proc/self/setgroups", "allow\n"),
    "setuid_copy": run_copy_setuid,
    "newuidmap": run_newuidmap,
    "privileged": has_privilege,
    # descriptors of the host left open in the sandbox
    "foreign_fds": foreign_fds,
}

names = os.environ.get("PROBES", " ".join(PROBES)).split()
for name in names:
    try:
        PROBES[name]()
        print(f"{name}: ok")
    except OSError as e:
        print(f"{name}: {errno.errorcode.get(e.errno, e.errno)}")
print("probe: done")
