"""Turn kernel logs (and, later, crash dumps) into `PanicReport`s.

`parse_log(text)` is the one pure function from text to report; everything that reads files
or dumps produces text and calls it.
"""

from vmcore_parsers.parse import parse_log
from vmcore_parsers.report import CrashType, Event, EventKind, Frame, LogLine, PanicReport

__all__ = ["CrashType", "Event", "EventKind", "Frame", "LogLine", "PanicReport", "parse_log"]
