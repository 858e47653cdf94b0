"""Benchmark log diagnosis: model load time, diagnoses per second, p50/p99 latency, peak memory.

Run: `.venv/bin/python benchmarks/bench_diagnose.py [--logs N] [--target-kb 10,50]`
     `.venv/bin/python benchmarks/bench_diagnose.py --cold 10 [--cold-log examples/X.log]`

The logs are the knowledge base's example logs, each padded with ordinary boot messages in
front until it reaches the target size, so that every log is a realistic 10-50 KB console
capture with one crash at the end. Everything runs in this one process on one core.

Each rate is printed twice: by wall-clock time, and by the CPU time this process used
(`time.process_time`). On a quiet machine they agree; on a shared one the wall-clock rate
also counts the time other processes held the core, so the CPU-time rate is the steadier
figure (it still suffers somewhat from shared caches). The load average printed at the start
and the end says how busy the machine was.

`--cold N` measures the other end instead: N runs of `panicdx diagnose LOG` in fresh
interpreters (`python -m service.cli`, imports and model load included, as a user sees it),
reporting the median and fastest wall time and the median CPU time of each run. The main
run also reports the model load alone and whether scikit-learn, scipy or joblib were imported.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from knowledge_base.examples import iter_examples

_BOOT_LINES = [
    "ACPI: PCI Interrupt Link [LNKC] enabled at IRQ 11",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
    "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
    "systemd[1]: Started Journal Service.",
    'audit: type=1400 audit(1700000000.123:45): apparmor="STATUS" operation="profile_load"',
    "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
    "nvme nvme0: 8/0/0 default/read/poll queues",
    "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    "Adding 8388604k swap on /dev/sda2.  Priority:-2 extents:1 across:8388604k SS",
    "random: crng init done",
]


def padded_logs(count: int, target_bytes: list[int], seed: int = 1) -> list[str]:
    """`count` example logs, each padded with boot noise to one of the target sizes."""
    rng = random.Random(seed)
    examples = [e.text for e in iter_examples() if e.kind == "positive"]
    logs = []
    for index in range(count):
        body = examples[index % len(examples)]
        target = target_bytes[index % len(target_bytes)]
        noise: list[str] = []
        size = len(body)
        stamp = 0.0
        while size < target:
            stamp += rng.random()
            message = rng.choice(_BOOT_LINES).format(
                a=rng.choice("abcd"), n=rng.randrange(1, 64), big=rng.randrange(10**5, 10**7)
            )
            line = f"[{stamp:12.6f}] {message}\n"
            noise.append(line)
            size += len(line)
        logs.append("".join(noise) + body)
    return logs


def _loads(averages: tuple[float, float, float]) -> str:
    return "/".join(f"{value:.2f}" for value in averages)


HEAVY_MODULES = {"sklearn", "scipy", "joblib", "pandas", "matplotlib"}
REPO = Path(__file__).resolve().parents[1]


def cold_runs(runs: int, log: Path) -> None:
    """Time `panicdx diagnose LOG` in `runs` fresh interpreters and print the figures."""
    command = [sys.executable, "-m", "service.cli", "diagnose", str(log)]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)  # warm the file cache
    walls, cpus = [], []
    load_before = os.getloadavg()
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"cold `panicdx diagnose {log}`: {runs} runs")
    print(f"load average: {_loads(load_before)} at the start, {_loads(os.getloadavg())} at the end")
    wall, cpu = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
    print(
        f"wall: median {wall:.0f} ms, fastest {min(walls) * 1000:.0f} ms; "
        f"CPU (user+sys): median {cpu:.0f} ms, fastest {min(cpus) * 1000:.0f} ms"
    )


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=2000, help="number of logs to diagnose")
    parser.add_argument("--target-kb", default="10,20,50", help="log sizes in KB")
    parser.add_argument("--batch", type=int, default=256, help="logs per model call")
    parser.add_argument(
        "--cold", type=int, default=0, help="instead: time N cold `panicdx diagnose` runs"
    )
    parser.add_argument(
        "--cold-log", type=Path, default=Path("examples/nfs-hung-task.log"), help="for --cold"
    )
    args = parser.parse_args()
    if args.cold:
        cold_runs(args.cold, args.cold_log)
        return
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the goal says
    load_before = os.getloadavg()

    started, cpu_started = time.perf_counter(), time.process_time()
    from service.diagnoser import Diagnoser

    import_seconds = time.perf_counter() - started
    import_cpu = time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    diagnoser = Diagnoser.load(require_model=True)
    load_seconds = time.perf_counter() - started
    load_cpu = time.process_time() - cpu_started
    heavy = sorted({name.split(".")[0] for name in sys.modules} & HEAVY_MODULES)
    # The model alone, loaded again the same way (its files are in the page cache by now, as
    # they were for most of the first load too).
    from classifier.artifact import load_model

    started, cpu_started = time.perf_counter(), time.process_time()
    load_model()
    model_seconds = time.perf_counter() - started
    model_cpu = time.process_time() - cpu_started

    sizes = [int(kb) * 1024 for kb in args.target_kb.split(",")]
    logs = padded_logs(args.logs, sizes)
    mean_kb = statistics.mean(len(log) for log in logs) / 1024

    # Latency of one log on its own (the interactive case: one upload, one answer).
    latencies = []
    single = logs[:500]
    cpu0 = time.process_time()
    for log in single:
        t0 = time.perf_counter()
        diagnoser.diagnose_text(log)
        latencies.append(time.perf_counter() - t0)
    single_cpu = time.process_time() - cpu0
    latencies.sort()

    # Throughput of batches (the fleet case: `panicdx diagnose` on thousands of files).
    t0, cpu0 = time.perf_counter(), time.process_time()
    for start in range(0, len(logs), args.batch):
        diagnoser.diagnose_texts(logs[start : start + args.batch])
    batch_seconds = time.perf_counter() - t0
    batch_cpu = time.process_time() - cpu0

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"logs: {len(logs)} (mean {mean_kb:.1f} KB, sizes {args.target_kb} KB)")
    print(f"load average: {_loads(load_before)} at the start, {_loads(os.getloadavg())} at the end")
    print(f"import time: {import_seconds * 1000:.0f} ms (CPU {import_cpu * 1000:.0f} ms)")
    print(
        f"model + knowledge base load: {load_seconds * 1000:.0f} ms (CPU {load_cpu * 1000:.0f} ms)"
        f"; model alone {model_seconds * 1000:.0f} ms (CPU {model_cpu * 1000:.0f} ms)"
    )
    print(f"heavy modules imported by import + load: {', '.join(heavy) or 'none'}")
    print(
        f"single-log latency: p50 {statistics.median(latencies) * 1000:.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.2f} ms "
        f"({1 / statistics.mean(latencies):.0f} logs/s one at a time; "
        f"{len(single) / single_cpu:.0f} logs/s by CPU time)"
    )
    print(
        f"batched throughput: {len(logs) / batch_seconds:.0f} logs/s on one core "
        f"(batch {args.batch}; {len(logs) / batch_cpu:.0f} logs/s by CPU time)"
    )
    print(f"peak RSS: {peak_mb:.0f} MB")
    print(f"model version: {diagnoser.model.version if diagnoser.model else None}")


if __name__ == "__main__":
    main()
