import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckSession, literal } from '../src/engine/duckdb.js';
import { generateStations } from '../src/connectors/generators/stations.js';
import { benchXlsx } from './xlsx.js';
import { fmt } from './measure.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench', '.work', 'stations');

async function dirSize(dir: string, ext: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const f of await readdir(dir)) {
    if (!f.endsWith(ext)) continue;
    files++;
    bytes += (await stat(join(dir, f))).size;
  }
  return { files, bytes };
}

/** DuckDB alone, in process: the engine limit for reading these files and writing them once as Parquet. */
async function duckdbAlone(dir: string, out: string): Promise<number> {
  const s = await DuckSession.open();
  try {
    const t0 = performance.now();
    await s.run(`COPY (SELECT * FROM read_json_auto(${literal(join(dir, '*.json'))}, maximum_object_size = 1000000000)) TO ${literal(out)} (FORMAT parquet)`);
    return performance.now() - t0;
  } finally {
    s.close();
  }
}

/** `ecluse run stations --input DIR --json` as a user runs it, process start included. */
function ecluseRun(dir: string, home: string): { ms: number; summary: Record<string, number | string> } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'run', 'stations', '--input', dir, '--json'], {
    env: { ...process.env, ECLUSE_HOME: home },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ecluse run failed (${r.status}): ${r.stderr}`);
  return { ms, summary: JSON.parse(r.stdout) as Record<string, number | string> };
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`;
}

/** The benchmark's input (100 stations × 28 days of InfoClimat JSON, one WU workbook), generated once. */
export async function ensureStationsInput(): Promise<{ jsonDir: string; wuDir: string }> {
  const jsonDir = join(WORK, 'json');
  const wuDir = join(WORK, 'wu');
  if (!existsSync(join(jsonDir, 'infoclimat-2024-10-28.json'))) {
    await rm(WORK, { recursive: true, force: true });
    await mkdir(jsonDir, { recursive: true });
    const t0 = performance.now();
    const g = await generateStations({ stations: 100, days: 28, out: jsonDir, wunderground: false });
    console.log(`generated ${g.files.length} InfoClimat files, ${g.reports} reports in ${fmt(performance.now() - t0)}`);
    await generateStations({ stations: 1, days: 28, out: wuDir, wunderground: true });
  }
  return { jsonDir, wuDir };
}

export async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  console.log('building dist/ …');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const { jsonDir, wuDir } = await ensureStationsInput();
  const size = await dirSize(jsonDir, '.json');
  console.log(`input: ${size.files} JSON files, ${(size.bytes / 1024 ** 2).toFixed(1)} MB`);

  const rounds = 3;
  const engine: number[] = [];
  const ecluse: number[] = [];
  let written = 0;
  let rerunMs = 0;
  let rerunWritten = -1;
  for (let i = 0; i < rounds; i++) {
    engine.push(await duckdbAlone(jsonDir, join(WORK, `alone-${i}.parquet`)));
    const home = join(WORK, `home-${i}`);
    await rm(home, { recursive: true, force: true });
    const run = ecluseRun(jsonDir, home);
    ecluse.push(run.ms);
    written = Number(run.summary.rows_written);
    if (i === 0) {
      const again = ecluseRun(jsonDir, home);
      rerunMs = again.ms;
      rerunWritten = Number(again.summary.rows_written);
    }
    await rm(home, { recursive: true, force: true });
    await rm(join(WORK, `alone-${i}.parquet`), { force: true });
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(`\nDuckDB alone (read_json_auto → Parquet, in process): ${engine.map(fmt).join(', ')}  best ${fmt(best(engine))}`);
  console.log(`ecluse run stations --json (process start included): ${ecluse.map(fmt).join(', ')}  best ${fmt(best(ecluse))}`);
  console.log(`reports written: ${written} (${Math.round(written / (best(ecluse) / 1000))} reports/s)`);
  console.log(`ratio ecluse / DuckDB alone: ${(best(ecluse) / best(engine)).toFixed(2)}× (best of ${rounds}; target ≤ 2×)`);
  console.log(`re-run of the same input: ${fmt(rerunMs)}, rows_written ${rerunWritten}`);

  const x = await benchXlsx(wuDir);
  console.log(
    `\nXLSX (Weather Underground, ${x.rows} rows): ecluse reader ${Math.round(x.rows / (x.ecluseMs / 1000))} rows/s (${fmt(x.ecluseMs)}), ` +
      `exceljs streaming alone ${Math.round(x.rows / (x.exceljsMs / 1000))} rows/s (${fmt(x.exceljsMs)}), ratio ${(x.ecluseMs / x.exceljsMs).toFixed(2)}×`,
  );
}
