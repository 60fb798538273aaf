/**
 * One read of the warehouse shared by every metric of a scrape: Prometheus calls each metric's collect()
 * in the same tick, the first starts the read and the others await it; the next scrape reads again. A
 * failed read gives null (the metrics then leave their series out) and is handed to `onError`.
 */
export function scrapeSnapshot<T>(read: () => Promise<T>, onError?: (err: unknown) => void): () => Promise<T | null> {
  let inFlight: Promise<T | null> | undefined;
  return () =>
    (inFlight ??= read()
      .catch((err: unknown) => {
        onError?.(err);
        return null;
      })
      .finally(() => {
        inFlight = undefined;
      }));
}
