#!/usr/bin/env bash
# bench/peers/run.sh — inlet side by side with lwIP 2.1.3 on the same core.
#
#   bash bench/peers/run.sh [BUILD_DIR] [--quick] [--rounds N]
#
# Fetches lwIP's Debian source package (apt-get source lwip, through a
# temporary source list: the machine's apt configuration is left as it was,
# checked with a checksum of /etc/apt), builds bench/peers/lwip_harness.c
# against it (lwipopts.h, arch/cc.h beside this script), then runs the lwIP
# harness and inlet's benchmarks (BUILD_DIR/bin/inlet-bench-{tcp_rx,forward,
# rx_path}, BUILD_DIR defaulting to the repository's build/) in alternation, N rounds
# (3; 1 with --quick), and prints medians side by side with inlet's speed-up
# over lwIP. Ends with `figure lwip_NAME VALUE UNIT` and
# `figure ratio_NAME_vs_lwip VALUE x` lines.
#
# The lwIP source is cached in $INLET_PEERS_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/inlet-peers), the harness is built in
# BUILD_DIR/peers. Nothing of lwIP is in the repository.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir="$here/../../build"  # the repository's build tree
quick=""
rounds=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=--quick ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1 ;;
  esac
  shift
done
[ -n "$rounds" ] || { [ -n "$quick" ] && rounds=1 || rounds=3; }
case "$rounds" in ''|*[!0-9]*|0) echo "run.sh: --rounds needs a positive number" >&2; exit 2 ;; esac
build_dir=$(mkdir -p "$build_dir" && cd "$build_dir" && pwd)

log() { printf '\033[1m[peers]\033[0m %s\n' "$*" >&2; }

# Temporary files and directories, removed on exit.
temporaries=()
cleanup() { [ ${#temporaries[@]} -eq 0 ] || rm -rf "${temporaries[@]}"; }
trap cleanup EXIT

lwip_version=2.1.3
cache=${INLET_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inlet-peers}
src="$cache/lwip-$lwip_version"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "need root or sudo for: $*"; exit 1
  fi
}

apt_config_sum() {
  find /etc/apt -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum 2>/dev/null | sha256sum | cut -d' ' -f1
}

# apt-get source lwip from Debian bookworm, with apt's source list, list
# directory and cache all in a temporary directory: no file of the machine's
# apt set-up is read for sources or written.
fetch_lwip() {
  if [ -f "$src/src/core/tcp_in.c" ]; then
    log "lwIP source: $src (cached)"
    return 0
  fi
  if ! command -v dpkg-source >/dev/null; then
    log "installing dpkg-dev (apt-get source needs dpkg-source)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null ||
      { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
          apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null; }
  fi
  local before tmp
  before=$(apt_config_sum)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/inlet-peers.XXXXXX")
  temporaries+=("$tmp")
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src"
  cat >"$tmp/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
EOF
  # As root, apt downloads as its sandbox user: let it reach and write there.
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
    chmod 755 "$tmp"
    chown -R _apt "$tmp/lists" "$tmp/cache" "$tmp/src"
  fi
  local opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache")
  log "fetching lwIP's Debian source package (temporary source list in $tmp)"
  apt-get -qq "${opts[@]}" update
  (cd "$tmp/src" && apt-get -qq "${opts[@]}" source lwip >"$tmp/source.log" 2>&1) ||
    { cat "$tmp/source.log" >&2; log "apt-get source lwip failed"; exit 1; }
  local dir
  dir=$(find "$tmp/src" -mindepth 1 -maxdepth 1 -type d -name 'lwip-*' | head -n1)
  if [ -z "$dir" ] || [ ! -f "$dir/src/core/tcp_in.c" ]; then log "no lwIP tree in the source package"; exit 1; fi
  local v
  v=$(tr -d '\r' <"$dir/src/include/lwip/init.h" |
      awk '/define LWIP_VERSION_(MAJOR|MINOR|REVISION)[ \t]/ {printf "%s%s", sep, $3; sep="."}')
  [ "$v" = "$lwip_version" ] || { log "the source package holds lwIP $v, the harness expects $lwip_version"; exit 1; }
  mkdir -p "$cache"
  rm -rf "$src.partial"
  mv "$dir" "$src.partial"
  mv "$src.partial" "$src"
  log "lwIP $v ($(basename "$(ls "$tmp"/src/*.dsc)" .dsc)) unpacked in $src"
  local after
  after=$(apt_config_sum)
  [ "$before" = "$after" ] || { log "ERROR: /etc/apt changed while fetching"; exit 1; }
  log "/etc/apt unchanged (sha256 $after)"
}

# The harness, with checksum checks (the comparison) and without (for
# reference only). Rebuilt when a file of ours is newer than the binary.
build_harness() {
  local out="$build_dir/peers" cc=${CC:-cc}
  mkdir -p "$out"
  local lwip_sources=("$src"/src/core/*.c "$src"/src/core/ipv4/*.c "$src"/src/netif/ethernet.c)
  local variant flags bin
  for variant in checked nocsum; do
    flags=(-O2 -std=gnu11 -I"$here" -isystem "$src/src/include")
    bin="$out/lwip-harness"
    if [ "$variant" = nocsum ]; then flags+=(-DINLET_PEERS_NO_CHECKSUM); bin="$out/lwip-harness-nocsum"; fi
    # Up to date: built from this source tree, and no file of ours is newer.
    if [ -x "$bin" ] && [ "$(cat "$bin.source" 2>/dev/null)" = "$src" ] &&
       [ -z "$(find "$here" -newer "$bin" \( -name '*.c' -o -name '*.h' -o -name run.sh \) -print -quit)" ]; then
      continue
    fi
    log "building $bin"
    rm -rf "$out/obj-$variant" && mkdir -p "$out/obj-$variant"
    # Our harness with the project's warnings; lwIP's sources as they are.
    "$cc" "${flags[@]}" -Wall -Wextra -Werror -c "$here/lwip_harness.c" -o "$out/obj-$variant/lwip_harness.o"
    local f objs=("$out/obj-$variant/lwip_harness.o")
    for f in "${lwip_sources[@]}"; do
      "$cc" "${flags[@]}" -w -c "$f" -o "$out/obj-$variant/$(basename "$f" .c).o"
      objs+=("$out/obj-$variant/$(basename "$f" .c).o")
    done
    "$cc" -o "$bin" "${objs[@]}"
    echo "$src" >"$bin.source"
  done
}

fetch_lwip
build_harness

# ---- runs -----------------------------------------------------------------
results=$(mktemp "${TMPDIR:-/tmp}/inlet-peers-results.XXXXXX")
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/inlet-peers-out.XXXXXX")
temporaries+=("$results" "$out_dir")

inlet_bins=(tcp_rx forward rx_path)
have_inlet=1
for b in "${inlet_bins[@]}"; do
  [ -x "$build_dir/bin/inlet-bench-$b" ] || { have_inlet=0; log "missing $build_dir/bin/inlet-bench-$b"; }
done
if [ $have_inlet -eq 0 ]; then
  log "inlet's benchmarks are not built in $build_dir (./dev build release, or pass the build dir): lwIP figures only"
fi

# inlet's figure for NAME from one benchmark's output: its `figure` line when
# it prints one, else its human line.
inlet_value() {  # NAME OUTPUT_FILE
  local name=$1 file=$2
  awk -v name="$name" '
    function num_before(line, unit,   i, n, w) {
      n = split(line, w, / +/)
      for (i = 2; i <= n; i++) if (w[i] == unit) return w[i - 1]
      return ""
    }
    $1 == "figure" { fig[$2] = $3 }
    /^in order, copy +[0-9]/           { human["tcp_inorder_ns_per_seg"] = num_before($0, "ns/seg") }
    /^1 in 50 late by 8, copy +[0-9]/  { human["tcp_late1in50_ns_per_seg"] = num_before($0, "ns/seg") }
    /^1 MiB window reversed, copy +[0-9]/ { human["tcp_reversed_ns_per_seg"] = num_before($0, "ns/seg") }
    /^forward, 1 route +[0-9]/         { human["forward_1route_mpps"] = num_before($0, "Mpps") }
    /^icmp echo -> reply +[0-9]/       { v = num_before($0, "ns/pkt"); if (v > 0) human["icmp_echo_mpps"] = 1000 / v }
    /^udp rx 64B frame \+ copy +[0-9]/ { v = num_before($0, "ns/pkt"); if (v > 0) human["udp64_rx_mpps"] = 1000 / v }
    END {
      if (name in fig) { print fig[name]; exit }
      if (name in human && human[name] != "") { print human[name]; exit }
      # Late and reversed from their ratio to in-order, if only those are printed.
      if (name == "tcp_late1in50_ns_per_seg" && ("tcp_late1in50_ratio" in fig) && ("tcp_inorder_ns_per_seg" in fig))
        print fig["tcp_late1in50_ratio"] * fig["tcp_inorder_ns_per_seg"]
      if (name == "tcp_reversed_ns_per_seg" && ("tcp_reversed_ratio" in fig) && ("tcp_inorder_ns_per_seg" in fig))
        print fig["tcp_reversed_ratio"] * fig["tcp_inorder_ns_per_seg"]
    }' "$file"
}

# The compared figures: name, unit, which inlet benchmark prints it.
figures=(tcp_inorder_ns_per_seg:ns:tcp_rx tcp_late1in50_ns_per_seg:ns:tcp_rx tcp_reversed_ns_per_seg:ns:tcp_rx
         forward_1route_mpps:Mpps:forward icmp_echo_mpps:Mpps:rx_path udp64_rx_mpps:Mpps:rx_path)

for ((r = 1; r <= rounds; r++)); do
  log "round $r/$rounds: lwIP harness"
  "$build_dir/peers/lwip-harness" $quick >"$out_dir/lwip.$r"
  awk -v r="$r" '$1 == "lwip" { print "lwip", $2, $3, r }' "$out_dir/lwip.$r" >>"$results"
  if [ $r -eq 1 ]; then
    log "round $r/$rounds: lwIP harness without checksum checks (for reference)"
    "$build_dir/peers/lwip-harness-nocsum" $quick >"$out_dir/nocsum"
    awk '$1 == "lwip" { print "nocsum", $2, $3, 1 }' "$out_dir/nocsum" >>"$results"
  fi
  [ $have_inlet -eq 1 ] || continue
  for b in "${inlet_bins[@]}"; do
    log "round $r/$rounds: inlet-bench-$b"
    "$build_dir/bin/inlet-bench-$b" $quick >"$out_dir/$b.$r" 2>&1 || { cat "$out_dir/$b.$r" >&2; log "inlet-bench-$b failed"; exit 1; }
  done
  for f in "${figures[@]}"; do
    IFS=: read -r name _ bench <<<"$f"
    v=$(inlet_value "$name" "$out_dir/$bench.$r")
    if [ -n "$v" ]; then echo "inlet $name $v $r" >>"$results"; else log "no inlet figure for $name in inlet-bench-$bench's output"; fi
  done
done

# ---- table ----------------------------------------------------------------
cpu=$(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo
echo "inlet vs lwIP $lwip_version, one core, in memory, checksums verified; medians of $rounds round(s)${quick:+ (quick)}"
echo "CPU: ${cpu:-unknown}, $(nproc) cores; times are CPU time of the benchmark thread"
spec=$(printf '%s\n' "${figures[@]}")
awk -v spec="$spec" -v rounds="$rounds" '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n ? v[int((n + 1) / 2)] : ""
  }
  function minmax(list, want,   n, v, i, m) {
    n = split(list, v, " "); m = v[1]
    for (i = 2; i <= n; i++) if ((want == "min" && v[i] + 0 < m + 0) || (want == "max" && v[i] + 0 > m + 0)) m = v[i]
    return m
  }
  { vals[$1 " " $2] = vals[$1 " " $2] " " $3 }
  END {
    n = split(spec, rows, "\n")
    printf "%-28s %12s %12s %9s\n", "figure", "inlet", "lwIP", "speed-up"
    for (i = 1; i <= n; i++) {
      split(rows[i], f, ":"); name = f[1]; unit = f[2]
      li = median(vals["inlet " name]); ll = median(vals["lwip " name])
      ratio = ""
      if (li != "" && ll != "" && li > 0 && ll > 0) ratio = (unit == "ns") ? ll / li : li / ll
      printf "%-28s %12s %12s %9s\n", name, li == "" ? "-" : sprintf("%.1f %s", li, unit),
             ll == "" ? "-" : sprintf("%.1f %s", ll, unit), ratio == "" ? "-" : sprintf("%.2fx", ratio)
      out[i] = ""
      if (ll != "") {
        if (rounds > 1) out[i] = sprintf("spread lwip_%s %s %s\n", name, minmax(vals["lwip " name], "min"), minmax(vals["lwip " name], "max"))
        out[i] = out[i] sprintf("figure lwip_%s %s %s\n", name, ll, unit)
      }
      short = name; sub(/_(ns_per_seg|mpps)$/, "", short)
      if (ratio != "") out[i] = out[i] sprintf("figure ratio_%s_vs_lwip %.3f x\n", short, ratio)
    }
    nc = median(vals["nocsum tcp_inorder_ns_per_seg"])
    if (nc != "") printf "%-28s %12s %12s %9s\n", "tcp_inorder, lwIP checks off", "", sprintf("%.1f ns", nc), ""
    print "speed-up: inlet over lwIP (lwIP time / inlet time, inlet rate / lwIP rate); above 1 inlet is faster"
    print ""
    for (i = 1; i <= n; i++) printf "%s", out[i]
    if (nc != "") printf "figure lwip_nocsum_tcp_inorder_ns_per_seg %s ns\n", nc
  }' "$results"
