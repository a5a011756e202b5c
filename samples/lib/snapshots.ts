/**
 * What differs between the two snapshots of the sample distribution, and the comps groups.
 * v1 is the base; v2 is an OS update: a few packages rebuilt at a higher release with a
 * changed file, one package added (`tree`) and one removed (`sample-legacy`).
 */
import type { Bump } from './convert.ts';

export type SnapshotName = 'v1' | 'v2';

/** Debian packages rebuilt for v2 (their release gets `.fs2`). */
export const V2_BUMPS: Record<string, Omit<Bump, 'release'>> = {
  less: { file: '/usr/bin/lesspipe', append: '# fedostree sample snapshot v2\n' },
  'openssh-server': { file: '/etc/ssh/sshd_config', append: '\n# fedostree sample snapshot v2\n' },
  'base-files': { file: '/etc/issue', append: 'Fedostree sample snapshot v2\n\n' },
};

/** Debian packages present only in v2 (not in v1). */
export const V2_ONLY = ['tree'];

/** Generated packages present only in v1. */
export const V1_ONLY_GENERATED = ['sample-legacy'];

/** Packages of the `core` group: boots to multi-user.target (and can upgrade itself). */
const CORE = [
  'filesystem', 'setup', 'fedostree-release', 'base-files', 'base-passwd', 'bash', 'dash', 'coreutils', 'util-linux', 'mount',
  'login', 'passwd', 'sed', 'grep', 'findutils', 'tar', 'gzip', 'diffutils', 'hostname', 'debianutils', 'ncurses-base',
  'ncurses-bin', 'sysvinit-utils', 'libc-bin', 'systemd', 'systemd-sysv', 'udev', 'dbus', 'kmod', 'iproute2', 'procps',
  'e2fsprogs', 'linux-image-amd64', 'dracut', 'ostree', 'ostree-boot', 'nss-altfiles', 'nodejs', 'fedostree',
];

/** A comps group. */
export interface Group {
  id: string;
  name: string;
  description: string;
  packages: string[];
}

/** The comps groups of a snapshot. */
export function groupsFor(snap: SnapshotName): Group[] {
  const core = snap === 'v1' ? [...CORE, 'sample-legacy'] : CORE;
  const standardExtra = snap === 'v2' ? ['openssh-server', 'strace', 'less', 'tree'] : ['openssh-server', 'strace', 'less'];
  return [
    { id: 'core', name: 'Core', description: 'Smallest possible installation that boots to multi-user.target.', packages: core },
    { id: 'standard', name: 'Standard', description: 'Core plus an ssh server and everyday tools.', packages: [...core, ...standardExtra] },
    { id: 'devel-tools', name: 'Development Tools', description: 'Tools for debugging a running system.', packages: ['strace', 'file', 'lsof', 'less', 'diffutils', 'rpm'] },
  ];
}

function xmlEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Render comps XML (createrepo_c --groupfile input) for `groups`. */
export function renderComps(groups: Group[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">', '<comps>'];
  for (const g of groups) {
    out.push(
      '  <group>',
      `    <id>${xmlEscape(g.id)}</id>`,
      `    <name>${xmlEscape(g.name)}</name>`,
      `    <description>${xmlEscape(g.description)}</description>`,
      '    <default>false</default>',
      '    <uservisible>true</uservisible>',
      '    <packagelist>',
      ...g.packages.map((p) => `      <packagereq type="mandatory">${xmlEscape(p)}</packagereq>`),
      '    </packagelist>',
      '  </group>',
    );
  }
  out.push('</comps>', '');
  return out.join('\n');
}
