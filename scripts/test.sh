#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, builds, runs every test project, and ends with one
# line "N passed, N failed" (totals over all test projects). Exits non-zero when anything failed or did not build.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash scripts/install-test-deps.sh || { echo "test dependencies could not be installed"; echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
dotnet test BiT.Operator.sln --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" "$@"
rc=$?

passed=0
failed=0
shopt -s nullglob
trx=("$results"/*.trx)
for f in "${trx[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  x=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${x:-0}))
done
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or a test host failed without a failing test to show for it: count it as a failure.
  failed=1
fi
rm -rf "$results"
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
