#!/usr/bin/env bash
# make soak: the long versions of the reliability suites (tests/KubeStack.Reliability.Tests with KUBESTACK_SOAK=1:
# more objects, requests and kills, longer API pauses). See docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 KUBESTACK_SOAK=1
dotnet build tests/KubeStack.Reliability.Tests/KubeStack.Reliability.Tests.csproj -c Release -nologo -v quiet
dotnet test tests/KubeStack.Reliability.Tests/KubeStack.Reliability.Tests.csproj -c Release --no-build -nologo \
  --logger "console;verbosity=normal"
