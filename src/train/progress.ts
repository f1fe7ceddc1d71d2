/**
 * A progress bar for training epochs: redraws one line on a TTY, prints plain periodic lines otherwise
 * (so logs in CI stay readable).
 */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** stderr in Node; in a browser (no process) the console, one finished line at a time. */
function defaultStream(): ProgressStream {
  if (typeof process !== 'undefined' && process.stderr) return process.stderr;
  let pending = '';
  return {
    write(s: string) {
      pending += s;
      const lines = pending.split(/\r|\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) console.log(line);
    },
  };
}

export interface ProgressOptions {
  /** Where to draw (default process.stderr). */
  stream?: ProgressStream;
  /** Label shown before the bar, e.g. "epoch 3/10". */
  label?: string;
  /** In non-TTY mode, print a line every this fraction of the total (default 0.25). */
  plainEvery?: number;
  /** Suppress all output. */
  silent?: boolean;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** Formats a metric for display: 4 significant decimals, scientific for tiny values (learning rates). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(2);
  return v.toFixed(4);
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly start = performance.now();
  private lastPlain = -1;
  private lastDraw = 0;
  private current = 0;
  private lastLine = '';

  constructor(
    readonly total: number,
    private readonly opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? defaultStream();
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Sets progress to `current` steps done, with `items` processed so far (for items/s) and values to show. */
  update(current: number, values: Record<string, number> = {}, items = current): void {
    if (this.opts.silent) return;
    this.current = current;
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = items / Math.max(elapsed, 1e-9);
    const eta = current > 0 ? (elapsed / current) * (this.total - current) : Infinity;
    const stats = Object.entries(values)
      .map(([k, v]) => `${k} ${formatValue(v)}`)
      .join(' · ');
    const tail = `${current}/${this.total} ${stats ? '· ' + stats + ' ' : ''}· ${rate.toFixed(0)} img/s · ${formatDuration(elapsed)}<${formatDuration(eta)}`;
    const label = this.opts.label ? this.opts.label + ' ' : '';
    if (this.tty) {
      const now = performance.now();
      if (current < this.total && now - this.lastDraw < 80) return;
      this.lastDraw = now;
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 100) - label.length - tail.length - 4));
      const filled = Math.round((width * current) / Math.max(1, this.total));
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.lastLine = `${label}${bar} ${tail}`;
      this.stream.write(`\r\x1b[2K${this.lastLine}`);
    } else {
      const every = Math.max(1, Math.floor(this.total * (this.opts.plainEvery ?? 0.25)));
      const bucket = Math.floor(current / every);
      if (bucket !== this.lastPlain) {
        this.lastPlain = bucket;
        this.lastLine = `${label}${tail}`;
        this.stream.write(this.lastLine + '\n');
      }
    }
  }

  /** Ends the bar, optionally replacing it with a summary line. */
  finish(summary?: string): void {
    if (this.opts.silent) return;
    if (this.tty) this.stream.write(`\r\x1b[2K${summary ?? this.lastLine}\n`);
    else if (summary) this.stream.write(summary + '\n');
  }
}
