#!/usr/bin/env bash
# The main job's demo, run by `make up` once the stack is up: a real VM lifecycle on this machine through the
# Kubernetes API — a pool, a disk and a VM installed from the lab's ISO, then suspend, resume and reboot — each step
# waited for on the object (status.lifecycle) and the guest's own serial console.
# Usage: hack/quickstart.sh KUBECONFIG NODE [SERIAL_LOG_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
KCFG=$1 NODE=$2 SERIAL_DIR=${3:-/var/lib/libvirt/kubestack/serial}
EXAMPLES=deploy/examples/quickstart
ISO_SRC=/var/lib/kubestack-lab/lab.iso
ISO_DIR=/var/lib/libvirt/kubestack/iso
BRIDGE=ksbr0

log() { printf '== %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }
k() { kubectl --kubeconfig "$KCFG" "$@"; }

# wait_request KIND NAME KEY SECONDS: waits until status.lifecycle says KEY Succeeded (fails on Failed).
wait_request() {
  local kind=$1 name=$2 key=$3 seconds=$4 state
  for ((i = 0; i < seconds * 2; i++)); do
    state=$(k get "$kind" "$name" -o jsonpath='{.status.lifecycle.key}/{.status.lifecycle.phase}/{.status.lifecycle.reason}: {.status.lifecycle.message}' 2>/dev/null || true)
    case $state in
      "$key/Succeeded/"*) log "$kind/$name $key: Succeeded"; return 0 ;;
      "$key/Failed/"*) die "$kind/$name $key failed: ${state#*/Failed/}" ;;
    esac
    sleep 0.5
  done
  die "$kind/$name $key did not finish in ${seconds}s (last: ${state:-none}); see .kubestack/logs/node-agent.log"
}

# wait_serial VM PATTERN SECONDS: the guest printed PATTERN on its serial console.
wait_serial() {
  local log_file=$SERIAL_DIR/$1-serial.log
  for ((i = 0; i < $3 * 2; i++)); do
    [[ -f $log_file ]] && grep -q -- "$2" "$log_file" && { log "guest $1: $(grep -- "$2" "$log_file" | tail -1)"; return 0; }
    sleep 0.5
  done
  die "guest $1 did not print '$2' in ${3}s (serial log $log_file)"
}

apply_example() {
  sed "s/__NODE__/$NODE/g" "$1" | k apply -f - > /dev/null
}

request() { # request KIND NAME KEY: submit a parameterless operation on an existing object
  k patch "$1" "$2" --type=merge -p "{\"spec\":{\"lifecycle\":{\"$3\":{}}}}" > /dev/null
}

prepare_host() {
  [[ -f $ISO_SRC ]] || die "$ISO_SRC is missing: run make lab-up"
  install -d -m 0755 "$ISO_DIR" "$SERIAL_DIR" /var/lib/libvirt/kubestack/quickstart
  cmp -s "$ISO_SRC" "$ISO_DIR/kubestack-lab.iso" || install -m 0644 "$ISO_SRC" "$ISO_DIR/kubestack-lab.iso"
  if ! ip link show "$BRIDGE" > /dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge
    ip link set "$BRIDGE" up
  fi
}

main() {
  if k get vm ksvm0 > /dev/null 2>&1; then
    log "quickstart VM ksvm0 exists already: not created again"
    return 0
  fi
  prepare_host
  apply_example "$EXAMPLES/01-pool.yaml";  wait_request vmp kspool createPool 60
  apply_example "$EXAMPLES/02-disk.yaml";  wait_request vmd ksdisk0 createDisk 60
  apply_example "$EXAMPLES/03-vm.yaml";    wait_request vm ksvm0 createAndStartVMFromISO 120
  wait_serial ksvm0 LAB-GUEST-BOOTED 120
  request vm ksvm0 suspendVM;  wait_request vm ksvm0 suspendVM 60
  request vm ksvm0 resumeVM;   wait_request vm ksvm0 resumeVM 60
  : > "$SERIAL_DIR/ksvm0-serial.log.mark"
  request vm ksvm0 rebootVM;   wait_request vm ksvm0 rebootVM 120
  echo
  k get vmp,vmd,vm -o wide
  echo
  log "the VM ksvm0 runs under libvirt: virsh -c qemu:///system list; its console log: $SERIAL_DIR/ksvm0-serial.log"
}

main "$@"
