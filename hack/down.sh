#!/usr/bin/env bash
# `make down`: stops exactly what `make up` (hack/up.sh) started, from the pid files in .kubestack/pids/,
# and checks that none of those processes is left. An external cluster ($KUBECONFIG) is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${KUBESTACK_STATE_DIR:-.kubestack}
PID_DIR=$STATE_DIR/pids

log() { printf '== %s\n' "$*"; }

# is_running PID: exists and is not a zombie (PID 1 here does not reap, so a killed child can stay a zombie).
is_running() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $state != X ]]
}

# ours PID MARKER: the pid still belongs to the process we started (guards against pid reuse).
ours() {
  local pid=$1 marker=$2
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$marker"
}

stop_one() {
  local name=$1 pidfile=$PID_DIR/$1.pid pid marker
  pid=$(cat "$pidfile")
  marker=$(cat "$PID_DIR/$name.marker" 2>/dev/null || echo "")
  if ! is_running "$pid"; then
    log "$name (pid $pid) already stopped"
  elif [[ -n $marker ]] && ! ours "$pid" "$marker"; then
    log "$name: pid $pid is now another program, not touched"
  else
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      is_running "$pid" || break
      sleep 0.1
    done
    if is_running "$pid"; then
      log "$name (pid $pid) ignored SIGTERM for 10s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do is_running "$pid" || break; sleep 0.1; done
    fi
    if is_running "$pid"; then
      echo "make down: $name (pid $pid) is still running" >&2
      return 1
    fi
    log "$name (pid $pid) stopped"
  fi
  rm -f "$pidfile" "$PID_DIR/$name.marker"
}

# remove_quickstart: while the agent still runs, delete the demo objects of hack/quickstart.sh so that the agent's
# finalizers clean the host (domain, volume, pool); then the demo's bridge. Objects of the user are not touched.
remove_quickstart() {
  local node kcfg=$STATE_DIR/kubeconfig
  [[ -f $STATE_DIR/quickstart-node ]] || return 0
  node=$(cat "$STATE_DIR/quickstart-node")
  if [[ -f $PID_DIR/node-agent.pid ]] && is_running "$(cat "$PID_DIR/node-agent.pid")" && [[ -f $kcfg ]]; then
    log "deleting the quickstart objects (the agent cleans the host: VM ksvm0, disk ksdisk0, pool kspool)"
    for obj in vm/ksvm0 vmd/ksdisk0 vmp/kspool; do
      kubectl --kubeconfig "$kcfg" delete "$obj" --ignore-not-found --timeout=90s > /dev/null \
        || log "$obj was not deleted in time: see $STATE_DIR/logs/node-agent.log"
    done
  else
    log "the agent is not running: quickstart objects on node $node are left as they are"
  fi
  if ip link show ksbr0 > /dev/null 2>&1; then ip link del ksbr0 || true; fi
  rm -f "$STATE_DIR/quickstart-node"
}

main() {
  remove_quickstart
  shopt -s nullglob
  local files=("$PID_DIR"/*.pid) failed=0
  shopt -u nullglob
  if ((${#files[@]} == 0)); then
    log "nothing to stop (no pid files in $PID_DIR)"
    return 0
  fi
  # reverse start order: agent and operator before the API they talk to
  for name in node-agent operator api-emulator; do
    [[ -f $PID_DIR/$name.pid ]] && { stop_one "$name" || failed=1; }
  done
  for f in "$PID_DIR"/*.pid; do
    [[ -f $f ]] && { stop_one "$(basename "$f" .pid)" || failed=1; }
  done
  # the emulator's kubeconfig points at a port nobody listens on any more
  if [[ $failed == 0 && $(cat "$STATE_DIR/api" 2>/dev/null) == emulator ]]; then rm -f "$STATE_DIR/kubeconfig"; fi
  rm -f "$STATE_DIR/api"
  return $failed
}

main "$@"
