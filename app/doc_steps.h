/*
 * app/doc_steps.h: what follows every change of a document's state
 * (doc_steps.c): the step's working-day deadline and the to-do queue, and
 * the local date both read.  Used by the action, create and edit use cases
 * and by the server's document routes.  Runs on the writer thread.
 */
#ifndef OA_APP_DOC_STEPS_H
#define OA_APP_DOC_STEPS_H

#include <stdint.h>

#include "model/document.h"

struct oa_store;

/* Today's date in local time, as days since the epoch (the offset is re-read each minute). */
int32_t oa_app_today_local(void);
/* This year, in local time. */
int oa_app_year_local(void);
/* Sets d->step_due for the step d has just entered (empty in a terminal state). */
void oa_doc_set_step_due(struct oa_store *s, struct oa_doc *d);
/* Rebuilds d's to-do queue for the state it is in; 0 or -1. */
int oa_doc_update_queue(struct oa_store *s, const struct oa_doc *d);

#endif
