/**
 * Terminal geometry, pure: how many cells fit the terminal's box (the
 * viewer's preferred size), how a terminal of the session's size sits in
 * that box (letterboxed or scaled down), and how a touch drag turns into
 * scrolled lines.
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

/** What `terminalLayout` places: the box (as for `fitGeometry`) and the session's size. */
export interface LayoutInput {
  /** The container's content box, in CSS pixels. */
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  scrollbarWidth: number;
  /** The session's PTY size, which the terminal renders whatever the box. */
  cols: number;
  rows: number;
}

/**
 * How the terminal is shown: `fit` (it fills the box to within a cell),
 * `letterbox` (smaller: top-left, the rest plain background) or `scaled`
 * (larger: shrunk by `scale` with a CSS transform).
 */
export type LayoutMode = 'fit' | 'letterbox' | 'scaled';

export interface TerminalLayout {
  /** The terminal element's own size (cells plus the scrollbar strip), before scaling. */
  width: number;
  height: number;
  /** 1, or less when the terminal is larger than the box. */
  scale: number;
  mode: LayoutMode;
}

/**
 * Places a terminal of the session's size in the box: at its natural size
 * when it fits, else scaled down uniformly until it does. Null while there is
 * nothing to measure.
 */
export function terminalLayout(i: LayoutInput): TerminalLayout | null {
  const ok = (n: number) => Number.isFinite(n) && n > 0;
  if (!ok(i.width) || !ok(i.height) || !ok(i.cellWidth) || !ok(i.cellHeight) || !ok(i.cols) || !ok(i.rows)) return null;
  const width = i.cols * i.cellWidth + Math.max(0, i.scrollbarWidth);
  const height = i.rows * i.cellHeight;
  const scale = Math.min(1, i.width / width, i.height / height);
  // The same hair of tolerance as fitGeometry: a terminal that fits exactly is not scaled.
  if (scale < 1 - 1e-6) return { width, height, scale, mode: 'scaled' };
  const spare = i.width - width >= i.cellWidth - 1e-6 || i.height - height >= i.cellHeight - 1e-6;
  return { width, height, scale: 1, mode: spare ? 'letterbox' : 'fit' };
}

/**
 * Where a pointer at (`x`, `y`) on a terminal shrunk by `scale` (a CSS
 * transform from its top-left corner `origin`) is on the unscaled terminal.
 * xterm.js maps mouse positions to cells with its unscaled cell size, so
 * events are given these coordinates before it sees them.
 */
export function unscalePoint(
  x: number,
  y: number,
  origin: { left: number; top: number },
  scale: number,
): { x: number; y: number } {
  if (!(scale > 0) || scale === 1) return { x, y };
  return { x: origin.left + (x - origin.left) / scale, y: origin.top + (y - origin.top) / scale };
}

/** The note shown while another viewer's size is in force ("120×40 — sized by another viewer; type to take over"). */
export function sizeNote(size: { cols: number; rows: number }, driver: boolean): string | null {
  if (driver) return null;
  return `${size.cols}×${size.rows} — sized by another viewer; type to take over`;
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
