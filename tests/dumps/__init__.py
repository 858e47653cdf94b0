"""Real crash dumps as test fixtures: boot a Debian kernel under QEMU, crash it, dump it.

`python -m tests.dumps.build_dumps --help` builds them; tests/vmcore uses them.
"""
