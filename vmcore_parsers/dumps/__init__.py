"""Crash-dump readers: formats, wrappers, VMCOREINFO, address translation and the printk log.

Each module has one job; `vmcore_parsers.dumps.dmesg.read_dump_dmesg` ties them together.
"""
