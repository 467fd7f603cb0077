/**
 * Which terminal key presses the browser UI handles itself instead of sending
 * them to the session: the clipboard shortcuts of Linux and Windows terminals.
 * Pure, so the rules are tested without a browser.
 */

/** The parts of a `KeyboardEvent` the decision reads. */
export interface KeyPress {
  /** `KeyboardEvent.key`; letters arrive upper-case while Shift is held. */
  key: string;
  /** `KeyboardEvent.code` (`KeyC`), independent of the keyboard layout. */
  code?: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/**
 * What to do with a key press: `copy` the selection (and clear it), `paste`
 * the clipboard, or `pass` it to the terminal (Ctrl+C then sends an interrupt).
 */
export type KeyAction = 'copy' | 'paste' | 'pass';

function letter(e: KeyPress): string {
  if (e.code && /^Key[A-Z]$/.test(e.code)) return e.code.slice(3).toLowerCase();
  return e.key.length === 1 ? e.key.toLowerCase() : '';
}

/**
 * The action for a key press; the caller applies it to keydown, keypress and
 * keyup alike, so the terminal sees none of a handled press:
 * - Ctrl+C with text selected copies it; without a selection it is ^C.
 * - Ctrl+Shift+C copies the selection (and does nothing without one).
 * - Ctrl+Shift+V pastes.
 * Alt or Meta held means another shortcut; those pass untouched (on macOS
 * Cmd+C and Cmd+V are the browser's own copy and paste).
 */
export function keyAction(e: KeyPress, hasSelection: boolean): KeyAction {
  if (!e.ctrlKey || e.altKey || e.metaKey) return 'pass';
  const k = letter(e);
  if (k === 'c') {
    if (e.shiftKey) return 'copy';
    return hasSelection ? 'copy' : 'pass';
  }
  if (k === 'v' && e.shiftKey) return 'paste';
  return 'pass';
}
