import { daysBetween, isDay } from '../../time/days.js';
import { UsageError, type Feed, type Pipeline } from './pipeline.js';

/**
 * The feed `--dataset <name>` names (the first when none is named), or undefined for a pipeline with one
 * source. A name the pipeline does not know, or a name given to a pipeline without feeds, is a UsageError.
 */
export function feedNamed(pipeline: Pipeline, name: string | undefined): Feed | undefined {
  const feeds = pipeline.feeds ?? [];
  if (name === undefined) return feeds[0];
  const feed = feeds.find((f) => f.name === name);
  if (feed) return feed;
  throw new UsageError(
    feeds.length === 0
      ? `--dataset: ${pipeline.name} fetches one dataset, there is none to choose`
      : `--dataset must be one of ${feeds.map((f) => f.name).join(', ')} for ${pipeline.name}, got "${name}"`,
  );
}

/** The partitions of a range of days: the feed's, or the days themselves. */
export function partitionsBetween(feed: Feed | undefined, from: string, to: string): string[] {
  return feed ? feed.partitionsBetween(from, to) : daysBetween(from, to);
}

/** Whether a partition can be asked for by name: a day, or one of the pipeline's feeds' partitions. */
export function isPartitionOf(pipeline: Pipeline, partition: string): boolean {
  return pipeline.feeds?.length ? pipeline.feeds.some((f) => f.owns(partition)) : isDay(partition);
}
