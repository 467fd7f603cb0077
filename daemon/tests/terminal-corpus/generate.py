#!/usr/bin/env python3
"""Writes the synthetic streams of the terminal corpus (80x24, xterm-256color).

Each stream is built to leave one kind of state behind at its end, so that a
snapshot that forgets that state shows up in the benchmark's continuation
check (daemon/benches/screen_models.rs). Run from anywhere:

    python3 daemon/tests/terminal-corpus/generate.py

Python 3.11 standard library only; the output is deterministic.
"""

import pathlib

HERE = pathlib.Path(__file__).resolve().parent
ESC = "\x1b"
CSI = ESC + "["
OSC = ESC + "]"
BEL = "\x07"
COLS = 80


def sgr() -> str:
    """Every SGR attribute and 16/256/true colour, foreground and background."""
    out = [CSI + "H" + CSI + "2J"]
    attributes = [
        ("1", "bold"),
        ("2", "dim"),
        ("3", "italic"),
        ("4", "underline"),
        ("7", "inverse"),
        ("9", "strikethrough"),
        ("8", "hidden"),
        ("1;3;4;7", "bold+italic+underline+inverse"),
    ]
    out.append(" ".join(f"{CSI}{code}m{name}{CSI}0m" for code, name in attributes[:4]))
    out.append("\r\n")
    out.append(" ".join(f"{CSI}{code}m{name}{CSI}0m" for code, name in attributes[4:]))
    out.append("\r\n")
    # 16 colours: 30-37, 90-97 foreground; 40-47, 100-107 background.
    out.append("".join(f"{CSI}{30 + i}mF{i}" for i in range(8)))
    out.append("".join(f"{CSI}{90 + i}mB{i}" for i in range(8)) + CSI + "0m\r\n")
    out.append("".join(f"{CSI}{40 + i}m b{i}" for i in range(8)))
    out.append("".join(f"{CSI}{100 + i}m B{i}" for i in range(8)) + CSI + "0m\r\n")
    # 256 colours, 32 to a row, alternating foreground and background.
    for row in range(8):
        for i in range(row * 32, row * 32 + 32):
            kind = "38" if i % 2 else "48"
            out.append(f"{CSI}{kind};5;{i}m{'#' if kind == '38' else ' '}")
        out.append(CSI + "0m\r\n")
    # True colour ramps.
    for row in range(4):
        for col in range(COLS // 2):
            red = col * 6
            green = row * 60
            blue = 255 - col * 6
            out.append(f"{CSI}38;2;{red};{green};{blue}m{CSI}48;2;{blue};{red};{green}m*")
        out.append(CSI + "0m\r\n")
    # A pen left set at the end: bold red on 256-colour blue.
    out.append(f"{CSI}1;31;48;5;19mpen left set")
    return "".join(out)


def altscreen() -> str:
    """Primary content, then the alternate screen (1049) left active."""
    out = [CSI + "H" + CSI + "2J"]
    for i in range(10):
        out.append(f"primary line {i} {CSI}32msaved{CSI}0m\r\n")
    out.append("primary prompt$ ")
    out.append(CSI + "?1049h" + CSI + "H" + CSI + "2J")
    out.append(f"{CSI}7m alternate screen header {CSI}0m")
    for i in range(2, 22):
        out.append(f"{CSI}{i};1H~ alt row {i}")
    out.append(CSI + "5;10H")
    return "".join(out)


def scroll_region() -> str:
    """DECSTBM 5..15 with origin mode, scrolled inside, left active at the end."""
    out = [CSI + "H" + CSI + "2J"]
    for row in range(1, 25):
        out.append(f"{CSI}{row};1Hfixed row {row}")
    out.append(CSI + "5;15r")
    out.append(CSI + "?6h")
    # With origin mode, row 1 is the region's top (screen row 5).
    out.append(CSI + "1;1H" + CSI + "J")
    for i in range(20):
        out.append(f"region line {i}\r\n")
    out.append(CSI + "3;4H" + "origin")
    return "".join(out)


def unicode() -> str:
    """Wide chars, combining marks, emoji with ZWJ and flags, one kind a row."""
    rows = [
        "wide: 日本語 中文 한국어 ｆｕｌｌ",
        "combining: e\u0301 a\u0308 n\u0303 o\u0302\u0323 x",
        "emoji: 😀 🎉 👍🏽",
        "zwj: 👩\u200d💻 👨\u200d👩\u200d👧 x",
        "flags: 🇯🇵 🇫🇷 x",
        # A wide char that does not fit at the margin wraps to the next line.
        "." * 79 + "語",
    ]
    return CSI + "H" + CSI + "2J" + "\r\n".join(rows)


def modes() -> str:
    """Input and output modes switched on and left on at the end."""
    return "".join(
        [
            CSI + "H" + CSI + "2J",
            OSC + "2;corpus title" + BEL,
            CSI + "?2004h",  # bracketed paste
            CSI + "?1000h" + CSI + "?1002h" + CSI + "?1006h",  # mouse, SGR encoding
            CSI + "?1h",  # application cursor keys
            ESC + "=",  # application keypad
            CSI + "?7l",  # autowrap off
            CSI + "?25l",  # cursor hidden
            "modes: paste 2004, mouse 1000/1002/1006, DECCKM, DECKPAM, no autowrap",
            CSI + "3;1H",
            "x" * 100,  # with autowrap off the tail overwrites the last column
        ]
    )


def pending_wrap() -> str:
    """A line that ends exactly at the right margin, leaving the wrap pending."""
    return CSI + "H" + CSI + "2J" + "first line\r\n" + "".join(
        chr(ord("a") + i % 26) for i in range(COLS)
    )


STREAMS = {
    "sgr": sgr,
    "altscreen": altscreen,
    "scroll-region": scroll_region,
    "unicode": unicode,
    "modes": modes,
    "pending-wrap": pending_wrap,
}


def main() -> None:
    for name, build in STREAMS.items():
        (HERE / f"{name}.bin").write_bytes(build().encode("utf-8"))


if __name__ == "__main__":
    main()
