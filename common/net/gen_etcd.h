/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an etcd client over its JSON gateway (POST
 * /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke, /v3/kv/txn,
 * /v3/kv/range; keys and values in base64, 64-bit numbers as strings),
 * with libcurl: no etcd client library is in Debian. Used by gen_standby.
 *
 * One kept curl handle a client (its connection reused from one request to
 * the next), with the policy every handle gets (gen_curl_policy: http and
 * https only, TLS verified, 1.2 at least, no redirects), etcd's own TLS
 * files, and no proxy at all: etcd is the agents' own service, and neither
 * the org's Proxy nor the environment's (http_proxy, ALL_PROXY) is for it.
 * A client is used by one thread at a time (a mutex guards it).
 */
#ifndef GEN_ETCD_H
#define GEN_ETCD_H 1

#include "gen_buf.h"
#include "gen_json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gen_etcd_s gen_etcd_t;

/* A client of etcd's client URLs (tried in order, the one that answered
 * last first; a trailing '/' cut), with etcd's CA and client certificate
 * and key (NULL: the system's CAs, no certificate), each request at most
 * timeout_ms. NULL with err said when the handle cannot be made. */
gen_etcd_t *gen_etcd_new(char *const *urls, size_t n_urls, const char *ca,
                         const char *cert, const char *key, long timeout_ms,
                         char *err, size_t err_size);
void gen_etcd_free(gen_etcd_t *e);

/* One request: body POSTed to path on the first URL that answers; *answer
 * its JSON (the caller puts it). 0, or a negative errno with why filled.
 * A test sets a fake gateway of its own (and puts gen_etcd_post_curl
 * back). */
extern int (*gen_etcd_post)(gen_etcd_t *e, const char *path, const char *body,
                            json_object **answer, char *why, size_t why_size);
int gen_etcd_post_curl(gen_etcd_t *e, const char *path, const char *body,
                       json_object **answer, char *why, size_t why_size);

/* A range request of key (with prefix: every key beginning so; keys_only:
 * without the values), through gen_etcd_post. */
int gen_etcd_range(gen_etcd_t *e, const char *key, bool prefix, bool keys_only,
                   json_object **answer, char *why, size_t why_size);

/* ---- the gateway's JSON ---------------------------------------------------
 */

/* text in base64, as the gateway takes keys and values. */
int gen_etcd_add_b64(gen_buf_t *b, const char *text);
/* Decoded into a NUL-terminated heap buffer (its length into len unless
 * NULL); NULL when not base64 (or text NULL). */
char *gen_etcd_unb64(const char *text, size_t *len);
/* A range request's body (as gen_etcd_range); NULL when out of memory. */
char *gen_etcd_range_body(const char *key, bool prefix, bool keys_only);
/* Appends one operation of a transaction to ops (comma-separated): a put
 * of data (len bytes) at key, or (data NULL) a delete of key or, with
 * prefix, of every key beginning so. */
int gen_etcd_add_op(gen_buf_t *ops, const char *key, const char *data,
                    size_t len, bool prefix);
/* Whether a transaction's answer says it succeeded. */
bool gen_etcd_succeeded(json_object *answer);
/* A 64-bit number the gateway writes as a string ("ID", "TTL",
 * "revision"); 0 when absent. */
int64_t gen_etcd_num(json_object *obj, const char *key);
/* The value of the first key of a range answer ({"kvs": [{"value"}]}),
 * decoded: NULL when there is none. */
char *gen_etcd_first_value(json_object *range, size_t *len);

#endif /* GEN_ETCD_H */
