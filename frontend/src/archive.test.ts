import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { archiveAllLabel, archiveFailure, busyLabel } from './archive';

describe('archive labels', () => {
  it('say what runs and how many', () => {
    expect(busyLabel('archive')).toBe('Archiving…');
    expect(busyLabel('archiveAll')).toBe('Archiving…');
    expect(busyLabel('restore')).toBe('Restoring…');
    expect(archiveAllLabel(12, 0)).toBe('Archive 12 ended');
    expect(archiveAllLabel(12, 3)).toBe('Archive all 12 ended');
  });
});

describe('archiveFailure', () => {
  it('gives the hub message and what to do next', () => {
    expect(archiveFailure('archive', new ApiError(0, 'network', 'Cannot reach the hub: Failed to fetch'))).toBe(
      'Could not archive the session: Cannot reach the hub: Failed to fetch. Check your connection to the hub, then try again.',
    );
    expect(archiveFailure('restore', new ApiError(404, 'not_found', 'session 1 does not exist'))).toBe(
      'Could not restore the session: session 1 does not exist. It was deleted: reload the page to refresh the list.',
    );
    expect(archiveFailure('archiveAll', new ApiError(404, 'not_found', 'host h does not exist'))).toBe(
      'Could not archive the ended sessions: host h does not exist. The host is gone: pick another host or "All hosts", then try again.',
    );
    expect(archiveFailure('archive', new ApiError(409, 'conflict', 'session 1 is running; stop it first'))).toMatch(
      /^Could not archive the session: session 1 is running; stop it first\. Reload the page/,
    );
    expect(archiveFailure('archive', new ApiError(401, 'unauthorized', 'not logged in'))).toMatch(/sign in again\.$/);
    expect(archiveFailure('archive', new ApiError(503, 'unavailable', 'shutting down.'))).toBe(
      'Could not archive the session: shutting down. Try again in a moment.',
    );
    expect(archiveFailure('archive', new ApiError(502, 'unknown', '502: Bad Gateway'))).toMatch(/Try again in a moment\.$/);
    expect(archiveFailure('archive', new Error(''))).toBe(
      'Could not archive the session: no reason given. Try again; reload the page if it keeps failing.',
    );
  });
});
