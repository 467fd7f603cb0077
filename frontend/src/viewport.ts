/**
 * Keeps `--app-height` on the root element equal to the visible viewport's
 * height. On phones `100vh` includes the area under the browser's toolbars
 * and the on-screen keyboard, which cut the terminal's bottom row; the
 * visual viewport is what is actually visible. The terminal refits itself
 * when its container changes size.
 */
export function trackViewportHeight(win: Window = window): () => void {
  const root = win.document.documentElement;
  const update = () => {
    const h = win.visualViewport?.height ?? win.innerHeight;
    if (h > 0) root.style.setProperty('--app-height', `${Math.round(h)}px`);
  };
  update();
  win.visualViewport?.addEventListener('resize', update);
  win.addEventListener('resize', update);
  win.addEventListener('orientationchange', update);
  return () => {
    win.visualViewport?.removeEventListener('resize', update);
    win.removeEventListener('resize', update);
    win.removeEventListener('orientationchange', update);
  };
}
