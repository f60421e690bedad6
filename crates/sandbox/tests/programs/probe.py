# Forbidden operations tried from CPython (the compute and network profiles' workload):
# raw system calls through ctypes (x86_64 numbers), file operations through os.
# Prints `NAME: ok` or `NAME: ERRNONAME` per probe, then `probe: done`.
import ctypes
import errno
import os
import socket

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def raw(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


def connect(addr=("127.0.0.1", 9)):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(2)
        s.connect(addr)
    finally:
        s.close()


def create(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.close(fd)


def mount():
    raw(165, ctypes.c_char_p(b"none"), ctypes.c_char_p(b"/tmp"), ctypes.c_char_p(b"tmpfs"), 0, 0)


PROBES = {
    "connect": connect,  # nothing listens on port 9: ECONNREFUSED where IP sockets work
    "connect_external": lambda: connect(("192.0.2.1", 80)),  # TEST-NET-1: ENETUNREACH with lo only
    "create_root": lambda: create("/vsbx-probe"),
    "create_etc": lambda: create("/etc/vsbx-probe"),
    "create_usr": lambda: create("/usr/vsbx-probe"),
    "write_etc_passwd": lambda: os.close(os.open("/etc/passwd", os.O_WRONLY)),
    "create_tmp": lambda: create("/tmp/vsbx-probe"),
    "read_etc_shadow": lambda: open("/etc/shadow", "rb").read(),
    "read_root_home": lambda: os.listdir("/root"),
    "mount": mount,
    "ptrace": lambda: raw(101, 0, 0, 0, 0),  # PTRACE_TRACEME
    "unshare": lambda: raw(272, 0x10000000),  # CLONE_NEWUSER
    "unshare_net": lambda: raw(272, 0x40000000),  # CLONE_NEWNET
    "os_unshare_ns": lambda: os.unshare(os.CLONE_NEWNS) if hasattr(os, "unshare") else raw(272, 0x20000),
    "keyctl": lambda: raw(250, 0, -3, 0),  # KEYCTL_GET_KEYRING_ID(session)
    "bpf": lambda: raw(321, 0, ctypes.create_string_buffer(128), 128),  # BPF_MAP_CREATE
    "setuid": lambda: os.setuid(0),
}

names = os.environ.get("PROBES", " ".join(PROBES)).split()
for name in names:
    try:
        PROBES[name]()
        print(f"{name}: ok")
    except OSError as e:
        print(f"{name}: {errno.errorcode.get(e.errno, e.errno)}")
print("probe: done")
