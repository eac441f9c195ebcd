/* clients/oa_doc.c: oa new, edit, act, history, attach and get. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "clients/cache.h"
#include "clients/net.h"
#include "clients/oa-int.h"
#include "proto/alloc.h"
#include "proto/sync.h"
#include "proto/value.h"

int oa__cmd_new(struct ctx *c, int argc, char **argv)
{
    const char *kind = "outgoing", *title = NULL, *body_file = NULL, *urgency = NULL;
    int level = 1;
    static const struct option o[] = {{"kind", required_argument, NULL, 'k'}, {"title", required_argument, NULL, 't'},
                                      {"level", required_argument, NULL, 'l'}, {"body-file", required_argument, NULL, 'b'},
                                      {"urgency", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'k': kind = optarg; break;
        case 't': title = optarg; break;
        case 'l':
            if ((level = oa__level_parse(optarg)) < 0) {
                fprintf(stderr, "oa: --level must be 0-4, 公开 内部 秘密 机密 绝密, or public internal secret "
                                "confidential top-secret (not '%s')\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'b': body_file = optarg; break;
        case 'u': urgency = optarg; break;
        default:
            puts("usage: oa new --title TITLE [--kind outgoing|incoming|request] [--level 0-4]\n"
                 "              [--urgency ordinary|urgent|very_urgent] [--body-file FILE|-]\n"
                 "Drafts a new document (needs the server).  Levels: 0 公开, 1 内部 (default), 2 秘密, 3 机密, 4 绝密.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    if (title == NULL) {
        oa__say("a new document needs --title");
        return EX_USAGE;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    json_t *b = json_pack("{s:s, s:s, s:i}", "kind", kind, "title", title, "level", level);
    if (urgency)
        json_object_set_new(b, "urgency", json_string(urgency));
    if (body_file) {
        char *text = oa__read_file(body_file, 1024 * 1024);
        if (text == NULL) {
            json_decref(b);
            oa__say("cannot read %s (at most 1 MB of text)", body_file);
            return EX_USAGE;
        }
        json_object_set_new(b, "body", json_string(text));
        free(text);
    }
    json_t *out = NULL;
    long st = oa__api(c, "POST", "/v1/documents", b, NULL, 0, &out, &ex);
    json_decref(b);
    if (st < 0) {
        oa__say("cannot reach %s (%s): a new document needs the server", c->server, net_last_error());
        return EX_OFFLINE;
    }
    if (ex != EX_OK)
        return ex;
    if (c->json)
        oa__show_json_doc(c, out);
    else
        printf("created document %lld (revision %lld)\n", (long long)json_integer_value(json_object_get(out, "id")),
               (long long)json_integer_value(json_object_get(out, "revision")));
    json_decref(out);
    return EX_OK;
}

int oa__cmd_edit(struct ctx *c, int argc, char **argv)
{
    const char *title = NULL, *body_file = NULL, *note = NULL;
    static const struct option o[] = {{"title", required_argument, NULL, 't'}, {"body-file", required_argument, NULL, 'b'},
                                      {"note", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 't': title = optarg; break;
        case 'b': body_file = optarg; break;
        case 'n': note = optarg; break;
        default:
            puts("usage: oa edit ID [--title TITLE] [--body-file FILE|-] [--note TEXT]\n"
                 "Edits a draft's fields against the revision you last saw.  Offline, the edit is\n"
                 "queued and pushed at the next oa sync; a conflict is reported then, never merged.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    long long id = optind == argc - 1 ? oa__doc_arg(argv[optind]) : 0;
    if (id == 0 || (!title && !body_file && !note)) {
        oa__say("usage: oa edit ID --title ... | --body-file ... | --note ...");
        return EX_USAGE;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    if (oa__open_cache(c) != 0)
        return EX_FAIL;
    json_t *f = json_object();
    if (title)
        json_object_set_new(f, "title", json_string(title));
    if (note)
        json_object_set_new(f, "note", json_string(note));
    if (body_file) {
        char *text = oa__read_file(body_file, 1024 * 1024);
        if (text == NULL) {
            json_decref(f);
            oa__say("cannot read %s (at most 1 MB of text)", body_file);
            return EX_USAGE;
        }
        json_object_set_new(f, "body", json_string(text));
        free(text);
    }
    int64_t base = oa__cached_rev(c, id);
    char path[64], ifm[96];
    snprintf(path, sizeof(path), "/v1/documents/%lld", id);
    json_t *out = NULL;
    long st = -1;
    if (base > 0) {
        snprintf(ifm, sizeof(ifm), "If-Match: \"d%lld-%lld\"", id, (long long)base);
        const char *h[] = {ifm, NULL};
        st = oa__api(c, "PATCH", path, f, h, 412, &out, &ex);
    } else {
        /* Not in the local copy: read the current revision first. */
        st = oa__api(c, "GET", path, NULL, NULL, 0, &out, &ex);
        if (st == 200) {
            base = json_integer_value(json_object_get(out, "revision"));
            json_decref(out);
            snprintf(ifm, sizeof(ifm), "If-Match: \"d%lld-%lld\"", id, (long long)base);
            const char *h[] = {ifm, NULL};
            st = oa__api(c, "PATCH", path, f, h, 412, &out, &ex);
        }
    }
    if (st < 0) {
        json_decref(out);
        if (base == 0) {
            json_decref(f);
            oa__say("cannot reach %s (%s), and document %lld is not in the local copy", c->server, net_last_error(), id);
            return EX_OFFLINE;
        }
        cbor_item_t *op = oa_sync_map(5);
        oa_sync_put_text(op, OA_OP_KIND, "edit");
        oa_sync_put_uint(op, OA_OP_DOC, (uint64_t)id);
        oa_sync_put_uint(op, OA_OP_BASE, (uint64_t)base);
        char *fj = json_dumps(f, JSON_COMPACT);
        cbor_item_t *fc = NULL;
        pv_decode_json(fj, strlen(fj), &fc, NULL, 0);
        free(fj);
        json_decref(f);
        oa_sync_put(op, OA_OP_FIELDS, fc);
        return oa__queue_op(c, op, id, "the edit");
    }
    json_decref(f);
    if (st == 412) {
        json_decref(out);
        oa__say("document %lld changed on the server since you last saw it (revision %lld): "
            "run oa sync, look at it (oa show %lld), and edit again", id, (long long)base, id);
        return EX_CONFLICT;
    }
    if (ex != EX_OK) {
        json_decref(out);
        return ex;
    }
    printf(c->json ? "{\"document\":%lld,\"revision\":%lld}\n" : "edited document %lld: now revision %lld\n", id,
           (long long)json_integer_value(json_object_get(out, "revision")));
    json_decref(out);
    struct sync_stats s;
    oa__do_sync(c, true, &s);
    return EX_OK;
}

int oa__cmd_act(struct ctx *c, int argc, char **argv)
{
    const char *opinion = NULL;
    json_t *params = json_object();
    static const struct option o[] = {{"opinion", required_argument, NULL, 'o'}, {"param", required_argument, NULL, 'p'},
                                      {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        if (ch == 'o') {
            opinion = optarg;
        } else if (ch == 'p' && strchr(optarg, '=')) {
            char key[64];
            const char *eq = strchr(optarg, '=');
            snprintf(key, sizeof(key), "%.*s", (int)(eq - optarg), optarg);
            json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
            json_object_set_new(params, key, v ? v : json_string(eq + 1));
        } else {
            json_decref(params);
            puts("usage: oa act ID ACTION [--opinion TEXT] [--param KEY=VALUE ...]\n"
                 "Acts on a document (submit, approve, object, sign, register, ...) with your opinion.\n"
                 "Offline, the action is queued for the next oa sync; if the document changed\n"
                 "meanwhile, the action is not applied and the conflict is shown to you.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    long long id = optind == argc - 2 ? oa__doc_arg(argv[optind]) : 0;
    if (id == 0) {
        json_decref(params);
        oa__say("usage: oa act ID ACTION [--opinion TEXT]");
        return EX_USAGE;
    }
    const char *action = argv[optind + 1];
    int ex = oa__need_session(c);
    if (ex || oa__open_cache(c) != 0) {
        json_decref(params);
        return ex ? ex : EX_FAIL;
    }
    json_t *b = json_pack("{s:s}", "action", action);
    if (opinion)
        json_object_set_new(b, "opinion", json_string(opinion));
    if (json_object_size(params))
        json_object_set(b, "params", params);
    char path[80], key[80];
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof(rnd));
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(key, sizeof(key), "Idempotency-Key: %s", hex);
    snprintf(path, sizeof(path), "/v1/documents/%lld/actions", id);
    const char *h[] = {key, NULL};
    json_t *out = NULL;
    long st = oa__api(c, "POST", path, b, h, 0, &out, &ex);
    json_decref(b);
    if (st < 0) {
        int64_t base = oa__cached_rev(c, id);
        if (base == 0) {
            json_decref(params);
            oa__say("cannot reach %s (%s), and document %lld is not in the local copy", c->server, net_last_error(), id);
            return EX_OFFLINE;
        }
        cbor_item_t *op = oa_sync_map(7);
        oa_sync_put_text(op, OA_OP_KIND, "act");
        oa_sync_put_uint(op, OA_OP_DOC, (uint64_t)id);
        oa_sync_put_uint(op, OA_OP_BASE, (uint64_t)base);
        oa_sync_put_text(op, OA_OP_ACTION, action);
        if (opinion)
            oa_sync_put_text(op, OA_OP_OPINION, opinion);
        if (json_object_size(params)) {
            char *pj = json_dumps(params, JSON_COMPACT);
            cbor_item_t *pc = NULL;
            pv_decode_json(pj, strlen(pj), &pc, NULL, 0);
            free(pj);
            oa_sync_put(op, OA_OP_PARAMS, pc);
        }
        json_decref(params);
        return oa__queue_op(c, op, id, "the action");
    }
    json_decref(params);
    if (ex != EX_OK)
        return ex;
    json_t *d = json_object_get(out, "document");
    if (c->json) {
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
    } else {
        printf("document %lld: %s -> %s\n", id, action, json_string_value(json_object_get(d, "state")));
    }
    json_decref(out);
    struct sync_stats s;
    oa__do_sync(c, true, &s);
    return EX_OK;
}

int oa__cmd_history(struct ctx *c, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        puts("usage: oa history ID\nEvery step of a document with its opinions (needs the server).");
        return argc == 2 ? EX_OK : EX_USAGE;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    long long id = oa__doc_arg(argv[1]);
    char path[80];
    snprintf(path, sizeof(path), "/v1/documents/%lld/history", id);
    json_t *out = NULL;
    long st = oa__api(c, "GET", path, NULL, NULL, 0, &out, &ex);
    if (st < 0) {
        oa__say("cannot reach %s (%s): the history needs the server", c->server, net_last_error());
        return EX_OFFLINE;
    }
    if (ex != EX_OK)
        return ex;
    if (c->json) {
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
    } else {
        size_t i;
        json_t *step;
        printf("%-6s %-14s %-24s %-12s %s\n", "STEP", "ACTION", "FROM -> TO", "BY", "OPINION");
        json_array_foreach(json_object_get(out, "steps"), i, step)
        {
            char ft[64];
            snprintf(ft, sizeof(ft), "%s -> %s", json_string_value(json_object_get(step, "from")) ?: "",
                     json_string_value(json_object_get(step, "to")) ?: "");
            printf("%-6lld %-14s %-24s %-12s %s\n", (long long)json_integer_value(json_object_get(step, "id")),
                   json_string_value(json_object_get(step, "action")) ?: "", ft,
                   json_string_value(json_object_get(step, "actor")) ?: "",
                   json_string_value(json_object_get(step, "opinion")) ?: "");
        }
    }
    json_decref(out);
    return EX_OK;
}

/*
 * A resumable upload: each piece continues from the offset the server holds.
 * Returns an exit code; EX_OFFLINE when the server cannot be reached at the start.
 */
int oa__attach_file(struct ctx *c, long long id, const char *file, bool quiet)
{
    FILE *f = fopen(file, "rb");
    struct stat sb;
    if (f == NULL || fstat(fileno(f), &sb) != 0) {
        if (f)
            fclose(f);
        oa__say("cannot read %s", file);
        return EX_USAGE;
    }
    const char *name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    json_t *b = json_pack("{s:I, s:s, s:I}", "document", (json_int_t)id, "name", name, "length", (json_int_t)sb.st_size);
    json_t *out = NULL;
    int ex;
    long st = oa__api(c, "POST", "/v1/uploads", b, NULL, 0, &out, &ex);
    json_decref(b);
    if (st < 0 || ex != EX_OK) {
        fclose(f);
        return st < 0 ? EX_OFFLINE : ex;
    }
    char loc[128];
    snprintf(loc, sizeof(loc), "%s", json_string_value(json_object_get(out, "location")));
    json_decref(out);
    uint64_t size = (uint64_t)sb.st_size, off = 0;
    const uint64_t piece = 64u * 1024 * 1024;
    int tries = 0;
    for (;;) {
        uint64_t len = size - off < piece ? size - off : piece;
        char ho[64];
        snprintf(ho, sizeof(ho), "Upload-Offset: %llu", (unsigned long long)off);
        const char *h[] = {ho, NULL};
        struct net_resp r;
        int rc = net_upload_file(c->server, c->token, "PATCH", loc, f, off, len, h, &r);
        json_t *j = rc == 0 && r.body ? json_loads(r.body, 0, NULL) : NULL;
        if (rc == 0 && r.status == 201) {
            if (c->json && !quiet)
                printf("%s\n", r.body);
            else if (!quiet)
                printf("attached %s to document %lld as attachment %lld (%llu bytes)\n", name, id,
                       (long long)json_integer_value(json_object_get(j, "id")), (unsigned long long)size);
            json_decref(j);
            net_resp_free(&r);
            fclose(f);
            return EX_OK;
        }
        if (rc == 0 && r.status == 200) {
            off = (uint64_t)json_integer_value(json_object_get(j, "offset"));
            tries = 0;
        } else if (rc == 0 && r.status != 409 && r.status < 500) {
            ex = oa__report_error(c, &r);
            json_decref(j);
            net_resp_free(&r);
            fclose(f);
            return ex;
        } else {
            /* Broken off: ask where the server is, and go on from there. */
            if (++tries > 20) {
                oa__say("the upload keeps breaking off (%s); run the same command again later", r.error);
                json_decref(j);
                net_resp_free(&r);
                fclose(f);
                return EX_FAIL;
            }
            sleep(tries > 3 ? 2 : 0);
            json_t *g = NULL;
            int gex;
            if (oa__api(c, "GET", loc, NULL, NULL, 0, &g, &gex) == 200)
                off = (uint64_t)json_integer_value(json_object_get(g, "offset"));
            json_decref(g);
        }
        json_decref(j);
        net_resp_free(&r);
    }
}

int oa__cmd_attach(struct ctx *c, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--help") == 0) {
        puts("usage: oa attach ID FILE\nAttaches a file to a document.  The upload resumes where it stopped\n"
             "when the connection breaks; offline, it is queued and uploaded at the next oa sync.");
        return argc == 2 ? EX_OK : EX_USAGE;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    long long id = oa__doc_arg(argv[1]);
    char abs[4096];
    if (id == 0 || realpath(argv[2], abs) == NULL) {
        oa__say("usage: oa attach ID FILE (cannot read %s)", argv[2]);
        return EX_USAGE;
    }
    ex = oa__attach_file(c, id, abs, false);
    if (ex != EX_OFFLINE)
        return ex;
    /* Offline: remember the file; the next sync uploads it (the file must still be there). */
    if (oa__open_cache(c) != 0)
        return EX_FAIL;
    cbor_item_t *op = oa_sync_map(4);
    oa_sync_put_text(op, OA_OP_KIND, "attach");
    oa_sync_put_uint(op, OA_OP_DOC, (uint64_t)id);
    oa_sync_put_text(op, OA_OP_FIELDS, abs);
    return oa__queue_op(c, op, id, "the attachment");
}

int oa__cmd_get(struct ctx *c, int argc, char **argv)
{
    const char *outpath = NULL;
    static const struct option o[] = {{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "o:h", o, NULL)) != -1) {
        if (ch == 'o')
            outpath = optarg;
        else {
            puts("usage: oa get ID ATTACHMENT [-o FILE]\nDownloads an attachment (to FILE, default: its id); an interrupted\n"
                 "download continues where it stopped when run again.");
            return ch == 'h' ? EX_OK : EX_USAGE;
        }
    }
    long long id = optind == argc - 2 ? oa__doc_arg(argv[optind]) : 0, att = id ? oa__doc_arg(argv[optind + 1]) : 0;
    if (att == 0) {
        oa__say("usage: oa get ID ATTACHMENT [-o FILE]");
        return EX_USAGE;
    }
    int ex = oa__need_session(c);
    if (ex)
        return ex;
    char def[64], part[700], path[96];
    snprintf(def, sizeof(def), "attachment-%lld", att);
    if (outpath == NULL)
        outpath = def;
    snprintf(part, sizeof(part), "%s.part", outpath);
    snprintf(path, sizeof(path), "/v1/documents/%lld/attachments/%lld", id, att);
    for (int tries = 0; tries < 20; tries++) {
        FILE *f = fopen(part, "ab");
        if (f == NULL) {
            oa__say("cannot write %s", part);
            return EX_FAIL;
        }
        fchmod(fileno(f), 0600);
        uint64_t from = (uint64_t)ftello(f), got = 0;
        struct net_resp r;
        int rc = net_download(c->server, c->token, path, f, from, &r, &got);
        fclose(f);
        if (rc == 0 && (r.status == 200 || r.status == 206) && r.error[0] == '\0') {
            if (r.status == 200 && from > 0) {
                /* the server sent it whole: keep only the fresh copy */
                oa__say("the server sent the whole file again; run the command once more");
                unlink(part);
                net_resp_free(&r);
                continue;
            }
            net_resp_free(&r);
            if (rename(part, outpath) != 0) {
                oa__say("cannot rename %s", part);
                return EX_FAIL;
            }
            printf(c->json ? "{\"file\":\"%s\"}\n" : "saved %s\n", outpath);
            return EX_OK;
        }
        if (rc == 0 && r.status == 416) {
            net_resp_free(&r);
            rename(part, outpath);
            printf(c->json ? "{\"file\":\"%s\"}\n" : "saved %s\n", outpath);
            return EX_OK;
        }
        if (rc == 0 && r.status >= 400) {
            ex = oa__report_error(c, &r);
            net_resp_free(&r);
            return ex;
        }
        net_resp_free(&r);
        sleep(tries > 3 ? 2 : 0);
    }
    oa__say("the download keeps breaking off; run the same command again to continue");
    return EX_OFFLINE;
}
