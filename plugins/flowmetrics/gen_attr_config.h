/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: what a plugin needs to count metric attributes
 * (gen_attr): the configuration keys (AttributePattern, AttributeGroups,
 * MaxMetricNames, OverflowName, MaxConversations,
 * MaxAttributesPerConversation, ConversationTimeout,
 * FinishedConversationTimeout) and their checks, the ledger made from them,
 * its self-metrics, and the attribute names read from events.
 */
#ifndef GEN_ATTR_CONFIG_H
#define GEN_ATTR_CONFIG_H 1

#include "gen_attr.h"
#include "gen_config.h"

typedef struct {
  char *pattern;             /* AttributePattern; NULL = the default format */
  long groups[3];            /* flow, metric, time; 0 = unset */
  long max_series;           /* MaxMetricNames */
  char *overflow_name;       /* NULL = "overflow" */
  long max_conversations;    /* MaxConversations */
  long max_names;            /* MaxAttributesPerConversation */
  cdtime_t open_ttl;         /* ConversationTimeout */
  cdtime_t finished_ttl;     /* FinishedConversationTimeout */
  gen_attr_format_t *format; /* compiled by gen_attr_config_check */
} gen_attr_config_t;

/* Frees what c holds (the format too: free the ledger first). */
void gen_attr_config_release(gen_attr_config_t *c);

/* The keys above (gen_config_table_key). */
extern const gen_config_table_t gen_attr_keys;

/* Checks the keys together and compiles the format: AttributeGroups needs
 * AttributePattern, which takes groups 1, 2 and 3 when none are given. Logs
 * with who and returns a negative errno when it cannot work. */
int gen_attr_config_check(gen_attr_config_t *c, const gen_log_org_t *who);

/* The ledger of c (checked), journalled at journal_base (NULL: none); c is
 * borrowed for the ledger's life. NULL when out of memory. */
gen_attr_ledger_t *gen_attr_config_ledger(const gen_attr_config_t *c,
                                          const char *journal_base,
                                          const gen_log_org_t *who);

/* The ledger's self-metrics (plugin_instance "self"): attributes_seen,
 * attributes_counted, attribute_names_over_limit, attribute_names_refused,
 * attribute_names_invalid,
 * conversations_forgotten (expired, evicted), conversations,
 * attribute_series, journal_errors. */
void gen_attr_dispatch_stats(gen_attr_ledger_t *ledger, const char *host,
                             const char *plugin);

/* Most attribute names read from one event (participant data is small). */
#define GEN_ATTR_EVENT_NAMES 1024

/* Appends the names of an attributes object ({"name": value, …}; anything
 * else has none) to names[*n…], up to GEN_ATTR_EVENT_NAMES in all. They
 * point into the object. */
void gen_attr_names_of(json_object *attributes, const char **names, size_t *n);

/* A conversation event ({id, participants: [{purpose, endTime, attributes},
 * …]}, the body of v2.routing.queues.{id}.conversations): the attribute
 * names of every participant (flows set them on the customer), observed in
 * the ledger; the conversation is over once its customer has an endTime.
 * False when body is not such an event (no id or participants). */
bool gen_attr_observe_conversation(gen_attr_ledger_t *ledger, json_object *body,
                                   cdtime_t now, gen_attr_counted_cb cb,
                                   void *ud);

#endif /* GEN_ATTR_CONFIG_H */
