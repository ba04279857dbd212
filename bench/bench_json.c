/* SPDX-License-Identifier: MIT */
/*
 * bench_json: what an answer's json-c tree costs, by shape, and the
 * process's peak memory (VmHWM) when a document of 249,000 empty objects
 * (0.75 MB, issue 63) is parsed as a state file is (gen_json_parse, no
 * answer bound: the path every answer took before) and as an API answer is
 * (gen_json_parse_answer, held to GEN_JSON_ANSWER_COST). Each parse runs in
 * a child of its own, so that each VmHWM is its alone.
 *
 *   make bench_json && ./bench_json
 */
#include "bench_util.h"
#include "gen_json.h"

#include <sys/wait.h>
#include <unistd.h>

static sbuf_t doc_of(const char *shape) {
  sbuf_t b = {0};
  if (strcmp(shape, "empty objects") == 0 ||
      strcmp(shape, "empty arrays") == 0) {
    const char *one = shape[6] == 'o' ? "{}" : "[]";
    sbuf_put(&b, "[");
    for (int i = 0; i < 249000; i++)
      sbuf_put(&b, "%s%s", i ? "," : "", one);
    sbuf_put(&b, "]");
  } else if (strcmp(shape, "small numbers") == 0) {
    sbuf_put(&b, "[");
    for (int i = 0; i < 300000; i++)
      sbuf_put(&b, "%s%d", i ? "," : "", i % 10);
    sbuf_put(&b, "]");
  } else { /* a users page: the entities of the record, their usual fields */
    char id[37];
    sbuf_put(&b, "{\"entities\":[");
    for (int i = 0; i < 2500; i++) {
      uuid(id);
      sbuf_put(&b,
               "%s{\"id\":\"%s\",\"name\":\"User %d\",\"division\":{\"id\":"
               "\"%s\",\"name\":\"Home\",\"selfUri\":\"/api/v2/authorization/"
               "divisions/%s\"},\"chat\":{\"jabberId\":\"%d@x.test\"},"
               "\"email\":\"u%d@example.com\",\"primaryContactInfo\":[{"
               "\"address\":\"u%d@example.com\",\"mediaType\":\"EMAIL\","
               "\"type\":\"PRIMARY\"}],\"addresses\":[],\"state\":\"active\","
               "\"username\":\"u%d@example.com\",\"version\":3,"
               "\"acdAutoAnswer\":false,\"selfUri\":\"/api/v2/users/%s\"}",
               i ? "," : "", id, i, id, id, i, i, i, i, id);
    }
    sbuf_put(&b, "],\"pageSize\":2500,\"pageNumber\":1,\"total\":2500}");
  }
  return b;
}

/* Parses doc in a child: tree bytes, VmHWM before and after, refused. */
static void run(const char *shape, bool answer) {
  sbuf_t d = doc_of(shape);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    double hwm0 = vm_mib("VmHWM");
    size_t heap0 = heap_bytes();
    json_object *doc = NULL;
    char err[256] = "";
    int status =
        answer ? gen_json_parse_answer(d.buf, d.len, &doc, err, sizeof(err))
               : gen_json_parse(d.buf, d.len, GEN_JSON_MAX_DEPTH, &doc, err,
                                sizeof(err));
    size_t tree = heap_bytes() - heap0;
    printf("| %s | %s | %.2f MB | %s | %.1f MB (%.0fx) | %.0f -> %.0f MiB |\n",
           shape, answer ? "answer" : "state file", d.len / 1e6,
           status == 0 ? "read" : "refused", tree / 1e6,
           (double)tree / (double)d.len, hwm0, vm_mib("VmHWM"));
    if (status != 0)
      printf("|  | %s |\n", err);
    json_object_put(doc);
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  free(d.buf);
}

int main(void) {
  static const char *const shapes[] = {"empty objects", "empty arrays",
                                       "small numbers", "users page"};
  printf("| document | read as | text | outcome | tree | VmHWM |\n");
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    run(shapes[i], false);
    run(shapes[i], true);
  }
  return 0;
}
