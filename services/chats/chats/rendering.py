"""A message's body as HTML: a Markdown subset (bold, italics, lists, links) rendered by markdown-it-py,
video links of an allow-list as embeds, everything sanitised by nh3, and the `@Name` mentions found.

Two locks on one door: markdown-it runs with raw HTML off (a `<script>` in the body is text), and
nh3 then keeps only the tags and attributes listed here, links with http(s)/mailto only, and an
iframe's `src` only when it is one of the embed addresses this module builds.

Plain Python, no nameko, no database.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

_markdown = MarkdownIt("zero", {"html": False, "breaks": True}).enable(
    ["emphasis", "list", "link", "autolink", "newline", "escape"])

# Video pages the firm may paste, and the player address each becomes. The ids are restricted to the
# characters each provider uses, so an embed address is built only from known parts.
_VIDEOS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^https?://(?:www\.|m\.)?youtube\.com/watch\?(?:[^#\s]*&)?v=([A-Za-z0-9_-]{11})(?:[&#][^\s]*)?$"),
     "https://www.youtube-nocookie.com/embed/{}"),
    (re.compile(r"^https?://youtu\.be/([A-Za-z0-9_-]{11})(?:[?#][^\s]*)?$"), "https://www.youtube-nocookie.com/embed/{}"),
    (re.compile(r"^https?://(?:www\.)?youtube\.com/(?:embed|shorts)/([A-Za-z0-9_-]{11})(?:[?#][^\s]*)?$"),
     "https://www.youtube-nocookie.com/embed/{}"),
    (re.compile(r"^https?://(?:www\.)?vimeo\.com/(\d{1,12})(?:[/?#][^\s]*)?$"), "https://player.vimeo.com/video/{}"),
    (re.compile(r"^https?://player\.vimeo\.com/video/(\d{1,12})(?:[?#][^\s]*)?$"), "https://player.vimeo.com/video/{}"),
    (re.compile(r"^https?://(?:www\.)?loom\.com/(?:share|embed)/([0-9a-f]{32})(?:[/?#][^\s]*)?$"),
     "https://www.loom.com/embed/{}"),
    (re.compile(r"^https?://drive\.google\.com/file/d/([A-Za-z0-9_-]{10,100})(?:/[^\s]*)?$"),
     "https://drive.google.com/file/d/{}/preview"),
)
# What an iframe's src may be after sanitising: exactly the addresses built above.
_EMBED_SRC = re.compile(
    r"^https://(?:www\.youtube-nocookie\.com/embed/[A-Za-z0-9_-]{11}|player\.vimeo\.com/video/\d{1,12}"
    r"|www\.loom\.com/embed/[0-9a-f]{32}|drive\.google\.com/file/d/[A-Za-z0-9_-]{10,100}/preview)$")

_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "div", "iframe"}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "div": {"class"},
               "iframe": {"src", "title", "allowfullscreen", "sandbox", "allow", "loading"}}


def embed_url(url: str) -> str | None:
    """The player address of a video link of the allow-list (YouTube, Vimeo, Loom, Google Drive), else None."""
    for pattern, player in _VIDEOS:
        found = pattern.match(url.strip())
        if found:
            return player.format(found.group(1))
    return None


def _video_block(url: str) -> Token:
    token = Token("html_block", "", 0)
    source = html.escape(url, quote=True)
    token.content = (f'<div class="video"><iframe src="{source}" title="Video" loading="lazy" allowfullscreen '
                     f'sandbox="allow-scripts allow-same-origin allow-presentation"></iframe></div>\n')
    return token


def _video_of(inline: Token) -> str | None:
    """A paragraph that is only a video link (a bare URL, an autolink, or [text](url)): its player address."""
    children = [child for child in inline.children or [] if not (child.type == "text" and not child.content.strip())]
    if len(children) == 1 and children[0].type == "text":
        return embed_url(children[0].content)
    if len(children) == 3 and children[0].type == "link_open" and children[2].type == "link_close":
        return embed_url(str(children[0].attrs.get("href") or ""))
    return None


def _with_videos(tokens: list[Token]) -> list[Token]:
    result: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if (token.type == "paragraph_open" and index + 2 < len(tokens) and tokens[index + 1].type == "inline"
                and tokens[index + 2].type == "paragraph_close" and token.level == 0):
            player = _video_of(tokens[index + 1])
            if player:
                result.append(_video_block(player))
                index += 3
                continue
        result.append(token)
        index += 1
    return result


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "iframe" and attribute == "src":
        return value if _EMBED_SRC.match(value) else None
    return value


def sanitise(markup: str) -> str:
    """Only the tags and attributes a message may hold; anything else (script, event handlers, styles,
    javascript: links, foreign iframes) goes."""
    return nh3.clean(markup, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", attribute_filter=_keep_attribute,
                     strip_comments=True)


def render(body: str) -> str:
    """The body as safe HTML."""
    env: dict[str, Any] = {}
    tokens = _with_videos(_markdown.parse(body, env))
    return sanitise(_markdown.renderer.render(tokens, _markdown.options, env))


@dataclass(frozen=True)
class Member:
    """A team member who may be mentioned."""

    id: Any
    name: str


def find_mentions(body: str, members: Iterable[Member]) -> list[Member]:
    """The members named `@Name` in the body, each once, in the order first mentioned. A longer name wins
    over a shorter one that starts it (`@Ann Lee` is Ann Lee, not Ann); case does not matter."""
    candidates: Sequence[Member] = sorted((m for m in members if m.name.strip()), key=lambda m: -len(m.name))
    lowered = body.lower()
    found: dict[Any, tuple[int, Member]] = {}
    taken: list[tuple[int, int]] = []
    for member in candidates:
        needle = "@" + " ".join(member.name.split()).lower()
        start = lowered.find(needle)
        while start != -1:
            end = start + len(needle)
            boundary = end == len(lowered) or not (lowered[end].isalnum() or lowered[end] == "_")
            overlaps = any(s <= start < e for s, e in taken)
            if boundary and not overlaps:
                taken.append((start, end))
                if member.id not in found or found[member.id][0] > start:
                    found[member.id] = (start, member)
            start = lowered.find(needle, end)
    return [member for _, member in sorted(found.values(), key=lambda pair: pair[0])]
