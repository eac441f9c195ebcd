/*
 * tests/proto/log_test.c: the one logger is safe from any thread: lines
 * written at once from several threads (the loop, the writer, the pool) all
 * arrive whole, none lost and none torn (#13 item 5).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/log.h"

enum { THREADS = 6, LINES = 5000 };

static void *writer_thread(void *arg)
{
    long t = (long)arg;
    for (int i = 0; i < LINES; i++)
        oa_log(OA_LOG_INFO, "probe", "thread=%ld line=%d tail=end", t, i);
    return NULL;
}

Test(log, lines_from_many_threads_arrive_whole)
{
    char path[256];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof(path), "%s/log-XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    int saved = dup(STDERR_FILENO);
    cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    oa_log_set_buffered(true); /* as in the server: one shared buffer */
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, writer_thread, (void *)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    oa_log_set_buffered(false);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);

    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static unsigned char seen[THREADS][LINES];
    char line[512];
    long whole = 0;
    while (fgets(line, sizeof(line), f)) {
        long t = -1;
        int i = -1;
        const char *p = strstr(line, "event=probe thread=");
        cr_assert(strncmp(line, "ts=", 3) == 0 && p != NULL && strstr(line, " tail=end\n") != NULL,
                  "a torn line: %s", line);
        cr_assert_eq(sscanf(p, "event=probe thread=%ld line=%d", &t, &i), 2, "%s", line);
        cr_assert(t >= 0 && t < THREADS && i >= 0 && i < LINES, "%s", line);
        cr_assert_eq(seen[t][i], 0, "a line twice: %s", line);
        seen[t][i] = 1;
        whole++;
    }
    fclose(f);
    cr_assert_eq(whole, (long)THREADS * LINES, "%ld of %d lines arrived", whole, THREADS * LINES);
}
