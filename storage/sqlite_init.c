/* storage/sqlite_init.c: see sqlite_init.h. */
#include "storage/sqlite_init.h"

#include <sqlite3.h>

void oa_sqlite_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
