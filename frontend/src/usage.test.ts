import { describe, expect, it } from 'vitest';
import type { ModelUsage, SessionSummary, SessionUsage, TokenCounts } from './protocol/generated/protocol';
import {
  MAX_PENDING_USAGE,
  applyUsageEvent,
  contextLevel,
  contextPercent,
  costDisplay,
  formatContext,
  formatCost,
  formatCount,
  formatDuration,
  formatPercent,
  formatTokenSummary,
  formatTokens,
  formatUsd,
  isUsageEvent,
  mergeSessionsUsage,
  modelNames,
  newerUsage,
  rowCostDisplay,
  totalTokens,
  type UsageState,
} from './usage';

function tokens(t: Partial<TokenCounts> = {}): TokenCounts {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, tool: 0, other: 0, ...t };
}

function model(name: string, costNanoUsd: number | null, t: Partial<TokenCounts> = { input: 10 }): ModelUsage {
  return { model: name, tokens: tokens(t), costNanoUsd, costSource: costNanoUsd === null ? 'unpriced' : 'reported' };
}

function usage(updatedAtUnixMs: number, u: Partial<SessionUsage> = {}): SessionUsage {
  return {
    tokens: tokens({ input: 100 }),
    costNanoUsd: 0,
    unpricedModels: [],
    models: [],
    context: null,
    activity: null,
    activeMs: 0,
    requests: 0,
    updatedAtUnixMs,
    ...u,
  };
}

function session(id: string, u: SessionUsage | null = null): SessionSummary {
  return {
    id,
    hostId: 'h1',
    profile: 'claude',
    project: '/p/x',
    state: 'running',
    exitCode: null,
    exitSignal: null,
    error: null,
    size: { cols: 80, rows: 24 },
    createdBy: 'admin',
    createdAt: '2026-01-01T00:00:00Z',
    endedAt: null,
    archivedAt: null,
    usage: u,
    worktree: null,
  };
}

describe('formatTokens', () => {
  it.each([
    [0, '0'],
    [-5, '0'],
    [Number.NaN, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1k'],
    [1234, '1.2k'],
    [12_345, '12.3k'],
    [80_000, '80k'],
    [99_960, '100k'],
    [123_456, '123k'],
    [999_499, '999k'],
    [999_999, '1M'],
    [3_400_000, '3.4M'],
    [1_250_000_000, '1.3B'],
  ])('%d → %s', (n, want) => {
    expect(formatTokens(n)).toBe(want);
  });
});

describe('formatUsd', () => {
  it.each([
    [0, '$0.00'],
    [-1, '$0.00'],
    [49_999, '<$0.0001'],
    [100_000, '$0.0001'],
    [12_300_000, '$0.0123'],
    [12_000_000, '$0.012'],
    [500_000_000, '$0.50'],
    [999_940_000, '$0.9999'],
    [999_960_000, '$1.00'],
    [1_000_000_000, '$1.00'],
    [12_340_000_000, '$12.34'],
    [12_345_000_000, '$12.35'],
    [1_234_500_000_000, '$1,234.50'],
    [1_234_567_890_000_000, '$1,234,567.89'],
  ])('%d nano-USD → %s', (n, want) => {
    expect(formatUsd(n)).toBe(want);
  });

  it('counts group thousands without the locale', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(999)).toBe('999');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [45_000, '45s'],
    [192_000, '3m 12s'],
    [3_600_000, '1h 0m 0s'],
    [3_723_900, '1h 2m 3s'],
    [90_000_000, '25h 0m 0s'],
  ])('%d ms → %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});

describe('tokens', () => {
  it('summarises non-zero types compactly', () => {
    expect(formatTokenSummary(tokens({ input: 12_300, output: 4_100, cacheRead: 80_000, cacheWrite: 2_000 }))).toBe(
      'in 12.3k · out 4.1k · cache r 80k / w 2k',
    );
    expect(formatTokenSummary(tokens({ output: 5, cacheWrite: 1500 }))).toBe('out 5 · cache w 1.5k');
    expect(formatTokenSummary(tokens({ reasoning: 2000, tool: 30, other: 1 }))).toBe('reasoning 2k · tool 30 · other 1');
    expect(formatTokenSummary(tokens())).toBe('no tokens');
  });

  it('totals every type', () => {
    expect(totalTokens(tokens({ input: 1, output: 2, cacheRead: 3, cacheWrite: 4, reasoning: 5, tool: 6, other: 7 }))).toBe(28);
  });
});

describe('cost', () => {
  it('shows a priced cost in dollars', () => {
    const u = usage(1, { costNanoUsd: 1_500_000_000, models: [model('sonnet', 1_500_000_000)] });
    expect(costDisplay(u)).toEqual({ text: '$1.50', unpriced: [], kind: 'priced' });
    expect(formatCost(u)).toBe('$1.50');
  });

  it('names unpriced models next to a partial cost', () => {
    const u = usage(1, {
      costNanoUsd: 12_300_000,
      unpricedModels: ['model-x'],
      models: [model('model-x', null), model('sonnet', 12_300_000)],
    });
    expect(costDisplay(u).kind).toBe('partial');
    expect(formatCost(u)).toBe('$0.0123 + unpriced: model-x');
  });

  it('never shows an unpriced session as $0', () => {
    const u = usage(1, { unpricedModels: ['local-llm', ''], models: [model('local-llm', null), model('', null)] });
    expect(costDisplay(u)).toEqual({ text: 'unpriced', unpriced: ['local-llm', 'unnamed model'], kind: 'unpriced' });
    expect(formatCost(u)).toBe('unpriced');
  });

  it('keeps a priced zero apart from an unpriced model', () => {
    const u = usage(1, { unpricedModels: ['model-x'], models: [model('model-x', null), model('free', 0)] });
    expect(formatCost(u)).toBe('$0.00 + unpriced: model-x');
  });

  it('lists models by token share', () => {
    const u = usage(1, { models: [model('a', 1, { input: 5 }), model('b', 1, { input: 50 }), model('', null, { input: 1 })] });
    expect(modelNames(u)).toEqual(['b', 'a', 'unnamed model']);
  });
});

describe('rowCostDisplay', () => {
  const row = (costNanoUsd: number, sessions: number, unpricedSessions: number) => ({
    key: 'k',
    label: 'k',
    sessions,
    tokens: tokens({ input: 1 }),
    costNanoUsd,
    unpricedSessions,
  });

  it('tells priced, partly priced and unpriced rows apart', () => {
    expect(rowCostDisplay(row(2_000_000_000, 3, 0))).toEqual({ text: '$2.00', kind: 'priced' });
    expect(rowCostDisplay(row(0, 3, 0))).toEqual({ text: '$0.00', kind: 'priced' });
    expect(rowCostDisplay(row(2_000_000_000, 3, 1))).toEqual({ text: '$2.00', kind: 'partial' });
    expect(rowCostDisplay(row(0, 3, 1))).toEqual({ text: '$0.00', kind: 'partial' });
    expect(rowCostDisplay(row(0, 2, 2))).toEqual({ text: 'unpriced', kind: 'unpriced' });
  });
});

describe('context', () => {
  it('computes the share of a known window', () => {
    const ctx = { model: 'sonnet', usedTokens: 84_200, windowTokens: 200_000 };
    expect(contextPercent(ctx)).toBeCloseTo(42.1);
    expect(formatContext(ctx)).toBe('84.2k / 200k (42%)');
  });

  it('says when the window is unknown', () => {
    const ctx = { model: 'm', usedTokens: 5000, windowTokens: null };
    expect(contextPercent(ctx)).toBeNull();
    expect(contextPercent({ ...ctx, windowTokens: 0 })).toBeNull();
    expect(contextPercent(null)).toBeNull();
    expect(formatContext(ctx)).toBe('5k · window unknown');
  });

  it('formats and bands percentages', () => {
    expect(formatPercent(4.24)).toBe('4.2%');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(69.5)).toBe('70%');
    expect(formatPercent(130)).toBe('130%');
    expect(contextLevel(69.9)).toBe('ok');
    expect(contextLevel(70)).toBe('warn');
    expect(contextLevel(90)).toBe('high');
  });
});

describe('applyUsageEvent', () => {
  const empty: UsageState = { sessions: [], pending: {} };

  it('replaces the usage of a session with a newer reading', () => {
    const state: UsageState = { sessions: [session('a', usage(10)), session('b')], pending: {} };
    const next = applyUsageEvent(state, { sessionId: 'a', hostId: 'h1', usage: usage(20, { costNanoUsd: 5 }) });
    expect(next.sessions[0]?.usage?.costNanoUsd).toBe(5);
    expect(next.sessions[0]?.usage?.updatedAtUnixMs).toBe(20);
    expect(next.sessions[1]).toBe(state.sessions[1]);
    expect(state.sessions[0]?.usage?.updatedAtUnixMs).toBe(10);
  });

  it('ignores an older or equal reading and returns the same state', () => {
    const state: UsageState = { sessions: [session('a', usage(10))], pending: {} };
    expect(applyUsageEvent(state, { sessionId: 'a', hostId: 'h1', usage: usage(9) })).toBe(state);
    expect(applyUsageEvent(state, { sessionId: 'a', hostId: 'h1', usage: usage(10) })).toBe(state);
  });

  it('sets the first reading and matches ids regardless of case', () => {
    const state: UsageState = { sessions: [session('ABC')], pending: {} };
    const next = applyUsageEvent(state, { sessionId: 'abc', hostId: 'h1', usage: usage(1) });
    expect(next.sessions[0]?.usage?.updatedAtUnixMs).toBe(1);
  });

  it('keeps the newest reading for a session not listed yet', () => {
    let s = applyUsageEvent(empty, { sessionId: 'X', hostId: 'h1', usage: usage(5) });
    s = applyUsageEvent(s, { sessionId: 'x', hostId: 'h1', usage: usage(3) });
    expect(s.pending['x']?.updatedAtUnixMs).toBe(5);
    s = applyUsageEvent(s, { sessionId: 'x', hostId: 'h1', usage: usage(7) });
    expect(s.pending['x']?.updatedAtUnixMs).toBe(7);
    expect(s.sessions).toBe(empty.sessions);
  });

  it('bounds the pending readings, dropping the oldest', () => {
    let s = empty;
    for (let i = 0; i < MAX_PENDING_USAGE + 10; i++) {
      s = applyUsageEvent(s, { sessionId: `s${i}`, hostId: 'h1', usage: usage(1) });
    }
    const keys = Object.keys(s.pending);
    expect(keys).toHaveLength(MAX_PENDING_USAGE);
    expect(keys).not.toContain('s0');
    expect(keys).toContain(`s${MAX_PENDING_USAGE + 9}`);
  });
});

describe('mergeSessionsUsage', () => {
  it('keeps a newer live reading over an older snapshot', () => {
    const held = [session('a', usage(20))];
    const { sessions } = mergeSessionsUsage([session('a', usage(10))], held, {});
    expect(sessions[0]?.usage?.updatedAtUnixMs).toBe(20);
  });

  it('takes a newer snapshot, and keeps usage when an update carries none', () => {
    const held = [session('a', usage(10)), session('b', usage(4))];
    const incoming = [session('a', usage(30)), session('b', null)];
    const { sessions } = mergeSessionsUsage(incoming, held, {});
    expect(sessions[0]).toBe(incoming[0]);
    expect(sessions[1]?.usage?.updatedAtUnixMs).toBe(4);
  });

  it('applies and drops a pending reading when its session arrives', () => {
    const pending = { a: usage(50), other: usage(1) };
    const { sessions, pending: rest } = mergeSessionsUsage([session('A', usage(10))], [], pending);
    expect(sessions[0]?.usage?.updatedAtUnixMs).toBe(50);
    expect(Object.keys(rest)).toEqual(['other']);
    expect(pending).toHaveProperty('a');
  });

  it('returns the same pending object when none applied', () => {
    const pending = { z: usage(1) };
    expect(mergeSessionsUsage([session('a')], [], pending).pending).toBe(pending);
  });
});

describe('newerUsage', () => {
  it('never yields to null and prefers the held reading on a tie', () => {
    const a = usage(5);
    const b = usage(5);
    expect(newerUsage(a, null)).toBe(a);
    expect(newerUsage(null, b)).toBe(b);
    expect(newerUsage(a, b)).toBe(a);
    expect(newerUsage(undefined, undefined)).toBeNull();
  });
});

describe('isUsageEvent', () => {
  it('accepts a well-formed event and rejects malformed ones', () => {
    expect(isUsageEvent({ sessionId: 'a', hostId: 'h', usage: usage(1) })).toBe(true);
    expect(isUsageEvent(null)).toBe(false);
    expect(isUsageEvent({ sessionId: 'a', usage: null })).toBe(false);
    expect(isUsageEvent({ sessionId: 'a', usage: { ...usage(1), tokens: undefined } })).toBe(false);
    expect(isUsageEvent({ sessionId: 1, usage: usage(1) })).toBe(false);
  });
});
