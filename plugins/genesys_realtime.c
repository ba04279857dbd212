/*
 * collectd-genesys: genesys_realtime, live queue and agent state from the
 * Notifications API WebSocket.
 *
 * Foundation stage (issue #2): each <Org> block is parsed with the shared
 * keys; one read callback per org keeps the OAuth token fresh and reports
 * api_up and the self-metrics. The plugin's own values are issue #4.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "gen_client.h"

#define PLUGIN_NAME "genesys_realtime"

static void *gr_instance_new(gen_client_t *client, void *config) {
  return client;
}

static void gr_instance_free(void *instance) { gen_client_free(instance); }

static int gr_read(user_data_t *ud) {
  gen_client_dispatch_health(ud->data, PLUGIN_NAME);
  return 0;
}

static const gen_plugin_t gr_plugin = {
    .name = PLUGIN_NAME,
    .instance_new = gr_instance_new,
    .instance_free = gr_instance_free,
    .read = gr_read,
};

static int gr_config(oconfig_item_t *ci) {
  return gen_plugin_config(&gr_plugin, ci);
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, gr_config);
  plugin_register_init(PLUGIN_NAME, gen_plugin_init);
}
