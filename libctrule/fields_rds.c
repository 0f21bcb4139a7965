/*
 * fields_rds.c - rds.*: fields that make RDS rules short and their outputs
 * actionable. Not part of any Falco plugin. Key spellings follow CloudTrail's
 * camelCase (dBInstanceIdentifier, dBSnapshotIdentifier, valuesToAdd, ...).
 *
 * Identifiers are looked up in requestParameters first, then in
 * responseElements, then in the object responseElements wraps them in in some
 * samples ({"dBInstance": {...}}, dBCluster, dBSnapshot, dBClusterSnapshot).
 * Only JSON strings count as identifiers.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const json_t *request(const ctr__event *ev)
{
  return ctr__event_get(ev, "requestParameters");
}

/* The places an attribute of the resource may be, in order of preference. */
enum { SRC_REQUEST, SRC_RESPONSE, SRC_WRAPPED_FIRST };
static const char *const wrappers[] = {"dBInstance", "dBCluster", "dBSnapshot", "dBClusterSnapshot"};
#define NSOURCES (SRC_WRAPPED_FIRST + CTR__COUNTOF(wrappers))

static const json_t *source_obj(const ctr__event *ev, size_t src)
{
  if (src == SRC_REQUEST)
    return request(ev);
  const json_t *re = ctr__event_get(ev, "responseElements");
  if (src == SRC_RESPONSE)
    return re;
  return ctr__json_get(re, wrappers[src - SRC_WRAPPED_FIRST]);
}

/* ------------------------------------------------------------ from the bytes
 * A walked record's rds.* fields are read from its bytes while the members
 * they lie in are unparsed (ctr__bytes_path): an RDS call's requestParameters
 * and responseElements run to kilobytes, which jansson would parse whole for
 * one identifier. Where the bytes cannot tell exactly (the member parsed
 * already, an escaped key on the way, a string with an escape, a number),
 * the field is read with jansson instead, whole: one reading decides a field. */

/* What the bytes say of one value. */
typedef enum bkind { B_UNSURE, B_ABSENT, B_STRING, B_TRUE, B_FALSE, B_NULL, B_OTHER } bkind;
typedef struct bval {
  bkind kind;
  ctr__bspan span; /* B_STRING: the quoted bytes of a string without escapes */
} bval;

static bval bval_of(ctr__step st, const ctr__bspan *s)
{
  bval b = {st == CTR__STEP_UNSURE ? B_UNSURE : B_ABSENT, {NULL, 0, false}};
  if (st != CTR__STEP_FOUND)
    return b;
  b.span = *s;
  switch (s->v[0]) {
  case '"':
    b.kind = s->plain ? B_STRING : B_UNSURE; /* an escape: jansson decodes it */
    break;
  case 't':
    b.kind = B_TRUE;
    break;
  case 'f':
    b.kind = B_FALSE;
    break;
  case 'n':
    b.kind = B_NULL;
    break;
  default:
    b.kind = B_OTHER;
    break;
  }
  return b;
}

static ctr__pathstep step_of(const char *key)
{
  return (ctr__pathstep){key, strlen(key), SIZE_MAX};
}

/* The value of `key` (NULL: the place itself) at place `src` (SRC_*). */
static bval at_src(const ctr__event *ev, size_t src, const char *key)
{
  ctr__pathstep steps[3];
  size_t n = 0;
  steps[n++] = step_of(src == SRC_REQUEST ? "requestParameters" : "responseElements");
  if (src >= SRC_WRAPPED_FIRST)
    steps[n++] = step_of(wrappers[src - SRC_WRAPPED_FIRST]);
  if (key)
    steps[n++] = step_of(key);
  ctr__bspan s;
  return bval_of(ctr__bytes_path(ev, steps, n, &s), &s);
}

/* A top-level member's value. */
static bval at_top(const ctr__event *ev, const char *key)
{
  ctr__bspan s;
  return bval_of(ctr__bytes_member(ev, key, strlen(key), &s), &s);
}

/* A B_STRING's content without its quotes (not NUL-terminated). */
static ctr__str bstr(const bval *b)
{
  return (ctr__str){b->span.v + 1, b->span.len - 2};
}

static bool bstr_is(const bval *b, const char *lit)
{
  if (b->kind != B_STRING) /* only a string has a span to look into */
    return false;
  ctr__str s = bstr(b);
  return s.len == strlen(lit) && memcmp(s.s, lit, s.len) == 0;
}

/* A B_STRING as a value: its content copied into the arena, NUL-terminated. */
static int set_bstr(const ctr__event *ev, ctr__value *out, const bval *b)
{
  const char *s = ctr__bytes_string(ev, &b->span);
  if (!s)
    return CTR_ENOMEM;
  ctr__value_str(out, s, b->span.len - 2);
  return CTR_OK;
}

/* The first JSON string among `keys`, trying every key in the request, then
 * every key in the response, then in the wrapped response. *which = index of
 * the key found. */
static const json_t *find_id_json(const ctr__event *ev, const char *const *keys, size_t nkeys, size_t *which)
{
  for (size_t src = 0; src < NSOURCES; src++) {
    const json_t *obj = source_obj(ev, src);
    if (!json_is_object(obj))
      continue;
    for (size_t k = 0; k < nkeys; k++) {
      const json_t *v = json_object_get(obj, keys[k]);
      if (json_is_string(v)) {
        *which = k;
        return v;
      }
    }
  }
  return NULL;
}

/* The same from the bytes: 1 found (*b a B_STRING), 0 none, -1 only
 * jansson can tell. A wrapped place is crossed once per key: it is rare,
 * and a crossing costs a fraction of a parse. */
static int find_id_bytes(const ctr__event *ev, const char *const *keys, size_t nkeys, size_t *which, bval *b)
{
  for (size_t src = 0; src < NSOURCES; src++) {
    bval o = at_src(ev, src, NULL);
    if (o.kind == B_UNSURE)
      return -1;
    if (o.kind != B_OTHER || o.span.v[0] != '{')
      continue; /* no object there: no key in it */
    for (size_t k = 0; k < nkeys; k++) {
      *b = at_src(ev, src, keys[k]);
      if (b->kind == B_UNSURE)
        return -1;
      if (b->kind == B_STRING) {
        *which = k;
        return 1;
      }
    }
  }
  return 0;
}

static void set_json_str(ctr__value *out, const json_t *j)
{
  if (json_is_string(j))
    ctr__value_str(out, json_string_value(j), json_string_length(j));
  else
    ctr__value_absent(out);
}

/* find_id's string in *out (absent when none), from the bytes where they
 * tell. CTR_OK or CTR_ENOMEM. */
static int find_id(const ctr__event *ev, const char *const *keys, size_t nkeys, size_t *which, ctr__value *out)
{
  bval b;
  int found = find_id_bytes(ev, keys, nkeys, which, &b);
  ctr__value_absent(out);
  if (found > 0)
    return set_bstr(ev, out, &b);
  if (found < 0)
    set_json_str(out, find_id_json(ev, keys, nkeys, which));
  return CTR_OK;
}

#define ID_FIELD(fn, ...)                                         \
  CTR__EXTRACT(fn)                                                \
  {                                                               \
    CTR__NOARG();                                                 \
    static const char *const keys[] = {__VA_ARGS__};              \
    size_t which;                                                 \
    return find_id(ev, keys, CTR__COUNTOF(keys), &which, out);    \
  }

ID_FIELD(x_instance, "dBInstanceIdentifier")
ID_FIELD(x_cluster, "dBClusterIdentifier")
ID_FIELD(x_snapshot, "dBSnapshotIdentifier", "dBClusterSnapshotIdentifier")
ID_FIELD(x_securitygroup, "dBSecurityGroupName")
ID_FIELD(x_parametergroup, "dBParameterGroupName", "dBClusterParameterGroupName")
ID_FIELD(x_engine, "engine")
ID_FIELD(x_resource, "dBInstanceIdentifier", "dBClusterIdentifier", "dBSnapshotIdentifier",
         "dBClusterSnapshotIdentifier", "dBSecurityGroupName", "dBParameterGroupName",
         "dBClusterParameterGroupName", "globalClusterIdentifier")

CTR__EXTRACT(x_snapshot_type)
{
  CTR__NOARG();
  static const char *const keys[] = {"dBSnapshotIdentifier", "dBClusterSnapshotIdentifier"};
  size_t which = 0;
  ctr__value id;
  int rc = find_id(ev, keys, CTR__COUNTOF(keys), &which, &id);
  if (rc == CTR_OK && id.kind == CTR__V_STR)
    ctr__value_cstr(out, which == 0 ? "instance" : "cluster");
  else
    ctr__value_absent(out);
  return rc;
}

/* ------------------------------------------------------------ booleans */

/* "true" or "false" in any case: 1 / 0; else -1. */
static int bool_text(const char *s, size_t n)
{
  if (n == 4 && strncasecmp(s, "true", 4) == 0)
    return 1;
  if (n == 5 && strncasecmp(s, "false", 5) == 0)
    return 0;
  return -1;
}

/* JSON true/false or the strings "true"/"false" (any case): 1 / 0; else -1. */
static int tribool(const json_t *j)
{
  if (json_is_boolean(j))
    return json_is_true(j) ? 1 : 0;
  if (json_is_string(j))
    return bool_text(json_string_value(j), json_string_length(j));
  return -1;
}

/* The same from the bytes; -2: only jansson can tell. */
static int tribool_bytes(bval b)
{
  switch (b.kind) {
  case B_UNSURE:
    return -2;
  case B_TRUE:
    return 1;
  case B_FALSE:
    return 0;
  case B_STRING: {
    ctr__str s = bstr(&b);
    return bool_text(s.s, s.len);
  }
  default:
    return -1;
  }
}

static void set_bool(ctr__value *out, int b)
{
  if (b < 0)
    ctr__value_absent(out);
  else
    ctr__value_cstr(out, b ? "true" : "false");
}

/* "true" if publiclyAccessible is true in the request or in the response
 * (restores often say nothing in the request), "false" if present and false
 * everywhere it is present, absent otherwise. */
CTR__EXTRACT(x_public)
{
  CTR__NOARG();
  int result = -1;
  bool bytes = true;
  for (size_t src = 0; src < NSOURCES && result != 1 && bytes; src++) {
    int b = tribool_bytes(at_src(ev, src, "publiclyAccessible"));
    bytes = b != -2;
    result = b > result ? b : result;
  }
  for (size_t src = 0; !bytes && src < NSOURCES && result != 1; src++) {
    int b = tribool(ctr__json_get(source_obj(ev, src), "publiclyAccessible"));
    if (b > result)
      result = b;
  }
  set_bool(out, result);
  return CTR_OK;
}

static int request_bool(const ctr__event *ev, const char *key)
{
  int b = tribool_bytes(at_src(ev, SRC_REQUEST, key));
  return b != -2 ? b : tribool(ctr__json_get(request(ev), key));
}

#define REQ_BOOL(fn, key)                    \
  CTR__EXTRACT(fn)                           \
  {                                          \
    CTR__NOARG();                            \
    set_bool(out, request_bool(ev, key));    \
    return CTR_OK;                           \
  }

REQ_BOOL(x_deletion_protection, "deletionProtection")
REQ_BOOL(x_skip_final_snapshot, "skipFinalSnapshot")

/* A string of 1 to 19 decimal digits as a number; false otherwise. */
static bool digits_u64(const char *s, size_t n, uint64_t *v)
{
  if (n == 0 || n > 19)
    return false;
  *v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    *v = *v * 10 + (uint64_t)(s[i] - '0');
  }
  return true;
}

/* requestParameters.backupRetentionPeriod: a non-negative integer, a real
 * (truncated) or a string of digits. From the bytes: a string, or a number
 * of at most 18 digits (jansson reads such exactly); any other number
 * (a sign, a fraction, an exponent) is jansson's. */
CTR__EXTRACT(x_backup_retention)
{
  CTR__NOARG();
  uint64_t v;
  bval b = at_src(ev, SRC_REQUEST, "backupRetentionPeriod");
  if (b.kind == B_STRING || b.kind == B_ABSENT || b.kind == B_TRUE || b.kind == B_FALSE || b.kind == B_NULL ||
      (b.kind == B_OTHER && (b.span.v[0] == '{' || b.span.v[0] == '['))) {
    ctr__str s = b.kind == B_STRING ? bstr(&b) : (ctr__str){"", 0};
    if (digits_u64(s.s, s.len, &v))
      ctr__value_u64(out, v);
    else
      ctr__value_absent(out);
    return CTR_OK;
  }
  if (b.kind == B_OTHER && b.span.len <= 18 && digits_u64(b.span.v, b.span.len, &v)) {
    ctr__value_u64(out, v);
    return CTR_OK;
  }
  const json_t *j = ctr__json_get(request(ev), "backupRetentionPeriod");
  if (json_is_integer(j) && json_integer_value(j) >= 0)
    ctr__value_u64(out, (uint64_t)json_integer_value(j));
  else if (json_is_real(j) && json_real_value(j) >= 0 && json_real_value(j) < 18446744073709551616.0)
    ctr__value_u64(out, (uint64_t)json_real_value(j));
  else if (json_is_string(j) && digits_u64(json_string_value(j), json_string_length(j), &v))
    ctr__value_u64(out, v);
  else
    ctr__value_absent(out);
  return CTR_OK;
}

/* ------------------------------------------------------------ snapshot sharing */

/* ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute with
 * requestParameters.attributeName "restore". */
static bool restore_attribute_call(const ctr__event *ev)
{
  bval name = at_top(ev, "eventName"), attr = {B_UNSURE, {NULL, 0, false}};
  if (name.kind != B_UNSURE && !bstr_is(&name, "ModifyDBSnapshotAttribute") &&
      !bstr_is(&name, "ModifyDBClusterSnapshotAttribute"))
    return false;
  if (name.kind != B_UNSURE && (attr = at_src(ev, SRC_REQUEST, "attributeName")).kind != B_UNSURE)
    return bstr_is(&attr, "restore");
  const char *n = json_string_value(ctr__event_get(ev, "eventName"));
  if (!n || (strcmp(n, "ModifyDBSnapshotAttribute") != 0 && strcmp(n, "ModifyDBClusterSnapshotAttribute") != 0))
    return false;
  const json_t *a = ctr__json_get(request(ev), "attributeName");
  return json_is_string(a) && strcmp(json_string_value(a), "restore") == 0;
}

/* The entries of requestParameters.<key> (an array, or a lone string) as text:
 * strings as they are, anything else as compact JSON. */
typedef struct entries {
  ctr__str *v;
  size_t n;
} entries;

/* One entry from the bytes: a string's content (copied, NUL-terminated),
 * or the text of true, false and null, which is their compact JSON; false
 * when jansson must say (an escape, a number, a container). */
static bool entry_bytes(const ctr__event *ev, bval b, ctr__str *out, int *rc)
{
  static const char *const words[] = {[B_TRUE] = "true", [B_FALSE] = "false", [B_NULL] = "null"};
  if (b.kind == B_TRUE || b.kind == B_FALSE || b.kind == B_NULL) {
    *out = (ctr__str){words[b.kind], strlen(words[b.kind])};
    return true;
  }
  if (b.kind != B_STRING)
    return false;
  out->s = ctr__bytes_string(ev, &b.span);
  out->len = b.span.len - 2;
  *rc = out->s ? CTR_OK : CTR_ENOMEM;
  return true;
}

/* At most this many entries are read from the bytes: each is found by a
 * walk of the array from its start. */
#define ENTRIES_FROM_BYTES 64

/* get_entries from the bytes: *decided false when jansson must read them. */
static int entries_bytes(const ctr__event *ev, const char *key, entries *e, bool *decided)
{
  *decided = false;
  bval b = at_src(ev, SRC_REQUEST, key);
  if (b.kind == B_UNSURE)
    return CTR_OK;
  bool array = b.kind == B_OTHER && b.span.v[0] == '[';
  bval items[ENTRIES_FROM_BYTES];
  size_t n = 0;
  if (b.kind == B_ABSENT) {
    *decided = true;
    return CTR_OK;
  }
  if (!array) {
    items[n++] = b;
  } else {
    for (;; n++) {
      ctr__pathstep step = {"", 0, n};
      ctr__bspan s;
      bval item = bval_of(ctr__walk_path(b.span.v, b.span.len, &step, 1, &s), &s);
      if (item.kind == B_ABSENT)
        break;
      if (item.kind == B_UNSURE || n == ENTRIES_FROM_BYTES)
        return CTR_OK;
      items[n] = item;
    }
  }
  ctr__str *v = n ? ctr__arena_alloc(ev->arena, n * sizeof *v) : NULL;
  if (n && !v)
    return CTR_ENOMEM;
  int rc = CTR_OK;
  for (size_t i = 0; i < n; i++)
    if (!entry_bytes(ev, items[i], &v[i], &rc))
      return CTR_OK;
    else if (rc != CTR_OK)
      return rc;
  *e = (entries){v, n};
  *decided = true;
  return CTR_OK;
}

static int get_entries(const ctr__event *ev, const char *key, entries *e)
{
  e->v = NULL;
  e->n = 0;
  bool decided;
  int brc = entries_bytes(ev, key, e, &decided);
  if (brc != CTR_OK || decided)
    return brc;
  e->v = NULL;
  e->n = 0;
  const json_t *j = ctr__json_get(request(ev), key);
  if (!j)
    return CTR_OK;
  size_t n = json_is_array(j) ? json_array_size(j) : 1;
  if (n == 0)
    return CTR_OK;
  ctr__str *v = ctr__arena_alloc(ev->arena, n * sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_is_array(j) ? json_array_get(j, i) : j;
    if (json_is_string(item)) {
      v[i].s = json_string_value(item);
      v[i].len = json_string_length(item);
    } else {
      ctr__value c;
      int rc = ctr__value_compact(ev, item, &c);
      if (rc != CTR_OK)
        return rc;
      v[i].s = c.str;
      v[i].len = c.len;
    }
  }
  e->v = v;
  e->n = n;
  return CTR_OK;
}

static bool is_all(const ctr__str *s)
{
  return s->len == 3 && strncasecmp(s->s, "all", 3) == 0;
}

/* A list value of the entries (absent when there are none), so that `in`
 * means "every account is in the set" and an exception with `in` accepts a
 * share to several trusted accounts at once. */
static void set_list(ctr__value *out, const ctr__str *v, size_t n)
{
  ctr__value_absent(out);
  if (n == 0)
    return;
  out->kind = CTR__V_LIST;
  out->items = v;
  out->count = n;
}

/* What every sharing field starts with: *out absent, and the entries of
 * requestParameters.<key> of a restore-attribute call. False when the field
 * is done, *rc saying how: CTR_OK (not such a call: absent) or the error
 * reading the entries. */
static bool restore_entries(const ctr__event *ev, const char *key, ctr__value *out, entries *e, int *rc)
{
  ctr__value_absent(out);
  *rc = CTR_OK;
  if (!restore_attribute_call(ev))
    return false;
  *rc = get_entries(ev, key, e);
  return *rc == CTR_OK;
}

static int entries_field(const ctr__event *ev, const char *key, ctr__value *out)
{
  entries e;
  int rc;
  if (restore_entries(ev, key, out, &e, &rc))
    set_list(out, e.v, e.n);
  return rc;
}

CTR__EXTRACT(x_shared_accounts)
{
  CTR__NOARG();
  return entries_field(ev, "valuesToAdd", out);
}

CTR__EXTRACT(x_unshared_accounts)
{
  CTR__NOARG();
  return entries_field(ev, "valuesToRemove", out);
}

/* The caller's account: userIdentity.accountId, else recipientAccountId
 * (non-empty strings); s NULL when neither. From the bytes where they tell. */
static ctr__str caller_account(const ctr__event *ev)
{
  static const ctr__pathstep path[] = {{"userIdentity", 12, SIZE_MAX}, {"accountId", 9, SIZE_MAX}};
  ctr__bspan s;
  bval a = bval_of(ctr__bytes_path(ev, path, CTR__COUNTOF(path), &s), &s);
  if (a.kind == B_STRING && a.span.len > 2)
    return bstr(&a);
  bval r = a.kind != B_UNSURE ? at_top(ev, "recipientAccountId") : a;
  if (r.kind != B_UNSURE)
    return r.kind == B_STRING && r.span.len > 2 ? bstr(&r) : (ctr__str){NULL, 0};
  const json_t *j = ctr__event_path(ev, "userIdentity.accountId");
  if (!json_is_string(j) || json_string_length(j) == 0)
    j = ctr__event_get(ev, "recipientAccountId");
  if (json_is_string(j) && json_string_length(j) > 0)
    return (ctr__str){json_string_value(j), json_string_length(j)};
  return (ctr__str){NULL, 0};
}

static bool is_account(const ctr__str *s, const ctr__str *me)
{
  return me->s && s->len == me->len && memcmp(s->s, me->s, s->len) == 0;
}

CTR__EXTRACT(x_shared_foreign)
{
  CTR__NOARG();
  entries e;
  int rc;
  if (!restore_entries(ev, "valuesToAdd", out, &e, &rc))
    return rc;
  ctr__str me = caller_account(ev);
  bool foreign = false;
  for (size_t i = 0; i < e.n && !foreign; i++)
    foreign = is_all(&e.v[i]) || !is_account(&e.v[i], &me);
  ctr__value_cstr(out, foreign ? "true" : "false");
  return CTR_OK;
}

/* Whether an entry is an item of a list argument (ctr__listarg_next). */
static bool in_listarg(const char *arg, const ctr__str *s)
{
  ctr__str item;
  while (ctr__listarg_next(&arg, &item))
    if (item.len == s->len && memcmp(item.s, s->s, s->len) == 0)
      return true;
  return false;
}

/* The entries of valuesToAdd that name another account: neither "all" (the
 * public share, a fact of its own) nor the caller's account; with [LIST],
 * nor one of the list's items, so that an alert names the accounts that are
 * not trusted. */
CTR__EXTRACT(x_shared_foreign_accounts)
{
  CTR__UNUSED(argnum);
  entries e;
  int rc;
  if (!restore_entries(ev, "valuesToAdd", out, &e, &rc))
    return rc;
  ctr__str me = caller_account(ev);
  size_t k = 0;
  for (size_t i = 0; i < e.n; i++)
    if (!is_all(&e.v[i]) && !is_account(&e.v[i], &me) && !(arg && in_listarg(arg, &e.v[i])))
      e.v[k++] = e.v[i]; /* e.v is this call's own arena copy */
  set_list(out, e.v, k);
  return CTR_OK;
}

CTR__EXTRACT(x_shared_public)
{
  CTR__NOARG();
  entries e;
  int rc;
  if (!restore_entries(ev, "valuesToAdd", out, &e, &rc))
    return rc;
  bool pub = false;
  for (size_t i = 0; i < e.n && !pub; i++)
    pub = is_all(&e.v[i]);
  ctr__value_cstr(out, pub ? "true" : "false");
  return CTR_OK;
}

/* ------------------------------------------------------------ parameter groups */

/* requestParameters.parameters of ModifyDB[Cluster]ParameterGroup and
 * ResetDB[Cluster]ParameterGroup: [{"parameterName", "parameterValue",
 * "applyMethod"}, ...]. */
static const json_t *params(const ctr__event *ev)
{
  /* Parsed only when the walked bytes hold an array there (or cannot say):
   * a rule on rds.params.* alone reads every record. */
  bval b = at_src(ev, SRC_REQUEST, "parameters");
  if (b.kind != B_UNSURE && (b.kind != B_OTHER || b.span.v[0] != '['))
    return NULL;
  const json_t *p = ctr__json_get(request(ev), "parameters");
  return json_is_array(p) ? p : NULL;
}

CTR__EXTRACT(x_params_names)
{
  CTR__NOARG();
  ctr__value_absent(out);
  const json_t *p = params(ev);
  size_t n = p ? json_array_size(p) : 0;
  if (n == 0)
    return CTR_OK;
  ctr__str *v = ctr__arena_alloc(ev->arena, n * sizeof *v);
  if (!v)
    return CTR_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *name = ctr__json_get(json_array_get(p, i), "parameterName");
    if (json_is_string(name))
      v[k++] = (ctr__str){json_string_value(name), json_string_length(name)};
  }
  set_list(out, v, k);
  return CTR_OK;
}

/* rds.params.value[NAME]: parameterValue of the entry named NAME (the last
 * one, as RDS applies them in order); a non-string value as compact JSON. */
CTR__EXTRACT(x_params_value)
{
  CTR__UNUSED(argnum);
  ctr__value_absent(out);
  const json_t *p = params(ev);
  const json_t *found = NULL;
  size_t alen = strlen(arg);
  for (size_t i = 0, n = p ? json_array_size(p) : 0; i < n; i++) {
    const json_t *entry = json_array_get(p, i);
    const json_t *name = ctr__json_get(entry, "parameterName");
    if (json_is_string(name) && json_string_length(name) == alen && memcmp(json_string_value(name), arg, alen) == 0)
      found = ctr__json_get(entry, "parameterValue");
  }
  if (json_is_string(found))
    set_json_str(out, found);
  else if (found)
    return ctr__value_compact(ev, found, out);
  return CTR_OK;
}

/* ------------------------------------------------------------ KMS keys */

/* The account of requestParameters.kmsKeyId when it is a key or alias ARN
 * (arn:PARTITION:kms:REGION:ACCOUNT:...); a bare key id or alias is the
 * caller's own account's and gives absent. */
CTR__EXTRACT(x_kms_account)
{
  CTR__NOARG();
  ctr__value_absent(out);
  ctr__str key = {NULL, 0};
  bval b = at_src(ev, SRC_REQUEST, "kmsKeyId");
  if (b.kind == B_STRING) {
    key = bstr(&b);
  } else if (b.kind == B_UNSURE) {
    const json_t *k = ctr__json_get(request(ev), "kmsKeyId");
    if (json_is_string(k))
      key = (ctr__str){json_string_value(k), json_string_length(k)};
  }
  if (!key.s)
    return CTR_OK;
  const char *s = key.s, *end = s + key.len;
  if (key.len < 4 || memcmp(s, "arn:", 4) != 0)
    return CTR_OK;
  /* The account is the fifth colon-separated part. */
  const char *part = s;
  for (int i = 0; i < 4; i++) {
    part = memchr(part, ':', (size_t)(end - part));
    if (!part)
      return CTR_OK;
    part++;
  }
  const char *stop = memchr(part, ':', (size_t)(end - part));
  if (stop && stop > part) {
    char *acct = ctr__arena_strndup(ev->arena, part, (size_t)(stop - part));
    if (!acct)
      return CTR_ENOMEM;
    ctr__value_str(out, acct, (size_t)(stop - part));
  }
  return CTR_OK;
}

/* ------------------------------------------------------------ the table */

#define F(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_NONE, 0}
/* FV: the identifier fields give a JSON string of the record or nothing
 * (CTR__RAW_VERBATIM); the others synthesise "true"/"false", "instance"/
 * "cluster", joined lists or numbers. */
#define FV(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_VERBATIM, 0}
#define S CTR__FT_STRING
#define U CTR__FT_UINT64
#define L CTR__FT_LIST
#define WHERE "requestParameters, else responseElements, else responseElements.{dBInstance,dBCluster,dBSnapshot,dBClusterSnapshot}"
#define RESTORE "only for ModifyDBSnapshotAttribute/ModifyDBClusterSnapshotAttribute with requestParameters.attributeName \"restore\""

const ctr__field_def ctr__fields_rds[] = {
  FV("rds.instance", S, x_instance, "dBInstanceIdentifier (a string) from " WHERE "."),
  FV("rds.cluster", S, x_cluster, "dBClusterIdentifier (a string) from " WHERE "."),
  FV("rds.snapshot", S, x_snapshot,
     "dBSnapshotIdentifier or dBClusterSnapshotIdentifier (strings) from " WHERE "."),
  F("rds.snapshot.type", S, x_snapshot_type,
    "\"instance\" if rds.snapshot came from dBSnapshotIdentifier, \"cluster\" if from dBClusterSnapshotIdentifier; "
    "absent otherwise."),
  FV("rds.securitygroup", S, x_securitygroup, "dBSecurityGroupName (a string) from " WHERE "."),
  FV("rds.parametergroup", S, x_parametergroup,
     "dBParameterGroupName or dBClusterParameterGroupName (strings) from " WHERE "."),
  FV("rds.resource", S, x_resource,
     "One id for outputs: the first string among dBInstanceIdentifier, dBClusterIdentifier, dBSnapshotIdentifier, "
     "dBClusterSnapshotIdentifier, dBSecurityGroupName, dBParameterGroupName, dBClusterParameterGroupName, "
     "globalClusterIdentifier, looked for in " WHERE " (all keys in one place before the next)."),
  F("rds.public", S, x_public,
    "\"true\" if publiclyAccessible is true (JSON bool or \"true\") in " WHERE "; \"false\" if present and false "
    "wherever present; absent otherwise."),
  F("rds.shared.accounts", L, x_shared_accounts,
    "List: the entries of requestParameters.valuesToAdd (\"all\" or account ids), " RESTORE "; absent otherwise or "
    "when empty."),
  F("rds.unshared.accounts", L, x_unshared_accounts,
    "List: the entries of requestParameters.valuesToRemove, " RESTORE "; absent otherwise or when empty."),
  {"rds.shared.foreign_accounts", L, CTR__ARG_LIST_OPTIONAL, x_shared_foreign_accounts,
   "List: the entries of requestParameters.valuesToAdd that are neither \"all\" nor the caller's account "
   "(userIdentity.accountId, else recipientAccountId), " RESTORE "; absent otherwise or when none. "
   "rds.shared.foreign_accounts[LIST]: also none of the items of the rules list LIST (e.g. rds_trusted_accounts), "
   "read when the rules compile.",
   CTR__RAW_NONE, 0},
  F("rds.shared.foreign", S, x_shared_foreign,
    "\"true\" if any requestParameters.valuesToAdd entry is \"all\" or differs from the caller's account "
    "(userIdentity.accountId, else recipientAccountId), else \"false\"; " RESTORE ", absent otherwise."),
  F("rds.shared.public", S, x_shared_public,
    "\"true\" if requestParameters.valuesToAdd contains \"all\", else \"false\"; " RESTORE ", absent otherwise."),
  FV("rds.engine", S, x_engine, "engine (a string) from " WHERE "."),
  F("rds.deletion_protection", S, x_deletion_protection,
    "requestParameters.deletionProtection (JSON bool or \"true\"/\"false\") as \"true\"/\"false\"; absent otherwise."),
  F("rds.backup_retention", U, x_backup_retention,
    "requestParameters.backupRetentionPeriod (integer, truncated real or digit string) as a number; absent otherwise."),
  F("rds.skip_final_snapshot", S, x_skip_final_snapshot,
    "requestParameters.skipFinalSnapshot (JSON bool or \"true\"/\"false\") as \"true\"/\"false\"; absent otherwise."),
  FV("rds.params.names", L, x_params_names,
     "List: the parameterName strings of requestParameters.parameters (ModifyDB[Cluster]ParameterGroup, "
     "ResetDB[Cluster]ParameterGroup); absent when there are none."),
  {"rds.params.value", S, CTR__ARG_KEY_REQUIRED, x_params_value,
   "rds.params.value[NAME]: parameterValue of the requestParameters.parameters entry whose parameterName is NAME "
   "(exact case; the last such entry); a non-string value as compact JSON; absent if no entry or no value.",
   CTR__RAW_NONE, 0},
  F("rds.kms.account", S, x_kms_account,
    "The account id in requestParameters.kmsKeyId when it is an ARN (arn:PARTITION:kms:REGION:ACCOUNT:...); "
    "absent for a bare key id or alias (the caller's own account) or when missing."),
};

const size_t ctr__fields_rds_count = CTR__COUNTOF(ctr__fields_rds);
