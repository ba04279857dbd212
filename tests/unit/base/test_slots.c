/* SPDX-License-Identifier: MIT */
/* Unit tests: slots (taken in order until the array grows, the owner's
 * room asked for each new one, freed slots taken first and last freed
 * first, the max, a failed room, and a grown array's tail neither written
 * nor made resident). */
#include "gen_slots.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collectd/core/testing.h"

#define POISON 0xa5

/* An owner's item, as gen_conv's and gen_attr's: its link in the middle. */
typedef struct {
  uint64_t key;
  int32_t older, newer; /* newer is the link */
  char rest[48];
} item_t;

_Static_assert(sizeof(item_t) == 64, "one cache line, as the stores'");

typedef struct {
  gen_slots_t slots;
  item_t *items;
  size_t room_calls, room_n; /* calls of room and its last n */
  int room_err;              /* what room returns */
  bool poison;               /* poison the items growth brings */
  size_t poisoned;           /* items up to here poisoned when they came */
} owner_t;

/* Fills the tail that growth brought with POISON: a slot that the helper
 * writes before it is taken loses it. */
static int room(void *ud, size_t n) {
  owner_t *o = ud;
  o->room_calls++;
  o->room_n = n;
  if (o->poison && o->slots.cap > o->poisoned) {
    memset(o->items + o->poisoned, POISON,
           (o->slots.cap - o->poisoned) * sizeof(item_t));
    o->poisoned = o->slots.cap;
  }
  return o->room_err;
}

static void owner_init(owner_t *o, size_t max) {
  memset(o, 0, sizeof(*o));
  gen_slots_init(&o->slots, sizeof(item_t), offsetof(item_t, newer), max);
}

static int32_t take(owner_t *o) {
  int32_t i = gen_slots_take(&o->slots, (void **)&o->items, room, o);
  if (i >= 0)
    o->items[i] = (item_t){.key = 1000 + (uint64_t)i, .older = -1};
  return i;
}

static int put(owner_t *o, int32_t i) {
  return gen_slots_put(&o->slots, o->items, i);
}

/* Takes the slots from..to-1, expected in order; how many came otherwise. */
static int take_in_order(owner_t *o, int from, int to) {
  int wrong = 0;
  for (int i = from; i < to; i++)
    wrong += take(o) != i;
  return wrong;
}

/* True when every byte of items [from, to) is still POISON. */
static bool untouched(const owner_t *o, size_t from, size_t to) {
  const unsigned char *p = (const unsigned char *)(o->items + from);
  for (size_t k = 0; k < (to - from) * sizeof(item_t); k++)
    if (p[k] != POISON)
      return false;
  return true;
}

DEF_TEST(taken_in_order_until_growth) {
  owner_t o;
  owner_init(&o, 0);
  EXPECT_EQ_INT(INT32_MAX, (int)o.slots.max); /* 0: no bound but int32_t */
  EXPECT_EQ_PTR(NULL, o.items);               /* nothing before a take */
  /* Room asked for each new slot, for the slots used with it. */
  int wrong = 0;
  for (int i = 0; i < GEN_SLOTS_MIN; i++)
    wrong += take_in_order(&o, i, i + 1) + (o.room_n != (size_t)i + 1);
  EXPECT_EQ_INT(0, wrong);
  EXPECT_EQ_INT(GEN_SLOTS_MIN, (int)o.slots.cap);
  EXPECT_EQ_INT(GEN_SLOTS_MIN, (int)o.room_calls);
  /* One more: the array doubles, its items kept. */
  EXPECT_EQ_INT(GEN_SLOTS_MIN, take(&o));
  EXPECT_EQ_INT(2 * GEN_SLOTS_MIN, (int)o.slots.cap);
  EXPECT_EQ_INT(GEN_SLOTS_MIN + 1, (int)o.room_n);
  int lost = 0;
  for (int i = 0; i <= GEN_SLOTS_MIN; i++)
    lost += o.items[i].key != 1000 + (uint64_t)i;
  EXPECT_EQ_INT(0, lost);
  gen_slots_free(&o.slots, (void **)&o.items);
  EXPECT_EQ_PTR(NULL, o.items);
  EXPECT_EQ_INT(0, (int)o.slots.cap);
  EXPECT_EQ_INT(0, take(&o)); /* freed slots start again */
  gen_slots_free(&o.slots, (void **)&o.items);
  return 0;
}

DEF_TEST(freed_slots_come_back_first) {
  owner_t o;
  owner_init(&o, 0);
  EXPECT_EQ_INT(0, take_in_order(&o, 0, 10));
  EXPECT_EQ_INT(0, put(&o, 5));
  EXPECT_EQ_INT(0, put(&o, 3));
  EXPECT_EQ_INT(0, put(&o, 8));
  size_t calls = o.room_calls;
  /* The last freed first; no room asked for them. */
  EXPECT_EQ_INT(8, take(&o));
  EXPECT_EQ_INT(3, take(&o));
  EXPECT_EQ_INT(5, take(&o));
  EXPECT_EQ_INT(calls, o.room_calls);
  /* Then the next never used. */
  EXPECT_EQ_INT(10, take(&o));
  EXPECT_EQ_INT(11, (int)o.room_n);
  /* Slots never taken, or not numbers, are refused. */
  EXPECT_EQ_INT(-EINVAL, put(&o, 11));
  EXPECT_EQ_INT(-EINVAL, put(&o, -1));
  EXPECT_EQ_INT(11, take(&o));
  gen_slots_free(&o.slots, (void **)&o.items);
  return 0;
}

DEF_TEST(max_and_failed_room) {
  owner_t o;
  owner_init(&o, 300);
  EXPECT_EQ_INT(0, take_in_order(&o, 0, 300));
  EXPECT_EQ_INT(300, (int)o.slots.cap); /* the doubling stops at the max */
  EXPECT_EQ_INT(-E2BIG, take(&o));
  EXPECT_EQ_INT(-E2BIG, take(&o));
  EXPECT_EQ_INT(300, (int)o.slots.high);
  EXPECT_EQ_INT(0, put(&o, 17));
  EXPECT_EQ_INT(17, take(&o));
  EXPECT_EQ_INT(-E2BIG, take(&o));
  gen_slots_free(&o.slots, (void **)&o.items);

  /* The owner has no room: nothing is taken, and the same slot comes
   * once it has. */
  owner_init(&o, 0);
  EXPECT_EQ_INT(0, take(&o));
  o.room_err = -ENOMEM;
  EXPECT_EQ_INT(-ENOMEM, take(&o));
  EXPECT_EQ_INT(1, (int)o.slots.high);
  o.room_err = 0;
  EXPECT_EQ_INT(1, take(&o));
  gen_slots_free(&o.slots, (void **)&o.items);
  return 0;
}

/* Growth writes nothing past the slots taken: a tail poisoned as it came
 * keeps its bytes through takes, frees and more growth. */
DEF_TEST(grown_tail_not_written) {
  owner_t o;
  owner_init(&o, 4 * GEN_SLOTS_MIN);
  o.poison = true;
  EXPECT_EQ_INT(0, take_in_order(&o, 0, GEN_SLOTS_MIN + 10));
  size_t cap = o.slots.cap;
  EXPECT_EQ_INT(2 * GEN_SLOTS_MIN, (int)cap);
  OK(untouched(&o, GEN_SLOTS_MIN + 10, cap));
  EXPECT_EQ_INT(0, put(&o, 4));
  EXPECT_EQ_INT(0, put(&o, GEN_SLOTS_MIN + 9));
  EXPECT_EQ_INT(GEN_SLOTS_MIN + 9, take(&o));
  EXPECT_EQ_INT(4, take(&o));
  OK(untouched(&o, GEN_SLOTS_MIN + 10, cap));
  EXPECT_EQ_INT(0, take_in_order(&o, GEN_SLOTS_MIN + 10, (int)cap + 1));
  OK(untouched(&o, cap + 1, o.slots.cap));
  gen_slots_free(&o.slots, (void **)&o.items);
  return 0;
}

/* Pages of the resident set in [from, to), whole pages only; -1 when
 * mincore cannot tell. */
static long resident_pages(const void *from, const void *to) {
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t a =
      ((uintptr_t)from + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
  uintptr_t b = (uintptr_t)to & ~((uintptr_t)page - 1);
  if (b <= a)
    return 0;
  size_t n = (b - a) / (size_t)page;
  unsigned char *vec = malloc(n);
  if (vec == NULL || mincore((void *)a, b - a, vec) != 0) {
    free(vec);
    return -1;
  }
  long resident = 0;
  for (size_t k = 0; k < n; k++)
    resident += vec[k] & 1;
  free(vec);
  return resident;
}

/* As in genesys_realtime: a little past a doubling of 65,536 entries, the
 * array is 8 MiB and its untaken half stays out of memory. */
DEF_TEST(grown_tail_not_resident) {
  gen_slots_t s;
  item_t *items = NULL;
  gen_slots_init(&s, sizeof(item_t), offsetof(item_t, newer), 0);
  int32_t last = -1;
  for (int i = 0; i <= 65536; i++) {
    last = gen_slots_take(&s, (void **)&items, NULL, NULL);
    if (last != i)
      break;
    items[last] = (item_t){.key = (uint64_t)i};
  }
  EXPECT_EQ_INT(65536, last);
  EXPECT_EQ_INT(131072, (int)s.cap);
  /* Past the slots taken (not past s.high: a helper that wrote ahead
   * would have moved that too). */
  long tail_pages =
      (long)((s.cap - 65537) * sizeof(item_t)) / sysconf(_SC_PAGESIZE);
  long resident = resident_pages(items + 65537, items + s.cap);
  printf("# tail of %ld pages, %ld resident\n", tail_pages, resident);
  if (resident >= 0) /* a page or so may share a line with the used part */
    OK(resident <= tail_pages / 16);
  gen_slots_free(&s, (void **)&items);
  return 0;
}

int main(void) {
  RUN_TEST(taken_in_order_until_growth);
  RUN_TEST(freed_slots_come_back_first);
  RUN_TEST(max_and_failed_room);
  RUN_TEST(grown_tail_not_written);
  RUN_TEST(grown_tail_not_resident);
  END_TEST;
}
