/* model/records.h: what the records catalogue lists (storage/records.h reads it, app/ and server/ ask). */
#ifndef OA_MODEL_RECORDS_H
#define OA_MODEL_RECORDS_H

#include <stdbool.h>

/* What the catalogue lists: each filter is NULL/0/"" for any. */
struct oa_rec_filter {
    const char *fonds;
    int year;
    const char *retention;
    const char *class_code;
    const char *state;  /* NULL: filed and transferred (not disposed) */
    bool due_in;        /* only records past retention in year `due_in_year` (appraisal list) */
    int due_in_year;
};

#endif
