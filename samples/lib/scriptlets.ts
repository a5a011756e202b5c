/**
 * The few scriptlets the sample distribution carries. Debian's maintainer scripts are not
 * carried over (they drive dpkg tools); these are small, harmless, and exercise each
 * scriptlet kind a compose has to run: %post, %posttrans and a transaction file trigger.
 */
import type { FileEntry } from './spec.ts';

const LDCONFIG_DIRS = '/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib';

/** Scriptlets of one package and what they need installed first. */
export interface Scriptlets {
  /** Spec text (scriptlet and trigger sections). */
  text: string;
  /** Dependencies of the scriptlets (rpmbuild adds none: AutoReqProv is off). */
  requires: string[];
}

/** Scriptlets for package `name`, or undefined when it has none. */
export function scriptletsFor(name: string, files: FileEntry[]): Scriptlets | undefined {
  const s = scriptletText(name, files);
  if (!s) return undefined;
  const requires = ['/bin/sh'];
  if (s.includes('depmod')) requires.push('kmod');
  return { text: s, requires };
}

function scriptletText(name: string, files: FileEntry[]): string | undefined {
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
