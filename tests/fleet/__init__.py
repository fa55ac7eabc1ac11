"""Many processes on one API key, against a server that enforces a window (issue #15).

These tests take real time (processes, windows of seconds, Redis's clock): about 40 s. The
Python 3.10 step of .ci/run leaves them out with `--ignore=tests/fleet`.
"""
