/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: HTTP(S) event receiver (see gen_receiver.h).
 */
#include "gen_receiver.h"
#include "gen_buf.h"
#include "gen_log.h"
#include "gen_rx_slots.h"
#include "gen_state.h"
#include "gen_time.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

/* Largest certificate or key file read. */
#define GEN_RX_PEM_MAX (1024 * 1024)
/* Certificates of the chain served, at most. */
#define GEN_RX_CHAIN_MAX 16
/* Connection slots beyond the queue: requests being read, answers being
 * sent. Capped at half the open-file limit, which collectd shares. */
#define GEN_RX_SPARE_SLOTS 512
/* How often the reaper looks for connections past their deadline. */
#define GEN_RX_REAP_NS 250000000L
/* Time from connecting to the first request's head (TLS handshake and
 * headers): a client that opens connections and sends nothing, or never
 * starts TLS, holds a slot this long rather than the whole deadline. */
#define GEN_RX_HEAD_TIMEOUT 3.0

/* One accepted connection, from MHD's STARTED notice to its CLOSED one (MHD
 * closes the socket only after CLOSED, so fd stays valid while listed). */
typedef struct rx_conn_s {
  gen_rx_slot_t slot;        /* first: the book's record (times monotonic) */
  struct gen_receiver_s *rx; /* its receiver: the TLS callbacks */
  int fd;
} rx_conn_t;

typedef struct {
  struct MHD_Connection *conn;
  rx_conn_t *link; /* NULL when untracked */
  gen_buf_t body;  /* limited to max_body */
  unsigned status; /* decided answer, 0 = none yet */
  bool queued;     /* handed to the worker */
  bool handled;    /* the handler decided its status */
  bool late;       /* refused mid-body: to be answered at its end */
  size_t dropped;  /* body bytes read and dropped after the refusal */
} rx_request_t;

struct gen_receiver_s {
  gen_receiver_options_t opt; /* its strings are read at the start only */
  char *address, *port, *secret, *secret_header; /* the copies kept */
  unsigned char secret_digest[32];
  char *cert_pem, *key_pem; /* the key's wiped once it is imported */
  gnutls_pcert_st chain[GEN_RX_CHAIN_MAX];
  unsigned chain_len;
  gnutls_privkey_t pkey;
  gen_receiver_handler_t handler;
  void *ud;
  gen_receiver_stats_t stats;
  struct MHD_Daemon *daemon;
  unsigned bound_port;

  pthread_mutex_t lock;
  pthread_cond_t wake;
  rx_request_t **queue; /* ring */
  size_t head, count;
  bool stopping;
  pthread_t worker;
  bool worker_started;

  /* Connections oldest `since` first (the reaper), by address and prefix
   * (the shares and the eviction). */
  pthread_mutex_t conn_lock;
  pthread_cond_t reap_wake;
  gen_rx_slots_t book;
  unsigned slots;  /* MHD's connection limit */
  double deadline; /* seconds */
  double head_deadline;
  bool reap_stop;
  pthread_t reaper;
  bool reaper_started;

  gen_ratelimit_t log_limit;
};

static double now_monotonic(void) {
  return CDTIME_T_TO_DOUBLE(gen_monotonic());
}

/* A request complete (busy: the deadline stops) or ended (its connection's
 * clock starts again for the next request on it, which it waits for like a
 * connection that has done its handshake). */
static void conn_mark(gen_receiver_t *rx, rx_conn_t *c, bool busy) {
  if (c == NULL)
    return;
  pthread_mutex_lock(&rx->conn_lock);
  c->slot.busy = busy;
  if (!busy) {
    gen_rx_slots_touch(&rx->book, &c->slot, now_monotonic());
    gen_rx_slots_stage(&rx->book, &c->slot, GEN_RX_READY);
  }
  pthread_mutex_unlock(&rx->conn_lock);
}

/* c is a stage further (a request head: from now on the whole-request
 * deadline applies, kept-alive connections included, not the head's). */
static void conn_stage(gen_receiver_t *rx, rx_conn_t *c, gen_rx_stage_t st) {
  if (c == NULL)
    return;
  pthread_mutex_lock(&rx->conn_lock);
  if (c->slot.stage < st)
    gen_rx_slots_stage(&rx->book, &c->slot, st);
  pthread_mutex_unlock(&rx->conn_lock);
}

/* c's client sent the secret: its address's connections go after every
 * other's under an idle flood, whatever their prefix (gen_rx_slots.h). */
static void conn_trust(gen_receiver_t *rx, rx_conn_t *c) {
  if (c == NULL)
    return;
  pthread_mutex_lock(&rx->conn_lock);
  gen_rx_slots_trust(&rx->book, &c->slot, now_monotonic());
  pthread_mutex_unlock(&rx->conn_lock);
}

/* Shuts c down (under conn_lock): MHD, finding the socket closed, ends
 * the connection in its own thread. */
static void conn_cut(gen_receiver_t *rx, rx_conn_t *c) {
  gen_rx_slots_cut(&rx->book, &c->slot);
  shutdown(c->fd, SHUT_RDWR);
}

/* Connections waiting for a request head, at most half the slots: a new
 * one beyond closes one of them. 1,000 addresses with an idle connection
 * each held every slot until the head deadline freed them (median 2.78 s
 * for a POST). Closing the oldest then left a TLS sender, which has no
 * head until its handshake is done, the oldest as soon as the flood had
 * reopened half the slots: 0 of 138 POSTs answered (issue 63). The book
 * now picks an address that never sent the secret first, then a silent
 * connection, then one that lost a connection lately, then from the
 * prefix, then the address, holding the most, the one least far in its
 * handshake (gen_rx_slots.h): a flood from a few prefixes or a /64 evicts
 * its own first, whatever its rate, a flood from as many prefixes as
 * connections its own before a known sender's or, once its addresses have
 * lost one each, a new sender's, and an idle flood from ever new prefixes
 * its own before any sender's that sent its first byte (defer_accept).
 * Under conn_lock. */
static void evict_idle(gen_receiver_t *rx) {
  unsigned cap = rx->slots / 2 > 1 ? rx->slots / 2 : 1;
  while (rx->book.headless >= cap) {
    gen_rx_slot_t *v = gen_rx_slots_victim(&rx->book);
    if (v == NULL)
      break;
    gen_rx_slots_strike(&rx->book, v);
    conn_cut(rx, (rx_conn_t *)v);
    atomic_fetch_add(&rx->stats.idle_evicted, 1);
  }
}

/* Fair shares when slots are scarce: once half are taken, an address gets
 * no more once it holds max_per_ip connections, or once those of them with
 * a request reach its part of the other half among the addresses holding
 * a request. max_per_ip alone let 24 addresses x 32 fill 512 slots; the
 * part keeps what the addresses with requests hold beyond half within the
 * other half, and a newcomer always has its part. Connections waiting for
 * a head are not in the part (the eviction bounds them): 1,000 addresses
 * holding one each made the part 1, and a sender's second connection at
 * once was refused. A sender's burst is never cut while there is room.
 * Same thread as the notices: the counts are exact. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t addrlen) {
  gen_receiver_t *rx = cls;
  if (rx->opt.max_per_ip == 0)
    return MHD_YES;
  bool over = false;
  pthread_mutex_lock(&rx->conn_lock);
  if (rx->book.open >= rx->slots / 2) {
    unsigned active;
    unsigned same = gen_rx_slots_from(&rx->book, addr, &active);
    unsigned present = rx->book.active_addresses + (active == 0);
    unsigned part = (rx->slots - rx->slots / 2) / present;
    over = same >= rx->opt.max_per_ip || active >= (part > 0 ? part : 1);
  }
  pthread_mutex_unlock(&rx->conn_lock);
  if (!over)
    return MHD_YES;
  atomic_fetch_add(&rx->stats.address_limit, 1);
  return MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  gen_receiver_t *rx = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    atomic_fetch_add(&rx->stats.connections, 1);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    rx_conn_t *c = info != NULL ? calloc(1, sizeof(*c)) : NULL;
    if (c == NULL)
      return; /* untracked: only MHD's idle timeout applies */
    c->fd = info->connect_fd;
    c->rx = rx;
    c->slot.since = now_monotonic();
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    /* Its first bytes already in (a sender's ClientHello, accepted once
     * it arrived): not silent, though MHD has not read them yet. */
    int pending = 0;
    bool spoke = ioctl(c->fd, FIONREAD, &pending) == 0 && pending > 0;
    pthread_mutex_lock(&rx->conn_lock);
    evict_idle(rx); /* room for this one among the idle */
    int err = gen_rx_slots_join(&rx->book, &c->slot,
                                info != NULL ? info->client_addr : NULL);
    if (err == 0 && spoke)
      gen_rx_slots_stage(&rx->book, &c->slot, GEN_RX_HELLO);
    pthread_mutex_unlock(&rx->conn_lock);
    if (err != 0) {
      free(c);
      return; /* untracked */
    }
    *socket_context = c;
    return;
  }
  rx_conn_t *c = *socket_context;
  if (c == NULL)
    return;
  pthread_mutex_lock(&rx->conn_lock);
  gen_rx_slots_leave(&rx->book, &c->slot);
  pthread_mutex_unlock(&rx->conn_lock);
  free(c);
  *socket_context = NULL;
}

/* MHD's idle timeout restarts with every byte, so a client trickling its
 * headers would hold its slot forever: past the deadline the socket is shut
 * down, and MHD, finding it closed, ends the connection in its own thread. */
static void *reaper_main(void *arg) {
  gen_receiver_t *rx = arg;
  pthread_mutex_lock(&rx->conn_lock);
  while (!rx->reap_stop) {
    double now = now_monotonic();
    for (gen_rx_slot_t *c = rx->book.head;
         c != NULL && now - c->since >= rx->head_deadline; c = c->next) {
      if (c->busy || c->cut || (c->headed && now - c->since < rx->deadline))
        continue;
      atomic_fetch_add(&rx->stats.timed_out, 1); /* counted before seen */
      if (!c->headed) /* no head in time: as if evicted */
        gen_rx_slots_strike(&rx->book, c);
      conn_cut(rx, (rx_conn_t *)c);
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += GEN_RX_REAP_NS;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&rx->reap_wake, &rx->conn_lock, &until);
  }
  pthread_mutex_unlock(&rx->conn_lock);
  return NULL;
}

/* MHD's own messages (a client over the per-address or total limit, ...):
 * one a minute at most, an attack must not flood the log. */
static void on_mhd_log(void *cls, const char *format, va_list ap) {
  gen_receiver_t *rx = cls;
  char line[256];
  vsnprintf(line, sizeof(line), format, ap);
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  gen_log_org(rx->opt.who, &rx->log_limit, LOG_WARNING, "receiver: %s", line);
}

/* GnuTLS, under libmicrohttpd, reports to process-wide functions: its audit
 * messages (a record that failed to decrypt, an unknown record type) and,
 * when GNUTLS_DEBUG_LEVEL is set, its debug log, which would otherwise go
 * to stderr. Both come here once a TLS receiver starts; the messages carry
 * no session context, so the prefix is the first receiver's. */
static pthread_mutex_t tls_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char tls_log_plugin[64], tls_log_org[256];
static gen_log_org_t tls_log_who = {tls_log_plugin, tls_log_org};
static const gen_log_org_t *tls_log; /* NULL until a receiver with one */
static gen_ratelimit_t tls_log_limit = GEN_RATELIMIT_INIT(60);

static void tls_log_line(int level, const char *msg) {
  char line[256];
  sstrncpy(line, msg ? msg : "", sizeof(line));
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  pthread_mutex_lock(&tls_log_lock);
  gen_log_org(tls_log, &tls_log_limit, level, "receiver: TLS: %s", line);
  pthread_mutex_unlock(&tls_log_lock);
}

static void on_tls_audit(gnutls_session_t session, const char *msg) {
  (void)session;
  tls_log_line(LOG_WARNING, msg);
}

static void on_tls_debug(int level, const char *msg) {
  (void)level;
  tls_log_line(LOG_INFO, msg);
}

static void tls_log_route(const gen_log_org_t *who) {
  pthread_mutex_lock(&tls_log_lock);
  if (tls_log == NULL && who != NULL) { /* a copy: the receiver may stop */
    sstrncpy(tls_log_plugin, who->plugin, sizeof(tls_log_plugin));
    sstrncpy(tls_log_org, who->org, sizeof(tls_log_org));
    tls_log = &tls_log_who;
  }
  pthread_mutex_unlock(&tls_log_lock);
  gnutls_global_set_audit_log_function(on_tls_audit);
  gnutls_global_set_log_function(on_tls_debug);
}

/* Enough slots that the queue and many readers fit, but no more than half
 * the descriptors collectd may open. */
static unsigned connection_slots(size_t queue_size, unsigned given) {
  size_t want = given > 0 ? given : queue_size + GEN_RX_SPARE_SLOTS;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      want > rl.rlim_cur / 2)
    want = (size_t)(rl.rlim_cur / 2);
  if (want < 4)
    want = 4;
  return want > UINT_MAX ? UINT_MAX : (unsigned)want;
}

static void digest(const void *data, size_t len, unsigned char out[32]) {
  unsigned int n = 32;
  EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static bool secret_ok(const gen_receiver_t *rx, const char *given) {
  if (given == NULL)
    return false;
  unsigned char d[32];
  digest(given, strlen(given), d);
  bool ok = CRYPTO_memcmp(d, rx->secret_digest, sizeof(d)) == 0;
  OPENSSL_cleanse(d, sizeof(d));
  return ok;
}

/* Body bytes read and dropped after a 413 before the connection is closed
 * instead (the answer goes out only once the body has ended). */
#define GEN_RECEIVER_DROP_MAX (8 * 1024 * 1024)

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status) {
  static const char *const texts[] = {"", "{\"status\":\"accepted\"}\n"};
  const char *text = (status >= 200 && status < 300) ? texts[1] : texts[0];
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (r == NULL)
    return MHD_NO;
  if (text[0] != '\0')
    MHD_add_response_header(r, "Content-Type", "application/json");
  if (status == 429)
    MHD_add_response_header(r, "Retry-After", "1");
  else if (status == 507 || status == 503) /* room or a restart soon */
    MHD_add_response_header(r, "Retry-After", "30");
  enum MHD_Result ok = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ok;
}

static void count_answer(gen_receiver_t *rx, unsigned status) {
  gen_receiver_stats_t *s = &rx->stats;
  atomic_fetch_add(status == 405                   ? &s->bad_method
                   : status == 401                 ? &s->unauthorized
                   : status == 413                 ? &s->too_large
                   : status == 429                 ? &s->queue_full
                   : status == 503                 ? &s->unavailable
                   : status == 507                 ? &s->not_stored
                   : status >= 200 && status < 300 ? &s->accepted
                                                   : &s->bad_request,
                   1);
}

static enum MHD_Result decide(gen_receiver_t *rx, rx_request_t *req,
                              unsigned status) {
  req->status = status;
  count_answer(rx, status);
  return answer(req->conn, status);
}

/* Hands a complete body to the worker; false when the queue is full. */
static bool enqueue(gen_receiver_t *rx, rx_request_t *req) {
  pthread_mutex_lock(&rx->lock);
  bool ok = !rx->stopping && rx->count < rx->opt.queue_size;
  if (ok) {
    rx->queue[(rx->head + rx->count) % rx->opt.queue_size] = req;
    rx->count++;
    req->queued = true;
    /* Suspended before the worker can resume it: under the lock. */
    MHD_suspend_connection(req->conn);
    pthread_cond_signal(&rx->wake);
  }
  pthread_mutex_unlock(&rx->lock);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  gen_receiver_t *rx = cls;
  rx_request_t *req = *con_cls;
  if (req == NULL) {
    req = calloc(1, sizeof(*req));
    if (req == NULL)
      return MHD_NO;
    gen_buf_init(&req->body, rx->opt.max_body);
    req->conn = conn;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    req->link = info != NULL ? info->socket_context : NULL;
    conn_stage(rx, req->link, GEN_RX_HEADED);
    *con_cls = req;
    atomic_fetch_add(&rx->stats.requests, 1);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
      return decide(rx, req, 405);
    if (!secret_ok(rx, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   rx->secret_header)))
      return decide(rx, req, 401);
    conn_trust(rx, req->link);
    const char *length = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL && strtoull(length, NULL, 10) > rx->opt.max_body)
      return decide(rx, req, 413);
    return MHD_YES;
  }
  if (req->status != 0) {
    /* Answer decided (early refusal, or the worker's verdict): discard any
     * rest of the body and send it. */
    if (*upload_data_size > 0) {
      /* A sender that never ends its body loses the connection instead. */
      req->dropped += *upload_data_size;
      *upload_data_size = 0;
      return req->dropped > GEN_RECEIVER_DROP_MAX ? MHD_NO : MHD_YES;
    }
    if (req->queued) {
      /* The handler's 503 (it cannot keep events now) is not stored, like
       * its 507; the receiver's own 503 is its stopping. */
      count_answer(rx, req->handled && req->status == 503 ? 507 : req->status);
      return answer(conn, req->status);
    }
    if (req->late) /* refused mid-body: answered once the body is read */
      return req->late = false, answer(conn, req->status);
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    int err = gen_buf_add(&req->body, upload_data, n);
    if (err == -E2BIG) {
      /* A body without a length (chunked) past the limit: MHD takes no
       * answer while it reads a body, so the rest is read and dropped and
       * the 413 goes out at its end. */
      req->status = 413;
      req->late = true;
      gen_buf_free(&req->body); /* not needed any more */
      count_answer(rx, 413);
      return MHD_YES;
    }
    return err == 0 ? MHD_YES : MHD_NO;
  }
  /* The whole request is in: what remains is ours, not the client's. */
  conn_mark(rx, req->link, true);
  if (!enqueue(rx, req))
    return decide(rx, req, rx->stopping ? 503 : 429);
  return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  gen_receiver_t *rx = cls;
  rx_request_t *req = *con_cls;
  if (req == NULL)
    return;
  conn_mark(rx, req->link, false);
  gen_buf_free(&req->body);
  free(req);
  *con_cls = NULL;
}

static void *worker_main(void *arg) {
  gen_receiver_t *rx = arg;
  pthread_mutex_lock(&rx->lock);
  for (;;) {
    while (rx->count == 0 && !rx->stopping)
      pthread_cond_wait(&rx->wake, &rx->lock);
    if (rx->count == 0)
      break;
    rx_request_t *req = rx->queue[rx->head];
    rx->head = (rx->head + 1) % rx->opt.queue_size;
    rx->count--;
    bool stopping = rx->stopping;
    pthread_mutex_unlock(&rx->lock);
    unsigned status =
        stopping ? 503
                 : rx->handler(rx->ud, gen_buf_str(&req->body), req->body.len);
    req->status = status ? status : 500;
    req->handled = !stopping;
    pthread_mutex_lock(&rx->lock);
    MHD_resume_connection(req->conn);
  }
  pthread_mutex_unlock(&rx->lock);
  return NULL;
}

static void free_receiver(gen_receiver_t *rx) {
  free(rx->address);
  free(rx->port);
  gen_free_secret(rx->secret);
  free(rx->secret_header);
  gen_free_secret(rx->key_pem);
  free(rx->cert_pem);
  for (unsigned i = 0; i < rx->chain_len; i++)
    gnutls_pcert_deinit(&rx->chain[i]);
  if (rx->pkey != NULL)
    gnutls_privkey_deinit(rx->pkey);
  free(rx->queue);
  OPENSSL_cleanse(rx->secret_digest, sizeof(rx->secret_digest));
  while (rx->book.head != NULL) {
    gen_rx_slot_t *c = rx->book.head;
    gen_rx_slots_leave(&rx->book, c);
    free(c);
  }
  gen_rx_slots_free(&rx->book);
  pthread_mutex_destroy(&rx->lock);
  pthread_cond_destroy(&rx->wake);
  pthread_mutex_destroy(&rx->conn_lock);
  pthread_cond_destroy(&rx->reap_wake);
  free(rx);
}

static char *dup_or_null(const char *s) {
  return (s != NULL && s[0] != '\0') ? strdup(s) : NULL;
}

/* secret: the copy goes to memory left out of core dumps (the key). */
static int read_pem(const char *path, char **out, bool secret, char *err,
                    size_t err_size) {
  size_t len;
  int status = gen_state_read(path, GEN_RX_PEM_MAX, out, &len);
  if (status != 0) {
    snprintf(err, err_size, "cannot read %s: %s", path, gen_strerror(status));
    return status;
  }
  if (secret) {
    char *copy = gen_secure_strdup(*out);
    gen_free_secret(*out);
    if ((*out = copy) == NULL) {
      snprintf(err, err_size, "out of memory");
      return -ENOMEM;
    }
  }
  return 0;
}

/* The DER of pem's first block, decoded here into memory left out of core
 * dumps: GnuTLS, given the PEM (MHD_OPTION_HTTPS_MEM_KEY), copies its
 * base64 text less the line breaks into a buffer it frees without wiping,
 * and the key's lines stayed in a core. 0, or -EINVAL (no PEM block, a
 * character outside base64), -ENOMEM. Free *der with gen_free_secret. */
static int pem_to_der(const char *pem, unsigned char **der, size_t *len) {
  const char *begin = strstr(pem, "-----BEGIN ");
  const char *body = begin != NULL ? strchr(begin, '\n') : NULL;
  const char *end = body != NULL ? strstr(body, "-----END ") : NULL;
  if (end == NULL)
    return -EINVAL;
  char *out = gen_secure_alloc((size_t)(end - body) + 1);
  if (out == NULL)
    return -ENOMEM;
  size_t n = 0; /* the base64 without its line breaks, decoded in place */
  for (const char *p = body; p < end; p++)
    if (strchr(" \t\r\n", *p) == NULL)
      out[n++] = *p;
  /* an encrypted key's headers, or not base64: -1 */
  ssize_t bytes = gen_base64_decode(out, n, out);
  if (bytes <= 0) {
    gen_free_secret(out);
    return -EINVAL;
  }
  *der = (unsigned char *)out;
  *len = (size_t)bytes;
  return 0;
}

/* The chain and the key, imported once for every handshake
 * (on_certificate); the key's PEM wiped and freed then. */
static int load_tls(gen_receiver_t *rx, char *err, size_t err_size) {
  gnutls_datum_t cert = {(unsigned char *)rx->cert_pem,
                         (unsigned)strlen(rx->cert_pem)};
  rx->chain_len = GEN_RX_CHAIN_MAX;
  int r = gnutls_pcert_list_import_x509_raw(rx->chain, &rx->chain_len, &cert,
                                            GNUTLS_X509_FMT_PEM, 0);
  if (r < 0) {
    rx->chain_len = 0;
    snprintf(err, err_size, "the certificate cannot be read: %s",
             gnutls_strerror(r));
    return -EINVAL;
  }
  unsigned char *der = NULL;
  size_t len = 0;
  int status = pem_to_der(rx->key_pem, &der, &len);
  gen_free_secret(rx->key_pem); /* not needed again, in any case */
  rx->key_pem = NULL;
  if (status != 0) {
    snprintf(err, err_size, "the key is no unencrypted PEM block");
    return status;
  }
  gnutls_x509_privkey_t x = NULL;
  gnutls_datum_t d = {der, (unsigned)len};
  r = gnutls_x509_privkey_init(&x);
  if (r >= 0)
    r = gnutls_x509_privkey_import2(x, &d, GNUTLS_X509_FMT_DER, NULL, 0);
  if (r >= 0)
    r = gnutls_privkey_init(&rx->pkey);
  if (r >= 0)
    r = gnutls_privkey_import_x509(rx->pkey, x,
                                   GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
  gen_free_secret((char *)der);
  if (r < 0) {
    if (rx->pkey != NULL) {
      gnutls_privkey_deinit(rx->pkey);
      rx->pkey = NULL;
    }
    if (x != NULL)
      gnutls_x509_privkey_deinit(x);
    snprintf(err, err_size, "the key cannot be read: %s", gnutls_strerror(r));
    return -EINVAL;
  }
  return 0;
}

/* Our record of a TLS session's connection (MHD sets the connection as
 * the session's pointer), or NULL when untracked. */
static rx_conn_t *session_conn(gnutls_session_t session) {
  struct MHD_Connection *conn = gnutls_session_get_ptr(session);
  const union MHD_ConnectionInfo *info =
      conn != NULL
          ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT)
          : NULL;
  return info != NULL ? info->socket_context : NULL;
}

/* The client's Finished arrived: its handshake is done, and it now waits
 * for a head like a kept-alive connection, evicted after every silent or
 * half-done one of its address. */
static int on_handshake(gnutls_session_t session, unsigned htype, unsigned when,
                        unsigned incoming, const gnutls_datum_t *msg) {
  (void)htype;
  (void)when;
  (void)msg;
  rx_conn_t *c = incoming ? session_conn(session) : NULL;
  if (c != NULL)
    conn_stage(c->rx, c, GEN_RX_READY);
  return 0;
}

/* GnuTLS asks for the certificate at each handshake, once the ClientHello
 * is read: the client has begun TLS. The session's connection leads to
 * its receiver through our connection record. */
static int on_certificate(gnutls_session_t session,
                          const gnutls_datum_t *req_ca_dn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos,
                          int pk_algos_length, gnutls_pcert_st **pcert,
                          unsigned int *pcert_length, gnutls_privkey_t *pkey) {
  (void)req_ca_dn;
  (void)nreqs;
  (void)pk_algos;
  (void)pk_algos_length;
  rx_conn_t *c = session_conn(session);
  if (c == NULL || c->rx == NULL || c->rx->pkey == NULL)
    return -1; /* untracked (out of memory): no handshake */
  conn_stage(c->rx, c, GEN_RX_HELLO);
  gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED,
                                     GNUTLS_HOOK_POST, on_handshake);
  *pcert = c->rx->chain;
  *pcert_length = c->rx->chain_len;
  *pkey = c->rx->pkey;
  return 0;
}

/* TCP_DEFER_ACCEPT: the kernel hands a connection to accept() only once
 * its first byte (a ClientHello) arrived, or GEN_RX_DEFER_SECONDS after it
 * connected without one (its SYN-ACK sent again, two retransmissions), the
 * head deadline running from then. An idle flood's connections wait in
 * the kernel's SYN queue meanwhile, holding no slot nor descriptor, and a
 * sender whose first byte is late by up to that much is accepted with it,
 * so it is never a silent connection in the book: behind a flood reopened
 * from ever new /24s new senders were evicted before it (29 or 30 of
 * 30 POSTs lost, test_receiver_abuse), behind 1,000 /24s 5 of 627 (issue 63).
 * Past the listen backlog the kernel answers with SYN cookies, which do
 * not wait: the eviction order (gen_rx_slots.h) applies to those. */
#define GEN_RX_DEFER_SECONDS 3

static void defer_accept(gen_receiver_t *rx) {
#ifdef TCP_DEFER_ACCEPT
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(rx->daemon, MHD_DAEMON_INFO_LISTEN_FD);
  int secs = GEN_RX_DEFER_SECONDS;
  if (info != NULL && setsockopt(info->listen_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
                                 &secs, sizeof(secs)) == 0)
    return;
  gen_log_org(rx->opt.who, NULL, LOG_WARNING,
              "receiver: cannot defer accepting connections until their "
              "first byte (%s): idle connections take slots at once",
              gen_strerror(-errno));
#else
  (void)rx;
#endif
}

bool gen_receiver_available(void) { return true; }

gen_receiver_t *gen_receiver_start(const gen_receiver_options_t *options,
                                   gen_receiver_handler_t handler, void *ud,
                                   char *err, size_t err_size) {
  if (options->secret == NULL || options->secret[0] == '\0' ||
      options->secret_header == NULL || options->queue_size == 0 ||
      options->max_body == 0 || options->port == NULL) {
    snprintf(err, err_size,
             "the receiver needs a port, a secret, a header, a "
             "queue and a body limit");
    return NULL;
  }
  gen_receiver_t *rx = calloc(1, sizeof(*rx));
  if (rx == NULL) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&rx->lock, NULL);
  pthread_cond_init(&rx->wake, NULL);
  pthread_mutex_init(&rx->conn_lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&rx->reap_wake, &attr);
  pthread_condattr_destroy(&attr);
  rx->log_limit.interval = TIME_T_TO_CDTIME_T(60); /* the rest: calloc */
  rx->deadline = options->request_timeout > 0 ? options->request_timeout
                                              : GEN_RX_REQUEST_TIMEOUT;
  rx->head_deadline =
      rx->deadline < GEN_RX_HEAD_TIMEOUT ? rx->deadline : GEN_RX_HEAD_TIMEOUT;
  rx->opt = *options;
  rx->handler = handler;
  rx->ud = ud;
  rx->address = dup_or_null(options->address);
  rx->port = strdup(options->port);
  rx->secret = gen_secure_strdup(options->secret);
  rx->secret_header = strdup(options->secret_header);
  rx->queue = calloc(options->queue_size, sizeof(*rx->queue));
  if (rx->port == NULL || rx->secret == NULL || rx->secret_header == NULL ||
      rx->queue == NULL) {
    snprintf(err, err_size, "out of memory");
    free_receiver(rx);
    return NULL;
  }
  digest(rx->secret, strlen(rx->secret), rx->secret_digest);

  bool tls = options->cert_file != NULL && options->key_file != NULL;
  if (tls &&
      (read_pem(options->cert_file, &rx->cert_pem, false, err, err_size) != 0 ||
       read_pem(options->key_file, &rx->key_pem, true, err, err_size) != 0 ||
       load_tls(rx, err, err_size) != 0)) {
    free_receiver(rx);
    return NULL;
  }

  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int gai = getaddrinfo(rx->address, rx->port, &hints, &ai);
  if (gai != 0 || ai == NULL) {
    snprintf(err, err_size, "cannot resolve %s port %s: %s",
             rx->address ? rx->address : "*", rx->port, gai_strerror(gai));
    free_receiver(rx);
    return NULL;
  }
  rx->worker_started = pthread_create(&rx->worker, NULL, worker_main, rx) == 0;
  rx->reaper_started = rx->worker_started &&
                       pthread_create(&rx->reaper, NULL, reaper_main, rx) == 0;
  if (!rx->reaper_started) {
    freeaddrinfo(ai);
    snprintf(err, err_size, "cannot start the receiver's threads");
    gen_receiver_stop(rx);
    return NULL;
  }

  /* One internal polling thread (epoll): a slow client costs a slot and a
   * descriptor, never the thread's time, so no thread per connection. */
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  if (tls)
    flags |= MHD_USE_TLS;
  rx->slots = connection_slots(options->queue_size, options->max_connections);
  /* Idle connections go at the deadline too (untracked ones included). */
  unsigned idle = (unsigned)rx->deadline + 1;
  struct MHD_OptionItem tls_options[] = {
      {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)on_certificate},
      {MHD_OPTION_END, 0, NULL},
      {MHD_OPTION_END, 0, NULL}};
  if (tls)
    tls_log_route(rx->opt.who);
  /* The logger first: messages about the options before it would go to
   * stderr (libmicrohttpd says so, in a warning of its own). */
  rx->daemon = MHD_start_daemon(
      flags, 0, on_accept, rx, on_request, rx, MHD_OPTION_EXTERNAL_LOGGER,
      on_mhd_log, rx, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, rx,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, rx,
      MHD_OPTION_CONNECTION_LIMIT, rx->slots, MHD_OPTION_CONNECTION_TIMEOUT,
      idle, MHD_OPTION_ARRAY, tls ? tls_options : &tls_options[2],
      MHD_OPTION_END);
  freeaddrinfo(ai);
  if (rx->daemon == NULL) {
    snprintf(err, err_size,
             "cannot listen on %s port %s (in use, or a bad "
             "certificate or key)",
             rx->address ? rx->address : "*", rx->port);
    gen_receiver_stop(rx);
    return NULL;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(rx->daemon, MHD_DAEMON_INFO_BIND_PORT);
  rx->bound_port = info ? info->port : 0;
  defer_accept(rx);
  return rx;
}

/* Raises the thread's stop flag under its lock, wakes it and joins it. */
static void end_thread(pthread_mutex_t *lock, pthread_cond_t *wake, bool *stop,
                       pthread_t thread, bool started) {
  pthread_mutex_lock(lock);
  *stop = true;
  pthread_cond_signal(wake);
  pthread_mutex_unlock(lock);
  if (started)
    pthread_join(thread, NULL);
}

void gen_receiver_stop(gen_receiver_t *rx) {
  if (rx == NULL)
    return;
  end_thread(&rx->conn_lock, &rx->reap_wake, &rx->reap_stop, rx->reaper,
             rx->reaper_started);
  /* The worker answers what is queued (503) and resumes those connections
   * before it ends, so the daemon stops with none suspended. */
  end_thread(&rx->lock, &rx->wake, &rx->stopping, rx->worker,
             rx->worker_started);
  if (rx->daemon != NULL)
    MHD_stop_daemon(rx->daemon);
  free_receiver(rx);
}

gen_receiver_stats_t *gen_receiver_stats(gen_receiver_t *rx) {
  return &rx->stats;
}

unsigned gen_receiver_port(const gen_receiver_t *rx) { return rx->bound_port; }

size_t gen_receiver_queued(gen_receiver_t *rx) {
  pthread_mutex_lock(&rx->lock);
  size_t n = rx->count;
  pthread_mutex_unlock(&rx->lock);
  return n;
}

unsigned gen_receiver_connections(gen_receiver_t *rx) {
  pthread_mutex_lock(&rx->conn_lock);
  unsigned n = rx->book.open;
  pthread_mutex_unlock(&rx->conn_lock);
  return n;
}
