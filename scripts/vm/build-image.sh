#!/bin/sh
# Builds the Debian 12 (bookworm) guest for the VM test bed: debootstrap + the packages in
# guest/packages + the job unit, as a raw ext4 image with the kernel and initrd beside it:
#   $VM_WORK/image/{root.img,vmlinuz,initrd.img,key}
# The image is rebuilt only when its inputs change (this script, common.sh, guest/*): their
# hash is the key. VM_MIRROR overrides the Debian mirror (default: the host's apt source).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

SUITE=bookworm
IMAGE_SIZE=${VM_IMAGE_SIZE:-6G}

key=$(cat "$here/build-image.sh" "$here/common.sh" "$here"/guest/* | sha256sum | cut -c1-16)
if [ -f "$IMAGE_DIR/key" ] && [ "$(cat "$IMAGE_DIR/key")" = "$key" ] &&
    [ -f "$IMAGE_DIR/root.img" ] && [ -f "$IMAGE_DIR/vmlinuz" ] && [ -f "$IMAGE_DIR/initrd.img" ]; then
    echo "vm: image up to date ($IMAGE_DIR, key $key)"
    exit 0
fi
[ "$(id -u)" = 0 ] || die "building the image needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/vm/host-deps.sh"

mirror_from_apt() {
    # First Debian archive URI of the host's apt sources (deb822 or one-line format).
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' |
        tr ' ' '\n' | grep -E '/debian/?$' | head -n1 && return
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $2 !~ /^\[/ && $2 ~ /\/debian\/?$/ { print $2; exit }'
}
MIRROR=${VM_MIRROR:-$(mirror_from_apt)}
[ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt/sources.list*: set VM_MIRROR"

build=$VM_WORK/build
root=$build/rootfs
cleanup() {
    # Unmount whatever debootstrap or chroot left mounted under the build root, deepest first.
    if [ -d "$root" ]; then
        awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts |
            sort -r | while read -r m; do umount -l "$m" || true; done
    fi
    rm -rf "$build"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
mkdir -p "$build"

start=$(date +%s)
packages=$(grep -v -e '^#' -e '^[[:space:]]*$' "$here/guest/packages" | paste -sd, -)
echo "vm: debootstrap $SUITE from $MIRROR (log: $build/debootstrap.log)"
if ! debootstrap --variant=minbase --include="$packages" --components=main \
    "$SUITE" "$root" "$MIRROR" >"$build/debootstrap.log" 2>&1; then
    tail -n 20 "$build/debootstrap.log" >&2
    cp "$build/debootstrap.log" "$VM_WORK/debootstrap-failed.log"
    die "debootstrap failed (log kept at $VM_WORK/debootstrap-failed.log)"
fi

extra=$(grep -v -e '^#' -e '^[[:space:]]*$' "$here/guest/packages-apt" | paste -sd' ' -)
echo "vm: apt-get install $extra (log: $build/apt.log)"
made_resolv=
[ -e "$root/etc/resolv.conf" ] || { cp /etc/resolv.conf "$root/etc/resolv.conf" && made_resolv=1; }
mount -t proc proc "$root/proc"
# shellcheck disable=SC2086 # one word per package
if ! { chroot "$root" apt-get update && DEBIAN_FRONTEND=noninteractive chroot "$root" \
    apt-get install -y --no-install-recommends $extra; } >"$build/apt.log" 2>&1; then
    tail -n 20 "$build/apt.log" >&2
    cp "$build/apt.log" "$VM_WORK/apt-failed.log"
    die "apt-get install in the guest failed (log kept at $VM_WORK/apt-failed.log)"
fi
umount "$root/proc"
[ -z "$made_resolv" ] || rm -f "$root/etc/resolv.conf"

echo "vm: configuring the guest"
# SELinux, where a boot turns it on (VM_LSM=selinux in run.sh), runs permissive: contexts
# are computed, set and shown as on an enforcing host, but the unlabelled image is not
# denied anything.
printf 'SELINUX=permissive\nSELINUXTYPE=default\n' >"$root/etc/selinux/config"
echo vsbx-guest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vsbx-guest\n' >"$root/etc/hosts"
install -m 0644 "$here/guest/fstab" "$root/etc/fstab"
mkdir -p "$root/job"
install -m 0644 "$here/guest/vsbx-job.service" "$root/etc/systemd/system/vsbx-job.service"
install -m 0755 "$here/guest/vsbx-job" "$root/usr/local/sbin/vsbx-job"
printf '9p\n9pnet_virtio\n' >"$root/etc/modules-load.d/vsbx-9p.conf"
# A fixed machine id: every boot of the pristine (-snapshot) image is then not a first boot.
echo 5ab1e0000000000000000000000000a1 >"$root/etc/machine-id"
# Root logs in on the serial console without a password (a throwaway test guest).
chroot "$root" passwd -d root >/dev/null
# The ordinary user for rootless jobs: subordinate ids and a lingering user manager.
chroot "$root" useradd --create-home --shell /bin/sh --uid 1000 u
grep -q '^u:' "$root/etc/subuid" 2>/dev/null || echo 'u:100000:65536' >>"$root/etc/subuid"
grep -q '^u:' "$root/etc/subgid" 2>/dev/null || echo 'u:100000:65536' >>"$root/etc/subgid"
mkdir -p "$root/var/lib/systemd/linger" && touch "$root/var/lib/systemd/linger/u"
chroot "$root" systemctl enable vsbx-job.service >/dev/null 2>&1
# Docker (and its containerd) start only in jobs that use them: at every boot they would cost
# seconds of emulated CPU.
chroot "$root" systemctl disable docker.service docker.socket containerd.service >/dev/null 2>&1 || true
# Timers that would only compete with the job for the (emulated) CPU.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    fstrim.timer man-db.timer >/dev/null 2>&1 || true
rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages

kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
initrd=$(ls "$root"/boot/initrd.img-* 2>/dev/null | sort -V | tail -n1)
[ -n "$kernel" ] && [ -n "$initrd" ] || die "no kernel or initrd in the guest's /boot"

echo "vm: writing the ext4 image ($IMAGE_SIZE, sparse)"
mkdir -p "$IMAGE_DIR"
rm -f "$IMAGE_DIR/key" "$IMAGE_DIR/root.img.tmp"
mkfs.ext4 -q -F -L vsbx-root -d "$root" "$IMAGE_DIR/root.img.tmp" "$IMAGE_SIZE" ||
    die "mkfs.ext4 -d failed"
cp "$kernel" "$IMAGE_DIR/vmlinuz"
cp "$initrd" "$IMAGE_DIR/initrd.img"
mv "$IMAGE_DIR/root.img.tmp" "$IMAGE_DIR/root.img"
echo "$key" >"$IMAGE_DIR/key"
echo "vm: image built in $(($(date +%s) - start)) s: $IMAGE_DIR (kernel $(basename "$kernel"))"
