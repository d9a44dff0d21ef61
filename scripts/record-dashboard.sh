#!/usr/bin/env bash
# Records the Grafana dashboard's series from a real Prometheus and draws its picture for docs/metrics.md:
# runs PrometheusAlertEndToEndTests (Debian's prometheus scraping the operator, two tiny jobs and one trainer on the test
# cluster; scripts/install-test-deps.sh installs it), which writes every dashboard query's query_range answer to
# docs/dashboard/recording.json, then draws docs/dashboard/bit-operator.png from that file alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out="$PWD/docs/dashboard"
mkdir -p "$out"
BIT_DASHBOARD_RECORDING="$out/recording.json" \
  dotnet test tests/BiT.Operator.Tests --filter "FullyQualifiedName~PrometheusAlertEndToEndTests" --logger "console;verbosity=minimal"
test -s "$out/recording.json" || { echo "record-dashboard: the test wrote no recording" >&2; exit 1; }
dotnet run --project monitoring/DashboardPicture -c Release -- "$out/recording.json" "$out/bit-operator.png"
