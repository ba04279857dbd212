/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: outbound campaigns of genesys_realtime (Campaigns): each
 * campaign's status, progress (contacts called of the total, the
 * percentage) and its dialer's live statistics (idle and effective idle
 * agents, outstanding and scheduled calls, the contact rate, calls per
 * agent). Every CampaignsEvery a sweep lists the campaigns
 * (GET /api/v2/outbound/campaigns: their campaignStatus), asks the progress
 * of the selected ones in bulk (POST /api/v2/outbound/campaigns/progress,
 * 100 ids a request) and the statistics of each one dialling (ON,
 * STOPPING, FORCED_STOPPING or a status this version does not know:
 * GET /api/v2/outbound/campaigns/{id}/stats), within
 * CampaignsRequests in any 60 s (a sweep goes on over the next reads where
 * it stopped). A status that changes between two listings raises a
 * collectd notification. In between, the chosen campaigns' topics
 * (v2.outbound.campaigns.{id}: its campaignStatus; .progress: its counts)
 * update status and progress at once, through the notification hub's
 * channels (shared with the queue topics; they cost no request): the
 * sweep stays the baseline and the periodic re-read, and the only source
 * of the statistics (HACKING.md, Outbound campaigns). Messages come on
 * the hub's threads, the rest on the read thread: its own lock.
 */
#ifndef GEN_CAMPAIGNS_H
#define GEN_CAMPAIGNS_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_entity.h"
#include "gen_notify.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* campaignStatus of the record (the SDKs' Campaign CampaignStatusEnum,
 * forced_off and forced_stopping since 2019), as series name; then
 * GEN_CP_UNKNOWN, the series of a campaign whose status this version does
 * not know (a value Genesys added later). */
enum {
  GEN_CP_ON,
  GEN_CP_OFF,
  GEN_CP_COMPLETE,
  GEN_CP_STOPPING,
  GEN_CP_INVALID,
  GEN_CP_FORCED_OFF,
  GEN_CP_FORCED_STOPPING,
  GEN_CP_UNKNOWN,
  GEN_CP_STATUS_COUNT
};
extern const char *const gen_cp_status_names[GEN_CP_STATUS_COUNT];
/* The status of a campaignStatus text (any case) of the record, -1 when
 * none ("unknown" is no campaignStatus: -1 too). */
int gen_cp_status_from_name(const char *name);
/* True for a status whose dialer may be calling (on, stopping,
 * forced_stopping, and unknown: it may be): its statistics are asked. */
bool gen_cp_status_dialling(int status);

typedef struct {
  bool on;           /* Campaigns */
  long max;          /* CampaignsMax: campaigns with values at most */
  unsigned statuses; /* CampaignStatuses: a mask of 1 << GEN_CP_* */
  cdtime_t every;    /* CampaignsEvery */
  long per_minute;   /* CampaignsRequests */
} gen_campaigns_config_t;

void gen_campaigns_config_init(gen_campaigns_config_t *c);
extern const gen_config_table_t gen_campaigns_keys;

#define GEN_CP_FAMILY "outbound campaigns"
#define GEN_CP_MAX_PER_MINUTE 300
/* Campaign ids a bulk progress request (UNCONFIRMED: 100, the listing's
 * largest page). */
#define GEN_CP_IDS_PER_REQUEST 100

/* The statistics of CampaignStats read: a field the answer leaves out is
 * not set (its bit in have is 0) and has no value. */
enum {
  GEN_CP_IDLE,            /* idleAgents */
  GEN_CP_EFFECTIVE_IDLE,  /* effectiveIdleAgents */
  GEN_CP_OUTSTANDING,     /* outstandingCalls */
  GEN_CP_SCHEDULED,       /* scheduledCalls */
  GEN_CP_TZ_RESCHEDULED,  /* timeZoneRescheduledCalls */
  GEN_CP_CALLS_PER_AGENT, /* adjustedCallsPerAgent */
  GEN_CP_ATTEMPTS,        /* contactRate.attempts */
  GEN_CP_CONNECTS,        /* contactRate.connects */
  GEN_CP_CONNECT_RATIO,   /* contactRate.connectRatio */
  GEN_CP_STAT_COUNT
};
typedef struct {
  double v[GEN_CP_STAT_COUNT];
  unsigned have; /* 1 << GEN_CP_* of the fields read */
} gen_cp_stats_t;

/* Reads a CampaignStats answer into *s. A field of the wrong type or
 * range (a negative count or ratio) is skipped and counted in
 * *malformed. 0, or -EBADMSG when the text is not a JSON object (reason in
 * err). */
int gen_cp_read_stats(const char *text, size_t len, gen_cp_stats_t *s,
                      size_t *malformed, char *err, size_t err_size);

/* The counts of a CampaignProgress, each optional in the record. */
enum { GEN_CP_CALLED, GEN_CP_TOTAL, GEN_CP_PERCENT, GEN_CP_PROGRESS_COUNT };
typedef struct {
  int64_t v[GEN_CP_PROGRESS_COUNT];
  unsigned have; /* 1 << GEN_CP_CALLED... of the counts read */
} gen_cp_progress_t;

/* One CampaignProgress (an element of the bulk answer, or the single
 * route's answer): its campaign id (NULL when it has none) and *p; a count
 * left out (or null) is not set. False when a count given is not an
 * integer of 0 or more (the record's numbers, integers or whole doubles)
 * or the percentage is above 100. */
bool gen_cp_read_progress(json_object *item, const char **id,
                          gen_cp_progress_t *p);

typedef struct gen_campaigns gen_campaigns_t;

/* NULL when off (or out of memory: the caller tells). */
gen_campaigns_t *gen_campaigns_new(const gen_campaigns_config_t *c);
void gen_campaigns_free(gen_campaigns_t *g);

/* One read at now (the monotonic clock): the sweep when due, as far as the
 * budget goes. A 403 stops the family (said once); a failed or malformed
 * answer leaves the campaign's values out until one is read (counted,
 * logged rate-limited). Returns the requests made. */
size_t gen_campaigns_run(gen_campaigns_t *g, gen_client_t *client,
                         cdtime_t now);

/* Puts the values of the selected campaigns (plugin instance the
 * campaign's name as the org names entities; every series has a type
 * instance, as the plugin's others): campaign_status (1 for its status, 0
 * for the others, unknown for a status this version does not know),
 * campaign_contacts called and total and campaign_percent processed once
 * its progress was read (each as answered), the statistics read of a
 * campaign dialling (campaign_agents idle and effective_idle, campaign_calls
 * outstanding, scheduled, timezone_rescheduled, campaign_calls_per_agent
 * adjusted, campaign_attempts attempts and connects,
 * campaign_connect_ratio connects). */
typedef void (*gen_cp_put_t)(void *ud, const char *instance, const char *type,
                             const char *type_instance, double value);
void gen_campaigns_put(gen_campaigns_t *g, const gen_org_t *org,
                       gen_cp_put_t put, void *ud);

#define GEN_CP_TOPIC_PREFIX "v2.outbound.campaigns."
#define GEN_CP_PROGRESS_SUFFIX ".progress"

/* Appends the two topics of each chosen campaign to topics[0..*n-1]
 * (reallocated; NULL and *n untouched when g is NULL). Returns the array
 * (NULL without memory: the old one is freed). */
char **gen_campaigns_topics(gen_campaigns_t *g, char **topics, size_t *n);

/* True once after the chosen campaigns changed (their topics must be
 * given again); false when g is NULL. */
bool gen_campaigns_renewed(gen_campaigns_t *g);

/* True when g is on and topic is a campaign's or its progress'. */
bool gen_campaigns_topic(const gen_campaigns_t *g, const char *topic);

/* One message of a campaign's topics: a campaignStatus (any case; one
 * this version does not know counted by gen_client_unknown and taken as
 * unknown; a body without one changes nothing) sets the status (a change
 * notified as the listing's is, once), a progress body (the counts of
 * gen_cp_read_progress; campaign.id, when given, the topic's) the counts it
 * carries (those it leaves out stay). A campaign no longer chosen is passed
 * over. GEN_NOTIFY_OK, or GEN_NOTIFY_MALFORMED (counted in campaign_malformed,
 * logged rate-limited). */
gen_notify_verdict_t gen_campaigns_message(gen_campaigns_t *g,
                                           const char *topic, const char *json,
                                           size_t len);

/* A channel (re)connected with topics[0..n-1]: when it carried a chosen
 * campaign's topics before (a gap: messages were missed), the next read
 * sweeps whatever CampaignsEvery says. */
void gen_campaigns_connected(gen_campaigns_t *g, char *const *topics, size_t n);

/* Its self-metrics: requests made, failed requests, malformed answers and
 * messages, topic messages applied. */
void gen_campaigns_dispatch_stats(gen_campaigns_t *g, const char *host,
                                  const char *plugin);

#endif /* GEN_CAMPAIGNS_H */
