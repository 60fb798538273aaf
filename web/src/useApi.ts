import { useEffect, useState } from 'react';
import { ApiError, getJson } from './lib/api.js';

export type ApiState<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ok'; data: T };

/** Fetches `url` (null: nothing to fetch yet) and refetches when it changes; a stale answer is dropped. */
export function useApi<T>(url: string | null): ApiState<T> {
  const [state, setState] = useState<ApiState<T>>({ status: 'loading' });
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
  }, [url]);
  return state;
}
