/* SPDX-License-Identifier: MIT */
/* Unit tests: notifications once per change (gen_notice). */
#include "gen_config.h"
#include "gen_notice.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <pthread.h>

DEF_TEST(once_per_change) {
  mock_notifs_reset();
  gen_org_t *org = gen_org_create("genesys_platform", "acme");
  org->host = strdup("acme-host");
  /* A good state first seen is no change. */
  EXPECT_EQ_INT(0, gen_notice(org, "e1", "edge_online", NULL, 0, NOTIF_FAILURE,
                              "edge %s is online", "e1"));
  EXPECT_EQ_INT(0, (int)mock_notifs_num);
  /* The first bad one is, once however often it is seen. */
  for (int i = 0; i < 3; i++)
    gen_notice(org, "e1", "edge_online", NULL, 1, NOTIF_FAILURE,
               "edge %s is offline", "e1");
  EXPECT_EQ_INT(1, (int)mock_notifs_num);
  mock_notif_t *n = &mock_notifs[0];
  EXPECT_EQ_INT(NOTIF_FAILURE, n->severity);
  EXPECT_EQ_STR("acme-host", n->host);
  EXPECT_EQ_STR("genesys_platform", n->plugin);
  EXPECT_EQ_STR("e1", n->plugin_instance);
  EXPECT_EQ_STR("edge_online", n->type);
  EXPECT_EQ_STR("", n->type_instance);
  EXPECT_EQ_STR("Org \"acme\": edge e1 is offline", n->message);
  OK(n->time > 0);
  /* Back to good: OKAY, once. */
  for (int i = 0; i < 2; i++)
    gen_notice(org, "e1", "edge_online", NULL, 0, NOTIF_FAILURE,
               "edge %s is online again", "e1");
  EXPECT_EQ_INT(2, (int)mock_notifs_num);
  EXPECT_EQ_INT(NOTIF_OKAY, mock_notifs[1].severity);
  /* A bad level to another bad level is a change too. */
  gen_notice(org, "status", "status_component", "Voice", 2, NOTIF_WARNING,
             "degraded");
  gen_notice(org, "status", "status_component", "Voice", 4, NOTIF_FAILURE,
             "major outage");
  gen_notice(org, "status", "status_component", "Voice", 4, NOTIF_FAILURE,
             "major outage");
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_WARNING, "status",
                                          "status_component", "Voice"));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_FAILURE, "status",
                                          "status_component", "Voice"));
  /* Subjects apart: another type instance is its own. */
  gen_notice(org, "status", "status_component", "Digital", 3, NOTIF_FAILURE,
             "partial outage");
  EXPECT_EQ_INT(5, (int)mock_notifs_num);
  gen_org_free(org);
  mock_notifs_reset();
  return 0;
}

/* A state taken as said (gen_notice_assume): not sent, but the next change
 * from it is, a return to good included; the names as gen_notice's. */
DEF_TEST(assumed_state) {
  mock_notifs_reset();
  gen_org_t *org = gen_org_create("genesys_realtime", "acme");
  EXPECT_EQ_INT(
      0, gen_notice_assume(org, "Campaign 1", "campaign_status", NULL, 1));
  EXPECT_EQ_INT(
      0, gen_notice_assume(org, "Campaign 2", "campaign_status", NULL, 0));
  EXPECT_EQ_INT(0, (int)mock_notifs_num);
  /* the same state again: nothing; good again: OKAY */
  EXPECT_EQ_INT(0, gen_notice(org, "Campaign 1", "campaign_status", NULL, 1,
                              NOTIF_WARNING, "off"));
  EXPECT_EQ_INT(1, gen_notice(org, "Campaign 1", "campaign_status", NULL, 0,
                              NOTIF_WARNING, "on"));
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_OKAY, "Campaign_1",
                                          "campaign_status", ""));
  /* assumed good: the first bad state is a change */
  EXPECT_EQ_INT(1, gen_notice(org, "Campaign 2", "campaign_status", NULL, 2,
                              NOTIF_WARNING, "complete"));
  EXPECT_EQ_INT(2, (int)mock_notifs_num);
  EXPECT_EQ_INT(-EINVAL, gen_notice_assume(org, "x", NULL, NULL, 1));
  gen_org_free(org);
  mock_notifs_reset();
  return 0;
}

DEF_TEST(orgs_apart_names_sanitised) {
  mock_notifs_reset();
  gen_org_t *a = gen_org_create("genesys_realtime", "a");
  gen_org_t *b = gen_org_create("genesys_realtime", "b");
  /* Without Host: collectd's own name, as the values have it. */
  EXPECT_EQ_INT(1, gen_notice(a, "self", "permission", "agent status", 1,
                              NOTIF_FAILURE, "refused"));
  EXPECT_EQ_INT(1, gen_notice(b, "self", "permission", "agent status", 1,
                              NOTIF_FAILURE, "refused"));
  EXPECT_EQ_INT(2, (int)mock_notifs_num);
  EXPECT_EQ_STR(hostname_g, mock_notifs[0].host);
  EXPECT_EQ_STR("agent_status", mock_notifs[0].type_instance);
  /* A copy remembers on its own. */
  gen_org_t *c = gen_org_copy(a);
  EXPECT_EQ_INT(1, gen_notice(c, "self", "permission", "agent status", 1,
                              NOTIF_FAILURE, "refused"));
  EXPECT_EQ_INT(-EINVAL,
                gen_notice(NULL, "x", "t", NULL, 1, NOTIF_FAILURE, "no org"));
  gen_org_free(a);
  gen_org_free(b);
  gen_org_free(c);
  mock_notifs_reset();
  return 0;
}

/* Channel threads and the read callback notify about one org at once. */
typedef struct {
  gen_org_t *org;
  int id;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  char subject[16];
  snprintf(subject, sizeof(subject), "ch%d", w->id);
  for (int i = 0; i < 200; i++)
    gen_notice(w->org, "self", "notification_channel", subject, (i / 2) % 2,
               NOTIF_FAILURE, "channel %d", w->id);
  /* And all of them on one subject. */
  for (int i = 0; i < 200; i++)
    gen_notice(w->org, "self", "api_up", NULL, 1, NOTIF_FAILURE, "shared");
  return NULL;
}

DEF_TEST(threads) {
  mock_notifs_reset();
  mock_log_echo = false;
  gen_org_t *org = gen_org_create("genesys_realtime", "acme");
  /* Every change counted here: the limits off (flapping: below). */
  org->notice_window = 0;
  org->notices_per_minute = 0;
  pthread_t t[4];
  worker_t w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker_t){org, i};
    pthread_create(&t[i], NULL, worker, &w[i]);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  mock_log_echo = true;
  /* Each thread's subject: 0,0,1,1,… changes 99 times (50 bad, 49 good);
   * the shared subject went bad once. */
  for (int i = 0; i < 4; i++) {
    char subject[16];
    snprintf(subject, sizeof(subject), "ch%d", i);
    EXPECT_EQ_INT(50, (int)mock_notifs_count(NOTIF_FAILURE, "self",
                                             "notification_channel", subject));
    EXPECT_EQ_INT(49, (int)mock_notifs_count(NOTIF_OKAY, "self",
                                             "notification_channel", subject));
  }
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_FAILURE, "self", "api_up", ""));
  gen_org_free(org);
  mock_notifs_reset();
  return 0;
}

/* 200 edges flapping at each listing (every 5 s) for a minute, as the
 * platform plugin reads them: the edges' notifications were 2,300 that
 * minute (one a change). Now at most NotificationsPerMinute (60) a minute,
 * each edge at most twice within NotificationWindow, the rest held back
 * and counted; once the flapping stops, the held ones leave at the reads
 * (gen_notices_flush) with the state then, and each edge's last
 * notification says its state. */
DEF_TEST(flapping_bounded) {
  mock_notifs_reset();
  mock_log_reset();
  mock_time = TIME_T_TO_CDTIME_T(1795600800);
  gen_org_t *org = gen_org_create("genesys_platform", "acme");
  char edge[16];
  int state[200] = {0};
  for (int listing = 0; listing < 12; listing++) {
    for (int i = 0; i < 200; i++) {
      snprintf(edge, sizeof(edge), "e%d", i);
      state[i] = (listing + i) % 2 == 0; /* half offline, then the others */
      gen_notice(org, edge, "edge_online", NULL, state[i], NOTIF_FAILURE,
                 "edge %s is %s", edge, state[i] ? "offline" : "online");
    }
    gen_notices_flush(org);
    mock_time += TIME_T_TO_CDTIME_T(5);
  }
  printf("# 200 edges flapping, 12 listings in a minute: %zu notifications, "
         "%llu held back\n",
         mock_notifs_num, (unsigned long long)gen_notices_held(org));
  /* 2,300 changes (100 edges offline first, then 200 a listing): 60
   * said, every other one counted. */
  EXPECT_EQ_INT(60, (int)mock_notifs_num);
  EXPECT_EQ_INT(2300 - 60, (int)gen_notices_held(org));
  OK(mock_log_contains("notifications held back"));
  /* Said once in the log. */
  mock_log_reset();
  gen_notice(org, "e0", "edge_online", NULL, !state[0], NOTIF_FAILURE, "x");
  gen_notice(org, "e0", "edge_online", NULL, state[0], NOTIF_FAILURE, "x");
  OK(!mock_log_contains("notifications held back"));
  /* Steady from now: the reads let the held ones out, 60 a minute, each
   * edge twice within 10 minutes at most; by then every edge's last word
   * is its state. */
  size_t minute_start = mock_notifs_num;
  for (int read = 0; read < 12 * 20; read++) {
    gen_notices_flush(org);
    mock_time += TIME_T_TO_CDTIME_T(5);
    if (read % 12 == 11) {
      OK(mock_notifs_num - minute_start <= 60);
      minute_start = mock_notifs_num;
    }
  }
  for (int i = 0; i < 200; i++) {
    snprintf(edge, sizeof(edge), "e%d", i);
    int last = -1;
    for (size_t k = 0; k < mock_notifs_num; k++)
      if (strcmp(mock_notifs[k].plugin_instance, edge) == 0)
        last = mock_notifs[k].severity;
    if (state[i])
      OK1(last == NOTIF_FAILURE, edge);
    else
      OK1(last == NOTIF_OKAY || last == -1, edge);
  }
  printf("# 20 steady minutes after: %zu notifications in all\n",
         mock_notifs_num);
  gen_org_free(org);
  /* One subject: a change and its return pass at once, then the window. */
  mock_notifs_reset();
  org = gen_org_create("genesys_platform", "acme");
  for (int i = 0; i < 10; i++) {
    gen_notice(org, "e1", "edge_online", NULL, i % 2 == 0, NOTIF_FAILURE, "x");
    mock_time += TIME_T_TO_CDTIME_T(10);
  }
  EXPECT_EQ_INT(2, (int)mock_notifs_num); /* offline, online: then held */
  /* Back online (its last said state) when the flap stops: nothing owed. */
  mock_time += TIME_T_TO_CDTIME_T(600);
  EXPECT_EQ_INT(0, gen_notices_flush(org));
  /* Offline again and held for the window: said once it has passed. */
  gen_notice(org, "e1", "edge_online", NULL, 1, NOTIF_FAILURE, "x");
  gen_notice(org, "e1", "edge_online", NULL, 0, NOTIF_FAILURE, "x");
  gen_notice(org, "e1", "edge_online", NULL, 1, NOTIF_FAILURE, "x");
  EXPECT_EQ_INT(4, (int)mock_notifs_num);
  EXPECT_EQ_INT(0, gen_notices_flush(org));
  mock_time += TIME_T_TO_CDTIME_T(600);
  EXPECT_EQ_INT(1, gen_notices_flush(org));
  EXPECT_EQ_INT(NOTIF_FAILURE, mock_notifs[4].severity);
  gen_org_free(org);
  mock_notifs_reset();
  mock_time = 0;
  return 0;
}

int main(void) {
  RUN_TEST(once_per_change);
  RUN_TEST(assumed_state);
  RUN_TEST(orgs_apart_names_sanitised);
  RUN_TEST(threads);
  RUN_TEST(flapping_bounded);
  END_TEST;
}
