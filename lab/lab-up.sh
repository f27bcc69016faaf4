#!/usr/bin/env bash
# KubeStack host lab: brings up the real host infrastructure the host-integration tests and `make up` use.
#
#   lab/lab-up.sh [component...]     components: libvirt guest storage ovs ovn ftp node2 (default: all of them, in that order)
#
# Idempotent: every step probes first and does nothing when its result is already there. Installs the Debian
# packages it needs when they are missing (apt-get update at most once per run). Starts daemons as plain background
# processes with PID files under /run/kubestack-lab/ (no systemd on our machines); lab/lab-down.sh stops exactly those.
# State (guest kernel, initramfs, ISO, serial logs) lives in /var/lib/kubestack-lab/. See docs/host-lab.md.
set -euo pipefail

LAB_RUN=${LAB_RUN:-/run/kubestack-lab}
LAB_STATE=${LAB_STATE:-/var/lib/kubestack-lab}
LAB_LOG=${LAB_LOG:-/var/log/kubestack-lab}
LIBVIRT_SOCK=/run/libvirt/libvirt-sock
# INITRD=No: the kernel package's postinst hook skips update-initramfs (the lab builds its own busybox initramfs;
# Debian's would cost minutes and is never used)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C INITRD=No

log() { printf '[lab-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[lab-up] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

# alive PID: the process exists and is not a zombie (PID 1 here does not reap orphans, so kill -0 is not enough)
pid_alive() {
  local pid=$1 stat
  [[ -n "$pid" && -r /proc/$pid/stat ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z && "${stat%% *}" != X ]]
}

pidfile_alive() { [[ -s "$1" ]] && pid_alive "$(tr -d '[:space:]' < "$1")"; }

APT_UPDATED=0
# ensure_packages pkg... : installs the packages that are not installed yet
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  log "installing: ${missing[*]}"
  local t0=$SECONDS
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >"$LAB_LOG/apt.log" 2>&1 \
    || { tail -n 30 "$LAB_LOG/apt.log" >&2; die "apt-get install ${missing[*]} failed (full log: $LAB_LOG/apt.log)"; }
  log "installed in $((SECONDS - t0)) s"
}

# wait_for SECONDS DESCRIPTION COMMAND... : polls COMMAND every 0.1 s until it succeeds
wait_for() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# start_daemon NAME COMMAND... : starts a self-daemonizing daemon that writes $LAB_RUN/NAME.pid (unless alive)
start_daemon() {
  local name=$1; shift
  local pidfile=$LAB_RUN/$name.pid
  if pidfile_alive "$pidfile"; then
    log "$name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  rm -f "$pidfile"
  "$@" || die "$name failed to start: $*"
  wait_for 10 "$name pid file" pidfile_alive "$pidfile" || die "$name did not write a live pid into $pidfile"
  log "$name started (pid $(cat "$pidfile"))"
}

# ---------------------------------------------------------------- component: libvirt

up_libvirt() {
  # libxml2-utils: xmllint, which virt-xml-validate (libvirt-clients) runs for the schema checks of generated XML
  ensure_packages libvirt-daemon-system libvirt-clients libvirt0 qemu-system-x86 qemu-utils libxml2-utils iproute2
  mkdir -p /var/lib/libvirt/images /var/log/libvirt /run/libvirt

  if [[ -S $LIBVIRT_SOCK ]] && ! pidfile_alive "$LAB_RUN/libvirtd.pid" && virsh -c qemu:///system version >/dev/null 2>&1; then
    # someone else (a system service, an earlier manual start) runs libvirtd: use it, never take it over
    log "libvirtd already answers on $LIBVIRT_SOCK and was not started by the lab: using it as is"
    return 0
  fi

  start_daemon virtlogd virtlogd -d -p "$LAB_RUN/virtlogd.pid"
  start_daemon virtlockd virtlockd -d -p "$LAB_RUN/virtlockd.pid"
  if ! pidfile_alive "$LAB_RUN/libvirtd.pid"; then
    # a socket left behind by a dead daemon would make the wait below pass too early
    rm -f "$LIBVIRT_SOCK" /run/libvirt/libvirt-sock-ro /run/libvirt/libvirt-admin-sock
  fi
  start_daemon libvirtd libvirtd -d -p "$LAB_RUN/libvirtd.pid"
  wait_for 15 "libvirt socket" test -S "$LIBVIRT_SOCK" || die "libvirtd did not create $LIBVIRT_SOCK within 15 s (see /var/log/libvirt)"
  wait_for 15 "virsh version" virsh -c qemu:///system version \
    || die "libvirtd does not answer 'virsh -c qemu:///system version' within 15 s"
  log "libvirt: $(virsh -c qemu:///system version 2>/dev/null | tr -s ' \n' ' ')"
}

# ---------------------------------------------------------------- component: guest

# the newest Debian guest kernel that has both an image in /boot and a module tree
guest_kernel_version() {
  local v best=
  for v in /boot/vmlinuz-*; do
    [[ -e $v ]] || continue
    v=${v#/boot/vmlinuz-}
    [[ -d /lib/modules/$v/kernel ]] || continue
    if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n1) == "$v" ]]; then best=$v; fi
  done
  [[ -n $best ]] || return 1
  echo "$best"
}

# modules the guest loads, in dependency order (modprobe --show-depends), decompressed for busybox insmod
GUEST_MODULES=(virtio_pci virtio_blk virtio_net virtio_balloon virtio_scsi virtio_console button evdev)

build_initramfs() {
  local kver=$1 out=$2
  local root; root=$(mktemp -d "$LAB_STATE/initramfs.XXXXXX")
  mkdir -p "$root"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,tmp,run,lib/modules}
  cp /bin/busybox "$root/bin/busybox"
  # QEMU guest agent (Debian's qemu-ga staged by stage_guest_agent, with the libraries it links) and a root account
  # for it to change (setGuestPassword, injectSshKey); the init starts it only when the domain has the channel
  if [[ -x $LAB_STATE/qga/usr/sbin/qemu-ga ]]; then
    mkdir -p "$root/usr/sbin" "$root/root" "$root/var"
    cp "$LAB_STATE/qga/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
    local lib
    for lib in $(ldd "$LAB_STATE/qga/usr/sbin/qemu-ga" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
    printf 'root:x:0:\n' >"$root/etc/group"
    printf 'passwd: files\ngroup: files\nshadow: files\n' >"$root/etc/nsswitch.conf"
    chmod 600 "$root/etc/shadow"
    chmod 700 "$root/root"
    # qemu-ga's guest-set-user-password runs chpasswd, which busybox-static lacks: a stand-in reading user:password
    # lines (-e: already hashed) that writes a SHA-512 crypt hash into /etc/shadow, as shadow-utils' chpasswd does
    cat >"$root/sbin/chpasswd" <<'CHPASSWD'
#!/bin/sh
crypted=0; [ "$1" = -e ] && crypted=1
while IFS= read -r line; do
  user=${line%%:*} pw=${line#*:}
  grep -q "^$user:" /etc/shadow || { echo "chpasswd: unknown user $user" >&2; exit 1; }
  if [ $crypted = 1 ]; then hash=$pw; else hash=$(printf '%s\n' "$pw" | mkpasswd -m sha512 -P 0) || exit 1; fi
  awk -F: -v OFS=: -v u="$user" -v h="$hash" '$1 == u { $2 = h } { print }' /etc/shadow >/etc/shadow.new || exit 1
  chmod 600 /etc/shadow.new && mv /etc/shadow.new /etc/shadow
done
CHPASSWD
    chmod 755 "$root/sbin/chpasswd"
  fi

  [[ -s /lib/modules/$kver/modules.dep ]] || depmod "$kver"
  # module load order: --show-depends lists dependencies first; keep the first occurrence of each
  local m line path order=() seen=" "
  for m in "${GUEST_MODULES[@]}"; do
    while read -r line; do
      [[ $line == insmod\ * ]] || continue       # "builtin X" lines need nothing
      path=$(awk '{print $2}' <<<"$line")
      [[ $seen == *" $path "* ]] && continue
      seen+="$path "
      order+=("$path")
    done < <(modprobe -S "$kver" --show-depends "$m" 2>/dev/null || true)
  done
  ((${#order[@]} >= ${#GUEST_MODULES[@]})) \
    || die "modprobe -S $kver --show-depends found only ${#order[@]} module files for ${GUEST_MODULES[*]} (is /lib/modules/$kver complete?)"
  local n=0 base
  : >"$root/etc/modules.order"
  for path in "${order[@]}"; do
    base=$(basename "$path"); base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
    case $path in
      *.ko.xz) xz -dc "$path" >"$root/lib/modules/$base" ;;
      *.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$base" ;;
      *.ko.gz) gzip -dc "$path" >"$root/lib/modules/$base" ;;
      *) cp "$path" "$root/lib/modules/$base" ;;
    esac
    echo "/lib/modules/$base" >>"$root/etc/modules.order"
    n=$((n + 1))
  done

  # ACPI power button -> immediate poweroff (makes `virsh shutdown` and ACPI `virsh reboot` work)
  printf '#!/bin/sh\necho "LAB-ACPI-POWER-BUTTON" >/dev/console\nexec /bin/busybox poweroff -f\n' >"$root/etc/acpi/PWRF/00000080"
  chmod 755 "$root/etc/acpi/PWRF/00000080"

  cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec >/dev/console 2>&1 </dev/null
loaded=0
for m in $(cat /etc/modules.order); do insmod "$m" 2>/dev/null && loaded=$((loaded + 1)); done
acpid -c /etc/acpi -l /tmp/acpid.log 2>/dev/null
source=disk
case " $(cat /proc/cmdline) " in *" lab_boot=iso "*) source=iso ;; esac
ip link set lo up 2>/dev/null
online_cpus() { for f in /sys/devices/system/cpu/cpu[0-9]*/online; do [ -f "$f" ] && [ "$(cat "$f")" = 0 ] && echo 1 >"$f"; done; }
# comma-separated entries of directory $1 matching the extended regex $2 (and not matching $3 when given)
list() { ls "$1" 2>/dev/null | grep -E "$2" | grep -vE "${3:-^$}" | tr '\n' ',' | sed 's/,$//'; }
online_cpus
# the guest agent on the virtio-serial port named org.qemu.guest_agent.0 (present only when the domain has the channel)
for p in /sys/class/virtio-ports/*; do
  [ -x /usr/sbin/qemu-ga ] && [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
  /usr/sbin/qemu-ga -d -m virtio-serial -p "/dev/${p##*/}" -t /run -f /run/qemu-ga.pid -l /tmp/qemu-ga.log \
    && echo "LAB-GUEST-AGENT started port=${p##*/}"
done
echo "LAB-GUEST-BOOTED kernel=$(uname -r) source=$source modules=$loaded cpus_online=$(cat /sys/devices/system/cpu/online)"
n=0
while true; do
  online_cpus
  mem=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  echo "LAB-TICK $n cpus_online=$(cat /sys/devices/system/cpu/online) MemTotal=$mem disks=$(list /sys/block '^(vd|sd|sr)') nics=$(list /sys/class/net '.' '^lo$')"
  n=$((n + 1))
  sleep 3
done
INIT
  chmod 755 "$root/init"

  (cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -9n) >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$root"
  log "initramfs built: $out ($(stat -c %s "$out") bytes, $n modules)"
}

build_iso() {
  local out=$1
  local tree; tree=$(mktemp -d "$LAB_STATE/iso.XXXXXX")
  mkdir -p "$tree/isolinux" "$tree/boot"
  cp /usr/lib/ISOLINUX/isolinux.bin "$tree/isolinux/"
  cp /usr/lib/syslinux/modules/bios/ldlinux.c32 "$tree/isolinux/"
  cp "$LAB_STATE/vmlinuz" "$tree/boot/vmlinuz"
  cp "$LAB_STATE/initrd.gz" "$tree/boot/initrd.gz"
  cat >"$tree/isolinux/isolinux.cfg" <<'CFG'
DEFAULT lab
PROMPT 0
TIMEOUT 0
LABEL lab
  KERNEL /boot/vmlinuz
  APPEND initrd=/boot/initrd.gz console=ttyS0 nokaslr no_timer_check quiet lab_boot=iso
CFG
  echo "KubeStack lab guest installer CD" >"$tree/README.TXT"
  xorriso -as mkisofs -quiet -o "$out.tmp" -V KUBESTACK_LAB -R -J \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$tree" 2>"$LAB_LOG/xorriso.log" \
    || { cat "$LAB_LOG/xorriso.log" >&2; die "xorriso failed to build $out"; }
  mv "$out.tmp" "$out"
  rm -rf "$tree"
  log "ISO built: $out ($(stat -c %s "$out") bytes)"
}

# boots the ISO once under TCG (cdrom only, <boot dev='cdrom'/>) and waits for LAB-GUEST-BOOTED on the serial log
verify_iso() {
  local iso=$1 stamp=$LAB_STATE/lab.iso.verified sum
  sum=$(sha256sum "$iso" | awk '{print $1}')
  if [[ -f $stamp && $(cat "$stamp") == "$sum" ]]; then return 0; fi
  local name=kst-lab-isocheck serial=$LAB_STATE/isocheck-serial.log xml=$LAB_STATE/isocheck.xml
  virsh -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
  rm -f "$serial"
  cat >"$xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='cdrom'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='$iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <serial type='pty'><log file='$serial' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
XML
  log "verifying the ISO boots (transient TCG domain $name, ~10-20 s)"
  local t0=$SECONDS
  virsh -c qemu:///system create "$xml" >/dev/null || die "virsh create of the ISO check domain failed"
  if wait_for 120 "ISO guest boot" grep -q 'LAB-GUEST-BOOTED.*source=iso' "$serial"; then
    virsh -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
    echo "$sum" >"$stamp"
    log "ISO boots: LAB-GUEST-BOOTED after $((SECONDS - t0)) s"
  else
    virsh -c qemu:///system destroy "$name" >/dev/null 2>&1 || true
    tail -n 20 "$serial" >&2 || true
    die "the ISO guest printed no LAB-GUEST-BOOTED within 120 s (serial log: $serial)"
  fi
}

# Debian's qemu-guest-agent binary, unpacked (not installed: the host runs no agent) into $LAB_STATE/qga for the guest
# initramfs; without it (no Debian mirror) the guest simply has no agent and the agent tests take the no-agent path
stage_guest_agent() {
  local d=$LAB_STATE/qga tmp
  [[ -x $d/usr/sbin/qemu-ga ]] && return 0
  ensure_packages libglib2.0-0 libnuma1 libudev1 liburing2
  tmp=$(mktemp -d "$LAB_STATE/qga-deb.XXXXXX")
  chmod 755 "$tmp"
  if (cd "$tmp" && apt-get download -q qemu-guest-agent >/dev/null 2>&1) && dpkg-deb -x "$tmp"/qemu-guest-agent_*.deb "$tmp/root"; then
    mkdir -p "$d/usr/sbin"
    cp "$tmp/root/usr/sbin/qemu-ga" "$d/usr/sbin/qemu-ga.tmp" && mv "$d/usr/sbin/qemu-ga.tmp" "$d/usr/sbin/qemu-ga"
    log "guest agent staged: $("$d/usr/sbin/qemu-ga" --version 2>/dev/null | head -n1)"
  else
    log "qemu-guest-agent could not be downloaded: the lab guest has no guest agent"
  fi
  rm -rf "$tmp"
}

up_guest() {
  # linux-image-amd64 only provides the guest kernel and its modules (never booted on this host)
  ensure_packages linux-image-amd64 busybox-static cpio kmod xz-utils isolinux syslinux-common xorriso
  local kver; kver=$(guest_kernel_version) || die "no guest kernel: /boot/vmlinuz-<ver> with /lib/modules/<ver> missing after installing linux-image-amd64"
  mkdir -p "$LAB_STATE"

  # rebuild when the kernel, busybox or the guest recipe (the build functions and the module list) changed; other
  # edits of this script (new components) keep the built guest
  local inputs
  stage_guest_agent
  inputs=$( { cat "/boot/vmlinuz-$kver" /bin/busybox; cat "$LAB_STATE/qga/usr/sbin/qemu-ga" 2>/dev/null; declare -f build_initramfs build_iso; echo "${GUEST_MODULES[*]}"; } | sha256sum | awk '{print $1}')
  if [[ -f $LAB_STATE/guest.inputs && $(cat "$LAB_STATE/guest.inputs") == "$inputs" && -f $LAB_STATE/initrd.gz && -f $LAB_STATE/vmlinuz && -f $LAB_STATE/lab.iso ]]; then
    log "guest up to date (kernel $kver)"
  else
    cp "/boot/vmlinuz-$kver" "$LAB_STATE/vmlinuz.tmp" && mv "$LAB_STATE/vmlinuz.tmp" "$LAB_STATE/vmlinuz"
    echo "$kver" >"$LAB_STATE/kernel.version"
    build_initramfs "$kver" "$LAB_STATE/initrd.gz"
    build_iso "$LAB_STATE/lab.iso"
    echo "$inputs" >"$LAB_STATE/guest.inputs"
  fi
  chmod 644 "$LAB_STATE"/{vmlinuz,initrd.gz,lab.iso}
  if [[ "${LAB_SKIP_ISO_CHECK:-0}" != 1 ]]; then verify_iso "$LAB_STATE/lab.iso"; fi
  # the marker the tests probe: written last, only when everything above succeeded
  printf 'kernel=%s\nvmlinuz=%s\ninitrd=%s\niso=%s\n' "$kver" "$LAB_STATE/vmlinuz" "$LAB_STATE/initrd.gz" "$LAB_STATE/lab.iso" >"$LAB_STATE/guest.ready"
}

# ---------------------------------------------------------------- component: storage

up_storage() {
  # storage roots the handlers and tests use (dir pools live below them)
  mkdir -p /var/lib/libvirt/images /mnt/localfs "$LAB_STATE/pools"
}

# ---------------------------------------------------------------- component: ovs

# Open vSwitch with the userspace (netdev) datapath: the kernel has no openvswitch module here, and a bridge with the
# default (system) datapath fails while ovs-vsctl still exits 0, so every bridge must set datapath_type=netdev.
# ovsdb-server and ovs-vswitchd keep their pid files in the default place (/var/run/openvswitch) so ovs-appctl finds
# them; the lab copies each pid into $LAB_RUN for lab-down.sh.
OVS_RUN=/var/run/openvswitch
OVS_DB=$LAB_STATE/ovs/conf.db

# start_ovs_daemon NAME COMMAND... : like start_daemon, but the daemon writes $OVS_RUN/NAME.pid (default location)
start_ovs_daemon() {
  local name=$1 dir=$2; shift 2
  local pidfile=$dir/$name.pid
  if pidfile_alive "$pidfile"; then
    cp "$pidfile" "$LAB_RUN/$name.pid"
    log "$name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  rm -f "$pidfile"
  "$@" || die "$name failed to start: $*"
  wait_for 10 "$name pid file" pidfile_alive "$pidfile" || die "$name did not write a live pid into $pidfile"
  cp "$pidfile" "$LAB_RUN/$name.pid"
  log "$name started (pid $(cat "$pidfile"))"
}

up_ovs() {
  ensure_packages openvswitch-switch openvswitch-common
  mkdir -p "$LAB_STATE/ovs" "$OVS_RUN" /var/log/openvswitch
  [[ -f $OVS_DB ]] || ovsdb-tool create "$OVS_DB" /usr/share/openvswitch/vswitch.ovsschema
  start_ovs_daemon ovsdb-server "$OVS_RUN" ovsdb-server "$OVS_DB" --remote=punix:$OVS_RUN/db.sock \
    --remote=db:Open_vSwitch,Open_vSwitch,manager_options --pidfile=$OVS_RUN/ovsdb-server.pid \
    --unixctl=$OVS_RUN/ovsdb-server.ctl --log-file=/var/log/openvswitch/ovsdb-server.log --detach --no-chdir
  wait_for 10 "ovsdb socket" test -S $OVS_RUN/db.sock || die "ovsdb-server did not create $OVS_RUN/db.sock"
  ovs-vsctl --no-wait init
  start_ovs_daemon ovs-vswitchd "$OVS_RUN" ovs-vswitchd unix:$OVS_RUN/db.sock --pidfile=$OVS_RUN/ovs-vswitchd.pid \
    --log-file=/var/log/openvswitch/ovs-vswitchd.log --detach --no-chdir
  wait_for 10 "ovs-vswitchd" ovs-appctl version || die "ovs-vswitchd does not answer ovs-appctl version"
  log "ovs: $(ovs-vsctl --version | head -n1)"
}

# ---------------------------------------------------------------- component: ovn

# OVN by hand (no ovn-ctl monitor processes): NB and SB ovsdb-servers, ovn-northd, and ovn-controller bound to the
# local OVS (chassis kubestack-lab, br-int with the netdev datapath). ovn-nbctl/ovn-sbctl reach the default sockets.
OVN_RUN=/var/run/ovn
up_ovn() {
  ensure_packages ovn-central ovn-host ovn-common
  local d=$LAB_STATE/ovn
  mkdir -p "$d" "$OVN_RUN" /var/log/ovn
  [[ -f $d/ovnnb_db.db ]] || ovsdb-tool create "$d/ovnnb_db.db" /usr/share/ovn/ovn-nb.ovsschema
  [[ -f $d/ovnsb_db.db ]] || ovsdb-tool create "$d/ovnsb_db.db" /usr/share/ovn/ovn-sb.ovsschema
  start_ovs_daemon ovnnb_db "$OVN_RUN" ovsdb-server "$d/ovnnb_db.db" --remote=punix:$OVN_RUN/ovnnb_db.sock \
    --remote=db:OVN_Northbound,NB_Global,connections --unixctl=$OVN_RUN/ovnnb_db.ctl --pidfile=$OVN_RUN/ovnnb_db.pid \
    --log-file=/var/log/ovn/ovsdb-server-nb.log --detach --no-chdir
  start_ovs_daemon ovnsb_db "$OVN_RUN" ovsdb-server "$d/ovnsb_db.db" --remote=punix:$OVN_RUN/ovnsb_db.sock \
    --remote=db:OVN_Southbound,SB_Global,connections --unixctl=$OVN_RUN/ovnsb_db.ctl --pidfile=$OVN_RUN/ovnsb_db.pid \
    --log-file=/var/log/ovn/ovsdb-server-sb.log --detach --no-chdir
  start_ovs_daemon ovn-northd "$OVN_RUN" ovn-northd --ovnnb-db=unix:$OVN_RUN/ovnnb_db.sock --ovnsb-db=unix:$OVN_RUN/ovnsb_db.sock \
    --pidfile=$OVN_RUN/ovn-northd.pid --log-file=/var/log/ovn/ovn-northd.log --detach --no-chdir
  ovn-nbctl --timeout=10 sync || die "ovn-nbctl sync failed: the northbound database does not answer"
  if pidfile_alive "$LAB_RUN/ovs-vswitchd.pid"; then
    ovs-vsctl set open . external_ids:system-id=kubestack-lab external_ids:ovn-remote=unix:$OVN_RUN/ovnsb_db.sock \
      external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=127.0.0.1 external_ids:ovn-bridge-datapath-type=netdev
    start_ovs_daemon ovn-controller "$OVN_RUN" ovn-controller unix:$OVS_RUN/db.sock --pidfile=$OVN_RUN/ovn-controller.pid \
      --log-file=/var/log/ovn/ovn-controller.log --detach --no-chdir
    wait_for 10 "br-int" ovs-vsctl br-exists br-int || die "ovn-controller did not create br-int within 10 s"
  fi
  log "ovn: $(ovn-nbctl --version | head -n1)"
}

# ---------------------------------------------------------------- component: ftp

# vsftpd on 127.0.0.1:2121 for the remote-backup tests (docs/host-lab.md): local user kstftp (lab password below,
# chrooted into its writable home), passive ports 30100-30199, binary transfers, REST/SIZE. Runs in the foreground
# of a background process (background=NO) whose PID the lab records; its own PAM service (pam_unix only) so the user
# needs no login shell.
FTP_USER=kstftp
FTP_PASSWORD=kstftp-lab-password
FTP_PORT=2121
up_ftp() {
  ensure_packages vsftpd
  local d=$LAB_STATE/ftp root=$LAB_STATE/ftp/root pidfile=$LAB_RUN/vsftpd.pid
  mkdir -p "$d" /var/run/vsftpd/empty
  if ! id -u "$FTP_USER" >/dev/null 2>&1; then
    useradd --system --home-dir "$root" --no-create-home --shell /usr/sbin/nologin "$FTP_USER"
  fi
  mkdir -p "$root"
  chown "$FTP_USER:" "$root"
  chmod 0755 "$root"
  echo "$FTP_USER:$FTP_PASSWORD" | chpasswd
  [[ -f /etc/pam.d/kubestack-ftp ]] || printf 'auth required pam_unix.so\naccount required pam_unix.so\nsession required pam_unix.so\n' >/etc/pam.d/kubestack-ftp
  local conf=$d/vsftpd.conf
  cat >"$conf.new" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$FTP_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
local_root=$root
pam_service_name=kubestack-ftp
userlist_enable=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=30100
pasv_max_port=30199
port_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
ssl_enable=NO
max_clients=64
max_per_ip=64
idle_session_timeout=300
data_connection_timeout=120
xferlog_enable=YES
vsftpd_log_file=$LAB_LOG/vsftpd.log
force_dot_files=YES
CONF
  if cmp -s "$conf.new" "$conf"; then
    rm -f "$conf.new"
  else
    mv "$conf.new" "$conf"
    if pidfile_alive "$pidfile"; then
      log "vsftpd configuration changed: restarting it"
      local old deadline=$((SECONDS + 10))
      old=$(tr -d '[:space:]' <"$pidfile")
      kill -TERM "$old" 2>/dev/null || true
      while pid_alive "$old" && ((SECONDS < deadline)); do sleep 0.1; done
    fi
  fi
  if pidfile_alive "$pidfile"; then
    log "vsftpd already running (pid $(cat "$pidfile"))"
  else
    rm -f "$pidfile"
    setsid vsftpd "$conf" </dev/null >>"$LAB_LOG/vsftpd.out" 2>&1 &
    echo $! >"$pidfile"
    wait_for 10 "vsftpd port $FTP_PORT" ftp_answers || die "vsftpd does not answer on 127.0.0.1:$FTP_PORT (see $LAB_LOG/vsftpd.out)"
    log "vsftpd started (pid $(cat "$pidfile"))"
  fi
}

# the server's 220 greeting on the control port (bash /dev/tcp, no client needed)
ftp_answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$FTP_PORT" || exit 1
    IFS= read -r -t 2 line <&3 || exit 1
    [[ $line == 220* ]]
  )
}

# ---------------------------------------------------------------- component: node2

# The second "node" for the migration tests (docs/host-lab.md "Second node"): a second virtlogd + libvirtd in the
# network namespace kubestack-node2 (veth ks-node2-h 10.77.2.1/24 on the host, ks-node2-n 10.77.2.2/24 inside), with
# private libvirt directories (lab/node2-namespace.sh) and TCP on 10.77.2.2:16509 without authentication (lab only:
# the address exists only on this machine). URI: qemu+tcp://10.77.2.2/system.
NODE2_NS=kubestack-node2
NODE2_HOST_ADDR=${NODE2_HOST_ADDR:-10.77.2.1}
NODE2_ADDR=${NODE2_ADDR:-10.77.2.2}
NODE2_URI=qemu+tcp://$NODE2_ADDR/system

node2_config() {
  local s=$LAB_STATE/node2
  mkdir -p "$s/etc/qemu" "$s/etc/storage" "$s/run" "$s/lib" "$s/cache" "$s/log"
  cp /etc/libvirt/virtlogd.conf /etc/libvirt/libvirt.conf "$s/etc/"
  # host_uuid: libvirt refuses migrations between hosts with the same UUID (both daemons would read this machine's)
  cat >"$s/etc/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
listen_addr = "$NODE2_ADDR"
auth_tcp = "none"
auth_unix_rw = "none"
host_uuid = "6b7a4a2e-2f0c-4d59-9d5e-0a0de0c0de02"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  # no cgroups: both daemons would otherwise manage the same machine.slice directories; incoming migrations listen on
  # node2's own address
  cat >"$s/etc/qemu.conf" <<CONF
cgroup_controllers = [ ]
security_driver = "none"
migration_address = "$NODE2_ADDR"
migration_host = "$NODE2_ADDR"
CONF
}

up_node2() {
  ensure_packages libvirt-daemon-system libvirt-clients qemu-system-x86 iproute2 util-linux
  ip netns list | grep -qw "$NODE2_NS" || ip netns add "$NODE2_NS"
  if ! ip link show ks-node2-h >/dev/null 2>&1; then
    ip link add ks-node2-h type veth peer name ks-node2-n
    ip link set ks-node2-n netns "$NODE2_NS"
  fi
  ip addr show dev ks-node2-h | grep -q "inet $NODE2_HOST_ADDR/" || ip addr add "$NODE2_HOST_ADDR/24" dev ks-node2-h
  ip link set ks-node2-h up
  ip netns exec "$NODE2_NS" ip addr show dev ks-node2-n | grep -q "inet $NODE2_ADDR/" \
    || ip netns exec "$NODE2_NS" ip addr add "$NODE2_ADDR/24" dev ks-node2-n
  ip netns exec "$NODE2_NS" ip link set ks-node2-n up

  if pidfile_alive "$LAB_RUN/node2-libvirtd.pid" && pidfile_alive "$LAB_RUN/node2-virtlogd.pid"; then
    log "node2 libvirtd already running (pid $(cat "$LAB_RUN/node2-libvirtd.pid"))"
  else
    # half a node (one daemon died): stop the survivor so both start in the same fresh namespace
    local d pid
    for d in node2-libvirtd node2-virtlogd; do
      if pidfile_alive "$LAB_RUN/$d.pid"; then pid=$(cat "$LAB_RUN/$d.pid"); kill -TERM "$pid"; wait_for 15 "$d exit" eval "! pid_alive $pid" || kill -KILL "$pid"; fi
      rm -f "$LAB_RUN/$d.pid"
    done
    node2_config
    rm -f "$LAB_STATE/node2/run/libvirt-sock" "$LAB_STATE/node2/run/libvirt-sock-ro" "$LAB_STATE/node2/run/libvirt-admin-sock"
    ip netns exec "$NODE2_NS" unshare --mount --uts --propagation private \
      "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/node2-namespace.sh" "$LAB_STATE/node2" "$LAB_RUN" \
      || die "node2: starting virtlogd/libvirtd in namespace $NODE2_NS failed"
    wait_for 10 "node2 libvirtd pid" pidfile_alive "$LAB_RUN/node2-libvirtd.pid" || die "node2 libvirtd did not write a live pid"
    log "node2 libvirtd started (pid $(cat "$LAB_RUN/node2-libvirtd.pid"))"
  fi
  # the first connection probes QEMU's capabilities (several seconds under TCG)
  wait_for 60 "node2 virsh version" virsh -c "$NODE2_URI" version \
    || die "node2 libvirtd does not answer 'virsh -c $NODE2_URI version' within 60 s (log: $LAB_STATE/node2/log/libvirtd.log)"
  log "node2: $NODE2_URI host $(virsh -c "$NODE2_URI" hostname 2>/dev/null)"
}

# ---------------------------------------------------------------- main

ALL_COMPONENTS=(libvirt guest storage ovs ovn ftp node2)
main() {
  [[ $(id -u) == 0 ]] || die "the host lab needs root (it installs packages and starts libvirtd)"
  mkdir -p "$LAB_RUN" "$LAB_STATE" "$LAB_LOG"
  local components=("$@")
  ((${#components[@]})) || components=("${ALL_COMPONENTS[@]}")
  local c t0
  for c in "${components[@]}"; do
    declare -F "up_$c" >/dev/null || die "unknown component '$c' (known: ${ALL_COMPONENTS[*]})"
  done
  # the guest check boots a VM: libvirt must be up first
  if [[ " ${components[*]} " == *" guest "* && " ${components[*]} " != *" libvirt "* ]]; then components=(libvirt "${components[@]}"); fi
  # ovn-controller binds to the local Open vSwitch: ovs must be up first
  if [[ " ${components[*]} " == *" ovn "* && " ${components[*]} " != *" ovs "* ]]; then components=(ovs "${components[@]}"); fi
  for c in "${components[@]}"; do
    t0=$SECONDS
    "up_$c"
    log "$c ready ($((SECONDS - t0)) s)"
  done
  date -u +%FT%TZ >"$LAB_RUN/up.stamp"
}

main "$@"
