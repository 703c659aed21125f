"""The playground server under load: 200 concurrent browsers for 20 s against a real server in its own process.

Loopback only and bounded in time. No answer may be a 5xx, no session in use may disappear (404), the server's
memory (RSS from /proc) stays bounded, and a GET answers promptly while the other clients train: its latency
percentiles are printed (the aim is p99 under 100 ms; the assertion, on a shared machine, is under 1 s).
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.slow

CLIENTS = 200                 # browsers that train and step through their sessions
SECONDS = 20.0
MAX_RSS_MB = 512
PAGE_HEADERS = {"X-Chainrule": "1"}
CONFIG = {"n_points": 40, "hidden": [4, 4], "batch_size": 10}
SERVER = "from chainrule.web.server import serve; serve('127.0.0.1', 0)"     # the shipped defaults
# One more browser, in a process of its own so that the 200 clients' work does not delay its clock: it reads its
# session every 50 ms while the others train and prints each GET's latency in ms.
PROBE = """
import sys, time, httpx
url, seconds = sys.argv[1], float(sys.argv[2])
with httpx.Client(base_url=url, headers={"X-Chainrule": "1"}, timeout=60) as client:
    path = "/api/sessions/" + client.post("/api/sessions", json={"config": {"n_points": 40}}).json()["session"]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        status = client.get(path).status_code
        print(status, (time.perf_counter() - started) * 1000, flush=True)
        time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """(URL, pid) of `chainrule serve` on a free loopback port, in a process of its own."""
    if not Path("/proc/self/status").exists():
        pytest.skip("the load test reads the server's memory from /proc (Linux only)")
    process = subprocess.Popen([sys.executable, "-c", SERVER],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=30)
    try:
        if not line or "http://" not in line[0]:
            process.kill()
            pytest.fail(f"the server did not start: {process.stderr.read()[-2000:]}")
        yield line[0].split()[2].rstrip("/"), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid`, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class Tally:
    """What the clients saw: statuses by kind of request, GET latencies of the readers, the server's RSS."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.rss: list[float] = []
        self.errors: list[str] = []


async def browser(url: str, index: int, deadline: float, tally: Tally) -> None:
    """One client: create a session, then train it or step through it until the deadline."""
    rng = random.Random(index)
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=url, headers=PAGE_HEADERS, timeout=timeout) as client:
        created = await client.post("/api/sessions", json={"config": {**CONFIG, "seed": index}})
        tally.statuses["create", created.status_code] += 1
        if created.status_code != 201:
            tally.errors.append(f"create: {created.status_code} {created.text[:200]}")
            return
        path = f"/api/sessions/{created.json()['session']}"
        while time.monotonic() < deadline:
            if rng.random() < 0.7:
                kind, answer = "train", await client.post(f"{path}/train", json={"epochs": rng.randint(1, 3)})
            else:
                kind, answer = "step", await client.post(f"{path}/step", json={"action": "forward"})
                if answer.status_code == 409:       # the forward pass is complete: pick the example again
                    answer = await client.post(f"{path}/example", json={"split": "train", "index": 0})
            tally.statuses[kind, answer.status_code] += 1
            if answer.status_code >= 400:
                tally.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
        final = await client.get(path)
        tally.statuses["final read", final.status_code] += 1


async def watch_memory(pid: int, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        tally.rss.append(rss_mb(pid))
        await anyio.sleep(0.25)


def test_200_browsers_for_20_seconds_get_no_5xx_no_evictions_bounded_memory_and_prompt_reads(server, capsys):
    url, pid = server
    tally = Tally()
    rss_before = rss_mb(pid)

    async def main() -> None:
        deadline = time.monotonic() + SECONDS
        async with anyio.create_task_group() as group:
            group.start_soon(watch_memory, pid, deadline, tally)
            for index in range(CLIENTS):
                group.start_soon(browser, url, index, deadline, tally)
    started = time.monotonic()
    probe = subprocess.Popen([sys.executable, "-c", PROBE, url, str(SECONDS - 4)], stdout=subprocess.PIPE, text=True)
    anyio.run(main)
    elapsed = time.monotonic() - started
    reads = [line.split() for line in probe.communicate(timeout=60)[0].splitlines()]
    tally.statuses.update(("read", int(status)) for status, _ in reads)
    latency_ms = np.array([float(ms) for _, ms in reads[5:]])       # once every client is busy
    p50, p90, p99, worst = np.percentile(latency_ms, [50, 90, 99, 100])
    answered = sum(tally.statuses.values())
    with capsys.disabled():
        print(f"\nload: {CLIENTS} clients for {elapsed:.1f} s, {answered} answers "
              f"({answered / elapsed:.0f}/s): {dict(sorted(tally.statuses.items()))}")
        print(f"load: GET while others train, {len(latency_ms)} reads: p50 {p50:.1f} ms, p90 {p90:.1f} ms, "
              f"p99 {p99:.1f} ms, max {worst:.1f} ms")
        print(f"load: server RSS {rss_before:.0f} MB before, {max(tally.rss):.0f} MB at most "
              f"(os.cpu_count() = {os.cpu_count()})")
    server_errors = {key: n for key, n in tally.statuses.items() if key[1] >= 500}
    assert not server_errors, (server_errors, tally.errors[:5])
    evicted = {key: n for key, n in tally.statuses.items() if key[1] == 404}
    assert not evicted, (evicted, tally.errors[:5])
    assert tally.statuses["create", 201] == CLIENTS and tally.statuses["final read", 200] == CLIENTS, tally.errors[:5]
    assert tally.statuses["train", 200] > CLIENTS // 2 and len(latency_ms) > 20        # the load did happen
    assert max(tally.rss) < MAX_RSS_MB
    assert p99 < 1000
