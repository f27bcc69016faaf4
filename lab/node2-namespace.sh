#!/usr/bin/env bash
# The second lab "node" (component node2 of lab/lab-up.sh): runs INSIDE
#   ip netns exec kubestack-node2 unshare --mount --uts --propagation private lab/node2-namespace.sh STATE RUN
# and starts a second virtlogd + libvirtd there. The network namespace gives the node its own address (veth pair to
# the host); the private mount namespace gives its QEMU driver its own /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt (bind mounts of STATE/{etc,run,lib,cache,log}); the UTS namespace its own
# host name (libvirt refuses a migration whose source and target report the same host name or host UUID). Everything
# else (/var/lib/kubestack-lab with the guest kernel, test disks and pools) is the same file system on both nodes:
# the lab's "shared storage". The daemons stay in these namespaces after this script exits; their PID files are
# RUN/node2-virtlogd.pid and RUN/node2-libvirtd.pid (PIDs of the host's PID namespace). See docs/host-lab.md.
set -euo pipefail

state=${1:?usage: node2-namespace.sh STATE_DIR RUN_DIR}
run=${2:?usage: node2-namespace.sh STATE_DIR RUN_DIR}

hostname kubestack-node2
ip link set lo up
for d in etc run lib cache log; do mkdir -p "$state/$d"; done
mount --bind "$state/etc" /etc/libvirt
mount --bind "$state/run" /run/libvirt
mount --bind "$state/lib" /var/lib/libvirt
mount --bind "$state/cache" /var/cache/libvirt
mount --bind "$state/log" /var/log/libvirt
mkdir -p /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt/qemu /etc/libvirt/qemu /etc/libvirt/storage

virtlogd -d -p "$run/node2-virtlogd.pid"
libvirtd -d -l -p "$run/node2-libvirtd.pid"
