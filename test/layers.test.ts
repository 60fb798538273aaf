import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tempHome } from './helpers/platform.js';

const REPO = resolve(import.meta.dirname, '..');
const CRUISE = join(REPO, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Cruises a tree of small modules with the repository's rules, as `npm run layers` does. */
async function violationsOf(files: Record<string, string>): Promise<string[]> {
  const root = await tempHome('ecluse-layers-');
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, [CRUISE, 'src', 'web/src', '--config', join(REPO, '.dependency-cruiser.js'), '-T', 'json'], {
      cwd: root,
    }));
  } catch (err) {
    // Violations make it exit non-zero; the report is on stdout all the same.
    stdout = (err as { stdout?: string }).stdout ?? '';
    if (!stdout) throw err;
  }
  const result = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
}

test('the layer rules catch upward and type-only arrows, cycles and web imports; the pipeline kit is shared by every side', async () => {
  const found = await violationsOf({
    'src/warehouse/w.ts': 'export const W = 1;\n',
    'src/time/days.ts': 'export const D = 1;\n',
    // Downward arrows are fine, and the kit (the pipeline contract) is known by pipelines, the orchestrator and the faces.
    'src/pipelines/kit/pipeline.ts': "import { W } from '../../warehouse/w.js';\nexport const K = W;\n",
    'src/orchestrator/runner.ts': "import { K } from '../pipelines/kit/pipeline.js';\nimport { D } from '../time/days.js';\nexport const R = K + D;\n",
    'src/pipelines/stations/schema.ts': 'export type M = number;\n',
    'src/pipelines/stations/load.ts': "import { K } from '../kit/pipeline.js';\nexport const L = K;\n",
    'src/pipelines/index.ts': "import { L } from './stations/load.js';\nexport const P = L;\n",
    'src/server/routes/runs.ts':
      "import { K } from '../../pipelines/kit/pipeline.js';\nimport { P } from '../../pipelines/index.js';\nexport const RR = K + P;\n",
    'src/pipelines/synop/stage.ts': 'export const SS = 1;\n',
    // A type-only import is an arrow too.
    'src/lake/a.ts': "import type { M } from '../pipelines/stations/schema.js';\nexport type A = M;\n",
    'src/connectors/c.ts': "import { L } from '../pipelines/stations/load.js';\nexport const C = L;\n",
    'src/pipelines/stations/stage.ts': "import { R } from '../../orchestrator/runner.js';\nexport const ST = R;\n",
    'src/orchestrator/o.ts': "import { L } from '../pipelines/stations/load.js';\nexport const O = L;\n",
    'src/server/routes/health.ts': "import { SS } from '../../pipelines/synop/stage.js';\nexport const H = SS;\n",
    'src/quality/p.ts': "import type { Q } from './q.js';\nexport interface P {\n  q?: Q;\n}\n",
    'src/quality/q.ts': "import type { P } from './p.js';\nexport interface Q {\n  p?: P;\n}\n",
    'web/src/main.ts': "import { W } from '../../src/warehouse/w.js';\nexport const V = W;\n",
  });
  assert.deepEqual(found, [
    'base-knows-no-upper-layer: src/lake/a.ts -> src/pipelines/stations/schema.ts',
    'connectors-know-only-the-base: src/connectors/c.ts -> src/pipelines/stations/load.ts',
    'faces-reach-pipelines-through-the-registry: src/server/routes/health.ts -> src/pipelines/synop/stage.ts',
    'no-circular: src/quality/p.ts -> src/quality/q.ts',
    'orchestrator-runs-pipelines-through-their-interface: src/orchestrator/o.ts -> src/pipelines/stations/load.ts',
    'pipelines-know-no-orchestrator: src/pipelines/stations/stage.ts -> src/orchestrator/runner.ts',
    'web-talks-http-only: web/src/main.ts -> src/warehouse/w.ts',
  ]);
});
