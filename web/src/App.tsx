import type { ReactNode } from 'react';
import type { QueryState } from './lib/query.js';
import { CitiesPage } from './pipelines/synop/Cities.js';
import { LakePage } from './pages/Lake.js';
import { OverviewPage } from './pages/Overview.js';
import { RunPage } from './pages/Run.js';
import { RunsPage } from './pages/Runs.js';
import { StationPage } from './pipelines/stations/Station.js';
import { StationsPage } from './pipelines/stations/Stations.js';
import { ErrorBox } from './components/States.js';
import { TokenDialog, TokenStatus } from './components/TokenDialog.js';
import { Link, useQuery } from './router.js';

const NAV: ReadonlyArray<{ page: string; label: string; also?: string }> = [
  { page: 'overview', label: 'Overview' },
  { page: 'runs', label: 'Runs', also: 'run' },
  { page: 'stations', label: 'Stations', also: 'station' },
  { page: 'cities', label: 'Cities' },
  { page: 'lake', label: 'Lake' },
];

function pageOf(q: QueryState): ReactNode {
  switch (q.page ?? 'overview') {
    case 'overview':
      return <OverviewPage />;
    case 'runs':
      return <RunsPage q={q} />;
    case 'run':
      return <RunPage q={q} />;
    case 'stations':
      return <StationsPage />;
    case 'station':
      return <StationPage q={q} />;
    case 'cities':
      return <CitiesPage q={q} />;
    case 'lake':
      return <LakePage q={q} />;
    default:
      return <ErrorBox message={`no page "${q.page}"`} />;
  }
}

export function App() {
  const q = useQuery();
  const current = q.page ?? 'overview';
  return (
    <>
      <header className="top">
        <Link to={{}} className="brand">
          écluse
        </Link>
        <nav>
          {NAV.map((n) => (
            <Link key={n.page} to={{ page: n.page }} className={current === n.page || current === n.also ? 'active' : ''}>
              {n.label}
            </Link>
          ))}
        </nav>
        <TokenStatus />
        <a className="docs" href="/docs">
          API
        </a>
      </header>
      <main data-page={current}>{pageOf(q)}</main>
      <TokenDialog />
    </>
  );
}
