"""Text from nodes made safe for a terminal: control sequences out, the text itself kept.

Anything a node says (its Nautilus log with colour codes, a strategy's log line, a venue's
rejection reason) reaches the screen as text. Written raw, ``\\x1b[36m…`` recolours and
moves the cursor past pane borders, and any log line could send a terminal a sequence of
its choosing. :func:`plain` removes ANSI/VT escape sequences (CSI, OSC, DCS and the
rest), C0/C1 control characters and bidirectional overrides, and makes tabs and line
breaks spaces (or keeps line breaks where a text may span lines). It is pure, with no
imports beyond ``re``: the CLI or any other front end can call it too.
"""

from __future__ import annotations

import re

_SEQUENCES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]?            # CSI: colours, cursor moves, erases
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?  # OSC: window titles, hyperlinks, clipboard
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?       # DCS, SOS, PM, APC ... ST
    | \x1b[ -/]*[0-~]?                    # any other escape (charsets, keypad modes)
    | \x9b[0-?]*[ -/]*[@-~]?              # the 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f][^\x9c\x07]*[\x9c\x07]?  # 8-bit DCS/SOS/OSC/PM/APC ... ST
    """,
    re.VERBOSE,
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
# C0 (but tab and line feed) and DEL and C1, bidi embeddings, overrides and isolates.
_DROP = dict.fromkeys(
    [
        *range(0x00, 0x09),
        *range(0x0B, 0x20),
        0x7F,
        *range(0x80, 0xA0),
        *(0x200E, 0x200F),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)


def plain(text: str, *, one_line: bool = True) -> str:
    """Return ``text`` without control sequences or characters a terminal would act on.

    Line breaks become spaces (``one_line``) or ``\\n``; tabs become a space.
    """
    if text.isprintable():  # the common case, at C speed
        return text
    text = _SEQUENCES.sub("", text)
    text = _LINE_BREAKS.sub(" " if one_line else "\n", text)
    return text.replace("\t", " ").translate(_DROP)
