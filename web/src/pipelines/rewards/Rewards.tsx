import { useEffect, useMemo } from 'react';
import { apiUrl } from '../../lib/api.js';
import { formatCount, formatInstant } from '../../lib/format.js';
import { intParam, type QueryState } from '../../lib/query.js';
import { Chart } from '../../components/Chart.js';
import { ListTable } from '../../components/ListTable.js';
import { Async, Empty } from '../../components/States.js';
import { navigate, update } from '../../router.js';
import { useApi } from '../../useApi.js';
import type { Inconsistencies, MonthlyActivities, Notifications, RewardsList, RewardsSummary } from './api.js';
import {
  FEED_SIZE,
  IMPORT_COMMAND,
  MEASURES,
  PARIS,
  REWARDS_PAGE_SIZE,
  distanceStatusInfo,
  distanceVsLimit,
  employeeName,
  formatEur,
  formatKm,
  measureParam,
  monthlyChartOption,
  monthlySeries,
  notificationStatusParam,
  overLimit,
  parisToday,
  parisYear,
  statusCounts,
  statusInfo,
  totalMessages,
  yearChoices,
  yearMonths,
  yearParam,
  yearRange,
  type Measure,
} from './rewards.js';

/*
 * The page's own styles, inline: a stylesheet imported here would break the registry's test, which loads
 * the pages in Node (test/web/registry.test.ts).
 */
const ALARM_ROW = { background: '#fff3e0' } as const;
const DEAD_ROW = { background: '#ffebee' } as const;
const COUNTS = { display: 'flex', flexWrap: 'wrap', gap: '0.5rem', margin: '0.5rem 0 0.8rem' } as const;
/** Sentences (messages, reasons, errors, addresses) wrap: the tables' cells do not by default. */
const PROSE = { whiteSpace: 'normal', minWidth: '14em', maxWidth: '36em' } as const;

function badge(color: string) {
  return { background: `${color}1f`, color } as const;
}

function Stat({ field, label, value, warn }: { field: string; label: string; value: string; warn?: boolean }) {
  return (
    <div className={`stat${warn ? ' warn' : ''}`} data-field={field}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}

function Totals({ s }: { s: RewardsSummary }) {
  return (
    <div className="stats" data-testid="rewards-summary">
      <Stat field="employees" label="Employees" value={formatCount(s.employees)} />
      <Stat field="bonus_employees" label="Employees with the sport bonus" value={formatCount(s.bonus_employees)} />
      <Stat field="bonus_total_eur" label="Sport bonuses" value={formatEur(s.bonus_total_eur)} />
      <Stat field="bonus_withheld_eur" label="Withheld until approved" value={formatEur(s.bonus_withheld_eur)} warn={s.bonus_withheld_eur > 0} />
      <Stat field="wellbeing_employees" label="Employees with well-being days" value={formatCount(s.wellbeing_employees)} />
      <Stat field="wellbeing_days_total" label="Well-being days" value={formatCount(s.wellbeing_days_total)} />
      <Stat field="inconsistencies" label="Inconsistent declarations" value={formatCount(s.inconsistencies)} warn={s.inconsistencies > 0} />
      <Stat field="unchecked" label="Distance unchecked" value={formatCount(s.unchecked)} />
    </div>
  );
}

function ActivitiesChart({ q, year, today }: { q: QueryState; year: number; today: string }) {
  const measure = measureParam(q.measure);
  const { from, to } = yearRange(year);
  const monthly = useApi<MonthlyActivities>(apiUrl('/sport/activities/monthly', { from, to }));
  const months = useMemo(() => yearMonths(year, today), [year, today]);
  const chart = useMemo(() => (monthly.status === 'ok' ? monthlySeries(monthly.data.items, months, measure) : null), [monthly, months, measure]);
  const option = useMemo(() => (chart ? monthlyChartOption(chart, measure) : null), [chart, measure]);
  return (
    <>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Measure
          <select name="measure" value={measure} onChange={(e) => update(q, { measure: e.target.value === 'activities' ? undefined : e.target.value })}>
            {(Object.keys(MEASURES) as Measure[]).map((m) => (
              <option key={m} value={m}>
                {MEASURES[m].label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Async state={monthly} what="activities by month">
        {() =>
          !chart || !option || chart.sports.length === 0 ? (
            <Empty>No activity recorded in {year}.</Empty>
          ) : (
            <>
              <Chart option={option} height={360} testId="rewards-monthly" label={`${MEASURES[measure].label} by sport and month, ${year}`} />
              <p className="muted small">Months in Europe/Paris; sports as the employees declared them.</p>
            </>
          )
        }
      </Async>
    </>
  );
}

/** The employee, their business unit and declared commute: the first cells of both employee tables. */
function EmployeeCells({ r }: { r: { employee_id: number; first_name: string; last_name: string; business_unit: string | null; commute_mode: string } }) {
  return (
    <>
      <td>
        {employeeName(r)} <span className="muted small">#{r.employee_id}</span>
      </td>
      <td>{r.business_unit ?? '—'}</td>
      <td data-field="commute_mode">{r.commute_mode}</td>
    </>
  );
}

function InconsistencyTable({ year }: { year: number }) {
  const state = useApi<Inconsistencies>(apiUrl('/rewards/inconsistencies', { year }));
  return (
    <Async state={state} what="inconsistencies">
      {(d) =>
        d.items.length === 0 ? (
          <Empty>No declared commute is over its distance limit in {year}.</Empty>
        ) : (
          <div className="table-wrap">
            <table data-testid="rewards-inconsistencies">
              <thead>
                <tr>
                  <th>Employee</th>
                  <th>Business unit</th>
                  <th>Commute mode</th>
                  <th>Home address</th>
                  <th className="num">Distance / limit</th>
                  <th>Reason</th>
                  <th className="num">Withheld</th>
                </tr>
              </thead>
              <tbody>
                {d.items.map((r) => (
                  <tr key={r.employee_id} data-employee={r.employee_id}>
                    <EmployeeCells r={r} />
                    <td style={PROSE}>{r.home_address ?? <span className="muted">no address</span>}</td>
                    <td className={`num${(overLimit(r.distance_km, r.limit_km) ?? 0) > 0 ? ' warn' : ''}`} data-field="distance">
                      {distanceVsLimit(r.distance_km, r.limit_km)}
                    </td>
                    <td style={PROSE}>{r.reason}</td>
                    <td className="num" data-field="bonus_withheld_eur">
                      {formatEur(r.bonus_withheld_eur)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted small">
              The bonus stays withheld until HR approves the declaration: <code>ecluse rewards approve EMPLOYEE</code>.
            </p>
          </div>
        )
      }
    </Async>
  );
}

function RewardsTable({ q, year }: { q: QueryState; year: number }) {
  const offset = intParam(q.offset, 0);
  const state = useApi<RewardsList>(apiUrl('/rewards', { year, limit: REWARDS_PAGE_SIZE, offset }));
  return (
    <ListTable
      state={state}
      what="rewards"
      empty={`No rewards computed for ${year}.`}
      testId="rewards-table"
      paging={{ q, limit: REWARDS_PAGE_SIZE, offset }}
      head={
        <>
          <th>Employee</th>
          <th>Business unit</th>
          <th>Commute mode</th>
          <th className="num">Distance</th>
          <th>Distance check</th>
          <th className="num">Bonus</th>
          <th className="num">Withheld</th>
          <th className="num">Activities (12 months)</th>
          <th className="num">Well-being days</th>
        </>
      }
      row={(r) => {
        const check = distanceStatusInfo(r.distance_status);
        return (
          <tr key={r.employee_id} data-employee={r.employee_id}>
            <EmployeeCells r={r} />
            <td className="num" title={r.distance_source ? `from the ${r.distance_source}` : undefined}>
              {formatKm(r.distance_km)}
            </td>
            <td>
              <span className="badge" style={badge(check.color)} data-field="distance_status">
                {check.label}
              </span>
            </td>
            <td className="num" data-field="bonus_eur" title={r.bonus_reason}>
              {formatEur(r.bonus_eur)}
            </td>
            <td className={`num${r.bonus_withheld_eur > 0 ? ' warn' : ''}`} data-field="bonus_withheld_eur">
              {r.bonus_withheld_eur > 0 ? formatEur(r.bonus_withheld_eur) : '—'}
            </td>
            <td className="num">{formatCount(r.activities_12m)}</td>
            <td className="num" data-field="wellbeing_days">
              {formatCount(r.wellbeing_days)}
            </td>
          </tr>
        );
      }}
    />
  );
}

function NotificationFeed({ q }: { q: QueryState }) {
  const status = notificationStatusParam(q.status);
  const state = useApi<Notifications>(apiUrl('/rewards/notifications', { status: status ?? undefined, limit: FEED_SIZE }));
  return (
    <Async state={state} what="notifications">
      {(d) => {
        const counts = statusCounts(d.counts);
        return (
          <>
            <div style={COUNTS} data-testid="notification-counts">
              {counts.map((c) => (
                <button
                  key={c.status}
                  type="button"
                  className="badge"
                  title={c.meaning}
                  aria-pressed={status === c.status}
                  data-status={c.status}
                  data-count={c.count}
                  data-highlight={c.highlight || undefined}
                  style={{
                    ...badge(c.color),
                    border: status === c.status ? `1px solid ${c.color}` : '1px solid transparent',
                    cursor: 'pointer',
                    fontWeight: c.highlight ? 700 : 600,
                    ...(c.highlight ? { background: c.color, color: '#fff' } : {}),
                  }}
                  onClick={() => update(q, { status: status === c.status ? undefined : c.status })}
                >
                  {c.label}: {formatCount(c.count)}
                </button>
              ))}
            </div>
            {d.items.length === 0 ? (
              <Empty>
                {status
                  ? `No ${statusInfo(status).label.toLowerCase()} message.`
                  : totalMessages(d.counts) === 0
                    ? 'No Slack message yet: one is queued for each new activity.'
                    : 'No message.'}
              </Empty>
            ) : (
              <div className="table-wrap">
                <table data-testid="notification-feed">
                  <thead>
                    <tr>
                      <th>Queued</th>
                      <th>Status</th>
                      <th>Message</th>
                      <th className="num">Attempts</th>
                      <th>Last error</th>
                      <th>Sent</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.items.map((n) => {
                      const info = statusInfo(n.status);
                      return (
                        <tr
                          key={n.activity_key}
                          data-key={n.activity_key}
                          data-status={n.status}
                          data-alarming={info.alarming || undefined}
                          style={n.status === 'dead' ? DEAD_ROW : info.alarming ? ALARM_ROW : undefined}
                        >
                          <td className="small">{formatInstant(n.created_at, PARIS)}</td>
                          <td>
                            <span className="badge" style={badge(info.color)} title={info.meaning}>
                              {info.label}
                            </span>
                          </td>
                          <td style={{ ...PROSE, minWidth: '24em' }} data-field="message">
                            {n.message}
                          </td>
                          <td className="num">{formatCount(n.attempts)}</td>
                          <td className={n.last_error ? 'warn small' : 'muted'} style={n.last_error ? PROSE : undefined} data-field="last_error">
                            {n.last_error ?? '—'}
                          </td>
                          <td className="small">{n.sent_at ? formatInstant(n.sent_at, PARIS) : '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
                {d.total > d.items.length ? (
                  <p className="muted small" data-testid="notification-more">
                    The latest {formatCount(d.items.length)} of {formatCount(d.total)}.
                  </p>
                ) : null}
              </div>
            )}
          </>
        );
      }}
    </Async>
  );
}

function YearView({ q, year, current, today }: { q: QueryState; year: number; current: number; today: string }) {
  const summary = useApi<RewardsSummary>(apiUrl('/rewards/summary', { year }));
  return (
    <Async state={summary} what={`the ${year} totals`}>
      {(s) =>
        s.employees === 0 ? (
          <Empty>
            No rewards data for {year} yet. Load the HR and sport-declaration files with <code data-testid="import-command">{IMPORT_COMMAND}</code>
            {year !== current ? ', or pick another year' : ''}.
          </Empty>
        ) : (
          <>
            <Totals s={s} />
            <h2>Activities by sport and month</h2>
            <ActivitiesChart q={q} year={year} today={today} />
            <h2>Inconsistent declarations</h2>
            <InconsistencyTable year={year} />
            <h2>Rewards by employee</h2>
            <RewardsTable q={q} year={year} />
          </>
        )
      }
    </Async>
  );
}

/** HR's four views: the year's totals, activities by sport and month, the inconsistencies, the Slack feed. */
export function RewardsPage({ q }: { q: QueryState }) {
  const now = Date.now();
  const current = parisYear(now);
  const today = parisToday(now);
  const asked = yearParam(q.year);
  const year = asked ?? current;
  // Opened without a year: the current one goes into the URL (replacing it), so the view is a link as it stands.
  useEffect(() => {
    if (asked === null) navigate({ ...q, year: String(current) }, true);
  }, [asked, q, current]);
  return (
    <>
      <h1>Rewards</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Year
          <select name="year" value={year} onChange={(e) => update(q, { year: e.target.value, offset: undefined })}>
            {yearChoices(current, year).map((y) => (
              <option key={y} value={y}>
                {y}
              </option>
            ))}
          </select>
        </label>
      </form>
      <YearView q={q} year={year} current={current} today={today} />
      <h2>Slack congratulations</h2>
      <NotificationFeed q={q} />
    </>
  );
}
