/*
 * fields_cloudtrail.c - the fields of Falco's CloudTrail plugin (ct.*, s3.*,
 * ec2.*, ecr.*, iam.*), with the plugin's semantics: a field is absent when
 * its key is missing; present but not a JSON string gives "" (the "plain"
 * rule); exceptions are described field by field. Where the plugin has a bug
 * we implement what its documentation promises (see docs/fields.md).
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* One step of a field's path, cut when the path is written rather than on
 * every read. */
#define STEP(key) {key, sizeof key - 1, SIZE_MAX}
/* A field's path of object keys: STEP()s. */
#define PATH(name, ...) static const ctr__pathstep name[] = {__VA_ARGS__}

/* A field that is the plain value of a top-level member, or of a member of
 * a top-level object. */
#define PLAIN(fn, key) PLAIN_PATH(fn, STEP(key))
#define PLAIN_IN(fn, object, key) PLAIN_PATH(fn, STEP(object), STEP(key))
#define PLAIN_PATH(fn, ...)                                           \
  CTR__EXTRACT(fn)                                                    \
  {                                                                   \
    CTR__NOARG();                                                     \
    PATH(path, __VA_ARGS__);                                          \
    set_sv(out, plain_pv(ctr__event_steps_value(ev, path, CTR__COUNTOF(path)))); \
    return CTR_OK;                                                    \
  }

/* A field that is one top-level member re-serialised as compact JSON: from
 * the walked bytes where they hold it as jansson's text would be
 * (ctr__bytes_compact), else parsed. */
#define COMPACT(fn, key)                                              \
  CTR__EXTRACT(fn)                                                    \
  {                                                                   \
    CTR__NOARG();                                                     \
    int rc;                                                           \
    if (compact_member(ev, key, out, &rc))                            \
      return rc;                                                      \
    return ctr__value_compact(ev, ctr__event_get(ev, key), out);      \
  }

/* A borrowed string; s == NULL means absent. */
typedef struct sv {
  const char *s;
  size_t len;
} sv;

static sv sv_of(const char *s, size_t len)
{
  sv v = {s, len};
  return v;
}

static sv sv_lit(const char *s)
{
  return sv_of(s, strlen(s));
}

static const sv SV_ABSENT = {NULL, 0};

/* The JSON string value of j, or absent (also when j is not a string). */
static sv str_of(const json_t *j)
{
  if (!json_is_string(j))
    return SV_ABSENT;
  return sv_of(json_string_value(j), json_string_length(j));
}

/* The string at a path of the record (PATH), read from its bytes where it
 * can be (ctr__event_steps_value): absent when missing or not a string. */
#define str_at(ev, path) str_of_pv(ctr__event_steps_value(ev, path, CTR__COUNTOF(path)))
static sv str_of_pv(ctr__pathval pv)
{
  return pv.kind == CTR__PV_STRING ? sv_of(pv.s, pv.len) : SV_ABSENT;
}

/* The same by the plain rule: "" when present but not a string. */
static sv plain_pv(ctr__pathval pv)
{
  return pv.kind == CTR__PV_ABSENT ? SV_ABSENT : pv.kind == CTR__PV_OTHER ? sv_of("", 0) : sv_of(pv.s, pv.len);
}

#define plain_at(ev, path) plain_pv(ctr__event_steps_value(ev, path, CTR__COUNTOF(path)))

static bool sv_eq(sv a, const char *lit)
{
  size_t n = strlen(lit);
  return a.s && a.len == n && memcmp(a.s, lit, n) == 0;
}

static void set_sv(ctr__value *out, sv v)
{
  if (v.s)
    ctr__value_str(out, v.s, v.len);
  else
    ctr__value_absent(out);
}

/* set_sv for a substring: values must be NUL-terminated, so a substring that
 * does not end its string is copied into the arena. */
static int set_sv_term(const ctr__event *ev, ctr__value *out, sv v)
{
  if (v.s && v.s[v.len] != '\0') {
    char *p = ctr__arena_strndup(ev->arena, v.s, v.len);
    if (!p)
      return CTR_ENOMEM;
    v.s = p;
  }
  set_sv(out, v);
  return CTR_OK;
}

/* Concatenates pieces into the arena. */
static int concat(const ctr__event *ev, const sv *parts, size_t n, ctr__value *out)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += parts[i].len;
  char *p = ctr__arena_alloc(ev->arena, total + 1);
  if (!p)
    return CTR_ENOMEM;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    if (parts[i].len)
      memcpy(p + at, parts[i].s, parts[i].len);
    at += parts[i].len;
  }
  p[at] = '\0';
  ctr__value_str(out, p, at);
  return CTR_OK;
}

/* ------------------------------------------------------------ compact JSON from the bytes */

/* A top-level member as compact JSON from the walked bytes: true when
 * decided (*rc CTR_OK, or CTR_ENOMEM), false when jansson must write it. */
static bool compact_member(const ctr__event *ev, const char *key, ctr__value *out, int *rc)
{
  ctr__bspan s;
  ctr__step st = ctr__bytes_member(ev, key, strlen(key), &s);
  *rc = CTR_OK;
  if (st == CTR__STEP_UNSURE)
    return false;
  if (st == CTR__STEP_ABSENT) {
    ctr__value_absent(out);
    return true;
  }
  char *p = ctr__arena_alloc(ev->arena, s.len + 1);
  if (!p) {
    *rc = CTR_ENOMEM;
    return true;
  }
  size_t n = ctr__bytes_compact(s.v, s.len, p);
  if (n == (size_t)-1)
    return false; /* the arena keeps the bytes until the record ends */
  p[n] = '\0';
  ctr__value_str(out, p, n);
  return true;
}

/* ------------------------------------------------------------ identity */

PATH(ui_type, STEP("userIdentity"), STEP("type"));
PATH(ui_username, STEP("userIdentity"), STEP("userName"));
PATH(ui_invokedby, STEP("userIdentity"), STEP("invokedBy"));
PATH(ui_issuer_username, STEP("userIdentity"), STEP("sessionContext"), STEP("sessionIssuer"), STEP("userName"));
PATH(ui_arn, STEP("userIdentity"), STEP("arn"));
PATH(ui_principalid, STEP("userIdentity"), STEP("principalId"));
PATH(ui_accountid, STEP("userIdentity"), STEP("accountId"));
PATH(recipient_accountid, STEP("recipientAccountId"));
PATH(event_source, STEP("eventSource"));
PATH(name_path, STEP("eventName"));
PATH(source_ip, STEP("sourceIPAddress"));

/* ct.user: by userIdentity.type (must be a string). Root, IAMUser ->
 * userName; AWSService -> invokedBy; AssumedRole -> the issuing role's name,
 * else the literal "AssumedRole"; AWSAccount, FederatedUser -> the literal;
 * anything else -> absent. Only JSON strings are taken, as the plugin does. */
static sv user_of(const ctr__event *ev)
{
  sv type = str_at(ev, ui_type);
  if (!type.s)
    return SV_ABSENT;
  if (sv_eq(type, "Root") || sv_eq(type, "IAMUser"))
    return str_at(ev, ui_username);
  if (sv_eq(type, "AWSService"))
    return str_at(ev, ui_invokedby);
  if (sv_eq(type, "AssumedRole")) {
    sv role = str_at(ev, ui_issuer_username);
    return role.s ? role : sv_lit("AssumedRole");
  }
  if (sv_eq(type, "AWSAccount"))
    return sv_lit("AWSAccount");
  if (sv_eq(type, "FederatedUser"))
    return sv_lit("FederatedUser");
  return SV_ABSENT;
}

CTR__EXTRACT(x_user)
{
  CTR__NOARG();
  set_sv(out, user_of(ev));
  return CTR_OK;
}

/* ct.originaluser: for AssumedRole the session name - the 3rd part of
 * userIdentity.arn split on '/' when it has exactly 3 parts, else the 2nd part
 * of userIdentity.principalId split on ':'; for any other type
 * userIdentity.userName. */
static sv original_user_of(const ctr__event *ev)
{
  sv type = str_at(ev, ui_type);
  if (!sv_eq(type, "AssumedRole"))
    return str_at(ev, ui_username);
  sv arn = str_at(ev, ui_arn);
  if (arn.s) {
    const char *s1 = memchr(arn.s, '/', arn.len);
    const char *s2 = s1 ? memchr(s1 + 1, '/', arn.len - (size_t)(s1 + 1 - arn.s)) : NULL;
    const char *s3 = s2 ? memchr(s2 + 1, '/', arn.len - (size_t)(s2 + 1 - arn.s)) : NULL;
    if (s2 && !s3)
      return sv_of(s2 + 1, arn.len - (size_t)(s2 + 1 - arn.s));
  }
  sv pid = str_at(ev, ui_principalid);
  if (pid.s) {
    const char *c1 = memchr(pid.s, ':', pid.len);
    if (c1) {
      const char *start = c1 + 1;
      size_t rest = pid.len - (size_t)(start - pid.s);
      const char *c2 = memchr(start, ':', rest);
      return sv_of(start, c2 ? (size_t)(c2 - start) : rest);
    }
  }
  return SV_ABSENT;
}

CTR__EXTRACT(x_originaluser)
{
  CTR__NOARG();
  return set_sv_term(ev, out, original_user_of(ev));
}

CTR__EXTRACT(x_accountid)
{
  CTR__NOARG();
  ctr__pathval pv = ctr__event_steps_value(ev, ui_accountid, CTR__COUNTOF(ui_accountid));
  if (pv.kind == CTR__PV_ABSENT)
    pv = ctr__event_steps_value(ev, recipient_accountid, CTR__COUNTOF(recipient_accountid));
  set_sv(out, plain_pv(pv));
  return CTR_OK;
}

/* ------------------------------------------------------------ plain fields */

PLAIN(x_id, "eventID")
PLAIN(x_error, "errorCode")
PLAIN(x_errormessage, "errorMessage")
PLAIN(x_time, "eventTime")
PLAIN(x_src, "eventSource")
PLAIN(x_name, "eventName")
PLAIN_IN(x_identitytype, "userIdentity", "type")
PLAIN_IN(x_principalid, "userIdentity", "principalId")
PLAIN_IN(x_arn, "userIdentity", "arn")
PLAIN(x_region, "awsRegion")
PLAIN(x_srcip, "sourceIPAddress")
PLAIN(x_useragent, "userAgent")
PLAIN(x_requestid, "requestID")
PLAIN(x_eventtype, "eventType")
PLAIN(x_apiversion, "apiVersion")
PLAIN(x_recipientaccountid, "recipientAccountId")
PLAIN(x_sharedeventid, "sharedEventID")
PLAIN(x_vpcendpointid, "vpcEndpointId")
PLAIN(x_eventcategory, "eventCategory")
PLAIN(x_serviceeventdetails, "serviceEventDetails")
PLAIN(x_edgedevicedetails, "edgeDeviceDetails")
PLAIN_IN(x_addendum_reason, "addendum", "reason")
PLAIN_IN(x_addendum_updatedfields, "addendum", "updatedFields")
PLAIN_IN(x_addendum_originalrequestid, "addendum", "originalRequestID")
PLAIN_IN(x_addendum_originaleventid, "addendum", "originalEventID")
PLAIN_IN(x_tls_version, "tlsDetails", "tlsVersion")
PLAIN_IN(x_tls_ciphersuite, "tlsDetails", "cipherSuite")
PLAIN_IN(x_tls_host, "tlsDetails", "clientProvidedHostHeader")
PLAIN_IN(x_resp_subnetid, "responseElements", "subnetId")
PLAIN_IN(x_resp_reservationid, "responseElements", "reservationId")
PLAIN_IN(x_req_availabilityzone, "requestParameters", "availabilityZone")
PLAIN_IN(x_req_cluster, "requestParameters", "cluster")
PLAIN_IN(x_req_functionname, "requestParameters", "functionName")
PLAIN_IN(x_req_groupname, "requestParameters", "groupName")
PLAIN_IN(x_req_host, "requestParameters", "Host")
PLAIN_IN(x_req_name, "requestParameters", "name")
PLAIN_IN(x_req_policy, "requestParameters", "policy")
PLAIN_IN(x_req_reason, "requestParameters", "reason")
PLAIN_IN(x_req_target, "requestParameters", "target")
PLAIN_IN(x_req_documentname, "requestParameters", "documentName")
PLAIN_IN(x_req_serialnumber, "requestParameters", "serialNumber")
PLAIN_IN(x_req_servicename, "requestParameters", "serviceName")
PLAIN_IN(x_req_subnetid, "requestParameters", "subnetId")
PLAIN_IN(x_req_taskdefinition, "requestParameters", "taskDefinition")
PLAIN_IN(x_req_username, "requestParameters", "userName")
PLAIN_IN(x_s3_bucket, "requestParameters", "bucketName")
PLAIN_IN(x_s3_key, "requestParameters", "key")
PLAIN_IN(x_ecr_repository, "requestParameters", "repositoryName")
PLAIN_IN(x_ecr_imagetag, "requestParameters", "imageTag")
PLAIN_IN(x_iam_role, "requestParameters", "roleName")
PLAIN_IN(x_iam_policy, "requestParameters", "policyName")

COMPACT(x_request, "requestParameters")
COMPACT(x_response, "responseElements")
COMPACT(x_additionaleventdata, "additionalEventData")

CTR__EXTRACT(x_shortsrc)
{
  CTR__NOARG();
  static const char trailer[] = ".amazonaws.com";
  const size_t tn = sizeof trailer - 1;
  sv src = plain_at(ev, event_source);
  if (src.s && src.len > tn && memcmp(src.s + src.len - tn, trailer, tn) == 0)
    src.len -= tn;
  return set_sv_term(ev, out, src);
}

/* ------------------------------------------------------------ booleans */

/* Whether a top-level member is JSON true (or, with also_string, the
 * string "true"): -1 when absent, else 1 or 0. From the walked bytes where
 * they tell (a scalar's span is its token, a plain string's its quotes and
 * content), so that no record is parsed for a flag. */
static int true_member(const ctr__event *ev, const char *key, bool also_string)
{
  ctr__bspan s;
  ctr__step st = ctr__bytes_member(ev, key, strlen(key), &s);
  if (st == CTR__STEP_ABSENT)
    return -1;
  if (st == CTR__STEP_FOUND && (s.v[0] != '"' || s.plain))
    return (s.len == 4 && memcmp(s.v, "true", 4) == 0) ||
           (also_string && s.len == 6 && memcmp(s.v, "\"true\"", 6) == 0);
  const json_t *j = ctr__event_get(ev, key);
  if (!j)
    return -1;
  return json_is_true(j) || (also_string && sv_eq(str_of(j), "true"));
}

/* The plugin's GetBool(): "true" only for JSON true; any other present value
 * (false, "True", null, ...) gives "false"; a missing key is absent. */
static void bool_field(int yes, ctr__value *out)
{
  if (yes < 0)
    ctr__value_absent(out);
  else
    ctr__value_cstr(out, yes ? "true" : "false");
}

CTR__EXTRACT(x_managementevent)
{
  CTR__NOARG();
  bool_field(true_member(ev, "managementEvent", false), out);
  return CTR_OK;
}

CTR__EXTRACT(x_readonly)
{
  CTR__NOARG();
  bool_field(true_member(ev, "readOnly", false), out);
  return CTR_OK;
}

/* AWS writes sessionCredentialFromConsole as the string "true"; the plugin
 * only understands a JSON bool (bug). Both are accepted here. */
CTR__EXTRACT(x_sessioncredentialfromconsole)
{
  CTR__NOARG();
  bool_field(true_member(ev, "sessionCredentialFromConsole", true), out);
  return CTR_OK;
}

/* ------------------------------------------------------------ ct.resources */

CTR__EXTRACT(x_resources)
{
  CTR__NOARG();
  const json_t *res = ctr__event_get(ev, "resources");
  size_t n = json_is_array(res) ? json_array_size(res) : 0;
  if (n == 0) {
    ctr__value_absent(out);
    return CTR_OK;
  }
  if (n == 1)
    return ctr__value_compact(ev, json_array_get(res, 0), out);
  /* Serialise each element into the arena, then join them with ','. */
  sv *parts = ctr__arena_alloc(ev->arena, (2 * n - 1) * sizeof *parts);
  if (!parts)
    return CTR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    ctr__value v;
    int rc = ctr__value_compact(ev, json_array_get(res, i), &v);
    if (rc != CTR_OK)
      return rc;
    if (i)
      parts[2 * i - 1] = sv_of(",", 1);
    parts[2 * i] = sv_of(v.str, v.len);
  }
  return concat(ev, parts, 2 * n - 1, out);
}

/* ------------------------------------------------------------ s3.* */

/* The plugin's GetUint64(): an integer or a real >= 0 (truncated); anything
 * else present counts as 0. */
static uint64_t u64_of(const json_t *j)
{
  if (json_is_integer(j)) {
    json_int_t v = json_integer_value(j);
    return v > 0 ? (uint64_t)v : 0;
  }
  if (json_is_real(j)) {
    double d = json_real_value(j);
    if (d >= 0 && d < 18446744073709551616.0)
      return (uint64_t)d;
  }
  return 0;
}

PATH(aed_bytes_in, STEP("additionalEventData"), STEP("bytesTransferredIn"));
PATH(aed_bytes_out, STEP("additionalEventData"), STEP("bytesTransferredOut"));

/* u64_of of a value of a walked record from its bytes, for the forms AWS
 * writes (89, 89.0, 0.0) and any non-number: true when decided. Other
 * numbers are left to jansson: a longer integer may overflow its json_int_t,
 * and a real is a double (exact to 15 digits; a fraction may round up). */
static bool u64_of_bytes(const ctr__bspan *s, uint64_t *v)
{
  *v = 0;
  if (!strchr("-0123456789", s->v[0]))
    return true; /* a string, true, false, null, an object or an array */
  size_t i = s->v[0] == '-', digits = 0;
  uint64_t n = 0;
  for (; i < s->len && s->v[i] >= '0' && s->v[i] <= '9' && digits < 18; i++, digits++)
    n = n * 10 + (uint64_t)(s->v[i] - '0');
  if (i < s->len && s->v[i] == '.' && digits <= 15)
    for (i++; i < s->len && s->v[i] == '0';)
      i++;
  if (i < s->len || digits == 0)
    return false;
  *v = s->v[0] == '-' ? 0 : n;
  return true;
}

/* s3.bytes (in + out), s3.bytes.in, s3.bytes.out: present when any of the
 * keys read exists in additionalEventData. */
static bool s3_bytes(const ctr__event *ev, bool in, bool outb, uint64_t *v)
{
  /* From the walked bytes: most records have neither key, and those that
   * have them write them as u64_of_bytes reads them. */
  const ctr__pathstep *paths[2] = {in ? aed_bytes_in : NULL, outb ? aed_bytes_out : NULL};
  bool any = false, sure = true;
  *v = 0;
  for (size_t i = 0; i < 2 && sure; i++) {
    ctr__bspan s;
    uint64_t n = 0;
    ctr__step st = paths[i] ? ctr__bytes_path(ev, paths[i], 2, &s) : CTR__STEP_ABSENT;
    if (st == CTR__STEP_ABSENT)
      continue;
    any = true;
    sure = st == CTR__STEP_FOUND && u64_of_bytes(&s, &n);
    *v += n;
  }
  if (sure)
    return any;
  const json_t *aed = ctr__event_get(ev, "additionalEventData");
  const json_t *ji = in ? ctr__json_get(aed, "bytesTransferredIn") : NULL;
  const json_t *jo = outb ? ctr__json_get(aed, "bytesTransferredOut") : NULL;
  *v = u64_of(ji) + u64_of(jo);
  return ji || jo;
}

CTR__EXTRACT(x_s3_bytes)
{
  CTR__NOARG();
  uint64_t v;
  if (s3_bytes(ev, true, true, &v))
    ctr__value_u64(out, v);
  else
    ctr__value_absent(out);
  return CTR_OK;
}

CTR__EXTRACT(x_s3_bytes_in)
{
  CTR__NOARG();
  uint64_t v;
  if (s3_bytes(ev, true, false, &v))
    ctr__value_u64(out, v);
  else
    ctr__value_absent(out);
  return CTR_OK;
}

CTR__EXTRACT(x_s3_bytes_out)
{
  CTR__NOARG();
  uint64_t v;
  if (s3_bytes(ev, false, true, &v))
    ctr__value_u64(out, v);
  else
    ctr__value_absent(out);
  return CTR_OK;
}

PATH(rp_bucket, STEP("requestParameters"), STEP("bucketName"));
PATH(rp_key, STEP("requestParameters"), STEP("key"));
PATH(rp_host, STEP("requestParameters"), STEP("Host"));

/* The pieces of s3://<bucketName>/<key> into parts[0..4) (s3.uri, ct.info's
 * URI=), false unless both keys exist (plain values). Read from the walked
 * bytes where they can be: requestParameters is often the record's largest
 * member. */
static bool s3_uri_parts(const ctr__event *ev, sv *parts)
{
  sv bucket = plain_at(ev, rp_bucket), key = plain_at(ev, rp_key);
  parts[0] = sv_lit("s3://"), parts[1] = bucket, parts[2] = sv_of("/", 1), parts[3] = key;
  return bucket.s && key.s;
}

CTR__EXTRACT(x_s3_uri)
{
  CTR__NOARG();
  sv parts[4];
  if (!s3_uri_parts(ev, parts)) {
    ctr__value_absent(out);
    return CTR_OK;
  }
  return concat(ev, parts, CTR__COUNTOF(parts), out);
}

/* The plugin leaves s3.cnt.* absent when they do not apply although its
 * documentation says 0; they are 0 here. */
static sv event_name(const ctr__event *ev)
{
  sv n = str_at(ev, name_path);
  return n.s ? n : sv_of("", 0);
}

CTR__EXTRACT(x_s3_cnt_get)
{
  CTR__NOARG();
  ctr__value_u64(out, sv_eq(event_name(ev), "GetObject") ? 1 : 0);
  return CTR_OK;
}

CTR__EXTRACT(x_s3_cnt_put)
{
  CTR__NOARG();
  ctr__value_u64(out, sv_eq(event_name(ev), "PutObject") ? 1 : 0);
  return CTR_OK;
}

CTR__EXTRACT(x_s3_cnt_other)
{
  CTR__NOARG();
  sv n = event_name(ev);
  ctr__value_u64(out, sv_eq(n, "GetObject") || sv_eq(n, "PutObject") ? 0 : 1);
  return CTR_OK;
}

/* ------------------------------------------------------------ ct.info */

#define INFO_READ "\xe2\x86\x90"  /* U+2190 LEFTWARDS ARROW */
#define INFO_WRITE "\xe2\x86\x92" /* U+2192 RIGHTWARDS ARROW */

/* <ct.user> via <ct.srcip> [!]<arrow> <eventName>, then event details:
 * PutBucketPublicAccessBlock -> its four flags; otherwise " Size=<s3.bytes>"
 * and the first of URI=, Bucket=, Key=, Host=. */
CTR__EXTRACT(x_info)
{
  CTR__NOARG();
  sv user = user_of(ev);
  if (!user.s) {
    ctr__value_cstr(out, "<invalid cloudtrail event: userIdentity field missing>");
    return CTR_OK;
  }
  sv srcip = plain_at(ev, source_ip);
  if (!srcip.s) {
    ctr__value_cstr(out, "<invalid cloudtrail event: eventSource field missing>");
    return CTR_OK;
  }
  bool err = ctr__event_get(ev, "errorCode") != NULL;
  const json_t *ro = ctr__event_get(ev, "readOnly");
  bool write = ro && !json_is_true(ro); /* ct.readonly == "false" */
  sv name = plain_at(ev, name_path);
  if (!name.s) {
    ctr__value_cstr(out, "<invalid cloudtrail event: eventName field missing>");
    return CTR_OK;
  }

  sv parts[24];
  size_t n = 0;
  parts[n++] = user;
  if (!(user.len == srcip.len && memcmp(user.s, srcip.s, user.len) == 0)) {
    parts[n++] = sv_lit(" via ");
    parts[n++] = srcip;
  }
  parts[n++] = sv_of(" ", 1);
  if (err)
    parts[n++] = sv_of("!", 1);
  parts[n++] = sv_lit(write ? INFO_WRITE : INFO_READ);
  parts[n++] = sv_of(" ", 1);
  parts[n++] = name;

  if (sv_eq(name, "PutBucketPublicAccessBlock")) {
    /* The plugin reads the four flags from the record root (always false);
     * they are read from the configuration object here. */
    const json_t *pac = ctr__event_path(ev, "requestParameters.PublicAccessBlockConfiguration");
    if (json_is_object(pac)) {
      static const char *const flags[] = {"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                          "RestrictPublicBuckets"};
      for (size_t i = 0; i < CTR__COUNTOF(flags); i++) {
        parts[n++] = sv_of(" ", 1);
        parts[n++] = sv_lit(flags[i]);
        parts[n++] = sv_lit(json_is_true(json_object_get(pac, flags[i])) ? "=true" : "=false");
      }
      parts[n++] = sv_of(" ", 1);
    }
    return concat(ev, parts, n, out);
  }

  char size[32];
  uint64_t bytes;
  if (s3_bytes(ev, true, true, &bytes)) {
    int k = snprintf(size, sizeof size, " Size=%llu", (unsigned long long)bytes);
    parts[n++] = sv_of(size, (size_t)k);
  }
  sv uri[4];
  bool both = s3_uri_parts(ev, uri);
  sv bucket = uri[1], key = uri[3];
  if (both) {
    parts[n++] = sv_lit(" URI=");
    memcpy(parts + n, uri, sizeof uri);
    n += CTR__COUNTOF(uri);
  } else if (bucket.s || key.s) {
    parts[n++] = sv_lit(bucket.s ? " Bucket=" : " Key=");
    parts[n++] = bucket.s ? bucket : key;
  } else {
    sv host = plain_at(ev, rp_host);
    if (host.s) {
      parts[n++] = sv_lit(" Host=");
      parts[n++] = host;
    }
  }
  return concat(ev, parts, n, out);
}

/* ------------------------------------------------------------ ec2.* */

/* ec2.name: the value of the tag "Name" of the requestParameters
 * tagSpecificationSet item whose resourceType is "instance" (the last such
 * item that has one); absent when none or empty. */
CTR__EXTRACT(x_ec2_name)
{
  CTR__NOARG();
  const json_t *items = ctr__event_path(ev, "requestParameters.tagSpecificationSet.items");
  sv name = SV_ABSENT;
  for (size_t i = 0, n = json_is_array(items) ? json_array_size(items) : 0; i < n; i++) {
    const json_t *item = json_array_get(items, i);
    if (!sv_eq(str_of(ctr__json_get(item, "resourceType")), "instance"))
      continue;
    const json_t *tags = ctr__json_get(item, "tags");
    for (size_t t = 0, nt = json_is_array(tags) ? json_array_size(tags) : 0; t < nt; t++) {
      const json_t *tag = json_array_get(tags, t);
      if (sv_eq(str_of(ctr__json_get(tag, "key")), "Name")) {
        name = str_of(ctr__json_get(tag, "value"));
        break;
      }
    }
  }
  if (name.s && name.len == 0)
    name = SV_ABSENT;
  set_sv(out, name);
  return CTR_OK;
}

/* The image ids: responseElements.instancesSet.items[].imageId (strings);
 * when there are none, the first of requestParameters.imageId,
 * requestParameters.DescribeFastLaunchImagesRequest.ImageId.content and
 * requestParameters.launchSpecification.imageId, as a one-element list. */
static int image_ids(const ctr__event *ev, ctr__value *out)
{
  ctr__value_absent(out);
  const json_t *items = ctr__event_path(ev, "responseElements.instancesSet.items");
  size_t n = json_is_array(items) ? json_array_size(items) : 0;
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    if (json_is_string(ctr__json_get(json_array_get(items, i), "imageId")))
      count++;
  sv single = SV_ABSENT;
  if (count == 0) {
    static const char *const paths[] = {"requestParameters.imageId",
                                        "requestParameters.DescribeFastLaunchImagesRequest.ImageId.content",
                                        "requestParameters.launchSpecification.imageId"};
    for (size_t i = 0; i < CTR__COUNTOF(paths) && !single.s; i++)
      single = str_of(ctr__event_path(ev, paths[i]));
    if (!single.s)
      return CTR_OK;
    count = 1;
  }
  ctr__str *list = ctr__arena_alloc(ev->arena, count * sizeof *list);
  if (!list)
    return CTR_ENOMEM;
  if (single.s) {
    list[0].s = single.s;
    list[0].len = single.len;
  } else {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      sv id = str_of(ctr__json_get(json_array_get(items, i), "imageId"));
      if (id.s) {
        list[k].s = id.s;
        list[k].len = id.len;
        k++;
      }
    }
  }
  out->kind = CTR__V_LIST;
  out->items = list;
  out->count = count;
  return CTR_OK;
}

/* Element `idx` of the image ids as a string; absent when out of range. */
static int image_id_at(const ctr__event *ev, uint64_t idx, ctr__value *out)
{
  ctr__value list;
  int rc = image_ids(ev, &list);
  if (rc != CTR_OK)
    return rc;
  if (list.kind != CTR__V_LIST || idx >= list.count)
    ctr__value_absent(out);
  else
    ctr__value_str(out, list.items[idx].s, list.items[idx].len);
  return CTR_OK;
}

CTR__EXTRACT(x_ec2_imageids)
{
  if (arg)
    return image_id_at(ev, argnum, out);
  return image_ids(ev, out);
}

CTR__EXTRACT(x_ec2_imageid)
{
  CTR__NOARG();
  return image_id_at(ev, 0, out);
}

/* ------------------------------------------------------------ the table */

#define F(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_NONE, 0}
/* FV: the value is verbatim in the record's bytes (CTR__RAW_VERBATIM). The
 * plain fields take a JSON string's content or ""; ct.shortsrc and
 * ct.originaluser cut a part out of one; ct.user is a string of the record
 * or one of the literals "AssumedRole", "AWSAccount", "FederatedUser", each
 * given only when userIdentity.type is that very string; ec2.* take strings
 * only. Every other field here formats, joins or synthesises its value. */
#define FV(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_VERBATIM, 0}
/* FV_IN: verbatim, and every value from inside one top-level member (the
 * CTR__TOP_ key `top`): the prefilter looks for its literals in that
 * member's bytes only. */
#define FV_IN(name, type, fn, top, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_VERBATIM, 1 + (top)}
/* FJ: one top-level member as compact JSON (COMPACT), json.value's
 * CTR__RAW_JSON_LEAF: with no escape in the record, a string member is its
 * token as the bytes hold it, true, false and null are verbatim, and the
 * content of every string inside an object or array is too; only numbers
 * and whitespace differ, which the prefilter's literal checks for
 * CTR__RAW_JSON_LEAF leave out (prefilter_literals.c). Without it a rule
 * such as `ct.request contains "0.0.0.0/0"` parsed every record. */
#define FJ(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_JSON_LEAF, 0}
/* FJT: values as compact JSON joined with ',' (ct.resources): only literals
 * inside one string's content are searched (CTR__RAW_JSON_TEXT). */
#define FJT(name, type, fn, desc) {name, type, CTR__ARG_NONE, fn, desc, CTR__RAW_JSON_TEXT, 0}
#define S CTR__FT_STRING
#define U CTR__FT_UINT64

const ctr__field_def ctr__fields_cloudtrail[] = {
  FV("ct.id", S, x_id, "eventID (absent if missing; \"\" if not a string, like every plain ct.* field)."),
  FV_IN("ct.error", S, x_error, CTR__TOP_ERROR_CODE, "errorCode; absent when the call did not fail."),
  FV("ct.errormessage", S, x_errormessage, "errorMessage; absent when the call did not fail."),
  FV_IN("ct.time", S, x_time, CTR__TOP_EVENT_TIME, "eventTime as written in the record."),
  FV_IN("ct.src", S, x_src, CTR__TOP_EVENT_SOURCE, "eventSource (e.g. rds.amazonaws.com)."),
  FV_IN("ct.shortsrc", S, x_shortsrc, CTR__TOP_EVENT_SOURCE,
        "eventSource without a trailing \".amazonaws.com\" (unchanged otherwise)."),
  FV_IN("ct.name", S, x_name, CTR__TOP_EVENT_NAME, "eventName."),
  FV_IN("ct.user", S, x_user, CTR__TOP_USER_IDENTITY,
        "By userIdentity.type: Root/IAMUser -> userIdentity.userName; AWSService -> userIdentity.invokedBy; "
        "AssumedRole -> userIdentity.sessionContext.sessionIssuer.userName, else \"AssumedRole\"; "
        "AWSAccount/FederatedUser -> that literal; any other type -> absent."),
  FV_IN("ct.originaluser", S, x_originaluser, CTR__TOP_USER_IDENTITY,
        "AssumedRole: the session name (3rd part of userIdentity.arn split on '/' when it has exactly 3 parts, "
        "else 2nd part of userIdentity.principalId split on ':'); other types: userIdentity.userName."),
  FV("ct.user.accountid", S, x_accountid, "userIdentity.accountId, falling back to recipientAccountId."),
  FV_IN("ct.user.identitytype", S, x_identitytype, CTR__TOP_USER_IDENTITY,
        "userIdentity.type (Root, IAMUser, AssumedRole, AWSService, ...)."),
  FV_IN("ct.user.principalid", S, x_principalid, CTR__TOP_USER_IDENTITY, "userIdentity.principalId."),
  FV_IN("ct.user.arn", S, x_arn, CTR__TOP_USER_IDENTITY, "userIdentity.arn."),
  FV_IN("ct.region", S, x_region, CTR__TOP_AWS_REGION, "awsRegion."),
  FV("ct.response.subnetid", S, x_resp_subnetid, "responseElements.subnetId."),
  FV("ct.response.reservationid", S, x_resp_reservationid, "responseElements.reservationId."),
  FJ("ct.response", S, x_response, "responseElements as compact JSON (JSON null -> \"null\"); absent if missing."),
  FV("ct.request.availabilityzone", S, x_req_availabilityzone, "requestParameters.availabilityZone."),
  FV("ct.request.cluster", S, x_req_cluster, "requestParameters.cluster."),
  FV("ct.request.functionname", S, x_req_functionname, "requestParameters.functionName."),
  FV("ct.request.groupname", S, x_req_groupname, "requestParameters.groupName."),
  FV("ct.request.host", S, x_req_host, "requestParameters.Host (capital H, as S3 writes it)."),
  FV("ct.request.name", S, x_req_name, "requestParameters.name."),
  FV("ct.request.policy", S, x_req_policy, "requestParameters.policy."),
  FV("ct.request.reason", S, x_req_reason, "requestParameters.reason."),
  FV("ct.request.target", S, x_req_target, "requestParameters.target."),
  FV("ct.request.documentname", S, x_req_documentname,
     "requestParameters.documentName (the plugin never fills it: bug fixed here)."),
  FV("ct.request.serialnumber", S, x_req_serialnumber, "requestParameters.serialNumber."),
  FV("ct.request.servicename", S, x_req_servicename, "requestParameters.serviceName."),
  FV("ct.request.subnetid", S, x_req_subnetid, "requestParameters.subnetId."),
  FV("ct.request.taskdefinition", S, x_req_taskdefinition, "requestParameters.taskDefinition."),
  FV("ct.request.username", S, x_req_username, "requestParameters.userName."),
  FJ("ct.request", S, x_request, "requestParameters as compact JSON (JSON null -> \"null\"); absent if missing."),
  FV_IN("ct.srcip", S, x_srcip, CTR__TOP_SOURCE_IP,
        "sourceIPAddress verbatim (may be a service name such as ec2.amazonaws.com)."),
  FV("ct.useragent", S, x_useragent, "userAgent."),
  F("ct.info", S, x_info,
    "\"<ct.user> via <ct.srcip> [!]<arrow> <eventName>\" (no \"via\" part when user == srcip; '!' if errorCode; "
    "\xe2\x86\x92 if readOnly is present and not true, else \xe2\x86\x90) + PutBucketPublicAccessBlock flags, or "
    "\" Size=<s3.bytes>\" and the first of \" URI=\", \" Bucket=\", \" Key=\", \" Host=\"."),
  F("ct.managementevent", S, x_managementevent,
    "managementEvent: \"true\" if JSON true, \"false\" for any other value; absent if missing."),
  F("ct.readonly", S, x_readonly, "readOnly: \"true\" if JSON true, \"false\" for any other value; absent if missing."),
  FV("ct.requestid", S, x_requestid, "requestID."),
  FV("ct.eventtype", S, x_eventtype, "eventType (AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ...)."),
  FV("ct.apiversion", S, x_apiversion, "apiVersion."),
  FJT("ct.resources", S, x_resources,
    "Each element of resources[] as compact JSON, joined with ','; absent if missing, not an array or empty."),
  FV("ct.recipientaccountid", S, x_recipientaccountid, "recipientAccountId."),
  FV("ct.serviceeventdetails", S, x_serviceeventdetails, "serviceEventDetails (an object gives \"\")."),
  FV("ct.sharedeventid", S, x_sharedeventid, "sharedEventID."),
  FV("ct.vpcendpointid", S, x_vpcendpointid, "vpcEndpointId."),
  FV("ct.eventcategory", S, x_eventcategory, "eventCategory (Management, Data, Insight, NetworkActivity)."),
  FV("ct.addendum.reason", S, x_addendum_reason, "addendum.reason."),
  FV("ct.addendum.updatedfields", S, x_addendum_updatedfields, "addendum.updatedFields."),
  FV("ct.addendum.originalrequestid", S, x_addendum_originalrequestid, "addendum.originalRequestID."),
  FV("ct.addendum.originaleventid", S, x_addendum_originaleventid, "addendum.originalEventID."),
  F("ct.sessioncredentialfromconsole", S, x_sessioncredentialfromconsole,
    "sessionCredentialFromConsole: \"true\" for JSON true or the string \"true\" (as AWS writes it), "
    "else \"false\"; absent if missing."),
  FV("ct.edgedevicedetails", S, x_edgedevicedetails, "edgeDeviceDetails (an object gives \"\")."),
  FV("ct.tlsdetails.tlsversion", S, x_tls_version, "tlsDetails.tlsVersion."),
  FV("ct.tlsdetails.ciphersuite", S, x_tls_ciphersuite, "tlsDetails.cipherSuite."),
  FV("ct.tlsdetails.clientprovidedhostheader", S, x_tls_host, "tlsDetails.clientProvidedHostHeader."),
  FJ("ct.additionaleventdata", S, x_additionaleventdata,
    "additionalEventData as compact JSON (JSON null -> \"null\"); absent if missing."),
  {"s3.uri", S, CTR__ARG_NONE, x_s3_uri,
   "\"s3://<requestParameters.bucketName>/<requestParameters.key>\" when both exist.", CTR__RAW_S3_URI, 0},
  FV("s3.bucket", S, x_s3_bucket, "requestParameters.bucketName."),
  FV("s3.key", S, x_s3_key, "requestParameters.key."),
  F("s3.bytes", U, x_s3_bytes,
    "additionalEventData.bytesTransferredIn + bytesTransferredOut (reals truncated; non-numbers count 0); "
    "absent when neither exists."),
  F("s3.bytes.in", U, x_s3_bytes_in, "additionalEventData.bytesTransferredIn (reals truncated); absent if missing."),
  F("s3.bytes.out", U, x_s3_bytes_out, "additionalEventData.bytesTransferredOut (reals truncated); absent if missing."),
  F("s3.cnt.get", U, x_s3_cnt_get, "1 if eventName is GetObject, else 0."),
  F("s3.cnt.put", U, x_s3_cnt_put, "1 if eventName is PutObject, else 0."),
  F("s3.cnt.other", U, x_s3_cnt_other, "0 if eventName is GetObject or PutObject, else 1."),
  FV("ec2.name", S, x_ec2_name,
     "Value of the tag \"Name\" in requestParameters.tagSpecificationSet.items[] with resourceType \"instance\"; "
     "absent if none or empty."),
  FV("ec2.imageid", S, x_ec2_imageid, "Deprecated: ec2.imageids[0]."),
  {"ec2.imageids", CTR__FT_LIST, CTR__ARG_INDEX_OPTIONAL, x_ec2_imageids,
   "responseElements.instancesSet.items[].imageId; if none, the first of requestParameters.imageId, "
   "requestParameters.DescribeFastLaunchImagesRequest.ImageId.content, requestParameters.launchSpecification.imageId. "
   "With [N]: element N as a string, absent if out of range.", CTR__RAW_VERBATIM, 0},
  FV("ecr.repository", S, x_ecr_repository, "requestParameters.repositoryName."),
  FV("ecr.imagetag", S, x_ecr_imagetag, "requestParameters.imageTag."),
  FV("iam.role", S, x_iam_role, "requestParameters.roleName."),
  FV("iam.policy", S, x_iam_policy, "requestParameters.policyName."),
};

const size_t ctr__fields_cloudtrail_count = CTR__COUNTOF(ctr__fields_cloudtrail);
