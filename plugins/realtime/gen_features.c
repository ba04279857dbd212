/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: genesys_realtime's live features, one line each
 * (gen_feature.h). Campaigns before adherence: the order of their topics;
 * the summaries' self-metrics before gap repair's, which runs first.
 */
#include "gen_feature.h"

const gen_feature_t *const gen_features[GEN_FEATURES] = {
    &gen_summary_feature,      &gen_conv_repair_feature, &gen_ewt_feature,
    &gen_agent_groups_feature, &gen_campaigns_feature,   &gen_adherence_feature,
    &gen_workitems_feature,
};
