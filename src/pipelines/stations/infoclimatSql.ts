import { ident, literal, type DuckSession } from '../../engine/duckdb.js';
import { INFOCLIMAT_FIELDS } from '../../connectors/infoclimat/response.js';
import { MEASURES, RANGES } from './schema.js';

/**
 * The fast path for InfoClimat `.json` responses: DuckDB parses the files (in parallel, in C++) and SQL
 * types and validates every report, with the same rules and reject reasons as the TypeScript reader
 * (connectors/infoclimat/response.ts), which stays the path for everything else and for files DuckDB
 * cannot read (its messages name the line). Measured: 2× faster than parsing in JS (docs/BENCHMARKS.md).
 */

export interface JsonFile {
  fileSeq: number;
  path: string;
  /** Original name, for rejects. */
  name: string;
}

const KEYS = ['id_station', 'dh_utc', ...INFOCLIMAT_FIELDS.map(([f]) => f)];

/** The shapes parseDhUtc accepts, as strptime formats. */
const TIME = `try_strptime(v[2], ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M'])`;

function readSql(files: readonly JsonFile[]): string {
  const paths = `[${files.map((f) => literal(f.path)).join(', ')}]`;
  return `read_json(${paths}, columns = {status: 'VARCHAR', stations: 'JSON', hourly: 'MAP(VARCHAR, JSON[])'},
    filename = true, format = 'auto', maximum_object_size = 1000000000)`;
}

/**
 * Loads InfoClimat responses into `ic_docs`. Returns the files DuckDB read as InfoClimat responses; the
 * others (malformed, another shape, status not OK) are left to the TypeScript reader.
 */
export async function readInfoclimatDocs(s: DuckSession, files: readonly JsonFile[]): Promise<Set<number>> {
  await s.run(`CREATE OR REPLACE TEMP TABLE ic_docs (file_seq INTEGER, stations JSON, hourly MAP(VARCHAR, JSON[]))`);
  if (files.length === 0) return new Set();
  const mapping = `(SELECT unnest([${files.map((f) => f.fileSeq).join(', ')}]::INTEGER[]) AS file_seq,
                           unnest([${files.map((f) => literal(f.path)).join(', ')}]::VARCHAR[]) AS filename)`;
  const insert = async (batch: readonly JsonFile[]) =>
    s.run(`INSERT INTO ic_docs SELECT m.file_seq, d.stations, d.hourly FROM ${readSql(batch)} d JOIN ${mapping} m ON m.filename = d.filename
           WHERE d.status = 'OK' AND d.hourly IS NOT NULL`);
  try {
    await insert(files);
  } catch {
    // One bad file fails the whole read: try them one by one so the good ones keep the fast path.
    for (const f of files) {
      try {
        await insert([f]);
      } catch {
        // Left to the TypeScript reader, which explains what is wrong with it.
      }
    }
  }
  const rows = await s.rows<{ file_seq: number }>(`SELECT DISTINCT file_seq FROM ic_docs`);
  return new Set(rows.map((r) => Number(r.file_seq)));
}

/** Stations described by the loaded responses, as JSON objects for the TypeScript side to normalise. */
export async function infoclimatStations(s: DuckSession): Promise<{ fileSeq: number; station: unknown }[]> {
  const rows = await s.rows<{ file_seq: number; st: string }>(
    `SELECT file_seq, st::VARCHAR AS st FROM (SELECT file_seq, unnest(CAST(stations AS JSON[])) AS st, generate_subscripts(CAST(stations AS JSON[]), 1) AS i
     FROM ic_docs WHERE json_type(stations) = 'ARRAY') ORDER BY file_seq, i`,
  );
  return rows.map((r) => ({ fileSeq: Number(r.file_seq), station: JSON.parse(r.st) as unknown }));
}

/** SQL true when `expr` lies outside the physical range of measure `i`. */
function outOfRange(i: number, expr: string): string {
  const r = RANGES[MEASURES[i] as (typeof MEASURES)[number]];
  const cond = [r.min !== undefined ? `${expr} < ${r.min}` : null, r.max !== undefined ? `${expr} > ${r.max}` : null].filter(Boolean).join(' OR ');
  return cond || 'false';
}

/**
 * Types and validates the loaded reports: good reports in the view `ic_batch` (the layout of the CSV batches)
 * and writes rejects for run `runId` to `run_rejects`. `names` maps file_seq to the original file name. Returns counts.
 */
export async function stageInfoclimatDocs(
  s: DuckSession,
  runId: number,
  names: ReadonlyMap<number, string>,
  configuredIds: readonly string[],
): Promise<{ rowsRead: number; rowsRejected: number; valuesRejected: number }> {
  const fileNames = `(SELECT unnest([${[...names.keys()].join(', ')}]::INTEGER[]) AS file_seq, unnest([${[...names.values()].map(literal).join(', ')}]::VARCHAR[]) AS file)`;
  const configured = `[${configuredIds.map(literal).join(', ')}]::VARCHAR[]`;
  const paths = `[${KEYS.map((k) => literal(`$.${k}`)).join(', ')}]`;
  // Known stations are decided per (file, hourly key), a few thousand rows, not per report.
  await s.run(`CREATE OR REPLACE TEMP TABLE ic_keys AS
    WITH ents AS (
      SELECT file_seq, unnest(map_keys(hourly)) AS k, unnest(map_values(hourly)) AS arr, unnest(range(len(map_keys(hourly)))) AS k_pos
      FROM ic_docs
    ), listed AS (
      SELECT DISTINCT file_seq, json_extract_string(unnest(CAST(stations AS JSON[])), '$.id') AS id
      FROM ic_docs WHERE json_type(stations) = 'ARRAY'
    )
    SELECT e.file_seq, e.k, e.k_pos, e.arr, (l.id IS NOT NULL OR list_contains(${configured}, e.k)) AS known
    FROM ents e LEFT JOIN listed l ON l.file_seq = e.file_seq AND l.id = e.k
    WHERE e.k <> '_params'`);
  // One row per report; seq orders them as the file does (hourly keys in file order, then array position).
  const fields = INFOCLIMAT_FIELDS.map(([field, measure], j) => ({ field, measure, idx: MEASURES.indexOf(measure), raw: `v[${j + 3}]`, num: `d${j}` }));
  // Per measure: why its value is refused (NULL when accepted or missing; blank text is missing).
  const why = (f: (typeof fields)[number]): string => {
    const m = MEASURES[f.idx] as (typeof MEASURES)[number];
    const r = RANGES[m];
    const bounds = `${r.min ?? '-inf'}…${r.max ?? '+inf'}`;
    return `CASE WHEN trim(coalesce(${f.raw}, '')) = '' THEN NULL
             WHEN ${f.num} IS NULL THEN 'not a number'
             WHEN NOT isfinite(${f.num}) THEN 'not a finite number'
             WHEN ${outOfRange(f.idx, f.num)} THEN ${literal(`out of range for ${m} (${bounds})`)}
             ${r.integer ? `WHEN ${f.num} <> trunc(${f.num}) THEN ${literal(`${m} must be an integer code`)}` : ''}
        END`;
  };
  // One row per report, materialised apart from the typing below (a few thousand station arrays fit in one
  // row group: the typing then scans 400k rows, which DuckDB can split between threads).
  await s.run(`CREATE OR REPLACE TEMP TABLE ic_rows AS
    SELECT file_seq, k, known, k_pos, unnest(arr) AS j, generate_subscripts(arr, 1) AS rn FROM ic_keys`);
  const recordField = `CASE WHEN NOT is_object THEN NULL WHEN coalesce(v[1], k) <> k OR NOT known THEN 'id_station' ELSE 'dh_utc' END`;
  const recordValue = `CASE WHEN NOT is_object THEN NULL WHEN coalesce(v[1], k) <> k OR NOT known THEN coalesce(v[1], k) ELSE v[2] END`;
  const anyValueProblem = fields.map((_, j) => `w${j} IS NOT NULL`).join(' OR ');
  // Materialised narrow: the raw texts (a list of 16 strings per report) are kept only for reports with a
  // problem, which the reject rows quote; storing them for every report cost more than computing them.
  await s.run(`CREATE OR REPLACE TEMP TABLE ic_checked AS
    WITH r AS (SELECT * FROM ic_rows), x AS (
      SELECT file_seq, k, known, rn, k_pos::BIGINT * 4294967296 + rn AS seq,
             coalesce(starts_with(j::VARCHAR, '{'), false) AS is_object, json_extract_string(j, ${paths}) AS v
      FROM r
    ), t AS (
      SELECT *, coalesce(try_strptime(v[2], '%Y-%m-%d %H:%M:%S'), ${TIME}) AS observed_at,
             ${fields.map((f) => `TRY_CAST(${f.raw} AS DOUBLE) AS ${f.num}`).join(', ')}
      FROM x
    ), c AS (
      SELECT *, ${fields.map((f, j) => `${why(f)} AS w${j}`).join(', ')}, CASE
          WHEN NOT is_object THEN 'report is not an object'
          WHEN coalesce(v[1], k) <> k THEN 'id_station does not match its hourly key "' || k || '"'
          WHEN NOT known THEN 'unknown station "' || k || '": not in the file''s stations nor in ecluse.config.json'
          WHEN observed_at IS NULL THEN 'missing, malformed or nonexistent time (expected YYYY-MM-DD HH:MM:SS UTC)'
        END AS record_reason
      FROM t
    )
    SELECT file_seq, seq, rn, k, observed_at, ${fields.map((f, j) => `${f.num}, w${j}`).join(', ')}, record_reason,
           CASE WHEN record_reason IS NOT NULL THEN ${recordField} END AS record_field,
           CASE WHEN record_reason IS NOT NULL THEN ${recordValue} END AS record_value,
           CASE WHEN record_reason IS NULL AND (${anyValueProblem}) THEN v END AS v
    FROM c`);
  await s.run(`INSERT INTO run_rejects (run_id, pipeline, file, sheet, "row", field, value, reason, whole_record)
    SELECT ${runId}, 'stations', f.file, 'hourly.' || c.k, c.rn, c.record_field, c.record_value, c.record_reason, true
    FROM ic_checked c JOIN ${fileNames} f USING (file_seq) WHERE c.record_reason IS NOT NULL ORDER BY c.file_seq, c.seq`);

  await s.run(`CREATE OR REPLACE TEMP TABLE ic_value_rejects AS
    SELECT file_seq, seq, 'hourly.' || k AS sheet, rn, unnest(problems, recursive := true) FROM (
      SELECT file_seq, seq, k, rn, list_filter([${fields.map((f, j) => `{'j': ${j}, 'field': ${literal(f.field)}, 'value': ${f.raw}, 'reason': w${j}}`).join(', ')}], p -> p.reason IS NOT NULL) AS problems
      FROM ic_checked WHERE v IS NOT NULL
    )`);
  await s.run(`INSERT INTO run_rejects (run_id, pipeline, file, sheet, "row", field, value, reason, whole_record)
    SELECT ${runId}, 'stations', f.file, c.sheet, c.rn, c.field, c.value, c.reason, false
    FROM ic_value_rejects c JOIN ${fileNames} f USING (file_seq) ORDER BY c.file_seq, c.seq, c.j`);

  const measureCols = MEASURES.map((m) => {
    const f = fields.find((x) => x.measure === m);
    const type = m === 'weather_code' ? 'INTEGER' : 'DOUBLE';
    return f ? `CASE WHEN w${fields.indexOf(f)} IS NULL THEN ${f.num} END::${type} AS ${ident(m)}` : `NULL::${type} AS ${ident(m)}`;
  });
  // A view, not a copy: run_reports reads it once with the CSV batches (createRunTables defines it empty).
  await s.run(`CREATE OR REPLACE TEMP VIEW ic_batch AS
    SELECT file_seq, seq, k AS station_id, epoch_ms(observed_at) AS observed_ms, ${measureCols.join(', ')}, 'infoclimat' AS source
    FROM ic_checked WHERE record_reason IS NULL`);
  const counts = await s.rows<{ read: bigint; rejected: bigint }>(`SELECT count(*) AS read, count(record_reason) AS rejected FROM ic_checked`);
  const values = await s.scalar<bigint>(`SELECT count(*) FROM ic_value_rejects`);
  return { rowsRead: Number(counts[0]?.read ?? 0), rowsRejected: Number(counts[0]?.rejected ?? 0), valuesRejected: Number(values ?? 0) };
}
