/* model/account.c: see account.h. */
#include "model/account.h"

#include <stdlib.h>

void oa_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}
