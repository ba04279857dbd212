/* SPDX-License-Identifier: MIT */
/* Unit tests: the receiver's configuration keys (defaults, bounds, a build
 * without libmicrohttpd), their checks and the secret, the receiver started
 * from them, and its self-metrics. In either build. */
#include "gen_receiver_config.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <fcntl.h>
#include <unistd.h>

/* Whose lines the module under test writes. */
static const gen_log_org_t test_who = {"test", "acme"};

static char dir[] = "/tmp/gen-rxconf-XXXXXX";

/* A secret file readable by its owner only. */
static int write_secret(const char *path, const char *secret, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, secret, strlen(secret));
  close(fd);
  return n == (ssize_t)strlen(secret) && chmod(path, mode) == 0 ? 0 : -1;
}

static int key(gen_org_t *org, gen_receiver_config_t *c, oconfig_item_t *ci) {
  int status = gen_config_table_key(org, ci, &gen_receiver_keys, c);
  mock_ci_free(ci);
  return status;
}

DEF_TEST(keys_and_defaults) {
  gen_org_t *org = mock_org("genesys_test");
  gen_receiver_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_receiver_keys, &c);
  OK(c.port == NULL);
  EXPECT_EQ_INT(256 * 1024, c.max_body);
  EXPECT_EQ_INT(1024, c.queue);
  EXPECT_EQ_INT(GEN_RX_MAX_PER_IP, c.per_ip);
  EXPECT_EQ_UINT64(DOUBLE_TO_CDTIME_T(GEN_RX_REQUEST_TIMEOUT), c.deadline);
  CHECK_ZERO(key(org, &c, mock_ci_str("ReceiverAddress", "127.0.0.1")));
  EXPECT_EQ_STR("127.0.0.1", c.address);
  CHECK_ZERO(key(org, &c, mock_ci_str("receivercertificate", "/c.pem")));
  CHECK_ZERO(key(org, &c, mock_ci_str("ReceiverKey", "/k.pem")));
  CHECK_ZERO(key(org, &c, mock_ci_str("ReceiverSecretFile", "/s")));
  CHECK_ZERO(key(org, &c, mock_ci_str("ReceiverSecretHeader", "X-S")));
  EXPECT_EQ_STR("X-S", c.secret_header);
  CHECK_ZERO(key(org, &c, mock_ci_num("ReceiverMaxBody", 2048)));
  EXPECT_EQ_INT(2048, c.max_body);
  EXPECT_EQ_INT(-ERANGE, key(org, &c, mock_ci_num("ReceiverMaxBody", 1000)));
  CHECK_ZERO(key(org, &c, mock_ci_num("ReceiverQueueSize", 8)));
  EXPECT_EQ_INT(8, c.queue);
  CHECK_ZERO(key(org, &c, mock_ci_num("ReceiverMaxConnectionsPerIP", 0)));
  EXPECT_EQ_INT(0, c.per_ip);
  CHECK_ZERO(key(org, &c, mock_ci_num("ReceiverRequestTimeout", 30)));
  EXPECT_EQ_UINT64(TIME_T_TO_CDTIME_T(30), c.deadline);
  EXPECT_EQ_INT(-ERANGE,
                key(org, &c, mock_ci_num("ReceiverRequestTimeout", 0)));
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                key(org, &c, mock_ci_str("ReceiverPortal", "x")));
  /* A build without libmicrohttpd refuses the receiver by name. */
  mock_log_reset();
  if (gen_receiver_available()) {
    CHECK_ZERO(key(org, &c, mock_ci_num("ReceiverPort", 8443)));
    EXPECT_EQ_STR("8443", c.port);
    OK(key(org, &c, mock_ci_num("ReceiverPort", 70000)) < 0);
    EXPECT_EQ_STR("8443", c.port);
  } else {
    EXPECT_EQ_INT(-EINVAL, key(org, &c, mock_ci_num("ReceiverPort", 8443)));
    OK(mock_log_contains("ReceiverPort 8443: this build has no receiver"));
    OK(c.port == NULL);
  }
  gen_receiver_config_release(&c);
  OK(c.address == NULL && c.port == NULL && c.secret_header == NULL);
  EXPECT_EQ_INT(1024, c.queue); /* the defaults again */
  gen_org_free(org);
  return 0;
}

/* The check's status; 1 when the log lacks the line log. */
static int check(gen_receiver_config_t *c, const char *log) {
  mock_log_reset();
  return mock_logged(gen_receiver_config_check(c, &test_who), log);
}

DEF_TEST(checks_and_secret) {
  gen_receiver_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_receiver_keys, &c);
  CHECK_ZERO(check(&c, NULL)); /* no receiver: nothing to check */
  c.port = strdup("0");
  EXPECT_EQ_INT(-EINVAL, check(&c, "test plugin: Org \"acme\": ReceiverPort "
                                   "needs ReceiverSecretFile"));
  char path[64];
  snprintf(path, sizeof(path), "%s/secret", dir);
  c.secret_file = strdup(path);
  c.cert = strdup("/c.pem");
  EXPECT_EQ_INT(-EINVAL,
                check(&c, "ReceiverCertificate and ReceiverKey go together"));
  free(c.cert);
  c.cert = NULL;
  EXPECT_EQ_INT(-EINVAL, check(&c, "ReceiverSecretFile \""));
  OK(c.secret == NULL);
  CHECK_ZERO(write_secret(path, "s3cr3t-value\n", 0644));
  EXPECT_EQ_INT(-EINVAL, check(&c, "let the group or others read it"));
  CHECK_ZERO(write_secret(path, "s3cr3t-value\n", 0600));
  CHECK_ZERO(check(&c, NULL));
  EXPECT_EQ_STR("s3cr3t-value", c.secret);
  /* Read, the secret stays out of the log until released. */
  char line[64] = "header s3cr3t-value";
  gen_redact(line, sizeof(line));
  OK(strstr(line, "s3cr3t") == NULL);
  gen_receiver_config_release(&c);
  OK(c.secret == NULL);
  snprintf(line, sizeof(line), "header s3cr3t-value");
  gen_redact(line, sizeof(line));
  EXPECT_EQ_STR("header s3cr3t-value", line);
  return 0;
}

static unsigned handler(void *ud, const char *body, size_t len) {
  (void)ud, (void)body, (void)len;
  return 200;
}

DEF_TEST(start_and_self_metrics) {
  gen_receiver_config_t c;
  memset(&c, 0, sizeof(c));
  gen_config_defaults(&gen_receiver_keys, &c);
  gen_receiver_t *rx = NULL;
  gen_ratelimit_t complain = GEN_RATELIMIT_INIT(60);
  const gen_log_org_t *prefix = &test_who;
  /* No port: no receiver, no self-metrics. */
  gen_receiver_config_start(&c, &rx, handler, NULL, prefix, &complain);
  OK(rx == NULL);
  mock_values_reset();
  gen_receiver_dispatch_stats(rx, "acme", "genesys_test");
  EXPECT_EQ_INT(0, mock_values_num);

  c.port = strdup("0");
  c.address = strdup("127.0.0.1");
  c.secret = strdup("s3cr3t");
  mock_log_reset();
  gen_receiver_config_start(&c, &rx, handler, NULL, prefix, &complain);
  if (!gen_receiver_available()) {
    OK(rx == NULL);
    OK(mock_log_contains("test plugin: Org \"acme\": receiver: this build "
                         "has no receiver"));
    OK(mock_log_contains("(retried)"));
    gen_receiver_config_release(&c);
    return 0;
  }
  CHECK_NOT_NULL(rx);
  OK(gen_receiver_port(rx) > 0);
  OK(mock_log_contains("test plugin: Org \"acme\": receiver listening on "
                       "port"));
  gen_receiver_t *running = rx;
  gen_receiver_config_start(&c, &rx, handler, NULL, prefix, &complain);
  OK(rx == running); /* started once */
  mock_values_reset();
  gen_receiver_dispatch_stats(rx, "acme", "genesys_test");
  EXPECT_EQ_INT(12, mock_values_num); /* accepted, 10 reasons, queue */
  mock_value_t *v = mock_find("self", "receiver_requests", "accepted");
  CHECK_NOT_NULL(v);
  EXPECT_EQ_INT(0, v->value.derive);
  CHECK_NOT_NULL(mock_find("self", "receiver_rejected", "address_limit"));
  CHECK_NOT_NULL(mock_find("self", "receiver_rejected", "idle_evicted"));
  CHECK_NOT_NULL(mock_find("self", "receiver_queue", ""));
  gen_receiver_stop(rx);
  gen_receiver_config_release(&c);
  return 0;
}

int main(void) {
  mock_log_echo = false;
  if (mock_tempdir(dir) == NULL)
    return 1;
  RUN_TEST(keys_and_defaults);
  RUN_TEST(checks_and_secret);
  RUN_TEST(start_and_self_metrics);
  if (mock_rmtree(dir) != 0)
    return 1;
  END_TEST;
}
