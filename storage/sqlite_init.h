/*
 * storage/sqlite_init.h: SQLite's process-wide settings, made before its
 * first use.  Every path that may be the first to touch SQLite (opening a
 * store, registering the encrypting VFS) calls oa_sqlite_init() first.
 */
#ifndef OA_STORAGE_SQLITE_INIT_H
#define OA_STORAGE_SQLITE_INIT_H

/* Idempotent.  Turns off SQLite's global allocation statistics: with them
 * every SQLite malloc and free takes one process-wide mutex, which the writer
 * and the reader threads would contend for.  sqlite3_config() is refused once
 * SQLite is initialised (sqlite3_vfs_find and sqlite3_vfs_register initialise
 * it), hence one place that runs before either. */
void oa_sqlite_init(void);

#endif
