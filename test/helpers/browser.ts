import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): browser tests are skipped where it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium, quiet: no background requests of its own, no sandbox (containers), no GPU. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
