"""Line diffs of expected and actual text: a short summary for the failure message, HTML for log.html."""

from __future__ import annotations

import difflib
import html

# Diff lines rendered into log.html; a huge log must not make the log unreadable.
MAX_DIFF_LINES = 2000
# Characters of a line quoted in the failure message.
MAX_QUOTE = 200
NO_NEWLINE = "\\ No newline at end of text"

_STYLES = {
    "+": "color:#0a5c0a;background:#e6ffec",
    "-": "color:#a40e26;background:#ffebe9",
    "@": "color:#0550ae;background:#ddf4ff",
    "\\": "color:#6e7781;font-style:italic",
}


def _lines(text: str) -> list[str]:
    # Line ends are kept so that a missing final newline or CRLF counts as a difference.
    return text.splitlines(keepends=True)


def unified_diff(
    expected: str, actual: str, expected_name: str = "expected", actual_name: str = "actual", context: int = 3
) -> list[str]:
    """The unified diff, one entry per line, without line ends; a line lacking its newline is flagged."""
    out = []
    for line in difflib.unified_diff(_lines(expected), _lines(actual), expected_name, actual_name, n=context):
        body = line.rstrip("\r\n")
        out.append(body)
        if line[:1] in "+- " and not line.startswith(("+++", "---")) and not line.endswith("\n"):
            out.append(NO_NEWLINE)
    return out


def diff_html(diff: list[str], max_lines: int = MAX_DIFF_LINES) -> str:
    """``diff`` as preformatted HTML with removed lines red, added lines green, hunk headers blue."""
    rows = []
    for line in diff[:max_lines]:
        style = "font-weight:bold" if line.startswith(("+++", "---")) else _STYLES.get(line[:1])
        escaped = html.escape(line)
        rows.append(f'<span style="{style}">{escaped}</span>' if style else escaped)
    if len(diff) > max_lines:
        rows.append(f"<i>... {len(diff) - max_lines} more diff lines not shown</i>")
    return '<pre style="line-height:1.3">' + "\n".join(rows) + "</pre>"


def count_differing_lines(expected: str, actual: str) -> int:
    """Lines changed, added or removed: a changed line counts once."""
    matcher = difflib.SequenceMatcher(None, _lines(expected), _lines(actual), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


def first_difference(expected: str, actual: str) -> str:
    """``line 3: expected 'b\\n' but got 'c\\n'``, quoting with escapes so whitespace shows."""
    a, b = _lines(expected), _lines(actual)
    for number, (left, right) in enumerate(zip(a, b, strict=False), start=1):
        if left != right:
            return f"line {number}: expected {_quote(left)} but got {_quote(right)}"
    if len(a) > len(b):
        return f"line {len(b) + 1}: expected {_quote(a[len(b)])} but the text ends"
    if len(b) > len(a):
        return f"line {len(a) + 1}: expected the end of the text but got {_quote(b[len(a)])}"
    return "none"


def summary(expected: str, actual: str, what: str = "Text") -> str:
    """One sentence for the failure message: how many lines differ and where the first one is."""
    count = count_differing_lines(expected, actual)
    return (
        f"{what} differs from the expected text in {count} line{'s' if count != 1 else ''}; "
        f"first difference at {first_difference(expected, actual)}."
    )


def _quote(line: str) -> str:
    quoted = repr(line)
    return quoted if len(quoted) <= MAX_QUOTE else quoted[:MAX_QUOTE] + "...'"
