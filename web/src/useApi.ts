import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ApiError, getJson } from './lib/api.js';
import { apiToken } from './lib/token.js';

export type ApiState<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ok'; data: T };

const needsToken = (s: ApiState<unknown>) => s.status === 'error' && (s.error.status === 401 || s.error.status === 403);

/**
 * Fetches `url` (null: nothing to fetch yet) and refetches when it changes; a stale answer is dropped. A
 * view that failed for want of a token (401, 403) fetches again when one is given.
 */
export function useApi<T>(url: string | null): ApiState<T> {
  const [state, setState] = useState<ApiState<T>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const tokens = useSyncExternalStore(apiToken.subscribe, apiToken.version);
  const last = useRef(state);
  last.current = state;
  useEffect(() => {
    if (needsToken(last.current)) setAttempt((n) => n + 1);
  }, [tokens]);
  useEffect(() => {
    if (url === null) return;
    const ctl = new AbortController();
    setState({ status: 'loading' });
    getJson<T>(url, ctl.signal).then(
      (data) => setState({ status: 'ok', data }),
      (err: Error) => {
        if (err.name === 'AbortError') return;
        setState({ status: 'error', error: err instanceof ApiError ? err : new ApiError(0, 'client', err.message) });
      },
    );
    return () => ctl.abort();
  }, [url, attempt]);
  return state;
}
