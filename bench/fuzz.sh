#!/usr/bin/env bash
# Issue 26: the fuzz suite (Tests/BerthAPIServerTests/FuzzTests.swift) at length. `make test`
# runs it with 400 inputs per decoder; this runs ITERATIONS (default 20,000) from SEED and
# prints one JSON line: inputs, seconds, and how many tests failed (a 5xx, a crash or a hang).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
ITERATIONS=${ITERATIONS:-20000}
SEED=${SEED:-$(date +%s)}
log=$(mktemp /tmp/berth-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT
swift build --build-tests >/dev/null 2>&1
start=$(date +%s.%N)
status=0
FUZZ_ITERATIONS=$ITERATIONS FUZZ_SEED=$SEED timeout 3600 swift test --skip-build --filter FuzzTests >"$log" 2>&1 || status=$?
end=$(date +%s.%N)
failed=$(grep '^✘ Test .*failed after' "$log" | grep -vc 'Test run' || true)
passed=$(grep '^✔ Test .*passed after' "$log" | grep -vc 'Test run' || true)
seconds=$(python3 -c "print(round($end - $start, 1))")
echo "{\"bench\":\"fuzz\",\"iterations\":$ITERATIONS,\"seed\":$SEED,\"tests_passed\":$passed,\"tests_failed\":$failed,\"exit\":$status,\"seconds\":$seconds}"
if [ "$status" -ne 0 ]; then grep -E '✘|error' "$log" | head -20 >&2; fi
