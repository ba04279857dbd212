/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the receiver's book of open connections (see
 * gen_rx_slots.h).
 */
#include "gen_rx_slots.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An address or a prefix, with the connections listed from it. */
struct gen_rx_group {
  char key[40]; /* "a4:7f000001", "p4:7f0000", "a6:<32 hex>", "p6:<16 hex>" */
  unsigned conns;
  unsigned headless; /* waiting for a head, not cut */
  unsigned active;   /* with a request, not cut */
};

/* The keys of sa's address and prefix. IPv4 mapped in IPv6 (a dual-stack
 * socket's IPv4 clients) is IPv4: its /24, not a /64 all IPv4 shares. */
static void keys(const struct sockaddr *sa, char addr[40], char prefix[40]) {
  const unsigned char *b = NULL;
  size_t len = 0, plen = 0;
  char fam = '?';
  if (sa != NULL && sa->sa_family == AF_INET) {
    b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)
            ->sin_addr;
    fam = '4', len = 4, plen = 3;
  } else if (sa != NULL && sa->sa_family == AF_INET6) {
    const struct in6_addr *a6 =
        &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    b = a6->s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6))
      b += 12, fam = '4', len = 4, plen = 3;
    else
      fam = '6', len = 16, plen = 8;
  }
  int n = snprintf(addr, 40, "a%c:", fam);
  int m = snprintf(prefix, 40, "p%c:", fam);
  for (size_t i = 0; i < len; i++) {
    n += snprintf(addr + n, 40 - (size_t)n, "%02x", b[i]);
    if (i < plen)
      m += snprintf(prefix + m, 40 - (size_t)m, "%02x", b[i]);
  }
}

/* An address that sent the secret, and when it last did. */
typedef struct {
  char key[40];
  double at;
} trust_t;

/* The group of key, made when absent (NULL: out of memory). A zeroed
 * book's map has string keys. */
static gen_rx_group_t *group(gen_rx_slots_t *b, const char *key) {
  gen_rx_group_t *g = gen_map_get(&b->groups, key);
  if (g != NULL)
    return g;
  g = calloc(1, sizeof(*g));
  if (g == NULL)
    return NULL;
  memcpy(g->key, key, sizeof(g->key));
  if (gen_map_put(&b->groups, g->key, g) != 0) {
    free(g);
    return NULL;
  }
  return g;
}

static void group_drop(gen_rx_slots_t *b, gen_rx_group_t *g) {
  if (g->conns > 0)
    return;
  gen_map_del(&b->groups, g->key, NULL);
  free(g);
}

static bool waiting(const gen_rx_slot_t *s) {
  return s->stage < GEN_RX_HEADED && !s->cut;
}

/* s counted (+1) or no longer (-1) where its state says: waiting for a
 * head, or with a request (a cut one in neither). */
static void count(gen_rx_slots_t *b, gen_rx_slot_t *s, int d) {
  if (s->cut)
    return;
  if (waiting(s)) {
    b->headless += d;
    s->addr->headless += d;
    s->prefix->headless += d;
    return;
  }
  b->active_addresses -= s->addr->active > 0;
  s->addr->active += d;
  b->active_addresses += s->addr->active > 0;
}

static void unlink_slot(gen_rx_slots_t *b, gen_rx_slot_t *s) {
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    b->head = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  else
    b->tail = s->prev;
  s->prev = s->next = NULL;
}

static void append_slot(gen_rx_slots_t *b, gen_rx_slot_t *s) {
  s->prev = b->tail;
  s->next = NULL;
  if (b->tail != NULL)
    b->tail->next = s;
  else
    b->head = s;
  b->tail = s;
}

int gen_rx_slots_join(gen_rx_slots_t *b, gen_rx_slot_t *s,
                      const struct sockaddr *sa) {
  char akey[40], pkey[40];
  keys(sa, akey, pkey);
  gen_rx_group_t *a = group(b, akey);
  if (a == NULL)
    return -ENOMEM;
  gen_rx_group_t *p = group(b, pkey);
  if (p == NULL) {
    group_drop(b, a);
    return -ENOMEM;
  }
  s->addr = a;
  s->prefix = p;
  s->stage = GEN_RX_SILENT;
  if (b->struck.capacity == 0) /* a zeroed book */
    gen_recent_init(&b->struck, GEN_RX_STRUCK_MAX);
  s->struck = gen_recent_has(&b->struck, akey);
  const trust_t *t = gen_map_get(&b->trust, akey);
  s->trusted = t != NULL && s->since - t->at < GEN_RX_TRUST_SECONDS;
  b->addresses += a->conns == 0;
  a->conns++;
  p->conns++;
  b->open++;
  count(b, s, 1);
  append_slot(b, s);
  return 0;
}

void gen_rx_slots_leave(gen_rx_slots_t *b, gen_rx_slot_t *s) {
  count(b, s, -1);
  unlink_slot(b, s);
  b->open--;
  s->addr->conns--;
  s->prefix->conns--;
  b->addresses -= s->addr->conns == 0;
  group_drop(b, s->addr);
  group_drop(b, s->prefix);
  s->addr = s->prefix = NULL;
}

void gen_rx_slots_stage(gen_rx_slots_t *b, gen_rx_slot_t *s,
                        gen_rx_stage_t stage) {
  count(b, s, -1);
  s->stage = (unsigned char)stage;
  s->headed |= stage == GEN_RX_HEADED;
  count(b, s, 1);
}

void gen_rx_slots_trust(gen_rx_slots_t *b, gen_rx_slot_t *s, double now) {
  s->trusted = true;
  trust_t *t = gen_map_get(&b->trust, s->addr->key);
  if (t != NULL) {
    t->at = now;
    return;
  }
  if (gen_map_count(&b->trust) >= GEN_RX_TRUST_MAX) {
    size_t pos = 0; /* the one trusted longest ago makes room, reused */
    const void *k;
    void *v;
    while (gen_map_next(&b->trust, &pos, &k, &v))
      if (t == NULL || ((trust_t *)v)->at < t->at)
        t = v;
    gen_map_del(&b->trust, t->key, NULL);
  } else if ((t = malloc(sizeof(*t))) == NULL) {
    return;
  }
  memcpy(t->key, s->addr->key, sizeof(t->key));
  t->at = now;
  if (gen_map_put(&b->trust, t->key, t) != 0)
    free(t);
}

void gen_rx_slots_strike(gen_rx_slots_t *b, gen_rx_slot_t *s) {
  if (!gen_recent_seen(&b->struck, s->addr->key))
    for (gen_rx_slot_t *o = b->head; o != NULL; o = o->next)
      o->struck |= o->addr == s->addr;
}

void gen_rx_slots_cut(gen_rx_slots_t *b, gen_rx_slot_t *s) {
  count(b, s, -1);
  s->cut = true;
}

void gen_rx_slots_touch(gen_rx_slots_t *b, gen_rx_slot_t *s, double now) {
  s->since = now;
  unlink_slot(b, s);
  append_slot(b, s);
}

/* One pass, oldest first: a later one wins only when strictly ahead, so
 * among equals the oldest stays. */
gen_rx_slot_t *gen_rx_slots_victim(const gen_rx_slots_t *b) {
  gen_rx_slot_t *best = NULL;
  for (gen_rx_slot_t *s = b->head; s != NULL; s = s->next) {
    if (!waiting(s) || s->busy)
      continue;
    if (best != NULL) {
      bool spoke = s->stage > GEN_RX_SILENT;
      if (s->trusted != best->trusted) {
        if (s->trusted)
          continue;
      } else if (spoke != (best->stage > GEN_RX_SILENT)) {
        if (spoke)
          continue;
      } else if (s->struck != best->struck) {
        if (!s->struck)
          continue;
      } else if (s->prefix->headless != best->prefix->headless) {
        if (s->prefix->headless < best->prefix->headless)
          continue;
      } else if (s->addr->headless != best->addr->headless) {
        if (s->addr->headless < best->addr->headless)
          continue;
      } else if (s->stage >= best->stage)
        continue;
    }
    best = s;
  }
  return best;
}

unsigned gen_rx_slots_from(const gen_rx_slots_t *b, const struct sockaddr *sa,
                           unsigned *active) {
  char akey[40], pkey[40];
  keys(sa, akey, pkey);
  const gen_rx_group_t *a = gen_map_get(&b->groups, akey);
  *active = a != NULL ? a->active : 0;
  return a != NULL ? a->conns : 0;
}

void gen_rx_slots_free(gen_rx_slots_t *b) {
  gen_map_free_values(&b->groups, free);
  gen_map_free_values(&b->trust, free);
  gen_recent_free(&b->struck);
  *b = (gen_rx_slots_t){0};
}
