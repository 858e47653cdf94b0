"""The widget module's pure helpers, run inside Chromium on the module the server serves.

The end-to-end tests cover what the real server sends; these cover what it could send too: SSE
frames split anywhere across network chunks (CRLF line ends, comments, multi-line data) and
evidence windows that touch or overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web_helpers import Console, Server

SSE_JS = """async ([chunks]) => {
  const { readServerSentEvents } = await import("/widget/panic-diagnosis.js");
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  const events = [];
  for await (const event of readServerSentEvents(body)) events.push(event);
  return events;
}"""

STREAM = (
    ": keep-alive comment\r\n\r\n"
    'event: state\r\ndata: {"state": "queued"}\r\n\r\n'
    'event: state\ndata: {"state":\ndata:  "extracting"}\n\n'
    'event: done\ndata: {"state": "done"}\n\n'
)
EXPECTED = [
    {"event": "state", "data": '{"state": "queued"}'},
    {"event": "state", "data": '{"state":\n "extracting"}'},
    {"event": "done", "data": '{"state": "done"}'},
]


@pytest.fixture
def module_page(open_console: Callable[..., Console], server: Server) -> Console:
    """A page on the console origin, so the module is imported from the real server."""
    console = open_console()
    console.open()
    return console


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, len(STREAM)])
def test_sse_reader_handles_any_chunking(module_page: Console, chunk_size: int) -> None:
    chunks = [STREAM[i : i + chunk_size] for i in range(0, len(STREAM), chunk_size)]
    events: list[dict[str, Any]] = module_page.page.evaluate(SSE_JS, [chunks])
    assert events == EXPECTED


def test_sse_reader_keeps_an_unterminated_last_event(module_page: Console) -> None:
    events = module_page.page.evaluate(SSE_JS, [['event: failed\ndata: {"state": "failed"}']])
    assert events == [{"event": "failed", "data": '{"state": "failed"}'}]


@pytest.mark.parametrize(
    ("lines", "total", "expected"),
    [
        ([5], 100, [{"start": 2, "end": 8}]),
        ([1], 100, [{"start": 1, "end": 4}]),
        ([100], 100, [{"start": 97, "end": 100}]),
        ([5, 9], 100, [{"start": 2, "end": 12}]),  # windows that touch merge
        ([5, 13], 100, [{"start": 2, "end": 8}, {"start": 10, "end": 16}]),
        ([30, 5, 5], 100, [{"start": 2, "end": 8}, {"start": 27, "end": 33}]),
        ([0, -3], 100, []),  # not line numbers
    ],
)
def test_context_windows_around_evidence(
    module_page: Console, lines: list[int], total: int, expected: list[dict[str, int]]
) -> None:
    hunks = module_page.page.evaluate(
        """async ([lines, total]) => {
            const { contextHunks } = await import("/widget/panic-diagnosis.js");
            return contextHunks(lines, total);
        }""",
        [lines, total],
    )
    assert hunks == expected


def test_percent_wording_never_claims_certainty(module_page: Console) -> None:
    shown = module_page.page.evaluate(
        """async (values) => {
            const { formatPercent } = await import("/widget/panic-diagnosis.js");
            return values.map(formatPercent);
        }""",
        [0, 0.001, 0.5, 0.994, 0.996, 1],
    )
    assert shown == ["0%", "<1%", "50%", "99%", ">99%", ">99%"]
