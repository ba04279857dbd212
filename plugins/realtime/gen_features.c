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

bool gen_features_at(void *const *f, const gen_feature_ctx_t *ctx,
                     cdtime_t now) {
  bool any = false;
  GEN_EACH_FEATURE(f, at, i)
  any |= gen_features[i]->at(f[i], ctx, now);
  return any;
}

void gen_features_observe(void *f, const char *instance, const char *type,
                          const char *type_instance, double value, cdtime_t t) {
  void *const *s = f;
  GEN_EACH_FEATURE(s, observe, i)
  gen_features[i]->observe(s[i], instance, type, type_instance, value, t);
}

bool gen_features_live(void *const *f, const char *queue_id, int media,
                       gen_conv_moment_t moment, int64_t at_ms,
                       int64_t now_ms) {
  GEN_EACH_FEATURE(f, live, i)
  if (!gen_features[i]->live(f[i], queue_id, media, moment, at_ms, now_ms))
    return false;
  return true;
}

void gen_features_gap(void *const *f, char *const *topics, size_t n, bool lost,
                      int64_t now_ms) {
  GEN_EACH_FEATURE(f, gap, i)
  gen_features[i]->gap(f[i], topics, n, lost, now_ms);
}
