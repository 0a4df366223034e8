#!/usr/bin/env bash
# Builds LayerLab on a GPU machine that has PyTorch (with its LibTorch) but none of Debian's
# development packages. Those travel as one compressed sysroot, .carry/sysroot.tar.xz, made on a
# Debian 12 machine with `tools/device_build.sh --fetch` and unpacked there into a private folder.
#
#   tools/device_build.sh --fetch   (on Debian) download the packages, slim them, write the tarball
#   tools/device_build.sh           core + CLI + tests (preset "headless"), into build-device
#   tools/device_build.sh --gui     the workbench too (preset "gpu": Debian's Qt 6), into build-gpu
#
# Extra arguments go to cmake. TARGETS limits what ninja builds. The environment the programs need
# (libraries, Qt plugins, fonts, the offscreen platform) is written to BUILD/device-env.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tarball="$root/.carry/sysroot.tar.xz"
triplet=x86_64-linux-gnu

if [ "${1:-}" = "--fetch" ]; then
  # What travels is limited to 64 MiB with the working tree (39 MB), so the packages are unpacked
  # here and only headers, shared libraries, Qt's tools and CMake files, and one font are kept.
  build_debs=(libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libicu-dev libicu72
              nlohmann-json3-dev googletest)
  qt_debs=(qt6-base-dev qt6-base-dev-tools qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev libglx-dev
           libopengl-dev libegl-dev libvulkan-dev libxkbcommon-dev libqt6core6 libqt6gui6 libqt6widgets6
           libqt6concurrent6 libqt6dbus6 libqt6test6 libqt6opengl6 libqt6openglwidgets6 libqt6charts6 libqt6svg6
           qt6-qpa-plugins qmake6 qmake6-bin)
  # What Qt's libraries, moc and the offscreen plugin link to (objdump -p), beyond a base system.
  qt_runtime=(libb2-1 libbrotli1 libdouble-conversion3 libegl1 libfontconfig1 libfreetype6 libglib2.0-0
              libglvnd0 libglx0 libgl1 libgraphite2-3 libharfbuzz0b libmd4c0 libopengl0 libpng16-16 libx11-6
              libx11-data libxau6 libxcb1 libxdmcp6 libxkbcommon0 libbsd0 libmd0 libexpat1 libdbus-1-3
              libjpeg62-turbo fonts-dejavu-core fontconfig-config)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download "${build_debs[@]}" "${qt_debs[@]}" "${qt_runtime[@]}")
  mkdir "$work/root"
  for f in "$work"/*.deb; do dpkg-deb -x "$f" "$work/root"; done
  cd "$work/root"
  rm -rf usr/share/doc usr/share/man usr/share/locale usr/share/lintian usr/share/bug usr/share/doc-base \
    usr/share/vulkan usr/include/vulkan/*.hpp
  find . -name '*.a' -delete
  plugins=usr/lib/$triplet/qt6/plugins
  find "$plugins" -mindepth 1 -maxdepth 1 ! -name platforms ! -name imageformats ! -name iconengines \
    -exec rm -rf {} +
  find "$plugins/platforms" -type f ! -name libqoffscreen.so ! -name libqminimal.so -delete
  mkdir -p "$root/.carry"
  tar -cf - . | xz -T0 -9 >"$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  ls -l "$tarball"
  exit 0
fi

gui=OFF
if [ "${1:-}" = "--gui" ]; then
  gui=ON
  shift
fi
[ -f "$tarball" ] || { echo "$tarball is missing: run tools/device_build.sh --fetch on a Debian 12 machine" >&2; exit 1; }
sysroot=${SYSROOT:-/tmp/layerlab-sysroot}
if [ ! -f "$sysroot/.unpacked" ] || [ "$tarball" -nt "$sysroot/.unpacked" ]; then
  # Only a folder this script unpacked (or a new one) is replaced.
  [ -f "$sysroot/.unpacked" ] && rm -rf "$sysroot"
  mkdir -p "$sysroot"
  if command -v xz >/dev/null; then xz -dc "$tarball"; else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$tarball"
  fi | tar -xf - -C "$sysroot"
  # Debian 12 still ships some libraries in /lib (libdbus, libexpat): one folder for all of them.
  if [ -d "$sysroot/lib/$triplet" ]; then cp -a "$sysroot/lib/$triplet/." "$sysroot/usr/lib/$triplet/"; fi
  touch "$sysroot/.unpacked"
fi
lib="$sysroot/usr/lib/$triplet"
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_PATH="$lib/pkgconfig:$sysroot/usr/share/pkgconfig"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
common=(-DCMAKE_PREFIX_PATH="$torch_prefix;$sysroot/usr" -DLAYERLAB_GTEST_SOURCE="$sysroot/usr/src/googletest"
        -DCMAKE_CUDA_ARCHITECTURES=90)
if [ "$gui" = ON ]; then
  build=${BUILD:-"$root/build-gpu"}
  cmake --preset gpu -B "$build" "${common[@]}" "$@"
else
  build=${BUILD:-"$root/build-device"}
  cmake --preset headless -B "$build" "${common[@]}" "$@"
fi
# Qt finds its plugins and fontconfig its fonts in the sysroot; there is no display.
fonts="$build/device-fonts.conf"
printf '<?xml version="1.0"?>\n<fontconfig><dir>%s</dir><cachedir>/tmp/layerlab-fontcache</cachedir></fontconfig>\n' \
  "$sysroot/usr/share/fonts" >"$fonts"
cat >"$build/device-env.sh" <<EOF
export LD_LIBRARY_PATH="$LD_LIBRARY_PATH"
export QT_PLUGIN_PATH="$lib/qt6/plugins"
export QT_QPA_PLATFORM=offscreen
export FONTCONFIG_FILE="$fonts"
EOF
source "$build/device-env.sh" # gtest_discover_tests runs the workbench's tests at build time
ninja -C "$build" ${TARGETS:-}
echo "environment for the programs: source $build/device-env.sh"
