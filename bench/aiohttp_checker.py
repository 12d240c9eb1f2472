#!/usr/bin/python3
"""bench/aiohttp_checker.py — anchor for the benchmark: the approach of the original Python Clockwerk,
an asyncio + aiohttp checker, K checks in flight, a fresh connection per check.

    aiohttp_checker.py URL --inflight K --checks N --seconds S
Prints `aiohttp checks=N seconds=S cpu_user=U cpu_sys=S` (its own CPU). Bounded in count and time."""
import argparse
import asyncio
import resource
import time

import aiohttp


async def main(url, inflight, checks, seconds):
    done = 0
    errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(force_close=True, limit=inflight)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one():
            nonlocal done, errors
            while done < checks and time.monotonic() < deadline:
                done += 1
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        if resp.status != 200:
                            errors += 1
                except Exception:  # a failed check is a result, not a crash
                    errors += 1
        await asyncio.gather(*(one() for _ in range(inflight)))
    return done, errors


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--inflight", type=int, default=32)
    ap.add_argument("--checks", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    t0 = time.monotonic()
    n, errs = asyncio.run(main(a.url, a.inflight, a.checks, a.seconds))
    el = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"aiohttp checks={n} seconds={el:.3f} cpu_user={ru.ru_utime:.3f} cpu_sys={ru.ru_stime:.3f} errors={errs}")
