import { Orchestrator, type CancelOutcome } from '../orchestrator/orchestrator.js';
import { printJson } from './format.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';

/** `ecluse cancel RUN`: stops a running run (through the server that runs it, or by a request in `runs`). */
export async function cancelCommand(run: string, opts: { json?: boolean }): Promise<void> {
  const id = Number(run);
  if (!Number.isSafeInteger(id) || id < 1) throw new CliError(`${run}: expected a run id (a positive integer)`, 2);
  const outcome = await throughServerOr<CancelOutcome>(
    `cancel ${id}`,
    async (server) => {
      try {
        return (await server.post<{ outcome: CancelOutcome }>(`/runs/${id}/cancel`, {})).outcome;
      } catch (err) {
        // 404 and 409 come back as messages; the outcome is what the command reports.
        if (err instanceof CliError && /^no run /.test(err.message)) return 'not_found';
        if (err instanceof CliError && /is not running/.test(err.message)) return 'not_running';
        throw err;
      }
    },
    (platform) => new Orchestrator(platform, new Map()).cancel(id),
  );
  if (opts.json) printJson({ run_id: id, outcome });
  else
    console.log(
      {
        cancelled: `run ${id} cancelled`,
        requested: `cancel of run ${id} requested: the process running it stops it at its next step`,
        not_running: `run ${id} is not running`,
        not_found: `no run ${id}`,
      }[outcome],
    );
  if (outcome === 'not_found' || outcome === 'not_running') process.exitCode = 1;
}
