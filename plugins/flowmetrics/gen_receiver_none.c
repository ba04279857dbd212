/* SPDX-License-Identifier: MIT */
/* collectd-genesys: the receiver's stand-in in a build without
 * libmicrohttpd (gen_receiver.h). Configuration refuses ReceiverPort there
 * (gen_receiver_available), so gen_receiver_start is not reached; it fails
 * with the reason if it is. */
#include "gen_receiver.h"

#include <stdio.h>

bool gen_receiver_available(void) { return false; }

gen_receiver_t *gen_receiver_start(const gen_receiver_options_t *options,
                                   gen_receiver_handler_t handler, void *ud,
                                   char *err, size_t err_size) {
  (void)options;
  (void)handler;
  (void)ud;
  snprintf(err, err_size,
           "this build has no receiver (built without "
           "libmicrohttpd)");
  return NULL;
}

void gen_receiver_stop(gen_receiver_t *rx) { (void)rx; }

gen_receiver_stats_t *gen_receiver_stats(gen_receiver_t *rx) {
  (void)rx;
  return NULL;
}

unsigned gen_receiver_port(const gen_receiver_t *rx) {
  (void)rx;
  return 0;
}

size_t gen_receiver_queued(gen_receiver_t *rx) {
  (void)rx;
  return 0;
}

unsigned gen_receiver_connections(gen_receiver_t *rx) {
  (void)rx;
  return 0;
}
