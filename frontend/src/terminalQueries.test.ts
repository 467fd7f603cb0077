import { describe, expect, it } from 'vitest';
import { Terminal } from '@xterm/xterm';
import { CSI_QUERIES, DCS_QUERIES, OSC_QUERIES, swallowTerminalQueries } from './terminalQueries';

// The real xterm.js parser (no DOM is needed to parse; `open()` is never
// called). A "probe" registered before the filter sees whatever the filter
// lets through, since xterm tries the most recently registered handler first.

interface Run {
  /** What xterm.js sent back through onData (would be forwarded to the PTY). */
  replies: string[];
  /** Which sequences reached the handlers behind the filter (xterm's own). */
  passed: string[];
  swallowed: string[];
  term: Terminal;
}

function run(input: string, opts: { filter: boolean }): Promise<Run> {
  const term = new Terminal({
    allowProposedApi: true,
    // Every window report enabled, so xterm would answer them all (xterm
    // drops a disabled window op before any handler sees it), and one op
    // that is not a report (8: resize) to show it passes.
    windowOptions: {
      setWinSizeChars: true,
      getWinState: true,
      getWinPosition: true,
      getWinSizePixels: true,
      getScreenSizePixels: true,
      getCellSizePixels: true,
      getWinSizeChars: true,
      getScreenSizeChars: true,
      getIconTitle: true,
      getWinTitle: true,
      pushTitle: true,
      popTitle: true,
    },
  });
  const r: Run = { replies: [], passed: [], swallowed: [], term };
  term.onData((d) => r.replies.push(d));
  const probe = (what: string) => () => {
    r.passed.push(what);
    return false;
  };
  for (const q of CSI_QUERIES) term.parser.registerCsiHandler(q.id, probe(q.name));
  for (const q of OSC_QUERIES) term.parser.registerOscHandler(q.ident, probe(q.name));
  for (const q of DCS_QUERIES) term.parser.registerDcsHandler(q.id, probe(q.name));
  if (opts.filter) swallowTerminalQueries(term.parser, (name) => r.swallowed.push(name));
  return new Promise((resolve) => term.write(input, () => resolve(r)));
}

const ESC = '\x1b';
const ST = `${ESC}\\`;

/** Every query, and whether xterm.js 6 answers it here unfiltered (some need a renderer or theme). */
const QUERIES: Array<[name: string, seq: string, xtermReplies: boolean]> = [
  ['DA1', `${ESC}[c`, true],
  ['DA1 with 0', `${ESC}[0c`, true],
  ['DA2', `${ESC}[>c`, true],
  ['DA2 with 0', `${ESC}[>0c`, true],
  ['DA3', `${ESC}[=c`, false],
  ['DSR status', `${ESC}[5n`, true],
  ['CPR', `${ESC}[6n`, true],
  ['DEC CPR', `${ESC}[?6n`, true],
  ['DECRQM ANSI', `${ESC}[4$p`, true],
  ['DECRQM private', `${ESC}[?2004$p`, true],
  ['XTVERSION', `${ESC}[>q`, false],
  ['XTVERSION with 0', `${ESC}[>0q`, false],
  ['kitty keyboard query', `${ESC}[?u`, false],
  ...[11, 13, 14, 15, 16, 19, 20, 21].map((n): [string, string, boolean] => [`window report ${n}`, `${ESC}[${n}t`, false]),
  ['window report 18 (size in chars)', `${ESC}[18t`, true],
  ['OSC 4 palette query', `${ESC}]4;1;?\x07`, false],
  ['OSC 4 second pair is a query', `${ESC}]4;1;rgb:00/00/00;2;?${ST}`, false],
  ['OSC 10 query', `${ESC}]10;?\x07`, false],
  ['OSC 10 querying fg and bg', `${ESC}]10;?;?${ST}`, false],
  ['OSC 11 query', `${ESC}]11;?${ST}`, false],
  ['OSC 12 query', `${ESC}]12;?\x07`, false],
  ['DECRQSS SGR', `${ESC}P$qm${ST}`, true],
  ['DECRQSS DECSCL', `${ESC}P$q"p${ST}`, true],
];

describe('swallowTerminalQueries', () => {
  it.each(QUERIES)('swallows %s without a reply', async (_name, seq, xtermReplies) => {
    const filtered = await run(`${seq}after`, { filter: true });
    expect(filtered.replies).toEqual([]);
    expect(filtered.passed).toEqual([]);
    expect(filtered.swallowed).toHaveLength(1);
    // The text after it is still printed: the parser went on.
    expect(filtered.term.buffer.active.getLine(0)?.translateToString(true)).toBe('after');
    // Without the filter the query reaches xterm's handlers (and the ones
    // xterm answers here do get answered), so the test would notice a miss.
    const plain = await run(seq, { filter: false });
    expect(plain.passed).toHaveLength(1);
    expect(plain.replies.length > 0).toBe(xtermReplies);
  });

  it('swallows a burst of every query at once', async () => {
    const r = await run(QUERIES.map(([, seq]) => seq).join(''), { filter: true });
    expect(r.replies).toEqual([]);
    expect(r.swallowed).toHaveLength(QUERIES.length);
  });

  it('leaves SGR alone: CSI 31 m colours the text', async () => {
    const r = await run(`${ESC}[31mred${ESC}[0m`, { filter: true });
    expect(r.swallowed).toEqual([]);
    const cell = r.term.buffer.active.getLine(0)?.getCell(0);
    expect(cell?.getChars()).toBe('r');
    expect(cell?.isFgPalette()).toBeTruthy();
    expect(cell?.getFgColor()).toBe(1);
  });

  it('leaves titles alone: OSC 0 sets it, CSI 22/23 t push and pop it', async () => {
    const titles: string[] = [];
    const r = await run('', { filter: true });
    r.term.onTitleChange((t) => titles.push(t));
    await new Promise<void>((done) =>
      r.term.write(`${ESC}]0;first\x07${ESC}[22;0t${ESC}]2;second${ST}${ESC}[23;0t`, done),
    );
    expect(titles).toEqual(['first', 'second', 'first']);
    expect(r.replies).toEqual([]);
    expect(r.swallowed).toEqual([]);
  });

  it.each([
    ['OSC 11 set', `${ESC}]11;rgb:00/00/00${ST}`, 'OSC 11 background query'],
    ['OSC 10 set', `${ESC}]10;#ffffff\x07`, 'OSC 10 foreground query'],
    ['OSC 4 set', `${ESC}]4;1;rgb:ff/00/00\x07`, 'OSC 4 palette query'],
    ['a window op that is not a report (resize)', `${ESC}[8;30;100t`, 'window report'],
    ['title push', `${ESC}[22;2t`, 'window report'],
  ])('passes %s on to xterm', async (_name, seq, handler) => {
    const r = await run(seq, { filter: true });
    expect(r.swallowed).toEqual([]);
    expect(r.passed).toEqual([handler]);
    expect(r.replies).toEqual([]);
  });

  it.each([
    ['cursor style (CSI SP q)', `${ESC}[2 q`],
    ['restore cursor (CSI u)', `${ESC}[u`],
    ['kitty keyboard push (CSI > u)', `${ESC}[>1u`],
    ['kitty keyboard pop (CSI < u)', `${ESC}[<u`],
    ['colour reset (OSC 104)', `${ESC}]104\x07`],
    ['colour reset (OSC 111)', `${ESC}]111\x07`],
    ['bracketed paste on', `${ESC}[?2004h`],
  ])('does not touch %s', async (_name, seq) => {
    const r = await run(`${seq}x`, { filter: true });
    expect(r.swallowed).toEqual([]);
    expect(r.replies).toEqual([]);
    expect(r.term.buffer.active.getLine(0)?.translateToString(true)).toBe('x');
  });

  it('keeps swallowing after term.reset() (a snapshot resets the terminal)', async () => {
    const r = await run('', { filter: true });
    r.term.reset();
    await new Promise<void>((done) => r.term.write(`${ESC}[c${ESC}[6n`, done));
    expect(r.replies).toEqual([]);
    expect(r.swallowed).toEqual(['DA1', 'DSR']);
  });

  it('unregisters on dispose', async () => {
    const r = await run('', { filter: false });
    const d = swallowTerminalQueries(r.term.parser);
    d.dispose();
    await new Promise<void>((done) => r.term.write(`${ESC}[c`, done));
    expect(r.replies.length).toBe(1);
  });
});
