#!/usr/bin/env python3
"""Writes the curated `rule:` (and `secret:`) of every parameter into the project's catalog.yaml.

Run once after import_catalog.py:   python3 tools/catalog-import/curate_rules.py [catalog.yaml]
It reads the parameters (facts carried over from the shared spec) and replaces each `rule:` by the project's
reading of the constraint. Every reading that differs from the constraint text names an entry of
docs/decisions.md (`decision:`). After this run, the `rule:` blocks in catalog.yaml are the source of truth;
edit them there (this script documents how they were first produced and can be re-run on a fresh import).
"""
import collections
import copy
import sys

import yaml

CATALOG = sys.argv[1] if len(sys.argv) > 1 else 'contracts/src/KubeStack.Contracts/Catalog/catalog.yaml'

# ---- building blocks ------------------------------------------------------------------------------------
INT_PATTERN = '^([0-9]+|[0-9]{1,3}(,[0-9]{3})+)$'   # decimal digits, optionally grouped by thousands separators


def R(**kw):
    return {k: v for k, v in kw.items() if v is not None}


def INT(lo, hi, decision='integer-separators', **kw):
    return R(pattern=INT_PATTERN, range=[lo, hi], decision=decision, **kw)


NAME = R(format='name', pattern='^[a-z0-9.-]+$', minLength=4, maxLength=100)


def NAME_REF(kind, decision='names'):
    return dict(NAME, references=kind, decision=decision)


def NAMEd(decision='names'):
    return dict(NAME, decision=decision)


PATH = R(format='path', pattern='^/[A-Za-z0-9._/-]*$', minLength=18, maxLength=1024, decision='path-rule')
MAC = R(format='mac', pattern='^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$', decision='mac-rule')
IPV4 = R(format='ipv4', pattern='^[0-9]{1,3}([.][0-9]{1,3}){3}$')
BOOLSTR = R(enum=['true', 'false'])
DISK_TARGET = R(pattern='^(vd|hd|sd)[a-z]$')
HOST = R(format='host', maxLength=253, decision='ftp-parameters')
PORT = INT(1, 65535, decision='ftp-parameters')
FTP_USER = R(pattern='^[A-Za-z0-9._@-]+$', minLength=1, maxLength=64, decision='ftp-parameters')
FTP_PASSWORD = R(pattern='^[ -~]+$', minLength=1, maxLength=128, decision='ftp-parameters')
SEGMENT = R(pattern='^[A-Za-z0-9][A-Za-z0-9._-]*$', minLength=1, maxLength=100, decision='backup-identifiers')
PASSWORD = R(pattern='^[a-z0-9-]+$', minLength=4, maxLength=16)
IFNAME = R(pattern='^[A-Za-z0-9_][A-Za-z0-9_.-]*$', minLength=1, maxLength=15, decision='interface-names')
BRIDGE = R(pattern='^[a-z0-9-]+$', minLength=3, maxLength=12)
SWITCH_NAME = dict(NAME, decision='names')

POOL_TYPES_ALL = ['localfs', 'dir', 'vdiskfs', 'uus', 'nfs', 'glusterfs']
POOL_TYPES_NO_UUS = ['localfs', 'dir', 'vdiskfs', 'nfs', 'glusterfs']


def POOL_TYPE(values):
    return R(enum=list(values), decision='pool-type-dir-localfs')


LABELLED = 'labelled-examples'

# ---- per-parameter rules ----------------------------------------------------------------------------------
# Keys: (operation key, parameter) for one operation, or parameter name alone for every operation
# (the operation-specific entry wins). Value: dict(rule=..., secret=bool).
BY_PARAM = {
    # VM creation
    'metadata': R(pattern='^uuid=[a-z0-9.-]{12,36}$', format='metadataUuid', decision='metadata-uuid'),
    'livecd': BOOLSTR,
    'graphics': R(format='graphics', minLength=3, maxLength=256, decision='secret-parameters'),
    'disk': R(format='diskList', minLength=18, maxLength=8192, exampleInvalid=True, decision='disk-example-outside-roots',
              validExample='/var/lib/libvirt/images/test3.qcow2,read_bytes_sec=1024000000,write_bytes_sec=1024000000'
                           ' --disk /var/lib/libvirt/iso/centos-7-x86_64-minimal-1511.iso,device=cdrom,perms=ro'),
    'memory': INT(100, 99999),
    'network': R(format='networkList', minLength=1, maxLength=4096, decision='network-key-list'),
    'virt_type': R(enum=['kvm', 'xen']),
    'boot': R(enum=['hd', 'cdrom', 'hd,cdrom', 'cdrom,hd'], decision='boot-values'),
    'redirdev': R(format='redirdev', maxLength=128, decision='redirdev-syntax'),
    'os_variant': R(pattern='^[A-Za-z0-9][A-Za-z0-9.-]*$', minLength=1, maxLength=64, decision='os-variant'),
    'vcpus': R(format='vcpus', minLength=1, maxLength=256, decision='cpu-topology'),
    'cdrom': PATH,
    'cputune': R(format='cputune', minLength=1, maxLength=1024, decision='cputune-example', exampleInvalid=True,
                 validExample='vcpupin0.vcpu=0,vcpupin0.cpuset=0'),
    'noautoconsole': R(format='mustBeTrue'),
    # devices and QoS
    'file': PATH,
    'mac': MAC,
    'vmmac': MAC,
    '_interface': MAC,
    'cache': R(enum=['none', 'writethrough', 'directsync', 'unsafe', 'writeback']),
    'sgio': R(enum=['unfiltered', 'filtered']),
    'targetbus': R(enum=['ide', 'scsi', 'virtio', 'xen', 'usb', 'sata', 'sd']),
    'subdriver': R(enum=['qcow2', 'raw']),
    'mode': R(enum=['readonly', 'shareable']),
    'driver': R(enum=['qemu']),
    'sourcetype': R(enum=['file', 'block']),
    'total_bytes_sec': INT(0, 9999999999, decision=LABELLED, exampleInvalid=True, validExample='1073741824'),
    'read_bytes_sec': INT(0, 9999999999, decision=LABELLED, exampleInvalid=True, validExample='1073741824'),
    'write_bytes_sec': INT(0, 9999999999, decision=LABELLED, exampleInvalid=True, validExample='1073741824'),
    'total_iops_sec': INT(0, 9999999999, decision='iops-range', exampleInvalid=True, validExample='40000'),
    'read_iops_sec': INT(0, 99999),
    'write_iops_sec': INT(0, 99999),
    'inbound': INT(0, 99999999, decision=LABELLED, exampleInvalid=True, validExample='1024000'),
    'outbound': INT(0, 99999999, decision=LABELLED, exampleInvalid=True, validExample='1024000'),
    'count': INT(1, 100),
    'maximum': R(decision='cpu-maximum-flag', exampleInvalid=True, validExample='true'),
    'cores': INT(1, 100, decision='cpu-topology'),
    'sockets': INT(1, 100, decision='cpu-topology'),
    'threads': INT(1, 100, decision='cpu-topology'),
    'os_type': R(enum=['windows', 'linux']),
    'user': R(pattern='^[A-Za-z0-9_][A-Za-z0-9._-]*$', minLength=1, maxLength=100, decision='guest-user'),
    'ssh_key': R(format='sshPublicKey', pattern='^[A-Za-z0-9+/@ =._-]+$', minLength=16, maxLength=16384,
                 decision='ssh-key'),
    # network functions on a VM
    'swName': SWITCH_NAME,
    'outSwName': SWITCH_NAME,
    'vmip': IPV4,
    'fip': IPV4,
    'operator': R(enum=['allow', 'drop']),
    'rate': INT(0, 1000000, decision='qos-units'),
    'burst': INT(0, 100000, decision='qos-units'),
    'action': None,  # per operation below
    # backups
    'version': SEGMENT,
    'remote': HOST,
    'port': PORT,
    'username': FTP_USER,
    'password': FTP_PASSWORD,
    'newname': NAMEd(),
    'vol': NAMEd('backup-identifiers'),
    # storage
    'format': R(enum=['qcow2']),
    'capacity': INT(1000000000, 999999999999, decision='integer-separators'),
    'snapshotname': NAMEd(),
    'targetPool': NAME_REF('VirtualMachinePool'),
    'sourcePool': NAME_REF('VirtualMachinePool'),
    'isExternal': None,
    # networks
    'vlan': INT(0, 4094),
    'vlanId': INT(0, 4094, decision='vlanid-example', exampleInvalid=True, validExample='100'),
    'gateway': IPV4,
    'dhcp': IPV4,
    'mtu': INT(68, 9000, decision='mtu-range'),
    'bridge': IFNAME,
    'ipv6': BOOLSTR,
    'dnsServer': R(format='ipv4List', pattern='^[0-9.,， ]+$', minLength=7, maxLength=1024, decision='dns-list'),
    'address': R(format='ipv4List', pattern='^[0-9.,， ]+$', minLength=7, maxLength=8192, decision='fullwidth-comma'),
    'excludeIPs': R(format='excludeIps', pattern='^[0-9. ]+$', minLength=7, maxLength=8192),
    'subnet': R(format='cidr', pattern='^[0-9]{1,3}([.][0-9]{1,3}){3}/[0-9]{1,2}$', decision='subnet-prefix'),
}

BY_OP = {
    # 1.x VirtualMachine
    ('unplugNIC', 'type'): R(enum=['bridge', 'l2bridge', 'l3bridge'], decision='unplugnic-type-example',
                             exampleInvalid=True, validExample='l3bridge'),
    ('migrateVM', 'ip'): R(format='host', maxLength=253, decision='migration-target'),
    ('migrateVMDisk', 'ip'): R(format='host', maxLength=253, decision='migration-target'),
    ('migrateVMDisk', 'migratedisks'): R(format='migratedisks', minLength=1, maxLength=8192, decision='migratedisks-key'),
    ('plugDisk', 'source'): PATH,
    ('plugDisk', 'type'): R(enum=['disk', 'lun', 'cdrom', 'floppy']),
    ('plugDisk', 'target'): DISK_TARGET,
    ('unplugDisk', 'target'): dict(DISK_TARGET, decision='unplugdisk-target-example', exampleInvalid=True, validExample='vdb'),
    ('deleteVM', 'storage'): R(format='storageList', minLength=3, maxLength=8192, decision='deletevm-storage'),
    ('plugNIC', 'source'): R(format='nicSource', minLength=8, maxLength=256, decision='network-key-list'),
    ('plugNIC', 'type'): R(enum=['bridge', 'l2bridge', 'l3bridge']),
    ('manageISO', 'path'): dict(DISK_TARGET, decision='cdrom-path-meaning'),
    ('manageISO', 'source'): dict(PATH, decision='cdrom-path-meaning'),
    ('updateOS', 'source'): PATH,
    ('updateOS', 'target'): dict(PATH, decision='updateos-target-path'),
    ('convertVMToImage', 'targetPool'): NAME_REF('VirtualMachinePool'),
    ('insertISO', 'path'): dict(PATH, decision='cdrom-path-meaning'),
    ('ejectISO', 'path'): dict(PATH, decision='cdrom-path-meaning'),
    ('resizeVM', 'path'): PATH,
    ('resizeVM', 'size'): INT(1000000, 999999999999, decision='size-units'),
    ('cloneVM', 'name'): NAMEd(),
    ('cloneVM', 'file'): R(format='fileList', minLength=18, maxLength=8192, decision='clonevm-file'),
    ('tuneDiskQoS', 'device'): DISK_TARGET,
    ('resizeMaxRAM', 'size'): INT(102400, 104857600, decision=LABELLED, exampleInvalid=True, validExample='1048576'),
    ('resizeRAM', 'size'): INT(102400, 104857600, decision=LABELLED, exampleInvalid=True, validExample='1048576'),
    ('setBootOrder', 'order'): R(format='diskTargetList', pattern='^(vd|hd|sd)[a-z](,(vd|hd|sd)[a-z])*$', maxLength=256),
    ('setVncPassword', 'password'): PASSWORD,
    ('setGuestPassword', 'password'): PASSWORD,
    ('updateGraphic', 'password'): PASSWORD,
    ('bindFloatingIP', 'fip'): R(format='ipv4OptionalPrefix', pattern='^[0-9]{1,3}([.][0-9]{1,3}){3}(/[0-9]{1,2})?$',
                                 decision='fip-prefix'),
    ('addACL', 'type'): R(enum=['from', 'to']),
    ('modifyACL', 'type'): R(enum=['from', 'to']),
    ('deprecatedACL', 'type'): R(enum=['from', 'to']),
    ('addACL', 'rule'): R(format='aclRule', minLength=2, maxLength=1024, decision='acl-rule-syntax'),
    ('modifyACL', 'rule'): R(format='aclRule', minLength=2, maxLength=1024, decision='acl-rule-syntax'),
    ('deprecatedACL', 'rule'): R(format='aclRule', minLength=2, maxLength=1024, decision='acl-rule-syntax'),
    ('addACL', 'priority'): INT(1, 999),
    ('modifyACL', 'priority'): INT(1, 999),
    ('deprecatedACL', 'priority'): INT(1, 999),
    ('setQoS', 'type'): R(enum=['from', 'to']),
    ('modifyQoS', 'type'): R(enum=['from', 'to']),
    ('unsetQoS', 'type'): R(enum=['from', 'to']),
    ('setQoS', 'rule'): R(enum=['ip', 'ip4', 'ip6', 'tcp', 'udp', 'sctp', 'icmp', 'icmp4', 'icmp6'], decision='qos-protocol'),
    ('modifyQoS', 'rule'): R(enum=['ip', 'ip4', 'ip6', 'tcp', 'udp', 'sctp', 'icmp', 'icmp4', 'icmp6'], decision='qos-protocol'),
    ('unsetQoS', 'rule'): R(enum=['ip', 'ip4', 'ip6', 'tcp', 'udp', 'sctp', 'icmp', 'icmp4', 'icmp6'], decision='qos-protocol'),
    ('setQoS', 'priority'): INT(0, 32767),
    ('modifyQoS', 'priority'): INT(0, 32767),
    ('unsetQoS', 'priority'): INT(0, 32767),
    ('exportVM', 'path'): dict(PATH, decision='exportvm-path', exampleInvalid=True, validExample='/var/lib/libvirt/export'),
    ('backupVM', 'pool'): NAME_REF('VirtualMachinePool'),
    ('restoreVM', 'pool'): NAME_REF('VirtualMachinePool'),
    ('restoreVM', 'target'): NAME_REF('VirtualMachinePool', 'backup-identifiers'),
    ('pullRemoteBackup', 'pool'): NAME_REF('VirtualMachinePool'),
    ('pushRemoteBackup', 'pool'): NAME_REF('VirtualMachinePool'),
    ('deleteVMBackup', 'pool'): NAME_REF('VirtualMachinePool'),
    ('passthroughDevice', 'action'): R(enum=['add', 'remove']),
    ('passthroughDevice', 'bus_num'): R(pattern='^[0-9A-Fa-f]{1,4}$', decision='passthrough-numbers'),
    ('passthroughDevice', 'sub_bus_num'): R(pattern='^[0-9A-Fa-f]{1,4}$', decision='passthrough-numbers'),
    ('passthroughDevice', 'dev_num'): R(pattern='^[0-9A-Fa-f]{1,4}$', decision='passthrough-numbers'),
    ('passthroughDevice', 'dev_type'): R(enum=['usb', 'pci']),
    ('redirectUsb', 'action'): R(enum=['on', 'off']),
    ('redirectUsb', 'number'): INT(0, 8),
    ('updateGraphic', 'type'): R(enum=['vnc', 'spice']),
    # 2.x VirtualMachineImage
    ('createImage', 'disk'): PATH,
    ('createImage', 'targetPool'): NAME_REF('VirtualMachinePool'),
    ('convertImageToVM', 'targetPool'): NAME_REF('VirtualMachinePool'),
    # 3.x VirtualMachineDisk
    ('deleteDisk', 'type'): POOL_TYPE(POOL_TYPES_ALL),
    ('deleteDisk', 'pool'): NAME_REF('VirtualMachinePool'),
    ('resizeDisk', 'type'): POOL_TYPE(POOL_TYPES_ALL),
    ('resizeDisk', 'pool'): NAME_REF('VirtualMachinePool'),
    ('resizeDisk', 'capacity'): INT(1000000000, 999999999999, decision='integer-separators'),
    ('createDisk', 'type'): POOL_TYPE(POOL_TYPES_ALL),
    ('createDisk', 'pool'): NAME_REF('VirtualMachinePool'),
    ('createDiskFromDiskImage', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('createDiskFromDiskImage', 'source'): PATH,
    ('cloneDisk', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('cloneDisk', 'pool'): NAME_REF('VirtualMachinePool'),
    ('migrateDisk', 'pool'): NAME_REF('VirtualMachinePool'),
    ('createDiskInternalSnapshot', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('createDiskInternalSnapshot', 'pool'): NAME_REF('VirtualMachinePool'),
    ('revertDiskInternalSnapshot', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('revertDiskInternalSnapshot', 'pool'): NAME_REF('VirtualMachinePool'),
    ('deleteDiskInternalSnapshot', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('deleteDiskInternalSnapshot', 'pool'): NAME_REF('VirtualMachinePool'),
    ('backupDisk', 'domain'): NAME_REF('VirtualMachine', 'backup-identifiers'),
    ('backupDisk', 'pool'): NAME_REF('VirtualMachinePool'),
    ('createCloudInitUserDataImage', 'pool'): NAME_REF('VirtualMachinePool'),
    ('createCloudInitUserDataImage', 'userData'): R(format='cloudInitUserData', minLength=1, maxLength=65536,
                                                    decision='cloudinit-userdata', exampleInvalid=True,
                                                    validExample='#cloud-config\nhostname: vm1\n'),
    ('deleteCloudInitUserDataImage', 'pool'): NAME_REF('VirtualMachinePool'),
    # 4.x VirtualMachineDiskImage
    ('createDiskImageFromDisk', 'sourceVolume'): NAME_REF('VirtualMachineDisk', 'vol-meaning'),
    ('createDiskImage', 'imageType'): R(enum=['iso', 'qcow2']),
    ('createDiskImage', 'source'): PATH,
    # 5.x VirtualMachineDiskSnapshot
    ('createDiskExternalSnapshot', 'type'): POOL_TYPE(['localfs', 'dir', 'nfs', 'glusterfs']) | {'decision': 'ext-snapshot-vdiskfs'},
    ('createDiskExternalSnapshot', 'pool'): NAME_REF('VirtualMachinePool'),
    ('createDiskExternalSnapshot', 'vol'): NAME_REF('VirtualMachineDisk', 'vol-meaning'),
    ('createDiskExternalSnapshot', 'domain'): NAME_REF('VirtualMachine'),
    ('revertDiskExternalSnapshot', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('revertDiskExternalSnapshot', 'pool'): NAME_REF('VirtualMachinePool'),
    ('revertDiskExternalSnapshot', 'vol'): NAME_REF('VirtualMachineDisk', 'vol-meaning'),
    ('revertDiskExternalSnapshot', 'domain'): NAME_REF('VirtualMachine'),
    ('deleteDiskExternalSnapshot', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('deleteDiskExternalSnapshot', 'pool'): NAME_REF('VirtualMachinePool'),
    ('deleteDiskExternalSnapshot', 'vol'): NAME_REF('VirtualMachineDisk', 'vol-meaning'),
    ('deleteDiskExternalSnapshot', 'domain'): NAME_REF('VirtualMachine'),
    # 6.x VirtualMachineSnapshot
    ('deleteSnapshot', 'domain'): NAME_REF('VirtualMachine'),
    ('createSnapshot', 'diskspec'): R(format='diskspec', minLength=3, maxLength=8192, decision='diskspec-example',
                                      exampleInvalid=True,
                                      validExample='vda,snapshot=external,file=/var/lib/libvirt/snapshots/snapshot1,driver=qcow2'
                                                   ' --diskspec vdb,snapshot=no'),
    ('createSnapshot', 'domain'): NAME_REF('VirtualMachine'),
    ('revertVirtualMachine', 'domain'): NAME_REF('VirtualMachine'),
    ('copySnapshot', 'domain'): NAME_REF('VirtualMachine'),
    ('mergeSnapshot', 'domain'): NAME_REF('VirtualMachine'),
    # 7.x VirtualMachinePool
    ('autoStartPool', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('createPool', 'type'): POOL_TYPE(['dir', 'localfs', 'uus', 'nfs', 'glusterfs', 'vdiskfs']),
    ('createPool', 'content'): R(enum=['vmd', 'vmdi', 'iso']),
    ('createPool', 'url'): R(format='poolUrl', pattern='^[!-~]+$', minLength=1, maxLength=1024, decision='createpool-fields'),
    ('createPool', 'opt'): R(pattern='^[A-Za-z0-9_.,=:/+-]+$', minLength=1, maxLength=1024, decision='createpool-fields'),
    ('createPool', 'uuid'): R(pattern='^[A-Za-z0-9]+$', minLength=4, maxLength=100, decision='createpool-fields'),
    ('createPool', 'force'): R(enum=['True', 'False', 'true', 'false'], decision='createpool-fields'),
    ('startPool', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('stopPool', 'type'): POOL_TYPE(POOL_TYPES_NO_UUS),
    ('deletePool', 'type'): POOL_TYPE(POOL_TYPES_ALL),
    ('showPool', 'type'): POOL_TYPE(POOL_TYPES_ALL),
    ('cleanVMBackup', 'version'): R(pattern='^[A-Za-z0-9][A-Za-z0-9._-]*(,[A-Za-z0-9][A-Za-z0-9._-]*)*$', minLength=1,
                                    maxLength=4096, decision='clean-backups'),
    ('cleanVMRemoteBackup', 'version'): R(pattern='^[A-Za-z0-9][A-Za-z0-9._-]*(,[A-Za-z0-9][A-Za-z0-9._-]*)*$',
                                          minLength=1, maxLength=4096, decision='clean-backups'),
    ('cleanVMBackup', 'all'): R(decision='clean-backups', exampleInvalid=True, validExample='true'),
    ('cleanVMRemoteBackup', 'all'): R(decision='clean-backups', exampleInvalid=True, validExample='true'),
    # 8.x VirtualMachineNetwork
    ('createBridge', 'nic'): IFNAME,
    ('deleteBridge', 'nic'): IFNAME,
    ('createBridge', 'name'): BRIDGE,
    ('deleteBridge', 'name'): BRIDGE,
    ('setBridgeVlan', 'name'): BRIDGE,
    ('delBridgeVlan', 'name'): BRIDGE,
    ('bindPortVlan', 'domain'): NAME_REF('VirtualMachine'),
    ('unbindPortVlan', 'domain'): NAME_REF('VirtualMachine'),
    ('modifySwitch', 'dnsServer'): R(format='ipv4List', pattern='^[0-9.,， ]+$', minLength=7, maxLength=1024,
                                     decision='dns-list'),
}

# Pool-kind backup operations: 'domain' names the VM the backups belong to (it may be gone: no reference);
# 'pool' and 'target' are storage pools; 'targetDomain' is an existing VM.
POOL_BACKUP_OPS = {'restoreVMBackup', 'deleteRemoteBackup', 'pullRemoteBackup', 'pushRemoteBackup', 'deleteVMBackup',
                   'cleanVMBackup', 'cleanVMRemoteBackup', 'scanVMBackup', 'restoreDisk', 'deleteVMDiskBackup'}
for key in POOL_BACKUP_OPS:
    BY_OP.setdefault((key, 'domain'), NAMEd('backup-identifiers'))
    BY_OP.setdefault((key, 'pool'), NAME_REF('VirtualMachinePool', 'backup-identifiers'))
    BY_OP.setdefault((key, 'target'), NAME_REF('VirtualMachinePool', 'backup-identifiers'))
BY_OP[('restoreDisk', 'targetDomain')] = NAME_REF('VirtualMachine', 'backup-identifiers')

SECRET_PARAMS = {'password', 'ssh_key', 'graphics', 'userData'}
SECRET_BY_OP = {('createPool', 'url')}


def rule_for(key, param):
    if (key, param['name']) in BY_OP:
        r = BY_OP[(key, param['name'])]
    else:
        r = BY_PARAM.get(param['name'], None if param['type'] == 'boolean' else 'missing')
    if r == 'missing' or (r is None and param['type'] != 'boolean'):
        raise SystemExit(f'no curated rule for {key}.{param["name"]}')
    return copy.deepcopy(r) if r else None


def main():
    with open(CATALOG) as f:
        header = []
        for line in f:
            if line.startswith('#'):
                header.append(line)
            else:
                break
    doc = yaml.safe_load(open(CATALOG))
    for op in doc['operations']:
        params = []
        for p in op['parameters']:
            q = collections.OrderedDict((k, v) for k, v in p.items() if k not in ('rule', 'secret'))
            r = rule_for(op['key'], p)
            if r:
                q['rule'] = collections.OrderedDict(r)
            if p['name'] in SECRET_PARAMS or (op['key'], p['name']) in SECRET_BY_OP:
                q['secret'] = True
            params.append(q)
        op['parameters'] = params

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    def rep(d, data):
        return d.represent_mapping('tag:yaml.org,2002:map', data.items())

    Dumper.add_representer(collections.OrderedDict, rep)
    Dumper.add_representer(dict, rep)
    with open(CATALOG, 'w') as f:
        f.writelines(header)
        yaml.dump(doc, f, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=1000)
    print('curated', sum(len(o['parameters']) for o in doc['operations']), 'parameters in', CATALOG)


if __name__ == '__main__':
    main()
