#!/usr/bin/env bash
# Stops exactly what lab/lab-up.sh started: the daemons whose PID files are under /run/kubestack-lab/.
# Never kills by name. PID 1 on our machines does not reap orphans, so "alive" means /proc/PID/stat state != Z.
#
#   lab/lab-down.sh            stop the lab daemons (domains and pools are left defined)
#   lab/lab-down.sh --purge    first destroy and undefine test leftovers: domains, pools, volumes, OVS bridges and OVN
#                              switches/routers/address sets whose names start
#                              with the test prefix (LAB_TEST_PREFIX, default "kst-")
set -euo pipefail

LAB_RUN=${LAB_RUN:-/run/kubestack-lab}
LAB_STATE=${LAB_STATE:-/var/lib/kubestack-lab}
LAB_TEST_PREFIX=${LAB_TEST_PREFIX:-kst-}
URI=qemu:///system

log() { printf '[lab-down %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

pid_alive() {
  local pid=$1 stat
  [[ -n "$pid" && -r /proc/$pid/stat ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z && "${stat%% *}" != X ]]
}

purge=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "lab-down.sh: unknown argument '$arg' (expected --purge)" >&2; exit 2 ;;
  esac
done

purge_test_leftovers() {
  virsh -c "$URI" version >/dev/null 2>&1 || { log "libvirtd does not answer: nothing to purge"; return 0; }
  local name pool vol
  while read -r name; do
    [[ -n $name && $name == "$LAB_TEST_PREFIX"* ]] || continue
    log "purging domain $name"
    virsh -c "$URI" destroy "$name" >/dev/null 2>&1 || true
    virsh -c "$URI" undefine "$name" --snapshots-metadata --checkpoints-metadata --managed-save --nvram >/dev/null 2>&1 \
      || virsh -c "$URI" undefine "$name" >/dev/null 2>&1 || true
  done < <(virsh -c "$URI" list --all --name 2>/dev/null)
  while read -r pool; do
    [[ -n $pool && $pool == "$LAB_TEST_PREFIX"* ]] || continue
    log "purging pool $pool (and its volumes)"
    virsh -c "$URI" pool-start "$pool" >/dev/null 2>&1 || true
    while read -r vol; do
      [[ -n $vol ]] && virsh -c "$URI" vol-delete "$vol" --pool "$pool" >/dev/null 2>&1 || true
    done < <(virsh -c "$URI" vol-list "$pool" --name 2>/dev/null || true)
    virsh -c "$URI" pool-destroy "$pool" >/dev/null 2>&1 || true
    virsh -c "$URI" pool-delete "$pool" >/dev/null 2>&1 || true
    virsh -c "$URI" pool-undefine "$pool" >/dev/null 2>&1 || true
  done < <(virsh -c "$URI" pool-list --all --name 2>/dev/null)
  # per-test work directories (serial logs, pool targets) the tests failed to remove
  local d
  for d in "$LAB_STATE"/tests/"$LAB_TEST_PREFIX"* "$LAB_STATE"/pools/"$LAB_TEST_PREFIX"*; do
    [[ -e $d ]] || continue
    log "removing $d"
    rm -rf -- "$d"
  done
}

# stop_daemon NAME : SIGTERM the PID in $LAB_RUN/NAME.pid, wait up to 15 s, then SIGKILL
stop_daemon() {
  local name=$1 pidfile=$LAB_RUN/$1.pid pid
  [[ -s $pidfile ]] || return 0
  pid=$(tr -d '[:space:]' <"$pidfile")
  if pid_alive "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if pid_alive "$pid"; then
      log "$name did not exit within 15 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

# OVN first (ovn-controller still talks to OVS), then OVS. Netdev bridges are persistent tap devices that outlive
# ovs-vswitchd, so every bridge is deleted BEFORE vswitchd stops.
down_ovn() {
  local d
  for d in ovn-controller ovn-northd ovnsb_db ovnnb_db; do stop_daemon "$d"; done
}

down_ovs() {
  local br
  if [[ -s $LAB_RUN/ovs-vswitchd.pid ]] && pid_alive "$(tr -d '[:space:]' <"$LAB_RUN/ovs-vswitchd.pid")"; then
    while read -r br; do
      [[ -n $br ]] || continue
      log "deleting OVS bridge $br"
      ovs-vsctl --timeout=10 --if-exists del-br "$br" || log "could not delete OVS bridge $br (remove the tap with: ip link del $br)"
    done < <(ovs-vsctl --timeout=10 list-br 2>/dev/null || true)
  fi
  for d in ovs-vswitchd ovsdb-server; do stop_daemon "$d"; done
}

purge_ovn_leftovers() {
  [[ -S /var/run/ovn/ovnnb_db.sock ]] || return 0
  local kind name
  for kind in Logical_Switch Logical_Router Address_Set; do
    # record names print bare with --bare
    while read -r name; do
      [[ -n $name && $name == "$LAB_TEST_PREFIX"* ]] || continue
      log "purging OVN $kind $name"
      ovn-nbctl --timeout=10 --if-exists destroy "$kind" "$name" >/dev/null 2>&1 || true
    done < <(ovn-nbctl --timeout=10 --bare --columns=name list "$kind" 2>/dev/null || true)
  done
}

purge_ovs_leftovers() {
  [[ -S /var/run/openvswitch/db.sock ]] || return 0
  local br
  while read -r br; do
    [[ -n $br && $br == "$LAB_TEST_PREFIX"* ]] || continue
    log "purging OVS bridge $br"
    ovs-vsctl --timeout=10 --if-exists del-br "$br" || true
  done < <(ovs-vsctl --timeout=10 list-br 2>/dev/null || true)
}

# node2 (the second libvirt "node" of the migration tests): its daemons, then its veth pair and network namespace.
# Guests still running on node2 keep running (like on the first node); --purge destroys kst-* domains there first.
NODE2_URI=qemu+tcp://${NODE2_ADDR:-10.77.2.2}/system
purge_node2_leftovers() {
  [[ -s $LAB_RUN/node2-libvirtd.pid ]] && pid_alive "$(tr -d '[:space:]' <"$LAB_RUN/node2-libvirtd.pid")" || return 0
  local name
  while read -r name; do
    [[ -n $name && $name == "$LAB_TEST_PREFIX"* ]] || continue
    log "purging node2 domain $name"
    virsh -c "$NODE2_URI" destroy "$name" >/dev/null 2>&1 || true
    virsh -c "$NODE2_URI" undefine "$name" >/dev/null 2>&1 || true
  done < <(virsh -c "$NODE2_URI" list --all --name 2>/dev/null || true)
  while read -r name; do
    [[ -n $name && $name == "$LAB_TEST_PREFIX"* ]] || continue
    log "purging node2 pool $name"
    virsh -c "$NODE2_URI" pool-destroy "$name" >/dev/null 2>&1 || true
    virsh -c "$NODE2_URI" pool-undefine "$name" >/dev/null 2>&1 || true
  done < <(virsh -c "$NODE2_URI" pool-list --all --name 2>/dev/null || true)
}

down_node2() {
  local d
  for d in node2-libvirtd node2-virtlogd; do stop_daemon "$d"; done
  ip link show ks-node2-h >/dev/null 2>&1 && ip link del ks-node2-h
  if ip netns list | grep -qw kubestack-node2; then ip netns del kubestack-node2; fi
  return 0
}

if ((purge)); then purge_node2_leftovers; purge_test_leftovers; purge_ovn_leftovers; purge_ovs_leftovers; fi
if [[ -s $LAB_RUN/libvirtd.pid ]] && running=$(virsh -c "$URI" list --name 2>/dev/null | grep -c . ); [[ ${running:-0} -gt 0 ]]; then
  # libvirtd leaves guests running when it stops; the next libvirtd reconnects to them
  log "$running domain(s) still running: their QEMU processes stay up (lab-down.sh --purge removes kst-* test domains)"
fi
# reverse start order; later components (OVN, OVS, FTP) add their stop steps before libvirt's
down_ftp() { stop_daemon vsftpd; }
down_ftp
down_node2
down_ovn
down_ovs
for d in libvirtd virtlockd virtlogd; do stop_daemon "$d"; done
rm -f "$LAB_RUN/up.stamp"
log "lab stopped"
