#!/bin/sh
# Installs the container engines the engine integration tests drive (tests/engines):
# podman 4.3 (with conmon), docker.io 20.10 (dockerd + containerd 1.6 + ctr), runc as the
# reference runtime, busybox-static for the image rootfs and util-linux for `script` (a tty).
# Idempotent: packages already present are skipped without touching apt.
set -eu
need=""
for pkg in podman conmon docker.io containerd runc busybox-static util-linux tini; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "engines: installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Installing docker.io/containerd must not start the host's daemons: the tests start their
    # own, with private sockets and roots. A policy-rc.d that says 101 stops the package
    # scripts from starting services (it is removed again unless it was there before).
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    status=0
    apt-get install -y -qq --no-install-recommends $need >/dev/null || status=$?
    if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    [ "$status" -eq 0 ] || { echo "engines: apt-get install failed ($status)" >&2; exit "$status"; }
fi
# Fail loudly if any engine binary is still missing.
for bin in podman conmon dockerd containerd containerd-shim-runc-v2 ctr runc script busybox; do
    command -v "$bin" >/dev/null 2>&1 || { echo "engines: $bin not found after install" >&2; exit 1; }
done
[ -x /usr/bin/docker ] || { echo "engines: /usr/bin/docker (docker.io client) not found" >&2; exit 1; }
echo "engines: podman $(podman --version | awk '{print $3}'), dockerd $(dockerd --version | awk '{print $3}' | tr -d ,), containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}')"
