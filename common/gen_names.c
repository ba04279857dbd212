/* SPDX-License-Identifier: MIT */
/* collectd-genesys: media type names and safe names (gen_names.h). */
#include "gen_names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
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

void gen_sanitize_name(const char *name, char *out, size_t size) {
  if (size == 0)
    return;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)(name ? name : "");
       *p != '\0' && n + 1 < size; p++) {
    unsigned char c = *p;
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
                c >= 0x80;
    char o = keep ? (char)c : '_';
    if (o == '_' && n > 0 && out[n - 1] == '_')
      continue;
    out[n++] = o;
  }
  /* Never end inside a UTF-8 sequence: drop a cut lead byte and its tail. */
  if (n > 0 && ((unsigned char)out[n - 1] & 0x80)) {
    size_t start = n;
    while (start > 0 && ((unsigned char)out[start - 1] & 0xC0) == 0x80)
      start--;
    if (start > 0 && ((unsigned char)out[start - 1] & 0xC0) == 0xC0) {
      unsigned char lead = (unsigned char)out[start - 1];
      size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (n - (start - 1) < want)
        n = start - 1;
    }
  }
  /* Trailing '_' from a cut or from trailing punctuation reads badly. */
  while (n > 1 && out[n - 1] == '_')
    n--;
  out[n] = '\0';
  if (n == 0)
    snprintf(out, size, "unknown");
}
