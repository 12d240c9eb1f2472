#!/usr/bin/python3
"""bench/reload_gen.py N OUT [variant]: a config of N endpoints on closed ports of 127.0.0.2, 60 s interval, 2 workers, sqlite, web.
variant: base | url (endpoint 7's URL changed) | add (one more) | global (latency_threshold changed)"""
import sys
n = int(sys.argv[1]); out = sys.argv[2]; var = sys.argv[3] if len(sys.argv) > 3 else "base"
lat = "2.0" if var == "global" else "1.0"
with open(out + ".tmp", "w") as f:
    f.write('supervisor = { workers = 2; run_dir = "run"; log_level = "info"; };\n')
    f.write('database = { db_activation = true; db_driver = "sqlite"; db_name = "cw.db"; };\n')
    f.write('web = { listen = "127.0.0.1:%s"; };\n' % sys.argv[4] if len(sys.argv) > 4 else '')
    f.write('monitor = { check_interval = 60; latency_threshold = %s; endpoints = (\n' % lat)
    m = n + (1 if var == "add" else 0)
    for i in range(m):
        path = "/e/%d" % i
        if var == "url" and i == 7: path = "/e/7x"
        f.write('  { url = "http://127.0.0.2:9/e%s"; }%s\n' % (path, "," if i < m - 1 else ""))
    f.write('); };\n')
import os; os.replace(out + ".tmp", out)
