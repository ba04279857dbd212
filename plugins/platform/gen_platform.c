/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: telephony and platform health documents (see
 * gen_platform.h).
 */
#include "gen_platform.h"
#include "gen_json.h"
#include "gen_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A JSON boolean member: 1, 0, or -1 when absent or of another type. */
static int get_bool(json_object *obj, const char *key) {
  json_object *v;
  if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_boolean))
    return -1;
  return json_object_get_boolean(v) ? 1 : 0;
}

/* An id that goes into a query string as it is: letters, digits, '-', '_'
 * and '.' (Genesys ids are UUIDs), at most 64 bytes. */
static bool id_ok(const char *id) {
  size_t n = 0;
  for (; id != NULL && id[n] != '\0'; n++) {
    char c = id[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return n > 0 && n <= 64;
}

/* Edge.statusCode as the SDKs list it (python models/edge.py; INITIALIZING
 * in later versions). */
static const char *const edge_codes[] = {"NEW",
                                         "AWAITING_CONNECTION",
                                         "AWAITING_FINGERPRINT",
                                         "AWAITING_FINGERPRINT_VERIFICATION",
                                         "FINGERPRINT_VERIFIED",
                                         "AWAITING_BOOTSTRAP",
                                         "ACTIVE",
                                         "INACTIVE",
                                         "RMA",
                                         "UNPAIRING",
                                         "UNPAIRED",
                                         "INITIALIZING",
                                         NULL};

static bool known_word(const char *const *words, const char *word) {
  for (; *words != NULL; words++)
    if (strcasecmp(*words, word) == 0)
      return true;
  return false;
}

int gen_pf_edge_read(json_object *entity, gen_pf_edge_t *out) {
  memset(out, 0, sizeof(*out));
  out->id = gen_json_get_string(entity, "id");
  if (!id_ok(out->id))
    return -EINVAL;
  out->name = gen_json_get_string(entity, "name");
  out->deployment = gen_json_get_string(entity, "edgeDeploymentType");
  const char *online = gen_json_get_string(entity, "onlineStatus");
  out->online = online == NULL                       ? -1
                : strcasecmp(online, "ONLINE") == 0  ? 1
                : strcasecmp(online, "OFFLINE") == 0 ? 0
                                                     : -1;
  if (online != NULL && out->online < 0)
    out->unknown_online = online;
  const char *code = gen_json_get_string(entity, "statusCode");
  out->active = code == NULL ? -1 : strcasecmp(code, "ACTIVE") == 0 ? 1 : 0;
  if (code != NULL && !known_word(edge_codes, code))
    out->unknown_code = code;
  return 0;
}

int gen_pf_trunk_read(json_object *entity, gen_pf_trunk_t *out) {
  memset(out, 0, sizeof(*out));
  out->id = gen_json_get_string(entity, "id");
  if (!id_ok(out->id))
    return -EINVAL;
  out->name = gen_json_get_string(entity, "name");
  out->connected =
      get_bool(gen_json_get_object(entity, "connectedStatus"), "connected");
  out->in_service = get_bool(entity, "inService");
  out->type = gen_json_get_string(entity, "trunkType");
  out->enabled = get_bool(entity, "enabled");
  return 0;
}

/* The entries of a metrics document in each form (see the header); NULL
 * when it has none. *single is set for one object alone. */
static json_object *metrics_entries(json_object *doc, const char *ref,
                                    json_object **single) {
  *single = NULL;
  if (json_object_is_type(doc, json_type_array))
    return doc;
  if (!json_object_is_type(doc, json_type_object))
    return NULL;
  json_object *entities = gen_json_get_array(doc, "entities");
  if (entities != NULL)
    return entities;
  if (gen_json_get_object(doc, ref) != NULL)
    *single = doc;
  return NULL;
}

typedef void (*entry_fn)(json_object *entry, const char *id, gen_pf_put_t put,
                         void *ud, size_t *skipped);

/* True when entry e is current by its eventTime (see gen_pf_age_t). */
static bool current(json_object *e, gen_pf_age_t *age, size_t *skipped) {
  const char *when = gen_json_get_string(e, "eventTime");
  int64_t ms;
  if (age == NULL || when == NULL)
    return true;
  if (gen_time_parse(when, &ms) != 0) {
    (*skipped)++;
    return false;
  }
  if (age->now_ms - ms > age->max_age_ms) {
    age->stale++;
    return false;
  }
  return true;
}

static int metrics_read(json_object *doc, const char *ref, entry_fn fn,
                        gen_pf_age_t *age, gen_pf_put_t put, void *ud,
                        size_t *skipped) {
  *skipped = 0;
  json_object *single;
  json_object *entries = metrics_entries(doc, ref, &single);
  if (entries == NULL && single == NULL)
    return -EINVAL;
  size_t n = single ? 1 : json_object_array_length(entries);
  for (size_t i = 0; i < n; i++) {
    json_object *e = single ? single : json_object_array_get_idx(entries, i);
    const char *id = gen_json_get_string(gen_json_get_object(e, ref), "id");
    if (id == NULL || id[0] == '\0') {
      (*skipped)++;
      continue;
    }
    if (current(e, age, skipped))
      fn(e, id, put, ud, skipped);
  }
  return 0;
}

/* Per named part (memory type, partition): used and available bytes. */
static void put_space(json_object *list, const char *key, const char *fallback,
                      const char *id, const char *used_type,
                      const char *available_type, gen_pf_put_t put, void *ud,
                      size_t *skipped) {
  if (list == NULL)
    return;
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *m = json_object_array_get_idx(list, i);
    double total, available;
    const char *name = gen_json_get_string(m, key);
    if (!gen_json_get_double(m, "totalBytes", &total) ||
        !gen_json_get_double(m, "availableBytes", &available) || total < 0 ||
        available < 0 || available > total) {
      (*skipped)++;
      continue;
    }
    if (name == NULL || name[0] == '\0')
      name = fallback;
    put(ud, id, used_type, name, total - available);
    put(ud, id, available_type, name, available);
  }
}

static void edge_entry(json_object *e, const char *id, gen_pf_put_t put,
                       void *ud, size_t *skipped) {
  json_object *cpus = gen_json_get_array(e, "processors");
  for (size_t i = 0; cpus != NULL && i < json_object_array_length(cpus); i++) {
    json_object *p = json_object_array_get_idx(cpus, i);
    const char *cpu = gen_json_get_string(p, "cpuId");
    if (cpu == NULL || strcasecmp(cpu, "total") != 0)
      continue;
    double pct, idle;
    bool have = gen_json_get_double(p, "activeTimePct", &pct);
    if (!have && gen_json_get_double(p, "idleTimePct", &idle)) {
      pct = 100 - idle;
      have = true;
    }
    if (have && pct >= 0 && pct <= 100)
      put(ud, id, "edge_cpu_active", NULL, pct);
    else
      (*skipped)++;
    break;
  }
  put_space(gen_json_get_array(e, "memory"), "type", "memory", id,
            "edge_memory_used", "edge_memory_available", put, ud, skipped);
  put_space(gen_json_get_array(e, "disks"), "partitionName", "disk", id,
            "edge_disk_used", "edge_disk_available", put, ud, skipped);
  int64_t up;
  if (gen_json_get_int64(e, "upTimeMsec", &up) && up >= 0)
    put(ud, id, "edge_uptime", NULL, (double)up / 1000.0);
}

static void trunk_entry(json_object *e, const char *id, gen_pf_put_t put,
                        void *ud, size_t *skipped) {
  json_object *calls = gen_json_get_object(e, "calls");
  static const struct {
    const char *key, *instance;
  } dir[] = {{"inboundCallCount", "inbound"},
             {"outboundCallCount", "outbound"}};
  if (calls == NULL) {
    (*skipped)++;
    return;
  }
  for (size_t i = 0; i < sizeof(dir) / sizeof(dir[0]); i++) {
    int64_t n;
    if (gen_json_get_int64(calls, dir[i].key, &n) && n >= 0)
      put(ud, id, "trunk_calls", dir[i].instance, (double)n);
    else
      (*skipped)++;
  }
}

int gen_pf_edge_metrics_read(json_object *doc, gen_pf_age_t *age,
                             gen_pf_put_t put, void *ud, size_t *skipped) {
  return metrics_read(doc, "edge", edge_entry, age, put, ud, skipped);
}

int gen_pf_trunk_metrics_read(json_object *doc, gen_pf_age_t *age,
                              gen_pf_put_t put, void *ud, size_t *skipped) {
  return metrics_read(doc, "trunk", trunk_entry, age, put, ud, skipped);
}

static const char *const levels[] = {"operational", "under_maintenance",
                                     "degraded_performance", "partial_outage",
                                     "major_outage"};

int gen_pf_status_level(const char *status) {
  for (size_t i = 0; status != NULL && i < sizeof(levels) / sizeof(levels[0]);
       i++)
    if (strcmp(status, levels[i]) == 0)
      return (int)i;
  return -1;
}

/* True when the array holds the string s. */
static bool lists(json_object *array, const char *s) {
  for (size_t i = 0; array != NULL && i < json_object_array_length(array);
       i++) {
    json_object *v = json_object_array_get_idx(array, i);
    if (json_object_is_type(v, json_type_string) &&
        strcmp(json_object_get_string(v), s) == 0)
      return true;
  }
  return false;
}

/* The name of component c's group, "" when none: the group of its
 * group_id, else the group that lists its id (Statuspage gives both). */
static const char *group_name(json_object *list, json_object *c) {
  const char *group_id = gen_json_get_string(c, "group_id");
  const char *own = gen_json_get_string(c, "id");
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *g = json_object_array_get_idx(list, i);
    const char *id = gen_json_get_string(g, "id");
    const char *name = gen_json_get_string(g, "name");
    if (id == NULL || name == NULL)
      continue;
    if (group_id != NULL ? strcmp(id, group_id) == 0
                         : own != NULL && get_bool(g, "group") == 1 &&
                               lists(gen_json_get_array(g, "components"), own))
      return name;
  }
  return "";
}

int gen_pf_status_read(json_object *doc, gen_pf_component_t fn, void *ud,
                       const gen_unknown_sink_t *sink, size_t *unknown,
                       size_t *skipped) {
  *unknown = *skipped = 0;
  json_object *list = gen_json_get_array(doc, "components");
  if (list == NULL)
    return -EINVAL;
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *c = json_object_array_get_idx(list, i);
    if (get_bool(c, "group") == 1)
      continue;
    const char *name = gen_json_get_string(c, "name");
    const char *status = gen_json_get_string(c, "status");
    if (name == NULL || name[0] == '\0' || status == NULL) {
      (*skipped)++;
      continue;
    }
    int level = gen_pf_status_level(status);
    if (level < 0) { /* that component alone */
      (*unknown)++;
      gen_unknown_note(sink, "status", status);
      continue;
    }
    fn(ud, group_name(list, c), name, level);
  }
  return 0;
}

/* The region display names of Genesys Cloud (public client code; README,
 * Telephony and platform health), as status page group patterns. */
static const struct {
  const char *domain, *group;
} region_groups[] = {
    {"mypurecloud.com", "Americas (US East)"},
    {"use2.us-gov-pure.cloud", "Americas (US East 2)"},
    {"usw2.pure.cloud", "Americas (US West)"},
    {"cac1.pure.cloud", "Americas (Canada)"},
    {"sae1.pure.cloud", "Americas (S*o Paulo)"}, /* São or Sao */
    {"mypurecloud.ie", "EMEA (Dublin)"},
    {"euw2.pure.cloud", "EMEA (London)"},
    {"mypurecloud.de", "EMEA (Frankfurt)"},
    {"aps1.pure.cloud", "Asia Pacific (Mumbai)"},
    {"apne2.pure.cloud", "Asia Pacific (Seoul)"},
    {"mypurecloud.com.au", "Asia Pacific (Sydney)"},
    {"mypurecloud.jp", "Asia Pacific (Tokyo)"},
    {"mxc1.pure.cloud", "Americas (Mexico*)"},
    {"euc2.pure.cloud", "EMEA (Zurich)"},
    {"mec1.pure.cloud", "* (UAE)"}, /* EMEA (UAE) or Middle East (UAE) */
    {"apne3.pure.cloud", "Asia Pacific (Osaka)"},
    /* no Genesys display name in the record: AWS's name of the region, and
     * the sovereign cloud's word */
    {"apse1.pure.cloud", "Asia Pacific (Singapore)"},
    {"edee1.eusc-pure.cloud", "*Sovereign*"},
};

const char *gen_pf_region_group(const char *domain_or_url) {
  if (domain_or_url == NULL)
    return NULL;
  const char *host = strstr(domain_or_url, "//");
  host = host != NULL ? host + 2 : domain_or_url;
  if (strncasecmp(host, "api.", 4) == 0)
    host += 4;
  size_t n = strcspn(host, ":/");
  for (size_t i = 0; i < sizeof(region_groups) / sizeof(region_groups[0]); i++)
    if (strlen(region_groups[i].domain) == n &&
        strncasecmp(host, region_groups[i].domain, n) == 0)
      return region_groups[i].group;
  return NULL;
}

void gen_pf_component_label(const char *group, const char *name, char *out,
                            size_t size) {
  if (group != NULL && group[0] != '\0')
    snprintf(out, size, "%s-%s", group, name);
  else
    snprintf(out, size, "%s", name);
}
