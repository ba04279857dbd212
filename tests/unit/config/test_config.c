/* SPDX-License-Identifier: MIT */
/* Unit tests: the shared <Org> keys, secrets and shards. */
#include "gen_client.h"
#include "gen_config.h"
#include "gen_log.h"
#include "gen_names.h"
#include "gen_secret.h"
#include "plugin_mock.h"

#include "collectd/core/testing.h"

#include <sys/stat.h>
#include <unistd.h>

#define SECRET "TopSecret-4242-abcdef"

static char dir[] = "/tmp/gen-config-test-XXXXXX";

static gen_org_t *parse(oconfig_item_t *block) {
  gen_org_t *org = gen_config_org_block("genesys_test", block, NULL, NULL);
  mock_ci_free(block);
  return org;
}

DEF_TEST(regions) {
  EXPECT_EQ_STR("mypurecloud.ie", gen_region_domain("eu_west_1"));
  EXPECT_EQ_STR("mypurecloud.ie", gen_region_domain("eu-west-1"));
  EXPECT_EQ_STR("mypurecloud.ie", gen_region_domain("EU_WEST_1"));
  EXPECT_EQ_STR("mypurecloud.ie", gen_region_domain("mypurecloud.ie"));
  EXPECT_EQ_STR("mypurecloud.com", gen_region_domain("us_east_1"));
  EXPECT_EQ_STR("use2.us-gov-pure.cloud", gen_region_domain("us_east_2"));
  EXPECT_EQ_STR("mypurecloud.com.au", gen_region_domain("ap_southeast_2"));
  EXPECT_EQ_STR("apne3.pure.cloud", gen_region_domain("ap_northeast_3"));
  EXPECT_EQ_STR("edee1.eusc-pure.cloud", gen_region_domain("eusc_de_east_1"));
  OK(gen_region_domain("eu_west_") == NULL);
  OK(gen_region_domain("mars_north_1") == NULL);
  return 0;
}

DEF_TEST(minimal_org_from_region) {
  gen_org_t *org = parse(mock_ci(
      "Org=acme", 3, mock_ci_str("Region", "eu_west_1"),
      mock_ci_str("ClientId", "id-1"), mock_ci_str("ClientSecret", SECRET)));
  CHECK_NOT_NULL(org);
  EXPECT_EQ_STR("https://api.mypurecloud.ie", org->api_base_url);
  EXPECT_EQ_STR("https://login.mypurecloud.ie", org->login_base_url);
  EXPECT_EQ_STR("acme", org->name);
  EXPECT_EQ_INT(1, org->shard_count);
  OK(org->timeout == TIME_T_TO_CDTIME_T(30));
  gen_org_free(org);
  return 0;
}

/* Every shared key; the client key only when asked. */
static gen_org_t *parse_all_keys(bool with_client_key) {
  return parse(mock_ci(
      "Org=acme", with_client_key ? 16 : 15,
      mock_ci_str("ApiBaseURL", "https://api.example.test/"),
      mock_ci_str("ClientId", "id-1"), mock_ci_str("ClientSecret", SECRET),
      mock_ci_num("Timeout", 12.5), mock_ci_num("ConnectTimeout", 3),
      mock_ci_num("MaxResponseSize", 1048576), mock_ci_num("MaxRetries", 5),
      mock_ci_num("RetryAfterMax", 90),
      mock_ci_str("Proxy", "http://proxy:3128"),
      mock_ci_str("CACert", "/etc/ssl/ca.pem"),
      mock_ci_str("CAPath", "/etc/ssl/certs"), mock_ci_str("Host", "acme-prod"),
      mock_ci_str("InstanceFrom", "id"), mock_ci_str("Shard", "2/4"),
      mock_ci_str("ClientCert", "/c.pem"),
      with_client_key ? mock_ci_str("ClientKey", "/k.pem") : NULL));
}

/* The shared keys' table: each row described, none twice, each typed
 * default one the applier can give. */
/* A struct with a field of every kind a typed default is given. */
typedef struct {
  bool on, off;
  long count;
  int small;
  size_t bytes;
  cdtime_t every;
  double ratio;
  char *name;
  long untouched;
} kinds_t;

static int parse_small(const gen_org_t *org, const oconfig_item_t *ci,
                       const gen_config_def_t *def, void *field) {
  return 0;
}

/* gen_config_defaults gives each row its typed default, at its field's
 * width, and leaves fields without one as they were. */
DEF_TEST(defaults_applied_from_rows) {
  static const gen_config_def_t defs[] = {
      GEN_KEY_BOOL("On", kinds_t, on, true, "a bool"),
      GEN_KEY_BOOL("Off", kinds_t, off, false, "a bool"),
      GEN_KEY_INT("Count", kinds_t, count, -5, 1000000, -3, "a long"),
      {"Small", GEN_CFG_INT, offsetof(kinds_t, small), .min = 0, .max = 100,
       GEN_DEFAULT(kinds_t, small, 42), .doc = "an int", .parse = parse_small},
      {"Bytes", GEN_CFG_INT, offsetof(kinds_t, bytes), .min = 0, .max = 1e12,
       GEN_DEFAULT(kinds_t, bytes, 5e9), .doc = "a size_t",
       .parse = parse_small},
      GEN_KEY_SECONDS("Every", kinds_t, every, 0.1, 600, 2.5, "seconds"),
      {"Ratio", GEN_CFG_NUMBER, offsetof(kinds_t, ratio), .min = 0, .max = 1,
       GEN_DEFAULT(kinds_t, ratio, 0.25), .doc = "a double"},
      GEN_KEY_STRING("Name", kinds_t, name, "the host's", "in words"),
  };
  static const gen_config_table_t table = GEN_CONFIG_TABLE(defs);
  kinds_t k;
  memset(&k, 0x5a, sizeof(k)); /* not zero: every default is written */
  k.name = NULL;
  gen_config_defaults(&table, &k);
  OK(k.on);
  OK(!k.off);
  EXPECT_EQ_INT(-3, k.count);
  EXPECT_EQ_INT(42, k.small);
  OK(k.bytes == (size_t)5000000000ULL || sizeof(size_t) < 8);
  OK(k.every == DOUBLE_TO_CDTIME_T(2.5));
  OK(k.ratio == 0.25);
  OK(k.name == NULL); /* a default in words is not applied */
  long untouched;
  memset(&untouched, 0x5a, sizeof(untouched));
  OK(k.untouched == untouched);
  for (size_t i = 0; i < table.n; i++)
    OK(gen_config_default_problem(&defs[i]) == NULL);

  /* The listing shows the typed value: one source. */
  char line[256];
  gen_config_def_line(&defs[0], line, sizeof(line));
  EXPECT_EQ_STR("On\tbool\ttrue\t-\ta bool", line);
  gen_config_def_line(&defs[2], line, sizeof(line));
  EXPECT_EQ_STR("Count\tint\t-3\t-5..1000000\ta long", line);
  gen_config_def_line(&defs[5], line, sizeof(line));
  EXPECT_EQ_STR("Every\tseconds\t2.5\t0.1..600\tseconds", line);
  gen_config_def_line(&defs[7], line, sizeof(line));
  EXPECT_EQ_STR("Name\tstring\tthe host's\t-\tin words", line);
  return 0;
}

/* A row whose default cannot be applied or breaks its own bounds is
 * named (check_plugin_keys asks this of every row of every plugin), and
 * the applier leaves its field alone. */
DEF_TEST(bad_default_rows_caught) {
  static const gen_config_def_t bad[] = {
      GEN_KEY_INT("Low", kinds_t, count, 1, 10, 0, "below min"),
      GEN_KEY_INT("High", kinds_t, count, 1, 10, 11, "above max"),
      GEN_KEY_INT("Half", kinds_t, count, 1, 10, 2.5, "not whole"),
      GEN_KEY_SECONDS("Late", kinds_t, every, 1, 60, 61, "above max"),
      GEN_KEY_BOOL("Maybe", kinds_t, on, 2, "not a bool"),
      /* the type's helper writes a long: an int field would be overrun */
      GEN_KEY_INT("Narrow", kinds_t, small, 0, 10, 1, "an int field"),
      GEN_KEY_SECONDS("Narrow", kinds_t, small, 0, 10, 1, "an int field"),
      {"Both", GEN_CFG_INT, offsetof(kinds_t, count), .min = 0, .max = 10,
       GEN_DEFAULT(kinds_t, count, 1), .shown = "one", .doc = "twice"},
      {"Words", GEN_CFG_STRING, offsetof(kinds_t, name),
       GEN_DEFAULT(kinds_t, name, 1), .doc = "a string takes none"},
  };
  static const gen_config_table_t table = GEN_CONFIG_TABLE(bad);
  for (size_t i = 0; i < table.n; i++) {
    const char *why = gen_config_default_problem(&bad[i]);
    if (why == NULL)
      printf("%s: not caught\n", bad[i].key);
    OK(why != NULL);
  }
  EXPECT_EQ_STR("has a default outside its own bounds",
                gen_config_default_problem(&bad[0]));
  EXPECT_EQ_STR("is not a long field", gen_config_default_problem(&bad[5]));
  kinds_t k = {.count = 7, .small = 9, .on = false, .name = NULL};
  gen_config_defaults(&table, &k);
  EXPECT_EQ_INT(7, k.count);
  EXPECT_EQ_INT(9, k.small);
  OK(!k.on && k.name == NULL);
  return 0;
}

DEF_TEST(shared_keys_table) {
  gen_org_t *org = gen_org_create("genesys_test", "acme");
  CHECK_NOT_NULL(org);
  for (size_t i = 0; i < gen_org_keys.n; i++) {
    const gen_config_def_t *def = &gen_org_keys.defs[i];
    OK(def->doc != NULL && def->doc[0] != '\0');
    OK(gen_config_default_problem(def) == NULL);
    OK(gen_config_table_find(&gen_org_keys, def->key) == def);
  }
  /* A row as the tool lists it: five fields. */
  char line[512];
  gen_config_def_line(gen_config_table_find(&gen_org_keys, "timeout"), line,
                      sizeof(line));
  EXPECT_EQ_STR("Timeout\tseconds\t30\t0.1..600\t"
                "longest time for one HTTP request",
                line);
  gen_org_free(org);
  return 0;
}

DEF_TEST(all_shared_keys) {
  /* ClientCert without ClientKey is refused as a whole. */
  OK(parse_all_keys(false) == NULL);
  OK(mock_log_contains("ClientCert and ClientKey go together"));

  gen_org_t *org = parse_all_keys(true);
  CHECK_NOT_NULL(org);
  EXPECT_EQ_STR("https://api.example.test", org->api_base_url);
  /* The login host is derived as the SDKs do: api. -> login. */
  EXPECT_EQ_STR("https://login.example.test", org->login_base_url);
  OK(org->timeout == DOUBLE_TO_CDTIME_T(12.5));
  EXPECT_EQ_INT(1048576, org->max_response_size);
  EXPECT_EQ_INT(5, org->max_retries);
  EXPECT_EQ_STR("http://proxy:3128", org->proxy);
  EXPECT_EQ_STR("acme-prod", org->host);
  EXPECT_EQ_INT(GEN_INSTANCE_FROM_ID, org->instance_from);
  EXPECT_EQ_INT(1, org->shard_index);
  EXPECT_EQ_INT(4, org->shard_count);
  gen_org_free(org);
  return 0;
}

/* A long ApiBaseURL: the derived login URL is the whole of it, not cut
 * at a fixed size (found by tests/fuzz/fuzz_config.c). */
DEF_TEST(login_from_long_api_url) {
  char api[600], want[600];
  snprintf(api, sizeof(api), "https://api.%0300d.example.test/prefix", 0);
  snprintf(want, sizeof(want), "https://login.%0300d.example.test/prefix", 0);
  gen_org_t *org = parse(mock_ci("Org=acme", 3, mock_ci_str("ApiBaseURL", api),
                                 mock_ci_str("ClientId", "id-1"),
                                 mock_ci_str("ClientSecret", SECRET)));
  CHECK_NOT_NULL(org);
  EXPECT_EQ_STR(want, org->login_base_url);
  gen_org_free(org);
  return 0;
}

/* Each bad value is refused with a message naming the key, the value and
 * why. */
DEF_TEST(bad_values_name_the_key) {
  struct {
    oconfig_item_t *item;
    const char *expect;
  } cases[] = {
      {mock_ci_str("Region", "mars_north_1"),
       "Region \"mars_north_1\": unknown region"},
      {mock_ci_str("ApiBaseURL", "http://api.example.test"),
       "ApiBaseURL \"http://api.example.test\": must be an https:// URL"},
      {mock_ci_str("ApiBaseURL", "ftp://x"), "ApiBaseURL \"ftp://x\""},
      {mock_ci_num("Timeout", 0), "Timeout 0: must be from 0.1 to 600"},
      {mock_ci_str("Timeout", "fast"),
       "Timeout \"fast\": takes exactly one number"},
      {mock_ci_num("MaxRetries", 2.5),
       "MaxRetries 2.5: must be a whole number"},
      {mock_ci_num("MaxRetries", 11),
       "MaxRetries 11: must be a whole number from 0 to 10"},
      {mock_ci_str("InstanceFrom", "label"),
       "InstanceFrom \"label\": must be \"name\" or \"id\""},
      {mock_ci_str("Shard", "0/4"), "Shard \"0/4\": needs \"i/n\" with whole "
                                    "numbers 1 <= i <= n <= 1024"},
      {mock_ci_str("Shard", "5/4"), "Shard \"5/4\": needs"},
      {mock_ci_str("Shard", "1of4"), "Shard \"1of4\": needs"},
      /* sscanf's %u wrapped these round to 1/1 */
      {mock_ci_str("Shard", "1/4294967297"), "Shard \"1/4294967297\": needs"},
      {mock_ci_str("Shard", "4294967297/4294967297"), "Shard"},
      {mock_ci_str("Shard", "-1/4"), "Shard \"-1/4\": needs"},
      {mock_ci_str("Shard", "1/4 "), "Shard \"1/4 \": needs"},
      {mock_ci_str("Shard", "1/+4"), "Shard \"1/+4\": needs"},
      {mock_ci_num("Shard", 1), "Shard 1: takes one string"},
      /* Host becomes every value's host: shown with '?' for the bad bytes */
      {mock_ci_str("Host", "acme\xff\xfeprod"),
       "Host \"acme??prod\": is not valid UTF-8"},
      {mock_ci_str("Host", "acme\xc0\xafprod"), "is not valid UTF-8"},
      {mock_ci_str("Host", "acme\nERROR forged"),
       "Host \"acme?ERROR forged\": must not contain control characters"},
      /* C1 controls (U+0085 NEL, U+009B CSI) are control characters too */
      {mock_ci_str("Host", "acme\xc2\x85prod"),
       "Host \"acme??prod\": must not contain control characters"},
      {mock_ci_str("Host", "acme\xc2\x9b"
                           "31mprod"),
       "Host \"acme??31mprod\": must not contain control characters"},
      {mock_ci_bool("VerifyPeer", false),
       "VerifyPeer false: TLS verification is always on"},
      {mock_ci_str("ClientId", ""), "ClientId \"\": must not be empty"},
      {mock_ci_str("Colour", "blue"), "unknown option \"Colour\""},
      {mock_ci_str("ClientSecretEnv", "GEN_TEST_NO_SUCH_VARIABLE"),
       "ClientSecretEnv \"GEN_TEST_NO_SUCH_VARIABLE\": environment variable is "
       "not set"},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(cases); i++) {
    mock_log_reset();
    gen_org_t *org =
        parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "eu_west_1"),
                      mock_ci_str("ClientId", "id-1"), cases[i].item));
    OK(org == NULL);
    printf("# expect: %s\n", cases[i].expect);
    OK(mock_log_contains(cases[i].expect));
    OK(mock_log_contains("genesys_test plugin: Org \"acme\""));
    OK(mock_log_contains("it is ignored"));
  }
  return 0;
}

/* UTF-8 hosts and the largest shard are fine. */
DEF_TEST(host_utf8_and_shard_bounds) {
  gen_org_t *org = parse(mock_ci(
      "Org=acme", 5, mock_ci_str("Region", "eu_west_1"),
      mock_ci_str("ClientId", "id-1"), mock_ci_str("ClientSecret", SECRET),
      mock_ci_str("Host", "z\xc3\xbcrich-prod"),
      mock_ci_str("Shard", "1024/1024")));
  OK(org != NULL);
  EXPECT_EQ_STR("z\xc3\xbcrich-prod", org->host);
  EXPECT_EQ_INT(1023, (int)org->shard_index);
  EXPECT_EQ_INT(1024, (int)org->shard_count);
  gen_org_free(org);
  return 0;
}

DEF_TEST(missing_credentials) {
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 1, mock_ci_str("Region", "eu_west_1"))) == NULL);
  OK(mock_log_contains("ClientId is required"));
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 2, mock_ci_str("Region", "eu_west_1"),
                   mock_ci_str("ClientId", "x"))) == NULL);
  OK(mock_log_contains("a client secret is required"));
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 2, mock_ci_str("ClientId", "x"),
                   mock_ci_str("ClientSecret", SECRET))) == NULL);
  OK(mock_log_contains("give Region, or ApiBaseURL and LoginBaseURL"));
  mock_log_reset();
  OK(parse(mock_ci("Org", 0)) == NULL);
  OK(mock_log_contains("<Org> needs one string argument"));
  return 0;
}

DEF_TEST(loopback_http_only) {
  OK(gen_url_allowed("https://api.mypurecloud.com"));
  OK(gen_url_allowed("https://api.mypurecloud.com:443/prefix/"));
  OK(gen_url_allowed("HTTPS://API.MYPURECLOUD.COM"));
  OK(gen_url_allowed("https://[2001:db8::1]/"));
  OK(gen_url_allowed("https://api.example.test/a@b"));
  OK(gen_url_allowed("https://api.example.test/x?channel=1"));
  OK(gen_url_allowed("http://127.0.0.1:8080"));
  OK(gen_url_allowed("http://127.3.2.1/x"));
  OK(gen_url_allowed("http://localhost"));
  OK(gen_url_allowed("HTTP://LOCALHOST:80"));
  OK(gen_url_allowed("Http://127.0.0.1"));
  OK(gen_url_allowed("http://[::1]:80/"));
  OK(gen_url_allowed("http://[0:0:0:0:0:0:0:1]/"));
  /* libcurl reads these as 127.0.0.1, a loopback host in truth. */
  OK(gen_url_allowed("http://127.1/"));
  OK(gen_url_allowed("http://2130706433/"));
  OK(!gen_url_allowed("http://127.0.0.1.evil.test"));
  OK(!gen_url_allowed("http://localhost.evil.test"));
  OK(!gen_url_allowed("http://localhost./"));
  OK(!gen_url_allowed("http://10.0.0.1"));
  OK(!gen_url_allowed("http://[::2]/"));
  OK(!gen_url_allowed("http://[::ffff:192.0.2.2]/"));
  OK(!gen_url_allowed("https://"));
  OK(!gen_url_allowed("https:///x"));
  OK(!gen_url_allowed("file:///etc/passwd"));
  /* User info would make curl connect elsewhere (and send credentials in
   * clear text): refused however the host reads. */
  OK(!gen_url_allowed("http://localhost:1@192.0.2.2:19081"));
  OK(!gen_url_allowed("http://127.0.0.1:80@example.com"));
  OK(!gen_url_allowed("http://127.0.0.1@example.com/"));
  OK(!gen_url_allowed("http://user:pw@localhost:8080"));
  OK(!gen_url_allowed("https://user@api.mypurecloud.com"));
  OK(!gen_url_allowed("http://localhost%3a1%40example.com"));
  OK(gen_url_allowed("HTTPS://api.mypurecloud.com"));
  OK(gen_url_allowed("HTTP://LOCALHOST:8080"));
  OK(gen_url_allowed("http://[::1]:19081"));
  OK(!gen_url_allowed("http://[::2]:19081"));
  OK(!gen_url_allowed("ftp://127.0.0.1/"));
  OK(!gen_url_allowed("http:/127.0.0.1"));
  OK(!gen_url_allowed("127.0.0.1"));
  OK(!gen_url_allowed(NULL));
  return 0;
}

/* A loopback name in the user info once passed the check while libcurl
 * connected to the host after the '@' and sent the credentials in clear. */
DEF_TEST(host_must_be_unambiguous) {
  static const char *const refused[] = {
      "http://localhost:1@192.0.2.2:19081",
      "http://127.0.0.1:80@host",
      "http://127.0.0.1:80@192.0.2.2/",
      "HTTP://LOCALHOST:1@192.0.2.2",
      "http://[::1]@192.0.2.2/",
      "http://[::1]:80@192.0.2.2/",
      "http://@192.0.2.2/",
      "http://localhost@localhost/",
      "https://user:pass@api.mypurecloud.com",
      "http://127.0.0.1:80;@192.0.2.2/",
      "http://127.0.0.1\\@192.0.2.2/",
      /* Percent-escaped forms of the same. */
      "http://localhost%3A1@192.0.2.2:19081",
      "http://127.0.0.1%3a80%40192.0.2.2/",
      "http://localhost%40192.0.2.2/",
      "http://127.0.0.1:80%40192.0.2.2/",
      "http://127.0.0.1%2f@192.0.2.2/",
      "http://%6c%6fcalhost/",
      "http://%31%32%37.0.0.1/",
      "http://[::1%25lo]/",
      "https://api%2emypurecloud.com/",
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(refused); i++) {
    printf("# refused: %s\n", refused[i]);
    OK(!gen_url_allowed(refused[i]));
    OK(gen_url_problem(refused[i], false) != NULL);
  }
  OK(strstr(gen_url_problem("http://localhost:1@192.0.2.2", false),
            "user info") != NULL);
  OK(strstr(gen_url_problem("http://%6c%6fcalhost/", false), "plainly") !=
     NULL);
  /* A base URL gets paths appended: no query or fragment. */
  OK(gen_url_problem("http://127.0.0.1:8080/prefix", true) == NULL);
  OK(gen_url_problem("http://127.0.0.1#@192.0.2.2", false) == NULL);
  OK(gen_url_problem("http://127.0.0.1#@192.0.2.2", true) != NULL);
  OK(gen_url_problem("https://api.example.test?x=1", true) != NULL);

  char shown[128];
  gen_url_shown("http://localhost:" SECRET "@192.0.2.2:19081", shown,
                sizeof(shown));
  EXPECT_EQ_STR("http://" GEN_REDACTED "@192.0.2.2:19081", shown);
  gen_url_shown("https://api.example.test/x", shown, sizeof(shown));
  EXPECT_EQ_STR("https://api.example.test/x", shown);

  /* The configuration error names the key, the value without its secret,
   * and why. */
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 3,
                   mock_ci_str("ApiBaseURL",
                               "http://localhost:" SECRET "@192.0.2.2:19081"),
                   mock_ci_str("LoginBaseURL", "http://127.0.0.1:19081"),
                   mock_ci_str("ClientId", "id"))) == NULL);
  OK(mock_log_contains("genesys_test plugin: Org \"acme\": ApiBaseURL "
                       "\"http://" GEN_REDACTED "@192.0.2.2:19081\": user "
                       "info"));
  OK(!mock_log_contains(SECRET));
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 3, mock_ci_str("ApiBaseURL", "https://a.test"),
                   mock_ci_str("LoginBaseURL", "http://127.0.0.1:80@host"),
                   mock_ci_str("ClientId", "id"))) == NULL);
  OK(mock_log_contains("LoginBaseURL \"http://" GEN_REDACTED "@host\""));
  OK(!mock_log_contains("127.0.0.1:80@"));
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 3,
                   mock_ci_str("ApiBaseURL", "http://%6c%6fcalhost:1/"),
                   mock_ci_str("LoginBaseURL", "http://127.0.0.1"),
                   mock_ci_str("ClientId", "id"))) == NULL);
  OK(mock_log_contains("ApiBaseURL \"http://%6c%6fcalhost:1/\": the host "
                       "must be written plainly"));
  return 0;
}

static int write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fputs(text, f);
  fclose(f);
  return chmod(path, mode);
}

DEF_TEST(secret_sources) {
  char path[256];
  snprintf(path, sizeof(path), "%s/secret", dir);
  CHECK_ZERO(write_file(path, SECRET "\n", 0600));
  gen_org_t *org = parse(mock_ci(
      "Org=acme", 3, mock_ci_str("Region", "us_east_1"),
      mock_ci_str("ClientId", "id"), mock_ci_str("ClientSecretFile", path)));
  CHECK_NOT_NULL(org);
  EXPECT_EQ_STR(SECRET, org->client_secret);
  /* Kept where core dumps do not reach. */
  OK(gen_secure_owns(org->client_secret));
  OK(mock_excluded_from_dumps(org->client_secret));
  gen_org_free(org);

  /* Group- or world-readable secret files are refused. */
  CHECK_ZERO(chmod(path, 0640));
  mock_log_reset();
  org = parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                      mock_ci_str("ClientId", "id"),
                      mock_ci_str("ClientSecretFile", path)));
  OK(org == NULL);
  OK(mock_log_contains("permissions 0640 let the group or others read it"));
  CHECK_ZERO(chmod(path, 0604));
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                   mock_ci_str("ClientId", "id"),
                   mock_ci_str("ClientSecretFile", path))) == NULL);
  OK(mock_log_contains("permissions 0604"));

  /* From the environment. */
  setenv("GEN_TEST_SECRET", SECRET, 1);
  org = parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                      mock_ci_str("ClientId", "id"),
                      mock_ci_str("ClientSecretEnv", "GEN_TEST_SECRET")));
  CHECK_NOT_NULL(org);
  EXPECT_EQ_STR(SECRET, org->client_secret);
  gen_org_free(org);

  /* Two sources are one too many. */
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 4, mock_ci_str("Region", "us_east_1"),
                   mock_ci_str("ClientId", "id"),
                   mock_ci_str("ClientSecret", SECRET),
                   mock_ci_str("ClientSecretEnv", "GEN_TEST_SECRET"))) == NULL);
  OK(mock_log_contains("give exactly one of ClientSecret"));

  /* Missing and empty files. */
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                   mock_ci_str("ClientId", "id"),
                   mock_ci_str("ClientSecretFile", "/nonexistent/secret"))) ==
     NULL);
  OK(mock_log_contains("cannot open: No such file or directory"));
  CHECK_ZERO(write_file(path, "\n", 0600));
  mock_log_reset();
  OK(parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                   mock_ci_str("ClientId", "id"),
                   mock_ci_str("ClientSecretFile", path))) == NULL);
  OK(mock_log_contains("file is empty"));
  return 0;
}

static gen_org_t *parse_secret_file(const char *path) {
  return parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                       mock_ci_str("ClientId", "id"),
                       mock_ci_str("ClientSecretFile", path)));
}

/* A Kubernetes secret volume: secret -> ..data/secret, ..data -> ..<stamp>
 * (a directory of regular files). The links are followed; the file they
 * reach must pass the checks. */
DEF_TEST(secret_file_symlinks) {
  char stamp[256], data[300], file[300], link[300];
  snprintf(stamp, sizeof(stamp), "%s/..2026_11_22", dir);
  snprintf(data, sizeof(data), "%s/..data", dir);
  snprintf(file, sizeof(file), "%s/secret", stamp);
  snprintf(link, sizeof(link), "%s/k8s-secret", dir);
  CHECK_ZERO(mkdir(stamp, 0755));
  CHECK_ZERO(write_file(file, SECRET "\n", 0400));
  CHECK_ZERO(symlink("..2026_11_22", data));
  CHECK_ZERO(symlink("..data/secret", link));
  gen_org_t *org = parse_secret_file(link);
  CHECK_NOT_NULL(org);
  EXPECT_EQ_STR(SECRET, org->client_secret);
  gen_org_free(org);

  /* Kubernetes' default mode 0644 reaches the target: refused. */
  CHECK_ZERO(chmod(file, 0644));
  mock_log_reset();
  OK(parse_secret_file(link) == NULL);
  OK(mock_log_contains("permissions 0644 let the group or others read it"));
  CHECK_ZERO(chmod(file, 0400));

  /* A link to a directory, a dangling link. */
  char to_dir[300], dangling[300];
  snprintf(to_dir, sizeof(to_dir), "%s/to-dir", dir);
  snprintf(dangling, sizeof(dangling), "%s/dangling", dir);
  CHECK_ZERO(symlink(stamp, to_dir));
  CHECK_ZERO(symlink("nowhere", dangling));
  mock_log_reset();
  OK(parse_secret_file(to_dir) == NULL);
  OK(mock_log_contains("not a regular file"));
  mock_log_reset();
  OK(parse_secret_file(dangling) == NULL);
  OK(mock_log_contains("cannot open: No such file or directory"));

  /* A file of another user (only root can make one here: the suite runs as
   * root; elsewhere chown fails and this part has nothing to check). */
  if (chown(file, 65534, 65534) == 0) {
    mock_log_reset();
    OK(parse_secret_file(link) == NULL);
    OK(mock_log_contains("owned by uid 65534"));
  }
  unlink(link);
  unlink(to_dir);
  unlink(dangling);
  unlink(data);
  unlink(file);
  rmdir(stamp);
  return 0;
}

/* A secret given in the configuration never reaches a log line, even when
 * the configuration around it is wrong or when other code prints it. */
DEF_TEST(secret_never_logged) {
  mock_log_reset();
  gen_org_t *org = parse(mock_ci(
      "Org=acme", 5, mock_ci_str("Region", "nowhere"),
      mock_ci_str("ClientId", "id"), mock_ci_str("ClientSecret", SECRET),
      mock_ci_str("ClientSecret", SECRET), mock_ci_str("Bogus", SECRET)));
  OK(org == NULL);
  OK(mock_log_num > 0);
  OK(!mock_log_contains(SECRET));
  /* While an org holds the secret, any log line carrying it is scrubbed. */
  org = parse(mock_ci("Org=acme", 3, mock_ci_str("Region", "us_east_1"),
                      mock_ci_str("ClientId", "id"),
                      mock_ci_str("ClientSecret", SECRET)));
  CHECK_NOT_NULL(org);
  mock_log_reset();
  GEN_ERROR("test plugin: request body was grant=x&secret=%s", SECRET);
  OK(!mock_log_contains(SECRET));
  OK(mock_log_contains("secret=" GEN_REDACTED));
  gen_org_free(org);
  return 0;
}

DEF_TEST(shards_split_entities_stably) {
  gen_org_t *orgs[4];
  for (int i = 0; i < 4; i++) {
    char shard[8];
    snprintf(shard, sizeof(shard), "%d/4", i + 1);
    orgs[i] = parse(mock_ci("Org=acme", 4, mock_ci_str("Region", "us_east_1"),
                            mock_ci_str("ClientId", "id"),
                            mock_ci_str("ClientSecret", SECRET),
                            mock_ci_str("Shard", shard)));
    CHECK_NOT_NULL(orgs[i]);
  }
  int per_shard[4] = {0};
  for (int q = 0; q < 1000; q++) {
    char id[64];
    snprintf(id, sizeof(id), "queue-%04d-7f3c", q);
    int owners = 0;
    for (int i = 0; i < 4; i++)
      if (gen_org_owns(orgs[i], id)) {
        owners++;
        per_shard[i]++;
      }
    OK1(owners == 1, "every entity has exactly one owner");
  }
  for (int i = 0; i < 4; i++) {
    printf("# shard %d owns %d of 1000\n", i + 1, per_shard[i]);
    OK(per_shard[i] > 180 && per_shard[i] < 320);
    gen_org_free(orgs[i]);
  }
  /* FNV-1a 64 of a known string, so the split never changes silently. */
  EXPECT_EQ_UINT64(0xcbf29ce484222325ULL, gen_hash_id(""));
  EXPECT_EQ_UINT64(0xaf63dc4c8601ec8cULL, gen_hash_id("a"));
  return 0;
}

/* The filter keys of a table (GEN_KEY_FILTER, GEN_KEY_DIVISIONS), and a
 * list out of a fixed set. */
typedef struct {
  gen_entity_filter_t flows, queues;
} filters_t;
static const gen_config_def_t flow_defs[] = {
    GEN_KEY_FILTER("Flow", "flows", filters_t, flows),
    GEN_KEY_DIVISIONS("flows", filters_t, flows)};
static const gen_config_def_t queue_defs[] = {
    GEN_KEY_FILTER("Queue", "queues", filters_t, queues)};
static const gen_config_table_t flow_keys = GEN_CONFIG_TABLE(flow_defs);
static const gen_config_table_t queue_keys = GEN_CONFIG_TABLE(queue_defs);

DEF_TEST(filter_keys_and_choice_lists) {
  gen_org_t *org = gen_org_create("genesys_test", "acme");
  filters_t f = {0};
  gen_entity_filter_t *flows = &f.flows, *queues = &f.queues;
  oconfig_item_t *ci = mock_ci_str("FlowName", "Sales*");
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &flow_keys, &f));
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                gen_config_table_key(org, ci, &queue_keys, &f));
  mock_ci_free(ci);
  ci = mock_ci_str("DivisionId", "div-1");
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &flow_keys, &f));
  /* Without divisions, DivisionId is not the queue filter's key. */
  EXPECT_EQ_INT(GEN_CONFIG_NOT_MINE,
                gen_config_table_key(org, ci, &queue_keys, &f));
  mock_ci_free(ci);
  ci = mock_ci_str("queueid", "q-1");
  EXPECT_EQ_INT(0, gen_config_table_key(org, ci, &queue_keys, &f));
  mock_ci_free(ci);
  EXPECT_EQ_INT(1, (int)flows->n_names);
  EXPECT_EQ_STR("Sales*", flows->names[0]);
  EXPECT_EQ_INT(1, (int)flows->n_divisions);
  EXPECT_EQ_STR("div-1", flows->divisions[0]);
  EXPECT_EQ_INT(0, (int)flows->n_ids);
  EXPECT_EQ_INT(1, (int)queues->n_ids);
  EXPECT_EQ_STR("q-1", queues->ids[0]);

  /* A string list grows with every key, NULL-terminated, and is freed
   * whole (ASan and valgrind see a leak or a double free). */
  char **list = NULL;
  size_t n = 0;
  ci = mock_ci_strs("FlowType", 2, (const char *[]){"inboundcall", "bot"});
  CHECK_ZERO(gen_config_string_list(org, ci, &list, &n));
  CHECK_ZERO(gen_config_string_list(org, ci, &list, &n));
  mock_ci_free(ci);
  EXPECT_EQ_INT(4, (int)n);
  EXPECT_EQ_STR("bot", list[3]);
  OK(list[4] == NULL);
  gen_config_string_list_free(list, n);
  gen_config_string_list_free(NULL, 0);

  /* MediaType: a bitmask of gen_media_t, names in any case, added up. */
  unsigned mask = 0;
  ci = mock_ci_str("MediaType", "Voice");
  EXPECT_EQ_INT(0, gen_config_media(org, ci, &mask));
  mock_ci_free(ci);
  EXPECT_EQ_INT(1u << GEN_MEDIA_VOICE, mask);
  ci = mock_ci_strs("MediaType", 2, (const char *[]){"SCREENSHARE", "chat"});
  EXPECT_EQ_INT(0, gen_config_media(org, ci, &mask));
  mock_ci_free(ci);
  EXPECT_EQ_INT((1u << GEN_MEDIA_VOICE) | (1u << GEN_MEDIA_CHAT) |
                    (1u << GEN_MEDIA_SCREENSHARE),
                mask);
  mock_log_reset();
  ci = mock_ci_strs("MediaType", 2, (const char *[]){"email", "fax"});
  OK(gen_config_media(org, ci, &mask) < 0);
  mock_ci_free(ci);
  /* The offending value is named, with the valid ones; nothing is added. */
  OK(mock_log_contains(
      "MediaType \"fax\": unknown media type; use voice, callback, chat, "
      "email, message, cobrowse, video or screenshare"));
  EXPECT_EQ_INT(0, (int)((mask >> GEN_MEDIA_EMAIL) & 1u));
  EXPECT_EQ_INT(GEN_MEDIA_VIDEO, gen_media_from_name("Video"));
  EXPECT_EQ_INT(-1, gen_media_from_name("fax"));
  EXPECT_EQ_INT(-1, gen_media_from_name(NULL));
  gen_entity_filter_free(flows);
  gen_entity_filter_free(queues);
  gen_org_free(org);
  return 0;
}

/* Genesys' 403 answers name the missing permission (bodies as the gcloudcx
 * client's errors.go gives them, through gen_http's error text). */
DEF_TEST(missing_permission) {
  char perm[64];
  OK(gen_missing_permission(
      "HTTP 403 missing.permissions: Unable to perform the requested action. "
      "You are missing the following permission(s): "
      "analytics:userAggregate:view (contextId c-1, corr-2)",
      perm, sizeof(perm)));
  EXPECT_EQ_STR("analytics:userAggregate:view", perm);
  OK(gen_missing_permission(
      "HTTP 403 missing.any.permissions: Unable to perform the requested "
      "action. You must have at least one of the following permissions "
      "assigned: routing:queue:view, routing:queue:edit",
      perm, sizeof(perm)));
  EXPECT_EQ_STR("routing:queue:view, routing:queue:edit", perm);
  OK(gen_missing_permission("HTTP 403 missing.permissions: -", perm,
                            sizeof(perm)));
  EXPECT_EQ_STR("unnamed", perm);
  OK(!gen_missing_permission("HTTP 403 not.authorized: no", perm,
                             sizeof(perm)));
  OK(!gen_missing_permission("HTTP 401 bad.credentials: x", perm,
                             sizeof(perm)));

  /* One warning per refused family, one line when it works again. */
  gen_client_t *client = gen_client_create(gen_org_create("genesys_x", "acme"));
  CHECK_NOT_NULL(client);
  const char *err = "HTTP 403 missing.permissions: You are missing the "
                    "following permission(s): architect:flowOutcome:view";
  mock_log_reset();
  mock_notifs_reset();
  OK(gen_client_family(client, "flow outcome names", -1, err, "every value"));
  OK(gen_client_family(client, "flow outcome names", -1, err, "every value"));
  EXPECT_EQ_INT(1, (int)mock_log_num);
  /* And one notification (collectd-genesys(5), NOTIFICATIONS). */
  EXPECT_EQ_INT(1, (int)mock_notifs_num);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_FAILURE, "self", "permission",
                                          "flow_outcome_names"));
  OK(strstr(mock_notifs[0].message, "architect:flowOutcome:view") != NULL);
  OK(mock_log_contains(
      "genesys_x plugin: Org \"acme\": flow outcome names: "
      "needs the OAuth permission architect:flowOutcome:view"));
  OK(mock_log_contains("still running: every value"));
  OK(!gen_client_family(client, "flow outcome names", 0, NULL, NULL));
  OK(mock_log_contains("flow outcome names: permitted again"));
  OK(!gen_client_family(client, "flows", -1, "HTTP 500 x: y", "nothing"));
  EXPECT_EQ_INT(2, (int)mock_log_num);
  EXPECT_EQ_INT(1, (int)mock_notifs_count(NOTIF_OKAY, "self", "permission",
                                          "flow_outcome_names"));
  /* An HTTP error is neither a refusal nor a malformed answer. */
  EXPECT_EQ_INT(2, (int)mock_notifs_num);
  /* Malformed answers: a warning once, OKAY at the next success. */
  for (int i = 0; i < 2; i++)
    OK(!gen_client_family(client, "flows", GEN_HTTP_ERR_JSON,
                          "malformed JSON in HTTP 200 answer", "nothing"));
  EXPECT_EQ_INT(
      1, (int)mock_notifs_count(NOTIF_WARNING, "self", "malformed", "flows"));
  OK(!gen_client_family(client, "flows", -1, "HTTP 500 x: y", "nothing"));
  OK(!gen_client_family(client, "flows", 0, NULL, NULL));
  OK(!gen_client_family(client, "flows", 0, NULL, NULL));
  EXPECT_EQ_INT(
      1, (int)mock_notifs_count(NOTIF_OKAY, "self", "malformed", "flows"));
  EXPECT_EQ_INT(4, (int)mock_notifs_num);
  mock_notifs_reset();
  gen_client_free(client);
  return 0;
}

DEF_TEST(org_log_lines) {
  gen_org_t *org = gen_org_create("genesys_realtime", "acme");
  mock_log_reset();
  gen_org_log(org, NULL, LOG_WARNING, "queue %s: %d", "q-1", 7);
  OK(mock_log_contains("genesys_realtime plugin: Org \"acme\": queue q-1: 7"));
  /* Rate-limited: the second within the interval is held back. */
  gen_ratelimit_t rl = GEN_RATELIMIT_INIT(60);
  mock_log_reset();
  gen_org_log(org, &rl, LOG_ERR, "first");
  gen_org_log(org, &rl, LOG_ERR, "second");
  OK(mock_log_contains("Org \"acme\": first"));
  OK(!mock_log_contains("second"));
  gen_org_free(org);
  return 0;
}

int main(void) {
  if (mock_tempdir(dir) == NULL)
    return 1;
  RUN_TEST(regions);
  RUN_TEST(minimal_org_from_region);
  RUN_TEST(shared_keys_table);
  RUN_TEST(all_shared_keys);
  RUN_TEST(login_from_long_api_url);
  RUN_TEST(bad_values_name_the_key);
  RUN_TEST(host_utf8_and_shard_bounds);
  RUN_TEST(missing_credentials);
  RUN_TEST(loopback_http_only);
  RUN_TEST(host_must_be_unambiguous);
  RUN_TEST(missing_permission);
  RUN_TEST(secret_sources);
  RUN_TEST(secret_file_symlinks);
  RUN_TEST(secret_never_logged);
  RUN_TEST(shards_split_entities_stably);
  RUN_TEST(filter_keys_and_choice_lists);
  RUN_TEST(org_log_lines);
  RUN_TEST(defaults_applied_from_rows);
  RUN_TEST(bad_default_rows_caught);
  if (mock_rmtree(dir) != 0)
    return 1;
  mock_log_reset();
  END_TEST;
}
