/**
 * Which hosts this UI watches for `session:usage` updates. The hub keeps the
 * watch set per Socket.IO connection, so it is forgotten on every disconnect
 * and sent again, in full, on every (re)connect.
 */

/**
 * The hosts whose sessions the list shows: every known host with at least
 * one listed session. A host without sessions is watched from its first
 * session on, long before that agent reports any telemetry.
 */
export function visibleHostIds(sessions: readonly { hostId: string }[], hosts: readonly { id: string }[]): string[] {
  const known = new Set(hosts.map((h) => h.id));
  return [...new Set(sessions.map((s) => s.hostId))].filter((id) => known.has(id)).sort();
}

/** Sends the watch requests; rejects when the hub refuses or does not answer. */
export interface WatchLink {
  watch(hostId: string): Promise<void>;
  unwatch(hostId: string): Promise<void>;
}

/** What to send to move the hub from `current` to `desired`. */
export function planWatches(
  current: ReadonlySet<string>,
  desired: ReadonlySet<string>,
): { watch: string[]; unwatch: string[] } {
  return {
    watch: [...desired].filter((id) => !current.has(id)).sort(),
    unwatch: [...current].filter((id) => !desired.has(id)).sort(),
  };
}

/**
 * Keeps the hub's watch set equal to the desired hosts while connected. A
 * watch that fails (host deleted, no answer) is forgotten and retried on the
 * next change, host reconnect or socket reconnect, never in a loop.
 */
export class HostWatches {
  /** Hosts watched on this connection (sent, not refused), with the request that did it. */
  private readonly watched = new Map<string, number>();
  private desired: ReadonlySet<string> = new Set();
  private connected = false;
  private seq = 0;

  constructor(
    private readonly link: WatchLink,
    private readonly onError: (hostId: string, error: unknown) => void = () => {},
  ) {}

  /** The hosts the hub is asked to watch now. */
  get current(): string[] {
    return [...this.watched.keys()].sort();
  }

  /** Sets the hosts to watch. */
  setDesired(hostIds: Iterable<string>): void {
    this.desired = new Set(hostIds);
    this.sync();
  }

  /** The socket connected (again) or dropped; a new connection starts with no watches. */
  setConnected(connected: boolean): void {
    this.connected = connected;
    this.watched.clear();
    this.sync();
  }

  /** Sends the watch for a host again, e.g. when it came back online. */
  rewatch(hostId: string): void {
    if (!this.connected || !this.desired.has(hostId)) return;
    this.watch(hostId);
  }

  private sync(): void {
    if (!this.connected) return;
    const plan = planWatches(new Set(this.watched.keys()), this.desired);
    for (const id of plan.unwatch) {
      this.watched.delete(id);
      // A failed unwatch only costs a few extra events; the host may be gone.
      this.link.unwatch(id).catch(() => {});
    }
    for (const id of plan.watch) this.watch(id);
  }

  private watch(hostId: string): void {
    const seq = ++this.seq;
    this.watched.set(hostId, seq);
    this.link.watch(hostId).catch((error: unknown) => {
      // Only the latest request for the host decides; an earlier failure
      // (say, one cut off by a reconnect) is stale and says nothing.
      if (this.watched.get(hostId) !== seq) return;
      this.watched.delete(hostId);
      this.onError(hostId, error);
    });
  }
}
