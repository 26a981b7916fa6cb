"""docs/messaging.md's event table is generated from the contracts and the services (devstack.messaging_doc)."""
import subprocess
import sys
import uuid

import pytest
from marshmallow import Schema, fields

from devstack import messaging_doc
from devstack.environment import repo_root
from devstack.messaging_doc import BEGIN, DOC, END, Consumer, consumers_of_class, field_names, rewrite, table
from shared.entrypoints import event_handler, every_event
from shared.events import declare


class TargetSchema(Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)


class SampleSchema(Schema):
    link_id = fields.UUID(required=True)
    target = fields.Nested(TargetSchema, required=True)
    tags = fields.List(fields.String())
    files = fields.List(fields.Nested(TargetSchema), required=True)


SOURCE = f"doc_{uuid.uuid4().hex[:8]}"  # declarations are process-wide: a source of this module's own
SAMPLED = declare(SOURCE, "sampled", SampleSchema, "A sample | with a pipe")
OTHER = declare(SOURCE, "other", TargetSchema, "Another")


class ListenerService:
    name = "listener"

    @event_handler(SAMPLED)
    def on_sampled(self, event):
        pass

    @every_event(SOURCE, "listener.everything")
    def record(self, event):
        pass

    def helper(self):
        pass


def test_the_data_column_spells_out_nested_fields_and_optional_ones():
    assert field_names(SampleSchema) == "link_id, target {type, id}, tags? [], files [{type, id}]"


def test_consumers_are_read_from_the_services_entrypoints():
    assert sorted(consumers_of_class("listener", ListenerService), key=lambda c: c.method) == [
        Consumer("listener", "on_sampled", SOURCE, "sampled"), Consumer("listener", "record", SOURCE, None)]


def test_each_event_lists_its_own_handlers_and_every_event_consumers_of_its_source():
    consumers = consumers_of_class("listener", ListenerService)
    rows = table([SAMPLED, OTHER], consumers).splitlines()
    assert rows[2] == (f"| `{SOURCE}.sampled` | {SOURCE} | A sample \\| with a pipe | "
                       "link_id, target {type, id}, tags? [], files [{type, id}] | "
                       f"listener (`on_sampled`), listener (`record`, every {SOURCE} event) |")
    assert rows[3].endswith(f"| listener (`record`, every {SOURCE} event) |")
    assert table([OTHER], []).splitlines()[2].endswith("| none yet |")


def test_a_handler_of_an_undeclared_event_is_an_error():
    stray = Consumer("listener", "on_ghost", SOURCE, "ghost")
    assert messaging_doc.undeclared([SAMPLED], [stray, Consumer("l", "r", SOURCE, None)]) == [stray]


def test_only_the_text_between_the_markers_is_replaced():
    document = f"intro\n{BEGIN}\nold table\n{END}\noutro\n"
    assert rewrite(document, "new table") == f"intro\n{BEGIN}\nnew table\n{END}\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        rewrite("no markers at all", "new table")


def test_check_fails_on_a_stale_table_and_passes_once_regenerated(tmp_path, capsys):
    (tmp_path / "services").mkdir()
    (tmp_path / DOC).parent.mkdir()
    (tmp_path / DOC).write_text(f"# doc\n{BEGIN}\n| a stale row |\n{END}\n")
    assert messaging_doc.main(["--check"], root=tmp_path) == 1
    assert "stale" in capsys.readouterr().err
    assert messaging_doc.main([], root=tmp_path) == 0
    assert messaging_doc.main(["--check"], root=tmp_path) == 0
    assert "| `chats.thread_started` | chats |" in (tmp_path / DOC).read_text()  # every contract's events


def test_docs_messaging_md_lists_every_declared_event_as_the_code_says():
    # A process of its own: the generator imports every service, which this pytest process must not
    # (the gateway's tests, run in it too, check what the gateway imports).
    done = subprocess.run([sys.executable, "-m", "devstack.messaging_doc", "--check"], cwd=repo_root(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
