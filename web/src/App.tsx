import { useMemo } from 'react';
import type { ApiGet } from './lib/api.js';
import { isActive, shownLinks } from './lib/registry.js';
import { ErrorBox } from './components/States.js';
import { TokenDialog, TokenStatus } from './components/TokenDialog.js';
import { HOME, NAV, ROUTES } from './routes.js';
import { Link, useQuery } from './router.js';
import { useApi } from './useApi.js';

export function App() {
  const q = useQuery();
  const current = q.page ?? HOME;
  const Page = ROUTES.get(current)?.component;
  // Fetched once: which pipelines this server runs, so a registered pipeline it lacks gets no link.
  const pipelines = useApi<ApiGet<'/pipelines'>>('/pipelines');
  const listed = pipelines.status === 'ok' ? pipelines.data.items : null;
  const links = useMemo(() => shownLinks(NAV, listed ? new Set(listed.map((p) => p.name)) : null), [listed]);
  return (
    <>
      <header className="top">
        <Link to={{}} className="brand">
          écluse
        </Link>
        <nav>
          {links.map((n) => (
            <Link key={n.page} to={{ page: n.page }} className={isActive(n, current) ? 'active' : ''}>
              {n.label}
            </Link>
          ))}
        </nav>
        <TokenStatus />
        <a className="docs" href="/docs">
          API
        </a>
      </header>
      <main data-page={current}>{Page ? <Page q={q} /> : <ErrorBox message={`no page "${q.page}"`} />}</main>
      <TokenDialog />
    </>
  );
}
