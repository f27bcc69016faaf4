#!/usr/bin/env bash
# `make up`: brings up the local KubeStack stack on this machine and returns.
#   - the Kubernetes API: the cluster in $KUBECONFIG when it is set and reachable, else the project's API emulator
#     (tests/KubeStack.ApiEmulator) started in the background on a free loopback port;
#   - the CRDs from crds/;
#   - the operator and the node agent as processes (each step starts what exists; later issues fill them in).
# Everything started is recorded under .kubestack/pids/ so that `make down` (hack/down.sh) stops exactly that.
# The kubeconfig for the stack is written to .kubestack/kubeconfig. No shell string is ever evaluated from input.
set -euo pipefail
cd "$(dirname "$0")/.."

# Overrides (for tests of this script): KUBESTACK_STATE_DIR, KUBESTACK_SKIP_BUILD=1, KUBESTACK_EMULATOR_DLL, KUBESTACK_BUILD_CONFIG,
# KUBESTACK_API_ONLY=1 (only the API and the CRDs: no host lab, agent or quickstart), KUBESTACK_NODE (default: this host's name),
# KUBESTACK_SKIP_QUICKSTART=1 (the stack without the demo VM), KUBESTACK_OPERATOR_DLL, KUBESTACK_WITH_OPERATOR=1 (the operator even with KUBESTACK_API_ONLY=1).
STATE_DIR=${KUBESTACK_STATE_DIR:-.kubestack}
PID_DIR=$STATE_DIR/pids
LOG_DIR=$STATE_DIR/logs
STACK_KUBECONFIG=$STATE_DIR/kubeconfig
BUILD_CONFIG=${KUBESTACK_BUILD_CONFIG:-Release}
EMULATOR_DLL=${KUBESTACK_EMULATOR_DLL:-tests/KubeStack.ApiEmulator/bin/$BUILD_CONFIG/net10.0/KubeStack.ApiEmulator.dll}
AGENT_DLL=node-agent/src/KubeStack.NodeAgent/bin/$BUILD_CONFIG/net10.0/KubeStack.NodeAgent.dll
OPERATOR_DLL=${KUBESTACK_OPERATOR_DLL:-operator/src/KubeStack.Operator/bin/$BUILD_CONFIG/net10.0/KubeStack.Operator.dll}
API_ONLY=${KUBESTACK_API_ONLY:-0}
NODE=${KUBESTACK_NODE:-$(hostname | tr '[:upper:]' '[:lower:]')}
SERIAL_DIR=/var/lib/libvirt/kubestack/serial
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { printf '== %s\n' "$*"; }
die() { printf 'make up: %s\n' "$*" >&2; exit 1; }

# is_running PID: the process exists and is not a zombie (PID 1 here does not reap children).
is_running() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]]
}

# running NAME: a process this script started earlier under NAME is still alive.
running() {
  local f=$PID_DIR/$1.pid
  [[ -f $f ]] && is_running "$(cat "$f")"
}

# start_bg NAME MARKER CMD...: starts CMD detached (own session, output to .kubestack/logs/NAME.log) and records its pid.
# MARKER is a string that /proc/PID/cmdline must contain; down.sh checks it before signalling (no stale-pid kills).
start_bg() {
  local name=$1 marker=$2; shift 2
  mkdir -p "$PID_DIR" "$LOG_DIR"
  : > "$LOG_DIR/$name.log"
  setsid "$@" > "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$PID_DIR/$name.pid"
  echo "$marker" > "$PID_DIR/$name.marker"
  log "$name started (pid $pid, log $LOG_DIR/$name.log)"
}

# wait_for_log NAME PATTERN SECONDS: waits until the process logs PATTERN; fails if it exits first.
wait_for_log() {
  local name=$1 pattern=$2 seconds=$3 pid
  pid=$(cat "$PID_DIR/$name.pid")
  for ((i = 0; i < seconds * 10; i++)); do
    grep -q -- "$pattern" "$LOG_DIR/$name.log" 2>/dev/null && return 0
    is_running "$pid" || { cat "$LOG_DIR/$name.log" >&2; die "$name exited before it was ready"; }
    sleep 0.1
  done
  die "$name not ready after ${seconds}s (see $LOG_DIR/$name.log)"
}

kubectl_stack() { kubectl --kubeconfig "$STACK_KUBECONFIG" "$@"; }

build() {
  if [[ ${KUBESTACK_SKIP_BUILD:-0} == 1 ]]; then log "build skipped (KUBESTACK_SKIP_BUILD=1)"; return; fi
  log "building the API emulator ($BUILD_CONFIG)"
  dotnet build tests/KubeStack.ApiEmulator/KubeStack.ApiEmulator.csproj -c "$BUILD_CONFIG" -nologo -v q
  if [[ $API_ONLY != 1 ]]; then
    log "building the node agent and the operator ($BUILD_CONFIG)"
    dotnet build node-agent/src/KubeStack.NodeAgent/KubeStack.NodeAgent.csproj -c "$BUILD_CONFIG" -nologo -v q
    dotnet build operator/src/KubeStack.Operator/KubeStack.Operator.csproj -c "$BUILD_CONFIG" -nologo -v q
  elif [[ ${KUBESTACK_WITH_OPERATOR:-0} == 1 ]]; then
    dotnet build operator/src/KubeStack.Operator/KubeStack.Operator.csproj -c "$BUILD_CONFIG" -nologo -v q
  fi
}

# lab_up: libvirtd, virtlogd and the test guest (lab/lab-up.sh installs what is missing; idempotent).
lab_up() {
  if [[ $API_ONLY == 1 ]]; then return; fi
  log "bringing up the host lab (lab/lab-up.sh)"
  lab/lab-up.sh
}

# start_api: an external cluster from $KUBECONFIG if reachable, else the emulator.
start_api() {
  mkdir -p "$STATE_DIR"
  if [[ -n ${KUBECONFIG:-} ]] && kubectl --request-timeout=5s get --raw /readyz > /dev/null 2>&1; then
    log "using the cluster of \$KUBECONFIG ($(kubectl config current-context 2>/dev/null || echo '?'))"
    kubectl config view --minify --flatten > "$STACK_KUBECONFIG"
    chmod 600 "$STACK_KUBECONFIG"
    echo external > "$STATE_DIR/api"
    return
  fi
  [[ -n ${KUBECONFIG:-} ]] && log "\$KUBECONFIG is set but its cluster does not answer: starting the emulator instead"
  if running api-emulator && kubectl_stack --request-timeout=5s get --raw /readyz > /dev/null 2>&1; then
    log "API emulator already running (pid $(cat "$PID_DIR/api-emulator.pid"))"
    return
  fi
  [[ -f $EMULATOR_DLL ]] || die "$EMULATOR_DLL missing after the build"
  rm -f "$STACK_KUBECONFIG"
  start_bg api-emulator KubeStack.ApiEmulator.dll dotnet "$EMULATOR_DLL" --port 0 --kubeconfig "$STACK_KUBECONFIG" --log-requests
  wait_for_log api-emulator "listening on" 60
  echo emulator > "$STATE_DIR/api"
  for ((i = 0; i < 50; i++)); do
    kubectl_stack --request-timeout=2s get --raw /readyz > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "the API emulator does not answer /readyz"
}

apply_crds() {
  shopt -s nullglob
  local files=(crds/*.yaml)
  shopt -u nullglob
  if ((${#files[@]} == 0)); then
    log "no crds/*.yaml yet (run \`make crds\`): skipped"
    return
  fi
  log "applying ${#files[@]} CRDs from crds/"
  local args=()
  for f in "${files[@]}"; do args+=(-f "$f"); done
  kubectl_stack apply "${args[@]}" > /dev/null
  kubectl_stack wait --for condition=established --timeout=60s crd --all > /dev/null
}

# start_operator: the operator with its admission webhook on loopback (a self-signed development certificate; its CA is
# written to .kubestack/webhook-ca.pem) and, on the emulator, the ValidatingWebhookConfiguration that makes the API call it,
# so `kubectl apply` of a bad request is refused with the field and the rule. Leader election runs as in a cluster.
start_operator() {
  if [[ $API_ONLY == 1 && ${KUBESTACK_WITH_OPERATOR:-0} != 1 ]]; then log "operator: skipped (KUBESTACK_API_ONLY=1)"; return; fi
  if running operator; then log "operator already running (pid $(cat "$PID_DIR/operator.pid"))"; return; fi
  [[ -f $OPERATOR_DLL ]] || die "$OPERATOR_DLL missing after the build"
  kubectl_stack create namespace kubestack-system --dry-run=client -o yaml | kubectl_stack apply -f - > /dev/null
  rm -f "$STATE_DIR/webhook-ca.pem"
  start_bg operator KubeStack.Operator.dll dotnet "$OPERATOR_DLL" --kubeconfig "$STACK_KUBECONFIG" \
    --webhook-dev-cert true --webhook-dev-ca-out "$STATE_DIR/webhook-ca.pem" --webhook-address 127.0.0.1 --webhook-port 0 \
    --leader-namespace kubestack-system --identity "operator-$NODE"
  wait_for_log operator "Admission webhook serving on" 60
  wait_for_log operator "is the leader" 60
  local url
  url=$(grep -o 'Admission webhook serving on [^ ]*' "$LOG_DIR/operator.log" | tail -1 | sed -E 's/^Admission webhook serving on //')
  if [[ $(cat "$STATE_DIR/api") != emulator ]]; then
    log "operator: webhook at $url is on this machine's loopback; an external cluster cannot call it, so it is not registered (the chart registers the in-cluster Service)"
    return
  fi
  register_webhook "$url"
}

# register_webhook URL: the 8 kinds' CREATE/UPDATE go through the operator's /validate (failurePolicy Fail).
register_webhook() {
  local url=$1 ca
  ca=$(base64 -w0 < "$STATE_DIR/webhook-ca.pem")
  kubectl_stack apply -f - > /dev/null <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: kubestack-local
webhooks:
  - name: requests.doslab.io
    admissionReviewVersions: ["v1"]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      url: "$url"
      caBundle: "$ca"
    rules:
      - operations: ["CREATE", "UPDATE"]
        apiGroups: ["doslab.io"]
        apiVersions: ["v1"]
        resources: ["virtualmachines", "virtualmachinedisks", "virtualmachinepools", "virtualmachinediskimages",
                    "virtualmachinedisksnapshots", "virtualmachinesnapshots", "virtualmachineimages", "virtualmachinenetworks"]
        scope: Namespaced
YAML
  log "operator: admission webhook $url registered (ValidatingWebhookConfiguration kubestack-local)"
}

start_agent() {
  if [[ $API_ONLY == 1 ]]; then log "node agent: skipped (KUBESTACK_API_ONLY=1)"; return; fi
  if running node-agent; then log "node agent already running (pid $(cat "$PID_DIR/node-agent.pid"))"; return; fi
  [[ -f $AGENT_DLL ]] || die "$AGENT_DLL missing after the build"
  mkdir -p "$SERIAL_DIR"
  # The lab runs guests under TCG: the node's domain type is configured, never guessed from /dev/kvm.
  start_bg node-agent KubeStack.NodeAgent.dll dotnet "$AGENT_DLL" --node "$NODE" --kubeconfig "$STACK_KUBECONFIG" \
    --domain-type qemu --libvirt-uri qemu:///system --serial-log-dir "$SERIAL_DIR"
  wait_for_log node-agent "informers synced" 60
}

quickstart() {
  if [[ $API_ONLY == 1 || ${KUBESTACK_SKIP_QUICKSTART:-0} == 1 ]]; then return; fi
  log "quickstart: a real VM lifecycle on node $NODE (hack/quickstart.sh)"
  echo "$NODE" > "$STATE_DIR/quickstart-node"
  hack/quickstart.sh "$STACK_KUBECONFIG" "$NODE" "$SERIAL_DIR"
}

print_usage() {
  cat <<USAGE

KubeStack local stack is up ($(cat "$STATE_DIR/api") API at $(kubectl_stack config view --minify -o jsonpath='{.clusters[0].cluster.server}')).
  kubectl --kubeconfig $STACK_KUBECONFIG get crd
  export KUBECONFIG=$(realpath "$STACK_KUBECONFIG")   # then plain kubectl works
Logs: $LOG_DIR/   Stop everything with: make down
USAGE
}

main() {
  command -v dotnet > /dev/null || die "dotnet is not installed"
  command -v kubectl > /dev/null || die "kubectl is not installed"
  build
  lab_up
  start_api
  apply_crds
  start_operator
  start_agent
  quickstart
  print_usage
}

main "$@"
