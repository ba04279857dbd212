/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: media types as Genesys spells them, one table for every
 * plugin and parser (queue observations, conversation events, aggregates,
 * the MediaType option). The index of a name is its gen_media_t; a set of
 * media types is a bitmask of 1u << index. Also names made safe for
 * collectd identifiers, series and file names (gen_sanitize_name).
 */
#ifndef GEN_NAMES_H
#define GEN_NAMES_H 1

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  GEN_MEDIA_VOICE = 0,
  GEN_MEDIA_CALLBACK,
  GEN_MEDIA_CHAT,
  GEN_MEDIA_EMAIL,
  GEN_MEDIA_MESSAGE,
  GEN_MEDIA_COBROWSE,
  GEN_MEDIA_VIDEO,
  GEN_MEDIA_SCREENSHARE,
  GEN_MEDIA_COUNT
} gen_media_t;

/* Every media type. */
#define GEN_MEDIA_ALL ((1u << GEN_MEDIA_COUNT) - 1u)

/* "voice", "callback", … "screenshare": the API's mediaType values and our
 * type instances. */
extern const char *const gen_media_names[GEN_MEDIA_COUNT];

/* The index of name among the n names (ASCII case ignored), or -1 (name
 * NULL too). */
int gen_name_index(const char *const *names, int n, const char *name);
/* The media type a name spells (ASCII case ignored), or -1. */
int gen_media_from_name(const char *name);

/* Writes name into out (size bytes) in a form every backend keeps as one
 * segment: letters, digits, '_', '-', '.' and valid UTF-8 characters stay;
 * anything else (white space, '/', quotes, control characters C0, DEL and
 * C1, bytes of no valid UTF-8 character) becomes '_', runs of '_' fold into
 * one. The result is never empty ("unknown"), always valid UTF-8, and is
 * cut on a character boundary. */
void gen_sanitize_name(const char *name, char *out, size_t size);

/* Whether id (an id an answer gave) goes into a URL path as it is: 1 to
 * max - 1 characters, each a letter, a digit, '-' or '_' (Genesys' ids are
 * UUIDs); anything else could change the route asked. */
bool gen_id_plain(const char *id, size_t max);

#endif /* GEN_NAMES_H */
