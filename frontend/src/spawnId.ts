/**
 * The id a spawn carries so a retry never starts a second agent: the hub
 * answers a spawn whose id names an existing session of the same request
 * with that session instead of starting another.
 */
import { ApiError } from './api';

/** The last try of a spawn: its id, what it asked for, and whether its outcome is unknown. */
export interface SpawnAttempt {
  id: string;
  key: string;
  uncertain: boolean;
}

/**
 * A random version 4 UUID from `crypto.getRandomValues`, which (unlike
 * `crypto.randomUUID`) also exists on plain-HTTP origins other than
 * localhost, where many hubs are reached.
 */
export function newUuid(fill: (bytes: Uint8Array<ArrayBuffer>) => void = (b) => void crypto.getRandomValues(b)): string {
  const b = new Uint8Array(16);
  fill(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Whether a failed spawn may still have reached the hub: no answer arrived
 * (network), the host did not confirm in time, or the hub or a proxy in
 * front of it failed. Retrying such a spawn must reuse its id.
 */
export function outcomeUnknown(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  return err.code === 'network' || err.code === 'timeout' || err.status === 502 || err.status === 503 || err.status === 504;
}

/** The id for a try of the spawn `key`: the last try's when its outcome is unknown and it asked for the same, else a new one. */
export function spawnAttemptId(last: SpawnAttempt | null, key: string, fresh: () => string = newUuid): string {
  return last && last.uncertain && last.key === key ? last.id : fresh();
}
