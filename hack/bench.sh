#!/usr/bin/env bash
# make bench: builds the node agent and the benchmark program (Release) and runs the benchmarks
# (tests/KubeStack.Benchmarks; never part of make test). Prints the tables; JSON and logs go to artifacts/bench/.
# Arguments go to the program: --reps N, --count N, --only latency|scale, --no-lab, --out DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
dotnet build node-agent/src/KubeStack.NodeAgent/KubeStack.NodeAgent.csproj -c Release -nologo -v quiet
dotnet build operator/src/KubeStack.Operator/KubeStack.Operator.csproj -c Release -nologo -v quiet
dotnet build tests/KubeStack.Benchmarks/KubeStack.Benchmarks.csproj -c Release -nologo -v quiet
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
exec dotnet tests/KubeStack.Benchmarks/bin/Release/net10.0/KubeStack.Benchmarks.dll "$@"
