import { describe, expect, it } from 'vitest';
import type { HostSummary } from './protocol/generated/protocol';
import {
  SPAWN_MEMORY_KEY,
  initialSpawnChoice,
  loadSpawnMemory,
  saveSpawnMemory,
  type KeyValueStore,
} from './spawnMemory';

function host(id: string, profiles: string[], projects: string[]): HostSummary {
  return {
    id,
    name: id,
    online: true,
    lastSeenAt: null,
    createdAt: '2026-01-01T00:00:00Z',
    inventory: {
      hostname: id,
      profiles: profiles.map((name) => ({ name, displayName: name })),
      projects: projects.map((path) => ({ path, name: path.split('/').pop() })),
      projectRoots: ['/p'],
    } as unknown as HostSummary['inventory'],
  };
}

class MapStore implements KeyValueStore {
  readonly map = new Map<string, string>();
  getItem(k: string): string | null {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.map.set(k, v);
  }
}

const A = host('a', ['bash', 'claude'], ['/p/one', '/p/two']);
const B = host('b', ['codex', 'claude'], ['/p/three']);

describe('initialSpawnChoice', () => {
  it('without memory: the first host, agent and project', () => {
    expect(initialSpawnChoice([A, B], null)).toEqual({ hostId: 'a', profile: 'bash', project: '/p/one', customPath: '' });
  });

  it('restores the remembered host, agent and project', () => {
    expect(initialSpawnChoice([A, B], { hostId: 'b', profile: 'claude', project: '/p/three' })).toEqual({
      hostId: 'b',
      profile: 'claude',
      project: '/p/three',
      customPath: '',
    });
  });

  it('falls back piece by piece when something is gone', () => {
    // The host is offline or deleted: the first host, keeping the agent if it has it.
    expect(initialSpawnChoice([A], { hostId: 'b', profile: 'claude', project: '/p/three' })).toEqual({
      hostId: 'a',
      profile: 'claude',
      project: '/p/one',
      customPath: '',
    });
    // The agent was removed from the host: its first agent, the project kept.
    expect(initialSpawnChoice([A, B], { hostId: 'a', profile: 'gemini', project: '/p/two' })).toEqual({
      hostId: 'a',
      profile: 'bash',
      project: '/p/two',
      customPath: '',
    });
  });

  it('brings a typed path back only on its own host', () => {
    expect(initialSpawnChoice([A, B], { hostId: 'a', profile: 'bash', project: '/p/typed/here' })).toEqual({
      hostId: 'a',
      profile: 'bash',
      project: '/p/one',
      customPath: '/p/typed/here',
    });
    expect(initialSpawnChoice([B], { hostId: 'a', profile: 'bash', project: '/p/typed/here' }).customPath).toBe('');
  });

  it('copes with no host online and hosts without an inventory', () => {
    expect(initialSpawnChoice([], { hostId: 'a', profile: 'bash', project: '/p/one' })).toEqual({
      hostId: '',
      profile: '',
      project: '',
      customPath: '',
    });
    const bare = { ...A, inventory: null };
    expect(initialSpawnChoice([bare], null)).toEqual({ hostId: 'a', profile: '', project: '', customPath: '' });
  });
});

describe('spawn memory storage', () => {
  it('round-trips', () => {
    const s = new MapStore();
    expect(loadSpawnMemory(s)).toBeNull();
    saveSpawnMemory(s, { hostId: 'a', profile: 'bash', project: '/p/one' });
    expect(loadSpawnMemory(s)).toEqual({ hostId: 'a', profile: 'bash', project: '/p/one' });
  });

  it('ignores garbage and survives storage that throws', () => {
    const s = new MapStore();
    s.setItem(SPAWN_MEMORY_KEY, '{not json');
    expect(loadSpawnMemory(s)).toBeNull();
    s.setItem(SPAWN_MEMORY_KEY, '42');
    expect(loadSpawnMemory(s)).toBeNull();
    s.setItem(SPAWN_MEMORY_KEY, JSON.stringify({ hostId: 7, profile: 'bash' }));
    expect(loadSpawnMemory(s)).toEqual({ hostId: '', profile: 'bash', project: '' });
    const broken: KeyValueStore = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(loadSpawnMemory(broken)).toBeNull();
    expect(() => saveSpawnMemory(broken, { hostId: 'a', profile: 'b', project: 'c' })).not.toThrow();
    expect(loadSpawnMemory(undefined)).toBeNull();
  });
});
