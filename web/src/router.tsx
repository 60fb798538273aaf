import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';
import { buildQuery, parseQuery, type QueryState } from './lib/query.js';

const EVENT = 'ecluse:navigate';

/** The current query-string state; re-renders on links, selectors and back/forward. */
export function useQuery(): QueryState {
  const [q, setQ] = useState(() => parseQuery(window.location.search));
  useEffect(() => {
    const on = () => setQ(parseQuery(window.location.search));
    window.addEventListener('popstate', on);
    window.addEventListener(EVENT, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(EVENT, on);
    };
  }, []);
  return q;
}

/** Goes to a new state: a history entry (push) for pages and selections, so back works. */
export function navigate(state: Record<string, string | number | undefined | null>, replace = false): void {
  const url = `${window.location.pathname}${buildQuery(state)}`;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(EVENT));
  window.scrollTo?.(0, 0);
}

/** Merges changes into the current state (a selector moved). */
export function update(current: QueryState, changes: Record<string, string | number | undefined | null>): void {
  navigate({ ...current, ...changes }, false);
}

export function Link({ to, children, className }: { to: Record<string, string | number | undefined | null>; children: ReactNode; className?: string }) {
  const href = buildQuery(to);
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={href} onClick={onClick} className={className}>
      {children}
    </a>
  );
}
