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

    /* 3: official documents and their workflow. */
    "CREATE TABLE documents ("
    "  id                 INTEGER PRIMARY KEY,"
    "  kind               TEXT NOT NULL CHECK (kind IN ('outgoing', 'incoming', 'request')),"
    "  def_version        INTEGER NOT NULL,"
    "  state              TEXT NOT NULL,"
    "  revision           INTEGER NOT NULL DEFAULT 1,"
    "  title              TEXT NOT NULL,"
    "  doc_type           TEXT NOT NULL DEFAULT '',"
    "  copy_no            TEXT NOT NULL DEFAULT '',"
    "  level              INTEGER NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 4),"
    "  secrecy_period     TEXT NOT NULL DEFAULT '',"
    "  urgency            TEXT NOT NULL DEFAULT 'ordinary'"
    "                     CHECK (urgency IN ('ordinary', 'urgent', 'very_urgent')),"
    "  organ_id           INTEGER REFERENCES organs(id),"
    "  department_id      INTEGER REFERENCES departments(id),"
    "  doc_number         TEXT,"
    "  signer             TEXT NOT NULL DEFAULT '',"
    "  main_recipients    TEXT NOT NULL DEFAULT '',"
    "  copied_recipients  TEXT NOT NULL DEFAULT '',"
    "  attachment_note    TEXT NOT NULL DEFAULT '',"
    "  doc_date           TEXT NOT NULL DEFAULT '',"
    "  note               TEXT NOT NULL DEFAULT '',"
    "  printing_organ     TEXT NOT NULL DEFAULT '',"
    "  printing_date      TEXT NOT NULL DEFAULT '',"
    "  drafter_id         INTEGER NOT NULL REFERENCES users(id),"
    "  source_id          INTEGER REFERENCES documents(id),"
    "  reply_id           INTEGER REFERENCES documents(id),"
    "  assignee_id        INTEGER REFERENCES users(id),"
    "  lead_department_id INTEGER REFERENCES departments(id),"
    "  step_due           TEXT,"
    "  request_due        TEXT,"
    "  extended           INTEGER NOT NULL DEFAULT 0,"
    "  created_at         INTEGER NOT NULL,"
    "  updated_at         INTEGER NOT NULL"
    ");"
    "CREATE INDEX documents_state ON documents(state);"
    "CREATE INDEX documents_number ON documents(doc_number);"
    "CREATE INDEX documents_created ON documents(created_at);"
    /* The text apart from the row, so a state change never rewrites it. */
    "CREATE TABLE doc_bodies ("
    "  doc_id INTEGER PRIMARY KEY REFERENCES documents(id),"
    "  body   TEXT NOT NULL"
    ");"

    /* Every edit of the text makes a revision; earlier ones stay readable. */
    "CREATE TABLE doc_revisions ("
    "  doc_id       INTEGER NOT NULL REFERENCES documents(id),"
    "  revision     INTEGER NOT NULL,"
    "  author_id    INTEGER NOT NULL,"
    "  on_behalf_id INTEGER,"
    "  at           INTEGER NOT NULL,"
    "  changed      TEXT NOT NULL,"
    "  title        TEXT NOT NULL,"
    "  body         TEXT NOT NULL,"
    "  PRIMARY KEY (doc_id, revision)"
    ") WITHOUT ROWID;"

    /* Every step with its opinion (意见); never edited afterwards. */
    "CREATE TABLE doc_steps ("
    "  id           INTEGER PRIMARY KEY,"
    "  doc_id       INTEGER NOT NULL REFERENCES documents(id),"
    "  action       TEXT NOT NULL,"
    "  from_state   TEXT NOT NULL,"
    "  to_state     TEXT NOT NULL,"
    "  actor_id     INTEGER NOT NULL,"
    "  on_behalf_id INTEGER,"
    "  opinion      TEXT NOT NULL DEFAULT '',"
    "  detail       TEXT NOT NULL DEFAULT '',"
    "  at           INTEGER NOT NULL"
    ");"
    "CREATE INDEX doc_steps_doc ON doc_steps(doc_id);"
    /* Who has acted on what ("my done" list): one row per person and
     * document, so repeated actions write nothing. */
    "CREATE TABLE doc_done ("
    "  user_id INTEGER NOT NULL,"
    "  doc_id  INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, doc_id)"
    ") WITHOUT ROWID;"
    "CREATE TRIGGER doc_steps_no_update BEFORE UPDATE ON doc_steps"
    "  BEGIN SELECT RAISE(ABORT, 'opinions are never edited'); END;"
    "CREATE TRIGGER doc_steps_no_delete BEFORE DELETE ON doc_steps"
    "  BEGIN SELECT RAISE(ABORT, 'opinions are never deleted'); END;"

    /* Named countersigners and circulation readers. */
    "CREATE TABLE doc_participants ("
    "  doc_id   INTEGER NOT NULL REFERENCES documents(id),"
    "  user_id  INTEGER NOT NULL REFERENCES users(id),"
    "  part     TEXT NOT NULL CHECK (part IN ('countersigner', 'reader')),"
    "  round    INTEGER NOT NULL,"
    "  status   TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'objected', 'cancelled', 'read')),"
    "  acted_at INTEGER,"
    "  PRIMARY KEY (doc_id, part, round, user_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX doc_participants_user ON doc_participants(user_id, status);"

    /* Who is expected to act next: a person (user_id), or any holder of a role (user_id 0). */
    "CREATE TABLE doc_queue ("
    "  doc_id  INTEGER NOT NULL REFERENCES documents(id),"
    "  user_id INTEGER NOT NULL,"
    "  roles   INTEGER NOT NULL,"
    "  PRIMARY KEY (doc_id, user_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX doc_queue_user ON doc_queue(user_id);"

    /* Document numbers: allocated per organ, prefix and year, never reused. */
    "CREATE TABLE number_counters ("
    "  organ_id INTEGER NOT NULL,"
    "  prefix   TEXT NOT NULL,"
    "  year     INTEGER NOT NULL,"
    "  last     INTEGER NOT NULL,"
    "  PRIMARY KEY (organ_id, prefix, year)"
    ") WITHOUT ROWID;"
    "CREATE TABLE doc_numbers ("
    "  organ_id    INTEGER NOT NULL,"
    "  prefix      TEXT NOT NULL,"
    "  year        INTEGER NOT NULL,"
    "  seq         INTEGER NOT NULL,"
    "  number      TEXT NOT NULL,"
    "  doc_id      INTEGER NOT NULL REFERENCES documents(id),"
    "  voided      INTEGER NOT NULL DEFAULT 0,"
    "  void_reason TEXT,"
    "  at          INTEGER NOT NULL,"
    "  PRIMARY KEY (organ_id, prefix, year, seq)"
    ") WITHOUT ROWID;"

    "CREATE TABLE delegations ("
    "  id        INTEGER PRIMARY KEY,"
    "  from_id   INTEGER NOT NULL REFERENCES users(id),"
    "  to_id     INTEGER NOT NULL REFERENCES users(id),"
    "  starts_on TEXT NOT NULL,"
    "  ends_on   TEXT NOT NULL,"
    "  revoked   INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX delegations_to ON delegations(to_id);"

    "CREATE TABLE chases ("
    "  id        INTEGER PRIMARY KEY,"
    "  doc_id    INTEGER NOT NULL REFERENCES documents(id),"
    "  target_id INTEGER NOT NULL REFERENCES users(id),"
    "  by_id     INTEGER NOT NULL,"
    "  note      TEXT NOT NULL,"
    "  at        INTEGER NOT NULL"
    ");"
    "CREATE INDEX chases_target ON chases(target_id);"

    /* A retried action with the same key answers as the first did.  Rows
     * (with the whole answer) append; only the small key index is random. */
    "CREATE TABLE idempotency ("
    "  id      INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL,"
    "  key     TEXT NOT NULL,"
    "  status  INTEGER NOT NULL,"
    "  body    BLOB NOT NULL,"
    "  at      INTEGER NOT NULL"
    ");"
    "CREATE UNIQUE INDEX idempotency_key ON idempotency(user_id, key);"

    /* The secretariat's working-day calendar: holidays and make-up workdays. */
    "CREATE TABLE calendar ("
    "  day     INTEGER PRIMARY KEY,"
    "  workday INTEGER NOT NULL,"
    "  note    TEXT NOT NULL DEFAULT ''"
    ");"

    /* Title and body search; trigram tokens suit Chinese text.  Kept up to
     * date by storage/documents.c (with trusted_schema off, a trigger may
     * not write a virtual table). */
    "CREATE VIRTUAL TABLE doc_fts USING fts5(title, body, tokenize='trigram');",

    /* 4: the audit trail becomes a Merkle tree (RFC 9162): a leaf hash per
     *    entry, and signed checkpoints of the tree. */
    "ALTER TABLE audit_log ADD COLUMN leaf BLOB;"
    "CREATE TABLE audit_checkpoints ("
    "  tree_size INTEGER PRIMARY KEY,"
    "  root      BLOB NOT NULL,"
    "  at        INTEGER NOT NULL,"
    "  signature BLOB NOT NULL"
    ");"
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;"
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;",

    /* 5: the rest of a label: declassification date and need-to-know scope. */
    "ALTER TABLE documents ADD COLUMN declass_date TEXT NOT NULL DEFAULT '';"
    /* Whether doc_scope has rows for it: most documents have none, and the
     * read decision then needs no second query. */
    "ALTER TABLE documents ADD COLUMN scoped INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE doc_scope ("
    "  doc_id INTEGER NOT NULL REFERENCES documents(id),"
    "  entry  TEXT NOT NULL,"
    "  PRIMARY KEY (doc_id, entry)"
    ") WITHOUT ROWID;",

    /* 6: named declassifiers, designated by secadmin. */
    "ALTER TABLE users ADD COLUMN declassifier INTEGER NOT NULL DEFAULT 0;",

    /* 7: blob files and attachments.  A blob row says where its file is, the
     *    level its associated data binds and whose KEK wraps its data key;
     *    the wrapped key is NULL once the blob is crypto-shredded. */
    "CREATE TABLE blobs ("
    "  id            INTEGER PRIMARY KEY,"
    "  doc_id        INTEGER NOT NULL REFERENCES documents(id),"
    "  attachment_id INTEGER NOT NULL,"
    "  rev           INTEGER NOT NULL,"
    "  file          TEXT NOT NULL UNIQUE,"
    "  suite         INTEGER NOT NULL,"
    "  level         INTEGER NOT NULL,"
    "  kek_version   INTEGER NOT NULL,"
    "  dek           BLOB,"
    "  size          INTEGER NOT NULL,"
    "  stored        INTEGER NOT NULL,"
    "  compressed    INTEGER NOT NULL,"
    "  digest        BLOB NOT NULL,"
    "  content_type  TEXT NOT NULL,"
    "  created_at    INTEGER NOT NULL,"
    "  created_by    INTEGER NOT NULL"
    ");"
    "CREATE UNIQUE INDEX blobs_attachment ON blobs(attachment_id, rev);"
    "CREATE INDEX blobs_key ON blobs(level, kek_version);"
    "CREATE TABLE attachments ("
    "  id         INTEGER PRIMARY KEY,"
    "  doc_id     INTEGER NOT NULL REFERENCES documents(id),"
    "  name       TEXT NOT NULL,"
    "  role       TEXT NOT NULL,"
    "  rev        INTEGER NOT NULL,"
    "  blob_id    INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX attachments_doc ON attachments(doc_id);",

    /* 8: the sync feed: each entity's latest change found by index, and which
     *    documents each user's clients were sent (to revoke them later). */
    "CREATE INDEX changes_entity ON changes(entity, entity_id, seq);"
    "CREATE TABLE sync_seen ("
    "  user_id INTEGER NOT NULL,"
    "  doc_id  INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, doc_id)"
    ") WITHOUT ROWID;",

    /* 9: an account whose password sysadmin reset keeps no document access
     *    until secadmin confirms its clearance again (三员分立). */
    "ALTER TABLE users ADD COLUMN clearance_hold INTEGER NOT NULL DEFAULT 0;",

    /* 10: checkpoints become C2SP signed notes (tlog-checkpoint).  The log's
     *     origin, also its key's name, is chosen at random once per database
     *     and never changes; a checkpoint row with an origin was signed as a
     *     note under it, one without (signed before) as "oa audit checkpoint
     *     v1" text. */
    ("ALTER TABLE audit_checkpoints ADD COLUMN origin TEXT;"
     "INSERT INTO meta(key, value) VALUES ('audit_origin', 'oa.audit/' || lower(hex(randomblob(8))));"),

    /* 11: a role-wide to-do entry belongs to the document's organ, and an
     *     incoming copy addressed to a department to that department's
     *     holders of the role (党政机关公文处理工作条例 第24条: the receiving
     *     unit's clerk signs for each piece). */
    "ALTER TABLE doc_queue ADD COLUMN organ_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE doc_queue ADD COLUMN department_id INTEGER NOT NULL DEFAULT 0;"
    "UPDATE doc_queue SET organ_id = coalesce((SELECT organ_id FROM documents d WHERE d.id = doc_queue.doc_id), 0),"
    " department_id = coalesce((SELECT CASE WHEN d.kind = 'incoming' THEN d.department_id END"
    "                           FROM documents d WHERE d.id = doc_queue.doc_id), 0)"
    " WHERE user_id = 0;",

    /* 12: the exchange gateway (#15).  Every inbound bundle imported, keyed
     *     by its sender and id (a resend is answered once) and by its
     *     sender's sequence number (a replay with other content is refused);
     *     the outbox of receipts, replies and publications oagw writes out;
     *     a public request's own facts (applicant, receipt date, clock,
     *     reply form, secrecy review); 主动公开 proposals and their review;
     *     and blobs sealed before they had a document (gateway uploads). */
    "CREATE TABLE gateway_bundles ("
    "  sender      TEXT NOT NULL,"
    "  bundle_id   TEXT NOT NULL,"
    "  seq         INTEGER NOT NULL CHECK (seq >= 1),"
    "  type        TEXT NOT NULL,"
    "  doc_id      INTEGER NOT NULL REFERENCES documents(id),"
    "  created     TEXT NOT NULL,"
    "  imported_at INTEGER NOT NULL,"
    "  PRIMARY KEY (sender, bundle_id)"
    ") WITHOUT ROWID;"
    "CREATE UNIQUE INDEX gateway_bundles_seq ON gateway_bundles(sender, seq);"
    "CREATE TRIGGER gateway_bundles_no_update BEFORE UPDATE ON gateway_bundles"
    "  BEGIN SELECT RAISE(ABORT, 'imported bundles are never changed'); END;"
    "CREATE TABLE outbox ("
    "  id          INTEGER PRIMARY KEY,"
    "  type        TEXT NOT NULL CHECK (type IN ('receipt', 'reply', 'publication')),"
    "  doc_id      INTEGER NOT NULL REFERENCES documents(id),"
    "  request_ref TEXT,"
    "  content     BLOB NOT NULL,"
    "  created_at  INTEGER NOT NULL,"
    "  sent_bundle TEXT,"
    "  sent_sha256 TEXT,"
    "  sent_at     INTEGER"
    ");"
    "CREATE TABLE outbox_files ("
    "  outbox_id     INTEGER NOT NULL REFERENCES outbox(id),"
    "  k             INTEGER NOT NULL,"
    "  attachment_id INTEGER NOT NULL,"
    "  rev           INTEGER NOT NULL,"
    "  PRIMARY KEY (outbox_id, k)"
    ") WITHOUT ROWID;"
    "CREATE TABLE requests ("
    "  doc_id            INTEGER PRIMARY KEY REFERENCES documents(id),"
    "  sender            TEXT,"
    "  bundle_id         TEXT,"
    "  applicant_name    TEXT NOT NULL DEFAULT '',"
    "  id_type           TEXT NOT NULL DEFAULT '',"
    "  id_number         TEXT NOT NULL DEFAULT '',"
    "  contact           TEXT NOT NULL DEFAULT '',"
    "  organisation      TEXT NOT NULL DEFAULT '',"
    "  form_wanted       TEXT NOT NULL DEFAULT '',"
    "  submitted         TEXT NOT NULL DEFAULT '',"
    "  confirmed         TEXT NOT NULL DEFAULT '',"
    "  received          TEXT NOT NULL,"
    "  correction_asked  TEXT,"
    "  corrected         TEXT,"
    "  consult_since     TEXT,"
    "  paused_days       INTEGER NOT NULL DEFAULT 0,"
    "  extend_days       INTEGER NOT NULL DEFAULT 0,"
    "  review_by         INTEGER REFERENCES users(id),"
    "  review_at         INTEGER,"
    "  review_opinion    TEXT,"
    "  reply_form        TEXT,"
    "  reply_reason      TEXT,"
    "  responsible_organ TEXT"
    ");"
    "CREATE TABLE publications ("
    "  doc_id         INTEGER PRIMARY KEY REFERENCES documents(id),"
    "  proposed_by    INTEGER NOT NULL REFERENCES users(id),"
    "  proposed_at    INTEGER NOT NULL,"
    "  reviewed_by    INTEGER REFERENCES users(id),"
    "  reviewed_at    INTEGER,"
    "  approved       INTEGER,"
    "  opinion        TEXT,"
    "  outbox_id      INTEGER REFERENCES outbox(id)"
    ");"
    "ALTER TABLE blobs ADD COLUMN staged INTEGER NOT NULL DEFAULT 0;",

    /* 13: records (#16, DA/T 22-2015): an organ's fonds code (全宗号); the
     *     filed record of a document with its archival number's parts, its
     *     catalogue entry, retention, state and legal hold; the 件号
     *     counters per lowest class; each organ's retention schedule;
     *     metadata corrections; disposal lists; tombstones.  Triggers refuse
     *     any change to a filed record's document, text, steps, scope,
     *     attachments and files, and to the record's own metadata, unless
     *     the writer first named the document in record_unseal in the same
     *     transaction (a correction, or the disposal that erases it):
     *     defence in depth behind app/records.c. */
    "ALTER TABLE organs ADD COLUMN fonds TEXT;"
    "CREATE UNIQUE INDEX organs_fonds ON organs(fonds) WHERE fonds IS NOT NULL;"
    "CREATE TABLE records ("
    "  doc_id       INTEGER PRIMARY KEY REFERENCES documents(id),"
    "  organ_id     INTEGER NOT NULL REFERENCES organs(id),"
    "  fonds        TEXT NOT NULL,"
    "  category     TEXT NOT NULL,"
    "  year         INTEGER NOT NULL,"
    "  retention    TEXT NOT NULL CHECK (retention IN ('Y', 'D30', 'D10')),"
    "  class_code   TEXT NOT NULL DEFAULT '',"
    "  item_no      INTEGER NOT NULL CHECK (item_no BETWEEN 1 AND 9999),"
    "  archival_no  TEXT NOT NULL UNIQUE,"
    "  retention_reason TEXT NOT NULL DEFAULT '',"
    "  title        TEXT NOT NULL,"
    "  responsible  TEXT NOT NULL,"
    "  doc_number   TEXT NOT NULL DEFAULT '',"
    "  doc_date     TEXT NOT NULL,"
    "  pages        INTEGER NOT NULL CHECK (pages >= 0),"
    "  level        INTEGER NOT NULL,"
    "  note         TEXT NOT NULL DEFAULT '',"
    "  filed_at     INTEGER NOT NULL,"
    "  filed_by     INTEGER NOT NULL REFERENCES users(id),"
    "  state        TEXT NOT NULL DEFAULT 'filed' CHECK (state IN ('filed', 'transferred', 'disposed')),"
    "  hold         INTEGER NOT NULL DEFAULT 0,"
    "  hold_reason  TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (fonds, category, year, retention, class_code, item_no)"
    ");"
    "CREATE INDEX records_catalogue ON records(fonds, year, retention, class_code, item_no);"
    "CREATE TABLE record_counters ("
    "  fonds      TEXT NOT NULL,"
    "  category   TEXT NOT NULL,"
    "  year       INTEGER NOT NULL,"
    "  retention  TEXT NOT NULL,"
    "  class_code TEXT NOT NULL,"
    "  last       INTEGER NOT NULL,"
    "  PRIMARY KEY (fonds, category, year, retention, class_code)"
    ") WITHOUT ROWID;"
    "CREATE TABLE retention_schedule ("
    "  organ_id  INTEGER NOT NULL REFERENCES organs(id),"
    "  doc_type  TEXT NOT NULL,"
    "  issuer    TEXT NOT NULL,"
    "  retention TEXT NOT NULL CHECK (retention IN ('Y', 'D30', 'D10')),"
    "  PRIMARY KEY (organ_id, doc_type, issuer)"
    ") WITHOUT ROWID;"
    "CREATE TABLE record_corrections ("
    "  id     INTEGER PRIMARY KEY,"
    "  doc_id INTEGER NOT NULL REFERENCES records(doc_id),"
    "  field  TEXT NOT NULL,"
    "  old    TEXT NOT NULL,"
    "  new    TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  by_id  INTEGER NOT NULL REFERENCES users(id),"
    "  at     INTEGER NOT NULL"
    ");"
    "CREATE INDEX record_corrections_doc ON record_corrections(doc_id);"
    "CREATE TABLE disposal_lists ("
    "  id          INTEGER PRIMARY KEY,"
    "  organ_id    INTEGER NOT NULL REFERENCES organs(id),"
    "  proposed_by INTEGER NOT NULL REFERENCES users(id),"
    "  proposed_at INTEGER NOT NULL,"
    "  reason      TEXT NOT NULL,"
    "  approved_by INTEGER REFERENCES users(id),"
    "  decided_at  INTEGER,"
    "  opinion     TEXT NOT NULL DEFAULT '',"
    "  state       TEXT NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'refused', 'disposed'))"
    ");"
    "CREATE TABLE disposal_items ("
    "  list_id INTEGER NOT NULL REFERENCES disposal_lists(id),"
    "  doc_id  INTEGER NOT NULL REFERENCES records(doc_id),"
    "  PRIMARY KEY (list_id, doc_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE record_tombstones ("
    "  doc_id      INTEGER PRIMARY KEY REFERENCES records(doc_id),"
    "  archival_no TEXT NOT NULL,"
    "  title       TEXT NOT NULL,"
    "  doc_date    TEXT NOT NULL,"
    "  filed_at    INTEGER NOT NULL,"
    "  disposed_at INTEGER NOT NULL,"
    "  list_id     INTEGER NOT NULL REFERENCES disposal_lists(id),"
    "  proposed_by INTEGER NOT NULL,"
    "  approved_by INTEGER NOT NULL"
    ");"
    "CREATE TABLE record_unseal ("
    "  doc_id  INTEGER PRIMARY KEY,"
    "  purpose TEXT NOT NULL CHECK (purpose IN ('correct', 'dispose'))"
    ");"
    "CREATE TRIGGER record_tombstones_no_update BEFORE UPDATE ON record_tombstones"
    "  BEGIN SELECT RAISE(ABORT, 'tombstones are never changed'); END;"
    "CREATE TRIGGER record_tombstones_no_delete BEFORE DELETE ON record_tombstones"
    "  BEGIN SELECT RAISE(ABORT, 'tombstones are never deleted'); END;"
    "CREATE TRIGGER record_corrections_no_update BEFORE UPDATE ON record_corrections"
    "  BEGIN SELECT RAISE(ABORT, 'corrections are never changed'); END;"
    "CREATE TRIGGER record_corrections_no_delete BEFORE DELETE ON record_corrections"
    "  BEGIN SELECT RAISE(ABORT, 'corrections are never deleted'); END;"
    "CREATE TRIGGER records_no_delete BEFORE DELETE ON records"
    "  BEGIN SELECT RAISE(ABORT, 'record_filed'); END;"
    "CREATE TRIGGER records_metadata_sealed BEFORE UPDATE OF doc_id, organ_id, fonds, category, year, retention,"
    "  class_code, item_no, archival_no, retention_reason, title, responsible, doc_number, doc_date, pages, level,"
    "  note, filed_at, filed_by ON records"
    "  WHEN NOT EXISTS (SELECT 1 FROM record_unseal WHERE doc_id = OLD.doc_id)"
    "  BEGIN SELECT RAISE(ABORT, 'record_filed'); END;"
    /* A filed document: its row, text, revisions, steps, scope, attachments and files. */
#define SEALED(tbl, op, id) SEALED_AS(tbl "_" op "_sealed", tbl, op, id)
#define SEALED_AS(name, tbl, op, id) \
    "CREATE TRIGGER " name " BEFORE " op " ON " tbl \
    "  WHEN EXISTS (SELECT 1 FROM records WHERE doc_id = " id ")" \
    "   AND NOT EXISTS (SELECT 1 FROM record_unseal WHERE doc_id = " id " AND purpose = 'dispose')" \
    "  BEGIN SELECT RAISE(ABORT, 'record_filed'); END;"
    /* Every column of migrations 3 and 5 (a later column, such as a label's MAC, is kept by its own rules). */
    SEALED_AS("documents_UPDATE_sealed", "documents", "UPDATE OF kind, def_version, state, revision, title, doc_type, copy_no, level,"
           " secrecy_period, urgency, organ_id, department_id, doc_number, signer, main_recipients,"
           " copied_recipients, attachment_note, doc_date, note, printing_organ, printing_date, drafter_id,"
           " source_id, reply_id, assignee_id, lead_department_id, step_due, request_due, extended, created_at,"
           " updated_at, declass_date, scoped", "OLD.id")
    SEALED("documents", "DELETE", "OLD.id")
    SEALED("doc_bodies", "UPDATE", "OLD.doc_id")
    SEALED("doc_bodies", "DELETE", "OLD.doc_id")
    SEALED("doc_bodies", "INSERT", "NEW.doc_id")
    SEALED("doc_revisions", "INSERT", "NEW.doc_id")
    SEALED("doc_revisions", "UPDATE", "OLD.doc_id")
    SEALED("doc_revisions", "DELETE", "OLD.doc_id")
    SEALED("doc_steps", "INSERT", "NEW.doc_id")
    SEALED("doc_scope", "INSERT", "NEW.doc_id")
    SEALED("doc_scope", "DELETE", "OLD.doc_id")
    SEALED("attachments", "INSERT", "NEW.doc_id")
    SEALED("attachments", "UPDATE", "OLD.doc_id")
    SEALED("attachments", "DELETE", "OLD.doc_id")
    SEALED("blobs", "INSERT", "NEW.doc_id")
    SEALED("blobs", "DELETE", "OLD.doc_id")
    /* A blob's key may be rewrapped (oad keys rotate) or destroyed by the
     * disposal; its file, size and digest never change. */
    "CREATE TRIGGER blobs_content_sealed BEFORE UPDATE OF doc_id, attachment_id, rev, file, size, stored,"
    "  compressed, digest, content_type, level ON blobs"
    "  WHEN EXISTS (SELECT 1 FROM records WHERE doc_id = OLD.doc_id)"
    "  BEGIN SELECT RAISE(ABORT, 'record_filed'); END;"
    "CREATE TRIGGER blobs_key_shred_only BEFORE UPDATE OF dek ON blobs"
    "  WHEN NEW.dek IS NULL AND EXISTS (SELECT 1 FROM records WHERE doc_id = OLD.doc_id)"
    "   AND NOT EXISTS (SELECT 1 FROM record_unseal WHERE doc_id = OLD.doc_id AND purpose = 'dispose')"
    "  BEGIN SELECT RAISE(ABORT, 'record_filed'); END;"
#undef SEALED
#undef SEALED_AS
    /* The steps' opinions stay never edited nor deleted, except by the
     * disposal of their filed record, which erases them. */
    "DROP TRIGGER doc_steps_no_update;"
    "DROP TRIGGER doc_steps_no_delete;"
    "CREATE TRIGGER doc_steps_no_update BEFORE UPDATE ON doc_steps"
    "  WHEN NOT EXISTS (SELECT 1 FROM record_unseal WHERE doc_id = OLD.doc_id AND purpose = 'dispose')"
    "  BEGIN SELECT RAISE(ABORT, 'opinions are never edited'); END;"
    "CREATE TRIGGER doc_steps_no_delete BEFORE DELETE ON doc_steps"
    "  WHEN NOT EXISTS (SELECT 1 FROM record_unseal WHERE doc_id = OLD.doc_id AND purpose = 'dispose')"
    "  BEGIN SELECT RAISE(ABORT, 'opinions are never deleted'); END;",

    /* 14: transfers to the archive (#16, 移交): a batch with its transfer list
     *     (移交清单) and the digest of the package sent, its records in order,
     *     and the archive's receipt when it comes back; the four-property
     *     check's report of the batch as it was sent.  Items never change. */
    "CREATE TABLE transfers ("
    "  id          INTEGER PRIMARY KEY,"
    "  archive     TEXT NOT NULL,"
    "  created_by  INTEGER NOT NULL REFERENCES users(id),"
    "  created_at  INTEGER NOT NULL,"
    "  report      TEXT NOT NULL,"
    "  state       TEXT NOT NULL DEFAULT 'sent' CHECK (state IN ('sent', 'received')),"
    "  receipt     TEXT,"
    "  received_by TEXT,"
    "  received_at INTEGER,"
    "  recorded_by INTEGER REFERENCES users(id)"
    ");"
    "CREATE TABLE transfer_items ("
    "  transfer_id INTEGER NOT NULL REFERENCES transfers(id),"
    "  seq         INTEGER NOT NULL,"
    "  doc_id      INTEGER NOT NULL REFERENCES records(doc_id),"
    "  PRIMARY KEY (transfer_id, seq)"
    ") WITHOUT ROWID;"
    "CREATE INDEX transfer_items_doc ON transfer_items(doc_id);"
    "CREATE TRIGGER transfer_items_no_update BEFORE UPDATE ON transfer_items"
    "  BEGIN SELECT RAISE(ABORT, 'transfer items are never changed'); END;"
    "CREATE TRIGGER transfer_items_no_delete BEFORE DELETE ON transfer_items"
    "  BEGIN SELECT RAISE(ABORT, 'transfer items are never deleted'); END;"
    "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers"
    "  BEGIN SELECT RAISE(ABORT, 'transfers are never deleted'); END;",

    /* 15: a document's label is bound by a MAC (#17, GB/T 39786 8.4 c;
     *     storage/labelmac.h).  Rows from before it have none: the first
     *     oad serve with the key file gives them one (oa_doc_label_fill),
     *     once; from then on a missing MAC is tampering. */
    "ALTER TABLE documents ADD COLUMN label_mac BLOB;",

    /* 16: the exchange gateway, finished (#15).  An inbound bundle oad
     *     refused for good (a correction its request does not await) keeps
     *     its sender's sequence number, so the sender's next bundles are
     *     not held behind it and a resend is answered as the first time;
     *     and 主动公开's secrecy review (保密审查), recorded apart from the
     *     publication review, before a publication may leave. */
    "CREATE TABLE gateway_refusals ("
    "  sender     TEXT NOT NULL,"
    "  bundle_id  TEXT NOT NULL,"
    "  seq        INTEGER NOT NULL CHECK (seq >= 1),"
    "  type       TEXT NOT NULL,"
    "  code       TEXT NOT NULL,"
    "  reason     TEXT NOT NULL,"
    "  refused_at INTEGER NOT NULL,"
    "  PRIMARY KEY (sender, bundle_id)"
    ") WITHOUT ROWID;"
    "CREATE UNIQUE INDEX gateway_refusals_seq ON gateway_refusals(sender, seq);"
    "CREATE TRIGGER gateway_refusals_no_update BEFORE UPDATE ON gateway_refusals"
    "  BEGIN SELECT RAISE(ABORT, 'refused bundles are never changed'); END;"
    "CREATE TRIGGER gateway_refusals_no_delete BEFORE DELETE ON gateway_refusals"
    "  BEGIN SELECT RAISE(ABORT, 'refused bundles are never deleted'); END;"
    "ALTER TABLE publications ADD COLUMN secrecy_by INTEGER REFERENCES users(id);"
    "ALTER TABLE publications ADD COLUMN secrecy_at INTEGER;"
    "ALTER TABLE publications ADD COLUMN secrecy_opinion TEXT;",

    /* 17: the changes table keeps each entity's latest change only (the feed
     *     never sends an earlier one): it no longer grows with every change. */
    "DELETE FROM changes WHERE seq NOT IN (SELECT max(seq) FROM changes GROUP BY entity, entity_id);",

    /* 18: a held document remembers the change of its holder's account under
     *     which it was last decided visible (#14: a feed page re-decides only
     *     the documents decided under an earlier account state, not all the
     *     user's clients hold at every first sync); 0, as the rows so far
     *     get, is re-decided at the next account change the feed meets. */
    "ALTER TABLE sync_seen ADD COLUMN decided INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX sync_seen_decided ON sync_seen(user_id, decided);",

    /* 19: a revocation reaches every client of the user, not only the first
     *     to sync after it: a revoked document's row stays, with the change
     *     at which it was revoked (NULL: held), so that each client's page
     *     covering that change sends it too.  The re-decision reads held
     *     rows only; a page reads the rows revoked within its range. */
    "ALTER TABLE sync_seen ADD COLUMN revoked_at INTEGER;"
    "DROP INDEX sync_seen_decided;"
    "CREATE INDEX sync_seen_decided ON sync_seen(user_id, decided) WHERE revoked_at IS NULL;"
    "CREATE INDEX sync_seen_revoked ON sync_seen(user_id, revoked_at) WHERE revoked_at IS NOT NULL;",

    /* 20: widened access reaches every client of the user (regrant): the
     *     account's change that last widened what it may see (0: none), and
     *     per session the head at which it last asked the feed from 0; a
     *     page from a cursor behind the widening, on a session whose walk
     *     from 0 began before it, answers 410 cursor_too_old (a full
     *     resync).  One integer per user and per session. */
    "ALTER TABLE users ADD COLUMN access_widened_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions ADD COLUMN full_sync_head INTEGER NOT NULL DEFAULT 0;",
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
