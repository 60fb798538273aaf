import http from 'node:http';
import type { Config } from '../config/config.js';
import type { Platform, ProgressEvent } from '../pipelines/kit/pipeline.js';
import type { BackfillProgress, BackfillSummary } from '../orchestrator/orchestrator.js';
import type { RunSummary } from '../warehouse/metadata.js';
import { processAlive } from '../engine/processes.js';
import { readServerFile, type ServerFile } from '../server/serverFile.js';
import { CliError, readConfig, withPlatform } from './platform.js';

/** A line of a streamed answer (see server/runStream.ts). */
interface StreamLine {
  progress?: ProgressEvent;
  summary?: RunSummary;
  backfill?: BackfillProgress;
  backfill_summary?: BackfillSummary;
  queued?: number;
  error?: { message: string };
}

/** The connection to the server failed or closed before its answer ended. */
class ServerLostError extends Error {
  override name = 'ServerLostError';
}

/**
 * The running `ecluse up` of this home, as the CLI talks to it. While it holds the embedded warehouse
 * (DuckDB lets one process open the file), commands go through its API instead (docs/ARCHITECTURE.md, "The one-writer rule").
 */
export class ServerClient {
  constructor(readonly info: ServerFile) {}

  get url(): string {
    return this.info.url;
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    return (await this.answer('GET', qs.size ? `${path}?${qs}` : path)) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.answer('POST', path, body)) as T;
  }

  /** A plain request's JSON answer; the server going away is a CliError saying so (exit 2). */
  private async answer(method: string, path: string, body?: unknown): Promise<unknown> {
    try {
      return await this.json(await this.request(method, path, body));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`lost the ecluse server at ${this.url} (pid ${this.info.pid}): ${(err as Error).message}`, 2);
    }
  }

  async delete<T>(path: string): Promise<T> {
    return (await this.answer('DELETE', path)) as T;
  }

  /** Starts a run (or rebuild) and follows its NDJSON progress lines until the summary. */
  async run(path: string, body: unknown, onProgress: (e: ProgressEvent) => void): Promise<RunSummary> {
    let summary: RunSummary | null = null;
    await this.stream(path, body, (line) => {
      if (line.progress) onProgress(line.progress);
      else if (line.queued !== undefined) onProgress({ step: 'queued', done: 0, total: line.queued + 1, item: 'waiting for runs ahead' });
      else if (line.summary) summary = line.summary;
    });
    if (!summary) throw this.lost(path, body, 'it ended the answer without a summary');
    this.noteEnvironment([(summary as RunSummary).error]);
    return summary;
  }

  /** Starts a backfill and follows its NDJSON progress lines until its summary. */
  async backfill(path: string, body: unknown, onProgress: (p: BackfillProgress) => void): Promise<BackfillSummary> {
    let summary: BackfillSummary | null = null;
    await this.stream(path, body, (line) => {
      if (line.backfill) onProgress(line.backfill);
      else if (line.backfill_summary) summary = line.backfill_summary;
    });
    if (!summary) throw this.lost(path, body, 'it ended the answer without a summary');
    this.noteEnvironment((summary as BackfillSummary).results.map((r) => r.error));
    return summary;
  }

  /**
   * A run through the server uses the server's environment and configuration, not this command's: when its
   * error names a setting (`set ECLUSE_LANDING …`) that this command has, say why it did not apply.
   */
  environmentNote(errors: readonly (string | null | undefined)[], env: NodeJS.ProcessEnv = process.env): string | null {
    const names = [...new Set(errors.flatMap((e) => e?.match(/\bECLUSE_[A-Z0-9_]+\b/g) ?? []))].filter((n) => env[n]);
    if (names.length === 0) return null;
    const list = names.join(', ');
    return (
      `the run went through the ecluse server (pid ${this.info.pid}, ${this.url}), which uses the environment and configuration it was started with: ` +
      `${list} set for this command ${names.length === 1 ? 'is' : 'are'} not passed to it. Restart the server with ${names.length === 1 ? 'it' : 'them'} ` +
      `(\`${names[0]}=… ecluse up\`) or put ${names.length === 1 ? 'it' : 'them'} in ecluse.config.json; or stop the server to run this command in process`
    );
  }

  private noteEnvironment(errors: readonly (string | null | undefined)[]): void {
    const note = this.environmentNote(errors);
    if (note) console.error(`ecluse: note: ${note}`);
  }

  /**
   * The server went away while it ran something for us: say so, what it was running, and where to look
   * (the runs table records how the run ended: failed, or left to the server's next start).
   */
  private lost(path: string, body: unknown, how: string): CliError {
    const { what, pipeline } = describeRequest(path, body);
    return new CliError(
      `lost the ecluse server at ${this.url} (pid ${this.info.pid}) during ${what}: ${how}. ` +
        `The server stopped answering, so how the run ended is unknown here; see \`ecluse runs${pipeline ? ` -p ${pipeline}` : ''}\` (and \`ecluse runs --logs <run>\`)`,
      2,
    );
  }

  /** POSTs and hands each NDJSON line of the answer to `onLine`; an error line ends it as a CliError. */
  private async stream(path: string, body: unknown, onLine: (line: StreamLine) => void): Promise<void> {
    let buffered = '';
    try {
      const res = await this.request('POST', path, body, { accept: 'application/x-ndjson' });
      if (res.statusCode !== 200) await this.json(res);
      res.setEncoding('utf8');
      for await (const chunk of res as AsyncIterable<string>) {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffered.slice(0, nl)) as StreamLine;
          buffered = buffered.slice(nl + 1);
          if (line.error) {
            const note = this.environmentNote([line.error.message]);
            throw new CliError(note ? `${line.error.message}\n(${note})` : line.error.message, 1);
          }
          onLine(line);
        }
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      // The socket closed before or during the answer (node says only "socket hang up" or "aborted").
      throw this.lost(path, body, `connection lost (${(err as Error).message})`);
    }
  }

  private request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        new URL(path, this.url),
        {
          method,
          headers: {
            ...headers,
            // The server's own token (server.json, readable by its owner only); never printed.
            authorization: `Bearer ${this.info.token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        resolve,
      );
      req.on('error', (err) => reject(new ServerLostError(err.message)));
      req.end(payload);
    });
  }

  private async json(res: http.IncomingMessage): Promise<unknown> {
    let text = '';
    res.setEncoding('utf8');
    for await (const chunk of res as AsyncIterable<string>) text += chunk;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliError(`unexpected answer from the ecluse server at ${this.url} (HTTP ${res.statusCode}): ${text.slice(0, 200)}`, 1);
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return body;
    const message = (body as { message?: string }).message ?? `HTTP ${status}`;
    // A refused token means the platform cannot be used (2); a refused query is the work failing (1).
    throw new CliError(message, status === 401 || status === 403 ? 2 : 1);
  }
}

/** What a streamed request asked the server to run, in words, and its pipeline (for `ecluse runs -p`). */
function describeRequest(path: string, body: unknown): { what: string; pipeline: string | null } {
  const b = (body ?? {}) as { pipeline?: string; inputs?: unknown[]; partition?: string; from?: string; to?: string };
  const m = /^\/pipelines\/([^/]+)\/(runs|rebuild)$/.exec(path);
  if (m) {
    const pipeline = decodeURIComponent(m[1] as string);
    if (m[2] === 'rebuild') return { what: `the rebuild of ${pipeline}`, pipeline };
    if (b.from !== undefined) return { what: `the backfill of ${pipeline} from ${b.from} to ${b.to ?? '?'}`, pipeline };
    return { what: `the run of ${pipeline} [${b.partition ?? 'default partition'}]`, pipeline };
  }
  if (b.pipeline !== undefined) {
    const n = b.inputs?.length ?? 0;
    return { what: `the run of ${b.pipeline}${n > 0 ? ` on ${n} input${n === 1 ? '' : 's'}` : ''}`, pipeline: b.pipeline };
  }
  return { what: `POST ${path}`, pipeline: null };
}

/** Whether something answers `/health` at this URL (any status: a degraded server still holds the warehouse). */
export function answersHealth(url: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(new URL('/health', url), { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * The server commands must go through, or null to work in process: none registered, its process gone,
 * it does not answer, it serves another warehouse, or the warehouse is PostgreSQL (many writers).
 */
export async function localServer(config: Config): Promise<ServerClient | null> {
  if (config.warehouse.includes('://')) return null;
  const info = await readServerFile(config.home);
  if (!info || info.warehouse !== config.warehouse || !processAlive(info.pid)) return null;
  return (await answersHealth(info.url)) ? new ServerClient(info) : null;
}

/**
 * Runs a command through the running `ecluse up` of this home when there is one (it holds the embedded
 * warehouse), else in process. Both paths must print the same thing.
 */
export async function throughServerOr<T>(command: string, remote: (server: ServerClient) => Promise<T>, local: (p: Platform) => Promise<T>): Promise<T> {
  const server = await localServer(readConfig());
  return server ? remote(server) : withPlatform(command, local);
}
