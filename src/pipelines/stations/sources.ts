import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import { listLanding, type LandingFile } from '../../connectors/files/landing.js';
import { fetchInfoclimatDay } from '../../connectors/infoclimat/api.js';
import { LakeConfigError, openStore } from '../../lake/open.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { sha256OfFile } from '../../lake/raw.js';
import type { Platform, RunRequest } from '../kit/pipeline.js';
import { SUPPORTED_EXTENSIONS } from './readers.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';
import { dayOf, isDay, previousDayOf } from '../../time/days.js';
import { stationsConfig } from './settings.js';

/**
 * Inputs of a scheduled `stations` run (no `--input`): the landing location's files not yet seen, and the
 * previous day of the InfoClimat open-data API when a token is configured.
 */

const PIPELINE = 'stations';

/** The four GreenAndCoop InfoClimat stations: Armentières, Bergues, Hazebrouck, Lille-Lesquin. */
export const DEFAULT_INFOCLIMAT_STATIONS: readonly string[] = ['00052', '000R5', 'STATIC0010', '07015'];

type ScheduledSource = 'landing' | 'infoclimat-api';

/** One local file to extract, already known to be new (its hash is in no committed run's `files`). */
interface ScheduledInput {
  /** A local path whose base name is the original file name; valid until the scratch folder is removed. */
  path: string;
  /** The original name: the path relative to the landing, or `infoclimat-YYYY-MM-DD.json`. */
  name: string;
  source: ScheduledSource;
  sha256: string;
  size: number;
}

export interface ScheduledInputs {
  /** New files, landing first (by name), then the API's day. */
  inputs: ScheduledInput[];
  /** Files whose content a committed run (or an earlier file of this list) already holds. */
  skipped: number;
  /** Landing files left for a later run: modified less than `minAgeMs` ago, perhaps still being written. */
  tooRecent: string[];
  /** The day fetched from InfoClimat, or null without a token. */
  day: string | null;
}

export interface CollectOptions {
  /** The run's time: the API day is the Europe/Paris day before it (default now). */
  now?: Date;
  /** InfoClimat station ids; default: those of the warehouse and configuration, plus the defaults. */
  infoclimatStations?: readonly string[];
  fetchImpl?: typeof fetch;
  /** API retry tuning (tests shorten the waits). */
  api?: { attempts?: number; backoffMs?: number; timeoutMs?: number };
  /** Builds the store of an `s3://` landing; default: `openStore` of the lake, on `ECLUSE_S3_ENDPOINT`. */
  openStore?: (url: string) => ObjectStore;
  /** Folder landings: files younger than this are left for the next run (default 10 s). */
  minAgeMs?: number;
}

/** Stores that hold resources (the S3 store's client); not part of the ObjectStore contract. */
interface Closable {
  close(): void;
}

/** Raised when a scheduled run has no source configured. */
export class NothingToReadError extends Error {
  override name = 'NothingToReadError';
  /** A configuration matter: another attempt would fail the same way. */
  readonly retryable = false;
  constructor() {
    super('stations: nothing to read: set ECLUSE_LANDING or ECLUSE_INFOCLIMAT_TOKEN, or give --input');
  }
}

/** The calendar day before `now` in `timeZone`, as `YYYY-MM-DD`. */
export function previousDay(now: Date, timeZone = DEFAULT_TIME_ZONE): string {
  return previousDayOf(dayOf(now, timeZone));
}

/**
 * InfoClimat station ids to fetch: those the warehouse knows (any type but Weather Underground), the
 * configured non-WU stations, and the defaults; sorted, each once.
 */
export async function infoclimatStationIds(p: Platform): Promise<string[]> {
  const ids = new Set<string>(DEFAULT_INFOCLIMAT_STATIONS);
  for (const s of stationsConfig.settings(p.config).stations) if (s.type !== 'wunderground') ids.add(s.id);
  // On a fresh warehouse the stations table does not exist until the first run creates it.
  const [table] = await p.warehouse.query(
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'stations' AND table_schema = current_schema()`,
  );
  if (Number(table?.n ?? 0) > 0) {
    const rows = await p.warehouse.query(`SELECT id FROM stations WHERE type IS NULL OR type <> $1`, ['wunderground']);
    for (const r of rows) if (typeof r.id === 'string' && r.id !== '') ids.add(r.id);
  }
  return [...ids].sort();
}

/** Paths ecluse itself writes, never to be read back as input when a landing folder holds the home. */
function ownPaths(p: Platform): string[] {
  const own = [resolve(p.config.warehouse)];
  if (!p.config.lake.includes('://')) own.push(resolve(p.config.lake) + sep);
  return own;
}

/**
 * Collects a scheduled run's new files into `scratchDir` (landing files of a folder are read in place, so
 * they are not copied). Throws NothingToReadError when neither a landing nor a token is configured, and
 * the API's error when its day cannot be fetched: a day silently missed would never be fetched again.
 */
export async function collectScheduledInputs(p: Platform, request: RunRequest, scratchDir: string, options: CollectOptions = {}): Promise<ScheduledInputs> {
  const { landing } = p.config;
  const { infoclimatToken: token, infoclimatUrl } = stationsConfig.settings(p.config);
  if (!landing && !token) throw new NothingToReadError();
  if (request.partition !== undefined && !isDay(request.partition)) {
    throw new Error(`stations: partition ${JSON.stringify(request.partition)} is not a day (YYYY-MM-DD)`);
  }

  const inputs: ScheduledInput[] = [];
  const seenInRun = new Set<string>();
  let skipped = 0;
  const tooRecent: string[] = [];
  /** Keeps a local file if its content is new; returns whether it was kept. */
  const keep = async (path: string, name: string, source: ScheduledSource, size: number): Promise<boolean> => {
    const sha256 = await sha256OfFile(path);
    if (seenInRun.has(sha256) || (await p.warehouse.seenFiles(PIPELINE, [sha256])).size > 0) {
      skipped++;
      return false;
    }
    seenInRun.add(sha256);
    inputs.push({ path, name, source, sha256, size });
    return true;
  };

  if (landing?.startsWith('s3://')) {
    const store = options.openStore ? options.openStore(landing) : openLandingStore(landing, p.config.s3Endpoint);
    try {
      const files = await listLanding(store, { extensions: SUPPORTED_EXTENSIONS });
      for (const [i, f] of files.entries()) await keepRemote(f, join(scratchDir, 'landing', String(i)), keep);
    } finally {
      // A store we opened holds an S3 client's sockets; one handed to us is the caller's to close.
      if (!options.openStore) (store as Partial<Closable>).close?.();
    }
  } else if (landing) {
    const files = await listLanding(landing, {
      extensions: SUPPORTED_EXTENSIONS,
      minAgeMs: options.minAgeMs,
      now: options.now,
      onTooRecent: (name) => tooRecent.push(name),
    });
    const own = ownPaths(p);
    for (const f of files) {
      const path = join(landing, ...f.name.split('/'));
      if (own.some((x) => path === x || path.startsWith(x))) continue;
      await keep(path, f.name, 'landing', f.size);
    }
  }

  let day: string | null = null;
  if (token) {
    day = request.partition ?? previousDay(options.now ?? new Date());
    const stations = options.infoclimatStations ?? (await infoclimatStationIds(p));
    const name = `infoclimat-${day}.json`;
    const dir = join(scratchDir, 'infoclimat-api');
    await mkdir(dir, { recursive: true });
    const got = await fetchInfoclimatDay({
      baseUrl: infoclimatUrl,
      token,
      stations,
      day,
      dest: join(dir, name),
      fetchImpl: options.fetchImpl,
      ...options.api,
    });
    if (!(await keep(got.path, name, 'infoclimat-api', got.bytes))) await rm(got.path, { force: true });
  }
  return { inputs, skipped, tooRecent, day };
}

/** The landing's store, built like the lake's; configuration errors name the landing, not the lake. */
function openLandingStore(landing: string, s3Endpoint: string | undefined): ObjectStore {
  try {
    return openStore(landing, s3Endpoint);
  } catch (err) {
    if (err instanceof LakeConfigError) throw new LakeConfigError(`landing: ${err.message}`);
    throw err;
  }
}

/** Downloads a remote landing file under its own base name; drops the copy when its content is not new. */
async function keepRemote(
  f: LandingFile,
  dir: string,
  keep: (path: string, name: string, source: ScheduledSource, size: number) => Promise<boolean>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, posix.basename(f.name));
  await f.withLocalFile((local) => copyFile(local, path));
  if (!(await keep(path, f.name, 'landing', f.size))) await rm(path, { force: true });
}
