//! The golden vectors of the stream cursor, shared with the frontend.

use serde::Deserialize;

use super::*;

/// The vectors file; `frontend/src/frames.test.ts` runs the same cases.
const VECTORS: &str = include_str!("../../tests/vectors/stream_cursor.json");

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

/// One case; numbers are decimal strings so JavaScript reads them exactly.
#[derive(Deserialize)]
struct Case {
    name: String,
    cursor: String,
    offset: String,
    len: String,
    expect: Expect,
    after: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Expect {
    Append { skip: String },
    Duplicate,
    Gap { missing: String },
    OffsetOverflow,
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> T {
    text.parse()
        .unwrap_or_else(|_| panic!("{name}: {text:?} is not a number of the right size"))
}

fn check(case: &Case) {
    let name = &case.name;
    let mut cursor = StreamCursor::at(number(name, &case.cursor));
    let outcome = cursor.advance(number(name, &case.offset), number(name, &case.len));
    let expect = match &case.expect {
        Expect::Append { skip } => Advance::Append {
            skip: number(name, skip),
        },
        Expect::Duplicate => Advance::Duplicate,
        Expect::Gap { missing } => Advance::Gap {
            missing: number(name, missing),
        },
        Expect::OffsetOverflow => Advance::OffsetOverflow,
    };
    assert_eq!(outcome, expect, "{name}");
    assert_eq!(cursor.offset(), number::<u64>(name, &case.after), "{name}");
}

#[test]
fn golden_vectors() {
    let vectors: Vectors = serde_json::from_str(VECTORS).unwrap();
    assert!(vectors.cases.len() >= 20, "the vectors file lost cases");
    for case in &vectors.cases {
        check(case);
    }
}

#[test]
fn a_new_cursor_is_at_the_start_of_the_stream() {
    assert_eq!(StreamCursor::new(), StreamCursor::at(0));
    assert_eq!(StreamCursor::default().offset(), 0);
}
