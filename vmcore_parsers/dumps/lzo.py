"""LZO1X decompression (the classic bitstream makedumpfile's `-l` pages use), in pure Python.

No maintained LZO binding ships wheels for this platform, and a dump's kernel log needs only a
few hundred pages, so a small safe decoder is enough. It follows the LZO1X format as the Linux
kernel's `lib/lzo/lzo1x_decompress_safe.c` documents it: every read and back-reference is
bounds-checked, and output is capped, so a hostile page yields `LzoError`, never a hang.
"""

from __future__ import annotations

M2_MAX_OFFSET = 0x0800
# The longest run of zero bytes a length may be extended by (as the kernel bounds it).
MAX_255_COUNT = (1 << 24) // 255


class LzoError(ValueError):
    """The input is not a valid LZO1X stream (or expands past the output limit)."""


def _extend(data: bytes, ip: int, base: int) -> tuple[int, int]:
    """A length extended by zero bytes (255 each) and one final byte; returns (length, ip)."""
    start = ip
    end = len(data)
    while ip < end and data[ip] == 0:
        ip += 1
    if ip >= end:
        raise LzoError("input overrun in a length")
    zeros = ip - start
    if zeros > MAX_255_COUNT:
        raise LzoError("length too long")
    return zeros * 255 + base + data[ip], ip + 1


def decompress(data: bytes, max_output: int) -> bytes:
    """Decompress an LZO1X stream of at most `max_output` bytes; raise `LzoError` if bad."""
    out = bytearray()
    ip = 0
    end = len(data)
    state = 0

    def need(count: int) -> None:
        if ip + count > end:
            raise LzoError("input overrun")

    def copy_match(distance: int, length: int) -> None:
        start = len(out) - distance
        if start < 0:
            raise LzoError("back-reference before the start of the output")
        if len(out) + length > max_output:
            raise LzoError("output overrun")
        if distance >= length:
            out.extend(out[start : start + length])
        else:  # overlapping copy repeats the last `distance` bytes
            for index in range(length):
                out.append(out[start + index])

    def copy_literals(count: int) -> None:
        nonlocal ip
        need(count)
        if len(out) + count > max_output:
            raise LzoError("output overrun")
        out.extend(data[ip : ip + count])
        ip += count

    need(1)
    if data[0] > 17:
        t = data[0] - 17
        ip = 1
        copy_literals(t)
        state = t if t < 4 else 4
    while True:
        need(1)
        t = data[ip]
        ip += 1
        if t < 16:
            if state == 0:
                if t == 0:
                    t, ip = _extend(data, ip, 15)
                copy_literals(t + 3)
                state = 4
                continue
            need(1)
            if state != 4:
                distance = 1 + (t >> 2) + (data[ip] << 2)
                ip += 1
                copy_match(distance, 2)
            else:
                distance = 1 + M2_MAX_OFFSET + (t >> 2) + (data[ip] << 2)
                ip += 1
                copy_match(distance, 3)
            following = t & 3
        elif t >= 64:
            need(1)
            distance = 1 + ((t >> 2) & 7) + (data[ip] << 3)
            ip += 1
            copy_match(distance, (t >> 5) + 1)
            following = t & 3
        elif t >= 32:
            length = (t & 31) + 2
            if length == 2:
                length, ip = _extend(data, ip, 31)
                length += 2
            need(2)
            word = data[ip] | (data[ip + 1] << 8)
            ip += 2
            copy_match(1 + (word >> 2), length)
            following = word & 3
        else:
            high = (t & 8) << 11
            length = (t & 7) + 2
            if length == 2:
                length, ip = _extend(data, ip, 7)
                length += 2
            need(2)
            word = data[ip] | (data[ip + 1] << 8)
            ip += 2
            distance = high + (word >> 2)
            if distance == 0:  # the end-of-stream marker
                if length != 3:
                    raise LzoError("bad end-of-stream marker")
                return bytes(out)
            copy_match(distance + 0x4000, length)
            following = word & 3
        state = following
        if following:
            copy_literals(following)
