/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: what a plugin needs to offer the receiver of pushed
 * events (gen_receiver): its configuration keys (ReceiverAddress,
 * ReceiverPort, ReceiverCertificate, ReceiverKey, ReceiverSecretFile,
 * ReceiverSecretHeader, ReceiverMaxBody, ReceiverQueueSize,
 * ReceiverMaxConnectionsPerIP, ReceiverRequestTimeout) and their checks,
 * the receiver started from them, and its self-metrics.
 *
 * Built with and without libmicrohttpd: without it, ReceiverPort is
 * refused with the reason (gen_receiver_available).
 */
#ifndef GEN_RECEIVER_CONFIG_H
#define GEN_RECEIVER_CONFIG_H 1

#include "gen_config.h"
#include "gen_receiver.h"

typedef struct {
  char *address;
  char *port; /* NULL = no receiver */
  char *cert, *key;
  char *secret_file;
  char *secret_header; /* NULL = X-Genesys-Secret */
  long max_body;
  long queue;
  long per_ip;       /* 0 = no per-address limit */
  cdtime_t deadline; /* whole request */
  char *secret;      /* read by gen_receiver_config_check */
} gen_receiver_config_t;

/* Frees what c holds (the secret wiped, and no longer redacted). */
void gen_receiver_config_release(gen_receiver_config_t *c);

/* The keys above (gen_config_table_key). */
extern const gen_config_table_t gen_receiver_keys;

/* Checks the keys together and reads the secret (then redacted from the
 * log). Logs with who and returns -EINVAL when the receiver cannot
 * work: a port without ReceiverSecretFile (the receiver answers only
 * authenticated senders), a certificate without its key or the reverse, a
 * secret file that cannot be read. */
int gen_receiver_config_check(gen_receiver_config_t *c,
                              const gen_log_org_t *who);

/* Starts the receiver of c (one with a port) unless *rx is running: bodies
 * go to handler. A failure is logged (rate-limited by complain) and tried
 * again at the next call. */
void gen_receiver_config_start(const gen_receiver_config_t *c,
                               gen_receiver_t **rx,
                               gen_receiver_handler_t handler, void *ud,
                               const gen_log_org_t *who,
                               gen_ratelimit_t *complain);

/* The self-metrics of rx (nothing when NULL): receiver_requests accepted,
 * receiver_rejected per reason, receiver_queue. */
void gen_receiver_dispatch_stats(gen_receiver_t *rx, const char *host,
                                 const char *plugin);

#endif /* GEN_RECEIVER_CONFIG_H */
