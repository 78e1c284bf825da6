"""API request bodies keep every digit: a float that would change is kept as its text."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api import errors
from api.exact_json import ExactJsonRoute, loads


@given(
    st.from_regex(r"-?(0|[1-9][0-9]{0,30})\.[0-9]{1,45}([eE][-+]?[0-9]{1,3})?", fullmatch=True)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
)
def test_a_number_is_a_float_only_when_the_float_is_exactly_it(text: str) -> None:
    value = loads(f'{{"n": {text}}}')["n"]
    if isinstance(value, float):
        assert Decimal(repr(value)) == Decimal(text)
    else:
        assert value == text


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_constants_that_are_not_json_are_refused(bad: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(f'{{"n": {bad}}}')


def test_an_endpoint_sees_the_text_of_a_lossy_number_and_422_for_nan() -> None:
    app = FastAPI()
    app.router.route_class = ExactJsonRoute
    errors.install(app)

    @app.post("/echo")
    def echo(body: dict[str, object]) -> dict[str, object]:
        return {k: [type(v).__name__, v] for k, v in body.items()}

    client = TestClient(app)
    seen = client.post(
        "/echo",
        content=b'{"price": 1.050000000000000000000000000000000000001, "qty": 1.5, "big": 1e400}',
        headers={"content-type": "application/json"},
    ).json()
    assert seen == {
        "price": ["str", "1.050000000000000000000000000000000000001"],
        "qty": ["float", 1.5],
        "big": ["str", "1e400"],
    }
    refused = client.post(
        "/echo", content=b'{"qty": NaN}', headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "body"
    assert "NaN is not JSON" in refused.json()["message"]
