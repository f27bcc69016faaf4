#!/usr/bin/env python3
"""One-off importer: carries the facts of ../shared/spec/lifecycle-catalog.yaml into the project's own
catalog (contracts/src/KubeStack.Contracts/Catalog/catalog.yaml). The automatic rules it writes are only a
first guess: curate_rules.py (same folder) then writes the project's rule for every parameter, and after that the
`rule:` blocks in catalog.yaml are the source of truth (see docs/decisions.md), so do not re-run this over a
curated file without re-running curate_rules.py and reviewing the diff."""
import sys, yaml, re, collections

SPEC = sys.argv[1] if len(sys.argv) > 1 else '../shared/spec/lifecycle-catalog.yaml'
OUT = sys.argv[2] if len(sys.argv) > 2 else 'contracts/src/KubeStack.Contracts/Catalog/catalog.yaml'

KINDS = [
    ('VirtualMachine', 'virtualmachines', 'virtualmachine', ['vm'], 'domain'),
    ('VirtualMachineImage', 'virtualmachineimages', 'virtualmachineimage', ['vmimg'], 'domain'),
    ('VirtualMachineDisk', 'virtualmachinedisks', 'virtualmachinedisk', ['vmd'], 'volume'),
    ('VirtualMachineDiskImage', 'virtualmachinediskimages', 'virtualmachinediskimage', ['vmdi'], 'volume'),
    ('VirtualMachineDiskSnapshot', 'virtualmachinedisksnapshots', 'virtualmachinedisksnapshot', ['vmdsn'], 'volume'),
    ('VirtualMachineSnapshot', 'virtualmachinesnapshots', 'virtualmachinesnapshot', ['vmsn'], 'domainsnapshot'),
    ('VirtualMachinePool', 'virtualmachinepools', 'virtualmachinepool', ['vmp'], 'pool'),
    ('VirtualMachineNetwork', 'virtualmachinenetworks', 'virtualmachinenetwork', ['vmn'], 'data'),
]

def effect(key):
    if key.endswith('DiskInternalSnapshot'):
        return 'update'  # acts on an existing VirtualMachineDisk: the object is the disk, not the snapshot
    if key.startswith('create') or key in ('cloneVM', 'convertImageToVM', 'convertVMToImage', 'showPool'):
        return 'create' if key.startswith('create') or key == 'showPool' else 'update'
    if key.startswith('delete') and key not in ('deleteVMBackup', 'deleteRemoteBackup', 'deleteVMDiskBackup', 'deleteRemoteBackupServer', 'deleteAddress', 'deleteCloudInitUserDataImage'):
        return 'delete'
    return 'update'

NAME_RULE = {'format': 'name', 'pattern': '^[a-z0-9.-]+$', 'minLength': 4, 'maxLength': 100}
SIMPLE = {
    'true or false': None,
    'qcow2': {'enum': ['qcow2']},
    'from or to': {'enum': ['from', 'to']},
    'allow or drop': {'enum': ['allow', 'drop']},
    'Can only be one of localfs, vdiskfs, nfs, glusterfs': {'enum': ['localfs', 'vdiskfs', 'nfs', 'glusterfs']},
    'Can only be one of localfs, vdiskfs, uus, nfs, glusterfs': {'enum': ['localfs', 'vdiskfs', 'uus', 'nfs', 'glusterfs']},
    'Can only be one of localfs, vdiskfs, uus, nfs, glusterfs, vdiskfs': {'enum': ['localfs', 'vdiskfs', 'uus', 'nfs', 'glusterfs']},
    'Can only be one of localfs, nfs, glusterfs, vdiskfs': {'enum': ['localfs', 'nfs', 'glusterfs', 'vdiskfs']},
    '0~9999999999': {'range': [0, 9999999999]},
    '0~99999': {'range': [0, 99999]},
    '0~99999999': {'range': [0, 99999999]},
    '0~4094': {'range': [0, 4094]},
    '0-4094': {'range': [0, 4094]},
    '1-999': {'range': [1, 999]},
    '0-32767': {'range': [0, 32767]},
    '1-100': {'range': [1, 100]},
    '10-1000': {'range': [10, 1000]},
    'Allowed range: 100~99999': {'range': [100, 99999]},
    'Allowed range: 0~8': {'range': [0, 8]},
    'Allowed values: vdX, hdX, sdX': {'format': 'diskTarget', 'pattern': '^(vd|hd|sd)[a-z]$'},
    'The MAC address must not start with fe': {'format': 'mac'},
    'x.x.x.x, x ranges from 0 to 255': {'format': 'ipv4'},
    'IP': {'format': 'ipv4'},
    'IP address': {'format': 'ipv4'},
    'IP of the FTP host for remote backup': {'format': 'host'},
    'Port of the FTP host for remote backup': {'range': [1, 65535]},
    'Allowed values: kvm, xen': {'enum': ['kvm', 'xen']},
    'Allowed values: windows/linux': {'enum': ['windows', 'linux']},
    'Allowed values: true/false': {'enum': ['true', 'false']},
    'Allowed values: none, writethrough, directsync, unsafe, writeback': {'enum': ['none', 'writethrough', 'directsync', 'unsafe', 'writeback']},
    'Allowed values: unfiltered, filtered': {'enum': ['unfiltered', 'filtered']},
    'Allowed values: ide, scsi, virtio, xen, usb, sata, sd': {'enum': ['ide', 'scsi', 'virtio', 'xen', 'usb', 'sata', 'sd']},
    'Allowed values: disk, lun, cdrom, floppy': {'enum': ['disk', 'lun', 'cdrom', 'floppy']},
    'Allowed values: qcow2, raw': {'enum': ['qcow2', 'raw']},
    'Allowed values: readonly, shareable': {'enum': ['readonly', 'shareable']},
    'Allowed values: qemu': {'enum': ['qemu']},
    'Allowed values: file, block': {'enum': ['file', 'block']},
    'Allowed values: usb/pci': {'enum': ['usb', 'pci']},
    'Allowed values: vnc/spice': {'enum': ['vnc', 'spice']},
    'Enable or disable: on/off': {'enum': ['on', 'off']},
    'Add or remove: add/remove': {'enum': ['add', 'remove']},
    'iso or qcow2': {'enum': ['iso', 'qcow2']},
    'Can only be one of vmd, vmdi, iso': {'enum': ['vmd', 'vmdi', 'iso']},
    'Can only be one of dir, uus, nfs, glusterfs, vdiskfs': {'enum': ['dir', 'uus', 'nfs', 'glusterfs', 'vdiskfs']},
    'Can only be ip, ip4, icmp and the like': {'format': 'aclProtocol'},
    '1000000000-999999999999 (unit: Byte)': {'range': [1000000000, 999999999999]},
    '1000000000-999999999999 (unit: Byte); must be larger than the previous disk size': {'range': [1000000000, 999999999999]},
    '1000000-999999999999 (unit: KiB)': {'range': [1000000, 999999999999]},
    "Allowed values: the password is 4-16 characters, a combination of lowercase letters, digits and hyphens ('-')": {'pattern': '^[a-z0-9-]+$', 'minLength': 4, 'maxLength': 16},
    "Bridge name, 3 to 12 characters; only digits, lowercase letters and hyphens ('-') are allowed": {'pattern': '^[a-z0-9-]+$', 'minLength': 3, 'maxLength': 12},
    "The name is a string of 3 to 12 characters; only digits, lowercase letters, hyphens ('-') and dots ('.') are allowed": {'pattern': '^[a-z0-9.-]+$', 'minLength': 3, 'maxLength': 12},
    "The path must be under /var/lib/libvirt, 18-1024 characters; only lowercase, letters, hyphens ('-') and dots ('.') are allowed": {'format': 'path', 'minLength': 18, 'maxLength': 1024},
    "The name is a string of 4 to 100 characters; only digits, lowercase letters, hyphens ('-') and dots ('.') are allowed": NAME_RULE,
    "4-100 characters, containing lowercase letters, digits 0-9, hyphens ('-') and dots ('.')": NAME_RULE,
    'Consists of 4-100 digits and lowercase letters; an already created storage pool': dict(NAME_RULE, references='VirtualMachinePool'),
    'Consists of 4-100 digits and lowercase letters': NAME_RULE,
    'Name of an existing VM, consisting of 4-100 digits and lowercase letters': dict(NAME_RULE, references='VirtualMachine'),
    'Consists of 4-100 digits and lowercase letters; name of an existing VM': dict(NAME_RULE, references='VirtualMachine'),
    'Constraint: maximum number of vCPUs = CPU cores × CPU sockets × CPU threads': {'pattern': '^[0-9]+$'},
    'Unit is kbps, 0-1000Mbps': {'range': [0, 1024000]},
    'Unit is kbps, 0-100Mbps': {'range': [0, 102400]},
    'IPs separated by ,': {'format': 'ipv4List'},
}
SECRET_NAMES = {'password', 'ssh_key'}

def conv_param(p, key):
    out = collections.OrderedDict()
    out['name'] = p['name']
    out['type'] = 'boolean' if p['type'] == 'Boolean' else 'string'
    out['required'] = bool(p.get('required'))
    out['description'] = p.get('description_en', '')
    out['constraint'] = p.get('constraint_en', '')
    ex = p.get('example_en', p.get('example'))
    out['example'] = '' if ex is None else str(ex)
    c = p.get('constraint_en', '')
    r = SIMPLE.get(c, 'unmapped')
    if out['type'] == 'boolean':
        r = None
    if r == 'unmapped':
        r = {'todo': True}
    if r:
        out['rule'] = dict(r)
    if p['name'] in SECRET_NAMES:
        out['secret'] = True
    return out

spec = yaml.safe_load(open(SPEC))
kinds = [collections.OrderedDict(kind=k, plural=pl, singular=s, shortNames=sn, resultKey=rk) for k, pl, s, sn, rk in KINDS]
ops = []
for o in spec['operations']:
    e = collections.OrderedDict()
    e['kind'] = o['kind']; e['key'] = o['lifecycleKey']; e['operation'] = o['operation']; e['section'] = str(o['section'])
    e['title'] = o['title_en']; e['summary'] = o['summary_en']
    e['acceptsNodeName'] = bool(o.get('acceptsNodeName'))
    e['effect'] = effect(o['lifecycleKey'])
    e['dependsOn'] = o.get('dependsOn_en') or ''
    seen = set(); params = []
    for p in o.get('parameters') or []:
        if p['name'] in seen:
            continue  # A067: duplicate row
        seen.add(p['name']); params.append(conv_param(p, o['lifecycleKey']))
    e['parameters'] = params
    ops.append(e)

def rep(d, data): return d.represent_mapping('tag:yaml.org,2002:map', data.items())
yaml.add_representer(collections.OrderedDict, rep)
with open(OUT, 'w') as f:
    f.write('# KubeStack lifecycle catalog: 8 kinds, 110 operations of doslab.io/v1.\n')
    f.write('# Facts carried over from the kube-stack lifecycle API (shared/spec/lifecycle-catalog.yaml);\n')
    f.write('# each parameter\'s `rule` is the project\'s reading of its constraint (see docs/decisions.md).\n')
    yaml.dump(collections.OrderedDict(kinds=kinds, operations=ops), f, allow_unicode=True, sort_keys=False, width=1000)
print('wrote', OUT, len(ops), 'operations')
