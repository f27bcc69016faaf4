#!/usr/bin/env bash
# Runs the default test suite (the README's test command) and prints one "N passed, N failed, N skipped" line.
# Host-integration tests need the host lab; this script brings it up first (lab/lab-up.sh is idempotent).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts/test
log=artifacts/test/dotnet-test.log

if [[ -x lab/lab-up.sh && "${KUBESTACK_SKIP_LAB:-0}" != "1" ]]; then
  echo "== bringing up the host lab (lab/lab-up.sh)"
  if ! lab/lab-up.sh; then
    echo "lab-up failed: host-integration tests will report themselves skipped with the reason" >&2
  fi
fi

echo "== dotnet build"
if ! dotnet build KubeStack.Operator.sln -c Release -nologo -v q 2>&1 | tee artifacts/test/build.log | grep -E "error|Warn|Error" ; then :; fi
if grep -qE "Build FAILED|error [A-Z]+[0-9]+" artifacts/test/build.log; then
  echo "0 passed, 1 failed"
  echo "build failed: see artifacts/test/build.log" >&2
  exit 1
fi

echo "== dotnet test"
dotnet test KubeStack.Operator.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

passed=0; failed=0; skipped=0
while read -r f p s; do
  failed=$((failed + f)); passed=$((passed + p)); skipped=$((skipped + s))
done < <(sed -nE 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/p' "$log")
# a test host that crashed reports no totals line: count it as a failure
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $rc
