#!/bin/sh
# Builds a minimal busybox root filesystem in DIR from Debian's busybox-static.
# Usage: mkrootfs.sh DIR
set -eu
dir=${1:?usage: mkrootfs.sh DIR}
bb=${BUSYBOX:-/bin/busybox}
if ! "$bb" --list >/dev/null 2>&1; then
    echo "mkrootfs: $bb is not a working busybox (apt-get install busybox-static)" >&2
    exit 1
fi
mkdir -p "$dir"/bin "$dir"/etc "$dir"/proc "$dir"/sys "$dir"/dev "$dir"/tmp "$dir"/root "$dir"/var "$dir"/usr/bin "$dir"/sbin
cp "$bb" "$dir"/bin/busybox
for applet in $("$bb" --list); do
    [ "$applet" = busybox ] && continue
    ln -sf busybox "$dir/bin/$applet"
done
chmod 1777 "$dir"/tmp
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir"/etc/passwd
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$dir"/etc/group
