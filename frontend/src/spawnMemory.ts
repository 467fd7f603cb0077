/**
 * The spawn dialog's memory: the last host, agent and project a session was
 * started with, kept in localStorage, and the initial choice it leads to when
 * hosts, agents or projects have since gone.
 */
import type { HostSummary } from './protocol/generated/protocol';

export const SPAWN_MEMORY_KEY = 'flotilla.spawn.last';

/** What was last started. */
export interface SpawnMemory {
  hostId: string;
  profile: string;
  /** The project path, from the host's list or typed. */
  project: string;
}

/** The dialog's initial selection. */
export interface SpawnChoice {
  hostId: string;
  profile: string;
  /** A project from the host's list, or `''` when it has none. */
  project: string;
  /** A typed path to restore (the last project was not in the list of the same host). */
  customPath: string;
}

/** The part of `Storage` this needs, so tests pass a map. */
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem'>;

/** The remembered choice, or null when there is none or it is unreadable. */
export function loadSpawnMemory(storage: KeyValueStore | undefined): SpawnMemory | null {
  let raw: string | null = null;
  try {
    raw = storage?.getItem(SPAWN_MEMORY_KEY) ?? null;
  } catch {
    // Storage can be disabled (privacy settings); the dialog just starts fresh.
    return null;
  }
  if (!raw) return null;
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v !== 'object' || v === null) return null;
    const o = v as Record<string, unknown>;
    const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
    return { hostId: str('hostId'), profile: str('profile'), project: str('project') };
  } catch {
    return null;
  }
}

export function saveSpawnMemory(storage: KeyValueStore | undefined, m: SpawnMemory): void {
  try {
    storage?.setItem(SPAWN_MEMORY_KEY, JSON.stringify(m));
  } catch {
    // Full or disabled storage: forgetting the choice is harmless.
  }
}

/**
 * The initial selection among the online hosts: the remembered host if it is
 * still online (else the first), the remembered agent if that host offers it
 * (else its first), the remembered project if that host lists it (else its
 * first). A typed path comes back only on the host it was typed for.
 */
export function initialSpawnChoice(online: HostSummary[], memory: SpawnMemory | null): SpawnChoice {
  const host = online.find((h) => h.id === memory?.hostId) ?? online[0];
  if (!host) return { hostId: '', profile: '', project: '', customPath: '' };
  const profiles = host.inventory?.profiles ?? [];
  const projects = host.inventory?.projects ?? [];
  const profile = profiles.find((p) => p.name === memory?.profile)?.name ?? profiles[0]?.name ?? '';
  const listed = projects.find((p) => p.path === memory?.project)?.path;
  const sameHost = memory?.hostId === host.id;
  const customPath = !listed && sameHost && memory?.project ? memory.project : '';
  return { hostId: host.id, profile, project: listed ?? projects[0]?.path ?? '', customPath };
}
