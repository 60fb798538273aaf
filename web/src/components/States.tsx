import type { ReactNode } from 'react';
import { apiToken } from '../lib/token.js';
import type { ApiState } from '../useApi.js';

export function Loading({ what = 'data' }: { what?: string }) {
  return (
    <div className="state loading" role="status" data-state="loading">
      Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state empty" data-state="empty">
      {children}
    </div>
  );
}

export function ErrorBox({ message, status }: { message: string; status?: number }) {
  // Refused for want of a token (the question was dismissed, or the token lacks a scope): a way to give one.
  const tokenIssue = status === 401 || status === 403;
  return (
    <div className="state error" role="alert" data-state="error">
      <strong>{status ? `Error ${status}` : 'Error'}:</strong> {message}
      {tokenIssue ? (
        <>
          {' '}
          <button
            type="button"
            className="link-button"
            data-testid="enter-token"
            onClick={() => void apiToken.ask({ refused: status === 403 || apiToken.get() !== null, message })}
          >
            {apiToken.get() ? 'Use another token' : 'Enter a token'}
          </button>
        </>
      ) : null}
    </div>
  );
}

/** Renders loading and error states, else `children(data)`. */
export function Async<T>({ state, what, children }: { state: ApiState<T>; what?: string; children: (data: T) => ReactNode }) {
  if (state.status === 'loading') return <Loading what={what} />;
  if (state.status === 'error') return <ErrorBox message={state.error.message} status={state.error.status || undefined} />;
  return <>{children(state.data)}</>;
}

export function Pager({ total, limit, offset, onChange }: { total: number; limit: number; offset: number; onChange: (offset: number) => void }) {
  if (total <= limit) return null;
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  return (
    <div className="pager" data-testid="pager">
      <button type="button" disabled={offset <= 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span>
        {offset + 1}–{Math.min(total, offset + limit)} of {total}
      </span>
      <button type="button" disabled={offset >= last} onClick={() => onChange(Math.min(last, offset + limit))}>
        Next →
      </button>
    </div>
  );
}

/** A run's status; a success with warnings (it did not load all it was given) is amber, not green. */
export function StatusBadge({ status, warnings }: { status: string; warnings?: readonly string[] }) {
  const n = warnings?.length ?? 0;
  if (status === 'succeeded' && n > 0) {
    return (
      <span className="badge status-warning" title={warnings?.join('\n')}>
        succeeded · {n} warning{n === 1 ? '' : 's'}
      </span>
    );
  }
  return <span className={`badge status-${status}`}>{status}</span>;
}
