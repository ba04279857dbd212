/* SPDX-License-Identifier: MIT */
/*
 * collectd-genesys: collectd notifications of the changes an operator acts
 * on (an edge offline and back, a trunk disconnected, a status page
 * component degraded, a notification channel lost and resumed, no access
 * token, a permission refused, a family's answers malformed), so that a
 * fleet alerting through collectd (notify_email, exec's NotificationExec)
 * needs nothing else. Each subject's last state is remembered per org:
 * a notification leaves once per change, not per read; the first
 * observation of a bad state is a change, that of a good state is not.
 * Bounded per subject and per org (a flapping subject, thousands of
 * components at once), what is held back counted. Every plugin raises its
 * notifications here: this is the one limiter.
 * Thread-safe: channel threads and read callbacks call it alike. The
 * notifications, their severities and fields are listed in
 * collectd-genesys(5), "NOTIFICATIONS".
 */
#ifndef GEN_NOTICE_H
#define GEN_NOTICE_H 1

#include "gen_config.h"

/* A subject of org (plugin_instance, type, type_instance; NULL or "" for
 * none) is now in state: 0 is good, any other value a bad state of the
 * caller's (a level). When the state differs from the last one remembered
 * (none remembered counts as good), dispatches a notification: severity
 * (NOTIF_FAILURE or NOTIF_WARNING) for a bad state, NOTIF_OKAY for 0; host
 * the org's (collectd's own without Host), plugin the org's plugin, the
 * names sanitised as values' are; the message 'Org "<name>": ' and format.
 * A change is held back, not sent, when the subject was notified twice
 * within the org's NotificationWindow or the org sent NotificationsPerMinute
 * in the last minute: counted (gen_notices_held), said once in the log, and
 * sent by gen_notices_flush once the limits allow, with the state then;
 * dropped when the subject comes back to the state last said first.
 * Returns 1 when a notification left, 0 when nothing changed or it was
 * held, or a negative code (-ENOMEM: the state is not remembered, the next
 * call tries again). */
int gen_notice(const gen_org_t *org, const char *plugin_instance,
               const char *type, const char *type_instance, int state,
               int severity, const char *format, ...)
    __attribute__((format(printf, 7, 8)));

/* The subject's state as if said: what a caller does not announce (the
 * state a subject is first seen in, when only its changes are news). 0, or
 * -ENOMEM. */
int gen_notice_assume(const gen_org_t *org, const char *plugin_instance,
                      const char *type, const char *type_instance, int state);

/* Sends the org's held changes that the limits now allow (every read:
 * gen_client_dispatch_health). Returns how many left. */
int gen_notices_flush(const gen_org_t *org);
/* Changes held back so far (the self-metric notifications_held_back). */
uint64_t gen_notices_held(const gen_org_t *org);

#endif /* GEN_NOTICE_H */
