"""`shared.contracts.links`: any number of link ids revealed within links' limit per call, and the pages of
the live ones."""
from __future__ import annotations

from unittest.mock import Mock

from shared.contracts.links import MAX_REVEAL, live_page_urls, reveal_all


def links_answering_each_id() -> Mock:
    links = Mock()
    links.reveal_links.side_effect = lambda firm_id, link_ids: {"items": [{"id": i} for i in link_ids]}
    return links


def test_ids_past_the_limit_are_revealed_in_calls_of_at_most_max_reveal_in_order():
    links = links_answering_each_id()
    ids = [str(i) for i in range(2 * MAX_REVEAL + 1)]
    assert [item["id"] for item in reveal_all(links, "firm", ids)] == ids
    assert [len(c.kwargs["link_ids"]) for c in links.reveal_links.call_args_list] == [MAX_REVEAL, MAX_REVEAL, 1]


def test_no_ids_make_no_call():
    links = links_answering_each_id()
    assert reveal_all(links, "firm", []) == []
    links.reveal_links.assert_not_called()


def test_only_live_links_with_a_token_get_a_page():
    links = Mock()
    links.reveal_links.return_value = {"items": [
        {"id": "live", "token": "t1", "live": True}, {"id": "revoked", "token": "t2", "live": False},
        {"id": "unknown", "token": None, "live": False}]}
    assert live_page_urls(links, "firm", ["live", "revoked", "unknown"], "https://porta.example") == {
        "live": "https://porta.example/p/t1"}
