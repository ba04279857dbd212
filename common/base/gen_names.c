/* SPDX-License-Identifier: MIT */
/* collectd-genesys: media type names and safe names (gen_names.h). */
#include "gen_names.h"

#include "gen_utf8.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *const gen_media_names[GEN_MEDIA_COUNT] = {
    "voice",   "callback", "chat",  "email",
    "message", "cobrowse", "video", "screenshare"};

int gen_name_index(const char *const *names, int n, const char *name) {
  for (int i = 0; name != NULL && i < n; i++)
    if (strcasecmp(name, names[i]) == 0)
      return i;
  return -1;
}

int gen_media_from_name(const char *name) {
  return gen_name_index(gen_media_names, GEN_MEDIA_COUNT, name);
}

void gen_sanitize_name(const char *name, char *out, size_t size) {
  if (size == 0)
    return;
  const unsigned char *p = (const unsigned char *)(name ? name : "");
  size_t left = strlen((const char *)p), n = 0;
  while (left > 0 && n + 1 < size) {
    /* A byte of no valid character (0xff) or a control character (C1 too,
     * U+0085) is one '_': a backend refuses invalid UTF-8 (Prometheus
     * drops the whole target). Valid characters are kept whole or not. */
    size_t k = gen_utf8_char_len(p, left);
    bool keep = k > 1 ? !gen_utf8_is_control(p, k)
                      : k == 1 && ((*p >= 'a' && *p <= 'z') ||
                                   (*p >= 'A' && *p <= 'Z') ||
                                   (*p >= '0' && *p <= '9') || *p == '_' ||
                                   *p == '-' || *p == '.');
    size_t step = k > 0 ? k : 1;
    if (keep && n + k >= size)
      break; /* no room for the whole character */
    if (keep) {
      memcpy(out + n, p, k);
      n += k;
    } else if (n == 0 || out[n - 1] != '_')
      out[n++] = '_';
    p += step;
    left -= step;
  }
  /* Trailing '_' from a cut or from trailing punctuation reads badly. */
  while (n > 1 && out[n - 1] == '_')
    n--;
  out[n] = '\0';
  if (n == 0)
    snprintf(out, size, "unknown");
}

bool gen_id_plain(const char *id, size_t max) {
  size_t n = 0;
  for (; id != NULL && id[n] != '\0'; n++)
    if (!(isalnum((unsigned char)id[n]) || id[n] == '-' || id[n] == '_'))
      return false;
  return n > 0 && n < max;
}
