/*
 * server/config.h: oad's settings.
 *
 * Defaults are compiled in; an optional INI file (parsed by inih) overrides
 * them; command-line flags override the file.  Parsing lives here, apart from
 * the code that uses the values.
 */
#ifndef OA_SERVER_CONFIG_H
#define OA_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oa_config {
    char data_dir[512];
    char key_file[512];     /* default: DATA/keys */
    char listen_host[64];
    int listen_port;
    int log_level;

    /* HTTP limits */
    unsigned max_connections;
    unsigned max_connections_per_source; /* open connections from one client address */
    size_t max_header_bytes;
    size_t max_body_bytes;      /* default per-route body limit */
    unsigned header_timeout_ms; /* from a request's first byte to its last header */
    unsigned body_timeout_ms;   /* longest pause between body bytes */
    unsigned idle_timeout_ms;   /* keep-alive connection with no request */
    unsigned write_timeout_ms;  /* a response that the client does not read */
    unsigned shutdown_timeout_ms;

    /* security */
    bool argon2_explicit;       /* set by the file or a flag: skip calibration */
    uint64_t argon2_opslimit;
    size_t argon2_memlimit;     /* bytes */
    unsigned session_idle_s;
    unsigned session_lifetime_s;
    unsigned lockout_threshold;         /* failures of one (source, account) pair before it gets 429 */
    unsigned account_lockout_threshold; /* failures of one account from all sources before it locks */
    unsigned source_failure_limit;      /* failures from one address in 15 min before it needs a second factor */
    unsigned lockout_s;
    unsigned login_delay_ms;    /* first failed-login delay; doubles per failure, up to 16x */

    /* blobs (attachments) */
    size_t blob_max_bytes;          /* one blob */
    size_t blob_max_request_bytes;  /* one upload request (a resumable upload may take several) */
    int blob_suite;                 /* 1 AES-256-GCM, 2 SM4-CTR + HMAC-SM3 */
    unsigned housekeeping_s;        /* how often ended sessions and old action answers are deleted */
    unsigned idempotency_keep_s;    /* an action's stored answer (Idempotency-Key) is kept at least this long */
    unsigned upload_idle_s;         /* an unfinished resumable upload is dropped after this */

    /* storage */
    unsigned storage_readers;       /* reader threads (storage/reader.h); default: the number of cores */
    size_t storage_reserve_bytes;   /* disk held back for audit entries and logins while the disk is full */
    bool storage_encrypt;           /* false only for the benchmark's plain comparison (tests/bench) */
    unsigned storage_cache_kib;     /* the writer's page cache (storage/store.h oa_store_cache_kib) */
    unsigned storage_reader_cache_kib; /* each reader's page cache */

    /* sync */
    unsigned sync_cache_max_level;  /* clients may keep documents up to this level on disk */

    /* GET /metrics */
    char metrics_scrape_token[129]; /* "" none; else a bearer token that may read the metrics (never logged) */
    bool metrics_allow_remote;      /* answer peers other than loopback */

    /* #16 archival packages: the archive's recipient certificate (PEM) for 秘密 and above; "" none */
    char records_recipient_cert[512];
    /* TLS (#17, server/tls.c): both empty = plain HTTP, allowed only on loopback */
    char tls_cert[512];             /* PEM certificate chain, server first */
    char tls_key[512];              /* PEM private key */
    char tls_client_ca[512];        /* "" no client certificates; else required and verified against it */
    bool tls_client_account;        /* a client certificate's subject CN must be the session's account */
    bool tls_allow_plain_remote;    /* tests only: plain HTTP on a non-loopback address */
    /* #17, keys off the data disk: the sealed key file's passphrase and the Argon2id of a new seal */
    char passphrase_file[512];      /* "" none: $CREDENTIALS_DIRECTORY/oad-passphrase, else typed */
    uint64_t seal_opslimit;
    size_t seal_memlimit;           /* bytes */
    char pkcs11_module[512];        /* "" none; else KEKs may live in this PKCS#11 module's token (p11-kit) */
    char pkcs11_token[33];          /* the token's label */
    char pkcs11_pin_file[512];      /* its user PIN (one line, mode 0600); "" the credential oad-pkcs11-pin */
};

void oa_config_defaults(struct oa_config *c);

/*
 * Reads an INI file into c.  Returns 0, or -1 with a sentence in cause
 * (naming the file and line) for an unreadable file, an unknown key or a bad
 * value.
 */
int oa_config_load(struct oa_config *c, const char *path, char *cause, size_t causelen);

/* Applies one "section.key" = value setting; 0 or -1 with a cause. */
int oa_config_set(struct oa_config *c, const char *section, const char *key, const char *value,
                  char *cause, size_t causelen);

/* Parses "HOST:PORT" into the listen fields; 0 or -1. */
int oa_config_set_listen(struct oa_config *c, const char *hostport);

#endif
