/*
 * workflow/number.h: the document number (发文字号) format (pure).
 *
 * A number is the organ's prefix, the year in 〔〕 and the sequence number
 * followed by 号: "某府办发〔2026〕12号" (GB/T 9704-2012 7.2.4).  Sequences
 * are allocated per organ, prefix and year by storage/documents.c.
 */
#ifndef OA_WORKFLOW_NUMBER_H
#define OA_WORKFLOW_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes the number for (prefix, year, seq) into out (outlen bytes, always
 * NUL-terminated when outlen > 0).  Returns false when it did not fit (out
 * then holds as much as fitted, as snprintf leaves it).
 */
bool oa_number_format(const char *prefix, int year, int64_t seq, char *out, size_t outlen);

#endif
