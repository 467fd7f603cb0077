/**
 * Terminal geometry, pure: how many cells fit the terminal's box, and how a
 * touch drag turns into scrolled lines.
 */

/** What the fit reads off the page, in CSS pixels. */
export interface FitInput {
  /** The content box of the element xterm is opened in (padding excluded). */
  width: number;
  height: number;
  /** One cell as xterm renders it. */
  cellWidth: number;
  cellHeight: number;
  /**
   * The vertical scrollbar's width. xterm 6 draws it over the right edge of
   * the terminal, so the columns must leave it free or the last one hides
   * beneath it as soon as there is scrollback.
   */
  scrollbarWidth: number;
}

/** Fewer columns or rows than these make no usable terminal. */
export const MIN_COLS = 2;
export const MIN_ROWS = 1;

/**
 * The terminal size that fits: whole cells only, the scrollbar's strip kept
 * free. Null while the layout gives nothing to measure (detached, hidden,
 * fonts not measured yet).
 */
export function fitGeometry(i: FitInput): { cols: number; rows: number } | null {
  const ok = (n: number) => Number.isFinite(n) && n > 0;
  if (!ok(i.width) || !ok(i.height) || !ok(i.cellWidth) || !ok(i.cellHeight)) return null;
  const width = i.width - Math.max(0, i.scrollbarWidth);
  // A hair of tolerance: fractional layout widths (zoom, dpr) must not drop a column that fits.
  const cols = Math.floor(width / i.cellWidth + 1e-6);
  const rows = Math.floor(i.height / i.cellHeight + 1e-6);
  return { cols: Math.max(MIN_COLS, cols), rows: Math.max(MIN_ROWS, rows) };
}

/** A touch drag in progress: the finger's last position and the pixels not yet scrolled. */
export interface TouchScroll {
  lastY: number;
  restPx: number;
}

/**
 * One touchmove of a vertical drag: dragging up (y decreasing) scrolls down
 * through the output, as on any touch screen. Returns the whole lines to
 * scroll now (negative is up) and the state to carry; the remainder is kept
 * so a slow drag still scrolls.
 */
export function touchScrollStep(
  state: TouchScroll,
  y: number,
  cellHeight: number,
): { lines: number; state: TouchScroll } {
  if (!(cellHeight > 0)) return { lines: 0, state: { lastY: y, restPx: 0 } };
  const px = state.restPx + (state.lastY - y);
  const lines = Math.trunc(px / cellHeight);
  return { lines, state: { lastY: y, restPx: px - lines * cellHeight } };
}
