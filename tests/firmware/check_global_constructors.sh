#!/usr/bin/env bash
# Fails when a static library (or object) has a static initialiser of its own:
# a global or namespace-scope object with a non-trivial constructor, or a
# function run from .init_array. Allowed, and only this: libstdc++'s
# std::ios_base::Init object, which GCC 12 plants in every translation unit
# that includes <iostream> — Debian's Abseil 20220623 headers do (via
# absl/strings/internal/cord_rep_btree_navigator.h), and it is not ours.
# Usage: check_global_constructors.sh LIBRARY.a [CXX [OBJDUMP]]
# Before checking LIBRARY it proves itself on an object that has a global
# constructor (compiled with CXX, default c++), which must be caught.
# OBJDUMP (default objdump) must read the target's objects.
set -euo pipefail

lib=${1:?usage: check_global_constructors.sh LIBRARY.a [CXX]}
cxx=${2:-${CXX:-c++}}
objdump=${3:-objdump}

# Prints "member: function -> target" for every initialiser call or reference
# that is not the allowed std::ios_base::Init pattern, and "member:
# .init_array -> target" for an .init_array entry that points elsewhere.
offenders() {
  local file=$1
  "$objdump" -dr --no-show-raw-insn "$file" | awk '
    /^In archive/ { next }
    /file format/ { member = $1; sub(/:$/, "", member); next }
    /^Disassembly of section/ { section = $4; sub(/:$/, "", section); next }
    /^[0-9a-f]+ <.*>:$/ {
      fn = $2; gsub(/[<>:]/, "", fn)
      in_init = (section ~ /^\.text\.startup/ || fn ~ /_GLOBAL__sub_I|__static_initialization_and_destruction/)
      next
    }
    in_init && /R_X86_64_|R_AARCH64_|R_ARM_|R_RISCV_/ {
      target = $3; sub(/[-+]0x[0-9a-f]+$/, "", target)
      if (target ~ /^(_ZNSt8ios_base4InitC1Ev|_ZNSt8ios_base4InitD1Ev|__cxa_atexit|__dso_handle|\.bss|_ZStL8__ioinit|_Z41__static_initialization_and_destruction_0ii|__static_initialization_and_destruction_0)$/) next
      print member ": " fn " -> " target
    }'
  "$objdump" -r -j .init_array "$file" 2>/dev/null | awk '
    /file format/ { member = $1; sub(/:$/, "", member); next }
    $2 ~ /^R_/ {
      target = $3; sub(/[-+]0x[0-9a-f]+$/, "", target)
      if (target ~ /^(\.text\.startup|_GLOBAL__sub_I.*|\.text)$/) next
      print member ": .init_array -> " target
    }'
}

# Self-check: a global with a constructor that has side effects must be found.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/bad.cc" <<'EOF'
#include <cstdio>
struct Noisy { Noisy() { std::puts("side effect"); } };
Noisy noisy;
EOF
if command -v "$cxx" >/dev/null 2>&1; then
  "$cxx" -std=c++20 -O2 -c "$tmp/bad.cc" -o "$tmp/bad.o"
  if [[ -z "$(offenders "$tmp/bad.o")" ]]; then
    echo "check_global_constructors: the self-check missed a global constructor" >&2
    exit 1
  fi
else
  echo "check_global_constructors: no $cxx for the self-check; checking $lib only"
fi

found=$(offenders "$lib" | sort -u)
if [[ -n "$found" ]]; then
  echo "static initialisers in $lib (use constexpr/constinit or a function-local static):"
  echo "$found" | c++filt
  exit 1
fi
initialised=$("$objdump" -h "$lib" | grep -c '\.init_array' || true)
echo "no global constructors in $lib ($initialised members carry only libstdc++'s ios_base::Init)"
