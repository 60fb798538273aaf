import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { mountPipelineCommands } from '../../src/cli/pipelineCommands.js';
import type { PipelineCommand } from '../../src/pipelines/kit/commands.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import { writeRewardsSamples } from '../../src/pipelines/rewards/samples.js';
import { ecluse } from '../helpers/cli.js';
import { tempHome } from '../helpers/platform.js';

describe('the rewards commands', () => {
  test('ecluse --help lists the pipelines’ commands, their groups list theirs', async () => {
    const home = await tempHome('ecluse-rewards-cli-');
    const help = ecluse(home, ['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^ {2}rewards\s+the rewards pipeline/m);
    assert.match(help.stdout, /^ {2}simulate\s+stand-ins for outside services/m);
    const rewards = ecluse(home, ['rewards', '--help']);
    assert.match(rewards.stdout, /^ {2}import \[options\]/m);
    assert.match(rewards.stdout, /^ {2}approve \[options\] <employee>/m);
    const approve = ecluse(home, ['rewards', 'approve', '--help']);
    for (const flag of ['--by <name>', '--note <text>', '--year <year>']) assert.ok(approve.stdout.includes(flag), flag);
    assert.match(ecluse(home, ['simulate', '--help']).stdout, /^ {2}activities \[options\]/m);
    assert.match(ecluse(home, ['simulate', 'activities', '--help']).stdout, /--port <port>/);
  });

  test('usage errors exit 2 before any work: an option missing, a file missing, files swapped or of neither kind, bad arguments', async () => {
    const home = await tempHome('ecluse-rewards-cli-');
    const dir = join(home, 'in');
    const { hr, sport } = await writeRewardsSamples(dir, { format: 'csv', employees: 5 });

    const noHr = ecluse(home, ['rewards', 'import', '--sports', sport]);
    assert.equal(noHr.status, 2, noHr.stderr);
    assert.match(noHr.stderr, /required option '--hr <file>' not specified/);

    const missing = ecluse(home, ['rewards', 'import', '--hr', join(dir, 'absent.xlsx'), '--sports', sport]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^ecluse: --hr .*absent\.xlsx: no such file$/m);

    const swapped = ecluse(home, ['rewards', 'import', '--hr', sport, '--sports', hr]);
    assert.equal(swapped.status, 2);
    assert.match(swapped.stderr, /--hr .*Donnees_Sportive\.csv is the sport file \(Données Sportive\), by its headers: swap --hr and --sports\?/);

    const other = join(dir, 'other.csv');
    await writeFile(other, 'station;temperature\nx;1\n');
    const neither = ecluse(home, ['rewards', 'import', '--hr', hr, '--sports', other]);
    assert.equal(neither.status, 2);
    assert.match(neither.stderr, /--sports: .*other\.csv is neither the HR file .*headers found: row 1: "station", "temperature"/);

    for (const [args, message] of [
      [['rewards', 'approve', 'abc'], /EMPLOYEE must be an employee id/],
      [['rewards', 'approve', '12', '--year', '25'], /--year must be a year YYYY/],
      [['rewards', 'approve'], /missing required argument 'employee'/],
      [['simulate', 'activities', '--port', '99999'], /--port must be a TCP port/],
      [['rewards', 'import', '--hr', hr, '--sports', sport, '--nope'], /unknown option '--nope'/],
    ] as const) {
      const r = ecluse(home, [...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });

  test('rewards import runs the rewards pipeline on the two files, as ecluse run rewards --input would', async () => {
    const home = await tempHome('ecluse-rewards-cli-');
    const { hr, sport } = await writeRewardsSamples(join(home, 'in'), { employees: 12 });
    const r = ecluse(home, ['rewards', 'import', '--hr', hr, '--sports', sport, '--json']);
    if (!PIPELINES.has('rewards')) {
      // Until the pipeline is registered, the run is refused as `ecluse run rewards` refuses it.
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /unknown pipeline "rewards"/);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { pipeline: string; status: string };
    assert.equal(summary.pipeline, 'rewards');
    assert.equal(summary.status, 'succeeded');
  });

  test('a pipeline command may not take a name already taken', () => {
    const action = () => Promise.resolve(async () => {});
    const base = () => {
      const program = new Command('ecluse');
      program.command('run');
      return program;
    };
    const cmd = (...path: [string, ...string[]]): PipelineCommand => ({ path, description: 'x', action });
    assert.throws(() => mountPipelineCommands(base(), [cmd('run')], []), /pipeline command "run" is declared twice \(or clashes with a built-in one\)/);
    assert.throws(() => mountPipelineCommands(base(), [cmd('run', 'x')], []), /"run" is already a command/);
    assert.throws(() => mountPipelineCommands(base(), [cmd('a', 'b'), cmd('a', 'b')], []), /"a b" is declared twice/);
    const program = base();
    mountPipelineCommands(program, [cmd('a', 'b'), cmd('a', 'c')], [{ path: ['a'], description: 'the a group' }]);
    const group = program.commands.find((c) => c.name() === 'a');
    assert.equal(group?.description(), 'the a group');
    assert.deepEqual(
      group?.commands.map((c) => c.name()),
      ['b', 'c'],
    );
  });
});
