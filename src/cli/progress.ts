import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../pipelines/kit/pipeline.js';

/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, --json, CI logs). */
export function progressReporter(enabled: boolean): { onProgress: (e: ProgressEvent) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{step} [{bar}] {value}/{total} {item}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let step = '';
  let started = false;
  return {
    onProgress: (e) => {
      const item = e.item ? (e.item.split('/').pop() ?? '') : '';
      if (!started || e.step !== step) {
        if (started) bar.stop();
        bar.start(e.total, e.done, { step: e.step.padEnd(7), item });
        started = true;
        step = e.step;
      } else {
        bar.update(e.done, { item });
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
