/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the receiver's book of open connections: who holds the
 * slots, by address and by prefix (/24 for IPv4, /64 for IPv6, an IPv4
 * address mapped in IPv6 counted as IPv4), and which connection to close
 * when those without a request head hold too many.
 *
 * Eviction (gen_rx_slots_victim) picks among the connections waiting for a
 * request head (not answered, not being read), in this order:
 * - one from an address not trusted before one from a trusted address
 *   (one that sent the shared secret within GEN_RX_TRUST_SECONDS: only a
 *   sender has it);
 * - a silent one (not a byte received) before one that sent something: an
 *   idle flood, however spread, never closes a sender's handshake, and
 *   a flood that sends its first bytes is weighed by the rules below;
 * - one from an address that lost a connection lately (among the last
 *   GEN_RX_STRUCK_MAX addresses evicted, or cut at the head deadline
 *   without a head) before one from an address that did not;
 * - from the prefix holding the most of them, in it from the address
 *   holding the most;
 * - then the one least far in its handshake (TLS begun, then TLS done or
 *   a kept-alive connection between requests), the oldest of those.
 * A flood from a few prefixes, or from one /64, however fast it reopens,
 * and from new addresses each time, evicts its own connections before a
 * sender's that holds fewer; a flood from as many prefixes as connections
 * evicts its own before a known sender's, and, once each of its addresses
 * has lost a connection, before a new sender's, however many connections
 * that one holds in its prefix; an idle flood from ever new addresses and
 * prefixes, remembered by none of these rules, before any connection that
 * has sent its first byte (the receiver knows it from the accept on: the
 * kernel defers it until that byte, gen_receiver.c).
 *
 * Not locked: the receiver holds its conn_lock around every call.
 */
#ifndef GEN_RX_SLOTS_H
#define GEN_RX_SLOTS_H 1

#include "gen_map.h"
#include "gen_recent.h"

#include <stdbool.h>
#include <sys/socket.h>

/* How far a connection is; the eviction takes the lowest first. */
typedef enum {
  GEN_RX_SILENT = 0, /* connected, no ClientHello (nor a head) yet */
  GEN_RX_HELLO,      /* its first bytes (a ClientHello) arrived */
  GEN_RX_READY,      /* TLS done, or between requests: waiting for a head */
  GEN_RX_HEADED,     /* a request head arrived: never evicted */
} gen_rx_stage_t;

typedef struct gen_rx_group gen_rx_group_t;

/* How long an address that sent the secret stays trusted, and how many
 * are remembered (past it, the one trusted longest ago is forgotten). */
#define GEN_RX_TRUST_SECONDS 3600.0
#define GEN_RX_TRUST_MAX 1024
/* Addresses evicted lately, remembered at least (128 KiB at most). */
#define GEN_RX_STRUCK_MAX 4096

/* One connection in the book; the receiver's record begins with it. */
typedef struct gen_rx_slot {
  struct gen_rx_slot *prev, *next; /* oldest `since` first */
  gen_rx_group_t *addr, *prefix;
  double since;        /* connected, or its last request ended */
  unsigned char stage; /* gen_rx_stage_t */
  bool headed;         /* a request head arrived once: whole deadline */
  bool busy;           /* its request is complete: ours, not the client's */
  bool cut;            /* shut down, waiting for MHD to close it */
  bool trusted;        /* its address sent the secret lately */
  bool struck;         /* its address was evicted lately */
} gen_rx_slot_t;

typedef struct {
  gen_rx_slot_t *head, *tail;
  gen_map_t groups;    /* key text -> gen_rx_group_t, addresses and prefixes */
  gen_map_t trust;     /* address key text -> when it last sent the secret */
  gen_recent_t struck; /* address keys evicted lately */
  unsigned open;       /* connections listed */
  unsigned headless;   /* ... waiting for a head (below HEADED), not cut */
  unsigned addresses;  /* distinct addresses among those listed */
  unsigned active_addresses; /* ... holding a connection with a request */
} gen_rx_slots_t;

/* Lists s (zeroed by the caller but for since, now) from the client
 * address sa (NULL: counted under one unknown address), at the end,
 * SILENT, trusted when its address is. 0 or -ENOMEM (s not listed). */
int gen_rx_slots_join(gen_rx_slots_t *b, gen_rx_slot_t *s,
                      const struct sockaddr *sa);
/* Takes s out of the book. */
void gen_rx_slots_leave(gen_rx_slots_t *b, gen_rx_slot_t *s);
/* Moves s to a stage (GEN_RX_HEADED also sets headed). */
void gen_rx_slots_stage(gen_rx_slots_t *b, gen_rx_slot_t *s,
                        gen_rx_stage_t stage);
/* s's client sent the shared secret at now: its address is trusted (its
 * connections from now on, and s). Out of memory: not remembered. */
void gen_rx_slots_trust(gen_rx_slots_t *b, gen_rx_slot_t *s, double now);
/* s is to be evicted: its address is remembered as evicted lately (its
 * connections from now on, and those open). Cut it then. */
void gen_rx_slots_strike(gen_rx_slots_t *b, gen_rx_slot_t *s);
/* s shut down: no longer counted as waiting for a head. */
void gen_rx_slots_cut(gen_rx_slots_t *b, gen_rx_slot_t *s);
/* s's clock starts again (now): moved to the end. */
void gen_rx_slots_touch(gen_rx_slots_t *b, gen_rx_slot_t *s, double now);
/* The connection to close for a newcomer (see above), or NULL. */
gen_rx_slot_t *gen_rx_slots_victim(const gen_rx_slots_t *b);
/* Connections listed from sa's address, and in *active those of them with
 * a request, not cut (the accept policy's counts). */
unsigned gen_rx_slots_from(const gen_rx_slots_t *b, const struct sockaddr *sa,
                           unsigned *active);
/* Frees the groups; the slots are the caller's (leave them first). */
void gen_rx_slots_free(gen_rx_slots_t *b);

#endif /* GEN_RX_SLOTS_H */
