"""The ``twinai`` command line: parse, call the library, render.

Each sub-command lives in its own module ``twinai.cli.cmd_<name>`` that
exposes a click command or group called ``command``; :mod:`twinai.cli.main`
finds them, so a new command needs no edit elsewhere.
"""
