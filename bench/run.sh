#!/bin/sh
# bench/run.sh — entry of `make bench` (full) and `make bench-smoke` (smoke): runs bench/run.py with
# Debian's python3, which sees python3-zmq.
set -e
exec /usr/bin/python3 "$(dirname "$0")/run.py" "${1:-smoke}"
