#!/usr/bin/env python3
"""tests/server/no_sql_test.py: SQL stays in storage/ (issue #14).

app/ (the use cases) makes no sqlite3_* call and prepares no statement; in
server/ only the files listed in REMAINING still do, each at most as often as
listed, so the count can only go down.  A file that reaches zero must leave
the list.  Likewise server/ includes no storage/ header (it reaches storage
through app/): only the files in INCLUDES still do, at most as often as
listed; cmd/, oad's composition root, may.  Arguments: the server/, app/
and cmd/ sources.
"""
import os
import re
import sys

# server/ and cmd/ files that still reach SQLite directly, and how many lines do
# (to move into storage/ functions called through app/).
REMAINING = {
    'main.c': 4,
}

# server/ files that still include storage/ headers, and how many (to go
# through app/ instead; the composition root, cmd/, may include them).
INCLUDES = {
}
STORAGE_INCLUDE = re.compile(r'^\s*#\s*include\s+"storage/')

SQL = re.compile(r'\bsqlite3_|\boa_store_stmt\b|\boa_store_exec\b')
problems = []
counted = {}
included = {}
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
    if layer != 'server':
        continue
    with open(path, encoding='utf-8') as f:
        inc = sum(1 for line in f if STORAGE_INCLUDE.match(line))
    included[name] = inc
    if inc > INCLUDES.get(name, 0):
        problems.append('%s: %d storage/ includes, at most %d allowed (reach storage through app/)'
                        % (path, inc, INCLUDES.get(name, 0)))
for name, allowed in REMAINING.items():
    if counted.get(name, 0) == 0:
        problems.append('server/%s: no SQL left: remove it from REMAINING' % name)
for name, allowed in INCLUDES.items():
    if included.get(name, 0) == 0:
        problems.append('server/%s: includes no storage/ header: remove it from INCLUDES' % name)
if problems:
    print('\n'.join(problems))
    sys.exit(1)
print('PASS: no SQL in app/; server/ reaches SQLite only in %d listed files (%d lines) and includes storage/ '
      'headers only in %d listed files (%d includes)'
      % (len(REMAINING), sum(counted.get(k, 0) for k in REMAINING),
         len(INCLUDES), sum(included.get(k, 0) for k in INCLUDES)))
