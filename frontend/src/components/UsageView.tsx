/**
 * The usage report (`GET /api/usage`): sessions, tokens by type and
 * API-equivalent cost grouped by host, project, agent or UTC day over a date
 * range. The query lives in the URL hash, so a report can be reloaded and shared.
 */
import { useEffect, useState } from 'react';
import type { TokenCounts, UsageGroupBy, UsageReport, UsageRow } from '../protocol/generated/protocol';
import { api, errorMessage, type UsageQuery } from '../api';
import { basename } from '../lists';
import { USAGE_GROUPS, defaultUsageQuery, openUsage, utcDay } from '../route';
import { COST_NOTE, formatCount, formatTokens, rowCostDisplay, totalTokens } from '../usage';

const GROUP_LABEL: Record<UsageGroupBy, string> = {
  day: 'Day (UTC)',
  host: 'Host',
  project: 'Project',
  agent: 'Agent',
};

/** The token columns; the last three only appear when the report has any. */
const TOKEN_COLUMNS: { key: keyof TokenCounts; label: string; optional: boolean }[] = [
  { key: 'input', label: 'Input', optional: false },
  { key: 'output', label: 'Output', optional: false },
  { key: 'cacheRead', label: 'Cache read', optional: false },
  { key: 'cacheWrite', label: 'Cache write', optional: false },
  { key: 'reasoning', label: 'Reasoning', optional: true },
  { key: 'tool', label: 'Tool', optional: true },
  { key: 'other', label: 'Other', optional: true },
];

const DAY_MS = 86_400_000;

/** Quick ranges, each ending today (UTC). */
const RANGES: { id: string; label: string; range: (now: number) => { from: string; to: string } }[] = [
  { id: '7d', label: '7 days', range: (now) => ({ from: utcDay(now - 6 * DAY_MS), to: utcDay(now) }) },
  { id: '30d', label: '30 days', range: (now) => ({ from: utcDay(now - 29 * DAY_MS), to: utcDay(now) }) },
  { id: 'month', label: 'This month', range: (now) => ({ from: `${utcDay(now).slice(0, 8)}01`, to: utcDay(now) }) },
  { id: 'all', label: 'All time', range: () => ({ from: '', to: '' }) },
];

type Load =
  | { state: 'loading'; report: UsageReport | null }
  | { state: 'ready'; report: UsageReport }
  | { state: 'error'; message: string; report: UsageReport | null };

export function UsageView({ query }: { query: UsageQuery }) {
  const [load, setLoad] = useState<Load>({ state: 'loading', report: null });
  const [reloads, setReloads] = useState(0);
  const invalid = query.from && query.to && query.from > query.to ? '“From” is after “To”.' : null;

  useEffect(() => {
    if (invalid) return;
    let cancelled = false;
    setLoad((prev) => ({ state: 'loading', report: prev.report }));
    api
      .usage(query)
      .then((report) => {
        if (!cancelled) setLoad({ state: 'ready', report });
      })
      .catch((e: unknown) => {
        if (!cancelled) setLoad((prev) => ({ state: 'error', message: errorMessage(e), report: prev.report }));
      });
    return () => {
      cancelled = true;
    };
  }, [query, invalid, reloads]);

  const set = (patch: Partial<UsageQuery>) => openUsage({ ...query, ...patch });
  const now = Date.now();
  const activeRange = RANGES.find((r) => {
    const range = r.range(now);
    return range.from === query.from && range.to === query.to;
  })?.id;
  const report = invalid ? null : load.report;

  return (
    <main className="usage-page" data-testid="usage-view" data-state={invalid ? 'invalid' : load.state}>
      <div className="usage-head">
        <h1>Usage</h1>
        <p className="muted small">{COST_NOTE}</p>
      </div>
      <form className="usage-controls" onSubmit={(e) => e.preventDefault()}>
        <label className="field inline">
          <span>Group by</span>
          <select
            value={query.groupBy}
            onChange={(e) => set({ groupBy: e.target.value as UsageGroupBy })}
            data-testid="usage-group-by"
          >
            {USAGE_GROUPS.map((g) => (
              <option key={g} value={g}>
                {GROUP_LABEL[g]}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>From (UTC)</span>
          <input
            type="date"
            value={query.from}
            max={query.to || undefined}
            onChange={(e) => set({ from: e.target.value })}
            aria-invalid={invalid ? true : undefined}
            data-testid="usage-from"
          />
        </label>
        <label className="field inline">
          <span>To (UTC)</span>
          <input
            type="date"
            value={query.to}
            min={query.from || undefined}
            onChange={(e) => set({ to: e.target.value })}
            aria-invalid={invalid ? true : undefined}
            data-testid="usage-to"
          />
        </label>
        <div className="range-buttons" role="group" aria-label="Quick ranges">
          {RANGES.map((r) => (
            <button
              key={r.id}
              type="button"
              className={`btn small ${activeRange === r.id ? 'active' : 'ghost'}`}
              aria-pressed={activeRange === r.id}
              onClick={() => set(r.range(Date.now()))}
              data-testid={`usage-range-${r.id}`}
            >
              {r.label}
            </button>
          ))}
        </div>
        <span className="spacer" />
        <button
          type="button"
          className="btn small"
          onClick={() => setReloads((n) => n + 1)}
          disabled={Boolean(invalid) || load.state === 'loading'}
          data-testid="usage-refresh"
        >
          {load.state === 'loading' && !invalid ? 'Loading…' : 'Refresh'}
        </button>
      </form>
      {invalid && (
        <p className="form-error" role="alert" data-testid="usage-error">
          {invalid}
        </p>
      )}
      {!invalid && load.state === 'error' && (
        <div className="form-error usage-error" role="alert" data-testid="usage-error">
          <span>Could not load usage: {load.message}</span>
          <button type="button" className="btn tiny" onClick={() => setReloads((n) => n + 1)}>
            Retry
          </button>
        </div>
      )}
      {!invalid && load.state === 'loading' && !report && (
        <p className="muted pad" data-testid="usage-loading">
          Loading usage…
        </p>
      )}
      {report && <UsageTable report={report} busy={load.state === 'loading'} defaultQuery={defaultUsageQuery(now)} />}
    </main>
  );
}

function UsageTable({ report, busy, defaultQuery }: { report: UsageReport; busy: boolean; defaultQuery: UsageQuery }) {
  const columns = TOKEN_COLUMNS.filter((c) => !c.optional || report.total.tokens[c.key] > 0);
  if (report.rows.length === 0) {
    return (
      <div className="usage-empty" data-testid="usage-empty" aria-busy={busy}>
        <p className="muted">No usage recorded in this range.</p>
        <button type="button" className="btn small" onClick={() => openUsage({ ...defaultQuery, groupBy: report.groupBy })}>
          Show the last 30 days
        </button>
      </div>
    );
  }
  return (
    <div className={`table-scroll ${busy ? 'busy' : ''}`} aria-busy={busy}>
      <table className="data-table usage-table" data-testid="usage-table" data-group-by={report.groupBy}>
        <thead>
          <tr>
            <th scope="col">{GROUP_LABEL[report.groupBy]}</th>
            <th scope="col" className="num">
              Sessions
            </th>
            {columns.map((c) => (
              <th key={c.key} scope="col" className="num">
                {c.label}
              </th>
            ))}
            <th scope="col" className="num">
              Total tokens
            </th>
            <th scope="col" className="num" title={COST_NOTE}>
              API-equiv. cost
            </th>
            <th scope="col" className="num" title="Sessions with a model that has no price; their cost leaves that model out">
              Unpriced sessions
            </th>
          </tr>
        </thead>
        <tbody>
          {report.rows.map((row) => (
            <Row key={row.key} row={row} groupBy={report.groupBy} columns={columns} testId={`usage-row-${row.key}`} />
          ))}
        </tbody>
        <tfoot>
          <Row row={report.total} groupBy={report.groupBy} columns={columns} testId="usage-total" total />
        </tfoot>
      </table>
    </div>
  );
}

function Row({
  row,
  groupBy,
  columns,
  testId,
  total = false,
}: {
  row: UsageRow;
  groupBy: UsageGroupBy;
  columns: typeof TOKEN_COLUMNS;
  testId: string;
  total?: boolean;
}) {
  const cost = rowCostDisplay(row);
  const sum = totalTokens(row.tokens);
  return (
    <tr className={total ? 'total' : undefined} data-testid={testId} data-key={total ? undefined : row.key}>
      <th scope="row" className="group-label">
        {total ? 'Total' : <GroupLabel row={row} groupBy={groupBy} />}
      </th>
      <td className="num" data-testid="usage-row-sessions">
        {formatCount(row.sessions)}
      </td>
      {columns.map((c) => (
        <td key={c.key} className="num" title={formatCount(row.tokens[c.key])} data-column={c.key}>
          {formatTokens(row.tokens[c.key])}
        </td>
      ))}
      <td className="num" title={formatCount(sum)} data-testid="usage-tokens" data-total-tokens={sum}>
        {formatTokens(sum)}
      </td>
      <td
        className={`num usage-cost cost-${cost.kind}`}
        data-testid="usage-cost"
        data-cost-nano-usd={row.costNanoUsd}
        data-cost-kind={cost.kind}
        title={cost.kind === 'priced' ? COST_NOTE : `${COST_NOTE}\nUnpriced models are left out of this figure.`}
      >
        {cost.text}
        {cost.kind === 'partial' && <span className="cost-unpriced"> + unpriced</span>}
      </td>
      <td className={`num ${row.unpricedSessions > 0 ? 'warn-text' : 'muted'}`} data-testid="usage-row-unpriced">
        {formatCount(row.unpricedSessions)}
      </td>
    </tr>
  );
}

function GroupLabel({ row, groupBy }: { row: UsageRow; groupBy: UsageGroupBy }) {
  const label = row.label || row.key;
  switch (groupBy) {
    case 'project':
      return (
        <span className="project-label" title={row.key}>
          <span>{basename(label)}</span> <span className="muted small mono">{label}</span>
        </span>
      );
    case 'host':
      return <span title={row.key}>{label}</span>;
    case 'day':
      return <span className="mono">{label}</span>;
    case 'agent':
      return <span>{label}</span>;
  }
}
