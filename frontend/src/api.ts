/** The hub's REST API, on the same origin as the UI, authenticated by cookie. */
import type {
  ArchiveEndedRequest,
  ArchivedSessions,
  CreateHostRequest,
  DiscardWorktreeRequest,
  ErrorBody,
  ErrorCode,
  Health,
  HostSummary,
  HostWithToken,
  LoginRequest,
  Me,
  SessionSummary,
  SpawnRequest,
  UsageGroupBy,
  UsageReport,
  WorktreeStatus,
} from './protocol/generated/protocol';

/** A failed request, carrying the hub's error body when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network' | 'unknown',
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ErrorBody).code === 'string' &&
    typeof (v as ErrorBody).message === 'string'
  );
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', `Cannot reach the hub: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    if (isErrorBody(parsed)) throw new ApiError(res.status, parsed.code, parsed.message);
    const fallback = text.trim().slice(0, 200) || res.statusText || 'request failed';
    throw new ApiError(res.status, 'unknown', `${res.status}: ${fallback}`);
  }
  return parsed as T;
}

const enc = encodeURIComponent;

export const api = {
  health: () => request<Health>('GET', '/healthz'),
  login: (body: LoginRequest) => request<Me>('POST', '/api/login', body),
  logout: () => request<void>('POST', '/api/logout'),
  me: () => request<Me>('GET', '/api/me'),
  hosts: () => request<HostSummary[]>('GET', '/api/hosts'),
  createHost: (body: CreateHostRequest) => request<HostWithToken>('POST', '/api/hosts', body),
  rotateToken: (id: string) => request<HostWithToken>('POST', `/api/hosts/${enc(id)}/rotate-token`),
  deleteHost: (id: string) => request<void>('DELETE', `/api/hosts/${enc(id)}`),
  sessions: () => request<SessionSummary[]>('GET', '/api/sessions'),
  session: (id: string) => request<SessionSummary>('GET', `/api/sessions/${enc(id)}`),
  spawn: (body: SpawnRequest) => request<SessionSummary>('POST', '/api/sessions', body),
  stop: (id: string) => request<SessionSummary>('POST', `/api/sessions/${enc(id)}/stop`),
  /** Archives an ended session (409 `conflict` if it has not ended). */
  archive: (id: string) => request<SessionSummary>('POST', `/api/sessions/${enc(id)}/archive`),
  /** Takes a session out of the archive. */
  restore: (id: string) => request<SessionSummary>('DELETE', `/api/sessions/${enc(id)}/archive`),
  /** Archives every ended session not archived yet, or those of one host. */
  archiveEnded: (hostId: string | null) =>
    request<ArchivedSessions>('POST', '/api/sessions/archive', (hostId ? { hostId } : {}) satisfies ArchiveEndedRequest),
  /**
   * The session's worktree as git on its host sees it now (read when asked,
   * never polled): 404 without a worktree, 409 when the host is offline or
   * the worktree was discarded, 504 when the host does not answer in time.
   */
  worktreeStatus: (id: string) => request<WorktreeStatus>('GET', `/api/sessions/${enc(id)}/worktree`),
  /**
   * Removes an ended session's worktree, and its branch unless `keepBranch`,
   * when it is still in the state `confirm` (the status's fingerprint) names;
   * 409 `conflict` if the session still runs or the worktree changed since.
   */
  discardWorktree: (id: string, body: DiscardWorktreeRequest) =>
    request<SessionSummary>('POST', `/api/sessions/${enc(id)}/worktree/discard`, body),
  usage: (q: UsageQuery) => request<UsageReport>('GET', `/api/usage?${usageSearch(q)}`),
};

/** The parameters of `GET /api/usage`; an empty date leaves that end of the range open. */
export interface UsageQuery {
  groupBy: UsageGroupBy;
  /** First UTC day, `YYYY-MM-DD`, or `''`. */
  from: string;
  /** Last UTC day, `YYYY-MM-DD`, or `''`. */
  to: string;
}

/** The query string of a usage request, without the `?`. */
export function usageSearch(q: UsageQuery): string {
  const params = new URLSearchParams({ groupBy: q.groupBy });
  if (q.from) params.set('from', q.from);
  if (q.to) params.set('to', q.to);
  return params.toString();
}

/** A message fit to show a user for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
