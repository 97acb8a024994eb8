import type { Writable } from 'node:stream';

/** One transfer progress event, as @berth/client delivers it. */
interface ProgressEvent {
  event: string;
  name: string;
  progress: number | bigint;
  total: number | bigint;
}

/**
 * Prints transfer progress: on a terminal, one line per object (`name: event progress/total`)
 * redrawn in place; otherwise one plain line when an object's state changes (waiting,
 * downloading, complete, unpacking…), not for every byte count, so logs stay short.
 */
export function progressPrinter(out: Writable & { isTTY?: boolean }): { event(p: ProgressEvent): void; done(): void } {
  const rows = new Map<string, string>();
  const last = new Map<string, string>();
  let drawn = 0;
  // `layer-sha256:<hex>` → the first 12 hex digits, as Docker shows layers.
  const short = (name: string) => /^(?:\w+-)?sha256:([0-9a-f]{12})[0-9a-f]*$/.exec(name)?.[1] ?? name;
  const line = (p: ProgressEvent) => {
    const total = Number(p.total);
    const size = total > 0 ? ` ${human(Number(p.progress))}/${human(total)}` : '';
    return `${short(p.name)}: ${p.event}${size}`;
  };
  const redraw = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A`);
    for (const r of rows.values()) out.write(`\x1b[2K${r}\n`);
    drawn = rows.size;
  };
  return {
    event(p) {
      if (out.isTTY) {
        rows.set(p.name, line(p));
        redraw();
      } else if (last.get(p.name) !== p.event) {
        last.set(p.name, p.event);
        out.write(`${line(p)}\n`);
      }
    },
    done() {},
  };
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
