#!/usr/bin/env python3
"""tests/server/criterion_timeouts_test.py: no Criterion test sets .timeout.

Criterion 2.4.1 runs a test's .timeout through BoxFort's watchdog thread,
which now and then unlinks a pending request without freeing it.  Under
AddressSanitizer, LeakSanitizer then reports 48 bytes lost in the runner and
fails the target after every test passed (documents_test, 1 run in 6).
Bazel's per-target timeout (the target's size) bounds the tests instead.
Arguments: the Criterion test sources.
"""
import re
import sys

found = []
for path in sys.argv[1:]:
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if re.search(r'\.timeout\s*=', line): # a Criterion option, on whatever line of the macro
                found.append('%s:%d: %s' % (path, n, line.strip()))

if len(sys.argv) < 20:
    print('expected the test sources as arguments, got %d' % (len(sys.argv) - 1))
    sys.exit(1)
for f in found:
    print(f)
if found:
    sys.exit(1)
# The suite's tally counts a test that is not Criterion's by this line.
print('PASS: no Criterion .timeout in %d test sources' % (len(sys.argv) - 1))
