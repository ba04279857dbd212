/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the metric attribute keys, their ledger, its
 * self-metrics and the names read from events (see gen_attr_config.h).
 */
#include "gen_attr_config.h"

#include "gen_dispatch.h"
#include "gen_json.h"
#include "gen_log.h"

#include <strings.h>

void gen_attr_config_release(gen_attr_config_t *c) {
  free(c->pattern);
  free(c->overflow_name);
  gen_attr_format_free(c->format);
  memset(c, 0, sizeof(*c)); /* as new: its defaults again */
  gen_config_defaults(&gen_attr_keys, c);
}

static int config_groups(const gen_org_t *org, const oconfig_item_t *ci,
                         const gen_config_def_t *def, void *field) {
  long *groups = field;
  if (ci->values_num != 3) {
    gen_config_error(org, ci,
                     "takes three numbers: the groups of the flow name, the "
                     "metric name and the time (0 = none)");
    return -EINVAL;
  }
  for (int i = 0; i < 3; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_NUMBER ||
        ci->values[i].value.number < (i < 2 ? 1 : 0) ||
        ci->values[i].value.number > 9) {
      gen_config_error(org, ci,
                       "group numbers are 1 to 9 (the time group "
                       "may be 0)");
      return -EINVAL;
    }
    groups[i] = (long)ci->values[i].value.number;
  }
  return 0;
}

#define AC gen_attr_config_t
static const gen_config_def_t attr_defs[] = {
    GEN_KEY_STRING("AttributePattern", AC, pattern, "the documented format",
                   "the attribute name format (POSIX extended regex)"),
    GEN_KEY_PARSE("AttributeGroups", GEN_CFG_LIST, AC, groups, config_groups,
                  "1 2 3", "three numbers 1 to 9 (the time's may be 0)",
                  "the pattern's groups of flow name, metric name and time"),
    GEN_KEY_INT("MaxMetricNames", AC, max_series, 1, 1000000, 1000,
                "distinct (flow, metric) series at most"),
    GEN_KEY_STRING("OverflowName", AC, overflow_name, "overflow",
                   "flow and metric name of the names beyond the limit"),
    GEN_KEY_INT("MaxConversations", AC, max_conversations, 100, 100000000,
                200000, "conversations remembered at most"),
    GEN_KEY_INT("MaxAttributesPerConversation", AC, max_names, 1, 1000000, 256,
                "distinct attribute names counted a conversation"),
    GEN_KEY_SECONDS("ConversationTimeout", AC, open_ttl, 60, 30 * 86400, 43200,
                    "a conversation without events is forgotten"),
    GEN_KEY_SECONDS("FinishedConversationTimeout", AC, finished_ttl, 1,
                    30 * 86400, 3600, "the same once the customer has left"),
};
#undef AC

const gen_config_table_t gen_attr_keys = GEN_CONFIG_TABLE(attr_defs);

int gen_attr_config_check(gen_attr_config_t *c, const gen_log_org_t *who) {
  if (c->overflow_name == NULL &&
      (c->overflow_name = strdup("overflow")) == NULL)
    return -ENOMEM;
  if (c->pattern == NULL && c->groups[0] != 0) {
    gen_log_org(who, NULL, LOG_ERR, "AttributeGroups needs AttributePattern");
    return -EINVAL;
  }
  if (c->pattern != NULL && c->groups[0] == 0)
    c->groups[0] = 1, c->groups[1] = 2, c->groups[2] = 3;
  char err[256];
  if (gen_attr_format_create(c->pattern, (int)c->groups[0], (int)c->groups[1],
                             (int)c->groups[2], &c->format, err,
                             sizeof(err)) != 0) {
    gen_log_org(who, NULL, LOG_ERR, "AttributePattern \"%s\": %s", c->pattern,
                err);
    return -EINVAL;
  }
  return 0;
}

gen_attr_ledger_t *gen_attr_config_ledger(const gen_attr_config_t *c,
                                          const char *journal_base,
                                          const gen_log_org_t *who) {
  gen_attr_options_t options = {
      .max_series = (size_t)c->max_series,
      .max_conversations = (size_t)c->max_conversations,
      .max_names = (size_t)c->max_names,
      .open_ttl = c->open_ttl,
      .finished_ttl = c->finished_ttl,
      .overflow_name = c->overflow_name,
      .who = who,
  };
  return gen_attr_ledger_create(c->format, &options, journal_base);
}

void gen_attr_dispatch_stats(gen_attr_ledger_t *ledger, const char *host,
                             const char *plugin) {
  gen_attr_stats_t *a = gen_attr_stats(ledger);
  gen_self_row_t self[] = {
      {"attributes_seen", NULL, true, (double)atomic_load(&a->attributes)},
      {"attributes_counted", NULL, true, (double)atomic_load(&a->counted)},
      {"attribute_names_over_limit", NULL, true,
       (double)atomic_load(&a->over_limit)},
      {"attribute_names_refused", NULL, true, (double)atomic_load(&a->refused)},
      {"attribute_names_invalid", NULL, true, (double)atomic_load(&a->invalid)},
      {"conversations_forgotten", "expired", true,
       (double)atomic_load(&a->expired)},
      {"conversations_forgotten", "evicted", true,
       (double)atomic_load(&a->evicted)},
      {"journal_errors", NULL, true, (double)atomic_load(&a->journal_errors)},
      {"state_refused", "attributes", true,
       (double)atomic_load(&a->state_refused)},
      {"conversations", NULL, false, (double)gen_attr_conversations(ledger)},
      {"attribute_series", NULL, false, (double)gen_attr_series(ledger)},
  };
  gen_dispatch_self_rows(host, plugin, self, STATIC_ARRAY_SIZE(self));
}

void gen_attr_names_of(json_object *attributes, const char **names, size_t *n) {
  if (!json_object_is_type(attributes, json_type_object))
    return;
  json_object_object_foreach(attributes, key, value) {
    (void)value;
    if (*n < GEN_ATTR_EVENT_NAMES)
      names[(*n)++] = key;
  }
}

bool gen_attr_observe_conversation(gen_attr_ledger_t *ledger, json_object *body,
                                   cdtime_t now, gen_attr_counted_cb cb,
                                   void *ud) {
  const char *id = gen_json_get_string(body, "id");
  json_object *participants = gen_json_get_array(body, "participants");
  if (id == NULL || participants == NULL)
    return false;
  const char *names[GEN_ATTR_EVENT_NAMES];
  size_t n = 0;
  bool finished = false;
  size_t len = json_object_array_length(participants);
  for (size_t i = 0; i < len; i++) {
    json_object *p = json_object_array_get_idx(participants, i);
    gen_attr_names_of(gen_json_get_object(p, "attributes"), names, &n);
    const char *purpose = gen_json_get_string(p, "purpose");
    if (purpose != NULL && strcmp(purpose, "customer") == 0 &&
        gen_json_get_string(p, "endTime") != NULL)
      finished = true;
  }
  gen_attr_observe(ledger, id, names, n, finished, now, cb, ud);
  return true;
}
