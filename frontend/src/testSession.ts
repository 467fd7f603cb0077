/**
 * A session summary for unit tests: `state` and whatever `extra` sets,
 * the rest fixed (one host, one project, no usage, no worktree).
 */
import type { SessionState, SessionSummary } from './protocol/generated/protocol';

export function testSession(state: SessionState, extra: Partial<SessionSummary> = {}): SessionSummary {
  return {
    id: 'aaaa1111-0000-0000-0000-000000000001',
    hostId: 'h1',
    profile: 'bash',
    project: '/srv/projects/app',
    state,
    exitCode: null,
    exitSignal: null,
    error: null,
    size: { cols: 80, rows: 24 },
    createdBy: 'admin',
    createdAt: '2026-01-01T00:00:00Z',
    endedAt: null,
    archivedAt: null,
    usage: null,
    worktree: null,
    ...extra,
  };
}
