import { describe, expect, it } from 'vitest';
import { isSessionResized } from './hub';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('isSessionResized', () => {
  it('accepts the golden SessionResized payload', () => {
    // protocol/src/tests.rs: {"sessionId": SID, "size": {"cols": 5, "rows": 6}, "driver": true}
    expect(isSessionResized({ sessionId: SID, size: { cols: 5, rows: 6 }, driver: true })).toBe(true);
    expect(isSessionResized({ sessionId: SID, size: { cols: 120, rows: 40 }, driver: false, extra: 1 })).toBe(true);
  });

  it('rejects what a terminal cannot take', () => {
    for (const bad of [
      null,
      'x',
      { sessionId: SID, size: { cols: 0, rows: 6 }, driver: true },
      { sessionId: SID, size: { cols: 5.5, rows: 6 }, driver: true },
      { sessionId: SID, size: { cols: 5 }, driver: true },
      { sessionId: SID, size: { cols: 5, rows: 6 } },
      { size: { cols: 5, rows: 6 }, driver: true },
    ]) {
      expect(isSessionResized(bad)).toBe(false);
    }
  });
});
