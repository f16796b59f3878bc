#!/usr/bin/env bash
# Regenerates link/hot-text.order, the functions `make release` places first in .text.
# Runs bench/node.sh (STARTS=5, DENSITY=40) with the server and the agent under valgrind's
# callgrind, which records every function that runs, then lists the ones the binary defines.
# Root, a built release binary (`make release`); takes ~5 minutes. Rerun after larger changes:
# a stale list only costs memory (functions it no longer names are placed anywhere).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/.build/release}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
work=$(mktemp -d /tmp/berth-hot-text.XXXXXX)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read this toolchain's DWARF; the symbol table is enough.
objcopy --strip-debug "$BIN/berth" "$work/berth"
cc -shared -fPIC -O2 -o "$work/shim.so" bench/tools/valgrind-spawn-shim.c
profile() { echo "env LD_PRELOAD=$work/shim.so valgrind --tool=callgrind --demangle=no --callgrind-out-file=$work/$1.callgrind $work/berth"; }
SERVER_CMD=$(profile server) AGENT_CMD=$(profile agent) STARTS=5 DENSITY=40 BIN=$BIN bash bench/node.sh >"$work/node.out"
python3 bench/tools/hot_text_order.py "$BIN/berth" link/hot-text.order "$work/agent.callgrind" "$work/server.callgrind"
