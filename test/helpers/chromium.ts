import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, installed by .ci/run. */
const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests are skipped (false: they run); in CI, a missing Chromium fails instead. */
export function chromiumSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is required in CI (installed by .ci/run) but is missing`);
  return `${CHROMIUM} not installed: the dashboard's browser tests are skipped (apt-get install chromium)`;
}

/** Headless Chromium with nothing of its own reaching the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
