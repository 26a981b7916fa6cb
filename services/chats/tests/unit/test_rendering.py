"""Message rendering: the Markdown subset, video embeds by allow-list, nothing executable, mentions."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from chats.rendering import Member, embed_url, find_mentions, render

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example/"></iframe>',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '[a](https://youtu.be/dQw4w9WgXcQ"onload="alert(1))',
    "<style>body{display:none}</style>",
    "**<b onmouseover=alert(1)>x</b>**",
]


class Elements(HTMLParser):
    """Every element of some HTML, with its attributes, as a browser's parser would see them."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("body", ATTACKS)
def test_no_input_renders_anything_executable(body):
    for tag, attributes in Elements(render(body)).found:
        assert tag in {"p", "br", "strong", "em", "ul", "ol", "li", "a", "div", "iframe"}, (body, tag)
        assert not [name for name in attributes if name.startswith("on") or name == "style"], (body, attributes)
        if tag == "a" and "href" in attributes:
            assert (attributes["href"] or "").startswith(("https://", "http://", "mailto:")), (body, attributes)
        if tag == "iframe":
            assert (attributes.get("src") or "").startswith("https://www.youtube-nocookie.com/embed/"), body


def test_bold_italics_lists_and_links_render():
    html = render("**bold** *it*\n\n- one\n- two\n\n1. first\n\n[site](https://example.com)")
    assert "<strong>bold</strong> <em>it</em>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html and "<ol>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>' in html


def test_a_video_link_alone_on_a_line_becomes_an_embed_of_the_provider_player():
    html = render("Watch this:\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html


@pytest.mark.parametrize(("url", "player"), [
    ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
    ("https://www.loom.com/share/0123456789abcdef0123456789abcdef", "https://www.loom.com/embed/0123456789abcdef0123456789abcdef"),
    ("https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view?usp=sharing", "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/preview"),
])
def test_allowed_video_providers(url, player):
    assert embed_url(url) == player


def test_other_video_sites_stay_links():
    assert embed_url("https://videos.example/watch?v=dQw4w9WgXcQ") is None
    assert "<iframe" not in render("https://videos.example/watch?v=dQw4w9WgXcQ")


def test_a_video_link_inside_a_sentence_is_not_embedded():
    assert "<iframe" not in render("see https://youtu.be/dQw4w9WgXcQ today")


def test_mentions_find_the_longest_name_once_each_in_order():
    team = [Member(1, "Ann"), Member(2, "Ann Lee"), Member(3, "Bob")]
    assert find_mentions("hi @bob and @Ann Lee, also @Bob", team) == [Member(3, "Bob"), Member(2, "Ann Lee")]


def test_an_at_sign_inside_a_word_or_a_longer_name_is_no_mention():
    assert find_mentions("mail ann@bobby.com or @Bobby", [Member(3, "Bob")]) == []
