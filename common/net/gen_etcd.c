/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: an etcd client over its JSON gateway (see gen_etcd.h).
 */
#include "gen_etcd.h"
#include "gen_config.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen_etcd_s {
  char **urls;
  size_t n_urls;
  atomic_size_t url_at; /* the URL that answered last: asked first */
  pthread_mutex_t lock; /* the handle: one request at a time */
  CURL *curl;           /* kept: its connection reused */
  char curl_error[CURL_ERROR_SIZE];
};

int (*gen_etcd_post)(gen_etcd_t *, const char *, const char *, json_object **,
                     char *, size_t) = gen_etcd_post_curl;

void gen_etcd_free(gen_etcd_t *e) {
  if (e == NULL)
    return;
  for (size_t i = 0; i < e->n_urls; i++)
    free(e->urls[i]);
  free(e->urls);
  if (e->curl != NULL)
    curl_easy_cleanup(e->curl);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  return gen_buf_add(ud, data, size * n) == 0 ? size * n : 0;
}

/* The handle's options for every request: the shared policy (no org: the
 * org's Proxy and TLS files are Genesys'), then etcd's own. */
static int etcd_options(gen_etcd_t *e, const char *ca, const char *cert,
                        const char *key, long ms, char *err, size_t err_size) {
  CURL *h = e->curl;
  if (gen_curl_policy(h, NULL, err, err_size) != 0)
    return -EINVAL;
  /* "" turns every proxy off, the environment's too */
  CURLcode rc = curl_easy_setopt(h, CURLOPT_PROXY, "");
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, e->curl_error);
  if (rc == CURLE_OK && ca != NULL)
    rc = curl_easy_setopt(h, CURLOPT_CAINFO, ca);
  if (rc == CURLE_OK && cert != NULL)
    rc = curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
  if (rc == CURLE_OK && key != NULL)
    rc = curl_easy_setopt(h, CURLOPT_SSLKEY, key);
  if (rc == CURLE_OK)
    return 0;
  snprintf(err, err_size, "%s", curl_easy_strerror(rc));
  return -EINVAL;
}

gen_etcd_t *gen_etcd_new(char *const *urls, size_t n_urls, const char *ca,
                         const char *cert, const char *key, long timeout_ms,
                         char *err, size_t err_size) {
  gen_etcd_t *e = calloc(1, sizeof(*e));
  if (e == NULL ||
      (e->urls = calloc(n_urls ? n_urls : 1, sizeof(*e->urls))) == NULL) {
    snprintf(err, err_size, "out of memory");
    free(e);
    return NULL;
  }
  pthread_mutex_init(&e->lock, NULL);
  for (size_t i = 0; i < n_urls; i++) {
    size_t len = strlen(urls[i]);
    while (len > 0 && urls[i][len - 1] == '/')
      len--;
    if ((e->urls[i] = strndup(urls[i], len)) == NULL) {
      snprintf(err, err_size, "out of memory");
      gen_etcd_free(e);
      return NULL;
    }
    e->n_urls++;
  }
  e->curl = curl_easy_init();
  if (e->curl == NULL)
    snprintf(err, err_size, "no curl handle");
  if (e->curl == NULL ||
      etcd_options(e, ca, cert, key, timeout_ms, err, err_size) != 0) {
    gen_etcd_free(e);
    return NULL;
  }
  return e;
}

/* The length of text's first line (len bytes), at most max, stopped at a
 * byte that is not printable ASCII: what an error answer says, for the
 * log. */
static size_t first_line(const char *text, size_t len, size_t max) {
  size_t n = 0;
  while (text != NULL && n < len && n < max && text[n] >= 0x20 &&
         text[n] < 0x7f)
    n++;
  return n;
}

int gen_etcd_post_curl(gen_etcd_t *e, const char *path, const char *body,
                       json_object **answer, char *why, size_t why_size) {
  int status = -EIO;
  *answer = NULL;
  snprintf(why, why_size, "no etcd URL");
  pthread_mutex_lock(&e->lock);
  size_t first = atomic_load(&e->url_at);
  for (size_t n = 0; n < e->n_urls && *answer == NULL; n++) {
    size_t i = (first + n) % e->n_urls;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", e->urls[i], path);
    gen_buf_t got = GEN_BUF_INIT(4 * 1024 * 1024);
    e->curl_error[0] = '\0';
    curl_easy_setopt(e->curl, CURLOPT_URL, url);
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &got);
    CURLcode rc = curl_easy_perform(e->curl);
    long code = 0;
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &code);
    char err[128];
    if (rc != CURLE_OK)
      snprintf(why, why_size, "%s: %s", e->urls[i],
               e->curl_error[0] ? e->curl_error : curl_easy_strerror(rc));
    else if (code != 200) /* etcd says why in the body's first line */
      snprintf(why, why_size, "%s: HTTP %ld%s%.*s", e->urls[i], code,
               got.len > 0 ? ": " : "", (int)first_line(got.data, got.len, 160),
               got.data ? got.data : "");
    else if (gen_json_parse(got.data ? got.data : "", got.len,
                            GEN_JSON_MAX_DEPTH, answer, err,
                            sizeof(err)) != 0) {
      snprintf(why, why_size, "%s: not JSON (%s)", e->urls[i], err);
      status = -EPROTO;
    } else {
      status = 0;
      atomic_store(&e->url_at, i);
    }
    free(got.data);
  }
  pthread_mutex_unlock(&e->lock);
  return *answer != NULL ? 0 : status;
}

int gen_etcd_range(gen_etcd_t *e, const char *key, bool prefix, bool keys_only,
                   json_object **answer, char *why, size_t why_size) {
  char *body = gen_etcd_range_body(key, prefix, keys_only);
  *answer = NULL;
  if (body == NULL) {
    snprintf(why, why_size, "out of memory");
    return -ENOMEM;
  }
  int status = gen_etcd_post(e, "/v3/kv/range", body, answer, why, why_size);
  free(body);
  return status;
}

/* ---- the gateway's JSON ---------------------------------------------------
 */

int gen_etcd_add_b64(gen_buf_t *b, const char *text) {
  return gen_buf_add_base64(b, text, strlen(text));
}

char *gen_etcd_unb64(const char *text, size_t *len) {
  if (text == NULL)
    return NULL;
  size_t n = strlen(text);
  char *out = malloc(n / 4 * 3 + 1);
  ssize_t got = out != NULL ? gen_base64_decode(text, n, out) : -1;
  if (got < 0) {
    free(out);
    return NULL;
  }
  out[got] = '\0';
  if (len != NULL)
    *len = (size_t)got;
  return out;
}

char *gen_etcd_range_body(const char *key, bool prefix, bool keys_only) {
  char end[2048];
  snprintf(end, sizeof(end), "%s", key);
  if (prefix && end[0] != '\0')
    end[strlen(end) - 1]++; /* "…/x/" → "…/x0": the prefix's range */
  gen_buf_t body = GEN_BUF_INIT(8192);
  gen_buf_add_str(&body, "{\"key\":\"");
  gen_etcd_add_b64(&body, key);
  if (prefix) {
    gen_buf_add_str(&body, "\",\"range_end\":\"");
    gen_etcd_add_b64(&body, end);
  }
  if (gen_buf_add_str(&body, keys_only ? "\",\"keys_only\":true}" : "\"}") !=
      0) {
    free(body.data);
    return NULL;
  }
  return body.data;
}

int gen_etcd_add_op(gen_buf_t *ops, const char *key, const char *data,
                    size_t len, bool prefix) {
  gen_buf_add_str(ops, ops->len > 0 ? "," : "");
  if (data != NULL) {
    gen_buf_add_str(ops, "{\"request_put\":{\"key\":\"");
    gen_etcd_add_b64(ops, key);
    gen_buf_add_str(ops, "\",\"value\":\"");
    gen_buf_add_base64(ops, data, len);
    return gen_buf_add_str(ops, "\"}}");
  }
  char *range = gen_etcd_range_body(key, prefix, false);
  gen_buf_add_str(ops, "{\"request_delete_range\":");
  gen_buf_add_str(ops, range != NULL ? range : "");
  int status = range != NULL ? gen_buf_add_str(ops, "}") : -ENOMEM;
  free(range);
  return status;
}

bool gen_etcd_succeeded(json_object *answer) {
  json_object *ok = NULL;
  return json_object_object_get_ex(answer, "succeeded", &ok) &&
         json_object_get_boolean(ok);
}

int64_t gen_etcd_num(json_object *obj, const char *key) {
  const char *text = gen_json_get_string(obj, key);
  int64_t v = 0;
  if (text != NULL)
    return strtoll(text, NULL, 10);
  return gen_json_get_int64(obj, key, &v) ? v : 0;
}

char *gen_etcd_first_value(json_object *range, size_t *len) {
  json_object *kvs = gen_json_get_array(range, "kvs");
  const char *v =
      kvs != NULL && json_object_array_length(kvs) > 0
          ? gen_json_get_string(json_object_array_get_idx(kvs, 0), "value")
          : NULL;
  return gen_etcd_unb64(v, len);
}
