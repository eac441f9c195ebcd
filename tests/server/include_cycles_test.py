#!/usr/bin/env python3
"""tests/server/include_cycles_test.py: no include cycle among server/*.c|h.

A file and its header are one module; module A depends on module B when a
file of A includes "server/B.h".  The connection layer (http) must know
nothing of sessions (auth) or of the handlers, and no two handler files may
need each other; app/ (the use cases) includes nothing of server/ (issue
#14).  Arguments: the server/ and app/ sources.
"""
import os
import re
import sys

deps = {}
upward = []
for path in sys.argv[1:]:
    name = os.path.basename(path)
    if os.path.basename(os.path.dirname(path)) == 'app':
        with open(path) as f:
            upward += ['%s includes %s' % (path, l.strip()) for l in f if re.match(r'\s*#\s*include\s+"server/', l)]
        continue
    if not name.endswith(('.c', '.h')):
        continue
    mod = name[:-2]
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*#\s*include\s+"server/([A-Za-z0-9_]+)\.h"', line)
            if m and m.group(1) != mod:
                deps.setdefault(mod, set()).add(m.group(1))

cycles = set()


def walk(mod, path):
    for dep in deps.get(mod, ()):
        if dep in path:
            c = path[path.index(dep):]
            k = c.index(min(c))
            cycles.add(tuple(c[k:] + c[:k]))
        else:
            walk(dep, path + [dep])


for mod in list(deps):
    walk(mod, [mod])
for c in sorted(cycles):
    print('include cycle: ' + ' -> '.join(c + (c[0],)))
if len(deps) < 10:
    print('too few modules read (%d): the test is not looking at server/' % len(deps))
    sys.exit(1)
for forbidden in (('http', 'auth'), ('http', 'handlers')):
    if forbidden[1] in deps.get(forbidden[0], ()):
        print('%s includes %s' % forbidden)
        cycles.add(forbidden)
for u in upward:
    print(u)
if cycles or upward:
    sys.exit(1)
# The suite's tally counts a test that is not Criterion's by this line.
print('PASS: no include cycles among %d modules of server/ and app/' % len(deps))
