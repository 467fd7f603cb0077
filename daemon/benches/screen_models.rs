//! Compares candidate terminal screen models on the recorded corpus in
//! `tests/terminal-corpus/`: vt100 (`Screen::state_formatted`), avt
//! (`Terminal::dump`) and the daemon's own model,
//! `flotilla_daemon::session::screen::Screen` on alacritty_terminal
//! (`Screen::snapshot`).
//!
//! For every crate and corpus file it measures
//! - parse cost: MB/s feeding the file, repeated to at least
//!   `SCREEN_BENCH_MB` (default 20) MB, and a 50 MB `cat`-like stream of
//!   coloured lines, in 4 KiB chunks as a pty read would deliver them;
//! - round trip: stream into model A, A's snapshot into a fresh model B of the
//!   same crate, then A and B compared cell by cell (text with combining marks,
//!   colours, bold/italic/underline/inverse, width), cursor position and
//!   visibility, alternate screen, the input modes the crate exposes and the
//!   window title where it keeps one;
//! - continuation: the same bytes fed into A and B (a character after a
//!   pending wrap, scrolling at the bottom of a scroll region, leaving the
//!   alternate screen, a line that wraps), compared after each step, which shows
//!   state a snapshot forgot;
//! - neutral expectations: what any correct terminal shows for a few streams
//!   (a combining mark stays in its cell, a wide char spans two cells, ...).
//!
//! Run with `cargo bench -p flotilla-daemon --bench screen_models`. Every
//! loop is bounded by the corpus size and the byte budget.

use std::fmt::Write as _;
use std::num::NonZeroU16;
use std::path::Path;
use std::time::{Duration, Instant};

use alacritty_terminal::Term;
use alacritty_terminal::event::VoidListener;
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell as AlacrittyCell, Flags};
use alacritty_terminal::term::{Config, TermMode};
use alacritty_terminal::vte::ansi::{Color as AlacrittyColor, NamedColor, Processor, Timeout};
use flotilla_daemon::session::screen::{SNAPSHOT_SCROLLBACK_BUDGET, Screen};
use flotilla_protocol::TermSize;

const COLS: usize = 80;
const ROWS: usize = 24;
/// Pty reads arrive in chunks of about this size.
const CHUNK: usize = 4096;
const CAT_STREAM_BYTES: usize = 50_000_000;
const DEFAULT_BUDGET_MB: usize = 20;
/// A corpus file stays small enough to read in a review.
const MAX_CORPUS_FILE_BYTES: usize = 300_000;

/// Bytes fed into both models after the round trip, one named step at a time.
const CONTINUATION: &[(&str, &str)] = &[
    // Lands on the next line if a wrap was pending, else overwrites the margin.
    ("pending wrap", "Z"),
    // CUP row 24 clamps to the region's bottom in origin mode; the newlines then
    // scroll only the region if the snapshot kept it.
    (
        "scroll region",
        "\x1b[24;1H\r\nafter 1\r\nafter 2\r\nafter 3",
    ),
    // Brings back the saved primary screen and cursor. It comes after the
    // scroll region step because its DECRC may also reset origin mode.
    ("leave alt screen", "\x1b[?1049l"),
    // Wraps only if autowrap is on.
    (
        "autowrap",
        "\r\nwrap: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
    ),
];

/// A colour, the same way for every crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Colour {
    Default,
    Indexed(u8),
    Rgb(u8, u8, u8),
    /// A colour only one crate has, such as alacritty's dim palette.
    Other(u16),
}

/// One cell, normalised so that cells of one crate compare field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CellState {
    /// The base character and its combining marks; empty for a wide char's
    /// second half.
    text: String,
    /// 2 for a wide char, 0 for its second half, else 1.
    width: u8,
    fg: Colour,
    bg: Colour,
    bold: bool,
    italic: bool,
    underline: bool,
    inverse: bool,
}

/// What a viewer would see, plus the modes that change what keys send.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ScreenState {
    rows: Vec<Vec<CellState>>,
    /// (row, column).
    cursor: (usize, usize),
    cursor_visible: bool,
    alternate: bool,
    /// The input modes the crate exposes, as text, because each crate has its own set.
    modes: String,
    /// The window title; `None` where the crate does not expose one.
    title: Option<Option<String>>,
}

impl std::fmt::Display for CellState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} w{} fg {:?} bg {:?}",
            self.text, self.width, self.fg, self.bg
        )?;
        for (set, name) in [
            (self.bold, " bold"),
            (self.italic, " italic"),
            (self.underline, " underline"),
            (self.inverse, " inverse"),
        ] {
            if set {
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}

/// A candidate screen model behind one interface.
trait ScreenModel {
    const NAME: &'static str;

    fn new(cols: usize, rows: usize) -> Self;
    /// A model only fed and never inspected, for the parse rate.
    fn new_unobserved(cols: usize, rows: usize) -> Self
    where
        Self: Sized,
    {
        Self::new(cols, rows)
    }
    fn feed(&mut self, bytes: &[u8]);
    /// Bytes that bring a fresh model of the same size to this state.
    fn snapshot(&self) -> Vec<u8>;
    fn state(&self) -> ScreenState;
}

struct Vt100Model {
    parser: vt100::Parser,
}

struct AvtModel {
    terminal: avt::Terminal,
    /// The tail of a UTF-8 sequence split across two feeds: avt takes `&str`.
    pending: Vec<u8>,
}

/// The daemon's screen model. Its grid is private, so a plain
/// alacritty_terminal `Term` fed the same bytes (the model is built on one
/// and forwards every byte to it) stands in for it when cells are compared.
struct FlotillaModel {
    screen: Screen,
    inspector: Option<Inspector>,
}

struct Inspector {
    term: Term<VoidListener>,
    processor: Processor<Unbuffered>,
}

/// Applies synchronized updates (mode 2026) at once, as the daemon's model
/// does, so that the inspector is never behind it.
#[derive(Default)]
struct Unbuffered;

struct InspectorSize {
    cols: usize,
    rows: usize,
}

/// One corpus file's results for one crate.
struct FileResult {
    mb_per_s: f64,
    round_trip: Result<(), String>,
    continuation: Result<(), String>,
    neutral: Vec<(&'static str, bool)>,
}

/// One crate's results on the whole corpus.
struct CrateResult {
    name: &'static str,
    files: Vec<FileResult>,
    cat_mb_per_s: f64,
}

impl ScreenModel for Vt100Model {
    const NAME: &'static str = "vt100";

    fn new(cols: usize, rows: usize) -> Self {
        let rows = NonZeroU16::new(u16::try_from(rows).expect("rows fit u16")).expect("rows > 0");
        let cols = NonZeroU16::new(u16::try_from(cols).expect("cols fit u16")).expect("cols > 0");
        Self {
            parser: vt100::Parser::new(rows, cols, 0),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    fn snapshot(&self) -> Vec<u8> {
        self.parser.screen().state_formatted().into_bytes()
    }

    fn state(&self) -> ScreenState {
        let screen = self.parser.screen();
        let colour = |colour: vt100::Color| match colour {
            vt100::Color::Default => Colour::Default,
            vt100::Color::Idx(index) => Colour::Indexed(index),
            vt100::Color::Rgb(red, green, blue) => Colour::Rgb(red, green, blue),
        };
        let rows = (0..ROWS)
            .map(|row| {
                (0..COLS)
                    .map(|col| {
                        let cell = screen
                            .cell(row as u16, col as u16)
                            .expect("the cell is inside the screen");
                        let width = if cell.is_wide() {
                            2
                        } else if cell.is_wide_continuation() {
                            0
                        } else {
                            1
                        };
                        CellState {
                            text: cell.contents().to_owned(),
                            width,
                            fg: colour(cell.fgcolor()),
                            bg: colour(cell.bgcolor()),
                            bold: cell.bold(),
                            italic: cell.italic(),
                            underline: cell.underline(),
                            inverse: cell.inverse(),
                        }
                    })
                    .collect()
            })
            .collect();
        let (cursor_row, cursor_col) = screen.cursor_position();
        ScreenState {
            rows,
            cursor: (usize::from(cursor_row), usize::from(cursor_col)),
            cursor_visible: !screen.hide_cursor(),
            alternate: screen.alternate_screen(),
            modes: format!(
                "keypad={} cursor_keys={} paste={} mouse={:?}/{:?}",
                screen.application_keypad(),
                screen.application_cursor(),
                screen.bracketed_paste(),
                screen.mouse_protocol_mode(),
                screen.mouse_protocol_encoding(),
            ),
            title: None,
        }
    }
}

impl ScreenModel for AvtModel {
    const NAME: &'static str = "avt";

    fn new(cols: usize, rows: usize) -> Self {
        Self {
            terminal: avt::Terminal::new(cols, rows).expect("the size is positive"),
            pending: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        // Decode like a daemon must: keep an incomplete sequence at the end for
        // the next feed and replace invalid bytes with U+FFFD.
        self.pending.extend_from_slice(bytes);
        let mut text = String::with_capacity(self.pending.len());
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).expect("checked by from_utf8"));
                    match error.error_len() {
                        Some(len) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[len..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        let rest = rest.to_vec();
        self.terminal.feed(text.as_str());
        self.pending = rest;
    }

    fn snapshot(&self) -> Vec<u8> {
        self.terminal.dump().into_bytes()
    }

    fn state(&self) -> ScreenState {
        let colour = |colour: Option<avt::Color>| match colour {
            None => Colour::Default,
            Some(avt::Color::Indexed(index)) => Colour::Indexed(index),
            Some(avt::Color::RGB(rgb)) => Colour::Rgb(rgb.r, rgb.g, rgb.b),
        };
        let rows = self
            .terminal
            .screen()
            .visible_lines()
            .map(|line| {
                line.cells()
                    .iter()
                    .map(|cell| {
                        let pen = cell.pen();
                        CellState {
                            text: if cell.width() == 0 {
                                String::new()
                            } else {
                                cell.char().to_string()
                            },
                            width: cell.width(),
                            fg: colour(pen.foreground()),
                            bg: colour(pen.background()),
                            bold: pen.is_bold(),
                            italic: pen.is_italic(),
                            underline: pen.is_underline(),
                            inverse: pen.is_inverse(),
                        }
                    })
                    .collect()
            })
            .collect();
        let cursor = self.terminal.cursor();
        ScreenState {
            rows,
            cursor: (cursor.row, cursor.col),
            cursor_visible: cursor.visible,
            alternate: self.terminal.active_screen_kind() == avt::ScreenKind::Alternate,
            modes: format!("cursor_keys={}", self.terminal.cursor_key_app_mode()),
            title: None,
        }
    }
}

impl Dimensions for InspectorSize {
    fn total_lines(&self) -> usize {
        self.rows
    }

    fn screen_lines(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.cols
    }
}

impl Timeout for Unbuffered {
    fn set_timeout(&mut self, _: Duration) {}

    fn clear_timeout(&mut self) {}

    fn pending_timeout(&self) -> bool {
        false
    }
}

impl ScreenModel for FlotillaModel {
    const NAME: &'static str = "flotilla (alacritty)";

    fn new(cols: usize, rows: usize) -> Self {
        let config = Config {
            scrolling_history: 0,
            ..Config::default()
        };
        Self {
            inspector: Some(Inspector {
                term: Term::new(config, &InspectorSize { cols, rows }, VoidListener),
                processor: Processor::new(),
            }),
            ..Self::new_unobserved(cols, rows)
        }
    }

    fn new_unobserved(cols: usize, rows: usize) -> Self {
        let size = TermSize {
            cols: u16::try_from(cols).expect("cols fit u16"),
            rows: u16::try_from(rows).expect("rows fit u16"),
        };
        // No scrollback, as for the other crates; the daemon's default keeps
        // 10,000 lines.
        Self {
            screen: Screen::new(size, 0),
            inspector: None,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        // The replies to terminal queries are what the daemon writes back to
        // the program; here nobody listens.
        std::hint::black_box(self.screen.feed(bytes));
        if let Some(inspector) = &mut self.inspector {
            inspector.processor.advance(&mut inspector.term, bytes);
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        self.screen.snapshot(SNAPSHOT_SCROLLBACK_BUDGET)
    }

    fn state(&self) -> ScreenState {
        let term = &self
            .inspector
            .as_ref()
            .expect("only models made with new are inspected")
            .term;
        let grid = term.grid();
        let rows = (0..ROWS)
            .map(|row| {
                (0..COLS)
                    .map(|col| {
                        let cell = &grid[Line(row as i32)][Column(col)];
                        let width = if cell.flags.contains(Flags::WIDE_CHAR) {
                            2
                        } else if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                            0
                        } else {
                            1
                        };
                        CellState {
                            text: if width == 0 {
                                String::new()
                            } else {
                                alacritty_text(cell)
                            },
                            width,
                            fg: alacritty_colour(cell.fg),
                            bg: alacritty_colour(cell.bg),
                            bold: cell.flags.contains(Flags::BOLD),
                            italic: cell.flags.contains(Flags::ITALIC),
                            underline: cell.flags.intersects(Flags::ALL_UNDERLINES),
                            inverse: cell.flags.contains(Flags::INVERSE),
                        }
                    })
                    .collect()
            })
            .collect();
        let point = grid.cursor.point;
        let mode = *term.mode();
        ScreenState {
            rows,
            cursor: (
                usize::try_from(point.line.0).expect("the cursor is on screen"),
                point.column.0,
            ),
            cursor_visible: mode.contains(TermMode::SHOW_CURSOR),
            alternate: mode.contains(TermMode::ALT_SCREEN),
            modes: format!("{:?}", mode - TermMode::SHOW_CURSOR - TermMode::ALT_SCREEN),
            title: Some(self.screen.title().map(str::to_owned)),
        }
    }
}

fn main() {
    let corpus_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/terminal-corpus");
    let corpus = read_corpus(&corpus_dir);
    check_corpus(&corpus_dir, &corpus);
    let budget_mb = std::env::var("SCREEN_BENCH_MB")
        .ok()
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(DEFAULT_BUDGET_MB);
    let budget = budget_mb * 1_000_000;
    let cat_stream = cat_stream(CAT_STREAM_BYTES.min(budget * 5 / 2));
    println!(
        "screen models: {} corpus files, {COLS}x{ROWS}, parse budget {budget_mb} MB per file, cat stream {} MB",
        corpus.len(),
        cat_stream.len() / 1_000_000
    );

    let results = [
        run_crate::<Vt100Model>(&corpus, budget, &cat_stream),
        run_crate::<AvtModel>(&corpus, budget, &cat_stream),
        run_crate::<FlotillaModel>(&corpus, budget, &cat_stream),
    ];
    print_tables(&corpus, &results);
}

fn read_corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut corpus: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("the corpus directory exists")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bin"))
        .map(|path| {
            let name = path
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            (name, bytes)
        })
        .collect();
    corpus.sort();
    corpus
}

/// Warns about corpus files that break the corpus's own rules (README.md).
fn check_corpus(dir: &Path, corpus: &[(String, Vec<u8>)]) {
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    for (name, bytes) in corpus {
        if !readme.contains(&format!("`{name}.bin`")) {
            println!("warning: {name}.bin is not listed in README.md");
        }
        if bytes.len() > MAX_CORPUS_FILE_BYTES {
            println!(
                "warning: {name}.bin is {} bytes, over {MAX_CORPUS_FILE_BYTES}",
                bytes.len()
            );
        }
    }
}

/// Coloured numbered lines as `cat` of a highlighted log would print them.
fn cat_stream(len: usize) -> Vec<u8> {
    let mut out = String::with_capacity(len + 200);
    let mut line = 0u64;
    while out.len() < len {
        let colour = 31 + line % 7;
        let _ = write!(
            out,
            "\x1b[{colour}m{line:>8}\x1b[0m \x1b[1mINFO\x1b[0m request handled in {}ms path=/api/v1/items/{} status=\x1b[32m200\x1b[0m\r\n",
            line % 997,
            line * 7919 % 100_000
        );
        line += 1;
    }
    out.into_bytes()
}

fn run_crate<M: ScreenModel>(
    corpus: &[(String, Vec<u8>)],
    budget: usize,
    cat_stream: &[u8],
) -> CrateResult {
    eprintln!("running {}", M::NAME);
    let files = corpus
        .iter()
        .map(|(name, bytes)| {
            let repeats = budget.div_ceil(bytes.len().max(1)).max(1);
            let mb_per_s = parse_rate::<M>(bytes, repeats);
            let (round_trip, continuation, neutral) = fidelity::<M>(name, bytes);
            FileResult {
                mb_per_s,
                round_trip,
                continuation,
                neutral,
            }
        })
        .collect();
    CrateResult {
        name: M::NAME,
        files,
        cat_mb_per_s: parse_rate::<M>(cat_stream, 1),
    }
}

/// Feeds `bytes` `repeats` times in pty-sized chunks into one model.
fn parse_rate<M: ScreenModel>(bytes: &[u8], repeats: usize) -> f64 {
    let mut model = M::new_unobserved(COLS, ROWS);
    let start = Instant::now();
    for _ in 0..repeats {
        for chunk in bytes.chunks(CHUNK) {
            model.feed(chunk);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(&model);
    (bytes.len() * repeats) as f64 / 1e6 / seconds.max(1e-9)
}

type Fidelity = (
    Result<(), String>,
    Result<(), String>,
    Vec<(&'static str, bool)>,
);

fn fidelity<M: ScreenModel>(name: &str, bytes: &[u8]) -> Fidelity {
    let mut original = M::new(COLS, ROWS);
    original.feed(bytes);
    let mut neutral = neutral_expectations(name, &original.state());
    let mut restored = M::new(COLS, ROWS);
    restored.feed(&original.snapshot());
    let round_trip = compare(&original.state(), &restored.state());
    let mut continuation = match &round_trip {
        Ok(()) => Ok(()),
        Err(_) => Err("not run: the round trip failed".to_owned()),
    };
    let mut after_steps = Vec::with_capacity(CONTINUATION.len());
    for (step, bytes) in CONTINUATION {
        original.feed(bytes.as_bytes());
        after_steps.push(original.state());
        if continuation.is_ok() {
            restored.feed(bytes.as_bytes());
            if let Err(difference) = compare(&original.state(), &restored.state()) {
                continuation = Err(format!("after {step}: {difference}"));
            }
        }
    }
    neutral.extend(neutral_after_continuation(name, &after_steps));
    (round_trip, continuation, neutral)
}

/// The first difference between two states, for the report.
fn compare(original: &ScreenState, restored: &ScreenState) -> Result<(), String> {
    if original.alternate != restored.alternate {
        return Err(format!(
            "alternate screen {} vs {}",
            original.alternate, restored.alternate
        ));
    }
    for (row, (left, right)) in original.rows.iter().zip(&restored.rows).enumerate() {
        for (col, (a, b)) in left.iter().zip(right).enumerate() {
            if a != b {
                return Err(format!("cell {row},{col}: {a} vs {b}"));
            }
        }
    }
    if original.cursor != restored.cursor {
        return Err(format!(
            "cursor {:?} vs {:?}",
            original.cursor, restored.cursor
        ));
    }
    if original.cursor_visible != restored.cursor_visible {
        return Err(format!(
            "cursor visible {} vs {}",
            original.cursor_visible, restored.cursor_visible
        ));
    }
    if original.modes != restored.modes {
        return Err(format!("modes {} vs {}", original.modes, restored.modes));
    }
    if original.title != restored.title {
        return Err(format!(
            "title {:?} vs {:?}",
            original.title, restored.title
        ));
    }
    Ok(())
}

fn row_text(state: &ScreenState, row: usize) -> String {
    state.rows[row]
        .iter()
        .map(|cell| cell.text.as_str())
        .collect::<String>()
        .trim_end()
        .to_owned()
}

fn cell_text(state: &ScreenState, row: usize, col: usize) -> &str {
    &state.rows[row][col].text
}

/// What any correct 80x24 xterm shows after the stream, where the stream is
/// simple enough for one answer (see generate.py for how each was built).
fn neutral_expectations(name: &str, state: &ScreenState) -> Vec<(&'static str, bool)> {
    let any_row = |needle: &str| (0..ROWS).any(|row| row_text(state, row).contains(needle));
    match name {
        "unicode" => vec![
            (
                "wide char spans two cells",
                cell_text(state, 0, 6) == "日"
                    && state.rows[0][6].width == 2
                    && state.rows[0][7].width == 0,
            ),
            (
                "e + U+0301 stays in one cell",
                cell_text(state, 1, 11) == "e\u{301}" && cell_text(state, 1, 12) == " ",
            ),
            (
                "a + U+0308 stays in one cell",
                cell_text(state, 1, 13) == "a\u{308}",
            ),
            (
                "two combining marks in one cell",
                cell_text(state, 1, 17) == "o\u{302}\u{323}",
            ),
            ("emoji is wide", state.rows[2][7].width == 2),
            ("ZWJ sequence kept", any_row("👩\u{200d}💻")),
            ("flag kept", any_row("🇯🇵")),
            (
                "wide char at the margin wraps",
                cell_text(state, 5, 79).trim().is_empty() && cell_text(state, 6, 0) == "語",
            ),
        ],
        "pending-wrap" => vec![
            (
                "80 columns on row 2",
                row_text(state, 1).chars().count() == COLS,
            ),
            ("cursor stays on row 2", state.cursor.0 == 1),
        ],
        "modes" => vec![
            ("cursor hidden", !state.cursor_visible),
            (
                "window title kept (where the crate exposes one)",
                state
                    .title
                    .as_ref()
                    .is_none_or(|title| title.as_deref() == Some("corpus title")),
            ),
            (
                "no autowrap: row 3 is 80 x and row 4 empty",
                row_text(state, 2) == "x".repeat(COLS) && row_text(state, 3).is_empty(),
            ),
        ],
        "scroll-region" => vec![
            (
                "rows above the region kept",
                row_text(state, 0) == "fixed row 1",
            ),
            (
                "region scrolled",
                row_text(state, 4) == "region line 10" && row_text(state, 13) == "region line 19",
            ),
            ("origin mode cursor", state.cursor == (6, 9)),
        ],
        "altscreen" => vec![
            ("alternate active", state.alternate),
            (
                "alternate content",
                row_text(state, 0).contains("alternate screen header"),
            ),
        ],
        "sgr" => vec![
            (
                "bold cell",
                state.rows[0][0].bold && cell_text(state, 0, 0) == "b",
            ),
            (
                "truecolour fg",
                state.rows[12][1].fg == Colour::Rgb(6, 0, 249),
            ),
        ],
        "vim" => vec![
            ("alternate active", state.alternate),
            ("inserted wide line shown", any_row("日本語 and an emoji")),
        ],
        "vim-quit" => vec![("primary screen back", !state.alternate)],
        "htop" | "codex" | "opencode" => vec![("alternate active", state.alternate)],
        _ => Vec::new(),
    }
}

/// What any correct terminal shows after each step of `CONTINUATION`
/// (`after_steps[i]` is the state after step `i`).
fn neutral_after_continuation(
    name: &str,
    after_steps: &[ScreenState],
) -> Vec<(&'static str, bool)> {
    let [pending_wrap, scroll_region, leave_alt, autowrap] = after_steps else {
        unreachable!("CONTINUATION has four steps");
    };
    match name {
        "pending-wrap" => vec![(
            "continuation: the pending wrap put Z on the next line",
            cell_text(pending_wrap, 1, 79) == "b" && cell_text(pending_wrap, 2, 0) == "Z",
        )],
        "altscreen" => vec![(
            "continuation: the saved primary screen is back",
            row_text(leave_alt, 0) == "primary line 0 saved"
                && row_text(leave_alt, 10) == "primary prompt$",
        )],
        "scroll-region" => vec![(
            "continuation: only the region scrolled",
            row_text(scroll_region, 0) == "fixed row 1"
                && row_text(scroll_region, 3) == "fixed row 4"
                && row_text(scroll_region, 14) == "after 3"
                && row_text(scroll_region, 15).is_empty(),
        )],
        "modes" => vec![(
            "continuation: no autowrap, so the long line stays on one row",
            (0..ROWS)
                .any(|row| row_text(autowrap, row) == format!("wrap: {}", "x".repeat(COLS - 6))),
        )],
        _ => Vec::new(),
    }
}

fn alacritty_colour(colour: AlacrittyColor) -> Colour {
    match colour {
        AlacrittyColor::Named(NamedColor::Foreground | NamedColor::Background) => Colour::Default,
        AlacrittyColor::Named(named) if (named as usize) < 16 => Colour::Indexed(named as u8),
        AlacrittyColor::Named(named) => Colour::Other(named as u16),
        AlacrittyColor::Spec(rgb) => Colour::Rgb(rgb.r, rgb.g, rgb.b),
        AlacrittyColor::Indexed(index) => Colour::Indexed(index),
    }
}

fn alacritty_text(cell: &AlacrittyCell) -> String {
    let mut text = String::from(cell.c);
    text.extend(cell.zerowidth().unwrap_or_default());
    text
}

fn print_tables(corpus: &[(String, Vec<u8>)], results: &[CrateResult]) {
    let name_width = corpus
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(4)
        .max(10);
    let mark = |outcome: &Result<(), String>| if outcome.is_ok() { "ok" } else { "FAIL" };

    println!();
    println!("parse rate, MB/s (ratio to the fastest crate on that input)");
    let mut header = format!("{:name_width$} {:>7}", "input", "KB");
    for result in results {
        let _ = write!(header, " | {:>24}", result.name);
    }
    println!("{header}");
    let rates: Vec<(String, usize, Vec<f64>)> = corpus
        .iter()
        .enumerate()
        .map(|(index, (name, bytes))| {
            (
                name.clone(),
                bytes.len(),
                results
                    .iter()
                    .map(|result| result.files[index].mb_per_s)
                    .collect(),
            )
        })
        .chain(std::iter::once((
            "cat stream".to_owned(),
            CAT_STREAM_BYTES,
            results.iter().map(|result| result.cat_mb_per_s).collect(),
        )))
        .collect();
    for (name, len, row) in &rates {
        let fastest = row.iter().copied().fold(f64::MIN, f64::max);
        let mut line = format!("{name:name_width$} {:>7.1}", *len as f64 / 1000.0);
        for rate in row {
            let _ = write!(line, " | {rate:>13.1} ({:>5.2}x)  ", rate / fastest);
        }
        println!("{line}");
    }

    println!();
    println!("fidelity: round trip / continuation / neutral expectations met");
    let mut header = format!("{:name_width$}", "file");
    for result in results {
        let _ = write!(header, " | {:>24}", result.name);
    }
    println!("{header}");
    for (index, (name, _)) in corpus.iter().enumerate() {
        let mut line = format!("{name:name_width$}");
        for result in results {
            let file = &result.files[index];
            let met = file.neutral.iter().filter(|(_, ok)| *ok).count();
            let neutral = if file.neutral.is_empty() {
                "-".to_owned()
            } else {
                format!("{met}/{}", file.neutral.len())
            };
            let _ = write!(
                line,
                " | {:>24}",
                format!(
                    "{} / {} / {}",
                    mark(&file.round_trip),
                    mark(&file.continuation),
                    neutral
                )
            );
        }
        println!("{line}");
    }

    println!();
    println!("summary");
    for result in results {
        let round_trip = result
            .files
            .iter()
            .filter(|file| file.round_trip.is_ok())
            .count();
        let continuation = result
            .files
            .iter()
            .filter(|file| file.continuation.is_ok())
            .count();
        let neutral_met: usize = result
            .files
            .iter()
            .map(|file| file.neutral.iter().filter(|(_, ok)| *ok).count())
            .sum();
        let neutral_all: usize = result.files.iter().map(|file| file.neutral.len()).sum();
        let corpus_mb: f64 = corpus
            .iter()
            .map(|(_, bytes)| bytes.len() as f64 / 1e6)
            .sum();
        // Time-weighted: the rate of feeding every corpus file once, back to back.
        let corpus_seconds: f64 = corpus
            .iter()
            .zip(&result.files)
            .map(|((_, bytes), file)| bytes.len() as f64 / 1e6 / file.mb_per_s)
            .sum();
        println!(
            "{:>20}: round trip {round_trip}/{n}, continuation {continuation}/{n}, neutral {neutral_met}/{neutral_all}, corpus {:.1} MB/s, cat stream {:.1} MB/s",
            result.name,
            corpus_mb / corpus_seconds,
            result.cat_mb_per_s,
            n = corpus.len(),
        );
    }

    println!();
    println!("failures");
    for result in results {
        for (index, (name, _)) in corpus.iter().enumerate() {
            let file = &result.files[index];
            if let Err(difference) = &file.round_trip {
                println!("{} {name}: round trip: {difference}", result.name);
            } else if let Err(difference) = &file.continuation {
                println!("{} {name}: continuation {difference}", result.name);
            }
            for (expectation, ok) in &file.neutral {
                if !ok {
                    println!("{} {name}: expected {expectation}", result.name);
                }
            }
        }
    }
}
