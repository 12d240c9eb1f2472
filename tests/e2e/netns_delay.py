#!/usr/bin/python3
"""tests/e2e/netns_delay.py — a one-way delay line between a host's bridge port and the bridge, for kernels without
sch_netem (tests/e2e/netns.py, Network.delay). Runs in the bridge's namespace:

    netns_delay.py PORT TAP MS

PORT is the host's veth end (taken out of the bridge, promiscuous), TAP a tap device in the bridge. Every frame the
host sends (read from PORT with a packet socket) is written to TAP MS milliseconds later; every frame of the bridge
for the host (read from TAP) is sent on PORT at once: the host's traffic gets MS more one way, as
`tc qdisc add dev eth0 root netem delay MSms` on the host would. Frames arrive whole because the host's offloads are
off (netns.py). Prints "ready" once both ends are open; runs until stdin closes or a signal ends it.
"""

import collections
import fcntl
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI).ljust(40, b"\0"))
    return fd


def main():
    port, tap, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000.0
    wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    wire.bind((port, 0))
    wire.setblocking(False)
    tap_fd = open_tap(tap)
    held = collections.deque()  # (due, frame): the host's frames in sending order, all with the same delay
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            try:
                os.write(tap_fd, held.popleft()[1])
            except OSError:
                pass  # the bridge side is down (a cut link): the frame is lost, as on a wire
        wait = max(0.0, held[0][0] - now) if held else 1.0
        ready, _, _ = select.select([wire, tap_fd, stdin], [], [], wait)
        if stdin in ready and not os.read(stdin, 4096):
            return 0
        if wire in ready:
            for _ in range(256):
                try:
                    frame, addr = wire.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING:
                    held.append((time.monotonic() + delay, frame))
        if tap_fd in ready:
            for _ in range(256):
                try:
                    frame = os.read(tap_fd, 65536)
                except BlockingIOError:
                    break
                try:
                    wire.send(frame)
                except OSError:
                    pass


if __name__ == "__main__":
    sys.exit(main())
