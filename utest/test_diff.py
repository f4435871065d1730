from nomadtest import diff

EXPECTED = "Hello from crunjar!\nargs: a b\njava.version: 17\n"


def test_unified_diff_from_expected_to_actual():
    actual = "Hello from crunjar!\nargs: a c\njava.version: 17\n"
    assert diff.unified_diff(EXPECTED, actual, "expected", "stdout") == [
        "--- expected",
        "+++ stdout",
        "@@ -1,3 +1,3 @@",
        " Hello from crunjar!",
        "-args: a b",
        "+args: a c",
        " java.version: 17",
    ]


def test_missing_final_newline_is_visible():
    lines = diff.unified_diff("a\nb\n", "a\nb")
    assert lines[-3:] == ["-b", "+b", diff.NO_NEWLINE]


def test_html_escapes_and_colours_lines():
    html = diff.diff_html(["--- expected", "+++ actual", "@@ -1 +1 @@", "-<b>old</b>", "+<script>x</script>", " same"])
    assert html.startswith("<pre") and html.endswith("</pre>")
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert '<span style="color:#a40e26;background:#ffebe9">-&lt;b&gt;old&lt;/b&gt;</span>' in html
    assert '<span style="color:#0a5c0a;background:#e6ffec">+&lt;script&gt;' in html
    assert '<span style="color:#0550ae;background:#ddf4ff">@@ -1 +1 @@</span>' in html
    assert '<span style="font-weight:bold">--- expected</span>' in html
    assert "\n same" in html


def test_long_diffs_are_cut_with_a_note():
    html = diff.diff_html([f"+{number}" for number in range(10)], max_lines=4)
    assert html.count("<span") == 4 and "6 more diff lines not shown" in html


def test_changed_line_counts_once_and_insertions_count_each():
    assert diff.count_differing_lines("a\nb\nc\n", "a\nX\nc\n") == 1
    assert diff.count_differing_lines("a\nc\n", "a\nb1\nb2\nc\n") == 2
    assert diff.count_differing_lines("a\n", "a\n") == 0


def test_first_difference_quotes_with_visible_whitespace():
    assert diff.first_difference("a\nb \n", "a\nb\n") == "line 2: expected 'b \\n' but got 'b\\n'"
    assert diff.first_difference("a\nb\n", "a\n") == "line 2: expected 'b\\n' but the text ends"
    assert diff.first_difference("a\n", "a\nmore\n") == "line 2: expected the end of the text but got 'more\\n'"
    assert diff.first_difference("a\r\n", "a\n") == "line 1: expected 'a\\r\\n' but got 'a\\n'"


def test_summary_sentence():
    assert diff.summary("a\nb\nc\n", "a\nx\ny\n", "Stdout of task 'app'") == (
        "Stdout of task 'app' differs from the expected text in 2 lines; "
        "first difference at line 2: expected 'b\\n' but got 'x\\n'."
    )
    assert "in 1 line;" in diff.summary("a", "b")


def test_very_long_lines_are_shortened_in_the_message():
    quoted = diff.first_difference("x" * 500, "y")
    assert len(quoted) < 300 and quoted.endswith("...' but got 'y'")
