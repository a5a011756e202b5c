/**
 * The few scriptlets the sample distribution carries. Debian's maintainer scripts are not
 * carried over (they drive dpkg tools); these are small, harmless, and exercise each
 * scriptlet kind a compose has to run: %post, %posttrans and a transaction file trigger.
 */
import type { FileEntry } from './spec.ts';

const LDCONFIG_DIRS = '/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib';

/** Spec text with scriptlets for package `name` (undefined when it has none). */
export function scriptletsFor(name: string, files: FileEntry[]): string | undefined {
  if (name === 'libc-bin') {
    // Like glibc's: refresh the linker cache once per transaction when libraries come or go.
    return [
      `%transfiletriggerin -P 2000000 -- ${LDCONFIG_DIRS}`,
      '/sbin/ldconfig',
      '',
      `%transfiletriggerpostun -P 2000000 -- ${LDCONFIG_DIRS}`,
      '/sbin/ldconfig',
    ].join('\n');
  }
  if (name.startsWith('linux-image-') && name !== 'linux-image-amd64') {
    // Debian ships no modules.dep; build it once the whole tree is in place.
    const kver = files.find((f) => /^\/usr\/lib\/modules\/[^/]+\/vmlinuz$/.test(f.path))?.path.split('/')[4];
    if (kver) return ['%posttrans', `depmod -a ${kver} || :`].join('\n');
  }
  if (name === 'dbus-daemon') {
    return ['%post', 'mkdir -p /var/lib/dbus || :'].join('\n');
  }
  return undefined;
}
