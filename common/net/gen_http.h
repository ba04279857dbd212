/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: HTTP client for the Genesys Cloud Platform API.
 *
 * One gen_http_t per plugin instance and thread, holding one reused libcurl
 * easy handle (keep-alive). Requests get the bearer token from a token
 * source (gen_auth_tokens() makes one of the OAuth token cache),
 * follow the retry policy below, and leave a one-line description of
 * any failure (the platform error body decoded) in the response, so the
 * caller, who knows what it was doing, logs it once.
 *
 * Retry policy per request:
 *   401 with a token: the token is refreshed once and the request repeated
 *   once; 429: sleep Retry-After (or inin-ratelimit-reset, or 3 s) unless it
 *   is longer than RetryAfterMax, then retry; 502/503/504 and transport
 *   errors: exponential backoff with ±20 % jitter (1 s, 2 s, 4 s … ≤ 30 s).
 *   At most MaxRetries retries. Other statuses are final.
 */
#ifndef GEN_HTTP_H
#define GEN_HTTP_H 1

#include "gen_config.h"
#include "gen_err.h"
#include "gen_stats.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes: gen_http_error of gen_err.h. */

typedef struct gen_http_s gen_http_t;

/* Longest access token we keep. */
#define GEN_TOKEN_MAX 4096

/* Where requests get their bearer token: token() copies a valid one into
 * buf (0, or a negative code after logging why) with its generation;
 * invalidate() drops the token of that generation after a 401. The token
 * cache (gen_auth) sits above this client and requests its tokens through
 * it, so the source is a callback, not a call into gen_auth. */
typedef struct {
  int (*token)(void *ud, char *buf, size_t size, uint64_t *generation);
  void (*invalidate)(void *ud, uint64_t generation);
  void *ud;
} gen_http_tokens_t;

typedef struct {
  long status; /* 0 when no HTTP answer came */
  char *body;  /* NUL-terminated; NULL when empty */
  size_t body_len;
  size_t body_cap;    /* bytes allocated at body */
  double retry_after; /* seconds, -1 when absent */
  int64_t rl_count;   /* inin-ratelimit-count, -1 when absent */
  int64_t rl_allowed; /* inin-ratelimit-allowed */
  int64_t rl_reset;   /* inin-ratelimit-reset (seconds) */
  int64_t date_ms;    /* Date (the server's clock, whole seconds), -1 */
  char correlation_id[80];
  bool too_large;
  int attempts;    /* requests made, retries included */
  char error[512]; /* one line describing a failure, "" on success */
} gen_http_response_t;

/* An answer bound: the most bytes one answer of a kind of request may
 * have, and what names those answers in the error ("status page"). Each
 * family declares its own beside its request (its row, its request
 * helper), sized from what the API can answer: page size times the
 * largest entity the record shows, with a wide margin. An answer read into
 * a json-c document costs about 20 times its text in memory, which the heap
 * keeps after; one read by gen_jscan about its text. A request carries its
 * own, for itself alone (options.answer, the pager's, the shortcuts'
 * answer); {0}: the handle's (gen_http_answer_limit), else MaxResponseSize
 * alone. The lower of the bound and MaxResponseSize applies; beyond it an
 * answer is refused as it arrives (GEN_HTTP_ERR_TOO_LARGE, "<what> answer
 * larger than N bytes", counted in api_answers_too_large; no rest: the
 * family asks again at its next read, the others are unaffected). */
typedef struct {
  size_t bytes;
  const char *what;
} gen_http_bound_t;
#define GEN_KIB(n) ((size_t)(n) << 10)
#define GEN_MIB(n) ((size_t)(n) << 20)
#define GEN_HTTP_BOUND(bytes, what) ((gen_http_bound_t){(bytes), (what)})
#define GEN_HTTP_NO_BOUND ((gen_http_bound_t){0, NULL})
/* Sets the handle's bound, for the requests without one of their own that
 * follow (a family's collection), and returns the one it replaces, for the
 * caller to put back. */
gen_http_bound_t gen_http_answer_limit(gen_http_t *http,
                                       gen_http_bound_t bound);

typedef struct {
  const char *content_type;  /* default "application/json" with a body */
  const char *authorization; /* explicit header value; no bearer token */
  /* One attempt, no retries: the caller backs off on its own (the token
   * cache, whose caller is collectd's read thread). */
  bool no_retry;
  /* target is a public document on another origin (the status page): any
   * allowed http(s) URL (gen_url_allowed), sent with no Authorization at
   * all, so that a token never leaves for it. */
  bool public_url;
  /* The whole request's limit when shorter than the org's Timeout (0:
   * Timeout), for a request that must not hold up the rest of a read. */
  cdtime_t timeout;
  gen_http_bound_t answer; /* this request's; {0}: the handle's */
} gen_http_options_t;

/* tokens may be NULL (no bearer token: the token endpoint itself); it is
 * copied. stats may be NULL. */
gen_http_t *gen_http_create(const gen_org_t *org, gen_stats_t *stats,
                            const gen_http_tokens_t *tokens);
void gen_http_free(gen_http_t *http);

/* Retries without sleeping, for the handle of a collectd read callback
 * (whose thread, asleep, starves every other plugin's reads): a request
 * that would wait before its retry (no answer, 429, 502, 503, 504) returns
 * its error at once, and the handle rests until the retry is due (the
 * Retry-After, or a backoff that doubles with each failure in a row, 1 s to
 * 30 s). While it rests, requests are not sent: they fail at once with the
 * error that started the rest (" (not sent: next try in N s)" added), and
 * gen_http_resting() tells the read to skip itself. Off by default. */
void gen_http_defer_retries(gen_http_t *http, bool defer);
/* True while a deferring handle rests; *left (may be NULL) the seconds. */
bool gen_http_resting(gen_http_t *http, double *left);

/* Performs method on target: an API path ("/api/v2/…", appended to the API
 * base URL) or an absolute URL on the API or login origin. body may be NULL.
 * Returns 0 on 2xx, else one of the negative codes above, with resp->error
 * set. Free resp with gen_http_response_reset(). */
int gen_http_request(gen_http_t *http, const char *method, const char *target,
                     const char *body, const gen_http_options_t *options,
                     gen_http_response_t *resp);
void gen_http_response_reset(gen_http_response_t *resp);
/* gen_http_response_reset(), keeping resp's body buffer (up to 4 MiB) for
 * the next answer of http: no fresh malloc() of a large block per answer. */
void gen_http_response_recycle(gen_http_t *http, gen_http_response_t *resp);
/* Gives back the body buffer kept by gen_http_response_recycle(): called
 * once a burst of requests is over (a read, a baseline), so that an idle
 * handle holds no answer's worth of memory. */
void gen_http_release(gen_http_t *http);
/* POSTs the JSON text body to path; the answer's text is resp->body (NULL
 * when empty), for a caller that reads it without a json-c document. Free
 * resp with gen_http_response_recycle(). */
int gen_http_post_text(gen_http_t *http, const char *path, const char *body,
                       gen_http_bound_t answer, gen_http_response_t *resp,
                       char *error, size_t error_size);

/* Counts an answer the caller could not read (gen_http_post_text) in the
 * handle's malformed self-metric, as the JSON shortcuts count theirs. */
void gen_http_count_malformed(gen_http_t *http);

/* A successful answer's body as a json-c document (an empty body: an
 * empty object), held to gen_json_answer_bounds (what its tree may cost,
 * whatever its bytes): 0 and *out, or GEN_HTTP_ERR_JSON, counted in the
 * malformed self-metric, with "malformed JSON in HTTP <status> answer:
 * <why>" in error (may be NULL). The JSON shortcuts' reader. */
int gen_http_answer_json(gen_http_t *http, const gen_http_response_t *resp,
                         json_object **out, char *error, size_t error_size);

/* seconds, ±20 % at random: the retries' waits, and the notification
 * channels' reconnects (so that many do not come at once). */
double gen_http_jitter(double seconds);

/* JSON shortcuts: *out is a new reference on success. error (may be NULL)
 * receives the one-line failure description. */
int gen_http_get_json(gen_http_t *http, const char *path,
                      gen_http_bound_t answer, json_object **out, char *error,
                      size_t error_size);
int gen_http_post_json(gen_http_t *http, const char *path, json_object *body,
                       gen_http_bound_t answer, json_object **out, char *error,
                       size_t error_size);
/* GET of a public JSON document at url (options.public_url): one attempt
 * (its failure never makes the org rest; the caller asks again at its next
 * read) within timeout (0: the org's Timeout). */
int gen_http_get_public_json(gen_http_t *http, const char *url,
                             cdtime_t timeout, gen_http_bound_t answer,
                             json_object **out, char *error, size_t error_size);

/* The pager of every listing and query that pages. It asks path (which
 * may carry a query) with pageSize=page_size&pageNumber=1 (page_size 0:
 * path as it is, for a route that takes no paging parameters; a paged
 * answer is followed all the same) (POSTing body when set), calls each(item,
 * ud) for every element of the answer's array
 * ("entities", or array), then follows the answer to its last page:
 * nextUri (unless numbered: a listing whose links drop path's filters),
 * else pageNumber up to pageCount, else, for an answer without paging
 * fields (the routing activity query), the next page while more(ud) says
 * so; an empty page ends the walk. The next pages are asked at the page
 * size the answer gives (its pageSize), never a fixed number of them: the
 * only guards are GEN_HTTP_PAGES_MAX and a link that repeats a page
 * already asked (a server that never ends). A first page smaller than
 * asked is logged once per listing and handle. A non-zero return of each()
 * stops the walk and is returned. A page that cannot be had or read is the
 * listing's failure: error names the listing (its path, cut) and the page,
 * then the reason; past deadline (0: none) no page after the first is
 * asked (-ETIMEDOUT). */
#define GEN_HTTP_PAGES_MAX 10000 /* 250,000 users at 25 a page */
typedef struct {
  const char *path;
  const char *body;  /* POST this (a query that pages); NULL: GET */
  const char *array; /* the items' array; NULL: "entities" */
  int page_size;
  bool numbered;           /* never follow nextUri */
  bool (*more)(void *ud);  /* without paging fields: ask the next? */
  cdtime_t deadline;       /* 0: none */
  gen_http_bound_t answer; /* each page's; {0}: the handle's */
  int (*each)(json_object *item, void *ud);
  void *ud;
  /* out */
  int page;     /* the last page asked (the one that failed) */
  long status;  /* its HTTP status, 0 without an answer */
  size_t items; /* items handed to each() */
} gen_http_pager_t;
int gen_http_page_all(gen_http_t *http, gen_http_pager_t *p, char *error,
                      size_t error_size);

/* The pager for a GET listing: path's pages, nextUri followed. */
int gen_http_get_pages(gen_http_t *http, const char *path, int page_size,
                       gen_http_bound_t answer,
                       int (*each)(json_object *entity, void *ud), void *ud,
                       char *error, size_t error_size);

#endif /* GEN_HTTP_H */
