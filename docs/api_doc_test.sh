#!/bin/sh
# docs/API.md has a section for every route of server/routes.c and a row for
# every error code of proto/errors.h, with its status.
# Usage: api_doc_test.sh API_MD ROUTES_C ERRORS_H
set -u
doc=$1
routes=$2
errors=$3
missing=0
n=0
for route in $(grep -o '^    {"[A-Z]*", "[^"]*"' "$routes" | sed 's/^    {"\([A-Z]*\)", "\([^"]*\)"/\1:\2/'); do
    method=${route%%:*}
    path=$(echo "${route#*:}" | sed 's/{}/{[a-z]*}/g')
    n=$((n + 1))
    if ! grep -Eq "^#### \`$method $path(\`|\[|\?)" "$doc"; then
        echo "docs/API.md has no section for $method ${route#*:} (a heading '#### \`$method ...\`')" >&2
        missing=1
    fi
done
m=0
for e in $(grep -o 'X([A-Z_]*, *[0-9]*, *"[a-z_]*"' "$errors" | sed 's/.*, *\([0-9]*\), *"\([a-z_]*\)"/\2:\1/'); do
    m=$((m + 1))
    if ! grep -q "^| \`${e%%:*}\` | ${e#*:} |" "$doc"; then
        echo "docs/API.md has no row for error ${e%%:*} (status ${e#*:}) in its error table" >&2
        missing=1
    fi
done
if [ "$n" -lt 50 ] || [ "$m" -lt 25 ]; then
    echo "found only $n routes and $m error codes: the patterns no longer match server/routes.c or proto/errors.h" >&2
    exit 1
fi
[ "$missing" -eq 0 ] || exit 1
echo "PASS: docs/API.md covers the $n routes of server/routes.c and the $m error codes of proto/errors.h"
