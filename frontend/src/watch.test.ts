import { describe, expect, it } from 'vitest';
import { HostWatches, planWatches, visibleHostIds, type WatchLink } from './watch';

/** A link that records requests and settles them when told to. */
class FakeLink implements WatchLink {
  readonly sent: string[] = [];
  private readonly pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }[]>();

  watch(hostId: string): Promise<void> {
    return this.record(`watch ${hostId}`);
  }

  unwatch(hostId: string): Promise<void> {
    return this.record(`unwatch ${hostId}`);
  }

  private record(what: string): Promise<void> {
    this.sent.push(what);
    return new Promise((resolve, reject) => {
      const list = this.pending.get(what) ?? [];
      list.push({ resolve, reject });
      this.pending.set(what, list);
    });
  }

  fail(what: string, message = 'not_found'): void {
    const next = this.pending.get(what)?.shift();
    if (!next) throw new Error(`no pending ${what}`);
    next.reject(new Error(message));
  }

  take(): string[] {
    return this.sent.splice(0);
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('planWatches', () => {
  it('watches what is new and unwatches what is gone', () => {
    expect(planWatches(new Set(['a', 'b']), new Set(['b', 'd', 'c']))).toEqual({ watch: ['c', 'd'], unwatch: ['a'] });
    expect(planWatches(new Set(), new Set())).toEqual({ watch: [], unwatch: [] });
  });
});

describe('visibleHostIds', () => {
  it('lists known hosts with listed sessions, once each', () => {
    const sessions = [{ hostId: 'b' }, { hostId: 'a' }, { hostId: 'b' }, { hostId: 'deleted' }];
    expect(visibleHostIds(sessions, [{ id: 'a' }, { id: 'b' }, { id: 'idle' }])).toEqual(['a', 'b']);
    expect(visibleHostIds([], [{ id: 'a' }])).toEqual([]);
  });
});

describe('HostWatches', () => {
  it('sends nothing until connected, then every desired host', () => {
    const link = new FakeLink();
    const w = new HostWatches(link);
    w.setDesired(['h2', 'h1']);
    expect(link.take()).toEqual([]);
    w.setConnected(true);
    expect(link.take()).toEqual(['watch h1', 'watch h2']);
    expect(w.current).toEqual(['h1', 'h2']);
  });

  it('follows changes of the desired hosts', () => {
    const link = new FakeLink();
    const w = new HostWatches(link);
    w.setConnected(true);
    w.setDesired(['h1', 'h2']);
    link.take();
    w.setDesired(['h2', 'h3']);
    expect(link.take()).toEqual(['unwatch h1', 'watch h3']);
    w.setDesired(['h3', 'h2']);
    expect(link.take()).toEqual([]);
  });

  it('re-watches every host on each reconnect', () => {
    const link = new FakeLink();
    const w = new HostWatches(link);
    w.setDesired(['h1', 'h2']);
    w.setConnected(true);
    link.take();
    w.setConnected(false);
    expect(w.current).toEqual([]);
    w.setDesired(['h1', 'h2', 'h3']);
    expect(link.take()).toEqual([]);
    w.setConnected(true);
    expect(link.take()).toEqual(['watch h1', 'watch h2', 'watch h3']);
  });

  it('re-sends a watch when a desired host comes back, only when connected', () => {
    const link = new FakeLink();
    const w = new HostWatches(link);
    w.setDesired(['h1']);
    w.rewatch('h1');
    expect(link.take()).toEqual([]);
    w.setConnected(true);
    link.take();
    w.rewatch('h1');
    w.rewatch('unknown');
    expect(link.take()).toEqual(['watch h1']);
  });

  it('forgets a refused watch, reports it, and retries on the next change', async () => {
    const link = new FakeLink();
    const errors: string[] = [];
    const w = new HostWatches(link, (id, e) => errors.push(`${id}: ${(e as Error).message}`));
    w.setConnected(true);
    w.setDesired(['h1', 'h2']);
    link.take();
    link.fail('watch h1');
    await flush();
    expect(errors).toEqual(['h1: not_found']);
    expect(w.current).toEqual(['h2']);
    w.setDesired(['h1', 'h2', 'h3']);
    expect(link.take()).toEqual(['watch h1', 'watch h3']);
  });

  it('ignores the failure of a watch a reconnect superseded', async () => {
    const link = new FakeLink();
    const errors: string[] = [];
    const w = new HostWatches(link, (id) => errors.push(id));
    w.setDesired(['h1']);
    w.setConnected(true);
    w.setConnected(false);
    w.setConnected(true);
    expect(link.take()).toEqual(['watch h1', 'watch h1']);
    link.fail('watch h1', 'timeout');
    await flush();
    expect(errors).toEqual([]);
    expect(w.current).toEqual(['h1']);
  });
});
