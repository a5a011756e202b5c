/**
 * A minimal GKeyFile (INI) reader/writer for the repository `config`: groups, `key=value`,
 * comments kept, order kept.
 */
import { FormatError } from '../util/errors.ts';

type Line = { kind: 'group'; name: string } | { kind: 'kv'; key: string; value: string } | { kind: 'other'; text: string };

export class KeyFile {
  private readonly lines: Line[];

  private constructor(lines: Line[]) {
    this.lines = lines;
  }

  static parse(text: string, what = 'key file'): KeyFile {
    const lines: Line[] = [];
    let group: string | null = null;
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      const t = line.trim();
      if (t === '' || t.startsWith('#')) {
        if (i < text.split('\n').length - 1 || t !== '') lines.push({ kind: 'other', text: line });
        return;
      }
      const g = /^\[([^\]]+)\]$/.exec(t);
      if (g) {
        group = g[1];
        lines.push({ kind: 'group', name: group });
        return;
      }
      const eq = line.indexOf('=');
      if (eq < 0 || group === null) throw new FormatError(`${what}: line ${i + 1}: expected 'key=value' inside a [group]`);
      lines.push({ kind: 'kv', key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
    });
    return new KeyFile(lines);
  }

  get(group: string, key: string): string | undefined {
    let g: string | null = null;
    for (const l of this.lines) {
      if (l.kind === 'group') g = l.name;
      else if (l.kind === 'kv' && g === group && l.key === key) return l.value;
    }
    return undefined;
  }

  getBool(group: string, key: string, def = false): boolean {
    const v = this.get(group, key);
    return v === undefined ? def : v === 'true' || v === '1';
  }

  set(group: string, key: string, value: string): void {
    let g: string | null = null;
    let lastInGroup = -1;
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i];
      if (l.kind === 'group') g = l.name;
      if (g === group) {
        if (l.kind === 'kv' && l.key === key) {
          l.value = value;
          return;
        }
        if (l.kind !== 'other') lastInGroup = i;
      }
    }
    if (lastInGroup < 0) {
      this.lines.push({ kind: 'group', name: group }, { kind: 'kv', key, value });
    } else this.lines.splice(lastInGroup + 1, 0, { kind: 'kv', key, value });
  }

  groups(): string[] {
    return this.lines.flatMap((l) => (l.kind === 'group' ? [l.name] : []));
  }

  toString(): string {
    return this.lines.map((l) => (l.kind === 'group' ? `[${l.name}]` : l.kind === 'kv' ? `${l.key}=${l.value}` : l.text)).join('\n') + '\n';
  }
}
