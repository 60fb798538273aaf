/**
 * The eco2mix run's first engine step: the run's files read by the eco2mix readers into one batch CSV,
 * loaded into the engine's `eco2mix_batch`, then reduced to the run's chain per key (`run_chain`, load.ts).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ECO2MIX_REGIONS, ECO2MIX_SOURCES } from '../../connectors/opendatasoft/eco2mix/fields.js';
import { csvCell } from '../../engine/csvCell.js';
import type { StagedFiles } from '../kit/fileBatch.js';
import type { RunContext } from '../kit/pipeline.js';
import { rejectedWholeFiles, type PendingFile } from '../kit/rawInputs.js';
import { Eco2mixBatch, type Eco2mixObservation } from './batch.js';
import { readEco2mixJsonlSql, SQL_READ_MIN_BYTES, type BulkSink } from './duckdbRead.js';
import { BATCH, buildRunChain, createRunTables, loadBatchFile } from './load.js';
import { readEco2mixPath } from './readers.js';
import { extensionOf } from '../../lake/raw.js';

/** What staging counted besides the kit's counters: said in the run's log. */
export interface Eco2mixStaged extends StagedFiles {
  /** Records with a key but no value at all (future slots of the real-time dataset): skipped. */
  emptySlots: number;
  /** Records whose key an earlier record of the run held with the same or a better nature: not kept. */
  duplicates: number;
}

/** UTC instant as DuckDB reads a TIMESTAMP cell. */
function timestampCell(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

const FLUSH_BYTES = 4 << 20;

/**
 * The run's sink: observations written to the batch CSV as the readers produce them (a year is ~200k
 * records: never all in memory); rejects and counters kept as the in-memory sink keeps them.
 */
class Eco2mixCsvSink extends Eco2mixBatch implements BulkSink {
  /** Observations per file (by its place in the run), for the files rejected whole. */
  readonly perFile: number[] = [];
  /** Observations written to the CSV (the others went into the batch from the SQL read path). */
  csvRows = 0;
  seqOverride: number | null = null;
  private fileSeq = 0;
  private rawFile = '';
  private seq = 0;
  private lines: string[] = [];
  private size = 0;
  private readonly fd: number;

  constructor(readonly path: string) {
    super();
    this.fd = openSync(path, 'w');
  }

  startFile(fileSeq: number, rawFile: string): void {
    this.fileSeq = fileSeq;
    this.rawFile = rawFile;
    this.seq = 0;
    this.perFile[fileSeq] = 0;
  }

  override observation(obs: Eco2mixObservation): void {
    this.rowsRead++;
    this.csvRows++;
    this.perFile[this.fileSeq] = (this.perFile[this.fileSeq] ?? 0) + 1;
    const cells = [
      String(this.fileSeq),
      String(this.seqOverride ?? this.seq++),
      csvCell(obs.regionCode),
      timestampCell(obs.observedAt),
      // The readers accept only the 12 regions: the name is the platform's spelling, not the file's.
      csvCell(ECO2MIX_REGIONS.get(obs.regionCode) ?? obs.regionCode),
      csvCell(obs.nature),
      ...ECO2MIX_SOURCES.map((s) => csvCell(obs.values[s])),
      csvCell(this.rawFile),
    ];
    const line = cells.join(',');
    this.lines.push(line);
    this.size += line.length;
    if (this.size > FLUSH_BYTES) this.flush();
  }

  countBulk(observations: number, emptySlots: number): void {
    this.rowsRead += observations + emptySlots;
    this.emptySlots += emptySlots;
    this.perFile[this.fileSeq] = (this.perFile[this.fileSeq] ?? 0) + observations;
  }

  private flush(): void {
    if (this.lines.length) writeSync(this.fd, this.lines.join('\n') + '\n');
    this.lines = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Which reader takes a file: DuckDB for large JSONL (TypeScript as its fallback), TypeScript for the rest. */
export type ReadPath = 'auto' | 'sql' | 'typescript';

/** Reads the run's files into the engine. Before the warehouse transaction: a failing statement inside would abort it. */
export async function stageFiles(ctx: RunContext, pending: readonly PendingFile[], scratch: string, path: ReadPath = 'auto'): Promise<Eco2mixStaged> {
  const s = ctx.engine;
  await createRunTables(s);
  const sink = new Eco2mixCsvSink(join(scratch, 'eco2mix-batch.csv'));
  const whole: number[] = [];
  const wholeSoFar = () => sink.rowsRejected + sink.filesRejected;
  try {
    for (const [i, f] of pending.entries()) {
      ctx.progress({ step: 'stage', done: i, total: pending.length, item: f.raw.originalName });
      const before = wholeSoFar();
      sink.startFile(i, f.raw.key);
      if (!(await readBySql(f, i))) await readEco2mixPath(f.raw.originalName, f.path, sink, { zip: { limits: ctx.config.zipLimits, scratch } });
      whole[i] = wholeSoFar() - before;
    }
  } finally {
    sink.close();
  }
  if (sink.csvRows > 0) await loadBatchFile(s, sink.path);
  const { duplicates } = await buildRunChain(s, ctx.runId, new Date());
  if (duplicates > 0) {
    ctx.log?.info(
      { duplicates },
      `${duplicates} records repeat a key an earlier record of the run holds with the same or a better nature (e.g. the spring DST day's repeated instants): the first kept`,
    );
  }
  if (sink.emptySlots > 0) {
    ctx.log?.info({ empty_slots: sink.emptySlots }, `${sink.emptySlots} empty time slots skipped (published ahead by the real-time dataset, no value yet)`);
  }
  ctx.progress({ step: 'stage', done: pending.length, total: pending.length });
  return {
    rejects: sink.rejects,
    rejectedWhole: rejectedWholeFiles(
      pending.length,
      (i) => sink.perFile[i] ?? 0,
      (i) => whole[i] ?? 0,
    ),
    rowsRead: sink.rowsRead,
    recordsRejected: sink.rowsRejected,
    filesRejected: sink.filesRejected,
    valuesRejected: sink.valuesRejected,
    emptySlots: sink.emptySlots,
    duplicates,
  };

  async function readBySql(f: PendingFile, i: number): Promise<boolean> {
    const ext = extensionOf(f.raw.originalName);
    if (path === 'typescript' || (ext !== 'jsonl' && ext !== 'ndjson')) return false;
    if (path === 'auto' && (await stat(f.path)).size < SQL_READ_MIN_BYTES) return false;
    const r = await readEco2mixJsonlSql(s, BATCH, f.raw.originalName, f.path, i, f.raw.key, sink);
    if (!r.read) ctx.log?.info({ file: f.raw.originalName, reason: r.reason }, `${f.raw.originalName}: read by the TypeScript reader (${r.reason})`);
    return r.read;
  }
}

/** Counts what a file gives, keeping nothing but its rejects. */
class CountingSink extends Eco2mixBatch {
  count = 0;
  override observation(): void {
    this.rowsRead++;
    this.count++;
  }
}

/**
 * Whether a file, read alone, stages an observation or is read without anything rejected whole: false
 * when a run would reject it whole (rawInputs `commitFileRun`).
 */
export async function fileContributes(ctx: RunContext, f: PendingFile): Promise<boolean> {
  const sink = new CountingSink();
  await readEco2mixPath(f.raw.originalName, f.path, sink, { zip: { limits: ctx.config.zipLimits } });
  return sink.count > 0 || sink.rowsRejected + sink.filesRejected === 0;
}
