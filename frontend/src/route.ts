/**
 * Hash routing: `#/session/<id>` opens a terminal, `#/usage?groupBy=…&from=…&to=…`
 * the usage report, anything else is the overview. The overview and the
 * session view carry the session list's filter (`?state=…&host=…&agent=…&q=…`),
 * so it survives opening a session, a reload and a shared link.
 */
import { useEffect, useState } from 'react';
import type { UsageGroupBy } from './protocol/generated/protocol';
import type { UsageQuery } from './api';
import { filterSearch, parseFilter, type SessionFilter } from './sessionFilter';

export type Route =
  | { view: 'overview'; list: SessionFilter }
  | { view: 'session'; sessionId: string; list: SessionFilter }
  | { view: 'usage'; query: UsageQuery };

/** The groupings `GET /api/usage` offers, in the order the UI lists them. */
export const USAGE_GROUPS: readonly UsageGroupBy[] = ['day', 'host', 'project', 'agent'];

/** How many days the usage report covers when the URL names no range. */
export const DEFAULT_USAGE_DAYS = 30;

const DAY_MS = 86_400_000;

/** The UTC calendar day of an instant, `YYYY-MM-DD`. */
export function utcDay(unixMs: number): string {
  return new Date(unixMs).toISOString().slice(0, 10);
}

/** Whether `s` is a real calendar day written `YYYY-MM-DD`. */
export function isIsoDay(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(t) && utcDay(t) === s;
}

/** The last `days` UTC days up to and including today. */
export function defaultUsageQuery(now: number, groupBy: UsageGroupBy = 'day'): UsageQuery {
  return { groupBy, from: utcDay(now - (DEFAULT_USAGE_DAYS - 1) * DAY_MS), to: utcDay(now) };
}

/**
 * The usage query in a hash's search part. A missing or invalid value takes
 * its default; an empty date is kept empty (that end of the range is open).
 */
export function parseUsageQuery(search: string, now: number): UsageQuery {
  const params = new URLSearchParams(search);
  const fallback = defaultUsageQuery(now);
  const group = params.get('groupBy');
  const date = (name: 'from' | 'to'): string => {
    const v = params.get(name);
    if (v === null) return fallback[name];
    return v === '' || isIsoDay(v) ? v : fallback[name];
  };
  return {
    groupBy: USAGE_GROUPS.find((g) => g === group) ?? fallback.groupBy,
    from: date('from'),
    to: date('to'),
  };
}

/** The hash of the usage view for a query; every parameter is written so the range survives a reload. */
export function usageHash(q: UsageQuery): string {
  return `#/usage?${new URLSearchParams({ groupBy: q.groupBy, from: q.from, to: q.to }).toString()}`;
}

export function parseHash(hash: string, now: number = Date.now()): Route {
  const m = /^#\/session\/([0-9a-fA-F-]{1,64})(?:\?(.*))?$/.exec(hash);
  if (m && m[1]) return { view: 'session', sessionId: m[1].toLowerCase(), list: parseFilter(new URLSearchParams(m[2] ?? '')) };
  const u = /^#\/usage(?:\?(.*))?$/.exec(hash);
  if (u) return { view: 'usage', query: parseUsageQuery(u[1] ?? '', now) };
  const o = /^#\/?\?(.*)$/.exec(hash);
  return { view: 'overview', list: parseFilter(new URLSearchParams(o?.[1] ?? '')) };
}

/** The session list's filter in the current URL (the default on the usage view). */
function currentFilter(): SessionFilter {
  const r = parseHash(window.location.hash);
  return r.view === 'usage' ? parseFilter(new URLSearchParams()) : r.list;
}

function withFilter(path: string, f: SessionFilter): string {
  const q = filterSearch(f);
  return q ? `${path}?${q}` : path;
}

/** The hash of a session's terminal; the list keeps its current filter. */
export function sessionHash(id: string, f: SessionFilter = currentFilter()): string {
  return withFilter(`#/session/${id}`, f);
}

/** The hash of the overview with a filter; `''` (no hash at all) for the default. */
export function overviewHash(f: SessionFilter = currentFilter()): string {
  const q = filterSearch(f);
  return q ? `#/?${q}` : '';
}

export function openSession(id: string): void {
  window.location.hash = sessionHash(id);
}

export function openOverview(): void {
  const next = overviewHash();
  if (window.location.hash !== next) window.location.hash = next;
}

/**
 * Changes the list's filter in place: replaces the history entry (typing a
 * search is not a series of pages to go back through) and tells the router.
 */
export function setListFilter(f: SessionFilter): void {
  const r = parseHash(window.location.hash);
  const next = r.view === 'session' ? sessionHash(r.sessionId, f) : overviewHash(f);
  if (next === window.location.hash) return;
  const url = `${window.location.pathname}${window.location.search}${next || ''}`;
  window.history.replaceState(window.history.state, '', url);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function openUsage(q: UsageQuery): void {
  window.location.hash = usageHash(q);
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
