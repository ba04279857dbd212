/* SPDX-License-Identifier: MIT */
/* collectd-genesys: media type names (gen_names.h). */
#include "gen_names.h"

#include <stddef.h>
#include <strings.h>

const char *const gen_media_names[GEN_MEDIA_COUNT] = {
    "voice",   "callback", "chat",  "email",
    "message", "cobrowse", "video", "screenshare"};

int gen_media_from_name(const char *name) {
  for (int m = 0; name != NULL && m < GEN_MEDIA_COUNT; m++)
    if (strcasecmp(name, gen_media_names[m]) == 0)
      return m;
  return -1;
}
