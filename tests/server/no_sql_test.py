#!/usr/bin/env python3
"""tests/server/no_sql_test.py: SQL stays in storage/ (issue #14).

app/ (the use cases) makes no sqlite3_* call and prepares no statement; in
server/ only the files listed in REMAINING still do, each at most as often as
listed, so the count can only go down.  A file that reaches zero must leave
the list.  server/ includes no storage/ header: it reaches storage through
app/ (cmd/, oad's composition root, may include them).  Nor do app/'s
headers, which server/ includes, bring storage/ declarations along (a list
APP_HEADERS of exceptions is empty).  Arguments: the server/, app/ and
cmd/ sources.
"""
import os
import re
import sys

# server/ and cmd/ files that still reach SQLite directly, and how many lines do
# (to move into storage/ functions called through app/).
REMAINING = {
    'main.c': 4,
}

# app/ headers that still include storage/ headers, and how many: none since
# the list query moved to model/doc_query.h; a new one fails.
APP_HEADERS = {}
STORAGE_INCLUDE = re.compile(r'^\s*#\s*include\s+"storage/')

SQL = re.compile(r'\bsqlite3_|\boa_store_stmt\b|\boa_store_exec\b')
problems = []
counted = {}
included = {}
app_included = {}
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
        if name.endswith('.h'):
            with open(path, encoding='utf-8') as f:
                inc = sum(1 for line in f if STORAGE_INCLUDE.match(line))
            app_included[name] = inc
            if inc > APP_HEADERS.get(name, 0):
                problems.append('%s: %d storage/ includes, at most %d allowed (server/ includes app/ headers: '
                                'use model/ types or a forward declaration)' % (path, inc, APP_HEADERS.get(name, 0)))
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
    if inc:
        problems.append('%s: includes storage/ (server/ reaches storage through app/)' % path)
for name, allowed in REMAINING.items():
    if counted.get(name, 0) == 0:
        problems.append('server/%s: no SQL left: remove it from REMAINING' % name)
for name, allowed in APP_HEADERS.items():
    if app_included.get(name, 0) == 0:
        problems.append('app/%s: includes no storage/ header: remove it from APP_HEADERS' % name)
if len(included) < 20:
    problems.append('too few server/ files read (%d): the test is not looking at server/' % len(included))
if problems:
    print('\n'.join(problems))
    sys.exit(1)
print('PASS: no SQL in app/; SQLite reached only in %d listed files (%d lines); no storage/ include in %d server/ '
      'files; storage/ includes in %d listed app/ headers'
      % (len(REMAINING), sum(counted.get(k, 0) for k in REMAINING), len(included),
         sum(app_included.get(k, 0) for k in APP_HEADERS)))
