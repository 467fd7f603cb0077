import { describe, expect, it } from 'vitest';
import { keyAction, type KeyPress } from './terminalKeys';

function press(key: string, mods: Partial<KeyPress> = {}): KeyPress {
  const code = /^[a-z]$/i.test(key) ? `Key${key.toUpperCase()}` : undefined;
  return { key, code, ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods };
}

describe('keyAction', () => {
  it('Ctrl+C copies a selection and interrupts without one', () => {
    expect(keyAction(press('c', { ctrlKey: true }), true)).toBe('copy');
    expect(keyAction(press('c', { ctrlKey: true }), false)).toBe('pass');
  });

  it('Ctrl+Shift+C copies, and never interrupts', () => {
    expect(keyAction(press('C', { ctrlKey: true, shiftKey: true }), true)).toBe('copy');
    expect(keyAction(press('C', { ctrlKey: true, shiftKey: true }), false)).toBe('copy');
  });

  it('Ctrl+Shift+V pastes; plain Ctrl+V goes to the terminal', () => {
    expect(keyAction(press('V', { ctrlKey: true, shiftKey: true }), false)).toBe('paste');
    expect(keyAction(press('V', { ctrlKey: true, shiftKey: true }), true)).toBe('paste');
    expect(keyAction(press('v', { ctrlKey: true }), false)).toBe('pass');
  });

  it('reads the physical key, so other layouts and Caps Lock behave the same', () => {
    // A Cyrillic layout: the C key yields "с" but its code is KeyC.
    expect(keyAction({ ...press('с', { ctrlKey: true }), code: 'KeyC' }, true)).toBe('copy');
    // Caps Lock: an upper-case key without Shift is still plain Ctrl+C.
    expect(keyAction(press('C', { ctrlKey: true }), false)).toBe('pass');
    // No code (some virtual keyboards): falls back to the key.
    expect(keyAction({ ...press('c', { ctrlKey: true }), code: '' }, true)).toBe('copy');
  });

  it('leaves every other key and modifier combination to the terminal', () => {
    expect(keyAction(press('c'), true)).toBe('pass');
    expect(keyAction(press('c', { ctrlKey: true, altKey: true }), true)).toBe('pass');
    expect(keyAction(press('c', { metaKey: true }), true)).toBe('pass');
    expect(keyAction(press('c', { ctrlKey: true, metaKey: true }), true)).toBe('pass');
    expect(keyAction(press('d', { ctrlKey: true }), true)).toBe('pass');
    expect(keyAction(press('Enter', { ctrlKey: true }), true)).toBe('pass');
    expect(keyAction(press('x', { ctrlKey: true, shiftKey: true }), true)).toBe('pass');
  });
});
