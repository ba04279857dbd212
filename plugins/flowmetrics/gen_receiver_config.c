/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the receiver's configuration keys, start and
 * self-metrics (see gen_receiver_config.h).
 */
#include "gen_receiver_config.h"

#include "gen_dispatch.h"
#include "gen_log.h"
#include "gen_secret.h"

#include <strings.h>

void gen_receiver_config_release(gen_receiver_config_t *c) {
  free(c->address);
  free(c->port);
  free(c->cert);
  free(c->key);
  free(c->secret_file);
  free(c->secret_header);
  if (c->secret != NULL) {
    gen_redact_remove(c->secret);
    gen_free_secret(c->secret);
  }
  memset(c, 0, sizeof(*c)); /* as new: its defaults again */
  gen_config_defaults(&gen_receiver_keys, c);
}

static int config_port(const gen_org_t *org, const oconfig_item_t *ci,
                       const gen_config_def_t *def, void *field) {
  char **port_text = field;
  if (!gen_receiver_available()) {
    gen_config_error(org, ci,
                     "this build has no receiver (collectd-genesys was "
                     "built without libmicrohttpd)");
    return -EINVAL;
  }
  long port;
  int status = gen_config_int(org, ci, (long)def->min, (long)def->max, &port);
  if (status != 0)
    return status;
  free(*port_text);
  return asprintf(port_text, "%ld", port) < 0 ? -ENOMEM : 0;
}

#define RX gen_receiver_config_t
static const gen_config_def_t receiver_defs[] = {
    GEN_KEY_STRING("ReceiverAddress", RX, address, "every address",
                   "the address to listen on"),
    {"ReceiverPort", GEN_CFG_INT, offsetof(RX, port), .min = 0, .max = 65535,
     .shown = "none: no receiver",
     .doc = "starts the receiver on this port (needs ReceiverSecretFile)",
     .parse = config_port},
    GEN_KEY_STRING("ReceiverCertificate", RX, cert, NULL,
                   "the receiver's TLS certificate (with ReceiverKey)"),
    GEN_KEY_STRING("ReceiverKey", RX, key, NULL,
                   "the key of ReceiverCertificate"),
    GEN_KEY_STRING("ReceiverSecretFile", RX, secret_file, NULL,
                   "the file holding the senders' shared secret"),
    GEN_KEY_STRING("ReceiverSecretHeader", RX, secret_header,
                   "X-Genesys-Secret", "the request header carrying it"),
    GEN_KEY_INT("ReceiverMaxBody", RX, max_body, 1024, 64 * 1024 * 1024, 262144,
                "the largest body accepted, in bytes"),
    GEN_KEY_INT("ReceiverQueueSize", RX, queue, 1, 1000000, 1024,
                "events waiting for the worker at most; past it, 429"),
    GEN_KEY_INT("ReceiverMaxConnectionsPerIP", RX, per_ip, 0, 100000,
                GEN_RX_MAX_PER_IP,
                "an address's share of the connections (0: no limit)"),
    GEN_KEY_SECONDS("ReceiverRequestTimeout", RX, deadline, 1, 600,
                    GEN_RX_REQUEST_TIMEOUT,
                    "the time a client has to send a whole request"),
};
#undef RX

const gen_config_table_t gen_receiver_keys = GEN_CONFIG_TABLE(receiver_defs);

int gen_receiver_config_check(gen_receiver_config_t *c,
                              const gen_log_org_t *who) {
  const char *why = c->port != NULL && c->secret_file == NULL
                        ? "ReceiverPort needs ReceiverSecretFile: the "
                          "receiver answers only authenticated senders"
                    : (c->cert == NULL) != (c->key == NULL)
                        ? "ReceiverCertificate and ReceiverKey go together"
                        : NULL;
  if (why != NULL) {
    gen_log_org(who, NULL, LOG_ERR, "%s", why);
    return -EINVAL;
  }
  if (c->port == NULL)
    return 0;
  char err[256];
  if (gen_secret_from_file(c->secret_file, &c->secret, err, sizeof(err)) != 0) {
    gen_log_org(who, NULL, LOG_ERR, "ReceiverSecretFile \"%s\": %s",
                c->secret_file, err);
    return -EINVAL;
  }
  gen_redact_add(c->secret);
  return 0;
}

void gen_receiver_config_start(const gen_receiver_config_t *c,
                               gen_receiver_t **rx,
                               gen_receiver_handler_t handler, void *ud,
                               const gen_log_org_t *who,
                               gen_ratelimit_t *complain) {
  if (c->port == NULL || *rx != NULL)
    return;
  gen_receiver_options_t options = {
      .address = c->address,
      .port = c->port,
      .cert_file = c->cert,
      .key_file = c->key,
      .secret = c->secret,
      .secret_header = c->secret_header ? c->secret_header : "X-Genesys-Secret",
      .max_body = (size_t)c->max_body,
      .queue_size = (size_t)c->queue,
      .max_per_ip = (unsigned)c->per_ip,
      .request_timeout = CDTIME_T_TO_DOUBLE(c->deadline),
      .who = who,
  };
  char err[256];
  *rx = gen_receiver_start(&options, handler, ud, err, sizeof(err));
  if (*rx == NULL)
    gen_log_org(who, complain, LOG_ERR, "receiver: %s (retried)", err);
  else
    gen_log_org(who, NULL, LOG_INFO, "receiver listening on port %u%s",
                gen_receiver_port(*rx), c->cert ? " (TLS)" : "");
}

void gen_receiver_dispatch_stats(gen_receiver_t *rx, const char *host,
                                 const char *plugin) {
  gen_receiver_stats_t *r = rx != NULL ? gen_receiver_stats(rx) : NULL;
  if (r == NULL)
    return;
  struct {
    const char *reason;
    atomic_uint_fast64_t *n;
  } rejected[] = {
      {"unauthorized", &r->unauthorized},   {"bad_request", &r->bad_request},
      {"too_large", &r->too_large},         {"queue_full", &r->queue_full},
      {"bad_method", &r->bad_method},       {"unavailable", &r->unavailable},
      {"not_stored", &r->not_stored},       {"timeout", &r->timed_out},
      {"address_limit", &r->address_limit}, {"idle_evicted", &r->idle_evicted}};
  gen_dispatch_self(host, plugin, "receiver_requests", "accepted", true,
                    (double)atomic_load(&r->accepted));
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(rejected); i++)
    gen_dispatch_self(host, plugin, "receiver_rejected", rejected[i].reason,
                      true, (double)atomic_load(rejected[i].n));
  gen_dispatch_self(host, plugin, "receiver_queue", NULL, false,
                    (double)gen_receiver_queued(rx));
}
