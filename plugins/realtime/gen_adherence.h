/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: real-time adherence of genesys_realtime (Adherence): the
 * agents of each workforce management unit by adherence state, those out of
 * adherence by impact, the longest current exception and the seconds out of
 * adherence summed. The management units the client may use for it are
 * listed (GET /api/v2/workforcemanagement/managementunits
 * ?feature=RealTimeAdherence, no paging parameters: "not supported") every
 * AdherenceListEvery; each unit's agents are read whole
 * (GET /api/v2/workforcemanagement/managementunits/{id}/adherence; an
 * answer that is only a downloadUrl fetched, without the token first) when
 * it is new and every AdherenceEvery after, within AdherenceRequests in any
 * 60 s (gen_minute; what waits goes on at the next reads), and followed in
 * between by the
 * unit's topic v2.workforcemanagement.managementunits.{id}.adherence (one
 * agent's UserScheduleAdherenceUpdate a message), which shares the hub's
 * channels with the queue topics (tests/sim/README.md, "Real-time
 * adherence"). Messages come on the hub's threads, the rest on the read
 * thread: its own lock. With AdherenceNotifications, an agent falling out
 * of adherence and back is a collectd notification (gen_notice, bounded
 * per org), the agents already out at a unit's first read not news.
 */
#ifndef GEN_ADHERENCE_H
#define GEN_ADHERENCE_H 1

#include "gen_client.h"
#include "gen_config.h"
#include "gen_entity.h"
#include "gen_notify.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  bool on;         /* Adherence */
  cdtime_t every;  /* AdherenceEvery: each unit read whole again */
  cdtime_t relist; /* AdherenceListEvery: the units listed again */
  long max_units;  /* AdherenceMaxUnits: units followed at most */
  long per_minute; /* AdherenceRequests: the budget */
  bool notify;     /* AdherenceNotifications: an exception opened, closed */
} gen_adherence_config_t;

extern const gen_config_table_t gen_adherence_keys;

#define GEN_ADH_FAMILY "real-time adherence"
#define GEN_ADH_TOPIC_PREFIX "v2.workforcemanagement.managementunits."
#define GEN_ADH_TOPIC_SUFFIX ".adherence"
/* The notifications' type; plugin instance the unit, type instance the
 * agent's user id. */
#define GEN_ADH_NOTICE_TYPE "adherence_exception"

/* adherenceState (the SDK's AdherenceStateEnum), then "other" for a value
 * this version does not know. */
enum {
  GEN_ADH_IN,
  GEN_ADH_OUT,
  GEN_ADH_UNSCHEDULED,
  GEN_ADH_UNKNOWN,
  GEN_ADH_IGNORED,
  GEN_ADH_EXPLAINED,
  GEN_ADH_OTHER,
  GEN_ADH_STATES
};
/* impact (a free string in the SDK): Positive, Negative, Neutral, and
 * Unknown for a missing or other one. */
enum {
  GEN_ADH_POSITIVE,
  GEN_ADH_NEGATIVE,
  GEN_ADH_NEUTRAL,
  GEN_ADH_IMPACT_UNKNOWN,
  GEN_ADH_IMPACTS
};

const char *gen_adh_state_name(int state);

/* One agent's adherence, as a topic's eventBody or an entry of the unit's
 * listing gives it. */
typedef struct {
  char user[80];
  char unit[80]; /* "" when the entry names none */
  int state;
  int impact;
  int64_t since_ms; /* adherenceChangeTime / timeOfAdherenceChange; -1 */
  bool removed;     /* removedFromManagementUnit */
} gen_adh_update_t;

/* Reads o into *u: user.id and adherenceState are required; impact, the
 * change time (either name) and managementUnitId or managementUnit.id are
 * optional. A state this version does not know is GEN_ADH_OTHER, an impact
 * GEN_ADH_IMPACT_UNKNOWN, each counted in client's unknown_values
 * ("adherence-adherenceState", "adherence-impact"; client may be NULL: not
 * counted). 0, or -EBADMSG with the reason in err. */
int gen_adh_parse_update(json_object *o, gen_adh_update_t *u,
                         gen_client_t *client, char *err, size_t err_size);

/* gen_adh_read_listing: the answer is only a downloadUrl. */
#define GEN_ADH_DOWNLOAD 1

/* Reads a unit's adherence answer: a UserScheduleAdherenceListing
 * ({"entities": [...]}) or a bare list of UserScheduleAdherence. *out is
 * allocated (free it; NULL when empty); an entry that does not read is
 * skipped and counted in *malformed; client as gen_adh_parse_update's. A
 * listing whose entities are absent or empty and that gives a downloadUrl
 * ("if the response is too large to send directly via http response")
 * returns GEN_ADH_DOWNLOAD with the URL in url (url NULL: the downloaded
 * document itself, where another downloadUrl is refused). 0,
 * GEN_ADH_DOWNLOAD, or -EBADMSG. */
int gen_adh_read_listing(const char *text, size_t len, gen_client_t *client,
                         gen_adh_update_t **out, size_t *n, size_t *malformed,
                         char *url, size_t url_size, char *err,
                         size_t err_size);

typedef struct gen_adherence gen_adherence_t;

/* NULL when off (or out of memory: the caller tells). */
gen_adherence_t *gen_adherence_new(const gen_adherence_config_t *c);
void gen_adherence_free(gen_adherence_t *a);

/* The read thread's turn at now (the monotonic clock): the listing when
 * due, then each unit read whole when due, the longest unread first, as far
 * as the budget goes. A 403 stops the family (said once). True when the units
 * changed (the topics must be given again). The first call takes client's
 * org for the notifications (before any topic is given). */
bool gen_adherence_run(gen_adherence_t *a, gen_client_t *client, cdtime_t now);

/* Appends the topic of each unit followed to topics[0..*n-1] (reallocated;
 * NULL and *n untouched when a is NULL). Returns the array (NULL without
 * memory: the old one is freed). */
char **gen_adherence_topics(gen_adherence_t *a, char **topics, size_t *n);

/* True when topic is a unit's adherence topic. */
bool gen_adherence_topic(const char *topic);

/* One message of a unit's topic: GEN_NOTIFY_OK, or GEN_NOTIFY_MALFORMED
 * with the reason in err (counted in adherence_malformed). An agent now
 * out of adherence, or no longer (another state, or removed from the
 * unit), is notified (AdherenceNotifications): a message is a change. */
gen_notify_verdict_t gen_adherence_message(gen_adherence_t *a,
                                           const char *topic, const char *json,
                                           size_t len, char *err,
                                           size_t err_size);

/* Puts each unit's values at now_ms (wall clock, milliseconds) for units
 * read whole at least once: type "adherence_agents" per adherence state
 * (every one, 0 included), "adherence_out_agents" per impact of the agents
 * out of adherence, "adherence_out_duration" "longest" (the longest current
 * exception) and "sum" (seconds; 0 when nobody is out); plugin instance the
 * unit's name as the org names entities. */
typedef void (*gen_adh_put_t)(void *ud, const char *instance, const char *type,
                              const char *type_instance, double value);
void gen_adherence_put(gen_adherence_t *a, const gen_org_t *org, int64_t now_ms,
                       gen_adh_put_t put, void *ud);

void gen_adherence_dispatch_stats(gen_adherence_t *a, const char *host,
                                  const char *plugin);

#endif /* GEN_ADHERENCE_H */
