/**
 * How a session's state reads to a person: the label in the list and the
 * terminal header (a running session whose host is offline must not look
 * healthy), and the page title.
 */
import type { HostSummary, SessionSummary } from './protocol/generated/protocol';
import { projectName } from './lists';

/** The state as shown: `exited (1)`, `exited (SIGTERM)`, `failed`, … */
export function stateLabel(s: SessionSummary): string {
  switch (s.state) {
    case 'exited':
      if (s.exitSignal) return `exited (${s.exitSignal})`;
      return s.exitCode === null ? 'exited' : `exited (${s.exitCode})`;
    default:
      return s.state;
  }
}

export interface SessionStatus {
  /** What the state badge says. */
  label: string;
  /** The CSS modifier: the session's state, or `offline`. */
  tone: string;
  /** A longer explanation for a tooltip, when there is one. */
  title?: string;
  /** The host is offline while the hub still records the session as live. */
  hostOffline: boolean;
}

/** Where and how times are written; the browser's zone and locale by default (tests pin them). */
export interface TimeFormat {
  timeZone?: string;
  locale?: string;
}

/**
 * A clock time for "since": the time of day when it was today, otherwise the
 * date and time.
 */
export function sinceTime(iso: string, now: number, fmt: TimeFormat = {}): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const zone: Intl.DateTimeFormatOptions = fmt.timeZone ? { timeZone: fmt.timeZone } : {};
  const locale = fmt.locale ?? [];
  const day = (ms: number) => new Date(ms).toLocaleDateString('en-CA', zone);
  const time = new Date(t).toLocaleTimeString(locale, { ...zone, hour: '2-digit', minute: '2-digit' });
  if (day(t) === day(now)) return time;
  const date = new Date(t).toLocaleDateString(locale, { ...zone, month: 'short', day: 'numeric' });
  return `${date} ${time}`;
}

/**
 * The session's status. A session the hub records as starting or running on
 * a host that is offline reads "host offline since <time>": its agent may
 * still run on the host, but nothing reaches it until the daemon reconnects
 * (and the hub marks it lost if the daemon no longer runs it).
 */
export function sessionStatus(
  s: SessionSummary,
  host: HostSummary | undefined,
  now: number,
  fmt: TimeFormat = {},
): SessionStatus {
  const live = s.state === 'running' || s.state === 'starting';
  if (live && host && !host.online) {
    const since = host.lastSeenAt ? sinceTime(host.lastSeenAt, now, fmt) : null;
    return {
      label: since ? `host offline since ${since}` : 'host offline',
      tone: 'offline',
      title: `${host.name} is offline${host.lastSeenAt ? ` (last seen ${host.lastSeenAt})` : ''}; the session was ${s.state} when its daemon was last connected. Output resumes when it reconnects.`,
      hostOffline: true,
    };
  }
  return { label: stateLabel(s), tone: s.state, hostOffline: false };
}

/** The page title: `bash · app — Flotilla` while a session is open, else `Flotilla`. */
export function pageTitle(open: { session: SessionSummary; host: HostSummary | undefined } | null): string {
  if (!open) return 'Flotilla';
  const { session, host } = open;
  const profile = host?.inventory?.profiles.find((p) => p.name === session.profile);
  const agent = profile?.displayName || session.profile;
  return `${agent} · ${projectName(host, session.project)} — Flotilla`;
}
