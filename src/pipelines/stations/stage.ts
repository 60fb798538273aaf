import type { StationConfig } from '../../connectors/wunderground/stations.js';
import type { ZipReadOptions } from '../../engine/readers/zip.js';
import type { Reject } from '../../quality/rejects.js';
import { ReportBatch } from './reportBatch.js';
import { readStationsFile } from './readers.js';
import { writeBatchFile } from './load.js';
import type { StationRow } from './schema.js';

/** One file to stage: read it, validate it, and leave its reports as a CSV batch file. */
export interface StageJob {
  fileIndex: number;
  /** Local path of the file's bytes. */
  path: string;
  /** Original name, for messages and for finding a WU station. */
  file: string;
  rawKey: string;
  /** Where to write the batch CSV. */
  batchPath: string;
  stations: readonly StationConfig[];
  /** ZIP limits and the folder archives are extracted into. */
  zip?: ZipReadOptions;
}

export interface StageResult {
  fileIndex: number;
  reports: number;
  rowsRead: number;
  rowsRejected: number;
  valuesRejected: number;
  filesRejected: number;
  rejects: Reject[];
  stations: StationRow[];
}

export async function stageFile(job: StageJob): Promise<StageResult> {
  const batch = new ReportBatch(job.fileIndex);
  await readStationsFile(job.path, job.file, job.rawKey, batch, {
    stations: job.stations,
    configuredIds: new Set(job.stations.map((s) => s.id)),
    zip: job.zip,
  });
  await writeBatchFile(job.batchPath, batch.lines);
  return {
    fileIndex: job.fileIndex,
    reports: batch.lines.length,
    rowsRead: batch.rowsRead,
    rowsRejected: batch.rowsRejected,
    valuesRejected: batch.valuesRejected,
    filesRejected: batch.filesRejected,
    rejects: batch.rejects,
    stations: [...batch.stations.values()],
  };
}

/**
 * Whether a file, read alone, stages a record or is read without anything rejected whole: false when the
 * run would reject it whole (see rawInputs `commitFileRun`). The TypeScript reader gives the same results
 * as the SQL path of InfoClimat responses.
 */
export async function fileContributes(path: string, file: string, rawKey: string, stations: readonly StationConfig[], zip: ZipReadOptions): Promise<boolean> {
  const batch = new ReportBatch(0);
  await readStationsFile(path, file, rawKey, batch, { stations, configuredIds: new Set(stations.map((s) => s.id)), zip });
  return batch.lines.length > 0 || batch.rowsRejected + batch.filesRejected === 0;
}
