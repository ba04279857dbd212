/* SPDX-License-Identifier: MIT */
/* Unit tests: the receiver's book of connections (gen_rx_slots): counts by
 * address and prefix (/24, /64, IPv4 mapped in IPv6 as IPv4), and the
 * eviction's pick: a silent connection before one that sent a byte, the
 * prefix holding the most connections waiting for a head, then its address
 * holding the most, then the least far in its handshake, then the oldest;
 * never one with a head. */
#include "gen_rx_slots.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd/core/testing.h"

static struct sockaddr_storage addr_of(const char *text) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
    v4->sin_family = AF_INET;
  else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
    v6->sin6_family = AF_INET6;
  return ss;
}

static gen_rx_slot_t *join_at(gen_rx_slots_t *b, const char *text, double now) {
  struct sockaddr_storage ss = addr_of(text);
  gen_rx_slot_t *s = calloc(1, sizeof(*s));
  if (s != NULL)
    s->since = now;
  if (s == NULL || gen_rx_slots_join(b, s, (struct sockaddr *)&ss) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

static gen_rx_slot_t *join(gen_rx_slots_t *b, const char *text) {
  return join_at(b, text, 0);
}

static unsigned active;

static unsigned from(gen_rx_slots_t *b, const char *text) {
  struct sockaddr_storage ss = addr_of(text);
  return gen_rx_slots_from(b, (struct sockaddr *)&ss, &active);
}

static void empty(gen_rx_slots_t *b) {
  while (b->head != NULL) {
    gen_rx_slot_t *s = b->head;
    gen_rx_slots_leave(b, s);
    free(s);
  }
  gen_rx_slots_free(b);
}

/* A sender's connection older than a flood from one /64 (2001:db8:0:1::/64,
 * every connection from its own address), silent: the flood's go first,
 * the oldest of them first, and the sender's is never picked while the
 * /64 holds more than its prefix. The same with the sender's prefix
 * holding 3: the /64's 4 still go first. */
DEF_TEST(a_slash_64_evicts_its_own) {
  gen_rx_slots_t b = {0};
  gen_rx_slot_t *legit = join(&b, "2001:db8:0:2::10");
  CHECK_NOT_NULL(legit);
  gen_rx_slot_t *flood[300];
  int made = 0;
  for (int i = 0; i < 300; i++) {
    char text[64];
    snprintf(text, sizeof(text), "2001:db8:0:1:%x:%x::1", i / 7, i);
    made += (flood[i] = join(&b, text)) != NULL;
  }
  EXPECT_EQ_INT(300, made);
  EXPECT_EQ_INT(301, (int)b.open);
  EXPECT_EQ_INT(301, (int)b.headless);
  EXPECT_EQ_INT(301, (int)b.addresses);
  /* Evict down to the sender's own count: oldest of the /64 each time. */
  int in_order = 0;
  for (int i = 0; i < 299; i++) {
    gen_rx_slot_t *v = gen_rx_slots_victim(&b);
    in_order += v == flood[i];
    gen_rx_slots_cut(&b, v);
  }
  EXPECT_EQ_INT(299, in_order);
  EXPECT_EQ_INT(2, (int)b.headless);
  /* One each: equals, so the oldest, the sender's. */
  OK(gen_rx_slots_victim(&b) == legit);
  /* Its handshake done, the sender goes after the silent one. */
  gen_rx_slots_stage(&b, legit, GEN_RX_READY);
  OK(gen_rx_slots_victim(&b) == flood[299]);
  /* With a head never; its address then holds a request. */
  EXPECT_EQ_INT(0, (int)b.active_addresses);
  gen_rx_slots_stage(&b, legit, GEN_RX_HEADED);
  OK(legit->headed);
  EXPECT_EQ_INT(1, (int)b.headless);
  EXPECT_EQ_INT(1, (int)b.active_addresses);
  EXPECT_EQ_INT(1, (int)from(&b, "2001:db8:0:2::10"));
  EXPECT_EQ_INT(1, (int)active);
  EXPECT_EQ_INT(1, (int)from(&b, "2001:db8:0:1:0:0::1")); /* cut: listed */
  EXPECT_EQ_INT(0, (int)active);
  OK(gen_rx_slots_victim(&b) == flood[299]);
  gen_rx_slots_cut(&b, flood[299]);
  OK(gen_rx_slots_victim(&b) == NULL);
  EXPECT_EQ_INT(0, (int)b.headless);
  empty(&b);
  return 0;
}

/* 1,000 IPv4 addresses in four /24s, the sender alone in a fifth with 3
 * connections: each pick is from a biggest /24, and the sender's prefix is
 * reached only once every other holds 3 or fewer. */
DEF_TEST(ipv4_prefixes_share) {
  gen_rx_slots_t b = {0};
  gen_rx_slot_t *legit[3];
  for (int i = 0; i < 3; i++)
    CHECK_NOT_NULL(legit[i] = join(&b, "127.0.0.1"));
  EXPECT_EQ_INT(3, (int)from(&b, "127.0.0.1"));
  EXPECT_EQ_INT(0, (int)from(&b, "127.0.0.2"));
  int made = 0;
  for (int k = 0; k < 1000; k++) {
    char text[32];
    snprintf(text, sizeof(text), "127.0.%d.%d", 2 + k / 250, 1 + k % 250);
    made += join(&b, text) != NULL;
  }
  EXPECT_EQ_INT(1000, made);
  EXPECT_EQ_INT(1001, (int)b.addresses);
  int evicted = 0;
  for (;;) {
    gen_rx_slot_t *v = gen_rx_slots_victim(&b);
    if (v == legit[0] || v == legit[1] || v == legit[2] || v == NULL)
      break;
    gen_rx_slots_cut(&b, v);
    evicted++;
  }
  /* 4 prefixes of 250 down to 3 each, before the sender's first. */
  EXPECT_EQ_INT(1000 - 4 * 3, evicted);
  /* Cut ones still hold their slot until closed, not the headless count. */
  EXPECT_EQ_INT(1003, (int)b.open);
  EXPECT_EQ_INT(15, (int)b.headless);
  empty(&b);
  return 0;
}

/* Within one address: silent before TLS begun before TLS done; kept-alive
 * connections between requests wait like TLS done. The address holding
 * more goes first, in the same prefix, among the silent ones, which all go
 * before one that sent a byte. */
DEF_TEST(stages_and_addresses) {
  gen_rx_slots_t b = {0};
  gen_rx_slot_t *ready = join(&b, "10.0.0.1");
  gen_rx_slot_t *hello = join(&b, "10.0.0.1");
  gen_rx_slot_t *silent = join(&b, "10.0.0.1");
  gen_rx_slot_t *other = join(&b, "10.0.0.2");
  gen_rx_slot_t *other2 = join(&b, "10.0.0.2");
  CHECK_NOT_NULL(other2);
  gen_rx_slots_stage(&b, ready, GEN_RX_READY);
  gen_rx_slots_stage(&b, hello, GEN_RX_HELLO);
  OK(gen_rx_slots_victim(&b) == silent); /* 10.0.0.1 holds 3 */
  gen_rx_slots_cut(&b, silent);
  OK(gen_rx_slots_victim(&b) == other); /* 2 and 2: the silent, oldest */
  gen_rx_slots_cut(&b, other);
  /* Silent before any that sent a byte, though 10.0.0.1 holds 2. */
  OK(gen_rx_slots_victim(&b) == other2);
  /* A busy connection (its request with the worker) is never picked. */
  gen_rx_slots_stage(&b, other2, GEN_RX_HEADED);
  other2->busy = true;
  OK(gen_rx_slots_victim(&b) == hello); /* TLS begun before TLS done */
  gen_rx_slots_cut(&b, hello);
  gen_rx_slots_stage(&b, ready, GEN_RX_HEADED);
  gen_rx_slots_stage(&b, ready, GEN_RX_READY); /* its request ended */
  OK(ready->headed);
  OK(gen_rx_slots_victim(&b) == ready);
  EXPECT_EQ_INT(1, (int)b.active_addresses); /* 10.0.0.2's busy one */
  gen_rx_slots_cut(&b, other2);
  EXPECT_EQ_INT(0, (int)b.active_addresses);
  /* Touched: last in age order. */
  gen_rx_slots_touch(&b, ready, 5.0);
  OK(b.tail == ready);
  empty(&b);
  OK(b.open == 0 && b.headless == 0 && b.addresses == 0);
  return 0;
}

/* An IPv4 client of a dual-stack socket (::ffff:a.b.c.d) counts in its
 * /24, with the plain IPv4 form; and an address of no known family in one
 * group of its own. */
DEF_TEST(mapped_ipv4_is_ipv4) {
  gen_rx_slots_t b = {0};
  CHECK_NOT_NULL(join(&b, "::ffff:192.0.2.7"));
  CHECK_NOT_NULL(join(&b, "192.0.2.7"));
  EXPECT_EQ_INT(2, (int)from(&b, "192.0.2.7"));
  EXPECT_EQ_INT(1, (int)b.addresses);
  gen_rx_slot_t *s = calloc(1, sizeof(*s));
  CHECK_NOT_NULL(s);
  EXPECT_EQ_INT(0, gen_rx_slots_join(&b, s, NULL));
  EXPECT_EQ_INT(2, (int)b.addresses);
  empty(&b);
  return 0;
}

/* 1,000 addresses each in a /24 of its own, one silent connection each:
 * prefixes and addresses do not tell them from a sender. A sender whose
 * address sent the secret (an earlier request) is trusted for an hour:
 * its 3 silent connections go after every other, though its address holds
 * the most. Past the hour, or from another address, not trusted. */
DEF_TEST(a_trusted_sender_goes_last) {
  gen_rx_slots_t b = {0};
  gen_rx_slot_t *earlier = join_at(&b, "127.0.0.1", 10);
  CHECK_NOT_NULL(earlier);
  gen_rx_slots_stage(&b, earlier, GEN_RX_HEADED);
  gen_rx_slots_trust(&b, earlier, 10);
  gen_rx_slots_stage(&b, earlier, GEN_RX_READY); /* kept alive: waiting */
  gen_rx_slot_t *legit[3];
  for (int i = 0; i < 3; i++)
    CHECK_NOT_NULL(legit[i] = join_at(&b, "127.0.0.1", 20));
  OK(legit[0]->trusted && legit[2]->trusted);
  int made = 0;
  for (int k = 0; k < 1000; k++) {
    char text[32];
    snprintf(text, sizeof(text), "127.%d.%d.1", 1 + k / 250, k % 250);
    made += join_at(&b, text, 30) != NULL;
  }
  EXPECT_EQ_INT(1000, made);
  int evicted = 0;
  for (;;) {
    gen_rx_slot_t *v = gen_rx_slots_victim(&b);
    if (v == NULL || v->trusted)
      break;
    gen_rx_slots_cut(&b, v);
    evicted++;
  }
  EXPECT_EQ_INT(1000, evicted);
  /* Among the trusted, the silent ones first, the kept-alive one last. */
  OK(gen_rx_slots_victim(&b) == legit[0]);
  /* An hour later the address is no longer trusted. */
  gen_rx_slot_t *late = join_at(&b, "127.0.0.1", 10 + 3600);
  CHECK_NOT_NULL(late);
  OK(!late->trusted);
  OK(gen_rx_slots_victim(&b) == late);
  /* Bounded: 1,024 addresses; the one trusted longest ago is forgotten. */
  for (int k = 0; k < GEN_RX_TRUST_MAX; k++) {
    char text[32];
    snprintf(text, sizeof(text), "10.%d.%d.1", k / 250, k % 250);
    gen_rx_slot_t *s = join_at(&b, text, 100 + k);
    if (s != NULL)
      gen_rx_slots_trust(&b, s, 100 + k);
  }
  EXPECT_EQ_INT(GEN_RX_TRUST_MAX, (int)gen_map_count(&b.trust));
  gen_rx_slot_t *again = join_at(&b, "127.0.0.1", 2000);
  CHECK_NOT_NULL(again);
  OK(!again->trusted);
  gen_rx_slot_t *kept = join_at(&b, "10.0.1.1", 2000);
  CHECK_NOT_NULL(kept);
  OK(kept->trusted);
  empty(&b);
  return 0;
}

/* The flood's open connection of each address, 127.<1 + k / 250>.<k %
 * 250>.1. */
static gen_rx_slot_t *flood_of[1000];

static void flood_addr(int k, char *text, size_t size) {
  snprintf(text, size, "127.%d.%d.1", 1 + k / 250, k % 250);
}

/* The flood evicts and reopens n times: each connection evicted is opened
 * again from its address. The evictions of others than spare[0..2]. */
static int flood_turns(gen_rx_slots_t *b, int n, gen_rx_slot_t **spare,
                       double now) {
  int spared = 0;
  for (int i = 0; i < n; i++) {
    gen_rx_slot_t *v = gen_rx_slots_victim(b);
    if (v == NULL)
      break;
    spared +=
        spare == NULL || (v != spare[0] && v != spare[1] && v != spare[2]);
    gen_rx_slots_strike(b, v);
    gen_rx_slots_cut(b, v);
    for (int k = 0; k < 1000; k++)
      if (flood_of[k] == v) {
        char text[32];
        flood_addr(k, text, sizeof(text));
        flood_of[k] = join_at(b, text, now);
      }
  }
  return spared;
}

/* 1,000 addresses each in a /24 of its own reopen each connection evicted.
 * A new sender (never trusted) connects 3 times from its /24 after each of
 * them has lost one: 2,000 evictions later its connections are still
 * open, though older than the flood's, as silent, and more in their /24;
 * its address, once evicted, is struck too. */
DEF_TEST(a_new_sender_outlasts_a_flood_of_prefixes) {
  gen_rx_slots_t b = {0};
  for (int k = 0; k < 1000; k++) {
    char text[32];
    flood_addr(k, text, sizeof(text));
    flood_of[k] = join_at(&b, text, 0);
  }
  EXPECT_EQ_INT(1000, flood_turns(&b, 1000, NULL, 1));
  gen_rx_slot_t *legit = join_at(&b, "127.0.100.1", 2);
  gen_rx_slot_t *others[3] = {legit, join_at(&b, "127.0.100.2", 2),
                              join_at(&b, "127.0.100.3", 2)};
  CHECK_NOT_NULL(legit);
  CHECK_NOT_NULL(others[2]);
  OK(!legit->struck && !legit->trusted);
  EXPECT_EQ_INT(2000, flood_turns(&b, 2000, others, 3));
  OK(!legit->cut && !others[1]->cut && !others[2]->cut);
  gen_rx_slots_strike(&b, legit);
  OK(legit->struck);
  gen_rx_slot_t *again = join_at(&b, "127.0.100.1", 4);
  CHECK_NOT_NULL(again);
  OK(again->struck);
  empty(&b);
  return 0;
}

/* An idle flood from ever new addresses, each in a /24 of its own, never
 * evicted nor trusted (nothing tells it from a new sender), and 3 new
 * senders in one /24 whose first bytes arrived (one of them struck: its
 * address lost a connection): 3,000 evictions and reopens later, every one
 * the flood's, the senders' open though their /24 holds 3 to the flood's
 * 1 and older. Then silent too, the sender's /24 goes first. */
DEF_TEST(a_silent_flood_never_evicts_a_sender_that_spoke) {
  gen_rx_slots_t b = {0};
  int next = 0;
  gen_rx_slot_t *legit[3];
  char text[32];
  for (int i = 0; i < 3; i++) {
    snprintf(text, sizeof(text), "127.0.100.%d", 1 + i);
    CHECK_NOT_NULL(legit[i] = join_at(&b, text, 1));
    gen_rx_slots_stage(&b, legit[i], GEN_RX_HELLO);
  }
  gen_rx_slots_strike(&b, legit[2]);
  OK(legit[2]->struck && !legit[0]->struck);
  int made = 0, flood = 0;
  for (; next < 1000; next++) {
    snprintf(text, sizeof(text), "127.%d.%d.1", 1 + next / 250, next % 250);
    made += join_at(&b, text, 2) != NULL;
  }
  for (int i = 0; i < 3000; i++, next++) {
    gen_rx_slot_t *v = gen_rx_slots_victim(&b);
    if (v == NULL)
      break;
    flood += v != legit[0] && v != legit[1] && v != legit[2];
    gen_rx_slots_cut(&b, v); /* not struck: as a flood never seen again */
    snprintf(text, sizeof(text), "127.%d.%d.1", 1 + next / 250, next % 250);
    made += join_at(&b, text, 3) != NULL;
  }
  EXPECT_EQ_INT(4000, made);
  EXPECT_EQ_INT(3000, flood);
  OK(!legit[0]->cut && !legit[1]->cut && !legit[2]->cut);
  /* Were they silent, their /24 holding the most would go first. */
  for (int i = 0; i < 3; i++)
    gen_rx_slots_stage(&b, legit[i], GEN_RX_SILENT);
  gen_rx_slot_t *v = gen_rx_slots_victim(&b);
  OK(v == legit[2]); /* struck */
  gen_rx_slots_cut(&b, v);
  OK(gen_rx_slots_victim(&b) == legit[0]);
  empty(&b);
  return 0;
}

int main(void) {
  RUN_TEST(a_slash_64_evicts_its_own);
  RUN_TEST(ipv4_prefixes_share);
  RUN_TEST(stages_and_addresses);
  RUN_TEST(mapped_ipv4_is_ipv4);
  RUN_TEST(a_trusted_sender_goes_last);
  RUN_TEST(a_new_sender_outlasts_a_flood_of_prefixes);
  RUN_TEST(a_silent_flood_never_evicts_a_sender_that_spoke);
  END_TEST;
}
