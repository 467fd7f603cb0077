import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { newUuid, outcomeUnknown, spawnAttemptId } from './spawnId';

describe('newUuid', () => {
  it('is a version 4, RFC 4122 variant UUID', () => {
    const id = newUuid((b) => b.fill(0xff));
    expect(id).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(newUuid((b) => b.fill(0))).toBe('00000000-0000-4000-8000-000000000000');
    expect(newUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newUuid()).not.toBe(newUuid());
  });
});

describe('spawnAttemptId', () => {
  const fresh = () => 'new';
  it('reuses the id of a try whose outcome is unknown, for the same request only', () => {
    const last = { id: 'old', key: 'k', uncertain: true };
    expect(spawnAttemptId(last, 'k', fresh)).toBe('old');
    expect(spawnAttemptId(last, 'other', fresh)).toBe('new');
    expect(spawnAttemptId({ ...last, uncertain: false }, 'k', fresh)).toBe('new');
    expect(spawnAttemptId(null, 'k', fresh)).toBe('new');
  });
});

describe('outcomeUnknown', () => {
  it('is true when the spawn may have reached the hub', () => {
    expect(outcomeUnknown(new ApiError(0, 'network', 'x'))).toBe(true);
    expect(outcomeUnknown(new ApiError(504, 'timeout', 'x'))).toBe(true);
    expect(outcomeUnknown(new ApiError(502, 'unknown', 'bad gateway'))).toBe(true);
    expect(outcomeUnknown(new ApiError(422, 'spawn_failed', 'x'))).toBe(false);
    expect(outcomeUnknown(new ApiError(400, 'invalid_input', 'x'))).toBe(false);
    expect(outcomeUnknown(new Error('x'))).toBe(false);
  });
});
