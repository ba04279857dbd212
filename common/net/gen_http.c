/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: HTTP client for the Genesys Cloud Platform API.
 */
#include "gen_http.h"
#include "gen_buf.h"
#include "gen_hash.h"
#include "gen_json.h"
#include "gen_log.h"
#include "gen_time.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Wait used for a 429 that names no delay (the .NET SDK's default). */
#define GEN_HTTP_DEFAULT_RETRY_AFTER 3.0
/* Backoff for 5xx and transport errors: 1 s, 2 s, 4 s … capped. */
#define GEN_HTTP_BACKOFF_BASE 1.0
#define GEN_HTTP_BACKOFF_MAX 30.0

struct gen_http_s {
  const gen_org_t *org;
  gen_stats_t *stats;
  gen_http_tokens_t tokens; /* token == NULL: no bearer token */
  CURL *curl;
  char curl_error[CURL_ERROR_SIZE];
  gen_http_response_t *current; /* the response being filled */
  /* The last JSON answer's body buffer, kept for the next one: a fresh
   * large malloc() per answer made glibc consolidate the previous answer's
   * freed json-c objects first (half of the analytics requests' CPU). */
  char *spare;
  size_t spare_cap;
  /* gen_http_defer_retries(): the rest (gen_monotonic()) and what began it */
  bool defer;
  int failures; /* deferred failures in a row: the backoff step */
  cdtime_t rest_until;
  int rest_code, rest_status;
  char rest_error[sizeof(((gen_http_response_t *)0)->error)];
  /* Listings (path before '?', hashed) that answered smaller pages than
   * asked: said once each (short_page). */
  uint64_t short_pages[16];
  size_t n_short_pages;
  gen_http_bound_t answer; /* in force: the handle's, or a request's own */
};

/* Bodies up to this size are kept for the next answer. */
#define SPARE_MAX ((size_t)4 << 20)
/* The most of a listing's path a log line or an error shows. */
#define LISTING_MAX 160

/* ---- seams: tests replace the transport and the sleep ------------------ */

static int http_perform_curl(gen_http_t *http, const char *method,
                             const char *url, const char *body,
                             struct curl_slist *headers,
                             gen_http_response_t *resp);
static void http_sleep_real(double seconds);

static int (*http_perform)(gen_http_t *, const char *, const char *,
                           const char *, struct curl_slist *,
                           gen_http_response_t *) = http_perform_curl;
static void (*http_sleep)(double seconds) = http_sleep_real;

static void http_sleep_real(double seconds) {
  if (seconds <= 0)
    return;
  struct timespec ts = {.tv_sec = (time_t)seconds,
                        .tv_nsec = (long)((seconds - floor(seconds)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ---- response ------------------------------------------------------------ */

static void response_init(gen_http_response_t *resp) {
  memset(resp, 0, sizeof(*resp));
  resp->retry_after = -1;
  resp->rl_count = resp->rl_allowed = resp->rl_reset = -1;
  resp->date_ms = -1;
}

void gen_http_response_reset(gen_http_response_t *resp) {
  free(resp->body);
  response_init(resp);
}

/* The bytes an answer may have now. */
static size_t answer_max(const gen_http_t *http) {
  size_t org = http->org->max_response_size;
  size_t own = http->answer.bytes;
  return own > 0 && own < org ? own : org;
}

gen_http_bound_t gen_http_answer_limit(gen_http_t *http,
                                       gen_http_bound_t bound) {
  gen_http_bound_t was = http->answer;
  http->answer = bound.bytes > 0 ? bound : (gen_http_bound_t){0, NULL};
  return was;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  gen_http_t *http = ud;
  gen_http_response_t *resp = http->current;
  size_t n = size * nmemb;
  if (resp->body == NULL && http->spare != NULL) {
    resp->body = http->spare;
    resp->body_cap = http->spare_cap;
    http->spare = NULL;
    http->spare_cap = 0;
  }
  /* The response keeps its body fields, which every caller reads: the
   * buffer works on them and hands them back. */
  gen_buf_t body = {.data = resp->body,
                    .len = resp->body_len,
                    .cap = resp->body_cap,
                    .max = answer_max(http)};
  int err = gen_buf_add(&body, data, n);
  resp->body = body.data;
  resp->body_len = body.len;
  resp->body_cap = body.cap;
  if (err == -E2BIG)
    resp->too_large = true;
  return err == 0 ? n : 0; /* 0 makes curl fail with CURLE_WRITE_ERROR */
}

/* Matches "Name: value" (case-insensitive name) and returns value, trimmed
 * into buf, or NULL. */
static const char *header_value(const char *line, size_t len, const char *name,
                                char *buf, size_t size) {
  size_t name_len = strlen(name);
  if (len <= name_len || line[name_len] != ':' ||
      strncasecmp(line, name, name_len) != 0)
    return NULL;
  const char *v = line + name_len + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t n = (size_t)(end - v);
  if (n >= size)
    n = size - 1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  return buf;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  gen_http_t *http = ud;
  gen_http_response_t *resp = http->current;
  size_t n = size * nmemb;
  char value[128], *end;
  struct {
    const char *name;
    int64_t *to;
  } numbers[] = {{"inin-ratelimit-count", &resp->rl_count},
                 {"inin-ratelimit-allowed", &resp->rl_allowed},
                 {"inin-ratelimit-reset", &resp->rl_reset}};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(numbers); i++)
    if (header_value(data, n, numbers[i].name, value, sizeof(value))) {
      errno = 0;
      long long v = strtoll(value, &end, 10);
      if (errno == 0 && end != value && *end == '\0')
        *numbers[i].to = v;
      return n;
    }
  if (header_value(data, n, "Retry-After", value, sizeof(value))) {
    /* Seconds; an HTTP date is not used by the platform. */
    double d = strtod(value, &end);
    if (end != value && *end == '\0' && isfinite(d) && d >= 0)
      resp->retry_after = d;
  } else if (header_value(data, n, "ININ-Correlation-Id", value, sizeof(value)))
    sstrncpy(resp->correlation_id, value, sizeof(resp->correlation_id));
  else if (header_value(data, n, "Date", value, sizeof(value))) {
    /* the server's clock (gen_clock_offset_note) */
    time_t t = curl_getdate(value, NULL);
    if (t > 0)
      resp->date_ms = (int64_t)t * 1000;
  }
  return n;
}

/* ---- handle -------------------------------------------------------------- */

gen_http_t *gen_http_create(const gen_org_t *org, gen_stats_t *stats,
                            const gen_http_tokens_t *tokens) {
  gen_http_t *http = calloc(1, sizeof(*http));
  if (http == NULL)
    return NULL;
  http->org = org;
  http->stats = stats;
  if (tokens != NULL)
    http->tokens = *tokens;
  CURL *c = http->curl = curl_easy_init();
  char err[CURL_ERROR_SIZE];
  if (c == NULL || gen_curl_policy(c, org, err, sizeof(err)) != 0) {
    if (c != NULL)
      gen_org_log(org, NULL, LOG_ERR, "setting up libcurl failed: %s", err);
    gen_http_free(http);
    return NULL;
  }
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, http->curl_error);
  curl_easy_setopt(c, CURLOPT_USERAGENT, GEN_PACKAGE_STRING);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CDTIME_T_TO_MS(org->timeout));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)CDTIME_T_TO_MS(org->connect_timeout));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when offered */
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, http);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, http);
  return http;
}

void gen_http_defer_retries(gen_http_t *http, bool defer) {
  http->defer = defer;
}

bool gen_http_resting(gen_http_t *http, double *left) {
  cdtime_t now = gen_monotonic();
  bool resting = http->defer && now < http->rest_until;
  if (left != NULL)
    *left = resting ? CDTIME_T_TO_DOUBLE(http->rest_until - now) : 0;
  return resting;
}

void gen_http_free(gen_http_t *http) {
  if (http == NULL)
    return;
  curl_easy_cleanup(http->curl);
  free(http->spare);
  free(http);
}

static int http_perform_curl(gen_http_t *http, const char *method,
                             const char *url, const char *body,
                             struct curl_slist *headers,
                             gen_http_response_t *resp) {
  CURL *c = http->curl;
  http->current = resp;
  http->curl_error[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
  if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                   (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
                       ? NULL
                       : method);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
  http->current = NULL;
  if (http->stats != NULL && body != NULL)
    atomic_fetch_add(&http->stats->bytes_sent, strlen(body));
  if (rc != CURLE_OK) {
    if (resp->too_large)
      return GEN_HTTP_ERR_TOO_LARGE;
    snprintf(resp->error, sizeof(resp->error), "%s",
             http->curl_error[0] ? http->curl_error : curl_easy_strerror(rc));
    return GEN_HTTP_ERR_TRANSPORT;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
  return 0;
}

/* ---- errors ---------------------------------------------------------------
 */

/* Describes a platform ErrorBody ({message, code, status, contextId, …}) in
 * one line; falls back to the raw (cut) body. */
static void describe_error(const gen_http_response_t *resp, char *buf,
                           size_t size) {
  json_object *doc = NULL;
  char err[64];
  const char *message = NULL, *code = NULL, *context = NULL;
  if (gen_json_parse_answer(resp->body, resp->body_len, &doc, err,
                            sizeof(err)) == 0) {
    message = gen_json_get_string(doc, "message");
    code = gen_json_get_string(doc, "code");
    context = gen_json_get_string(doc, "contextId");
    /* OAuth errors: {"error": …, "description"/"error_description": …}. */
    if (code == NULL)
      code = gen_json_get_string(doc, "error");
    if (message == NULL)
      message = gen_json_get_string(doc, "error_description");
    if (message == NULL)
      message = gen_json_get_string(doc, "description");
  }
  char correlation[128] = "";
  if (resp->correlation_id[0] != '\0' || context != NULL)
    snprintf(correlation, sizeof(correlation), " (%s%s%s%s)",
             context ? "contextId " : "", context ? context : "",
             (context && resp->correlation_id[0]) ? ", " : "",
             resp->correlation_id[0] ? resp->correlation_id : "");
  if (code != NULL || message != NULL) {
    snprintf(buf, size, "HTTP %ld %s: %s%s", resp->status, code ? code : "-",
             message ? message : "-", correlation);
  } else {
    /* Not an ErrorBody: show the start of the body, on one line. */
    char raw[128] = "";
    size_t n = 0;
    for (size_t i = 0; resp->body && i < resp->body_len && n + 1 < sizeof(raw);
         i++)
      raw[n++] = (resp->body[i] == '\n' || resp->body[i] == '\r')
                     ? ' '
                     : resp->body[i];
    raw[n] = '\0';
    snprintf(buf, size, "HTTP %ld%s%s%s", resp->status, n ? ": " : "", raw,
             correlation);
  }
  json_object_put(doc);
}

/* ---- requests --------------------------------------------------------------
 */

static bool same_origin(const char *url, const char *base) {
  size_t n =
      strcspn(base + strcspn(base, ":") + 3, "/") + (strcspn(base, ":") + 3);
  return strncasecmp(url, base, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

/* The URL of target: a public one as it is (gen_url_allowed), one on the
 * API or login origin as it is, a path after the API's base URL. */
static int build_url(gen_http_t *http, const char *target, bool public_url,
                     char *url, size_t size) {
  bool whole = strncasecmp(target, "http://", 7) == 0 ||
               strncasecmp(target, "https://", 8) == 0;
  bool refused = public_url ? !gen_url_allowed(target)
                 : whole    ? !same_origin(target, http->org->api_base_url) &&
                               !same_origin(target, http->org->login_base_url)
                         : target[0] != '/';
  const char *base = public_url || whole ? "" : http->org->api_base_url;
  return refused || snprintf(url, size, "%s%s", base, target) >= (int)size
             ? GEN_HTTP_ERR_ARGUMENT
             : 0;
}

double gen_http_jitter(double seconds) {
  unsigned char r[2];
  if (RAND_bytes(r, sizeof(r)) != 1)
    return seconds;
  double unit = ((r[0] << 8) | r[1]) / 65535.0; /* 0..1 */
  return seconds * (0.8 + 0.4 * unit);
}

static double backoff_seconds(int retry) {
  double s = GEN_HTTP_BACKOFF_BASE * pow(2.0, retry);
  return gen_http_jitter(s > GEN_HTTP_BACKOFF_MAX ? GEN_HTTP_BACKOFF_MAX : s);
}

static void wipe_headers(struct curl_slist *headers) {
  for (struct curl_slist *h = headers; h != NULL; h = h->next)
    OPENSSL_cleanse(h->data, strlen(h->data));
  curl_slist_free_all(headers);
}

static struct curl_slist *build_headers(const char *authorization,
                                        const char *content_type) {
  char type[GEN_TOKEN_MAX + 64] = "", auth[GEN_TOKEN_MAX + 64] = "";
  if (content_type != NULL)
    snprintf(type, sizeof(type), "Content-Type: %s", content_type);
  if (authorization != NULL)
    snprintf(auth, sizeof(auth), "Authorization: %s", authorization);
  /* "Expect:": no "Expect: 100-continue" round trip for large POST
   * bodies. */
  const char *lines[] = {"Accept: application/json", type, "Expect:", auth};
  struct curl_slist *headers = NULL;
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(lines); i++) {
    /* (The first line is never empty: headers is a list after it.) */
    struct curl_slist *next =
        lines[i][0] != '\0' ? curl_slist_append(headers, lines[i]) : headers;
    if (next == NULL) {
      wipe_headers(headers);
      headers = NULL;
      break;
    }
    headers = next;
  }
  OPENSSL_cleanse(auth, sizeof(auth));
  return headers;
}

static void record_ratelimit(gen_http_t *http,
                             const gen_http_response_t *resp) {
  if (http->stats == NULL || resp->rl_allowed <= 0)
    return;
  atomic_store(&http->stats->ratelimit_allowed, resp->rl_allowed);
  atomic_store(&http->stats->ratelimit_count,
               resp->rl_count >= 0 ? resp->rl_count : 0);
}

static int http_request(gen_http_t *http, const char *method,
                        const char *target, const char *body,
                        const gen_http_options_t *options,
                        gen_http_response_t *resp) {
  response_init(resp);
  char url[4096];
  bool public_url = options != NULL && options->public_url;
  if (build_url(http, target, public_url, url, sizeof(url)) != 0) {
    snprintf(resp->error, sizeof(resp->error),
             public_url ? "refused URL \"%.200s\": not an allowed http(s) URL"
                        : "refused URL \"%.200s\": not on the API or login "
                          "origin",
             target);
    return GEN_HTTP_ERR_ARGUMENT;
  }
  const char *content_type = (options && options->content_type)
                                 ? options->content_type
                                 : (body != NULL ? "application/json" : NULL);
  bool refreshed = false;
  int retries = 0;
  int status;
  double left;
  if (gen_http_resting(http, &left)) {
    /* The read that asks now skips the rest of its requests this way. */
    resp->status = http->rest_status;
    snprintf(resp->error, sizeof(resp->error),
             "%.400s (not sent: next try in %.0f s)", http->rest_error,
             ceil(left));
    return http->rest_code;
  }

  for (;;) {
    /* What the last attempt produced goes; the attempt count stays. */
    int attempts = resp->attempts;
    gen_http_response_reset(resp);
    resp->attempts = attempts;
    char authorization[GEN_TOKEN_MAX + 16];
    uint64_t generation = 0;
    authorization[0] = '\0';
    if (options && options->authorization) {
      sstrncpy(authorization, options->authorization, sizeof(authorization));
    } else if (http->tokens.token != NULL && !public_url) {
      char token[GEN_TOKEN_MAX];
      if (http->tokens.token(http->tokens.ud, token, sizeof(token),
                             &generation) != 0) {
        snprintf(resp->error, sizeof(resp->error),
                 "no access token (see the token error above)");
        return GEN_HTTP_ERR_AUTH;
      }
      snprintf(authorization, sizeof(authorization), "Bearer %s", token);
      OPENSSL_cleanse(token, sizeof(token));
    }
    struct curl_slist *headers =
        build_headers(authorization[0] ? authorization : NULL, content_type);
    OPENSSL_cleanse(authorization, sizeof(authorization));
    if (headers == NULL) {
      snprintf(resp->error, sizeof(resp->error), "out of memory");
      return GEN_HTTP_ERR_ARGUMENT;
    }

    resp->attempts++;
    cdtime_t limit = options != NULL ? options->timeout : 0;
    bool shorter = limit > 0 && limit < http->org->timeout;
    if (shorter)
      curl_easy_setopt(http->curl, CURLOPT_TIMEOUT_MS,
                       (long)CDTIME_T_TO_MS(limit));
    status = http_perform(http, method, url, body, headers, resp);
    if (shorter)
      curl_easy_setopt(http->curl, CURLOPT_TIMEOUT_MS,
                       (long)CDTIME_T_TO_MS(http->org->timeout));
    wipe_headers(headers);
    if (http->stats != NULL) {
      gen_stats_count_request(http->stats, status == 0 ? resp->status : 0);
      atomic_fetch_add(&http->stats->bytes_received, resp->body_len);
    }
    record_ratelimit(http, resp);

    if (status == GEN_HTTP_ERR_TOO_LARGE) {
      if (http->stats != NULL)
        atomic_fetch_add(&http->stats->too_large, 1);
      if (answer_max(http) < http->org->max_response_size)
        snprintf(resp->error, sizeof(resp->error),
                 "%s answer larger than %zu bytes, the most one may have "
                 "(refused as it arrived)",
                 http->answer.what ? http->answer.what : "an",
                 answer_max(http));
      else
        snprintf(resp->error, sizeof(resp->error),
                 "response larger than MaxResponseSize (%zu bytes)",
                 http->org->max_response_size);
      return status;
    }

    double wait = -1;
    if (status == GEN_HTTP_ERR_TRANSPORT) {
      wait = backoff_seconds(retries);
    } else if (resp->status >= 200 && resp->status < 300) {
      http->failures = 0;
      return 0;
    } else if (resp->status == 401 && http->tokens.token != NULL &&
               !public_url && !refreshed &&
               !(options && options->authorization)) {
      /* The token may have been revoked or expired early: one refresh and
       * one more try, not counted as a retry. */
      if (http->tokens.invalidate != NULL)
        http->tokens.invalidate(http->tokens.ud, generation);
      refreshed = true;
      continue;
    } else if (resp->status == 429) {
      wait = resp->retry_after >= 0 ? resp->retry_after
             : resp->rl_reset >= 0  ? (double)resp->rl_reset
                                    : GEN_HTTP_DEFAULT_RETRY_AFTER;
      if (wait > CDTIME_T_TO_DOUBLE(http->org->retry_after_cap)) {
        char described[400];
        describe_error(resp, described, sizeof(described));
        snprintf(resp->error, sizeof(resp->error),
                 "%s; Retry-After %.0f s is longer than RetryAfterMax %.0f s",
                 described, wait,
                 CDTIME_T_TO_DOUBLE(http->org->retry_after_cap));
        return GEN_HTTP_ERR_STATUS;
      }
    } else if (resp->status == 502 || resp->status == 503 ||
               resp->status == 504) {
      wait = backoff_seconds(retries);
    }

    if (status == 0)
      status = GEN_HTTP_ERR_STATUS;
    int max_retries =
        options != NULL && options->no_retry ? 0 : http->org->max_retries;
    bool rest = http->defer && wait >= 0 && max_retries > 0;
    if (rest) {
      /* No sleep: the retry is the next read once the rest is over (a
       * transport error or 5xx waits longer after each one in a row). */
      if (resp->status != 429)
        wait = backoff_seconds(http->failures);
      if (http->failures < 16)
        http->failures++;
      http->rest_until = gen_monotonic() + DOUBLE_TO_CDTIME_T(wait);
    }
    if (rest || wait < 0 || retries >= max_retries) {
      if (status == GEN_HTTP_ERR_STATUS)
        describe_error(resp, resp->error, sizeof(resp->error));
      if (resp->attempts > 1) {
        size_t n = strlen(resp->error);
        snprintf(resp->error + n, sizeof(resp->error) - n,
                 " [after %d attempts]", resp->attempts);
      }
      if (rest) {
        http->rest_code = status;
        http->rest_status = resp->status;
        sstrncpy(http->rest_error, resp->error, sizeof(http->rest_error));
        size_t n = strlen(resp->error);
        snprintf(resp->error + n, sizeof(resp->error) - n,
                 " (next try in %.0f s)", ceil(wait));
      }
      return status;
    }
    retries++;
    if (http->stats != NULL)
      atomic_fetch_add(&http->stats->retries, 1);
    http_sleep(wait);
  }
}

int gen_http_request(gen_http_t *http, const char *method, const char *target,
                     const char *body, const gen_http_options_t *options,
                     gen_http_response_t *resp) {
  /* Its own bound for its attempts alone, put back however it ends. */
  gen_http_bound_t was = http->answer;
  if (options != NULL && options->answer.bytes > 0)
    http->answer = options->answer;
  int status = http_request(http, method, target, body, options, resp);
  http->answer = was;
  return status;
}

/* ---- JSON helpers
 * ------------------------------------------------------------ */

int gen_http_answer_json(gen_http_t *http, const gen_http_response_t *resp,
                         json_object **out, char *error, size_t error_size) {
  char err[128];
  if (resp->body == NULL) {
    *out = json_object_new_object();
    return 0;
  }
  /* Held to what its tree may cost, not only to its bytes. */
  int status =
      gen_json_parse_net(resp->body, resp->body_len, out, err, sizeof(err));
  if (status != 0) {
    gen_http_count_malformed(http);
    if (error != NULL)
      snprintf(error, error_size, "malformed JSON in HTTP %ld answer: %s",
               resp->status, err);
    return GEN_HTTP_ERR_JSON;
  }
  return 0;
}

static int request_json(gen_http_t *http, const char *method, const char *path,
                        const char *body, const gen_http_options_t *options,
                        json_object **out, char *error, size_t error_size) {
  gen_http_response_t resp;
  *out = NULL;
  int status = gen_http_request(http, method, path, body, options, &resp);
  if (status == 0)
    status = gen_http_answer_json(http, &resp, out, error, error_size);
  else if (error != NULL)
    snprintf(error, error_size, "%s", resp.error);
  gen_http_response_recycle(http, &resp);
  return status;
}

void gen_http_count_malformed(gen_http_t *http) {
  if (http != NULL && http->stats != NULL)
    atomic_fetch_add(&http->stats->malformed, 1);
}

void gen_http_response_recycle(gen_http_t *http, gen_http_response_t *resp) {
  if (resp->body != NULL && http->spare == NULL &&
      resp->body_cap <= SPARE_MAX) {
    http->spare = resp->body;
    http->spare_cap = resp->body_cap;
    resp->body = NULL;
  }
  gen_http_response_reset(resp);
}

void gen_http_release(gen_http_t *http) {
  if (http == NULL)
    return;
  free(http->spare);
  http->spare = NULL;
  http->spare_cap = 0;
}

int gen_http_get_json(gen_http_t *http, const char *path,
                      gen_http_bound_t answer, json_object **out, char *error,
                      size_t error_size) {
  return request_json(http, "GET", path, NULL,
                      &(gen_http_options_t){.answer = answer}, out, error,
                      error_size);
}

int gen_http_get_public_json(gen_http_t *http, const char *url,
                             cdtime_t timeout, gen_http_bound_t answer,
                             json_object **out, char *error,
                             size_t error_size) {
  gen_http_options_t options = {.public_url = true,
                                .no_retry = true,
                                .timeout = timeout,
                                .answer = answer};
  return request_json(http, "GET", url, NULL, &options, out, error, error_size);
}

int gen_http_post_json(gen_http_t *http, const char *path, json_object *body,
                       gen_http_bound_t answer, json_object **out, char *error,
                       size_t error_size) {
  const char *text =
      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  return request_json(http, "POST", path, text,
                      &(gen_http_options_t){.answer = answer}, out, error,
                      error_size);
}

int gen_http_post_text(gen_http_t *http, const char *path, const char *body,
                       gen_http_bound_t answer, gen_http_response_t *resp,
                       char *error, size_t error_size) {
  int status = gen_http_request(http, "POST", path, body,
                                &(gen_http_options_t){.answer = answer}, resp);
  if (status != 0 && error != NULL)
    snprintf(error, error_size, "%s", resp->error);
  return status;
}

static bool seen_before(uint64_t *seen, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++)
    if (seen[i] == h)
      return true;
  return false;
}

/* A listing answered pages of answered entities where asked were asked:
 * said once per listing and handle (a cap, not an error: the pages are
 * followed). */
static void short_page(gen_http_t *http, const char *path, int64_t answered,
                       int asked) {
  size_t len = strcspn(path, "?"); /* the listing, whatever its query */
  uint64_t h = gen_hash_fnv1a64_bytes(GEN_HASH_FNV1A64_INIT, path, len);
  if (seen_before(http->short_pages, http->n_short_pages, h))
    return;
  if (http->n_short_pages < sizeof(http->short_pages) / sizeof(h))
    http->short_pages[http->n_short_pages++] = h;
  gen_org_log(http->org, NULL, LOG_NOTICE,
              "%.*s answers pages of %lld where %d "
              "were asked; more requests per listing (said once)",
              (int)(len < LISTING_MAX ? len : LISTING_MAX), path,
              (long long)answered, asked);
}

/* The error of a page: the listing (its path without its query, "?…" in
 * its place) and the page named first, then the reason (kept whole: the
 * listing is cut, not the cause). */
static int page_error(gen_http_pager_t *p, int page, int status, char *error,
                      size_t error_size, const char *format, ...)
    __attribute__((format(printf, 6, 7)));
static int page_error(gen_http_pager_t *p, int page, int status, char *error,
                      size_t error_size, const char *format, ...) {
  p->page = page;
  if (error == NULL || error_size == 0)
    return status;
  size_t len = strcspn(p->path, "?");
  const char *more = p->path[len] == '?' ? "?…" : "";
  /* The path, cut, never the rest of the line: a listing of 80 ids has a
   * query of 3 KiB, which would leave no room for the reason after it. */
  if (len > LISTING_MAX - 1 - strlen(more))
    len = LISTING_MAX - 1 - strlen(more);
  int n = snprintf(error, error_size, "%.*s%s page %d: ", (int)len, p->path,
                   more, page);
  if (n < 0 || (size_t)n >= error_size)
    return status;
  va_list ap;
  va_start(ap, format);
  vsnprintf(error + n, error_size - (size_t)n, format, ap);
  va_end(ap);
  return status;
}

int gen_http_page_all(gen_http_t *http, gen_http_pager_t *p, char *error,
                      size_t error_size) {
  char target[4096];
  const char *sep = strchr(p->path, '?') ? "&" : "?";
  const char *array = p->array != NULL ? p->array : "entities";
  int size = p->page_size;
  uint64_t *seen = NULL; /* the targets asked, against a looping nextUri */
  size_t n_seen = 0, cap_seen = 0;
  int status = 0;
  json_object *doc = NULL; /* the last page's */
  p->status = 0;
  p->page = 0;
  p->items = 0;
  /* size 0: a route that takes no paging parameters, asked as it is */
  if (size > 0)
    snprintf(target, sizeof(target), "%s%spageSize=%d&pageNumber=1", p->path,
             sep, size);
  else
    snprintf(target, sizeof(target), "%s", p->path);
  for (int page = 1;; page++) {
    if (page > GEN_HTTP_PAGES_MAX) {
      status =
          page_error(p, page, GEN_HTTP_ERR_JSON, error, error_size,
                     "more than %d pages: a server that never ends, stopped",
                     GEN_HTTP_PAGES_MAX);
      break;
    }
    if (page > 1 && p->deadline != 0 && cdtime() >= p->deadline) {
      status = page_error(p, page, -ETIMEDOUT, error, error_size,
                          "time budget spent");
      break;
    }
    uint64_t h = gen_hash_fnv1a64(target);
    if (seen_before(seen, n_seen, h)) {
      status = page_error(p, page, GEN_HTTP_ERR_JSON, error, error_size,
                          "its link repeats an earlier page; stopped");
      gen_http_count_malformed(http);
      break;
    }
    if (gen_grow((void **)&seen, &cap_seen, n_seen + 1, sizeof(*seen), 16) !=
        0) {
      status = page_error(p, page, -ENOMEM, error, error_size, "out of memory");
      break;
    }
    seen[n_seen++] = h;

    json_object_put(doc); /* the last page's, before the next is asked */
    doc = NULL;
    gen_http_response_t resp;
    p->page = page;
    status = gen_http_request(
        http, p->body != NULL ? "POST" : "GET", target, p->body,
        &(gen_http_options_t){.answer = p->answer}, &resp);
    p->status = resp.status;
    if (status == 0)
      status = gen_http_answer_json(http, &resp, &doc, resp.error,
                                    sizeof(resp.error));
    if (status != 0) {
      page_error(p, page, status, error, error_size, "%s", resp.error);
      gen_http_response_recycle(http, &resp);
      break;
    }
    gen_http_response_recycle(http, &resp);
    json_object *items = gen_json_get_array(doc, array);
    if (items == NULL) {
      status = page_error(p, page, GEN_HTTP_ERR_JSON, error, error_size,
                          "no \"%s\" array", array);
      gen_http_count_malformed(http);
      break;
    }
    size_t n = json_object_array_length(items);
    int64_t answered;
    if (gen_json_get_int64(doc, "pageSize", &answered) && answered > 0 &&
        answered <= INT_MAX) {
      if (page == 1 && answered < p->page_size)
        short_page(http, p->path, answered, p->page_size);
      size = (int)answered; /* the page size the answer gives */
    }
    for (size_t i = 0; status == 0 && i < n; i++)
      status = p->each(json_object_array_get_idx(items, i), p->ud);
    p->items += n;
    if (status != 0)
      break;
    /* nextUri first (unless numbered), pageCount else, and for an answer
     * without either (the activity query) the owner's more(). An empty
     * page ends the walk. */
    const char *next = p->numbered ? NULL : gen_json_get_string(doc, "nextUri");
    int64_t page_count = 0;
    bool more, numbered = false;
    if (next != NULL && next[0] != '\0') {
      more = true;
      if (snprintf(target, sizeof(target), "%s", next) >= (int)sizeof(target)) {
        status = page_error(p, page + 1, GEN_HTTP_ERR_JSON, error, error_size,
                            "its link is too long");
        break;
      }
    } else if (gen_json_get_int64(doc, "pageCount", &page_count)) {
      more = numbered = page < page_count;
    } else {
      more = numbered = p->more != NULL && p->more(p->ud);
    }
    if (!more || n == 0)
      break;
    if (numbered && size > 0)
      snprintf(target, sizeof(target), "%s%spageSize=%d&pageNumber=%d", p->path,
               sep, size, page + 1);
    else if (numbered)
      snprintf(target, sizeof(target), "%s%spageNumber=%d", p->path, sep,
               page + 1);
  }
  json_object_put(doc);
  free(seen);
  return status;
}

int gen_http_get_pages(gen_http_t *http, const char *path, int page_size,
                       gen_http_bound_t answer,
                       int (*each)(json_object *entity, void *ud), void *ud,
                       char *error, size_t error_size) {
  gen_http_pager_t p = {.path = path,
                        .page_size = page_size,
                        .answer = answer,
                        .each = each,
                        .ud = ud};
  return gen_http_page_all(http, &p, error, error_size);
}
