/** What the CLI writes to: process.stdout or process.stderr, or a test's stand-in. */
export type OutputStream = {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string | Uint8Array): unknown;
};

export type Colors = Record<'red' | 'yellow' | 'green' | 'cyan' | 'dim' | 'bold', (text: string) => string>;

/** ANSI colors when `enabled`; identity functions otherwise, so output to files and pipes stays plain. */
export function createColors(enabled: boolean): Colors {
  const paint = (open: number, close: number) => (text: string) =>
    enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    red: paint(31, 39),
    yellow: paint(33, 39),
    green: paint(32, 39),
    cyan: paint(36, 39),
    dim: paint(2, 22),
    bold: paint(1, 22),
  };
}

export type Progress = {
  /** Reports `done` of `total`; `note` follows the percentage (e.g. "1.2 MiB of 3 MiB"). */
  update(done: number, total: number, note?: string): void;
  /** The final state: the bar completes its line. */
  finish(note?: string): void;
};

export type ProgressOptions = {
  label: string;
  /** Least time between two redraws of a terminal bar. @default 80 */
  redrawMs?: number;
  /** Without a terminal, a line is written each time progress crosses another step. @default 0.25 */
  lineStep?: number;
};

const BAR_WIDTH = 30;
const MIN_BAR_WIDTH = 10;

/**
 * A progress bar redrawn in place on a terminal; elsewhere (a pipe, a file, CI) plain lines at each
 * quarter, with no escape codes at all, so logs stay readable.
 */
export function createProgress(stream: OutputStream, options: ProgressOptions): Progress {
  const { label } = options;
  const redrawMs = options.redrawMs ?? 80;
  const lineStep = options.lineStep ?? 0.25;
  let last = { done: 0, total: 0, note: '' };
  let drawnAt = 0;
  let lastStep = -1;
  let finished = false;

  const percent = (done: number, total: number) => (total > 0 ? Math.min(1, done / total) : 0);

  function drawBar(): void {
    const fraction = percent(last.done, last.total);
    const columns = stream.columns || 80;
    const text = ` ${String(Math.floor(fraction * 100)).padStart(3)}%${last.note ? ` ${last.note}` : ''}`;
    // A narrow terminal gets a shorter bar before it loses any text; the line never wraps.
    const width = Math.max(MIN_BAR_WIDTH, Math.min(BAR_WIDTH, columns - 1 - label.length - 1 - text.length));
    const filled = Math.round(fraction * width);
    const line = `${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)}${text}`.slice(0, columns - 1);
    // \r back to the line's start, ESC[2K clears what a longer previous line left.
    stream.write(`\r\x1b[2K${line}`);
    drawnAt = Date.now();
  }

  function writeLine(): void {
    const shown = Math.floor(percent(last.done, last.total) * 100);
    stream.write(`${label} ${shown}%${last.note ? ` ${last.note}` : ''}\n`);
  }

  return {
    update(done, total, note = '') {
      if (finished) return;
      last = { done, total, note };
      if (stream.isTTY) {
        if (Date.now() - drawnAt >= redrawMs) drawBar();
        return;
      }
      const step = Math.floor(percent(done, total) / lineStep);
      if (step > lastStep) {
        lastStep = step;
        writeLine();
      }
    },
    finish(note) {
      if (finished) return;
      finished = true;
      if (note !== undefined) last.note = note;
      if (stream.isTTY) {
        drawBar();
        stream.write('\n');
      } else if (Math.floor(percent(last.done, last.total) / lineStep) > lastStep) {
        writeLine();
      }
    },
  };
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
