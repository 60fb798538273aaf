import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempHome } from '../helpers/platform.js';
import { ecluse } from '../helpers/cli.js';

test('help texts give the default partition as it is: yesterday (Europe/Paris), never today', async () => {
  const home = await tempHome('ecluse-help-');
  // The commands that take a day.
  for (const command of ['trigger', 'run', 'backfill', 'runs']) {
    const help = ecluse(home, [command, '--help']);
    assert.equal(help.status, 0, `${command} --help: ${help.stderr}`);
    assert.doesNotMatch(help.stdout, /\btoday\b/i, `ecluse ${command} --help`);
  }
  assert.match(ecluse(home, ['trigger', '--help']).stdout, /--partition <day>\s+the day, YYYY-MM-DD \(default: yesterday, Europe\/Paris/);
});
