/**
 * Session telemetry for display: pure formatting of tokens, nano-USD costs,
 * durations and context-window use, and the updates that keep each session's
 * usage current from REST snapshots and live `session:usage` events.
 *
 * Costs are API-equivalent estimates (the agent's own list-price figure or
 * the profile's price table), never a bill; a model without a price is shown
 * as "unpriced", never as $0.
 */
import type {
  ContextUsage,
  SessionSummary,
  SessionUsage,
  SessionUsageUpdated,
  TokenCounts,
  UsageRow,
} from './protocol/generated/protocol';

/** Nano-USD in one USD (the protocol's `NANO_USD_PER_USD`). */
export const NANO_USD_PER_USD = 1_000_000_000;

/** What a cost figure means, for tooltips and footnotes. */
export const COST_NOTE =
  'API-equivalent cost: what these tokens would cost at API list prices (the agent’s own estimate or the profile’s price table). Not a bill.';

const TOKEN_UNITS = ['k', 'M', 'B', 'T'];

/**
 * A token count in at most four characters of digits: `999`, `1.2k`,
 * `12.3k`, `80k`, `123k`, `3.4M`.
 */
export function formatTokens(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0';
  if (n < 1000) return String(Math.round(n));
  let unit = 0;
  let value = n / 1000;
  for (;;) {
    const rounded = value < 100 ? Math.round(value * 10) / 10 : Math.round(value);
    if (rounded >= 1000 && unit < TOKEN_UNITS.length - 1) {
      value /= 1000;
      unit += 1;
      continue;
    }
    const text = rounded < 100 ? rounded.toFixed(1).replace(/\.0$/, '') : String(rounded);
    return `${text}${TOKEN_UNITS[unit] ?? ''}`;
  }
}

/** A count with thousands separators, independent of the browser's locale: `1,234,567`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '0';
  return groupThousands(String(Math.round(n)));
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Nano-USD as dollars: two decimals from $1 (`$12.34`, `$1,234.50`), up to
 * four below (`$0.0123`, `$0.50`), `<$0.0001` for a non-zero crumb.
 */
export function formatUsd(nanoUsd: number): string {
  if (!Number.isFinite(nanoUsd) || nanoUsd <= 0) return '$0.00';
  // Integer arithmetic on the rounded unit avoids float artefacts like 0.1 + 0.2.
  const tenThousandths = Math.round(nanoUsd / 100_000);
  if (tenThousandths === 0) return '<$0.0001';
  if (tenThousandths < 10_000) {
    // Four decimals, trailing zeros trimmed to no fewer than two.
    return `$0.${String(tenThousandths).padStart(4, '0').replace(/0{1,2}$/, '')}`;
  }
  const cents = Math.round(nanoUsd / 10_000_000);
  const dollars = Math.floor(cents / 100);
  const rest = String(cents % 100).padStart(2, '0');
  return `$${groupThousands(String(dollars))}.${rest}`;
}

/** Milliseconds as `45s`, `3m 12s`, `1h 2m 3s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return '0s';
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** Every token, all types together. */
export function totalTokens(t: TokenCounts): number {
  return t.input + t.output + t.cacheRead + t.cacheWrite + t.reasoning + t.tool + t.other;
}

/** One displayed token type. */
export interface TokenPart {
  key: 'input' | 'output' | 'cache' | 'reasoning' | 'tool' | 'other';
  text: string;
}

/**
 * The non-zero token types, compact: `in 12.3k`, `out 4.1k`,
 * `cache r 80k / w 2k`, `reasoning 1k`, `tool 300`, `other 12`.
 */
export function tokenParts(t: TokenCounts): TokenPart[] {
  const parts: TokenPart[] = [];
  if (t.input > 0) parts.push({ key: 'input', text: `in ${formatTokens(t.input)}` });
  if (t.output > 0) parts.push({ key: 'output', text: `out ${formatTokens(t.output)}` });
  if (t.cacheRead > 0 || t.cacheWrite > 0) {
    const cache = [
      t.cacheRead > 0 ? `r ${formatTokens(t.cacheRead)}` : '',
      t.cacheWrite > 0 ? `w ${formatTokens(t.cacheWrite)}` : '',
    ].filter(Boolean);
    parts.push({ key: 'cache', text: `cache ${cache.join(' / ')}` });
  }
  if (t.reasoning > 0) parts.push({ key: 'reasoning', text: `reasoning ${formatTokens(t.reasoning)}` });
  if (t.tool > 0) parts.push({ key: 'tool', text: `tool ${formatTokens(t.tool)}` });
  if (t.other > 0) parts.push({ key: 'other', text: `other ${formatTokens(t.other)}` });
  return parts;
}

/** The token types in one line, e.g. `in 12.3k · out 4.1k · cache r 80k / w 2k`. */
export function formatTokenSummary(t: TokenCounts): string {
  const parts = tokenParts(t);
  return parts.length === 0 ? 'no tokens' : parts.map((p) => p.text).join(' · ');
}

/** A model name fit to show; agents that name none report `""`. */
export function modelLabel(model: string): string {
  return model.trim() || 'unnamed model';
}

/** A session's cost as shown: priced, partly priced, or not priced at all. */
export interface CostDisplay {
  /** `$1.23`, or `unpriced` when no model has a price. */
  text: string;
  /** Models whose tokens are not in the figure. */
  unpriced: string[];
  kind: 'priced' | 'partial' | 'unpriced';
}

/** How to show a session's cost; `unpriced` is never rendered as `$0`. */
export function costDisplay(usage: SessionUsage): CostDisplay {
  const unpriced = (usage.unpricedModels ?? []).map(modelLabel);
  const models = usage.models ?? [];
  const anyPriced = usage.costNanoUsd > 0 || models.some((m) => m.costSource !== 'unpriced');
  if (unpriced.length === 0) return { text: formatUsd(usage.costNanoUsd), unpriced, kind: 'priced' };
  if (!anyPriced) return { text: 'unpriced', unpriced, kind: 'unpriced' };
  return { text: formatUsd(usage.costNanoUsd), unpriced, kind: 'partial' };
}

/** The cost as one line: `$1.23`, `$1.23 + unpriced: model-x`, or `unpriced`. */
export function formatCost(usage: SessionUsage): string {
  const c = costDisplay(usage);
  return c.kind === 'partial' ? `${c.text} + unpriced: ${c.unpriced.join(', ')}` : c.text;
}

/**
 * How to show a report row's cost: `unpriced` when its only sessions had no
 * priced model and nothing was costed, else dollars, `partial` when some
 * sessions' unpriced tokens are left out.
 */
export function rowCostDisplay(row: UsageRow): { text: string; kind: CostDisplay['kind'] } {
  if (row.unpricedSessions === 0) return { text: formatUsd(row.costNanoUsd), kind: 'priced' };
  if (row.costNanoUsd === 0 && row.unpricedSessions >= row.sessions) return { text: 'unpriced', kind: 'unpriced' };
  return { text: formatUsd(row.costNanoUsd), kind: 'partial' };
}

/** How full the context window is, in percent, or null when the window is unknown. */
export function contextPercent(ctx: ContextUsage | null | undefined): number | null {
  if (!ctx || ctx.windowTokens === null || ctx.windowTokens === undefined || ctx.windowTokens <= 0) return null;
  return (ctx.usedTokens / ctx.windowTokens) * 100;
}

/** A percentage as `4.2%` below 10, else `42%`. */
export function formatPercent(pct: number): string {
  if (!Number.isFinite(pct)) return '–';
  return pct < 10 ? `${(Math.round(pct * 10) / 10).toFixed(1)}%` : `${Math.round(pct)}%`;
}

/** The colour band of a context bar: `high` from 90 %, `warn` from 70 %. */
export function contextLevel(pct: number): 'ok' | 'warn' | 'high' {
  if (pct >= 90) return 'high';
  if (pct >= 70) return 'warn';
  return 'ok';
}

/** `84.2k / 200k (42%)`, or `84.2k · window unknown`. */
export function formatContext(ctx: ContextUsage): string {
  const pct = contextPercent(ctx);
  if (pct === null) return `${formatTokens(ctx.usedTokens)} · window unknown`;
  return `${formatTokens(ctx.usedTokens)} / ${formatTokens(ctx.windowTokens ?? 0)} (${formatPercent(pct)})`;
}

/** The model names of a session, largest token share first. */
export function modelNames(usage: SessionUsage): string[] {
  return [...(usage.models ?? [])]
    .sort((a, b) => totalTokens(b.tokens) - totalTokens(a.tokens) || a.model.localeCompare(b.model))
    .map((m) => modelLabel(m.model));
}

/** Whether `next` is at least as new as `prev`; with equal times the one already held stays. */
function isNewer(next: SessionUsage, prev: SessionUsage): boolean {
  return next.updatedAtUnixMs > prev.updatedAtUnixMs;
}

/**
 * The newer of two readings. Usage is a running total that never goes away,
 * so a reading never yields to `null`, and an older one (a REST snapshot
 * fetched before a live event arrived) never replaces a newer one.
 */
export function newerUsage(prev: SessionUsage | null | undefined, next: SessionUsage | null | undefined): SessionUsage | null {
  if (!prev) return next ?? null;
  if (!next) return prev;
  return isNewer(next, prev) ? next : prev;
}

/** Usage for sessions the list does not hold yet, by lower-case session id. */
export type PendingUsage = Readonly<Record<string, SessionUsage>>;

/** How many readings for unknown sessions are kept until their session appears. */
export const MAX_PENDING_USAGE = 256;

/** The sessions and the readings not yet matched to one. */
export interface UsageState {
  sessions: SessionSummary[];
  pending: PendingUsage;
}

function key(id: string): string {
  return id.toLowerCase();
}

/**
 * Applies a live `session:usage` event: a full replacement of the session's
 * usage when it is newer than what is held, ignored when older. An event for
 * a session the list does not hold yet is kept until the session arrives.
 * Returns the same arrays when nothing changed, so nothing re-renders.
 */
export function applyUsageEvent(state: UsageState, e: SessionUsageUpdated): UsageState {
  const id = key(e.sessionId);
  const i = state.sessions.findIndex((s) => key(s.id) === id);
  if (i === -1) {
    const held = state.pending[id];
    if (held && !isNewer(e.usage, held)) return state;
    const rest = Object.entries(state.pending).filter(([k]) => k !== id);
    const kept = rest.slice(Math.max(0, rest.length - (MAX_PENDING_USAGE - 1)));
    return { sessions: state.sessions, pending: Object.fromEntries([...kept, [id, e.usage]]) };
  }
  const session = state.sessions[i] as SessionSummary;
  if (session.usage && !isNewer(e.usage, session.usage)) return state;
  const sessions = [...state.sessions];
  sessions[i] = { ...session, usage: e.usage };
  return { sessions, pending: state.pending };
}

/**
 * Carries usage over when sessions are replaced (a REST snapshot, a
 * `session:updated` event, an attach reply): each incoming session keeps the
 * newest of its own usage, the usage already held for it, and a pending
 * reading, which is then dropped.
 */
export function mergeSessionsUsage(
  incoming: SessionSummary[],
  held: SessionSummary[],
  pending: PendingUsage,
): { sessions: SessionSummary[]; pending: PendingUsage } {
  const heldById = new Map(held.map((s) => [key(s.id), s.usage]));
  let nextPending: Record<string, SessionUsage> | null = null;
  const sessions = incoming.map((s) => {
    const id = key(s.id);
    let usage = newerUsage(heldById.get(id), s.usage);
    const waiting = pending[id];
    if (waiting) {
      usage = newerUsage(usage, waiting);
      nextPending ??= { ...pending };
      delete nextPending[id];
    }
    return usage === s.usage ? s : { ...s, usage };
  });
  return { sessions, pending: nextPending ?? pending };
}

/** Whether a `session:usage` payload has the shape the views rely on. */
export function isUsageEvent(v: unknown): v is SessionUsageUpdated {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Partial<SessionUsageUpdated>;
  const u = e.usage as Partial<SessionUsage> | undefined;
  return (
    typeof e.sessionId === 'string' &&
    typeof u === 'object' &&
    u !== null &&
    typeof u.tokens === 'object' &&
    u.tokens !== null &&
    typeof u.costNanoUsd === 'number' &&
    typeof u.updatedAtUnixMs === 'number'
  );
}
