"""StallWatch: one timer per stream instead of one per read, with next_within's behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ato_desktop.runtimes.streaming import END_OF_STREAM, StallWatch, StreamStalled


async def items(*delays: float) -> AsyncIterator[int]:
    for i, delay in enumerate(delays):
        await asyncio.sleep(delay)
        yield i


def test_reads_in_time_pass_and_a_busy_consumer_is_not_a_stall() -> None:
    async def go() -> list[object]:
        watch = StallWatch(0.2)
        stream = items(0.05, 0.05, 0.05)
        got: list[object] = [await watch.next(stream)]
        await asyncio.sleep(0.5)  # the consumer is busy for longer than the timeout
        got += [await watch.next(stream), await watch.next(stream), await watch.next(stream)]
        watch.close()
        return got

    assert asyncio.run(go()) == [0, 1, 2, END_OF_STREAM]


def test_a_read_that_waits_too_long_is_a_stall_and_closes_the_stream() -> None:
    closed: list[bool] = []

    async def slow() -> AsyncIterator[int]:
        try:
            yield 0
            await asyncio.sleep(10)
            yield 1
        finally:
            closed.append(True)

    async def go() -> float:
        watch = StallWatch(0.2)
        stream = slow()
        assert await watch.next(stream) == 0
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(StreamStalled):
            await watch.next(stream)
        waited = loop.time() - t0
        await stream.aclose()
        watch.close()
        return waited

    waited = asyncio.run(go())
    assert 0.19 <= waited < 1.0 and closed == [True]


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def go() -> None:
        watch = StallWatch(5)
        task = asyncio.create_task(watch.next(items(10)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())


def test_reads_that_bring_no_progress_do_not_restart_the_clock() -> None:
    """Bytes with only keep-alives in them (restart=False after them) are no progress: the
    wait counts from the last read that brought some, so a stream of pings still stalls."""

    async def go() -> tuple[int, float]:
        watch = StallWatch(0.3)
        stream = items(*([0.1] * 20))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        read = 0
        with pytest.raises(StreamStalled):
            while True:
                await watch.next(stream, restart=read == 0)
                read += 1
        waited = loop.time() - t0
        await stream.aclose()
        watch.close()
        return read, waited

    read, waited = asyncio.run(go())
    assert 0.29 <= waited < 1.0 and 1 <= read <= 3
