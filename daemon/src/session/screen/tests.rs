//! The model against itself: a stream fed into model A, A's snapshot fed
//! into a fresh model B, and B must equal A cell by cell, in cursor, modes,
//! scroll region and title; then the same continuation fed into both must
//! keep them equal (which catches state a snapshot forgot). Run on the
//! synthetic streams here and on every recording in
//! `daemon/tests/terminal-corpus/`, whole and cut at random chunk
//! boundaries.

use std::path::PathBuf;

use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::TermMode;
use alacritty_terminal::term::cell::Flags;
use flotilla_protocol::TermSize;

use super::*;

const SIZE: TermSize = TermSize { cols: 80, rows: 24 };

/// What must survive a snapshot; `Err` names the first difference.
fn compare(a: &Screen, b: &Screen) -> Result<(), String> {
    if a.size() != b.size() {
        return Err(format!("size {:?} vs {:?}", a.size(), b.size()));
    }
    let (ga, gb) = (a.term.grid(), b.term.grid());
    let modes = TermMode::SHOW_CURSOR
        | TermMode::APP_CURSOR
        | TermMode::APP_KEYPAD
        | TermMode::MOUSE_MODE
        | TermMode::SGR_MOUSE
        | TermMode::UTF8_MOUSE
        | TermMode::FOCUS_IN_OUT
        | TermMode::BRACKETED_PASTE
        | TermMode::LINE_WRAP
        | TermMode::ORIGIN
        | TermMode::INSERT
        | TermMode::LINE_FEED_NEW_LINE
        | TermMode::ALT_SCREEN
        | TermMode::ALTERNATE_SCROLL;
    let (ma, mb) = (*a.term.mode() & modes, *b.term.mode() & modes);
    if ma != mb {
        return Err(format!("modes {ma:?} vs {mb:?}"));
    }
    for line in 0..ga.screen_lines() {
        for col in 0..ga.columns() {
            let (ca, cb) = (
                &ga[Line(line as i32)][Column(col)],
                &gb[Line(line as i32)][Column(col)],
            );
            // The last row's wrap flag has no next row to matter for.
            let layout = if line + 1 == ga.screen_lines() {
                Flags::WRAPLINE
            } else {
                Flags::empty()
            };
            if ca.c != cb.c
                || ca.fg != cb.fg
                || ca.bg != cb.bg
                || (ca.flags - layout) != (cb.flags - layout)
                || ca.zerowidth() != cb.zerowidth()
                || ca.underline_color() != cb.underline_color()
            {
                return Err(format!(
                    "cell {line},{col}: {:?} {:?} {:?} {:?} {:?} vs {:?} {:?} {:?} {:?} {:?}\nA: {:#?}\nB: {:#?}",
                    ca.c,
                    ca.fg,
                    ca.bg,
                    ca.flags,
                    ca.zerowidth(),
                    cb.c,
                    cb.fg,
                    cb.bg,
                    cb.flags,
                    cb.zerowidth(),
                    a.text(),
                    b.text()
                ));
            }
        }
    }
    if ga.cursor.point != gb.cursor.point {
        return Err(format!(
            "cursor {:?} vs {:?}",
            ga.cursor.point, gb.cursor.point
        ));
    }
    if ga.cursor.input_needs_wrap != gb.cursor.input_needs_wrap {
        return Err("pending wrap differs".into());
    }
    if a.extra.scroll_region != b.extra.scroll_region {
        return Err(format!(
            "scroll region {:?} vs {:?}",
            a.extra.scroll_region, b.extra.scroll_region
        ));
    }
    if a.title() != b.title() {
        return Err(format!("title {:?} vs {:?}", a.title(), b.title()));
    }
    Ok(())
}

/// Bytes that move both models on from their state, so forgotten state
/// (saved primary screen, scroll region, origin mode, autowrap, pending
/// wrap, saved cursor) shows: text that wraps, lines that scroll, a
/// restore of the saved cursor, then leaving the alternate screen.
const CONTINUATION: &[u8] = b"Xy\r\nline one\r\nline two\r\n\x1b8Z\x1b[?1049l\
after alt screen 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789\r\n\n\n";

fn round_trip(name: &str, stream: &[u8], chunks: &[usize]) {
    let mut a = Screen::new(SIZE, DEFAULT_SCROLLBACK_LINES);
    let mut rest = stream;
    for &len in chunks {
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        a.feed(chunk);
        rest = tail;
    }
    a.feed(rest);
    let snapshot = a.snapshot(SNAPSHOT_SCROLLBACK_BUDGET);
    let mut b = Screen::new(a.size(), DEFAULT_SCROLLBACK_LINES);
    b.feed(&snapshot);
    if let Err(difference) = compare(&a, &b) {
        panic!("{name}: snapshot differs: {difference}");
    }
    let history = a.scrollback_text();
    let kept = b.scrollback_text();
    assert!(
        history.ends_with(&kept) && kept.len() >= history.len().min(100),
        "{name}: scrollback: {} rows sent of {}",
        kept.len(),
        history.len()
    );
    a.feed(CONTINUATION);
    b.feed(CONTINUATION);
    if let Err(difference) = compare(&a, &b) {
        panic!("{name}: differs after the continuation: {difference}");
    }
}

/// Deterministic chunk lengths (xorshift), so a failure is repeatable.
fn random_cuts(seed: u64, total: usize) -> Vec<usize> {
    let mut state = seed.max(1);
    let mut cuts = Vec::new();
    let mut covered = 0;
    while covered < total {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = 1 + (state % 97) as usize;
        cuts.push(len);
        covered += len;
    }
    cuts
}

fn synthetic() -> Vec<(&'static str, Vec<u8>)> {
    let mut colours = Vec::new();
    for (i, sgr) in [
        "1",
        "2",
        "3",
        "4",
        "4:3",
        "7",
        "8",
        "9",
        "31",
        "42",
        "91",
        "104",
        "38;5;123",
        "48;5;200",
        "38;2;10;20;30",
        "48;2;200;100;50",
        "1;3;4;38;5;9",
        "58;5;3;4",
    ]
    .iter()
    .enumerate()
    {
        colours.extend_from_slice(format!("\x1b[{sgr}m sample {i} \x1b[0m\r\n").as_bytes());
    }
    colours.extend_from_slice(b"\x1b[44m\x1b[K blue to the end\x1b[0m\r\n");
    let mut long = Vec::new();
    for i in 0..400 {
        long.extend_from_slice(
            format!("\x1b[3{}mline {i:04}\x1b[0m scrolling\r\n", i % 8).as_bytes(),
        );
    }
    let mut backgrounds = Vec::new();
    for i in 0..60 {
        backgrounds.extend_from_slice(format!("\x1b[4{}m row {i} \x1b[K\r\n", i % 8).as_bytes());
    }
    backgrounds.extend_from_slice(b"\x1b[0mplain");
    vec![
        ("colours", colours),
        ("backgrounds scrolled into history", backgrounds),
        ("scrollback", long),
        (
            "alternate screen",
            b"primary text\r\nmore primary\x1b[?1049h\x1b[Halt screen\r\n\x1b[7mvim-like\x1b[0m".to_vec(),
        ),
        (
            "scroll region with origin mode",
            b"top\r\n\x1b[5;20r\x1b[?6h\x1b[3;4Hinside\r\nnext\x1b7".to_vec(),
        ),
        (
            "wide, combining and emoji",
            "日本語 e\u{301} a\u{308} 👍🏽 👨‍👩‍👧 🇫🇷 end\r\n".as_bytes().to_vec(),
        ),
        (
            "modes left on",
            b"\x1b[?2004h\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?1h\x1b=\x1b[?7l\x1b[?25l\x1b]2;the title\x07\x1b[4 q\x1b]4;1;rgb:12/34/56\x07text"
                .to_vec(),
        ),
        (
            "pending wrap",
            "x".repeat(80).into_bytes(),
        ),
        (
            "a wrapped line",
            format!("{}tail\r\n", "w".repeat(100)).into_bytes(),
        ),
        (
            "saved cursor",
            b"\x1b[31m\x1b[5;7H\x1b7\x1b[0m\x1b[10;1Hmoved".to_vec(),
        ),
        (
            "wide char at the margin",
            format!("{}日本", "n".repeat(79)).into_bytes(),
        ),
    ]
}

#[test]
fn snapshots_reproduce_the_synthetic_streams() {
    for (name, stream) in synthetic() {
        round_trip(name, &stream, &[]);
        for seed in 1..=5 {
            round_trip(name, &stream, &random_cuts(seed, stream.len()));
        }
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/terminal-corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "bin"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read a corpus file");
            (path.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn snapshots_reproduce_the_recorded_corpus() {
    for (name, stream) in corpus() {
        round_trip(&name, &stream, &[]);
        round_trip(&name, &stream, &random_cuts(7, stream.len()));
    }
}

#[test]
fn queries_are_answered_from_the_model_in_order() {
    let mut screen = Screen::new(SIZE, 100);
    let replies =
        screen.feed(b"ab\x1b[c\x1b[3;5H\x1b[6n\x1b[>c\x1b[5n\x1b[>q\x1b]11;?\x07\x1b[?2004$p");
    let text = String::from_utf8(replies).unwrap();
    assert_eq!(
        text,
        concat!(
            "\x1b[?6c",
            "\x1b[3;5R",
            "\x1b[>0;2600;1c",
            "\x1b[0n",
            "\x1bP>|flotilla ",
            env!("CARGO_PKG_VERSION"),
            "\x1b\\",
            "\x1b]11;rgb:0b0b/0f0f/1414\x07",
            "\x1b[?2004;2$y",
        )
    );
}

#[test]
fn a_query_split_across_chunks_is_answered_once_with_the_cursor_of_its_end() {
    let mut screen = Screen::new(SIZE, 100);
    let stream = b"hello\x1b[6n world\x1b[>q";
    let mut replies = Vec::new();
    for byte in stream {
        replies.extend(screen.feed(std::slice::from_ref(byte)));
    }
    let text = String::from_utf8(replies).unwrap();
    assert!(text.starts_with("\x1b[1;6R\x1bP>|flotilla "), "{text:?}");
    assert_eq!(text.matches("\x1bP>|").count(), 1);
}

#[test]
fn a_snapshot_stays_within_its_budget_however_long_the_history() {
    let mut screen = Screen::new(SIZE, DEFAULT_SCROLLBACK_LINES);
    let line = format!("\x1b[1;32m{}\x1b[0m\r\n", "0123456789".repeat(7));
    for _ in 0..20_000 {
        screen.feed(line.as_bytes());
    }
    assert_eq!(screen.scrollback_text().len(), DEFAULT_SCROLLBACK_LINES);
    let snapshot = screen.snapshot(SNAPSHOT_SCROLLBACK_BUDGET);
    assert!(
        snapshot.len() <= SNAPSHOT_SCROLLBACK_BUDGET + 32 * 1024,
        "{} bytes",
        snapshot.len()
    );
    let mut b = Screen::new(SIZE, DEFAULT_SCROLLBACK_LINES);
    b.feed(&snapshot);
    compare(&screen, &b).unwrap();
}

/// The terminal as it keeps history itself, for [`History`] to be
/// compared with.
fn reference(size: TermSize) -> (Term<Listener>, Processor<NoSync>) {
    let config = Config {
        scrolling_history: DEFAULT_SCROLLBACK_LINES,
        ..Config::default()
    };
    let term = Term::new(config, &Size(size), Listener(Arc::default()));
    (term, Processor::new())
}

/// The history rows of the terminal's own grid, trimmed as [`History`]
/// keeps them.
fn reference_history(term: &Term<Listener>) -> Vec<Vec<Cell>> {
    let grid = term.grid();
    (1..=grid.history_size() as i32)
        .rev()
        .map(|back| {
            let cells = &grid[Line(-back)][..];
            cells[..trimmed(cells)].to_vec()
        })
        .collect()
}

/// A row's length up to its last cell that is not blank.
fn trimmed(cells: &[Cell]) -> usize {
    cells
        .iter()
        .rposition(|cell| !is_blank(cell))
        .map_or(0, |last| last + 1)
}

fn same_cell(a: &Cell, b: &Cell) -> bool {
    a.c == b.c
        && a.fg == b.fg
        && a.bg == b.bg
        && a.flags == b.flags
        && a.zerowidth() == b.zerowidth()
        && a.underline_color() == b.underline_color()
}

/// Streams that scroll rows off the top in every way the terminal does.
fn scrolling() -> Vec<(&'static str, Vec<u8>)> {
    let mut lines = Vec::new();
    for i in 0..40 {
        lines.extend_from_slice(format!("\x1b[3{}mrow {i}\x1b[0m\r\n", i % 8).as_bytes());
    }
    let with = |tail: &[u8]| {
        let mut stream = lines.clone();
        stream.extend_from_slice(tail);
        stream
    };
    vec![
        ("line feeds", lines.clone()),
        ("scroll up (CSI S)", with(b"\x1b[5S")),
        ("scroll up more than the screen", with(b"\x1b[50S")),
        ("delete lines at the top", with(b"\x1b[H\x1b[3M")),
        ("delete lines below the top", with(b"\x1b[4H\x1b[3M")),
        ("clear the screen", with(b"\x1b[2J")),
        ("clear the scrollback", with(b"\x1b[3Jafter\r\n")),
        ("reset", with(b"\x1bcafter\r\n")),
        (
            "a region from the top",
            with(b"\x1b[1;10r\x1b[10H\n\n\nx\x1b[2S"),
        ),
        (
            "a region below the top",
            with(b"\x1b[5;10r\x1b[10H\n\n\n\x1b[2S"),
        ),
        ("index and next line", with(b"\x1b[24H\x1bD\x1bE")),
        (
            "wrapping at the bottom",
            with(format!("\x1b[24H{}", "w".repeat(200)).as_bytes()),
        ),
        (
            "a wide character at the margin at the bottom",
            with(format!("\x1b[24H{}日本", "n".repeat(79)).as_bytes()),
        ),
        (
            "the alternate screen keeps none",
            with(b"\x1b[?1049h\x1b[24H\n\n\n\x1b[5S\x1b[?1049l\n"),
        ),
        (
            "no wrapping",
            with(format!("\x1b[?7l\x1b[24H{}", "z".repeat(200)).as_bytes()),
        ),
    ]
}

#[test]
fn the_history_is_what_the_terminal_itself_would_keep() {
    let mut streams = scrolling();
    streams.extend(synthetic());
    let corpus = corpus();
    let streams = streams
        .iter()
        .map(|(name, stream)| (name.to_string(), stream.as_slice()))
        .chain(
            corpus
                .iter()
                .map(|(name, stream)| (name.clone(), stream.as_slice())),
        );
    for (name, stream) in streams {
        let mut screen = Screen::new(SIZE, DEFAULT_SCROLLBACK_LINES);
        screen.feed(stream);
        let (mut term, mut parser) = reference(SIZE);
        parser.advance(&mut term, stream);
        // The terminal shows only the screen in use's history.
        if term.mode().contains(TermMode::ALT_SCREEN) {
            screen.feed(b"\x1b[?1049l");
            parser.advance(&mut term, b"\x1b[?1049l");
        }
        let expected = reference_history(&term);
        let kept: Vec<&[Cell]> = screen
            .extra
            .history
            .rows
            .iter()
            .map(|row| &row[..][..trimmed(&row[..])])
            .collect();
        assert_eq!(kept.len(), expected.len(), "{name}: history rows");
        for (index, (ours, theirs)) in kept.iter().zip(&expected).enumerate() {
            let same =
                ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(a, b)| same_cell(a, b));
            assert!(
                same,
                "{name}: history row {index}: {:?} vs {:?}",
                row_text(ours),
                row_text(theirs)
            );
        }
        assert_eq!(screen.text(), term_text(&term), "{name}: the screen");
    }
}

fn term_text(term: &Term<Listener>) -> Vec<String> {
    let grid = term.grid();
    (0..grid.screen_lines())
        .map(|row| row_text(&grid[Line(row as i32)][..]))
        .collect()
}

#[test]
fn rows_a_resize_pushes_off_the_screen_go_to_the_history() {
    let mut stream = Vec::new();
    for i in 0..23 {
        stream.extend_from_slice(format!("{i:02} {}\r\n", "r".repeat(60)).as_bytes());
    }
    stream.extend_from_slice(b"prompt$ ");
    let smaller = TermSize { cols: 40, rows: 10 };
    let mut screen = Screen::new(SIZE, DEFAULT_SCROLLBACK_LINES);
    screen.feed(&stream);
    screen.resize(smaller);
    let (mut term, mut parser) = reference(SIZE);
    parser.advance(&mut term, &stream);
    term.resize(Size(smaller));
    // Every character is still there, in order, history then screen.
    let squeeze = |rows: Vec<String>| rows.concat().replace(' ', "");
    let ours = squeeze([screen.scrollback_text(), screen.text()].concat());
    let history: Vec<String> = reference_history(&term)
        .iter()
        .map(|row| row_text(row))
        .collect();
    let theirs = squeeze([history, term_text(&term)].concat());
    assert_eq!(ours, theirs);
    assert!(
        ours.starts_with("00") && ours.ends_with("prompt$"),
        "{ours}"
    );
    assert_eq!(screen.size(), smaller);
}

#[test]
fn an_idle_session_allocates_no_history_ahead() {
    // The terminal's own grid allocates a thousand full rows on the first
    // scroll; this history holds only the rows that scrolled off.
    let mut screen = Screen::new(SIZE, DEFAULT_SCROLLBACK_LINES);
    for i in 0..48 {
        screen.feed(format!("line {i}\r\n").as_bytes());
    }
    assert_eq!(screen.term.grid().history_size(), 0);
    let rows = &screen.extra.history.rows;
    assert_eq!(rows.len(), 25);
    let cells: usize = rows.iter().map(|row| row.len()).sum();
    assert_eq!(cells, 25 * 80, "{cells} cells kept");
}
