//! The screen model of one session: what a terminal showing the session's
//! output would show, kept by the session's actor so that a viewer can be
//! given the exact screen at any offset of the stream ([`Screen::snapshot`])
//! and terminal queries are answered once, here, from the model
//! ([`Screen::feed`] returns the replies), whether or not anyone watches.
//!
//! Built on `alacritty_terminal` (its `vte`-based parser and grid): it
//! models every mode a viewer needs, keeps zero-width characters (combining
//! marks, emoji sequences) in their cell, and answers DA1/DA2, DSR/CPR,
//! DECRQM, colour and size queries itself; see ARCHITECTURE.md for the
//! comparison with `vt100` and `avt`. What it keeps private is tracked here:
//! the scroll region, the window title, and the primary screen while the
//! alternate one is shown (copied when the application switches).
//!
//! The primary screen's scrollback is kept here ([`History`]), not in the
//! terminal's grid: the grid allocates history a thousand full-width rows
//! at a time (about 1.9 MB at 80 columns, on a session's first scroll),
//! while this one grows a row at a time. The grid is given no history, and
//! each row it is about to scroll off the top is moved here first (see
//! [`Tracked`]).
//!
//! Synchronized updates (mode 2026) are not buffered: the model applies
//! every byte as it arrives, so its state always matches the offset it has
//! consumed, and a snapshot taken mid-update is completed by the bytes that
//! follow it.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alacritty_terminal::event::{Event, EventListener, WindowSize};
use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::{Column, Line, Point};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{
    self, Attr, CharsetIndex, ClearMode, Color, CursorShape, CursorStyle, Handler, Hyperlink,
    KeyboardModes, KeyboardModesApplyBehavior, LineClearMode, Mode, ModifyOtherKeys, NamedColor,
    NamedPrivateMode, PrivateMode, Processor, Rgb, ScpCharPath, ScpUpdateMode, StandardCharset,
    TabulationClearMode,
};
use flotilla_protocol::TermSize;
use unicode_width::UnicodeWidthChar;

/// Scrollback lines kept per session unless configured otherwise.
pub const DEFAULT_SCROLLBACK_LINES: usize = 10_000;

/// The most snapshot bytes spent on scrollback; the most recent lines that
/// fit are sent. Keeps an attach under 256 KiB however long the history.
pub const SNAPSHOT_SCROLLBACK_BUDGET: usize = 192 * 1024;

/// What the daemon answers to XTVERSION (`CSI > q`).
const XTVERSION_REPLY: &str = concat!("\x1bP>|flotilla ", env!("CARGO_PKG_VERSION"), "\x1b\\");

/// The colours viewers render with (the frontend's theme), used to answer
/// OSC 10/11/12 queries and OSC 4 queries of colours the program did not
/// set.
const FOREGROUND: Rgb = Rgb {
    r: 0xd1,
    g: 0xd7,
    b: 0xe0,
};
const BACKGROUND: Rgb = Rgb {
    r: 0x0b,
    g: 0x0f,
    b: 0x14,
};
const CURSOR: Rgb = Rgb {
    r: 0x58,
    g: 0xa6,
    b: 0xff,
};

/// Cell size assumed when a program asks for the text area in pixels.
const CELL_PIXELS: (u16, u16) = (8, 16);

/// One session's terminal state.
pub struct Screen {
    term: Term<Listener>,
    parser: Processor<NoSync>,
    extra: Extra,
    events: Arc<Mutex<Vec<Event>>>,
    /// Recognises XTVERSION, which the parser does not report.
    xtversion: XtVersion,
}

/// What `alacritty_terminal` keeps private and a snapshot needs.
#[derive(Default)]
struct Extra {
    /// Top (inclusive) and bottom (exclusive) screen rows of the scroll
    /// region, `None` for the whole screen.
    scroll_region: Option<(usize, usize)>,
    /// The window title, when the program set one.
    title: Option<String>,
    /// The primary screen's visible rows and cursor, copied when the
    /// program switched to the alternate screen.
    primary: Option<SavedPrimary>,
    /// The primary screen's scrollback.
    history: History,
}

/// Rows scrolled off the top of the primary screen, oldest first. A row
/// scrolled off is swapped out of the grid whole, and the oldest row, once
/// the history is full, is swapped back in to be reset: as cheap as the
/// grid's own history, allocated only as it fills.
#[derive(Default)]
struct History {
    rows: VecDeque<Row<Cell>>,
    max: usize,
}

impl History {
    fn new(max: usize) -> Self {
        History {
            rows: VecDeque::new(),
            max,
        }
    }

    /// Keeps a copy of `row`.
    fn push(&mut self, row: &Row<Cell>) {
        if self.max == 0 {
            return;
        }
        if self.rows.len() >= self.max {
            self.rows.pop_front();
        }
        self.rows.push_back(row.clone());
    }

    /// Keeps `row` itself, for a row the terminal resets right after (a
    /// row scrolled off the top): a spare row of the same width takes its
    /// place.
    fn take(&mut self, row: &mut Row<Cell>) {
        if self.max == 0 {
            return;
        }
        let oldest = if self.rows.len() >= self.max {
            self.rows.pop_front()
        } else {
            None
        };
        let mut spare = oldest
            .filter(|oldest| oldest.len() == row.len())
            .unwrap_or_else(|| Row::new(row.len()));
        std::mem::swap(row, &mut spare);
        self.rows.push_back(spare);
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.rows.shrink_to_fit();
    }
}

struct SavedPrimary {
    rows: Vec<Row<Cell>>,
    cursor: Point,
}

/// The size of a screen in `alacritty_terminal`'s terms.
struct Size(TermSize);

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.screen_lines()
    }
    fn screen_lines(&self) -> usize {
        usize::from(self.0.rows.max(1))
    }
    fn columns(&self) -> usize {
        usize::from(self.0.cols.max(1))
    }
}

/// Collects the terminal's events (replies, title changes) during a feed.
#[derive(Clone)]
struct Listener(Arc<Mutex<Vec<Event>>>);

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        match event {
            Event::PtyWrite(_)
            | Event::ColorRequest(..)
            | Event::TextAreaSizeRequest(_)
            | Event::Title(_)
            | Event::ResetTitle => lock(&self.0).push(event),
            _ => {}
        }
    }
}

/// Disables the parser's buffering of synchronized updates (see the module
/// documentation).
#[derive(Default)]
struct NoSync;

impl ansi::Timeout for NoSync {
    fn set_timeout(&mut self, _: Duration) {}
    fn clear_timeout(&mut self) {}
    fn pending_timeout(&self) -> bool {
        false
    }
}

impl Screen {
    /// An empty screen of `size` keeping up to `scrollback_lines` lines of
    /// history (allocated as they fill).
    pub fn new(size: TermSize, scrollback_lines: usize) -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        // The grid keeps no history: [`History`] does.
        let config = Config {
            scrolling_history: 0,
            ..Config::default()
        };
        Screen {
            term: Term::new(config, &Size(size), Listener(events.clone())),
            parser: Processor::new(),
            extra: Extra {
                history: History::new(scrollback_lines),
                ..Extra::default()
            },
            events,
            xtversion: XtVersion::default(),
        }
    }

    /// Applies output to the model. Returns the bytes to write back to the
    /// program: the answers to the terminal queries in `bytes`, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut replies = Vec::new();
        let mut start = 0;
        while start < bytes.len() {
            // Feed up to the end of each XTVERSION query, so its answer
            // takes its place among the others.
            let (end, query) = match self.xtversion.find(&bytes[start..]) {
                Some(len) => (start + len, true),
                None => (bytes.len(), false),
            };
            let mut tracked = Tracked {
                term: &mut self.term,
                extra: &mut self.extra,
            };
            self.parser.advance(&mut tracked, &bytes[start..end]);
            self.drain_events(&mut replies);
            if query {
                replies.extend_from_slice(XTVERSION_REPLY.as_bytes());
            }
            start = end;
        }
        replies
    }

    fn drain_events(&mut self, replies: &mut Vec<u8>) {
        let events = std::mem::take(&mut *lock(&self.events));
        for event in events {
            match event {
                Event::PtyWrite(text) => replies.extend_from_slice(text.as_bytes()),
                Event::ColorRequest(index, format) => {
                    let rgb = self.term.colors()[index].unwrap_or_else(|| default_color(index));
                    replies.extend_from_slice(format(rgb).as_bytes());
                }
                Event::TextAreaSizeRequest(format) => {
                    let size = self.size();
                    let window = WindowSize {
                        num_lines: size.rows,
                        num_cols: size.cols,
                        cell_width: CELL_PIXELS.0,
                        cell_height: CELL_PIXELS.1,
                    };
                    replies.extend_from_slice(format(window).as_bytes());
                }
                Event::Title(title) => self.extra.title = Some(title),
                Event::ResetTitle => self.extra.title = None,
                _ => {}
            }
        }
    }

    /// Resizes the model, as the PTY was. Rows pushed off the top of the
    /// primary screen (fewer rows, or narrower rows rewrapped) go to the
    /// history; rows already there keep their width.
    pub fn resize(&mut self, size: TermSize) {
        let (rows, cols) = (usize::from(size.rows.max(1)), usize::from(size.cols.max(1)));
        let primary = !self.term.mode().contains(TermMode::ALT_SCREEN);
        if primary {
            // The grid scrolls up to keep the cursor on the screen.
            let grid = self.term.grid_mut();
            let pushed = (grid.cursor.point.line.0 as usize + 1).saturating_sub(rows);
            for row in 0..pushed.min(grid.screen_lines()) {
                self.extra.history.take(&mut grid[Line(row as i32)]);
            }
        }
        let old_cols = self.term.columns();
        if primary && cols < old_cols {
            // Rewrapping narrower rows moves the top ones into the grid's
            // history (without its allocation ahead): lent it for the
            // resize and moved here.
            self.term.resize(Size(TermSize {
                cols: u16::try_from(old_cols).unwrap_or(u16::MAX),
                rows: size.rows,
            }));
            self.term.grid_mut().update_history(self.extra.history.max);
            self.term.resize(Size(size));
            let grid = self.term.grid();
            for back in (1..=grid.history_size() as i32).rev() {
                self.extra.history.push(&grid[Line(-back)]);
            }
            self.term.grid_mut().update_history(0);
        } else {
            self.term.resize(Size(size));
        }
        self.extra.scroll_region = None;
        if let Some(primary) = &mut self.extra.primary {
            primary.rows.truncate(rows);
            for row in &mut primary.rows {
                if row.len() != cols {
                    let mut resized = Row::new(cols);
                    for (col, cell) in row.into_iter().take(cols).enumerate() {
                        resized[Column(col)] = cell.clone();
                    }
                    *row = resized;
                }
            }
            while primary.rows.len() < rows {
                primary.rows.push(Row::new(cols));
            }
            primary.cursor.line = Line(primary.cursor.line.0.min(rows as i32 - 1));
            primary.cursor.column = Column(primary.cursor.column.0.min(cols - 1));
        }
        // The queue only holds events of a feed; a resize raises none
        // a viewer needs.
        lock(&self.events).clear();
    }

    /// The model's size.
    pub fn size(&self) -> TermSize {
        let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        TermSize {
            cols: clamp(self.term.columns()),
            rows: clamp(self.term.screen_lines()),
        }
    }

    /// The visible rows as text (wide characters once, zero-width ones in
    /// their cell, trailing blanks trimmed). For tests and diagnostics.
    pub fn text(&self) -> Vec<String> {
        let grid = self.term.grid();
        (0..grid.screen_lines())
            .map(|row| row_text(&grid[Line(row as i32)][..]))
            .collect()
    }

    /// The history rows as text, oldest first.
    pub fn scrollback_text(&self) -> Vec<String> {
        self.extra
            .history
            .rows
            .iter()
            .map(|row| row_text(&row[..]))
            .collect()
    }

    /// The window title the program set, if any.
    pub fn title(&self) -> Option<&str> {
        self.extra.title.as_deref()
    }

    /// Bytes that, written to a freshly reset terminal of [`Self::size`],
    /// reproduce this screen: the most recent scrollback that fits
    /// `scrollback_budget` bytes, the primary screen (and over it the
    /// alternate one when that is shown), scroll region, modes, saved
    /// cursor, title, colours set by the program, and the cursor.
    pub fn snapshot(&self, scrollback_budget: usize) -> Vec<u8> {
        let mut out = String::new();
        let mut pen = Pen::default();
        let grid = self.term.grid();
        let mode = *self.term.mode();
        let (rows, cols) = (grid.screen_lines(), grid.columns());
        out.push_str("\x1b[0m");
        // The history is the primary screen's, so it is written first,
        // before the alternate screen is entered.
        let history = scrollback(&self.extra.history, scrollback_budget);
        if !history.is_empty() {
            for row in history.iter().rev() {
                out.push_str(row);
            }
            // Scroll every history row off the screen, so it lands in the
            // viewer's scrollback exactly once.
            for _ in 1..rows {
                out.push('\n');
            }
        }
        if let (true, Some(primary)) = (mode.contains(TermMode::ALT_SCREEN), &self.extra.primary) {
            write_rows(&mut out, &mut pen, primary.rows.iter(), cols);
            reset_pen(&mut out, &mut pen);
            cup(
                &mut out,
                primary.cursor.line.0 as usize,
                primary.cursor.column.0,
            );
            out.push_str("\x1b[?1049h");
        }
        let visible: Vec<&Row<Cell>> = (0..rows).map(|row| &grid[Line(row as i32)]).collect();
        write_rows(&mut out, &mut pen, visible.into_iter(), cols);
        reset_pen(&mut out, &mut pen);

        // The saved cursor (DECSC), restored by DECRC.
        let saved = &grid.saved_cursor;
        if saved.point != Point::default() || !same_attrs(&saved.template, &Cell::default()) {
            set_pen(&mut out, &mut pen, &saved.template);
            cup(&mut out, saved.point.line.0 as usize, saved.point.column.0);
            out.push_str("\x1b7");
            reset_pen(&mut out, &mut pen);
        }
        if let Some((top, bottom)) = self.extra.scroll_region {
            let _ = write!(out, "\x1b[{};{}r", top + 1, bottom);
        }
        write_modes(&mut out, mode);
        let style = self.term.cursor_style();
        if style != CursorStyle::default() {
            let shape = match style.shape {
                CursorShape::Block | CursorShape::HollowBlock | CursorShape::Hidden => 1,
                CursorShape::Underline => 3,
                CursorShape::Beam => 5,
            };
            let _ = write!(out, "\x1b[{} q", shape + u8::from(!style.blinking));
        }
        if let Some(title) = &self.extra.title {
            let _ = write!(out, "\x1b]2;{title}\x07");
        }
        let colors = self.term.colors();
        for index in 0..256 {
            if let Some(rgb) = colors[index] {
                let _ = write!(out, "\x1b]4;{index};{}\x07", rgb_spec(rgb));
            }
        }
        for (index, osc) in [
            (NamedColor::Foreground as usize, 10),
            (NamedColor::Background as usize, 11),
            (NamedColor::Cursor as usize, 12),
        ] {
            if let Some(rgb) = colors[index] {
                let _ = write!(out, "\x1b]{osc};{}\x07", rgb_spec(rgb));
            }
        }

        // Last, the pen and the cursor (relative to the scroll region in
        // origin mode), with a pending wrap when the last column was just
        // written.
        let cursor = &grid.cursor;
        let origin_top = if mode.contains(TermMode::ORIGIN) {
            self.extra.scroll_region.map_or(0, |(top, _)| top)
        } else {
            0
        };
        let line = (cursor.point.line.0 as usize).saturating_sub(origin_top);
        if cursor.input_needs_wrap {
            let col = cursor.point.column.0;
            let cell = &grid[cursor.point.line][Column(col)];
            cup(&mut out, line, col);
            set_pen(&mut out, &mut pen, cell);
            write_cell_text(&mut out, cell);
        } else {
            cup(&mut out, line, cursor.point.column.0);
        }
        set_pen(&mut out, &mut pen, &cursor.template);
        out.into_bytes()
    }
}

impl Screen {
    /// The visible text without attributes and the cursor: what is sent
    /// when even the styled screen alone does not fit a snapshot frame.
    pub fn snapshot_text(&self) -> Vec<u8> {
        let mut out = String::from("\x1b[0m");
        for (row, text) in self.text().iter().enumerate() {
            cup(&mut out, row, 0);
            out.push_str(text);
        }
        let cursor = self.term.grid().cursor.point;
        cup(&mut out, cursor.line.0 as usize, cursor.column.0);
        out.into_bytes()
    }
}

/// The most recent history rows, newest first, each rendered from the
/// default pen back to it and ended by a newline, as many as fit `budget`
/// bytes. Rendered once: what is measured is what is sent.
fn scrollback(history: &History, budget: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut spent = 0;
    for row in history.rows.iter().rev() {
        let mut pen = Pen::default();
        let mut text = String::new();
        write_row(&mut text, &mut pen, &row[..], row.len(), false);
        // A scroll fills the new row with the pen's background.
        reset_pen(&mut text, &mut pen);
        text.push_str("\r\n");
        spent += text.len();
        if spent > budget {
            break;
        }
        rows.push(text);
    }
    rows
}

/// Writes the visible rows from the top: each at its own row, except that a
/// row which wrapped lets its last cell wrap into the next, so the wrap is
/// kept.
fn write_rows<'a>(
    out: &mut String,
    pen: &mut Pen,
    rows: impl Iterator<Item = &'a Row<Cell>>,
    cols: usize,
) {
    let rows: Vec<&Row<Cell>> = rows.collect();
    let mut wrapped_into = false;
    for (index, row) in rows.iter().enumerate() {
        let wraps = index + 1 < rows.len() && wraps(row, cols);
        let blank = (0..cols.min(row.len())).all(|col| is_blank(&row[Column(col)]));
        if blank && !wraps && !wrapped_into {
            // A reset terminal's row already.
            continue;
        }
        if !wrapped_into {
            cup(out, index, 0);
        }
        write_row(out, pen, &row[..], cols, wraps);
        wrapped_into = wraps;
    }
}

/// Whether a row continues on the next one.
fn wraps(row: &Row<Cell>, cols: usize) -> bool {
    cols > 0 && row[Column(cols - 1)].flags.contains(Flags::WRAPLINE)
}

/// Writes one row's cells; trailing default cells are left out unless the
/// row must be written to its end (`full`).
fn write_row(out: &mut String, pen: &mut Pen, row: &[Cell], cols: usize, full: bool) {
    let cols = cols.min(row.len());
    let end = if full {
        cols
    } else {
        (0..cols)
            .rposition(|col| !is_blank(&row[col]))
            .map_or(0, |last| last + 1)
    };
    for cell in &row[..end] {
        if cell
            .flags
            .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
        {
            // Drawn by the wide character (or, for a leading spacer, by the
            // wrap that moves it to the next row).
            continue;
        }
        set_pen(out, pen, cell);
        write_cell_text(out, cell);
    }
}

fn write_cell_text(out: &mut String, cell: &Cell) {
    out.push(if cell.c == '\0' { ' ' } else { cell.c });
    if let Some(zerowidth) = cell.zerowidth() {
        out.extend(zerowidth);
    }
}

/// A cell a reset terminal already holds: nothing to write.
fn is_blank(cell: &Cell) -> bool {
    cell.c == ' ' && cell.zerowidth().is_none() && Pen::of(cell) == Pen::default()
}

fn row_text(row: &[Cell]) -> String {
    let mut text = String::new();
    for cell in row {
        if cell
            .flags
            .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
        {
            continue;
        }
        write_cell_text(&mut text, cell);
    }
    text.trim_end().to_owned()
}

/// The attributes of the last written cell, so SGR is written only when it
/// changes.
#[derive(Clone, PartialEq)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Option<Color>,
    flags: Flags,
}

impl Default for Pen {
    fn default() -> Self {
        Pen {
            fg: Color::Named(NamedColor::Foreground),
            bg: Color::Named(NamedColor::Background),
            underline: None,
            flags: Flags::empty(),
        }
    }
}

/// The flags SGR sets (not the layout flags of wide characters and wraps).
const STYLE_FLAGS: Flags = Flags::INVERSE
    .union(Flags::BOLD)
    .union(Flags::ITALIC)
    .union(Flags::DIM)
    .union(Flags::HIDDEN)
    .union(Flags::STRIKEOUT)
    .union(Flags::ALL_UNDERLINES);

impl Pen {
    fn of(cell: &Cell) -> Self {
        Pen {
            fg: cell.fg,
            bg: cell.bg,
            underline: cell.underline_color(),
            flags: cell.flags & STYLE_FLAGS,
        }
    }
}

fn same_attrs(a: &Cell, b: &Cell) -> bool {
    Pen::of(a) == Pen::of(b)
}

fn reset_pen(out: &mut String, pen: &mut Pen) {
    if *pen != Pen::default() {
        out.push_str("\x1b[0m");
        *pen = Pen::default();
    }
}

/// Writes the SGR that turns the current pen into the cell's, as one reset
/// and the cell's attributes.
fn set_pen(out: &mut String, pen: &mut Pen, cell: &Cell) {
    let next = Pen::of(cell);
    if next == *pen {
        return;
    }
    let mut sgr = String::from("\x1b[0");
    let flags = next.flags;
    for (flag, code) in [
        (Flags::BOLD, "1"),
        (Flags::DIM, "2"),
        (Flags::ITALIC, "3"),
        (Flags::INVERSE, "7"),
        (Flags::HIDDEN, "8"),
        (Flags::STRIKEOUT, "9"),
    ] {
        if flags.contains(flag) {
            sgr.push(';');
            sgr.push_str(code);
        }
    }
    if flags.contains(Flags::DOUBLE_UNDERLINE) {
        sgr.push_str(";4:2");
    } else if flags.contains(Flags::UNDERCURL) {
        sgr.push_str(";4:3");
    } else if flags.contains(Flags::DOTTED_UNDERLINE) {
        sgr.push_str(";4:4");
    } else if flags.contains(Flags::DASHED_UNDERLINE) {
        sgr.push_str(";4:5");
    } else if flags.contains(Flags::UNDERLINE) {
        sgr.push_str(";4");
    }
    write_color(&mut sgr, next.fg, 30, 90, 38);
    write_color(&mut sgr, next.bg, 40, 100, 48);
    if let Some(color) = next.underline {
        write_color(&mut sgr, color, 0, 0, 58);
    }
    sgr.push('m');
    out.push_str(&sgr);
    *pen = next;
}

/// Appends one colour's SGR parameters (`base` + 0..8 for the eight
/// colours, `bright` + 0..8 for their bright variants, `extended` for 256
/// and true colour); the default colour needs none after the reset.
fn write_color(sgr: &mut String, color: Color, base: u16, bright: u16, extended: u16) {
    match color {
        Color::Named(named) => {
            let index = named as usize;
            if index < 8 && base != 0 {
                let _ = write!(sgr, ";{}", base + index as u16);
            } else if index < 16 && bright != 0 {
                let _ = write!(sgr, ";{}", bright + index as u16 - 8);
            } else if index < 16 {
                let _ = write!(sgr, ";{extended}:5:{index}");
            }
        }
        Color::Indexed(index) => {
            let _ = write!(sgr, ";{extended}:5:{index}");
        }
        Color::Spec(rgb) => {
            let _ = write!(sgr, ";{extended}:2::{}:{}:{}", rgb.r, rgb.g, rgb.b);
        }
    }
}

fn cup(out: &mut String, line: usize, col: usize) {
    let _ = write!(out, "\x1b[{};{}H", line + 1, col + 1);
}

/// The private and ANSI modes that differ from a reset terminal's.
fn write_modes(out: &mut String, mode: TermMode) {
    let default = TermMode::default();
    for (flag, code) in [
        (TermMode::APP_CURSOR, "?1"),
        (TermMode::ORIGIN, "?6"),
        (TermMode::LINE_WRAP, "?7"),
        (TermMode::MOUSE_REPORT_CLICK, "?1000"),
        (TermMode::MOUSE_DRAG, "?1002"),
        (TermMode::MOUSE_MOTION, "?1003"),
        (TermMode::FOCUS_IN_OUT, "?1004"),
        (TermMode::UTF8_MOUSE, "?1005"),
        (TermMode::SGR_MOUSE, "?1006"),
        (TermMode::ALTERNATE_SCROLL, "?1007"),
        (TermMode::BRACKETED_PASTE, "?2004"),
        (TermMode::INSERT, "4"),
        (TermMode::LINE_FEED_NEW_LINE, "20"),
    ] {
        if mode.contains(flag) != default.contains(flag) {
            let set = if mode.contains(flag) { 'h' } else { 'l' };
            let _ = write!(out, "\x1b[{code}{set}");
        }
    }
    if mode.contains(TermMode::APP_KEYPAD) {
        out.push_str("\x1b=");
    }
    if !mode.contains(TermMode::SHOW_CURSOR) {
        out.push_str("\x1b[?25l");
    }
}

fn rgb_spec(rgb: Rgb) -> String {
    format!("rgb:{:02x}/{:02x}/{:02x}", rgb.r, rgb.g, rgb.b)
}

/// The colour a viewer shows for `index` when the program set none: xterm's
/// 256-colour palette and the frontend theme's foreground, background and
/// cursor.
fn default_color(index: usize) -> Rgb {
    const BASE: [(u8, u8, u8); 16] = [
        (0x00, 0x00, 0x00),
        (0xcd, 0x00, 0x00),
        (0x00, 0xcd, 0x00),
        (0xcd, 0xcd, 0x00),
        (0x00, 0x00, 0xee),
        (0xcd, 0x00, 0xcd),
        (0x00, 0xcd, 0xcd),
        (0xe5, 0xe5, 0xe5),
        (0x7f, 0x7f, 0x7f),
        (0xff, 0x00, 0x00),
        (0x00, 0xff, 0x00),
        (0xff, 0xff, 0x00),
        (0x5c, 0x5c, 0xff),
        (0xff, 0x00, 0xff),
        (0x00, 0xff, 0xff),
        (0xff, 0xff, 0xff),
    ];
    match index {
        0..16 => {
            let (r, g, b) = BASE[index];
            Rgb { r, g, b }
        }
        16..232 => {
            let n = index - 16;
            let level = |v: usize| if v == 0 { 0 } else { (55 + v * 40) as u8 };
            Rgb {
                r: level(n / 36),
                g: level((n / 6) % 6),
                b: level(n % 6),
            }
        }
        232..256 => {
            let v = (8 + (index - 232) * 10) as u8;
            Rgb { r: v, g: v, b: v }
        }
        _ if index == NamedColor::Background as usize => BACKGROUND,
        _ if index == NamedColor::Cursor as usize => CURSOR,
        _ => FOREGROUND,
    }
}

/// Finds XTVERSION queries (`CSI > q`, `CSI > 0 q`) across chunk
/// boundaries.
#[derive(Default)]
struct XtVersion {
    /// How much of a query the previous bytes ended with.
    state: u8,
}

impl XtVersion {
    /// The length of `bytes` up to and including the end of the first
    /// query in it, if one ends in it.
    fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        for (index, &byte) in bytes.iter().enumerate() {
            self.state = match (self.state, byte) {
                (_, 0x1b) => 1,
                (1, b'[') => 2,
                (2, b'>') => 3,
                (3, b'0') => 4,
                (3 | 4, b'q') => {
                    self.state = 0;
                    return Some(index + 1);
                }
                _ => 0,
            };
        }
        None
    }
}

/// The terminal with the state this module tracks beside it: every handler
/// call goes to the terminal, and the few whose effect the terminal keeps
/// private are recorded on the way.
struct Tracked<'a> {
    term: &'a mut Term<Listener>,
    extra: &'a mut Extra,
}

impl Tracked<'_> {
    fn alternate_shown(&self) -> bool {
        self.term.mode().contains(TermMode::ALT_SCREEN)
    }

    /// The scroll region's top (inclusive) and bottom (exclusive) rows.
    fn region(&self) -> (usize, usize) {
        self.extra
            .scroll_region
            .unwrap_or((0, self.term.screen_lines()))
    }

    /// Copies the top `count` rows of the primary screen to the history,
    /// as the terminal is about to scroll them off (the alternate screen
    /// keeps no history). Only a region that starts at the top scrolls
    /// rows into history, as in the terminal.
    fn scrolling_off(&mut self, count: usize) {
        let (top, bottom) = self.region();
        if top != 0 || self.alternate_shown() {
            return;
        }
        let grid = self.term.grid_mut();
        for row in 0..count.min(bottom) {
            self.extra.history.take(&mut grid[Line(row as i32)]);
        }
    }

    /// A line feed on the region's last row scrolls its top row off.
    fn before_line_feed(&mut self) {
        if self.at_region_bottom() {
            self.scrolling_off(1);
        }
    }

    /// Whether a line feed now scrolls the region (the cursor is on its
    /// last row).
    fn at_region_bottom(&self) -> bool {
        self.term.grid().cursor.point.line.0 as usize + 1 == self.region().1
    }
}

/// Forwards handler methods to the terminal unchanged.
macro_rules! forward {
    ($( fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*); )*) => {
        $( fn $name(&mut self $(, $arg: $ty)*) { self.term.$name($($arg),*) } )*
    };
}

impl Handler for Tracked<'_> {
    fn set_scrolling_region(&mut self, top: usize, bottom: Option<usize>) {
        let lines = self.term.screen_lines();
        let bottom = bottom.unwrap_or(lines).min(lines);
        let top = top.max(1) - 1;
        if top + 1 < bottom {
            self.extra.scroll_region = (top != 0 || bottom != lines).then_some((top, bottom));
        }
        self.term.set_scrolling_region(top + 1, Some(bottom));
    }

    fn reset_state(&mut self) {
        self.term.reset_state();
        let max = self.extra.history.max;
        *self.extra = Extra {
            history: History::new(max),
            ..Extra::default()
        };
    }

    fn input(&mut self, c: char) {
        let grid = self.term.grid();
        let cursor = &grid.cursor;
        // Most characters land before the last column: no wrap to check.
        if !cursor.input_needs_wrap && cursor.point.column.0 + 1 < grid.columns() {
            self.term.input(c);
            return;
        }
        let width = c.width();
        let wraps_now = cursor.input_needs_wrap && width.is_some_and(|width| width > 0);
        let wide_at_end = !wraps_now && width == Some(2);
        if (wraps_now || wide_at_end)
            && self.term.mode().contains(TermMode::LINE_WRAP)
            && self.at_region_bottom()
        {
            // The wrap marks the cursor's row before scrolling it.
            self.term
                .grid_mut()
                .cursor_cell()
                .flags
                .insert(Flags::WRAPLINE);
            self.scrolling_off(1);
        }
        self.term.input(c);
    }

    fn linefeed(&mut self) {
        self.before_line_feed();
        self.term.linefeed();
    }

    fn newline(&mut self) {
        self.before_line_feed();
        self.term.newline();
    }

    fn scroll_up(&mut self, count: usize) {
        self.scrolling_off(count);
        self.term.scroll_up(count);
    }

    fn delete_lines(&mut self, count: usize) {
        // Deleting lines at the top row scrolls the region from there.
        let origin = self.term.grid().cursor.point.line.0 as usize;
        let count = count.min(self.term.screen_lines() - origin);
        if origin == 0 && count > 0 {
            self.scrolling_off(count);
        }
        self.term.delete_lines(count);
    }

    fn clear_screen(&mut self, mode: ClearMode) {
        match mode {
            // Clearing the primary screen scrolls it up to its last
            // written row.
            ClearMode::All if !self.alternate_shown() => {
                let grid = self.term.grid();
                let written = (0..grid.screen_lines())
                    .rposition(|row| {
                        grid[Line(row as i32)][..]
                            .iter()
                            .any(|cell| !alacritty_terminal::grid::GridCell::is_empty(cell))
                    })
                    .map_or(0, |last| last + 1);
                // As the terminal does: an empty screen with no history
                // yet still scrolls one (blank) row.
                let written = if written == 0 && self.extra.history.rows.is_empty() {
                    1
                } else {
                    written
                };
                for row in 0..written {
                    self.extra.history.push(&grid[Line(row as i32)]);
                }
            }
            ClearMode::Saved => self.extra.history.clear(),
            _ => {}
        }
        self.term.clear_screen(mode);
    }

    fn set_private_mode(&mut self, mode: PrivateMode) {
        let swaps = mode == PrivateMode::Named(NamedPrivateMode::SwapScreenAndSetRestoreCursor);
        if swaps && !self.alternate_shown() {
            let grid = self.term.grid();
            self.extra.primary = Some(SavedPrimary {
                rows: (0..grid.screen_lines())
                    .map(|row| grid[Line(row as i32)].clone())
                    .collect(),
                cursor: grid.cursor.point,
            });
        }
        self.term.set_private_mode(mode);
    }

    fn unset_private_mode(&mut self, mode: PrivateMode) {
        self.term.unset_private_mode(mode);
        if !self.alternate_shown() {
            self.extra.primary = None;
        }
    }

    fn set_title(&mut self, title: Option<String>) {
        self.term.set_title(title);
    }

    forward! {
        fn set_cursor_style(&mut self, style: Option<CursorStyle>);
        fn set_cursor_shape(&mut self, shape: CursorShape);
        fn goto(&mut self, line: i32, col: usize);
        fn goto_line(&mut self, line: i32);
        fn goto_col(&mut self, col: usize);
        fn insert_blank(&mut self, count: usize);
        fn move_up(&mut self, count: usize);
        fn move_down(&mut self, count: usize);
        fn identify_terminal(&mut self, intermediate: Option<char>);
        fn device_status(&mut self, arg: usize);
        fn move_forward(&mut self, col: usize);
        fn move_backward(&mut self, col: usize);
        fn move_down_and_cr(&mut self, row: usize);
        fn move_up_and_cr(&mut self, row: usize);
        fn put_tab(&mut self, count: u16);
        fn backspace(&mut self);
        fn carriage_return(&mut self);
        fn bell(&mut self);
        fn substitute(&mut self);
        fn set_horizontal_tabstop(&mut self);
        fn scroll_down(&mut self, count: usize);
        fn insert_blank_lines(&mut self, count: usize);
        fn erase_chars(&mut self, count: usize);
        fn delete_chars(&mut self, count: usize);
        fn move_backward_tabs(&mut self, count: u16);
        fn move_forward_tabs(&mut self, count: u16);
        fn save_cursor_position(&mut self);
        fn restore_cursor_position(&mut self);
        fn clear_line(&mut self, mode: LineClearMode);
        fn clear_tabs(&mut self, mode: TabulationClearMode);
        fn set_tabs(&mut self, interval: u16);
        fn reverse_index(&mut self);
        fn terminal_attribute(&mut self, attr: Attr);
        fn set_mode(&mut self, mode: Mode);
        fn unset_mode(&mut self, mode: Mode);
        fn report_mode(&mut self, mode: Mode);
        fn report_private_mode(&mut self, mode: PrivateMode);
        fn set_keypad_application_mode(&mut self);
        fn unset_keypad_application_mode(&mut self);
        fn set_active_charset(&mut self, index: CharsetIndex);
        fn configure_charset(&mut self, index: CharsetIndex, charset: StandardCharset);
        fn set_color(&mut self, index: usize, rgb: Rgb);
        fn dynamic_color_sequence(&mut self, prefix: String, index: usize, terminator: &str);
        fn reset_color(&mut self, index: usize);
        fn clipboard_store(&mut self, clipboard: u8, data: &[u8]);
        fn clipboard_load(&mut self, clipboard: u8, terminator: &str);
        fn decaln(&mut self);
        fn push_title(&mut self);
        fn pop_title(&mut self);
        fn text_area_size_pixels(&mut self);
        fn text_area_size_chars(&mut self);
        fn set_hyperlink(&mut self, link: Option<Hyperlink>);
        fn report_keyboard_mode(&mut self);
        fn push_keyboard_mode(&mut self, mode: KeyboardModes);
        fn pop_keyboard_modes(&mut self, to_pop: u16);
        fn set_keyboard_mode(&mut self, mode: KeyboardModes, behavior: KeyboardModesApplyBehavior);
        fn set_modify_other_keys(&mut self, mode: ModifyOtherKeys);
        fn report_modify_other_keys(&mut self);
        fn set_scp(&mut self, char_path: ScpCharPath, update_mode: ScpUpdateMode);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
