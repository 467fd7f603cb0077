import { describe, expect, it } from 'vitest';
import { trackViewportHeight } from './viewport';

/** Just enough of a window: events, a root element's style, and a visual viewport. */
function fakeWindow(innerHeight: number, visualHeight: number | null) {
  const props = new Map<string, string>();
  const win = new EventTarget() as EventTarget & Record<string, unknown>;
  const visual = visualHeight === null ? undefined : Object.assign(new EventTarget(), { height: visualHeight });
  Object.assign(win, {
    innerHeight,
    visualViewport: visual,
    document: { documentElement: { style: { setProperty: (k: string, v: string) => props.set(k, v) } } },
  });
  return { win: win as unknown as Window, props, visual };
}

describe('trackViewportHeight', () => {
  it('sets --app-height to the visible height and follows its changes until stopped', () => {
    const { win, props, visual } = fakeWindow(844, 800.4);
    const stop = trackViewportHeight(win);
    expect(props.get('--app-height')).toBe('800px');
    // The on-screen keyboard opens.
    visual!.height = 503;
    visual!.dispatchEvent(new Event('resize'));
    expect(props.get('--app-height')).toBe('503px');
    stop();
    visual!.height = 844;
    visual!.dispatchEvent(new Event('resize'));
    expect(props.get('--app-height')).toBe('503px');
  });

  it('falls back to the window height without a visual viewport', () => {
    const { win, props } = fakeWindow(700, null);
    trackViewportHeight(win);
    expect(props.get('--app-height')).toBe('700px');
    (win as unknown as { innerHeight: number }).innerHeight = 650;
    win.dispatchEvent(new Event('resize'));
    expect(props.get('--app-height')).toBe('650px');
  });
});
