import { describe, expect, it } from 'vitest';
import { fitGeometry, sizeNote, terminalLayout, touchScrollStep, unscalePoint, type TouchScroll } from './terminalFit';

describe('fitGeometry', () => {
  const cell = { cellWidth: 8, cellHeight: 16 };

  it('keeps the scrollbar strip free of columns', () => {
    // 814 px hold 101 columns, but 14 of them are the scrollbar: 100 columns.
    expect(fitGeometry({ width: 814, height: 480, ...cell, scrollbarWidth: 14 })).toEqual({ cols: 100, rows: 30 });
    expect(fitGeometry({ width: 813, height: 479, ...cell, scrollbarWidth: 14 })).toEqual({ cols: 99, rows: 29 });
    expect(fitGeometry({ width: 814, height: 480, ...cell, scrollbarWidth: 0 })).toEqual({ cols: 101, rows: 30 });
  });

  it('counts whole cells of fractional sizes, without losing one to rounding', () => {
    // 7.8 px cells, 80 columns exactly: float error must not make it 79.
    expect(fitGeometry({ width: 80 * 7.8 + 14, height: 24 * 15.6, cellWidth: 7.8, cellHeight: 15.6, scrollbarWidth: 14 })).toEqual({
      cols: 80,
      rows: 24,
    });
    expect(fitGeometry({ width: 370.5, height: 700.2, cellWidth: 7.22, cellHeight: 15, scrollbarWidth: 14 })).toEqual({
      cols: 49,
      rows: 46,
    });
  });

  it('is null while there is nothing to measure, and never below the minimum', () => {
    expect(fitGeometry({ width: 0, height: 480, ...cell, scrollbarWidth: 14 })).toBeNull();
    expect(fitGeometry({ width: 800, height: 480, cellWidth: 0, cellHeight: 16, scrollbarWidth: 14 })).toBeNull();
    expect(fitGeometry({ width: Number.NaN, height: 480, ...cell, scrollbarWidth: 14 })).toBeNull();
    expect(fitGeometry({ width: 10, height: 4, ...cell, scrollbarWidth: 14 })).toEqual({ cols: 2, rows: 1 });
  });
});

describe('touchScrollStep', () => {
  function drag(ys: number[], cellHeight = 16): number[] {
    let state: TouchScroll = { lastY: ys[0] ?? 0, restPx: 0 };
    const out: number[] = [];
    for (const y of ys.slice(1)) {
      const step = touchScrollStep(state, y, cellHeight);
      out.push(step.lines);
      state = step.state;
    }
    return out;
  }

  it('scrolls down through the output when the finger moves up, and back', () => {
    expect(drag([500, 468])).toEqual([2]);
    expect(drag([300, 348])).toEqual([-3]);
  });

  it('keeps the remainder, so slow drags scroll too', () => {
    // Five moves of 5 px: 25 px = one line after the fourth move, 9 px left over.
    expect(drag([100, 95, 90, 85, 80, 75])).toEqual([0, 0, 0, 1, 0]);
    // The sum over a drag equals the whole distance in lines, whichever the steps.
    const steps = drag([400, 397, 380, 371, 330, 329, 300]);
    expect(steps.reduce((a, b) => a + b, 0)).toBe(Math.trunc(100 / 16));
  });

  it('a reversal spends the remainder first', () => {
    expect(drag([100, 90, 100])).toEqual([0, 0]);
  });

  it('does nothing before the cell size is known', () => {
    expect(touchScrollStep({ lastY: 100, restPx: 3 }, 20, 0)).toEqual({ lines: 0, state: { lastY: 20, restPx: 0 } });
  });
});

describe('terminalLayout', () => {
  const cell = { cellWidth: 8, cellHeight: 16, scrollbarWidth: 14 };

  it('fits when the session has the size this box would ask for', () => {
    const box = { width: 814, height: 480 };
    const fit = fitGeometry({ ...box, ...cell });
    expect(fit).toEqual({ cols: 100, rows: 30 });
    expect(terminalLayout({ ...box, ...cell, cols: 100, rows: 30 })).toEqual({ width: 814, height: 480, scale: 1, mode: 'fit' });
    // Less than a cell left over either way is still a fit.
    expect(terminalLayout({ width: 820, height: 495, ...cell, cols: 100, rows: 30 })?.mode).toBe('fit');
  });

  it('letterboxes a smaller session: natural size, top-left, the rest left over', () => {
    expect(terminalLayout({ width: 1200, height: 800, ...cell, cols: 80, rows: 24 })).toEqual({
      width: 80 * 8 + 14,
      height: 24 * 16,
      scale: 1,
      mode: 'letterbox',
    });
    // Narrower only, or shorter only, is a letterbox too.
    expect(terminalLayout({ width: 814, height: 800, ...cell, cols: 100, rows: 30 })?.mode).toBe('letterbox');
    expect(terminalLayout({ width: 2000, height: 480, ...cell, cols: 100, rows: 30 })?.mode).toBe('letterbox');
  });

  it('scales a larger session down uniformly until it fits, width or height', () => {
    // A 120x40 desktop session on a phone (390 x 700 box, 7 x 14 cells).
    const phone = terminalLayout({ width: 382, height: 700, cellWidth: 7, cellHeight: 14, scrollbarWidth: 14, cols: 120, rows: 40 });
    expect(phone?.mode).toBe('scaled');
    expect(phone?.width).toBe(854);
    expect(phone?.height).toBe(560);
    expect(phone?.scale).toBeCloseTo(382 / 854, 9);
    expect((phone?.width ?? 0) * (phone?.scale ?? 0)).toBeLessThanOrEqual(382 + 1e-9);
    // Too tall rather than too wide: the height decides.
    const tall = terminalLayout({ width: 2000, height: 240, ...cell, cols: 100, rows: 30 });
    expect(tall?.scale).toBeCloseTo(0.5, 9);
    expect(tall?.mode).toBe('scaled');
  });

  it('is null while there is nothing to measure', () => {
    expect(terminalLayout({ width: 0, height: 480, ...cell, cols: 80, rows: 24 })).toBeNull();
    expect(terminalLayout({ width: 800, height: 480, ...cell, cellWidth: 0, cols: 80, rows: 24 })).toBeNull();
    expect(terminalLayout({ width: 800, height: 480, ...cell, cols: 0, rows: 24 })).toBeNull();
  });
});

describe('sizeNote', () => {
  it('says where the size comes from only when another viewer drives it', () => {
    expect(sizeNote({ cols: 120, rows: 40 }, false)).toBe('120×40 — sized by another viewer; type to take over');
    expect(sizeNote({ cols: 120, rows: 40 }, true)).toBeNull();
  });
});

describe('unscalePoint', () => {
  it('maps a point on the shrunk terminal back to the unscaled one, from its top-left corner', () => {
    const origin = { left: 100, top: 50 };
    // Half size: 10 px right of the corner on screen is 20 px on the terminal.
    expect(unscalePoint(110, 60, origin, 0.5)).toEqual({ x: 120, y: 70 });
    expect(unscalePoint(100, 50, origin, 0.5)).toEqual({ x: 100, y: 50 });
    // The cell under the pointer: column 30 of 7 px cells, drawn at 0.4.
    const p = unscalePoint(100 + 30.5 * 7 * 0.4, 50, origin, 0.4);
    expect(Math.floor((p.x - origin.left) / 7)).toBe(30);
  });

  it('leaves points alone at scale 1 or an unusable scale', () => {
    expect(unscalePoint(5, 6, { left: 1, top: 2 }, 1)).toEqual({ x: 5, y: 6 });
    expect(unscalePoint(5, 6, { left: 1, top: 2 }, 0)).toEqual({ x: 5, y: 6 });
    expect(unscalePoint(5, 6, { left: 1, top: 2 }, Number.NaN)).toEqual({ x: 5, y: 6 });
  });
});
