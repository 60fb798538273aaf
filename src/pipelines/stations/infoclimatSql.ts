import { ident, literal, type DuckSession } from '../../engine/duckdb.js';
import { repeatedKey } from '../../engine/readers/jsonKeys.js';
import { INFOCLIMAT_FIELDS } from './infoclimat.js';
import { INFOCLIMAT_PARAMS, INFOCLIMAT_SYNOP_ONLY } from '../../connectors/infoclimat/format.js';
import { MEASURES, RANGES } from './schema.js';

/**
 * The fast path for InfoClimat `.json` responses: DuckDB parses the files (in parallel, in C++) and SQL
 * types and validates every report, with the same rules and reject reasons as the TypeScript reader
 * (infoclimat.ts), which stays the path for everything else and for files DuckDB
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

/**
 * The key lists of real InfoClimat reports (a SYNOP station's, then a static station's, which lacks
 * `visibilite`, `neige_au_sol`, `nebulosite`, `temps_omm`), in their order: a
 * report with one of them repeats no key, and comparing lists costs a third of deduplicating each one.
 */
const REPORT_SHAPES = [
  ['id_station', 'dh_utc', ...INFOCLIMAT_PARAMS],
  ['id_station', 'dh_utc', ...INFOCLIMAT_PARAMS.filter((k) => !INFOCLIMAT_SYNOP_ONLY.includes(k))],
].map((keys) => `[${keys.map(literal).join(', ')}]`);

/** SQL true for a report `j` that repeats a key, or holds an object or array where one could hide. */
const ODD_REPORT = `(strpos(substr(j::VARCHAR, 2), '{') > 0 OR strpos(substr(j::VARCHAR, 2), '[') > 0
  OR (starts_with(j::VARCHAR, '{') AND CASE WHEN ${REPORT_SHAPES.map((shape) => `json_keys(j) = ${shape}`).join(' OR ')} THEN false
      ELSE len(json_keys(j)) <> len(list_distinct(json_keys(j))) END))`;

function readSql(files: readonly JsonFile[]): string {
  const paths = `[${files.map((f) => literal(f.path)).join(', ')}]`;
  return `read_json(${paths}, columns = {status: 'VARCHAR', stations: 'JSON', hourly: 'MAP(VARCHAR, JSON[])'},
    filename = true, format = 'auto', maximum_object_size = 1000000000)`;
}

/**
 * Loads InfoClimat responses into `ic_rows`, one row per report, straight from the files: each response's
 * `stations` rides on its first report (`rn` 1 of its first station key) rather than in a table of whole
 * documents, whose copy cost as much as the parse. Returns the files DuckDB read as InfoClimat responses;
 * the others (malformed, another shape, status not OK, no report under the first key) are left to the
 * TypeScript reader, which reads them the same way.
 */
export async function readInfoclimatDocs(s: DuckSession, files: readonly JsonFile[]): Promise<Set<number>> {
  await s.run(
    `CREATE OR REPLACE TEMP TABLE ic_rows (file_seq INTEGER, k VARCHAR, listed BOOLEAN, k_pos BIGINT, j JSON, rn BIGINT, stations JSON, odd BOOLEAN)`,
  );
  if (files.length === 0) return new Set();
  const mapping = `(SELECT unnest([${files.map((f) => f.fileSeq).join(', ')}]::INTEGER[]) AS file_seq,
                           unnest([${files.map((f) => literal(f.path)).join(', ')}]::VARCHAR[]) AS filename)`;
  // `listed`: the key is one of the response's own stations (configured ones are added when staging).
  // `stations` is stored once per file, 'null' when the response has none, so that every file read has one.
  const insert = async (batch: readonly JsonFile[]) =>
    s.run(`INSERT INTO ic_rows
      SELECT file_seq, k, listed, k_pos, j, rn, CASE WHEN rn = 1 AND k_pos = first_pos THEN coalesce(stations, 'null'::JSON) END, ${ODD_REPORT}
      FROM (
        SELECT file_seq, k, list_contains(ids, k) AS listed, k_pos, first_pos, stations, unnest(arr) AS j, generate_subscripts(arr, 1) AS rn
        FROM (
          SELECT m.file_seq, d.stations, unnest(map_keys(d.hourly)) AS k, unnest(map_values(d.hourly)) AS arr,
                 unnest(range(cardinality(d.hourly)::BIGINT)) AS k_pos,
                 CASE WHEN map_keys(d.hourly)[1] = '_params' THEN 1 ELSE 0 END AS first_pos,
                 CASE WHEN json_type(d.stations) = 'ARRAY' THEN json_extract_string(d.stations, '$[*].id') ELSE []::VARCHAR[] END AS ids
          FROM ${readSql(batch)} d JOIN ${mapping} m ON m.filename = d.filename
          WHERE d.status = 'OK' AND d.hourly IS NOT NULL
        )
        WHERE k <> '_params'
      )`);
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
  const rows = await s.rows<{ file_seq: number; described: boolean }>(
    `SELECT file_seq, bool_or(stations IS NOT NULL) AS described FROM ic_rows GROUP BY file_seq`,
  );
  // A first station key without reports leaves the file's stations nowhere: such (odd) files go the TypeScript way.
  const left = new Set(rows.filter((r) => !r.described).map((r) => Number(r.file_seq)));
  for (const fileSeq of await withRepeatedKeys(s)) left.add(fileSeq);
  if (left.size) await s.run(`DELETE FROM ic_rows WHERE file_seq IN (${[...left].join(', ')})`);
  return new Set(rows.map((r) => Number(r.file_seq)).filter((f) => !left.has(f)));
}

/**
 * Files of `ic_rows` that repeat a key, which the TypeScript reader refuses (engine/readers/jsonKeys.ts) and
 * DuckDB would read its own way (the first value; both arrays of a repeated `hourly` key). DuckDB itself
 * refuses a repeated top-level key. Reports holding an object or array below their top level, where a
 * repeated key could hide, are left to the TypeScript reader too: real reports hold only scalars.
 */
async function withRepeatedKeys(s: DuckSession): Promise<number[]> {
  const inReports = await s.rows<{ file_seq: number }>(`
    SELECT file_seq FROM ic_rows GROUP BY file_seq, k HAVING count(DISTINCT k_pos) > 1
    UNION
    SELECT file_seq FROM ic_rows WHERE odd`);
  const found = new Set(inReports.map((r) => Number(r.file_seq)));
  // The stations array, once per file, is small: the TypeScript scan reads it.
  const stations = await s.rows<{ file_seq: number; st: string }>(`SELECT file_seq, stations::VARCHAR AS st FROM ic_rows WHERE stations IS NOT NULL`);
  for (const r of stations) if (repeatedKey(r.st, JSON.parse(r.st))) found.add(Number(r.file_seq));
  return [...found];
}

/** Stations described by the loaded responses, as JSON objects for the TypeScript side to normalise. */
export async function infoclimatStations(s: DuckSession): Promise<{ fileSeq: number; station: unknown }[]> {
  const rows = await s.rows<{ file_seq: number; st: string }>(
    `SELECT file_seq, st::VARCHAR AS st FROM (SELECT file_seq, unnest(CAST(stations AS JSON[])) AS st, generate_subscripts(CAST(stations AS JSON[]), 1) AS i
     FROM ic_rows WHERE json_type(stations) = 'ARRAY') ORDER BY file_seq, i`,
  );
  return rows.map((r) => ({ fileSeq: Number(r.file_seq), station: JSON.parse(r.st) as unknown }));
}

/**
 * SQL true when the text `raw` is missing or blank as the TypeScript reader says (JavaScript's trim: ASCII
 * white space, line and paragraph separators, no-break and other Unicode spaces, BOM); DuckDB's trim takes
 * fewer. The regular expression runs only on texts that are not plain blanks.
 */
function blank(raw: string): string {
  return `(${raw} IS NULL OR trim(${raw}) = '' OR regexp_full_match(${raw}, '[\\t\\n\\x0B\\f\\r\\p{Zs}\\x{2028}\\x{2029}\\x{FEFF}]*'))`;
}

/**
 * The number a value's text spells, as the TypeScript reader reads it (`decimalNumber`): DuckDB's cast also
 * takes digit separators ("1_000"), which JavaScript's Number does not.
 */
function castNumber(raw: string): string {
  return `TRY_CAST(CASE WHEN strpos(${raw}, '_') = 0 THEN ${raw} END AS DOUBLE)`;
}

/**
 * SQL true when the text `raw`, which DuckDB read as infinite, is a spelling JavaScript's Number does not
 * take ("inf", "INF", "infinity"): the TypeScript reader calls those "not a number", and only "Infinity"
 * (and overflows such as "1e999") "not a finite number". Both paths must give the same reasons.
 */
function notJsInfinity(raw: string): string {
  // ASCII white space around, as Number takes it (decimalNumber refuses any other).
  return `(regexp_full_match(${raw}, '[\\s\\x0B]*[+-]?inf(inity)?[\\s\\x0B]*', 'i') AND NOT regexp_full_match(${raw}, '[\\s\\x0B]*[+-]?Infinity[\\s\\x0B]*'))`;
}

/** SQL true when `expr` lies outside the physical range of measure `i`. */
function outOfRange(i: number, expr: string): string {
  const r = RANGES[MEASURES[i] as (typeof MEASURES)[number]];
  const cond = [r.min !== undefined ? `${expr} < ${r.min}` : null, r.max !== undefined ? `${expr} > ${r.max}` : null].filter(Boolean).join(' OR ');
  return cond || 'false';
}

/**
 * SQL true when `expr` is an acceptable value of measure `i`: finite, in range, an integer where one is
 * required; else false or NULL. DuckDB orders NaN above +inf, so the upper bound (finite when the range
 * has none) refuses NaN as well as the infinities.
 */
function accepted(i: number, expr: string): string {
  const r = RANGES[MEASURES[i] as (typeof MEASURES)[number]];
  return [
    r.min !== undefined ? `${expr} >= ${r.min}` : `${expr} > '-inf'::DOUBLE`,
    r.max !== undefined ? `${expr} <= ${r.max}` : `${expr} < 'inf'::DOUBLE`,
    ...(r.integer ? [`${expr} = trunc(${expr})`] : []),
  ].join(' AND ');
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
  const fields = INFOCLIMAT_FIELDS.map(([field, measure], j) => ({
    field,
    measure,
    idx: MEASURES.indexOf(measure),
    raw: `v[${j + 3}]`,
    num: `d${j}`,
    ok: `m${j}`,
  }));
  // Per measure: why its value is refused (NULL when accepted or missing; blank text is missing). Only the
  // reports with a refused value (see `v` below) are explained: the rest need only `accepted`.
  const why = (f: (typeof fields)[number]): string => {
    const m = MEASURES[f.idx] as (typeof MEASURES)[number];
    const r = RANGES[m];
    const bounds = `${r.min ?? '-inf'}…${r.max ?? '+inf'}`;
    return `CASE WHEN ${blank(f.raw)} THEN NULL
             WHEN ${f.num} IS NULL OR isnan(${f.num}) OR (isinf(${f.num}) AND ${notJsInfinity(f.raw)}) THEN 'not a number'
             WHEN NOT isfinite(${f.num}) THEN 'not a finite number'
             WHEN ${outOfRange(f.idx, f.num)} THEN ${literal(`out of range for ${m} (${bounds})`)}
             ${r.integer ? `WHEN ${f.num} <> trunc(${f.num}) THEN ${literal(`${m} must be an integer code`)}` : ''}
        END`;
  };
  const recordField = `CASE WHEN NOT is_object THEN NULL WHEN coalesce(v[1], k) <> k OR NOT known THEN 'id_station' ELSE 'dh_utc' END`;
  const recordValue = `CASE WHEN NOT is_object THEN NULL WHEN coalesce(v[1], k) <> k OR NOT known THEN coalesce(v[1], k) ELSE v[2] END`;
  // A value is refused when it is not blank and not accepted (its typed value `m` then stays NULL).
  const anyValueProblem = fields.map((f) => `(${f.ok} IS NULL AND NOT ${blank(f.raw)})`).join(' OR ');
  // One row per report; seq orders them as the file does (hourly keys in file order, then array position).
  // Materialised narrow: typed values already cleared of refused ones, and the raw texts (a list of 16
  // strings per report) kept only for reports with a problem, which the reject rows quote and explain.
  await s.run(`CREATE OR REPLACE TEMP TABLE ic_checked AS
    WITH x AS (
      SELECT file_seq, k, rn, k_pos * 4294967296 + rn AS seq, listed OR list_contains(${configured}, k) AS known,
             coalesce(starts_with(j::VARCHAR, '{'), false) AS is_object, json_extract_string(j, ${paths}) AS v
      FROM ic_rows
    ), t AS (
      SELECT *, coalesce(try_strptime(v[2], '%Y-%m-%d %H:%M:%S'), ${TIME}) AS observed_at,
             ${fields.map((f) => `${castNumber(f.raw)} AS ${f.num}`).join(', ')}
      FROM x
    ), c AS (
      SELECT *, ${fields.map((f) => `CASE WHEN ${accepted(f.idx, f.num)} THEN ${f.num} END AS ${f.ok}`).join(', ')}, CASE
          WHEN NOT is_object THEN 'report is not an object'
          WHEN coalesce(v[1], k) <> k THEN 'id_station does not match its hourly key "' || k || '"'
          WHEN NOT known THEN 'unknown station "' || k || '": not in the file''s stations nor in ecluse.config.json'
          WHEN observed_at IS NULL THEN 'missing, malformed or nonexistent time (expected YYYY-MM-DD HH:MM:SS UTC)'
        END AS record_reason
      FROM t
    )
    SELECT file_seq, seq, rn, k, observed_at, ${fields.map((f) => f.ok).join(', ')}, record_reason,
           CASE WHEN record_reason IS NOT NULL THEN ${recordField} END AS record_field,
           CASE WHEN record_reason IS NOT NULL THEN ${recordValue} END AS record_value,
           CASE WHEN record_reason IS NULL AND (${anyValueProblem}) THEN v END AS v
    FROM c`);
  await s.run(`INSERT INTO run_rejects (run_id, pipeline, file, sheet, "row", field, value, reason, whole_record)
    SELECT ${runId}, 'stations', f.file, 'hourly.' || c.k, c.rn, c.record_field, c.record_value, c.record_reason, true
    FROM ic_checked c JOIN ${fileNames} f USING (file_seq) WHERE c.record_reason IS NOT NULL ORDER BY c.file_seq, c.seq`);

  await s.run(`CREATE OR REPLACE TEMP TABLE ic_value_rejects AS
    SELECT file_seq, seq, 'hourly.' || k AS sheet, rn, unnest(problems, recursive := true) FROM (
      SELECT file_seq, seq, k, rn, list_filter([${fields.map((f, j) => `{'j': ${j}, 'field': ${literal(f.field)}, 'value': ${f.raw}, 'reason': ${why(f)}}`).join(', ')}], p -> p.reason IS NOT NULL) AS problems
      FROM (SELECT *, ${fields.map((f) => `${castNumber(f.raw)} AS ${f.num}`).join(', ')} FROM ic_checked WHERE v IS NOT NULL)
    )`);
  await s.run(`INSERT INTO run_rejects (run_id, pipeline, file, sheet, "row", field, value, reason, whole_record)
    SELECT ${runId}, 'stations', f.file, c.sheet, c.rn, c.field, c.value, c.reason, false
    FROM ic_value_rejects c JOIN ${fileNames} f USING (file_seq) ORDER BY c.file_seq, c.seq, c.j`);

  const measureCols = MEASURES.map((m) => {
    const f = fields.find((x) => x.measure === m);
    const type = m === 'weather_code' ? 'INTEGER' : 'DOUBLE';
    return f ? `${f.ok}::${type} AS ${ident(m)}` : `NULL::${type} AS ${ident(m)}`;
  });
  // A view, not a copy: run_reports reads it once with the CSV batches (createRunTables defines it empty).
  await s.run(`CREATE OR REPLACE TEMP VIEW ic_batch AS
    SELECT file_seq, seq, k AS station_id, epoch_ms(observed_at) AS observed_ms, ${measureCols.join(', ')}, 'infoclimat' AS source
    FROM ic_checked WHERE record_reason IS NULL`);
  const counts = await s.rows<{ read: bigint; rejected: bigint }>(`SELECT count(*) AS read, count(record_reason) AS rejected FROM ic_checked`);
  const values = await s.scalar<bigint>(`SELECT count(*) FROM ic_value_rejects`);
  return { rowsRead: Number(counts[0]?.read ?? 0), rowsRejected: Number(counts[0]?.rejected ?? 0), valuesRejected: Number(values ?? 0) };
}

/** Per file read by the SQL path (after `stageInfoclimatDocs`): reports staged and reports rejected whole. */
export async function infoclimatFileCounts(s: DuckSession): Promise<{ fileSeq: number; good: number; rejected: number }[]> {
  const rows = await s.rows<{ file_seq: number; good: bigint; rejected: bigint }>(
    `SELECT file_seq, count(*) FILTER (WHERE record_reason IS NULL) AS good, count(record_reason) AS rejected FROM ic_checked GROUP BY file_seq`,
  );
  return rows.map((r) => ({ fileSeq: Number(r.file_seq), good: Number(r.good), rejected: Number(r.rejected) }));
}
