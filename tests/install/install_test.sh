#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR — the ctest entry `install`.
# Installs BUILD_DIR into a temporary prefix and builds tests/install/consumer
# (a Stack on the sim port: ping and a UDP datagram) three ways, running each:
#   1. find_package(inlet CONFIG) against the prefix (static inlet::ports)
#   2. g++ with `pkg-config --cflags --libs inlet` (libinlet.so + libinlet_ports.a)
#   3. add_subdirectory(SOURCE_DIR) from a parent project
# Every step is bounded by `timeout`; the temporary tree is removed on exit.
set -euo pipefail

build=$(cd "${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
source_dir=$(cd "${2:?usage: install_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
consumer=$source_dir/tests/install/consumer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inlet-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*"; }
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n1; }

# Consumers 1 and 2 use BUILD_DIR's compiler and flags (a sanitizer build's
# libraries need the sanitizer runtime at link time).
cxx=$(cache_value CMAKE_CXX_COMPILER)
build_type=$(cache_value CMAKE_BUILD_TYPE)
build_type_upper=$(printf '%s' "$build_type" | tr '[:lower:]' '[:upper:]')
cxx_flags=$(cache_value CMAKE_CXX_FLAGS)
config_flags=""
[ -n "$build_type_upper" ] && config_flags=$(cache_value "CMAKE_CXX_FLAGS_$build_type_upper")
sanitize_flags=""
if [ "$(cache_value INLET_SANITIZE)" = ON ]; then
  sanitize_flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
fi
cmake_consumer=(-G Ninja "-DCMAKE_CXX_COMPILER=$cxx" "-DCMAKE_BUILD_TYPE=$build_type"
                "-DCMAKE_CXX_FLAGS=$cxx_flags $sanitize_flags")
[ -n "$build_type_upper" ] && cmake_consumer+=("-DCMAKE_CXX_FLAGS_$build_type_upper=$config_flags")
[ -n "$sanitize_flags" ] && cmake_consumer+=("-DCMAKE_EXE_LINKER_FLAGS=$sanitize_flags")

# Consumer 3 compiles inlet's sources itself. It does so as the release preset
# does (-O2, no sanitizer, BUILD_DIR's feature switches), so that ccache finds
# every object from the Release build ./dev test made first (a debug build's
# objects carry their build directory and never match).
release_flags="-O2 -DNDEBUG"
[ "$build_type" = Release ] && release_flags=$config_flags
cmake_subdir=(-G Ninja "-DCMAKE_CXX_COMPILER=$cxx" -DCMAKE_BUILD_TYPE=Release
              "-DCMAKE_CXX_FLAGS_RELEASE=$release_flags" "-DCMAKE_CXX_FLAGS=$cxx_flags"
              -DINLET_SANITIZE=OFF)
while IFS= read -r line; do
  cmake_subdir+=("-D$line")
done < <(grep -E '^INLET_(WITH_[A-Z0-9_]+|BUILD_SHARED):BOOL=' "$build/CMakeCache.txt" || true)

prefix=$tmp/prefix
step "cmake --install $build --prefix $prefix"
timeout 60 cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
  cat "$tmp/install.log"; exit 1; }
for f in include/inlet/core/packet.h include/inlet/api/stack.h include/inlet/ports/sim/sim_port.h; do
  [ -f "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
config=$(find "$prefix" -name inlet-config.cmake -print -quit)
pc=$(find "$prefix" -name inlet.pc -print -quit)
[ -n "$config" ] && [ -f "$(dirname "$config")/inlet-config-version.cmake" ] ||
  { echo "FAIL: inlet-config.cmake / inlet-config-version.cmake not installed"; exit 1; }
[ -n "$pc" ] || { echo "FAIL: inlet.pc not installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/libinlet.a" ] && [ -f "$libdir/libinlet_ports.a" ] ||
  { echo "FAIL: static libraries missing from $libdir"; ls "$libdir"; exit 1; }

step "1. find_package(inlet CONFIG) consumer"
timeout 60 cmake -S "$consumer" -B "$tmp/find-package" "${cmake_consumer[@]}" \
  "-DCMAKE_PREFIX_PATH=$prefix" >"$tmp/configure1.log" || { cat "$tmp/configure1.log"; exit 1; }
timeout 120 cmake --build "$tmp/find-package" >"$tmp/build1.log" || { cat "$tmp/build1.log"; exit 1; }
timeout 20 "$tmp/find-package/inlet-consumer"

step "2. pkg-config consumer"
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists --print-errors inlet
[ "$(pkg-config --modversion inlet)" = "$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")" ] ||
  { echo "FAIL: inlet.pc version differs from the project's"; exit 1; }
read -r -a pc_flags <<<"$(pkg-config --cflags --libs inlet)"
read -r -a extra_flags <<<"$cxx_flags $config_flags $sanitize_flags"
rpath=()
if [ -f "$libdir/libinlet.so" ]; then
  rpath=("-Wl,-rpath,$libdir")
fi
timeout 120 "$cxx" -std=c++20 "${extra_flags[@]}" "$consumer/consumer.cc" -o "$tmp/pc-consumer" \
  "${pc_flags[@]}" "${rpath[@]}"
if [ -f "$libdir/libinlet.so" ]; then
  # -linlet must have picked the shared library (grep reads all: pipefail).
  libs=$(ldd "$tmp/pc-consumer")
  grep -F "$libdir/libinlet.so" <<<"$libs" >/dev/null ||
    { echo "FAIL: pkg-config consumer did not link $libdir/libinlet.so"; echo "$libs"; exit 1; }
fi
timeout 20 "$tmp/pc-consumer"

step "3. add_subdirectory consumer"
timeout 60 cmake -S "$consumer" -B "$tmp/subdir" "${cmake_subdir[@]}" \
  "-DINLET_SOURCE_DIR=$source_dir" >"$tmp/configure3.log" || { cat "$tmp/configure3.log"; exit 1; }
timeout 300 cmake --build "$tmp/subdir" --target inlet-consumer >"$tmp/build3.log" ||
  { cat "$tmp/build3.log"; exit 1; }
timeout 20 "$tmp/subdir/inlet-consumer"

echo "install: find_package, pkg-config and add_subdirectory consumers passed"
