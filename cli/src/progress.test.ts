import { describe, expect, it } from 'vitest';
import { createColors, createProgress, formatBytes, type OutputStream } from './progress.js';

const stream = (isTTY: boolean): OutputStream & { text: string } => ({
  isTTY,
  columns: 60,
  text: '',
  write(chunk: string) {
    this.text += chunk;
  },
});

describe('createProgress', () => {
  it('redraws one line in place on a terminal, and ends it when finished', () => {
    const out = stream(true);
    const progress = createProgress(out, { label: 'Uploading', redrawMs: 0 });
    progress.update(0, 4, 'start');
    progress.update(2, 4, 'half');
    progress.update(4, 4, 'all');
    progress.finish('done');
    const frames = out.text.split('\r\x1b[2K').slice(1);
    expect(frames).toHaveLength(4);
    expect(frames[1]).toBe(`Uploading ${'█'.repeat(15)}${'░'.repeat(15)}  50% half`);
    expect(frames[3]).toBe(`Uploading ${'█'.repeat(30)} 100% done\n`);
    expect(frames.every((frame) => frame.length <= 60)).toBe(true);
  });

  it('shortens the bar on a narrow terminal before cutting any text', () => {
    const out = { ...stream(true), columns: 40 };
    createProgress(out, { label: 'Uploading' }).update(1, 2, '1 B of 2 B');
    expect(out.text).toBe(`\r\x1b[2KUploading ${'█'.repeat(7)}${'░'.repeat(6)}  50% 1 B of 2 B`);
  });

  it('writes plain lines at each quarter elsewhere, never an escape code', () => {
    const out = stream(false);
    const progress = createProgress(out, { label: 'RUNNING' });
    for (let done = 0; done <= 100; done += 5) progress.update(done, 100, `${done}/100`);
    progress.finish();
    expect(out.text).toBe(
      'RUNNING 0% 0/100\nRUNNING 25% 25/100\nRUNNING 50% 50/100\nRUNNING 75% 75/100\nRUNNING 100% 100/100\n',
    );
    expect(out.text).not.toContain('\x1b');
  });

  it('throttles terminal redraws', () => {
    const out = stream(true);
    const progress = createProgress(out, { label: 'x', redrawMs: 60_000 });
    for (let done = 0; done < 1000; done++) progress.update(done, 1000);
    expect(out.text.split('\r').length - 1).toBe(1);
  });
});

it('colors only when enabled', () => {
  expect(createColors(false).red('error')).toBe('error');
  expect(createColors(true).red('error')).toBe('\x1b[31merror\x1b[39m');
});

it('formats byte counts', () => {
  expect([formatBytes(194), formatBytes(1536), formatBytes(5 * 1024 * 1024), formatBytes(300 * 1024)]).toEqual([
    '194 B',
    '1.5 KiB',
    '5.0 MiB',
    '300 KiB',
  ]);
});
