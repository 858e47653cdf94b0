"""Benchmark training with labelled panics: wall time and peak memory at 1k, 10k, 100k labels.

Run: `.venv/bin/python benchmarks/bench_train.py [--sizes 1000,10000,100000] [--no-cv]`

For each size N, a fresh subprocess (so peak RSS is that run's alone):

1. makes N labelled panics from the knowledge base's example logs with the project's
   augmentation (`classifier.corpus.samples_for`, another seed than the shipped corpus), each
   labelled with its example's root cause: the shape of a bulk import of real panics, many of
   them copies of the same bugs;
2. **labels**: validates them and computes their crash signatures (`classifier.labels.
   make_label`), which is what `panicdx labels import` does before storing;
3. **train**: `classifier.learn.train_with_labels`, what `panicdx train --data-dir` runs:
   deduplication, corpus + labels featurized, grouped cross-validation (unless `--no-cv`),
   the frozen evaluation of candidate, active recipe and baseline, the final fit, the report
   and plots.

With `--store`, the labels are also written to a fresh SQLite data directory with local blobs
(`service.learning.store_labels`, what the import stores) and read back (`load_labels`, what
`panicdx train --data-dir` reads), and training uses what was read back; both are timed.
Step 1 is data preparation and not timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _store_and_load(labels: list[Any], data_dir: Path) -> tuple[list[Any], float, float]:
    """Store the labels in a fresh SQLite data dir, read them back: (labels, store s, load s)."""
    from service.blobs import open_blob_store
    from service.db.migrate import upgrade_database
    from service.db.repo.tenants import get_or_create_tenant
    from service.db.session import open_database
    from service.learning import load_labels, store_labels
    from service.settings import get_settings

    settings = get_settings(data_dir)
    upgrade_database(settings)
    database = open_database(settings)
    blobs = open_blob_store(settings)
    try:
        started = time.perf_counter()
        with database.write_session() as session:
            tenant = get_or_create_tenant(session, "bench")
            store_labels(session, blobs, tenant.id, labels)
            session.commit()
        stored = time.perf_counter() - started
        started = time.perf_counter()
        with database.session() as session:
            loaded, _ = load_labels(session, blobs)
        return loaded, stored, time.perf_counter() - started
    finally:
        database.dispose()


def _one(size: int, cross_validate: bool, store: bool) -> dict[str, float | int]:
    from classifier.artifact import read_manifest
    from classifier.corpus import kb_sources, samples_for
    from classifier.labels import KnownCauses, make_label
    from classifier.learn import ActiveRecipe, train_with_labels

    known = KnownCauses.from_knowledge_base()
    sources = kb_sources()
    per_source = math.ceil(size / len(sources))
    texts: list[tuple[str, str]] = []
    for source in sources:
        for sample in samples_for(source, seed=4242, variants=per_source - 1):
            texts.append((sample.text, sample.label))
            if len(texts) >= size:
                break
        if len(texts) >= size:
            break
    # Round-robin order matters little; sizes below the number of sources take the first.
    texts = texts[:size]

    started, cpu = time.perf_counter(), _cpu_seconds()
    labels = [make_label(text, label, known=known, author="bench") for text, label in texts]
    label_seconds = time.perf_counter() - started
    label_cpu = _cpu_seconds() - cpu
    del texts

    recipe = ActiveRecipe.from_manifest(read_manifest(Path("classifier/models/default")))
    extra: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if store:
            labels, store_s, load_s = _store_and_load(labels, Path(tmp) / "data")
            extra = {"store_seconds": round(store_s, 1), "load_seconds": round(load_s, 1)}
        started, cpu = time.perf_counter(), _cpu_seconds()
        result = train_with_labels(labels, Path(tmp), active=recipe, cross_validate=cross_validate)
        train_seconds = time.perf_counter() - started
        train_cpu = _cpu_seconds() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    training = result.metrics["training"]
    return {
        "labels": size,
        "unique": training["unique_labels"],
        "label_samples": training["label_samples"],
        "label_seconds": round(label_seconds, 1),
        "label_cpu_seconds": round(label_cpu, 1),
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        **extra,
        "peak_rss_mb": round(peak_mb),
    }


def main() -> None:
    """Run each size in its own process and print one line per size, then a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument(
        "--store",
        action="store_true",
        help="also store the labels in a SQLite data dir and train from what is read back",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_one(args.one, not args.no_cv, args.store)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(size)]
        if args.no_cv:
            command.append("--no-cv")
        if args.store:
            command.append("--store")
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["process_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(
        "\n| labelled panics | unique (signature, label) | label samples trained | "
        "labels: parse + validate (wall / CPU) | train (wall / CPU) | peak RSS | load avg |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['labels']:,} | {row['unique']:,} | {row['label_samples']:,} "
            f"| {row['label_seconds']} s / {row['label_cpu_seconds']} s "
            f"| {row['train_seconds']} s / {row['train_cpu_seconds']} s "
            f"| {row['peak_rss_mb']} MB | {row['load_average_1m']} |"
        )
        if "store_seconds" in row:
            print(
                f"  stored in SQLite + blobs in {row['store_seconds']} s, "
                f"read back in {row['load_seconds']} s"
            )


if __name__ == "__main__":
    main()
