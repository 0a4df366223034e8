#!/usr/bin/env bash
# Builds core + CLI + tests on a GPU machine that has PyTorch (with its LibTorch) but none of
# Debian's development packages: those travel as .deb files in .carry/builddeps (fetched on a
# Debian machine with `tools/device_build.sh --fetch`) and are unpacked into a private sysroot.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
debs="$root/.carry/builddeps"
if [ "${1:-}" = "--fetch" ]; then
  mkdir -p "$debs" && cd "$debs"
  apt-get download libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libicu-dev libicu72 \
    nlohmann-json3-dev googletest
  exit 0
fi
sysroot=${SYSROOT:-/tmp/layerlab-sysroot}
mkdir -p "$sysroot"
for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$sysroot" 2>/dev/null || (cd "$sysroot" && ar p "$f" data.tar.xz | tar xJ); done
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_PATH="$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig"
export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
build=${BUILD:-"$root/build-device"}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLAYERLAB_GUI=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$sysroot/usr" -DLAYERLAB_GTEST_SOURCE="$sysroot/usr/src/googletest" \
  -DCMAKE_CUDA_ARCHITECTURES=90 "${@}"
ninja -C "$build" ${TARGETS:-}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
