/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: the conversation aggregates catalogue of
 * genesys_analytics on gen_aggregates: every metric the conversation
 * aggregates query takes, per queue and media type (one result group), with
 * the named sets the "Metric" key takes besides "all".
 */
#ifndef GEN_CONV_AGG_H
#define GEN_CONV_AGG_H 1

#include "gen_aggregates.h"

/* Bit i of a metric's sets is the catalogue's sets[i]. "default" is what
 * runs without a Metric key (the measures of the first releases); the
 * others add to it. */
enum {
  GEN_CONV_AGG_DEFAULT = 1u << 0,
  GEN_CONV_AGG_VOICE = 1u << 1,
  GEN_CONV_AGG_DIGITAL = 1u << 2,
  GEN_CONV_AGG_OUTBOUND = 1u << 3,
  GEN_CONV_AGG_SUPERVISION = 1u << 4,
};

/* The result groups of the catalogue (gen_agg_metric_t.group): per queue
 * and media type, or per media type of the whole org. */
enum { GEN_CONV_AGG_QUEUE = 0, GEN_CONV_AGG_ORG = 1 };

#define GEN_CONV_AGG_METRICS 84 /* the catalogue's size (checked) */

extern const gen_agg_catalogue_t gen_conv_agg_catalogue;

#endif /* GEN_CONV_AGG_H */
