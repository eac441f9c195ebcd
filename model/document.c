/* model/document.c: see document.h. */
#include "model/document.h"

#include <stdlib.h>

void oa_doc_free(struct oa_doc *d)
{
    free(d->body);
    d->body = NULL;
}
