/* proto/catalogue.c: the catalogue as CSV and XLSX.  See catalogue.h. */
#include "proto/catalogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "proto/alloc.h"
#include "proto/value.h"

const char *const oa_catalogue_headers[OA_CATALOGUE_COLUMNS] = {
    "件号", "档号", "责任者", "文号", "题名", "日期", "页数", "密级", "备注",
};

static const char *const keys[OA_CATALOGUE_COLUMNS] = {
    "item_no", "archival_no", "responsible", "doc_number", "title", "doc_date", "pages", "level_name", "note",
};

/* The text of a cell: a text value, a number as decimal (into num), or "". */
static const char *cell(const cbor_item_t *m, const char *key, char num[24], size_t *n, bool *is_num)
{
    const cbor_item_t *v = pv_get(m, key);
    *is_num = false;
    if (v != NULL && cbor_isa_string(v) && cbor_string_is_definite(v)) {
        *n = cbor_string_length(v);
        return (const char *)cbor_string_handle(v);
    }
    if (v != NULL && cbor_isa_uint(v)) {
        *n = (size_t)snprintf(num, 24, "%llu", (unsigned long long)cbor_get_int(v));
        *is_num = true;
        return num;
    }
    *n = 0;
    return "";
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 4096;
        b->p = oa_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_field(struct buf *b, const char *s, size_t n)
{
    bool formula = n > 0 && strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = formula || memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) || memchr(s, '\r', n);
    if (!quote) {
        put(b, s, n);
        return;
    }
    put(b, "\"", 1);
    if (formula)
        put(b, "'", 1);
    for (size_t i = 0; i < n; i++)
        put(b, s[i] == '"' ? "\"\"" : s + i, s[i] == '"' ? 2 : 1);
    put(b, "\"", 1);
}

char *oa_catalogue_csv(const cbor_item_t *entries, size_t *len)
{
    struct buf b = {0};
    put(&b, "\xEF\xBB\xBF", 3);
    for (int c = 0; c < OA_CATALOGUE_COLUMNS; c++) {
        if (c)
            put(&b, ",", 1);
        put_field(&b, oa_catalogue_headers[c], strlen(oa_catalogue_headers[c]));
    }
    put(&b, "\r\n", 2);
    for (size_t i = 0; i < cbor_array_size(entries); i++) {
        const cbor_item_t *m = cbor_array_handle(entries)[i];
        if (!cbor_isa_map(m)) {
            free(b.p);
            return NULL;
        }
        for (int c = 0; c < OA_CATALOGUE_COLUMNS; c++) {
            char num[24];
            size_t n;
            bool is_num;
            const char *v = cell(m, keys[c], num, &n, &is_num);
            if (c)
                put(&b, ",", 1);
            if (c == 0 && is_num) {
                /* 件号 keeps its four digits. */
                char item[24];
                snprintf(item, sizeof(item), "%04llu", (unsigned long long)strtoull(v, NULL, 10));
                put(&b, item, strlen(item));
            } else {
                put_field(&b, v, n);
            }
        }
        put(&b, "\r\n", 2);
    }
    *len = b.len;
    return b.p;
}

/* A NUL-terminated copy of a cell for libxlsxwriter, in a buffer of cap bytes. */
static const char *cell_z(const cbor_item_t *m, const char *key, char *out, size_t cap, bool *is_num)
{
    char num[24];
    size_t n;
    const char *v = cell(m, key, num, &n, is_num);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

unsigned char *oa_catalogue_xlsx(const cbor_item_t *entries, size_t *len, const char **why)
{
    unsigned char *out = NULL;
    char path[64], text[4096];
    int fd = memfd_create("oa-catalogue.xlsx", MFD_CLOEXEC);
    if (fd < 0) {
        *why = "memfd_create failed";
        return NULL;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct stat st;
    lxw_workbook_options opts = {.constant_memory = LXW_FALSE,
                                 .tmpdir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : NULL,
                                 .use_zip64 = LXW_FALSE};
    lxw_workbook *wb = workbook_new_opt(path, &opts);
    if (wb == NULL) {
        *why = "the workbook could not be created";
        goto out;
    }
    lxw_worksheet *ws = workbook_add_worksheet(wb, "归档文件目录");
    lxw_format *head = workbook_add_format(wb);
    format_set_bold(head);
    bool ok = ws != NULL;
    for (int c = 0; ok && c < OA_CATALOGUE_COLUMNS; c++)
        ok = worksheet_write_string(ws, 0, (lxw_col_t)c, oa_catalogue_headers[c], head) == LXW_NO_ERROR;
    size_t rows = cbor_array_size(entries);
    if (rows > LXW_ROW_MAX - 1)
        rows = LXW_ROW_MAX - 1;
    for (size_t i = 0; ok && i < rows; i++) {
        const cbor_item_t *m = cbor_array_handle(entries)[i];
        if (!cbor_isa_map(m)) {
            ok = false;
            break;
        }
        for (int c = 0; ok && c < OA_CATALOGUE_COLUMNS; c++) {
            bool is_num;
            const char *v = cell_z(m, keys[c], text, sizeof(text), &is_num);
            if (c == 0 && is_num) {
                char item[24];
                snprintf(item, sizeof(item), "%04llu", (unsigned long long)strtoull(v, NULL, 10));
                ok = worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, item, NULL) == LXW_NO_ERROR;
            } else if (is_num) {
                ok = worksheet_write_number(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, strtod(v, NULL), NULL) ==
                     LXW_NO_ERROR;
            } else {
                ok = worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, v, NULL) == LXW_NO_ERROR;
            }
        }
    }
    if (workbook_close(wb) != LXW_NO_ERROR || !ok) {
        *why = "the workbook could not be written";
        goto out;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || lseek(fd, 0, SEEK_SET) != 0) {
        *why = "the workbook is empty";
        goto out;
    }
    out = oa_xmalloc((size_t)size);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, out + got, (size_t)size - got);
        if (n <= 0) {
            free(out);
            out = NULL;
            *why = "the workbook could not be read back";
            goto out;
        }
        got += (size_t)n;
    }
    *len = got;
out:
    close(fd);
    return out;
}
