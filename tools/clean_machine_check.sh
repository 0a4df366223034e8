#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12 system instead of on a developer's machine
# (which has packages from earlier work): makes a minimal Debian 12 root with debootstrap, copies a
# clean clone of this repository's HEAD into it, and runs, as a new user with sudo would:
#   1. tools/workbench.sh test                 install, build, run every test, then the sanitizer stage
#   2. tools/workbench.sh start --self-test   open the demo, compute one metric, save a screenshot,
#                                              exit
# Each step's wall time is printed and written to ROOT/../clean_machine_times.txt.
#
# usage: sudo tools/clean_machine_check.sh [WORK_DIR]   (default /var/tmp/layerlab-clean; needs root
#        for debootstrap, chroot and mounts; about 6 GB of disk; the network reaches Debian's mirror)
# The screenshot is copied to WORK_DIR/self_test.png. WORK_DIR is emptied first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/layerlab-clean}
root="$work/root"
times="$work/clean_machine_times.txt"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
user=newuser

[ "$(id -u)" -eq 0 ] || { echo "clean_machine_check: run as root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }

cleanup() {
    for m in dev/pts dev/shm dev proc sys; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true
    done
}
trap cleanup EXIT

step() { # step NAME COMMAND...: runs it, prints and records its wall time
    local name=$1 start rc
    shift
    echo "== $name"
    start=$(date +%s)
    set +e
    "$@"
    rc=$?
    set -e
    local took=$(($(date +%s) - start))
    printf '%-40s %5d s  (%d min %02d s)  exit %d\n' "$name" "$took" $((took / 60)) $((took % 60)) "$rc" |
        tee -a "$times"
    [ "$rc" -eq 0 ] || { echo "clean_machine_check: '$name' failed" >&2; exit 1; }
}

in_root() { # in_root COMMAND: runs a shell command as the new user, in the clone, with a login environment
    chroot "$root" /usr/sbin/runuser -l "$user" -c "cd ~/layerlab && $1"
}

cleanup
# Never delete through a mount that is still there (the root's /dev is the host's).
if findmnt -rn -o TARGET | grep "^$root/" >/dev/null; then
    echo "clean_machine_check: $root still has mounts; unmount them first" >&2
    exit 1
fi
rm -rf --one-file-system "$work"
mkdir -p "$work"
: >"$times"
echo "clean Debian 12 check of $(git -C "$repo" rev-parse --short HEAD), $(nproc) cores" | tee -a "$times"

# minbase is the smallest system apt works in; sudo and ca-certificates are what a desktop install
# has beside it (ca-certificates for npm's registry).
step "debootstrap (minimal Debian 12)" \
    debootstrap --variant=minbase --include=sudo,ca-certificates bookworm "$root" "$mirror"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Where this network reaches the registries through a TLS-inspecting proxy, its CA is the one thing
# of this machine the root gets (a user's machine on such a network has it too): the system store
# for apt and git, npm's cafile and Node's extra CAs for the npm registry.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
    echo "cafile=/etc/ssl/certs/ca-certificates.crt" >>"$root/etc/npmrc"
    echo "export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" >"$root/etc/profile.d/network-ca.sh"
fi
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs shm "$root/dev/shm"
chroot "$root" useradd -m -s /bin/bash "$user"
echo "$user ALL=(ALL) NOPASSWD:ALL" >"$root/etc/sudoers.d/$user"
# A clean clone of what is committed: nothing ignored, built or untracked travels.
git clone -q --no-hardlinks "$repo" "$root/home/$user/layerlab"
chroot "$root" chown -R "$user:$user" "/home/$user/layerlab"

# `test` first, so that its time is that of a clean clone; `start` then finds the build done.
step "workbench.sh test" in_root "tools/workbench.sh test"
# The workbench needs a display; a new user has one, this check uses Qt's offscreen platform.
step "workbench.sh start --self-test" \
    in_root "QT_QPA_PLATFORM=offscreen tools/workbench.sh start --self-test /tmp/self_test.png"
cp "$root/tmp/self_test.png" "$work/self_test.png"
echo "clean_machine_check: passed; times in $times, screenshot $work/self_test.png"
