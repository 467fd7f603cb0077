import { describe, expect, it } from 'vitest';
import { defaultUsageQuery, isIsoDay, parseHash, parseUsageQuery, usageHash } from './route';
import { DEFAULT_FILTER } from './sessionFilter';

// 2026-03-15T12:00:00Z
const NOW = Date.UTC(2026, 2, 15, 12);

describe('parseHash', () => {
  it('routes sessions, usage and the overview', () => {
    expect(parseHash('#/session/ABC-1', NOW)).toEqual({ view: 'session', sessionId: 'abc-1', list: DEFAULT_FILTER });
    expect(parseHash('', NOW)).toEqual({ view: 'overview', list: DEFAULT_FILTER });
    expect(parseHash('#/nope', NOW)).toEqual({ view: 'overview', list: DEFAULT_FILTER });
    expect(parseHash('#/usage', NOW)).toEqual({ view: 'usage', query: { groupBy: 'day', from: '2026-02-14', to: '2026-03-15' } });
    expect(parseHash('#/usage?groupBy=host&from=2026-01-01&to=2026-01-31', NOW)).toEqual({
      view: 'usage',
      query: { groupBy: 'host', from: '2026-01-01', to: '2026-01-31' },
    });
  });
});

describe('the session list filter in the hash', () => {
  it('is read on the overview and on a session', () => {
    expect(parseHash('#/?state=all&q=web', NOW)).toEqual({ view: 'overview', list: { ...DEFAULT_FILTER, state: 'all', q: 'web' } });
    expect(parseHash('#?host=h1', NOW)).toEqual({ view: 'overview', list: { ...DEFAULT_FILTER, host: 'h1' } });
    expect(parseHash('#/session/abc?agent=claude&state=ended', NOW)).toEqual({
      view: 'session',
      sessionId: 'abc',
      list: { ...DEFAULT_FILTER, agent: 'claude', state: 'ended' },
    });
  });
});

describe('usage query', () => {
  it('defaults to the last 30 UTC days including today', () => {
    expect(defaultUsageQuery(NOW)).toEqual({ groupBy: 'day', from: '2026-02-14', to: '2026-03-15' });
    // Just before midnight UTC it is still the same day.
    expect(defaultUsageQuery(Date.UTC(2026, 0, 1, 23, 59)).to).toBe('2026-01-01');
  });

  it('replaces invalid values by defaults and keeps empty dates open', () => {
    expect(parseUsageQuery('groupBy=model&from=2026-02-30&to=', NOW)).toEqual({ groupBy: 'day', from: '2026-02-14', to: '' });
    expect(parseUsageQuery('groupBy=agent&from=&to=2026-03-01', NOW)).toEqual({ groupBy: 'agent', from: '', to: '2026-03-01' });
  });

  it('round-trips through the hash', () => {
    const q = { groupBy: 'project' as const, from: '', to: '2026-03-01' };
    expect(parseHash(usageHash(q), NOW)).toEqual({ view: 'usage', query: q });
  });

  it('validates calendar days', () => {
    expect(isIsoDay('2024-02-29')).toBe(true);
    expect(isIsoDay('2025-02-29')).toBe(false);
    expect(isIsoDay('2025-1-01')).toBe(false);
    expect(isIsoDay('')).toBe(false);
  });
});
