"""The node channel between real processes over a real Unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from engine.channel import (
    ChannelError,
    CommandError,
    CommandTimeout,
    HostChannel,
    NodeClient,
    StaleSocketError,
)
from engine.events import Envelope
from engine.journal import JournalReader, JournalWriter

REPO = Path(__file__).resolve().parents[2]

# A node host stand-in: a real HostChannel in its own process, driven over stdin.
HOST = r"""
import asyncio, sys, threading, time
from pathlib import Path
from engine.channel import HostChannel
from engine.journal import JournalWriter

run_dir, sock = Path(sys.argv[1]), Path(sys.argv[2])
journal = JournalWriter(run_dir, "node-a", "run-1")
channel = HostChannel(sock, journal)
channel.start()
node_loop = asyncio.new_event_loop()
threading.Thread(target=node_loop.run_forever, name="node-loop", daemon=True).start()

async def handle(cmd):
    if cmd["cmd"] == "boom":
        raise RuntimeError("boom requested")
    if cmd["cmd"] == "sleep":
        await asyncio.sleep(cmd["seconds"])
    return {"thread": threading.current_thread().name, "echo": cmd}

channel.set_command_handler(handle, loop=node_loop)
print("ready", flush=True)
for line in sys.stdin:
    op, *args = line.split()
    if op == "pub":
        n, pause = int(args[0]), float(args[1]) if len(args) > 1 else 0.0
        for i in range(n):
            channel.publish("order", "OrderFilled", {"i": i, "qty": "100000", "px": "1.10002"})
            if pause and i % 100 == 99:
                time.sleep(pause)
        print("published", journal.last_seq, flush=True)
    elif op == "close":
        channel.close()
        journal.close()
        print("closed", flush=True)
        break
"""

# A client that prints the last seq of every batch it has handled, until killed.
CLIENT = r"""
import asyncio, sys
from pathlib import Path
from engine.channel import NodeClient

async def main():
    client = await NodeClient.connect(Path(sys.argv[1]))
    expected = int(sys.argv[2]) + 1
    async for batch in client.events(after_seq=int(sys.argv[2])):
        for env in batch:
            assert env.seq == expected, (env.seq, expected)
            expected += 1
        print(expected - 1, flush=True)

asyncio.run(main())
"""


class Host:
    """A node host process under test."""

    def __init__(self, run_dir: Path, sock: Path) -> None:
        self.run_dir, self.sock = run_dir, sock
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOST, str(run_dir), str(sock)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            text=True,
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    async def request(self, line: str) -> str:
        self.send(line)
        return await asyncio.wait_for(asyncio.to_thread(self.readline), 30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def sock(workspace: object) -> Path:
    return workspace.run_dir / "node-a.sock"  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def run_dir(workspace: object) -> Path:
    return workspace.runs_dir / "node-a" / "run-1"  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def host(run_dir: Path, sock: Path) -> Iterator[Host]:
    h = Host(run_dir, sock)
    yield h
    h.kill()


async def _collect(client: NodeClient, after_seq: int = 0) -> list[Envelope]:
    out: list[Envelope] = []
    async for batch in client.events(after_seq):
        out.extend(batch)
    return out


def _assert_contiguous(events: list[Envelope], first: int, last: int) -> None:
    seqs = [e.seq for e in events]
    assert seqs == list(range(first, last + 1)), (seqs[:3], seqs[-3:], len(seqs))


async def test_client_gets_the_journal_then_live_events_then_the_end(host: Host) -> None:
    assert await host.request("pub 500") == "published 500"
    client = await NodeClient.connect(host.sock)
    assert (client.node_id, client.run_id, client.host_last_seq) == ("node-a", "run-1", 500)
    collected = asyncio.create_task(_collect(client))
    assert await host.request("pub 1500") == "published 2000"
    assert await host.request("close") == "closed"
    events = await asyncio.wait_for(collected, 30)
    _assert_contiguous(events, 1, 2000)
    assert events[0].payload == {"i": 0, "qty": "100000", "px": "1.10002"}
    assert client.ended_cleanly
    assert not host.sock.exists()
    await client.close()


async def test_client_killed_mid_stream_resumes_without_gap_or_duplicate(host: Host) -> None:
    total = 60_000
    # The publisher runs for a while; the client process is killed in the middle.
    host.send(f"pub {total} 0.002")
    client_proc = subprocess.Popen(  # noqa: ASYNC220 - starts at once; the test reads it
        [sys.executable, "-c", CLIENT, str(host.sock), "0"],
        stdout=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    assert client_proc.stdout is not None
    handled = 0
    while handled < 5_000:
        line = await asyncio.wait_for(asyncio.to_thread(client_proc.stdout.readline), 30)
        assert line, "client process ended early"
        handled = int(line)
    os.kill(client_proc.pid, signal.SIGKILL)
    client_proc.wait(10)
    assert client_proc.returncode == -signal.SIGKILL
    assert handled < total, "the publisher finished before the kill: not mid-stream"
    # A new client attaches while the publisher is still running and resumes after N.
    client = await NodeClient.connect(host.sock)
    resumed = asyncio.create_task(_collect(client, after_seq=handled))
    assert await asyncio.wait_for(asyncio.to_thread(host.readline), 60) == f"published {total}"
    assert await host.request("close") == "closed"
    events = await asyncio.wait_for(resumed, 30)
    _assert_contiguous(events, handled + 1, total)
    assert JournalReader(host.run_dir).last_seq() == total
    await client.close()


async def test_commands_run_on_the_node_loop_and_errors_come_back(host: Host) -> None:
    client = await NodeClient.connect(host.sock)
    reply = await client.command("submit_order", side="BUY", qty="1000")
    assert reply == {
        "thread": "node-loop",
        "echo": {"cmd": "submit_order", "side": "BUY", "qty": "1000"},
    }
    with pytest.raises(CommandError, match="RuntimeError: boom requested"):
        await client.command("boom")
    with pytest.raises(CommandTimeout, match=r"did not answer 'sleep' within 0\.2 s"):
        await client.command("sleep", seconds=5, reply_timeout=0.2)
    # The connection is still good after an error and a timeout.
    assert (await client.command("ping"))["echo"] == {"cmd": "ping"}
    await client.close()


async def test_two_clients_attach_at_once_and_see_the_same_stream(host: Host) -> None:
    a, b = await NodeClient.connect(host.sock), await NodeClient.connect(host.sock)
    # b resumes after seq 100, so 100 must be journaled before it subscribes (a later
    # after_seq is refused); the rest is published while both are attached.
    await host.request("pub 100")
    ta, tb = asyncio.create_task(_collect(a)), asyncio.create_task(_collect(b, after_seq=100))
    await host.request("pub 2900")
    await host.request("close")
    _assert_contiguous(await asyncio.wait_for(ta, 30), 1, 3000)
    _assert_contiguous(await asyncio.wait_for(tb, 30), 101, 3000)
    await a.close()
    await b.close()


async def test_socket_is_private_and_a_dead_hosts_socket_fails_cleanly(host: Host) -> None:
    assert stat.S_IMODE(host.sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(host.sock.parent.stat().st_mode) == 0o700
    host.proc.send_signal(signal.SIGKILL)
    host.proc.wait(10)
    assert host.sock.exists()  # a crashed host leaves its socket behind
    with pytest.raises(StaleSocketError, match=r"stale socket .*node-a.sock.*not running"):
        await NodeClient.connect(host.sock)
    # A new host on the same path clears the stale socket and serves again.
    again = Host(host.run_dir, host.sock)
    try:
        client = await NodeClient.connect(again.sock)
        assert client.run_id == "run-1"
        await client.close()
    finally:
        again.kill()


async def test_missing_socket_and_bad_after_seq_are_clear_errors(host: Host) -> None:
    with pytest.raises(ChannelError, match=r"no node host at .*the socket does not exist"):
        await NodeClient.connect(host.sock.with_name("nobody.sock"))
    await host.request("pub 10")
    client = await NodeClient.connect(host.sock)
    with pytest.raises(ChannelError, match=r"'after_seq': got 99, expected 0..10"):
        await _collect(client, after_seq=99)
    await client.close()


async def test_a_second_host_on_a_live_socket_is_refused(host: Host, tmp_path: Path) -> None:
    with (
        JournalWriter(tmp_path / "other", "node-b", "run-9") as journal,
        pytest.raises(ChannelError, match="already listening"),
    ):
        HostChannel(host.sock, journal).start()


@pytest.fixture
async def inproc(tmp_path: Path) -> AsyncIterator[tuple[HostChannel, JournalWriter, Path]]:
    # A long path: beyond the 108-byte limit of Unix socket addresses.
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    journal = JournalWriter(tmp_path / "run", "node-c", "run-2")
    channel = HostChannel(deep / "run" / "node-c.sock", journal)
    channel.start()
    yield channel, journal, deep / "run" / "node-c.sock"
    await asyncio.to_thread(channel.close)
    journal.close()


async def test_a_slow_client_never_blocks_the_publisher(
    inproc: tuple[HostChannel, JournalWriter, Path],
) -> None:
    channel, journal, sock = inproc
    assert len(os.fsencode(sock)) > 108
    client = await NodeClient.connect(sock)
    channel.publish("node", "NodeStateChanged", {"state": "running"})
    events = client.events(0)
    first = await anext(events)  # subscribed; then it stops reading

    def publish() -> None:
        for i in range(100_000):
            channel.publish("metric", "Metrics", {"i": i})

    thread = threading.Thread(target=publish)
    thread.start()
    await asyncio.to_thread(thread.join, 30)
    assert not thread.is_alive() and journal.last_seq >= 100_000
    # It catches up from the journal afterwards, in order.
    got = list(first)
    async for batch in events:
        got.extend(batch)
        if got[-1].seq == journal.last_seq:
            break
    _assert_contiguous(got, 1, journal.last_seq)
    assert journal.last_seq == 100_001
    await client.close()


async def test_sync_handler_runs_on_the_channel_thread(
    inproc: tuple[HostChannel, JournalWriter, Path],
) -> None:
    channel, _, sock = inproc
    channel.set_command_handler(lambda cmd: {"thread": threading.current_thread().name})
    client = await NodeClient.connect(sock)
    assert await client.command("stop") == {"thread": "gateway-channel"}
    await client.close()


async def test_host_killed_mid_stream_client_finishes_from_the_journal(host: Host) -> None:
    client = await NodeClient.connect(host.sock)
    collected = asyncio.create_task(_collect(client))
    host.send("pub 50000 0.002")
    await asyncio.sleep(0.5)
    host.proc.send_signal(signal.SIGKILL)
    host.proc.wait(10)
    events = await asyncio.wait_for(collected, 30)
    journaled = JournalReader(host.run_dir).last_seq()
    assert 0 < journaled < 50_000
    _assert_contiguous(events, 1, journaled)
    assert not client.ended_cleanly
    await client.close()


async def test_a_lingering_channel_delivers_every_event_within_its_linger(
    tmp_path: Path,
) -> None:
    """Backtest hosts send in linger ticks: nothing is lost, nothing waits much longer."""
    journal = JournalWriter(tmp_path / "run", "node-l", "run-3")
    channel = HostChannel(tmp_path / "l.sock", journal, linger_s=0.05)
    channel.start()
    try:
        client = await NodeClient.connect(tmp_path / "l.sock")
        seen: list[tuple[float, Envelope]] = []
        all_seen = asyncio.Event()

        async def collect() -> None:
            async for batch in client.events(0):
                now = asyncio.get_running_loop().time()
                seen.extend((now, env) for env in batch)
                if len(seen) >= 3000:
                    all_seen.set()

        task = asyncio.create_task(collect())
        loop = asyncio.get_running_loop()
        sent: dict[int, float] = {}
        for burst in range(10):
            for i in range(300):
                env = channel.publish("log", "LogLine", {"message": f"{burst}/{i}"})
                sent[env.seq] = loop.time()
            await asyncio.sleep(0.02)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_seen.wait(), 10)
        _assert_contiguous([env for _, env in seen], 1, 3000)
        delays = sorted(at - sent[env.seq] for at, env in seen)
        assert delays[-1] < 0.05 + 0.25, delays[-1]  # the linger, plus a loaded machine
        task.cancel()
        await client.close()
    finally:
        await asyncio.to_thread(channel.close)
        journal.close()
