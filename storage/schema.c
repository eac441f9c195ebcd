/*
 * storage/schema.c: the numbered migrations.  Migration N brings the schema
 * from version N-1 to N; they are applied in order, in one transaction, and
 * never edited once released: a change is a new migration.
 */
#include "storage/schema.h"

#include <stddef.h>

static const char *const migrations[] = {
    /* 1: the foundation: metadata, change sequence, organisation, accounts,
     *    sessions and the audit trail. */
    "CREATE TABLE meta ("
    "  key   TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE changes ("
    "  seq       INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  entity    TEXT NOT NULL,"
    "  entity_id INTEGER NOT NULL,"
    "  kind      TEXT NOT NULL,"
    "  at        INTEGER NOT NULL"
    ");"
    "CREATE INDEX changes_entity ON changes(entity, entity_id);"

    "CREATE TABLE organs ("
    "  id    INTEGER PRIMARY KEY,"
    "  code  TEXT NOT NULL UNIQUE,"
    "  name  TEXT NOT NULL"
    ");"
    "CREATE TABLE departments ("
    "  id       INTEGER PRIMARY KEY,"
    "  organ_id INTEGER NOT NULL REFERENCES organs(id),"
    "  code     TEXT NOT NULL,"
    "  name     TEXT NOT NULL,"
    "  UNIQUE (organ_id, code)"
    ");"

    "CREATE TABLE users ("
    "  id             INTEGER PRIMARY KEY,"
    "  username       TEXT NOT NULL UNIQUE,"
    "  display_name   TEXT NOT NULL,"
    "  department_id  INTEGER REFERENCES departments(id),"
    "  roles          INTEGER NOT NULL,"
    "  clearance      INTEGER NOT NULL DEFAULT 0 CHECK (clearance BETWEEN 0 AND 4),"
    "  pw_hash        TEXT NOT NULL,"
    "  must_change_pw INTEGER NOT NULL DEFAULT 1,"
    "  disabled       INTEGER NOT NULL DEFAULT 0,"
    "  failed_logins  INTEGER NOT NULL DEFAULT 0,"
    "  locked_until   INTEGER NOT NULL DEFAULT 0,"
    "  totp_secret    BLOB,"
    "  version        INTEGER NOT NULL DEFAULT 1,"
    "  created_at     INTEGER NOT NULL,"
    "  updated_at     INTEGER NOT NULL"
    ");"
    "CREATE TABLE user_compartments ("
    "  user_id     INTEGER NOT NULL REFERENCES users(id),"
    "  compartment TEXT NOT NULL,"
    "  PRIMARY KEY (user_id, compartment)"
    ") WITHOUT ROWID;"

    "CREATE TABLE sessions ("
    "  id           INTEGER PRIMARY KEY,"
    "  token_hash   BLOB NOT NULL UNIQUE,"
    "  user_id      INTEGER NOT NULL REFERENCES users(id),"
    "  created_at   INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL,"
    "  expires_at   INTEGER NOT NULL,"
    "  source       TEXT NOT NULL"
    ");"
    "CREATE INDEX sessions_user ON sessions(user_id);"

    "CREATE TABLE audit_log ("
    "  id         INTEGER PRIMARY KEY,"
    "  at         INTEGER NOT NULL,"
    "  actor_id   INTEGER,"
    "  actor      TEXT,"
    "  on_behalf  TEXT,"
    "  event      TEXT NOT NULL,"
    "  target     TEXT,"
    "  doc_id     INTEGER,"
    "  label      INTEGER,"
    "  from_state TEXT,"
    "  to_state   TEXT,"
    "  source     TEXT,"
    "  outcome    TEXT NOT NULL,"
    "  detail     TEXT"
    ");"
    /* The trail is append-only through SQL; issue 6 adds the hash chain that
     * makes tampering outside SQLite provable as well. */
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",

    /* 2: a second factor (TOTP, RFC 6238).  totp_secret holds the secret
     *    wrapped under a key derived from the key file, never in clear. */
    "ALTER TABLE users ADD COLUMN totp_required INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN totp_confirmed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;",
};

int oa_schema_version(void)
{
    return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *oa__schema_migration(int version)
{
    if (version < 1 || version > oa_schema_version())
        return NULL;
    return migrations[version - 1];
}
