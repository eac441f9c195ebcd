/* storage/schema.h: internal to storage/: the migration list. */
#ifndef OA_STORAGE_SCHEMA_H
#define OA_STORAGE_SCHEMA_H

int oa_schema_version(void);
/* The SQL that brings the schema from version-1 to version, or NULL. */
const char *oa__schema_migration(int version);

#endif
