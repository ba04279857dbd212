/* SPDX-License-Identifier: MIT */
/* collectd-genesys: the plugin framework (see gen_plugin.h). */
#include "gen_plugin.h"
#include "gen_dispatch.h"
#include "gen_log.h"
#include "gen_standby.h"

#include <curl/curl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Labels and hosts of the orgs accepted so far in one <Plugin> block: two
 * orgs with the same host would write into the same series. */
typedef struct {
  char names[64][DATA_MAX_NAME_LEN];
  char hosts[64][DATA_MAX_NAME_LEN];
  size_t count;
} seen_orgs_t;

static int check_unique(const gen_plugin_t *plugin, const gen_org_t *org,
                        seen_orgs_t *seen) {
  char host[DATA_MAX_NAME_LEN];
  gen_sanitize_name(org->host ? org->host : hostname_g, host, sizeof(host));
  for (size_t i = 0; i < seen->count; i++) {
    if (strcmp(seen->names[i], org->name) == 0) {
      gen_org_log(org, NULL, LOG_ERR,
                  " is configured twice; the second block is ignored");
      return -EEXIST;
    }
    if (strcmp(seen->hosts[i], host) == 0) {
      gen_org_log(org, NULL, LOG_ERR,
                  "Host \"%s\" is already the host of "
                  "Org \"%s\"; give each org its own Host so their values do "
                  "not mix; the block is ignored",
                  host, seen->names[i]);
      return -EEXIST;
    }
  }
  if (seen->count >= STATIC_ARRAY_SIZE(seen->names)) {
    GEN_ERROR("%s plugin: more than %zu orgs in one block; Org \"%s\" is "
              "ignored",
              plugin->name, STATIC_ARRAY_SIZE(seen->names), org->name);
    return -E2BIG;
  }
  sstrncpy(seen->names[seen->count], org->name, DATA_MAX_NAME_LEN);
  sstrncpy(seen->hosts[seen->count], host, DATA_MAX_NAME_LEN);
  seen->count++;
  return 0;
}

/* An instance's read callback: the plugin's, unless its client's API
 * answered a retryable failure and the retry is not due yet. */
typedef struct {
  const gen_plugin_t *plugin;
  void *instance; /* NULL while standing by */
  /* With StandbyEtcd: the <Org> block, parsed again at each take-over (an
   * instance is built only while this agent holds the org's shard). */
  oconfig_item_t *block;
  gen_standby_t *standby;
} plugin_read_t;

/* The instance of one <Org> block: org and config as parsed from ci
 * (NULL: parsed here, at a take-over), its client made. NULL on failure
 * (logged). */
static void *build(const gen_plugin_t *plugin, const oconfig_item_t *ci,
                   gen_org_t *org, void *config) {
  if (org == NULL && (config = gen_plugin_config_new(plugin)) != NULL)
    org = gen_config_org_block(plugin->name, ci, plugin->org_key, config);
  gen_client_t *client = org != NULL ? gen_client_create(org) : NULL;
  if (client == NULL) {
    gen_plugin_config_free(plugin, config);
    return NULL;
  }
  /* A failing API makes the read skip itself until its retry is due, not
   * sleep in one of collectd's few read threads: its http handle (also one
   * made later by gen_client_borrow_auth) retries without sleeping. */
  client->defer = true;
  gen_http_defer_retries(client->http, true);
  return gen_plugin_instance_new(plugin, client, config);
}

/* With a standby: the instance is built when this agent takes the shard
 * (from the state the last holder left in etcd) and freed when it loses
 * it. True when there is an instance to read, the state watched. */
static bool standby_ready(plugin_read_t *r) {
  gen_standby_dispatch_self(r->standby);
  bool holding = gen_standby_holding(r->standby);
  if (!holding && r->instance != NULL) {
    r->plugin->instance_free(r->instance);
    r->instance = NULL;
    gen_standby_released(r->standby);
  }
  if (!holding)
    return false;
  bool take = r->instance == NULL;
  if (!gen_standby_watch_begin(r->standby, take))
    return false; /* the last holder's state: again at the next read */
  if (take)
    r->instance = build(r->plugin, r->block, NULL, NULL);
  if (r->instance == NULL)
    gen_standby_watch_end(r->standby);
  return r->instance != NULL;
}

static int plugin_read(user_data_t *ud) {
  plugin_read_t *r = ud->data;
  if (r->standby != NULL && !standby_ready(r))
    return 0;
  gen_client_t *client =
      *(gen_client_t **)((char *)r->instance + r->plugin->client_offset);
  int status = 0;
  if (gen_http_resting(client->http, NULL)) {
    /* The error was logged by the read that met it; the health values
     * still go out at every interval. */
    gen_client_dispatch_health(client, r->plugin->name);
  } else {
    status = r->plugin->read(&(user_data_t){.data = r->instance});
    /* client->http read again: the read may have swapped the handle
     * (gen_client_borrow_auth). */
    gen_http_release(client->http);
  }
  if (r->standby != NULL) {
    gen_standby_watch_end(r->standby);
    gen_standby_sync(r->standby, false);
  }
  return status;
}

static void plugin_read_free(void *data) {
  plugin_read_t *r = data;
  if (r->instance != NULL) {
    if (r->standby != NULL)
      gen_standby_watch_begin(r->standby, false);
    r->plugin->instance_free(r->instance);
    if (r->standby != NULL) {
      gen_standby_watch_end(r->standby);
      /* the state written at shutdown goes with the lease */
      if (gen_standby_holding(r->standby))
        gen_standby_sync(r->standby, true);
    }
  }
  gen_standby_stop(r->standby);
  if (r->block != NULL)
    oconfig_free(r->block);
  free(r);
}

void *gen_plugin_config_new(const gen_plugin_t *plugin) {
  void *config = calloc(1, plugin->config_size ? plugin->config_size : 1);
  if (config != NULL && plugin->config_init != NULL)
    plugin->config_init(config);
  return config;
}

void gen_plugin_config_free(const gen_plugin_t *plugin, void *config) {
  if (config == NULL)
    return;
  if (plugin->config_release != NULL)
    plugin->config_release(config);
  free(config);
}

void *gen_plugin_instance_new(const gen_plugin_t *plugin, gen_client_t *client,
                              void *config) {
  char *instance = calloc(1, plugin->instance_size);
  if (instance == NULL) {
    gen_client_free(client);
    gen_plugin_config_free(plugin, config);
    return NULL;
  }
  memcpy(instance + plugin->client_offset, &client, sizeof(client));
  /* The struct moves, what it points to stays: only the holder is freed. */
  memcpy(instance + plugin->config_offset, config, plugin->config_size);
  free(config);
  if (plugin->instance_init != NULL && plugin->instance_init(instance) != 0) {
    plugin->instance_free(instance);
    return NULL;
  }
  return instance;
}

void gen_plugin_keys(const gen_plugin_t *plugin,
                     void (*each)(const gen_config_def_t *def, void *ud),
                     void *ud) {
  for (size_t i = 0; i < gen_org_keys.n; i++)
    each(&gen_org_keys.defs[i], ud);
  for (size_t p = 0; p < plugin->n_keys; p++)
    for (size_t i = 0; i < plugin->keys[p].table->n; i++)
      each(&plugin->keys[p].table->defs[i], ud);
}

static int plugin_config_org(const gen_plugin_t *plugin,
                             const oconfig_item_t *ci, seen_orgs_t *seen) {
  void *config = gen_plugin_config_new(plugin);
  if (config == NULL)
    return -ENOMEM;
  gen_org_t *org =
      gen_config_org_block(plugin->name, ci, plugin->org_key, config);
  int status =
      org == NULL || check_unique(plugin, org, seen) != 0 ? -EINVAL : 0;
  if (status == 0 && org->standby_etcd_n > 0 && org->host == NULL) {
    gen_org_log(org, NULL, LOG_ERR,
                "StandbyEtcd needs Host: both agents must write the org's "
                "values under one host name; the block is ignored");
    status = -EINVAL;
  }
  plugin_read_t *r = status == 0 ? calloc(1, sizeof(*r)) : NULL;
  if (status != 0 || r == NULL) {
    gen_org_free(org);
    gen_plugin_config_free(plugin, config);
    return status != 0 ? status : -ENOMEM;
  }
  char name[256];
  snprintf(name, sizeof(name), "%s/%s", plugin->name, org->name);
  r->plugin = plugin;
  if (org->standby_etcd_n > 0) {
    /* Checked now, built at the take-over: the block is kept. */
    r->block = oconfig_clone(ci);
    r->standby = r->block != NULL ? gen_standby_start(org, plugin->name) : NULL;
    gen_org_free(org);
    gen_plugin_config_free(plugin, config);
    if (r->standby == NULL) {
      plugin_read_free(r);
      return -ENOMEM;
    }
  } else if ((r->instance = build(plugin, ci, org, config)) == NULL) {
    free(r);
    return -EINVAL;
  }
  return plugin_register_complex_read(
      NULL, name, plugin_read, 0,
      &(user_data_t){.data = r, .free_func = plugin_read_free});
}

/* libcurl's allocator: every block is wiped before it is freed, so the
 * request buffers that held an Authorization header (Basic credentials, a
 * Bearer token) leave no copy in freed heap, and so in core dumps. */
/* cap_arenas(): two, not one, so that collectd's write threads and ours
 * do not all wait on one lock. */
#define GEN_ARENA_MAX 2

static atomic_uint_fast64_t curl_frees;

static void wipe_free(void *p) {
  if (p == NULL)
    return;
  explicit_bzero(p, malloc_usable_size(p));
  atomic_fetch_add(&curl_frees, 1);
  free(p);
}

static void *wipe_realloc(void *p, size_t size) {
  if (p == NULL)
    return malloc(size);
  size_t had = malloc_usable_size(p);
  if (size <= had)
    return p; /* the tail past size stays inside the block */
  void *q = malloc(size);
  if (q == NULL)
    return NULL;
  memcpy(q, p, had);
  wipe_free(p);
  return q;
}

/* libcurl takes the allocator only if nothing has initialised it yet (or
 * created a handle): our <Org> blocks create handles, so this runs before
 * the first, at the first configuration block. collectd's curl plugins,
 * loaded before ours, may have initialised it first: then it is said once,
 * and libcurl's buffers are freed without being wiped. */
static void curl_init_wiping(void) {
  if (curl_global_init_mem(CURL_GLOBAL_SSL, malloc, wipe_free, wipe_realloc,
                           strdup, calloc) != CURLE_OK)
    return; /* gen_plugin_init reports it */
  uint_fast64_t before = atomic_load(&curl_frees);
  curl_easy_cleanup(curl_easy_init());
  if (atomic_load(&curl_frees) == before)
    GEN_INFO("genesys plugins: libcurl was initialised before the genesys "
             "plugins (another plugin loaded first): its request buffers are "
             "freed without being wiped (see SECRETS IN MEMORY in "
             "collectd-genesys(5))");
}

/* glibc gives each thread that allocates an arena of its own (up to eight a
 * core), and what a thread's bursts freed stays in its arena between the
 * objects still alive there: at 5,000 queues the channel threads' arenas
 * held about half of the plugins' RSS free (issue 36). Capped for the whole
 * daemon at the first configuration block, before collectd starts its
 * threads, unless the operator chose a cap (glibc reads MALLOC_ARENA_MAX
 * and GLIBC_TUNABLES itself). */
bool gen_plugin_arenas_chosen(const char *malloc_arena_max,
                              const char *glibc_tunables) {
  return malloc_arena_max != NULL ||
         (glibc_tunables != NULL &&
          strstr(glibc_tunables, "glibc.malloc.arena_max=") != NULL);
}

static void cap_arenas(void) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  if (gen_plugin_arenas_chosen(getenv("MALLOC_ARENA_MAX"),
                               getenv("GLIBC_TUNABLES")))
    return;
  if (mallopt(M_ARENA_MAX, GEN_ARENA_MAX) == 1)
    GEN_INFO("genesys plugins: glibc's malloc arenas capped at %d for the "
             "daemon (MALLOC_ARENA_MAX in collectd's environment chooses "
             "another; see MEMORY in collectd-genesys(5))",
             GEN_ARENA_MAX);
#endif
}

static void process_init(void) {
  cap_arenas();
  curl_init_wiping();
}

/* The blocks of a <Plugin genesys_*> block: <Org> alone. */
typedef struct {
  const gen_plugin_t *plugin;
  seen_orgs_t *seen;
} plugin_block_t;

static int org_block(const gen_org_t *org, const oconfig_item_t *ci,
                     const gen_config_def_t *def, void *field) {
  plugin_block_t *block = field;
  return plugin_config_org(block->plugin, ci, block->seen) != 0 ? -EINVAL : 0;
}

static const gen_config_def_t plugin_defs[] = {
    {"Org", GEN_CFG_BLOCK, 0, .doc = "one org: its client, keys and reads",
     .parse = org_block},
};
static const gen_config_table_t plugin_blocks = GEN_CONFIG_TABLE(plugin_defs);

int gen_plugin_config(const gen_plugin_t *plugin, oconfig_item_t *ci) {
  static pthread_once_t process_once = PTHREAD_ONCE_INIT;
  pthread_once(&process_once, process_init);
  int errors = 0;
  /* The plugin's interval, for values its own threads dispatch later. */
  gen_dispatch_learn_interval(plugin->name);
  seen_orgs_t *seen = calloc(1, sizeof(*seen));
  if (seen == NULL)
    return -ENOMEM;
  plugin_block_t block = {plugin, seen};
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *child = &ci->children[i];
    int status = gen_config_table_key(NULL, child, &plugin_blocks, &block);
    if (status == GEN_CONFIG_NOT_MINE)
      GEN_ERROR("%s plugin: unknown option \"%s\" (expected <Org \"name\"> "
                "blocks)",
                plugin->name, child->key);
    if (status != 0)
      errors++;
  }
  free(seen);
  /* A refused block has been logged with its key and reason. Returning an
   * error here would make collectd refuse the whole configuration and stop,
   * taking every other plugin down with it: the block is refused, collectd
   * and the other plugins keep running. */
  if (errors > 0)
    GEN_ERROR("%s plugin: %d configuration error(s); the refused blocks are "
              "not collected",
              plugin->name, errors);
  return 0;
}

int gen_plugin_init(void) {
  CURLcode rc = curl_global_init(CURL_GLOBAL_SSL);
  if (rc != CURLE_OK) {
    GEN_ERROR("genesys plugins: curl_global_init failed: %s",
              curl_easy_strerror(rc));
    return -1;
  }
  return 0;
}
