"""`schema(cls, **options)`: one shared instance per schema class and options, usable like any other."""
from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from shared.errors import ValidationFailed
from shared.schemas import Timestamp, schema, validated


class _PointSchema(Schema):
    x = fields.Integer(required=True)
    label = fields.String(load_default="origin")
    at = Timestamp()


def test_the_same_class_and_options_give_the_same_instance_every_time():
    first = schema(_PointSchema)
    assert isinstance(first, _PointSchema)
    assert schema(_PointSchema) is first
    assert schema(_PointSchema, only=("x",)) is schema(_PointSchema, only=("x",))


def test_other_options_give_another_instance_built_with_them():
    plain, many, only_x = schema(_PointSchema), schema(_PointSchema, many=True), schema(_PointSchema, only=("x",))
    assert len({id(plain), id(many), id(only_x)}) == 3
    assert many.many and not plain.many
    assert only_x.dump({"x": 1, "label": "a"}) == {"x": 1}


def test_a_shared_instance_dumps_and_loads_like_a_new_one():
    shared = schema(_PointSchema)
    assert shared.dump({"x": 3, "label": "p"}) == _PointSchema().dump({"x": 3, "label": "p"}) == {"x": 3, "label": "p"}
    assert shared.load({"x": "4"}) == {"x": 4, "label": "origin"}
    assert validated(shared, {"x": 5, "label": "q"}) == {"x": 5, "label": "q"}
    with pytest.raises(ValidationFailed) as refused:
        validated(shared, {"label": "no x"})
    assert refused.value.errors == {"x": ["Missing data for required field."]}
    # A refusal leaves nothing behind for the next call.
    assert shared.load({"x": 6}) == {"x": 6, "label": "origin"}
