"""Tests the HTML subset of real decks: plain text for search, styled spans for terminals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core.html import media_references, strip_html, to_spans


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain", "plain"),
        ("  lots   of\tspace  ", "lots of space"),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        ("a<br>b<br/>c<BR />d", "a\nb\nc\nd"),
        ("<div>one</div><div>two</div>", "one\ntwo"),
        ("<div>a</div><div><br></div><div>b</div>", "a\nb"),  # blank lines collapse
        ("<p>para</p>after", "para\nafter"),
        ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
        ("<DIV>upper</DIV>case", "upper\ncase"),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#39;s&#39; &eacute;", "<tag> & \"q\" 's' é"),
        ("a&nbsp;b", "a b"),
        ("&amp;lt;", "&lt;"),  # decoded once, not twice
        ("[sound:clip.mp3]", "[sound:clip.mp3]"),
        ('dog <img src="dog.png">', "dog"),
        ('<a href="x>y">link</a>', "link"),  # ">" inside a quoted attribute
        ("<script>alert(1)</script>safe<style>b{}</style>", "safe"),
        ("a<!-- hidden -->b", "ab"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),  # a bare "<" is text, not a tag
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ("<span style='color: red'>red</span>", "red"),
        ("<pre>x\n   y</pre>", "x\ny"),
    ],
)
def test_strip_html(html, text):
    assert strip_html(html) == text


@pytest.mark.parametrize(
    ("html", "spans"),
    [
        ("", []),
        ("plain", [("plain", "")]),
        ("<b>b</b><strong>s</strong>", [("bs", "bold")]),  # adjacent equal styles merge
        ("<i>i</i> <em>e</em>", [("i", "italic"), (" ", ""), ("e", "italic")]),
        ("<u>u</u>", [("u", "underline")]),
        ("<s>a</s><strike>b</strike><del>c</del>", [("abc", "strike")]),
        ("<code>x</code> <kbd>k</kbd>", [("x", "bold cyan"), (" ", ""), ("k", "bold cyan")]),
        (
            "<b>bold <i>both</i></b> plain",
            [("bold ", "bold"), ("both", "bold italic"), (" plain", "")],
        ),
        ("<b><b>twice</b></b>", [("twice", "bold")]),  # a style word appears once
        ("H<sub>2</sub>O", [("H₂O", "")]),
        ("x<sup>2</sup> + y<sup>n-1</sup>", [("x² + yⁿ⁻¹", "")]),
        ("x<sup>q</sup>", [("x^(q)", "")]),  # no Unicode superscript q
        ("C<sub>b</sub>", [("C_(b)", "")]),  # no Unicode subscript b
        ("<b>e<sup>x</sup></b>", [("eˣ", "bold")]),
        ("<span class=cloze>[...]</span>", [("[...]", "bold blue")]),
        ('<span class="typeGood">ok</span>', [("ok", "bold green")]),
        ("<span class=typeBad>no</span>", [("no", "bold red strike")]),
        ("<span class=hint>h</span>", [("h", "dim")]),
        ("<span class=other>o</span>", [("o", "")]),
        ("a<br>b", [("a\nb", "")]),
        ("a<br><br>b", [("a\n\nb", "")]),  # explicit breaks are the user's blank lines
        ("<div>a</div><div>b</div>", [("a\nb", "")]),
        ("<div><div><p>deep</p></div></div>x", [("deep\nx", "")]),  # no blank-line pile-up
        ("<div>a</div><div><br></div><div>b</div>", [("a\n\nb", "")]),
        ("<h1>Title</h1>text", [("Title", "bold"), ("\ntext", "")]),
        ("<h3>T</h3>", [("T", "bold")]),
        ("a<hr>b", [("a\n" + "─" * 20 + "\nb", "")]),
        ("<ul><li>a</li><li>b</li></ul>", [("• a\n• b", "")]),
        ("<ol><li>a</li><li>b</li></ol>", [("1. a\n2. b", "")]),
        ("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", [("• a\n  • b\n• c", "")]),
        (
            "<ol><li>a<ol><li>b</li><li>c</li></ol></li><li>d</li></ol>",
            [("1. a\n  1. b\n  2. c\n2. d", "")],
        ),
        ("<ul>\n  <li>spaced</li>\n</ul>", [("• spaced", "")]),
        (
            "<table>\n<tr><th>k</th> <th>v</th></tr>\n<tr><td>a</td>\n<td>1</td></tr></table>",
            [("k", "bold"), (" │ ", ""), ("v", "bold"), ("\na │ 1", "")],
        ),
        # Word and web pages wrap list items and cells in paragraphs.
        ("<ul><li><p>para</p></li><li><div>b</div></li></ul>", [("• para\n• b", "")]),
        ("<ul><li><ul><li>b</li></ul></li></ul>", [("•\n  • b", "")]),
        ("<ul><li>a<li>b</ul>", [("• a\n• b", "")]),  # implied </li>
        (
            "<table><tr><td><p>a</p><p>b</p></td><td>c<br>d</td></tr></table>",
            [("a b │ c d", "")],
        ),
        ("<table><tr><td>a<td>b<tr><td>c<td>d</table>after", [("a │ b\nc │ d\nafter", "")]),
        ('<img src="pic.png">', [("[image: pic.png]", "dim")]),
        ("<img>", [("[image]", "dim")]),
        ("see [sound:clip.mp3]!", [("see ", ""), ("[sound: clip.mp3]", "dim"), ("!", "")]),
        ('<a href="https://x">the text</a>', [("the text", "")]),
        ("<script>var x = '<b>';</script>ok<style>b {}</style>", [("ok", "")]),
        ("<blink>unknown</blink> tag", [("unknown tag", "")]),
        ("&lt;b&gt; &amp; caf&eacute;", [("<b> & café", "")]),
        ("a   \n\t b", [("a b", "")]),
        ("<b>a </b> b", [("a ", "bold"), ("b", "")]),  # one space across element edges
        ("<pre>  x\n    y</pre>", [("  x\n    y", "bold cyan")]),
        ("<pre>\nfirst</pre>", [("first", "bold cyan")]),
        ("<br><br>middle<br><br>", [("middle", "")]),  # whole output trimmed
        ("<div>  </div>", []),
    ],
)
def test_to_spans(html, spans):
    assert to_spans(html) == spans


@pytest.mark.parametrize(
    "html",
    [
        "<b>unclosed",
        "</i>stray end",
        "<div <b>>x",
        "<a href='unterminated>text",
        "<<<>>>",
        "<!-- never closed",
        "<![CDATA[x]]>",
        "&#xdeadbeef; &#99999999; &bogus;",
        "<table><td>cell without row",
        "<sup>never closed",
        "<ol><li>x</ul></li>",
        "<svg><foreignObject><p>x",
    ],
)
def test_malformed_html_never_raises(html):
    spans = to_spans(html)
    assert all(isinstance(text, str) and text and isinstance(style, str) for text, style in spans)
    assert isinstance(strip_html(html), str)


def test_unclosed_styles_apply_to_the_rest():
    """Browsers keep an unclosed <b> open to the end; so must the terminal view."""
    assert to_spans("<b>bold <i>both") == [("bold ", "bold"), ("both", "bold italic")]


@pytest.mark.parametrize(
    ("html", "names"),
    [
        ("", []),
        ('<img src="a.png"> [sound:b.mp3]', ["a.png", "b.mp3"]),
        ("[sound:b.mp3]<IMG SRC=a.png>", ["b.mp3", "a.png"]),
        ('<img src=\'q.jpg\' alt=x><img alt="y" src="r.gif">', ["q.jpg", "r.gif"]),
        ('<img src="a&amp;b.png">', ["a&b.png"]),
        ('<img src="a.png"><img src="a.png">', ["a.png"]),
        ("<img alt=nothing>", []),
        ("[sound:]", []),
    ],
)
def test_media_references(html, names):
    assert media_references(html) == names


_tag_name = st.sampled_from(["b", "div", "span", "br", "img", "td", "X-y", "p", "sup", "li"])
_attr_value = st.text(alphabet=st.characters(blacklist_characters='"'), max_size=8)
_tag = st.one_of(
    st.builds(lambda n: f"<{n}>", _tag_name),
    st.builds(lambda n: f"</{n}>", _tag_name),
    st.builds(lambda n, v: f'<{n} title="{v}">', _tag_name, _attr_value),
    st.builds(lambda n, v: f"<{n} class='{v.replace(chr(39), '')}'/>", _tag_name, _attr_value),
)


@given(st.lists(_tag, max_size=8).map("".join))
def test_tag_only_input_leaves_no_markup(html):
    """A field holding only markup has no text, whatever '<' or '>' hide in its attributes."""
    assert "<" not in strip_html(html)
    assert strip_html(html).strip() == ""


@given(st.text(max_size=60))
def test_any_text_is_handled(text):
    """Fields come from imports of unknown quality, so no input may raise."""
    stripped = strip_html(text)
    assert stripped == stripped.strip()
    for piece, style in to_spans(text):
        assert piece
        assert isinstance(style, str)
