/*
 * proto/catalogue.h: the records catalogue (归档文件目录, DA/T 22-2015) as
 * a file: CSV (RFC 4180, UTF-8) and XLSX (libxlsxwriter, written to a
 * memfd, never to a file on disk).  The entries are the catalogue's CBOR
 * maps as app/records_catalogue.c builds them: {item_no, archival_no,
 * responsible, doc_number, title, doc_date, pages, level_name, note}.
 */
#ifndef OA_PROTO_CATALOGUE_H
#define OA_PROTO_CATALOGUE_H

#include <cbor.h>
#include <stddef.h>

/* The columns, in order: 件号, 档号, 责任者, 文号, 题名, 日期, 页数, 密级, 备注. */
#define OA_CATALOGUE_COLUMNS 9
extern const char *const oa_catalogue_headers[OA_CATALOGUE_COLUMNS];

/*
 * The CSV of `entries` (an array of maps): a UTF-8 byte order mark (so a
 * spreadsheet reads it as UTF-8), the header row, one row per entry, CRLF
 * line ends, fields quoted when they hold a comma, quote or line break; a
 * field that a spreadsheet would take for a formula (=, +, -, @, tab, CR
 * first) is prefixed with '.  malloc'd (*len bytes); NULL when an entry is
 * not a map.
 */
char *oa_catalogue_csv(const cbor_item_t *entries, size_t *len);

/*
 * The XLSX workbook of `entries`: one sheet, 归档文件目录, with the header row
 * and one row per entry, every cell a string or a number (never a formula).
 * Written to a memfd (libxlsxwriter's own temporary files under /dev/shm
 * when it exists), read back into memory.  malloc'd (*len bytes), or NULL
 * with a reason in *why (static).
 */
unsigned char *oa_catalogue_xlsx(const cbor_item_t *entries, size_t *len, const char **why);

#endif
