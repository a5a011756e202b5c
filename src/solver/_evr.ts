/** Split a libsolv evr string "[E:]V[-R]" into its parts (epoch 0 when absent). */
export function splitEvr(evr: string): { epoch: number; version: string; release: string } {
  let rest = evr;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return { epoch, version: rest, release: '' };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/** Join parts into libsolv's evr string: epoch only when non-zero, release only when present. */
export function joinEvr(epoch: number | undefined, version: string, release: string): string {
  const ev = epoch ? `${epoch}:${version}` : version;
  return release ? `${ev}-${release}` : ev;
}
