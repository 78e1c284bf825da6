"""Redis URLs from node configs and settings.json: parsed, or refused naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.state.target import (
    RedisTargetInvalid,
    configured_target,
    mask_password,
    parse_redis_url,
)
from engine.workspace import Workspace


def test_a_good_url_gives_host_port_and_its_source() -> None:
    t = parse_redis_url("redis://db.local:6390/0", "redis_url", "node config redis_url")
    assert (t.host, t.port, t.ssl, t.url) == ("db.local", 6390, False, "redis://db.local:6390")
    assert parse_redis_url("rediss://user@h", "f", "s").url == "rediss://user@h:6379"


@given(st.text(max_size=80))
def test_any_text_parses_or_is_refused_naming_the_field(text: str) -> None:
    try:
        target = parse_redis_url(text, "redis_url", "node config")
    except RedisTargetInvalid as exc:
        assert exc.field == "redis_url" and str(exc).startswith("redis_url: ")
    else:
        assert 0 < target.port < 65536 and target.host


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20))
def test_a_password_is_refused_and_never_echoed(password: str) -> None:
    url = f"redis://user:{password}@127.0.0.1:6390"
    with pytest.raises(RedisTargetInvalid) as err:
        parse_redis_url(url, "redis_url", "node config")
    assert f":{password}@" not in str(err.value) and ":***@" in str(err.value)
    assert mask_password(url) == "redis://user:***@127.0.0.1:6390"


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=20),
    st.sampled_from(
        [
            "redis://u:{pw}@h:99999",  # a bad port
            "http://u:{pw}@h:6390",  # another scheme
            "redis://u:{pw}@h:6390/3",  # another database
            "redis://u:{pw}@",  # no host
        ]
    ),
)
def test_a_password_in_any_refused_url_is_never_echoed(password: str, shape: str) -> None:
    with pytest.raises(RedisTargetInvalid) as err:
        parse_redis_url(shape.format(pw=password), "redis_url", "node")
    assert f":{password}@" not in str(err.value) and ":***@" in str(err.value)


def test_settings_name_the_redis_unless_the_node_does(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    assert configured_target(ws, None) is None  # no settings: the workspace's own server
    ws.settings_path.write_text(json.dumps({"redis": {"url": "redis://10.0.0.5:7000"}}))
    t = configured_target(ws, None)
    assert t is not None and (t.port, t.source) == (7000, "settings.json redis.url")
    ws.settings_path.write_text(json.dumps({"redis": {"url": "redis://h:1/2"}}))
    with pytest.raises(RedisTargetInvalid, match=r"settings.redis.url: database 0"):
        configured_target(ws, None)
    ws.settings_path.write_text(json.dumps({"redis": {"uri": "redis://h:1"}}))
    with pytest.raises(RedisTargetInvalid, match=r"settings\.redis"):
        configured_target(ws, None)
