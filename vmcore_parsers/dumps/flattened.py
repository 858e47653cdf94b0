"""makedumpfile's flattened format (`-F`, kdump over ssh, QEMU 7.2's `kdump-*` formats).

The stream is a 4096-byte header ("makedumpfile", type 1, version 1, big-endian) and then
records: a big-endian (offset, size) pair and `size` bytes that belong at `offset` of the
reassembled file; a pair of -1s ends it. One streaming pass over the record headers (the data
is skipped, not read) builds an index of where each record's bytes sit, and reads of the
reassembled file are served from that index. Later records win where records overlap, as
they do when makedumpfile rewrites its header at the end.
"""

from __future__ import annotations

import bisect
import struct
from array import array

from vmcore_parsers.dumps.source import ByteSource, check_span
from vmcore_parsers.errors import DumpCorrupt, DumpTruncated, UnsupportedFormat

HEADER_SIZE = 4096
RECORD = struct.Struct(">qq")
END_FLAG = -1
SIGNATURE = b"makedumpfile"


class FlattenedSource:
    """The file a flattened stream reassembles to, read through an index of its records."""

    def __init__(self, inner: ByteSource, max_records: int = 50_000_000) -> None:
        self.inner = inner
        head = inner.read(0, 32)
        if not head.startswith(SIGNATURE):
            raise UnsupportedFormat("not a makedumpfile flattened stream")
        kind, version = struct.unpack_from(">qq", head, 16)
        if kind != 1:
            raise DumpCorrupt(f"flattened stream of unknown type {kind}")
        self.version = version
        self.warnings: list[str] = []
        # True when the stream ends before its end marker: bytes the writer meant to send
        # never arrived, and ranges it did not reach read back as zeros.
        self.truncated = False
        self._build_index(max_records)

    def _build_index(self, max_records: int) -> None:
        # Records sorted by logical offset with their position in the stream; arrays of
        # machine integers keep the index to 24 bytes per record.
        logical = array("q")
        lengths = array("q")
        positions = array("q")
        position = HEADER_SIZE
        total = self.inner.size
        ended = False
        in_order = True
        last_end = -1
        while position + RECORD.size <= total:
            offset, size = RECORD.unpack(self.inner.read(position, RECORD.size))
            position += RECORD.size
            if offset == END_FLAG and size == END_FLAG:
                ended = True
                break
            if offset < 0 or size <= 0 or size > (1 << 40):
                raise DumpCorrupt(
                    f"flattened record at {position - 16} has offset {offset}, size {size}"
                )
            if position + size > total:
                self.warnings.append("the flattened stream is truncated inside a record")
                self.truncated = True
                size = total - position
            if len(logical) >= max_records:
                raise DumpCorrupt(f"flattened stream has more than {max_records} records")
            if offset < last_end:
                in_order = False
            last_end = offset + size
            logical.append(offset)
            lengths.append(size)
            positions.append(position)
            position += size
        if not ended:
            self.warnings.append("the flattened stream has no end marker (truncated)")
            self.truncated = True
        if not logical:
            raise DumpTruncated("the flattened stream holds no data")
        if not in_order:
            logical, lengths, positions = _resolve_overlaps(logical, lengths, positions)
        self._logical = logical
        self._lengths = lengths
        self._positions = positions
        self.size = max(o + n for o, n in zip(logical, lengths, strict=True))

    def read(self, offset: int, size: int) -> bytes:
        """Exactly `size` bytes at `offset` of the reassembled file (gaps read as zeros)."""
        check_span(offset, size, self.size, "a read")
        out = bytearray()
        index = bisect.bisect_right(self._logical, offset) - 1
        while size > 0:
            if index >= 0 and offset < self._logical[index] + self._lengths[index]:
                inside = offset - self._logical[index]
                take = min(size, self._lengths[index] - inside)
                out += self.inner.read(self._positions[index] + inside, take)
            else:
                following = self._logical[index + 1] if index + 1 < len(self._logical) else None
                # makedumpfile seeks over ranges it never writes: they read back as zeros.
                take = size if following is None else min(size, following - offset)
                out += bytes(take)
            offset += take
            size -= take
            index += 1
        return bytes(out)

    def close(self) -> None:
        """Close the underlying stream."""
        self.inner.close()


def _resolve_overlaps(
    logical: array[int], lengths: array[int], positions: array[int]
) -> tuple[array[int], array[int], array[int]]:
    """Sort records by offset; where records overlap, the later one in the stream wins."""
    # Writers interleave descriptor and page-data records, so sorting is the usual work;
    # true overlaps (a header rewritten at the end) are rare and resolved cluster by cluster.
    order = sorted(range(len(logical)), key=logical.__getitem__)
    out_logical, out_lengths, out_positions = array("q"), array("q"), array("q")
    cluster: list[int] = []
    cluster_end = -1

    def flush() -> None:
        if len(cluster) == 1:
            only = cluster[0]
            out_logical.append(logical[only])
            out_lengths.append(lengths[only])
            out_positions.append(positions[only])
        else:
            for start, length, position in _newest_wins(cluster, logical, lengths, positions):
                out_logical.append(start)
                out_lengths.append(length)
                out_positions.append(position)

    for index in order:
        if cluster and logical[index] >= cluster_end:
            flush()
            cluster = []
        cluster.append(index)
        cluster_end = max(cluster_end, logical[index] + lengths[index])
    if cluster:
        flush()
    return out_logical, out_lengths, out_positions


def _newest_wins(
    cluster: list[int], logical: array[int], lengths: array[int], positions: array[int]
) -> list[tuple[int, int, int]]:
    """Disjoint (start, length, position) pieces of overlapping records, newest on top."""
    claimed: list[tuple[int, int]] = []  # disjoint spans already taken by newer records
    pieces: list[tuple[int, int, int]] = []
    for index in sorted(cluster, reverse=True):  # record order in the stream = index order
        start, end, position = logical[index], logical[index] + lengths[index], positions[index]
        cursor = start
        for taken_start, taken_end in claimed:
            if taken_end <= cursor or taken_start >= end:
                continue
            if taken_start > cursor:
                pieces.append((cursor, taken_start - cursor, position + cursor - start))
            cursor = max(cursor, taken_end)
        if cursor < end:
            pieces.append((cursor, end - cursor, position + cursor - start))
        claimed = _merge(sorted([*claimed, (start, end)]))
    return sorted(pieces)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
