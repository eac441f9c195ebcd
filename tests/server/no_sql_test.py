#!/usr/bin/env python3
"""tests/server/no_sql_test.py: SQL stays in storage/ (issue #14).

app/ (the use cases) makes no sqlite3_* call and prepares no statement; in
server/ only the files listed in REMAINING still do, each at most as often as
listed, so the count can only go down.  A file that reaches zero must leave
the list.  Arguments: the server/ and app/ sources.
"""
import os
import re
import sys

# server/ files that still reach SQLite directly, and how many lines do
# (to move into storage/ functions called through app/).
REMAINING = {
    'main.c': 4,
}

SQL = re.compile(r'\bsqlite3_|\boa_store_stmt\b|\boa_store_exec\b')
problems = []
counted = {}
for path in sys.argv[1:]:
    if not path.endswith(('.c', '.h')):
        continue
    layer = os.path.basename(os.path.dirname(path))
    name = os.path.basename(path)
    with open(path, encoding='utf-8') as f:
        n = sum(1 for line in f if SQL.search(line))
    if layer == 'app':
        if n:
            problems.append('%s: %d lines of SQL in app/ (use a storage/ function)' % (path, n))
        continue
    counted[name] = n
    allowed = REMAINING.get(name, 0)
    if n > allowed:
        problems.append('%s: %d lines reach SQLite, at most %d allowed (move the SQL into storage/)' % (path, n, allowed))
for name, allowed in REMAINING.items():
    if counted.get(name, 0) == 0:
        problems.append('server/%s: no SQL left: remove it from REMAINING' % name)
if problems:
    print('\n'.join(problems))
    sys.exit(1)
print('PASS: no SQL in app/; server/ reaches SQLite only in %d listed files (%d lines)'
      % (len(REMAINING), sum(counted.get(k, 0) for k in REMAINING)))
