/* test_catalogue.c - every entry of the bad-input catalogue
 * (tests/catalogue/catalogue.json, documented in docs/bad-input.md) through
 * the C API: the status, diagnostic and position of each bad rule; the
 * report, record index and byte offset of each bad event, and that the scan
 * carries on past it, fed whole and byte by byte. The CLI, Python and Go
 * suites read the same table. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *catalogue(void)
{
  json_error_t err;
  json_t *root = json_load_file(tu_tests("catalogue/catalogue.json"), JSON_ALLOW_NUL, &err);
  cr_assert_not_null(root, "catalogue.json: %s at line %d", err.text, err.line);
  return root;
}

static const char *str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static int status_named(const char *name)
{
  for (int s = CTR_ESTATE; s <= CTR_OK; s++)
    if (strcmp(ctr_status_name(s), name) == 0)
      return s;
  cr_assert_fail("unknown status name '%s'", name);
  return 0;
}

static int limit_named(const char *name)
{
  for (int l = 0; l < CTR_LIMIT__COUNT; l++)
    if (strcmp(ctr_limit_name(l), name) == 0)
      return l;
  cr_assert_fail("unknown limit name '%s'", name);
  return -1;
}

/* ------------------------------------------------------------ bad rules */

Test(catalogue, every_bad_rule)
{
  json_t *root = catalogue();
  size_t i;
  json_t *e;
  size_t n = json_array_size(json_object_get(root, "rules"));
  cr_assert_gt(n, 20);
  json_array_foreach(json_object_get(root, "rules"), i, e) {
    const char *id = str(e, "id");
    ctr_compiler *c;
    cr_assert_eq(ctr_compiler_new(&c), CTR_OK);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(e, "limits"), key, v)
      cr_assert_eq(ctr_compiler_set_limit(c, limit_named(key), json_integer_value(v)), CTR_OK, "%s", id);
    int add_rc, compile_rc = CTR_OK;
    const char *file;
    if (str(e, "path")) {
      file = str(e, "path");
      add_rc = ctr_compiler_add_file(c, file);
    } else {
      file = "bad.yaml";
      /* the yaml may hold a NUL byte: take its length from the JSON */
      add_rc = ctr_compiler_add_string(c, str(e, "yaml"), json_string_length(json_object_get(e, "yaml")), file);
    }
    ctr_ruleset *rs = NULL;
    if (add_rc == CTR_OK)
      compile_rc = ctr_compiler_compile(c, &rs);
    int want = status_named(str(e, "status"));
    bool at_add = strcmp(str(e, "step"), "add") == 0;
    cr_assert_eq(add_rc, at_add ? want : CTR_OK, "%s: add returned %s", id, ctr_status_name(add_rc));
    cr_assert_eq(compile_rc, at_add ? CTR_OK : want, "%s: compile returned %s", id, ctr_status_name(compile_rc));
    if (want == CTR_OK)
      cr_assert_not_null(rs, "%s", id);
    ctr_ruleset_unref(rs);

    /* the first diagnostic of the expected severity is the catalogued one */
    int severity = strcmp(str(e, "severity"), "error") == 0 ? CTR_SEVERITY_ERROR : CTR_SEVERITY_WARNING;
    const ctr_diag *d = NULL;
    for (size_t k = 0; k < ctr_compiler_diag_count(c) && !d; k++)
      if (ctr_diag_severity(ctr_compiler_diag(c, k)) == severity)
        d = ctr_compiler_diag(c, k);
    cr_assert_not_null(d, "%s: no diagnostic", id);
    cr_assert_str_eq(ctr_diag_code(d), str(e, "code"), "%s: %s", id, ctr_diag_code(d));
    cr_assert_str_eq(ctr_diag_message(d), str(e, "message"), "%s: %s", id, ctr_diag_message(d));
    cr_assert_str_eq(ctr_diag_file(d), file, "%s", id);
    cr_assert_eq(ctr_diag_line(d), json_integer_value(json_object_get(e, "line")), "%s: line %u", id, ctr_diag_line(d));
    cr_assert_eq(ctr_diag_column(d), json_integer_value(json_object_get(e, "column")), "%s: column %u", id,
                 ctr_diag_column(d));
    if (str(e, "item"))
      cr_assert_str_eq(ctr_diag_item(d) ? ctr_diag_item(d) : "(null)", str(e, "item"), "%s", id);
    else
      cr_assert_null(ctr_diag_item(d), "%s: item %s", id, ctr_diag_item(d));
    ctr_compiler_free(c);
  }
  json_decref(root);
}

/* ------------------------------------------------------------ bad events */

typedef struct seen {
  int status;
  uint64_t index, offset;
  int evaluated;
  char message[512];
  size_t n;
} seen;

static void on_error(const ctr_record_error *e, void *ud)
{
  seen *s = ud;
  if (s->n++ == 0) {
    s->status = ctr_record_error_status(e);
    s->index = ctr_record_error_index(e);
    s->offset = ctr_record_error_offset(e);
    s->evaluated = ctr_record_error_evaluated(e);
    snprintf(s->message, sizeof s->message, "%s", ctr_record_error_message(e));
  }
}

static int count(const ctr_match *m, void *ud)
{
  (void)m;
  (*(int *)ud)++;
  return 0;
}

/* The event's input bytes: {GOOD} stands for the catalogue's good record. */
static char *event_input(const json_t *root, const json_t *e, size_t *len)
{
  if (str(e, "input_file")) {
    char path[256];
    snprintf(path, sizeof path, "catalogue/%s", str(e, "input_file"));
    return tu_read(tu_tests(path), len);
  }
  const char *in = str(e, "input"), *good = str(root, "good_record");
  char *out = malloc(strlen(in) * 2 + strlen(good) * 4 + 1);
  size_t n = 0;
  for (const char *p = in; *p;) {
    if (strncmp(p, "{GOOD}", 6) == 0) {
      memcpy(out + n, good, strlen(good));
      n += strlen(good);
      p += 6;
    } else {
      out[n++] = *p++;
    }
  }
  *len = n;
  return out;
}

Test(catalogue, every_bad_event)
{
  json_t *root = catalogue();
  size_t i;
  json_t *e;
  cr_assert_gt(json_array_size(json_object_get(root, "events")), 10);
  json_array_foreach(json_object_get(root, "events"), i, e) {
    const char *id = str(e, "id");
    const char *rules = str(e, "rules") ? str(e, "rules") : str(root, "default_rules");
    ctr_ruleset *rs = tu_compile(rules, NULL, 0);
    cr_assert_not_null(rs, "%s", id);
    size_t len;
    char *buf = event_input(root, e, &len);
    /* in one feed and byte by byte: the same report either way */
    for (size_t chunk = 0; chunk <= 1; chunk++) {
      int alerts = 0;
      seen s = {0};
      ctr_scanner *sc;
      cr_assert_eq(ctr_scanner_new(rs, count, &alerts, &sc), CTR_OK);
      ctr_scanner_set_error_callback(sc, on_error, &s);
      const char *key;
      json_t *v;
      json_object_foreach(json_object_get(e, "limits"), key, v)
        cr_assert_eq(ctr_scanner_set_limit(sc, limit_named(key), json_integer_value(v)), CTR_OK, "%s", id);
      int rc = CTR_OK;
      for (size_t at = 0; at < len && rc == CTR_OK; at += chunk ? chunk : len)
        rc = ctr_scanner_feed(sc, buf + at, chunk ? chunk : len);
      if (rc == CTR_OK)
        rc = ctr_scanner_finish(sc);
      const char *kind = str(e, "kind");
      int want = status_named(str(e, "status"));
      cr_assert_eq(rc, strcmp(kind, "stream") == 0 ? want : CTR_OK, "%s: %s", id, ctr_status_name(rc));
      cr_assert_eq(s.n, 1, "%s: %zu reports (%s)", id, s.n, s.message);
      cr_assert_eq(s.status, want, "%s: %s", id, ctr_status_name(s.status));
      cr_assert_eq(s.evaluated, strcmp(kind, "evaluated") == 0, "%s", id);
      cr_assert_eq(s.offset, json_integer_value(json_object_get(e, "offset")), "%s: offset %llu", id,
                   (unsigned long long)s.offset);
      if (strcmp(kind, "stream") != 0)
        cr_assert_eq(s.index, json_integer_value(json_object_get(e, "index")), "%s", id);
      cr_assert_str_eq(s.message, str(e, "message"), "%s: %s", id, s.message);
      cr_assert_eq(alerts, json_integer_value(json_object_get(e, "alerts")), "%s: %d alerts", id, alerts);
      /* A record not evaluated (or the stream's error) counts as bad; one
       * evaluated counts as incomplete only when it is (a report about a
       * rule or a correlation counts in neither): each counts once. */
      bool evaluated = strcmp(kind, "evaluated") == 0, incomplete = evaluated && want == CTR_EDATA;
      cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_BAD_RECORDS), !evaluated, "%s: bad count", id);
      cr_assert_eq(ctr_scanner_stat(sc, CTR_STAT_INCOMPLETE), incomplete, "%s: incomplete count", id);
      ctr_scanner_free(sc);
    }
    free(buf);
    ctr_ruleset_unref(rs);
  }
  json_decref(root);
}
