/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_realtime's live features, one line each
 * (gen_feature.h). Campaigns before adherence: the order of their topics.
 */
#include "gen_feature.h"

const gen_feature_t *const gen_features[GEN_FEATURES] = {
    &gen_ewt_feature,       &gen_agent_groups_feature, &gen_campaigns_feature,
    &gen_adherence_feature, &gen_workitems_feature,
};

void gen_feature_put_under(void *ud, const char *type,
                           const char *type_instance, double value,
                           bool derive) {
  (void)derive; /* what the rows put this way are gauges */
  const gen_feature_sink_t *s = ud;
  s->put(s->ud, s->instance, type, type_instance, value);
}
