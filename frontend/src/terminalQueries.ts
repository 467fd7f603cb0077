/**
 * Terminal queries the browser must not answer. The daemon keeps the
 * session's screen model and answers a program's queries itself (device
 * attributes, cursor position, modes, colours…); xterm.js would answer some
 * of them too, through `onData`, which we forward as input — so with two
 * viewers a program would read three replies. Every query xterm.js answers
 * is listed here with the predicate that says whether a sequence is the
 * query (and not a similar sequence that sets something), and
 * `swallowTerminalQueries` registers parser handlers that drop them without
 * a reply. Anything else falls through to xterm's own handlers.
 *
 * Pure apart from the registration: the predicates take what xterm's parser
 * hands a handler (numeric params, OSC data).
 */
import type { IDisposable, IFunctionIdentifier } from '@xterm/xterm';

/** CSI params as xterm.js passes them to a handler (sub-params as arrays). */
export type CsiParams = (number | number[])[];

/** A CSI query: the function it is registered under and which params make it a query. */
export interface CsiQuery {
  /** What it is, for tests and diagnostics. */
  name: string;
  id: IFunctionIdentifier;
  /** Whether this instance is a query (true: swallow it). */
  isQuery(params: CsiParams): boolean;
}

/** An OSC query: the OSC number and which data makes it a query. */
export interface OscQuery {
  name: string;
  ident: number;
  isQuery(data: string): boolean;
}

/** A DCS query (every instance is one). */
export interface DcsQuery {
  name: string;
  id: IFunctionIdentifier;
}

const always = (): boolean => true;

/** The first parameter, 0 when absent (xterm's default). */
function first(params: CsiParams): number {
  const p = params[0];
  if (p === undefined) return 0;
  return typeof p === 'number' ? p : (p[0] ?? 0);
}

/**
 * `CSI Ps t` reports (xterm's window manipulation): 11 state, 13 position,
 * 14 size in pixels, 15 screen size in pixels, 16 cell size, 18 text area in
 * characters, 19 screen in characters, 20 icon label, 21 title. Everything
 * else (22/23 push and pop the title, 8 resize…) is not a query and stays
 * with xterm.
 */
export const WINDOW_REPORTS: ReadonlySet<number> = new Set([11, 13, 14, 15, 16, 18, 19, 20, 21]);

/** Every CSI query xterm.js (or a later version of it) would answer. */
export const CSI_QUERIES: readonly CsiQuery[] = [
  // Primary device attributes: `CSI c`, `CSI 0 c` (DA1 has no other form).
  { name: 'DA1', id: { final: 'c' }, isQuery: always },
  { name: 'DA2', id: { prefix: '>', final: 'c' }, isQuery: always },
  { name: 'DA3', id: { prefix: '=', final: 'c' }, isQuery: always },
  // Device status: `CSI 5 n` (status) and `CSI 6 n` (cursor position); DSR has no non-query form.
  { name: 'DSR', id: { final: 'n' }, isQuery: always },
  { name: 'DECDSR', id: { prefix: '?', final: 'n' }, isQuery: always },
  // Mode reports: `CSI Ps $ p` (ANSI) and `CSI ? Ps $ p` (DEC private).
  { name: 'DECRQM', id: { intermediates: '$', final: 'p' }, isQuery: always },
  { name: 'DECRQM private', id: { prefix: '?', intermediates: '$', final: 'p' }, isQuery: always },
  // `CSI > Ps q`; not `CSI Ps SP q` (cursor style) nor `CSI Ps " q` (protection), which have other identifiers.
  { name: 'XTVERSION', id: { prefix: '>', final: 'q' }, isQuery: always },
  // Kitty keyboard protocol query `CSI ? u`; `CSI > u`, `CSI < u`, `CSI = u` set it and `CSI u` restores the cursor.
  { name: 'kitty keyboard query', id: { prefix: '?', final: 'u' }, isQuery: always },
  { name: 'window report', id: { final: 't' }, isQuery: (params) => WINDOW_REPORTS.has(first(params)) },
];

/** Whether any of an OSC's `;`-separated colour specs is a `?` query. */
function hasQuerySpec(specs: string[]): boolean {
  return specs.some((s) => s.trim() === '?');
}

/**
 * Colour queries. `OSC 4 ; index ; spec …` takes index/spec pairs; `OSC 10 ;
 * spec ; spec …` sets or queries 10, 11, 12… in turn. A sequence with any
 * `?` is swallowed whole: a mixed set-and-query (which no program we know
 * sends) loses its set part rather than letting the browser reply.
 * OSC 104…112 (colour resets) are not queries and are not listed.
 */
export const OSC_QUERIES: readonly OscQuery[] = [
  {
    name: 'OSC 4 palette query',
    ident: 4,
    isQuery: (data) => hasQuerySpec(data.split(';').filter((_, i) => i % 2 === 1)),
  },
  { name: 'OSC 10 foreground query', ident: 10, isQuery: (data) => hasQuerySpec(data.split(';')) },
  { name: 'OSC 11 background query', ident: 11, isQuery: (data) => hasQuerySpec(data.split(';')) },
  { name: 'OSC 12 cursor colour query', ident: 12, isQuery: (data) => hasQuerySpec(data.split(';')) },
];

/** `DCS $ q Pt ST`: request a setting's status string. */
export const DCS_QUERIES: readonly DcsQuery[] = [{ name: 'DECRQSS', id: { intermediates: '$', final: 'q' } }];

/** The part of xterm's `term.parser` this needs (so tests can pass a recorder). */
export interface QueryParser {
  registerCsiHandler(id: IFunctionIdentifier, callback: (params: CsiParams) => boolean): IDisposable;
  registerOscHandler(ident: number, callback: (data: string) => boolean): IDisposable;
  registerDcsHandler(id: IFunctionIdentifier, callback: (data: string, params: CsiParams) => boolean): IDisposable;
}

/**
 * Registers handlers that swallow every listed query (return true: handled,
 * no reply) and pass everything else on to xterm's own handlers (return
 * false). Handlers registered later run first, so call this after anything
 * else that registers the same identifiers. Returns one disposable for all.
 */
export function swallowTerminalQueries(parser: QueryParser, onSwallowed?: (name: string) => void): IDisposable {
  const seen = (name: string) => {
    onSwallowed?.(name);
    return true;
  };
  const handlers: IDisposable[] = [
    ...CSI_QUERIES.map((q) => parser.registerCsiHandler(q.id, (params) => q.isQuery(params) && seen(q.name))),
    ...OSC_QUERIES.map((q) => parser.registerOscHandler(q.ident, (data) => q.isQuery(data) && seen(q.name))),
    ...DCS_QUERIES.map((q) => parser.registerDcsHandler(q.id, () => seen(q.name))),
  ];
  return { dispose: () => handlers.forEach((h) => h.dispose()) };
}
