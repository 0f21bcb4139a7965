/* scanner.c - the public scanner: bytes in (any chunking), framed into
 * records, parsed, matched against the candidate rules of each record's
 * eventName, and handed to the caller's callback, which renders a match's
 * output when it first reads it. Everything mutable lives here, so one
 * ruleset serves any number of scanners. */
#include "select.h"
#include "render.h"
#include "correlate.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ctr_match {
  const ctr__crule *rule;
  ctr_scanner *sc; /* its render state changes when the callback first reads the output */
  bool silenced; /* CTR_SCAN_NO_CORRELATION: generate: false would have silenced it */
};

struct ctr_record_error {
  int status;
  uint64_t index, offset;
  int evaluated;
  bool stream_level;
  const char *message;
  ctr_scanner *sc; /* whose buffer holds the text, built when asked for */
};

struct ctr_scanner {
  ctr_ruleset *rs;
  ctr_match_fn fn;
  void *ud;
  ctr_record_error_fn efn;
  void *eud;
  unsigned flags;
  ctr__framer *framer;
  ctr__frame_limits limits;
  ctr__arena arena;
  ctr__evalctx eval;
  ctr__event ev;
  ctr__lazy lazy; /* the current record's members, when ev.lazy */
  ctr__walked walked; /* lazy's objects walked for its fields (fields.c) */
  json_t *parsed;     /* a lazy record's members parsed so far: one object, emptied after each record */
  ctr__render_out render;
  /* The match being delivered: its output and output fields are rendered
   * on the callback's first read of them (rendered()), so a callback that
   * reads only the rule, the time or the record pays nothing for them. */
  enum { RENDER_PENDING, RENDER_DONE, RENDER_FAILED } render_state;
  ctr_match match;
  ctr__corrstate *corr; /* Sigma correlations' state, NULL if the ruleset has none */
  uint64_t rec_index, rec_offset; /* the last record read (correlation windows closed at finish) */
  uint64_t stats[CTR_STAT__COUNT];
  ctr__buf msg, text, last_error;
  /* The last report, its text built when asked for (a flood of bad or
   * incomplete records must not cost a printf each). */
  ctr__buf last_msg;
  uint64_t last_index, last_offset;
  bool last_stream_level, last_dirty;
  ctr__buf reason;         /* the report of an incomplete record ... */
  unsigned reason_missing; /* ... lacking these keys (CTR__MISSING_ bits; 0: none built) */
  bool busy, stopped;
  uint32_t regex_match_limit, regex_depth_limit; /* as set in eval.mctx */
  char hostname[256];
};

/* ------------------------------------------------------------ reports */

/* "record N at byte M: message" (or "input at byte M: ..." for the stream). */
static const char *report_text(ctr__buf *out, uint64_t index, uint64_t offset, bool stream_level, const char *msg)
{
  ctr__buf_clear(out);
  if (stream_level)
    ctr__buf_printf(out, "input at byte %llu: %s", (unsigned long long)offset, msg);
  else
    ctr__buf_printf(out, "record %llu at byte %llu: %s", (unsigned long long)index, (unsigned long long)offset, msg);
  return out->data ? out->data : "";
}

static void report_msg(ctr_scanner *sc, int status, uint64_t index, uint64_t offset, bool evaluated,
                       bool stream_level, const ctr__buf *text)
{
  const char *msg = text->data ? text->data : "";
  ctr__buf_clear(&sc->last_msg);
  ctr__buf_append(&sc->last_msg, msg, text->len);
  sc->last_index = index;
  sc->last_offset = offset;
  sc->last_stream_level = stream_level;
  sc->last_dirty = true;
  if (!evaluated)
    sc->stats[CTR_STAT_BAD_RECORDS]++;
  if (sc->efn) {
    ctr_record_error e = {status, index, offset, evaluated, stream_level, msg, sc};
    sc->efn(&e, sc->eud);
  }
}

/* Reports the message in sc->msg. */
static void report(ctr_scanner *sc, int status, uint64_t index, uint64_t offset, bool evaluated,
                   bool stream_level)
{
  report_msg(sc, status, index, offset, evaluated, stream_level, &sc->msg);
}

/* A record evaluated though not a complete CloudTrail record: the one report
 * that counts it in CTR_STAT_INCOMPLETE. A record gets at most one, so the
 * statistic counts records; the other reports on an evaluated record (a rule
 * a regex limit left undecided, a correlation's match not counted) are about
 * the rules, not the record, and count in none: a record both incomplete and
 * without a valid eventTime for a correlation was counted twice, and an input
 * with one good record among such was then said to hold none. */
static void report_incomplete(ctr_scanner *sc, uint64_t index, uint64_t offset, const ctr__buf *reason)
{
  sc->stats[CTR_STAT_INCOMPLETE]++;
  report_msg(sc, CTR_EDATA, index, offset, true, false, reason);
}

static void on_bad_record(void *ud, int status, uint64_t index, uint64_t offset, const char *msg)
{
  ctr_scanner *sc = ud;
  sc->stats[CTR_STAT_RECORDS]++;
  sc->rec_index = index;
  sc->rec_offset = offset;
  ctr__buf_clear(&sc->msg);
  ctr__buf_append_str(&sc->msg, msg);
  report(sc, status, index, offset, false, false);
}

static void on_skipped(void *ud, uint64_t offset, const char *what)
{
  ctr_scanner *sc = ud;
  (void)offset;
  (void)what;
  sc->stats[CTR_STAT_SKIPPED]++;
}

static void on_stream_error(void *ud, int status, uint64_t offset, const char *msg)
{
  ctr_scanner *sc = ud;
  ctr__buf_clear(&sc->msg);
  ctr__buf_append_str(&sc->msg, msg);
  report(sc, status, 0, offset, false, true);
}

/* ------------------------------------------------------------ records */

/* A walked record no rule is a candidate for needs no parse: only its
 * completeness verdict, told from what the walk read. This keeps a flood of
 * empty or bare objects to a few table reads a record. False when the facts
 * cannot tell (an escaped eventName, eventType or eventSource). */
static bool no_candidates(ctr_scanner *sc, const ctr__record_facts *facts, uint64_t index, uint64_t offset,
                          const uint32_t **cand, size_t *n)
{
  const ctr__topval *name = &facts->top[CTR__TOP_EVENT_NAME];
  int insight = ctr__facts_insight(facts);
  if (insight < 0 || (name->kind == '"' && name->escaped))
    return false;
  /* The walk read an unescaped eventName, so its raw bytes are the value
   * the parse would give: the candidates found here are kept for it. */
  *cand = ctr__index_lookup(sc->rs, name->kind == '"' ? name->s : NULL, name->kind == '"' ? name->len : 0, n);
  if (*n)
    return false;
  if (insight) {
    sc->stats[CTR_STAT_SKIPPED]++;
    return true;
  }
  unsigned m = ctr__facts_missing(facts);
  if (m & CTR__MISSING_UNDECIDED)
    return false;
  if (m && !(sc->flags & CTR_SCAN_ONLY_CORRELATION)) {
    /* Records in a flood lack the same keys: the text is built once. */
    if (m != sc->reason_missing) {
      ctr__buf_clear(&sc->reason);
      ctr__incomplete_reason(m, &sc->reason);
      sc->reason_missing = m;
    }
    report_incomplete(sc, index, offset, &sc->reason);
  }
  return true;
}

/* Whether memory ran out while the record was read (a member read as
 * absent for want of it may have decided a match or an output). */
static bool read_failed(const ctr_scanner *sc)
{
  return sc->eval.error == CTR_ENOMEM || (sc->ev.lazy && sc->lazy.failed);
}

/* A match of rule r on sc->ev: counted and delivered, its output rendered
 * when the callback asks for it. Every alert passes here. */
static int deliver(ctr_scanner *sc, const ctr__crule *r)
{
  sc->stats[CTR_STAT_MATCHES]++;
  if (read_failed(sc))
    return CTR_ENOMEM; /* nothing untrusted is delivered */
  if (!sc->fn)
    return CTR_OK;
  sc->match.rule = r;
  sc->render_state = RENDER_PENDING;
  sc->busy = true;
  int stop = sc->fn(&sc->match, sc->ud);
  sc->busy = false;
  if (sc->render_state == RENDER_FAILED)
    return CTR_ENOMEM; /* the callback was told (NULL output): the scan stops */
  if (stop) {
    sc->stopped = true;
    return CTR_STOPPED;
  }
  return CTR_OK;
}

/* The match's output and output fields, rendered on the first read; false
 * when memory ran out doing it (the accessors then say so, and the scan
 * returns CTR_ENOMEM once the callback returns). */
static bool rendered(const ctr_match *m)
{
  ctr_scanner *sc = m->sc;
  if (sc->render_state == RENDER_PENDING)
    sc->render_state = ctr__render(&sc->eval, m->rule, &sc->render) == CTR_OK && !read_failed(sc) ? RENDER_DONE
                                                                                                   : RENDER_FAILED;
  return sc->render_state == RENDER_DONE;
}

/* A rule held for the current record (ctr__eval_rules): fed to the
 * correlations naming it, and delivered unless they silence it. */
static int on_hit(void *ud, const ctr__crule *r)
{
  ctr_scanner *sc = ud;
  if (sc->flags & CTR_SCAN_NO_CORRELATION) {
    /* Delivered, marked: the caller forwarding it to a correlating scanner
     * decides whether it shows it. */
    sc->match.silenced = ctr__correlate_silences(sc->rs, r);
    int rc = deliver(sc, r);
    sc->match.silenced = false;
    return rc;
  }
  bool alert = true;
  int rc = ctr__correlate_hit(sc->corr, r, &sc->ev, sc->eval.gen, &alert);
  return rc != CTR_OK || !alert || (sc->flags & CTR_SCAN_ONLY_CORRELATION) ? rc : deliver(sc, r);
}

/* The correlation alerts the record's matches made, each with its own
 * record as the event (a new generation: nothing cached is reused). */
static int deliver_correlations(ctr_scanner *sc)
{
  const ctr__crule *r;
  int rc = CTR_OK;
  while (rc == CTR_OK && ctr__correlate_next(sc->corr, &r, &sc->ev)) {
    if (!sc->ev.raw) {
      rc = CTR_ENOMEM;
      break;
    }
    sc->eval.gen++;
    ctr__arena_reset(&sc->arena);
    rc = deliver(sc, r);
  }
  sc->ev.root = NULL;
  sc->ev.raw = NULL;
  return rc;
}

/* A match a correlation could not count (correlate.c): reported on its record. */
static void on_corr_report(void *ud, int status, uint64_t index, uint64_t offset, const char *msg)
{
  ctr_scanner *sc = ud;
  ctr__buf_clear(&sc->msg);
  ctr__buf_append_str(&sc->msg, msg);
  report(sc, status, index, offset, true, false);
}

/* A rule a regex gave up on (ctr__eval_rules): undecided on this record,
 * so it is reported, neither a match nor a silent non-match. */
static void on_undecided(void *ud, const ctr__crule *r)
{
  ctr_scanner *sc = ud;
  if (sc->flags & CTR_SCAN_ONLY_CORRELATION)
    return; /* the scanner that forwarded the record reported it */
  ctr__buf_clear(&sc->msg);
  ctr__buf_printf(&sc->msg, "rule '%s' not evaluated: a regex hit the PCRE2 limit (limit %s %u, %s %u)", r->name,
                  ctr_limit_name(CTR_LIMIT_REGEX_MATCH), sc->regex_match_limit,
                  ctr_limit_name(CTR_LIMIT_REGEX_DEPTH), sc->regex_depth_limit);
  report(sc, CTR_ELIMIT, sc->ev.index, sc->ev.offset, true, false);
}

static int on_record(void *ud, const char *data, size_t len, uint64_t index, uint64_t offset,
                     const ctr__record_facts *facts)
{
  ctr_scanner *sc = ud;
  sc->stats[CTR_STAT_RECORDS]++;
  sc->rec_index = index;
  sc->rec_offset = offset;
  /* Decided from the raw bytes: a valid, complete record no rule can match
   * is never parsed (prefilter.c). */
  if (!(sc->flags & CTR_SCAN_NO_INDEX) && sc->rs->prefilter &&
      ctr__prefilter_skips(sc->rs->prefilter, data, len, facts))
    return CTR_OK;
  const uint32_t *cand = NULL;
  size_t n = SIZE_MAX; /* not looked up yet */
  if (facts && !(sc->flags & CTR_SCAN_NO_INDEX) && no_candidates(sc, facts, index, offset, &cand, &n))
    return CTR_OK;
  /* The plain route that every fast path is held to: the record parsed
   * whole, nothing read from the walk's facts or the walked bytes. */
  if (sc->flags & CTR_SCAN_NO_INDEX)
    facts = NULL;
  ctr__buf_clear(&sc->msg);
  /* A walked record is parsed member by member, as rules read them; any
   * other record (it spans chunks, or the walk left it to jansson) whole,
   * which is also where invalid JSON is found and reported. */
  json_t *root;
  /* Its members found from the facts as rules ask for them (event.c); one
   * with more members than the facts keep is parsed whole. */
  bool lazy = facts && facts->nmembers <= CTR__MAX_MEMBERS;
  if (lazy) {
    /* Kept, not made and freed for each record (most parse no member). */
    if (!sc->parsed && !(sc->parsed = json_object()))
      return CTR_ENOMEM;
    root = sc->parsed;
    sc->lazy = (ctr__lazy){.walked = &sc->walked};
  } else {
    int st = ctr__event_parse(data, len, &root, &sc->msg);
    if (st == CTR_ENOMEM)
      return st;
    if (st != CTR_OK) {
      report(sc, CTR_EDATA, index, offset, false, false);
      return CTR_OK;
    }
  }
  ctr__event *ev = &sc->ev;
  ev->root = root;
  ev->lazy = lazy ? &sc->lazy : NULL;
  ev->facts = lazy ? facts : NULL;
  ev->raw = data;
  ev->raw_len = len;
  ev->index = index;
  ev->offset = offset;
  int rc = CTR_OK;
  bool complete, insight = ctr__event_check(ev, facts, &complete, &sc->msg);
  if (lazy && sc->lazy.failed)
    goto done; /* a member read as absent for want of memory: no verdict on it */
  if (insight) {
    sc->stats[CTR_STAT_SKIPPED]++;
    goto done;
  }
  if (!complete && !(sc->flags & CTR_SCAN_ONLY_CORRELATION))
    report_incomplete(sc, index, offset, &sc->msg);

  const ctr_ruleset *rs = sc->rs;
  if (sc->flags & CTR_SCAN_NO_INDEX) {
    cand = rs->all;
    n = rs->nall;
  } else if (n == SIZE_MAX) {
    const json_t *name = ctr__event_get(ev, "eventName");
    cand = ctr__index_lookup(rs, json_string_value(name), json_string_length(name), &n);
  }
  if (n) {
    sc->stats[CTR_STAT_EVALUATED]++;
    ctr__arena_reset(&sc->arena);
    ev->time_ns = ctr__event_time(ev, facts);
    /* Event time closes the windows of correlations with an upper bound. */
    if (ev->time_ns && !(sc->flags & CTR_SCAN_NO_CORRELATION))
      rc = ctr__correlate_tick(sc->corr, ev->time_ns, index, offset);
    ctr__eval_sink sink = {on_hit, on_undecided, sc};
    if (rc == CTR_OK)
      rc = ctr__eval_rules(&sc->eval, cand, n, sc->flags & CTR_SCAN_FIRST_MATCH, &sink);
  }
done:
  /* A member that could not be built read as absent: the record's verdicts
   * are not to be trusted, so the scan stops as on any allocation failure. */
  if (lazy && sc->lazy.failed)
    rc = CTR_ENOMEM;
  ev->root = NULL;
  ev->lazy = NULL;
  ev->facts = NULL;
  if (lazy) {
    json_object_clear(root);
    json_decref(sc->lazy.whole);
  } else {
    json_decref(root);
  }
  if (rc == CTR_OK && sc->corr)
    rc = deliver_correlations(sc);
  return rc;
}

/* ------------------------------------------------------------ API */

static void set_regex_limits(ctr_scanner *sc, uint32_t match, uint32_t depth)
{
  sc->regex_match_limit = match;
  sc->regex_depth_limit = depth;
  pcre2_set_match_limit(sc->eval.mctx, match);
  pcre2_set_depth_limit(sc->eval.mctx, depth);
}

int ctr_scanner_new(ctr_ruleset *rs, ctr_match_fn fn, void *user_data, ctr_scanner **out)
{
  if (!rs || !out)
    return CTR_EINVAL;
  ctr_scanner *sc = calloc(1, sizeof *sc);
  if (!sc)
    return CTR_ENOMEM;
  sc->rs = ctr_ruleset_ref(rs);
  sc->fn = fn;
  sc->ud = user_data;
  sc->match.sc = sc;
  if (gethostname(sc->hostname, sizeof sc->hostname - 1) != 0)
    strcpy(sc->hostname, "localhost");
  sc->ev.arena = &sc->arena;
  sc->ev.hostname = sc->hostname;
  sc->eval.rs = rs;
  sc->eval.ev = &sc->ev;
  sc->eval.cache = calloc(rs->nslots ? rs->nslots : 1, sizeof *sc->eval.cache);
  sc->eval.md = pcre2_match_data_create(1, NULL);
  sc->eval.mctx = pcre2_match_context_create(NULL);
  ctr__frame_sink sink = {on_record, on_bad_record, on_skipped, on_stream_error, sc};
  ctr__frame_limits_default(&sc->limits);
  if (!sc->eval.cache || !sc->eval.md || !sc->eval.mctx || ctr__framer_new(&sink, &sc->framer) != CTR_OK ||
      ctr__corrstate_new(rs, on_corr_report, sc, &sc->corr) != CTR_OK) {
    ctr_scanner_free(sc);
    return CTR_ENOMEM;
  }
  /* Bounded regex work per comparison: hostile strings cannot hang a scan. */
  set_regex_limits(sc, (uint32_t)rs->regex_match_limit, (uint32_t)rs->regex_depth_limit);
  *out = sc;
  return CTR_OK;
}

void ctr_scanner_free(ctr_scanner *sc)
{
  if (!sc)
    return;
  ctr__framer_free(sc->framer);
  ctr__corrstate_free(sc->corr);
  ctr__arena_free(&sc->arena);
  json_decref(sc->parsed);
  free(sc->eval.cache);
  pcre2_match_data_free(sc->eval.md);
  pcre2_match_context_free(sc->eval.mctx);
  ctr__buf_free(&sc->render.text);
  ctr__buf_free(&sc->render.json);
  ctr__buf_free(&sc->render.values);
  free(sc->render.value_off);
  ctr__buf_free(&sc->msg);
  ctr__buf_free(&sc->text);
  ctr__buf_free(&sc->last_error);
  ctr__buf_free(&sc->last_msg);
  ctr__buf_free(&sc->reason);
  ctr_ruleset_unref(sc->rs);
  free(sc);
}

int ctr_scanner_set_flags(ctr_scanner *sc, unsigned flags)
{
  unsigned corr = CTR_SCAN_NO_CORRELATION | CTR_SCAN_ONLY_CORRELATION;
  if (!sc || (flags & ~(unsigned)(CTR_SCAN_FIRST_MATCH | CTR_SCAN_NO_INDEX | corr)) || (flags & corr) == corr)
    return CTR_EINVAL;
  sc->flags = flags;
  return CTR_OK;
}

int ctr_scanner_set_limit(ctr_scanner *sc, int limit, uint64_t value)
{
  if (!sc)
    return CTR_EINVAL;
  if (value == 0) /* the default: the library's, or for PCRE2 the ruleset's */
    value = limit == CTR_LIMIT_REGEX_MATCH   ? sc->rs->regex_match_limit
            : limit == CTR_LIMIT_REGEX_DEPTH ? sc->rs->regex_depth_limit
                                             : ctr_limit_default(limit);
  switch (limit) {
  case CTR_LIMIT_RECORD_BYTES:
    sc->limits.max_record_bytes = value;
    break;
  case CTR_LIMIT_JSON_DEPTH:
    if (value > 2048) /* jansson's own parser stops at 2048 */
      return CTR_EINVAL;
    sc->limits.max_depth = (uint32_t)value;
    break;
  case CTR_LIMIT_GZIP_OUTPUT:
    sc->limits.max_gzip_output = value;
    break;
  case CTR_LIMIT_GZIP_RATIO:
    sc->limits.max_gzip_ratio = value;
    break;
  case CTR_LIMIT_CORRELATION_EVENTS:
  case CTR_LIMIT_CORRELATION_LATENESS:
    ctr__corrstate_set_limit(sc->corr, limit, value); /* no correlation: nothing to bound */
    return CTR_OK;
  case CTR_LIMIT_REGEX_MATCH:
  case CTR_LIMIT_REGEX_DEPTH:
    if (value > UINT32_MAX) /* PCRE2 takes 32 bits */
      return CTR_EINVAL;
    if (limit == CTR_LIMIT_REGEX_MATCH)
      set_regex_limits(sc, (uint32_t)value, sc->regex_depth_limit);
    else
      set_regex_limits(sc, sc->regex_match_limit, (uint32_t)value);
    return CTR_OK;
  default:
    return CTR_EINVAL;
  }
  ctr__framer_set_limits(sc->framer, &sc->limits);
  return CTR_OK;
}

void ctr_scanner_set_error_callback(ctr_scanner *sc, ctr_record_error_fn fn, void *user_data)
{
  if (!sc)
    return;
  sc->efn = fn;
  sc->eud = user_data;
}

int ctr_scanner_feed(ctr_scanner *sc, const void *buf, size_t len)
{
  if (!sc || (!buf && len))
    return CTR_EINVAL;
  if (sc->busy)
    return CTR_EBUSY;
  if (sc->stopped)
    return CTR_STOPPED;
  sc->stats[CTR_STAT_BYTES] += len;
  return ctr__framer_feed(sc->framer, buf, len);
}

int ctr_scanner_finish(ctr_scanner *sc)
{
  if (!sc)
    return CTR_EINVAL;
  if (sc->busy)
    return CTR_EBUSY;
  if (sc->stopped)
    return CTR_STOPPED;
  int rc = ctr__framer_finish(sc->framer);
  /* The stream's end closes every window a correlation with an upper bound
   * holds open; its alerts are on the last record read. */
  if (rc == CTR_OK && sc->corr && !(sc->flags & CTR_SCAN_NO_CORRELATION) &&
      (rc = ctr__correlate_finish(sc->corr, sc->rec_index, sc->rec_offset)) == CTR_OK)
    rc = deliver_correlations(sc);
  return rc;
}

void ctr_scanner_reset(ctr_scanner *sc)
{
  if (!sc || sc->busy)
    return;
  ctr__framer_reset(sc->framer);
  sc->stopped = false;
}

uint64_t ctr_scanner_stat(const ctr_scanner *sc, int stat)
{
  return sc && stat >= 0 && stat < CTR_STAT__COUNT ? sc->stats[stat] : 0;
}

const char *ctr_scanner_last_error(const ctr_scanner *sc)
{
  if (!sc)
    return "";
  ctr_scanner *m = (ctr_scanner *)(uintptr_t)sc; /* the text is a cache of the last report */
  if (m->last_dirty) {
    report_text(&m->last_error, m->last_index, m->last_offset, m->last_stream_level,
                m->last_msg.data ? m->last_msg.data : "");
    m->last_dirty = false;
  }
  return sc->last_error.data ? sc->last_error.data : "";
}

int ctr_scan_buffer(ctr_ruleset *rs, const void *buf, size_t len, unsigned flags, ctr_match_fn fn, void *user_data)
{
  ctr_scanner *sc;
  int rc = ctr_scanner_new(rs, fn, user_data, &sc);
  if (rc != CTR_OK)
    return rc;
  if ((rc = ctr_scanner_set_flags(sc, flags)) == CTR_OK && (rc = ctr_scanner_feed(sc, buf, len)) == CTR_OK)
    rc = ctr_scanner_finish(sc);
  if (rc == CTR_OK && sc->stats[CTR_STAT_BAD_RECORDS])
    rc = CTR_EDATA;
  ctr_scanner_free(sc);
  return rc;
}

/* ------------------------------------------------------------ matches */

const char *ctr_match_rule(const ctr_match *m) { return m->rule->name; }
int ctr_match_priority(const ctr_match *m) { return m->rule->priority; }
const char *ctr_match_source(const ctr_match *m) { (void)m; return "aws_cloudtrail"; }
const char *ctr_match_output(const ctr_match *m) { return rendered(m) ? m->sc->render.text.data : NULL; }
const ctr__render_out *ctr__match_render(const ctr_match *m) { return rendered(m) ? &m->sc->render : NULL; }
size_t ctr_match_tag_count(const ctr_match *m) { return m->rule->ntags; }
const char *ctr_match_tag(const ctr_match *m, size_t i) { return i < m->rule->ntags ? m->rule->tags[i] : NULL; }
size_t ctr_match_field_count(const ctr_match *m) { return m->rule->nofields; }

const char *ctr_match_field_name(const ctr_match *m, size_t i)
{
  return i < m->rule->nofields ? m->rule->ofield_names[i] : NULL;
}

const char *ctr_match_field_value(const ctr_match *m, size_t i)
{
  if (i >= m->rule->nofields || !rendered(m) || m->sc->render.value_off[i] == (size_t)-1)
    return NULL;
  return m->sc->render.values.data + m->sc->render.value_off[i];
}

int ctr_match_field(const ctr_match *m, const char *name, const char **value)
{
  if (!m || !name || !value)
    return CTR_EINVAL;
  for (size_t i = 0; i < m->rule->nofields; i++) {
    if (strcmp(m->rule->ofield_names[i], name) == 0) {
      if (!rendered(m))
        return CTR_ENOMEM;
      *value = ctr_match_field_value(m, i);
      return CTR_OK;
    }
  }
  return CTR_ENOENT;
}

int64_t ctr_match_time(const ctr_match *m) { return m->sc->ev.time_ns; }

int ctr_match_silenced(const ctr_match *m) { return m && m->silenced; }

const char *ctr_match_event(const ctr_match *m, size_t *len)
{
  if (len)
    *len = m->sc->ev.raw_len;
  return m->sc->ev.raw;
}

uint64_t ctr_match_record_index(const ctr_match *m) { return m->sc->ev.index; }
uint64_t ctr_match_byte_offset(const ctr_match *m) { return m->sc->ev.offset; }

/* ------------------------------------------------------------ record errors */

int ctr_record_error_status(const ctr_record_error *e) { return e->status; }
uint64_t ctr_record_error_index(const ctr_record_error *e) { return e->index; }
uint64_t ctr_record_error_offset(const ctr_record_error *e) { return e->offset; }
const char *ctr_record_error_message(const ctr_record_error *e) { return e->message; }
int ctr_record_error_evaluated(const ctr_record_error *e) { return e->evaluated; }
const char *ctr_record_error_text(const ctr_record_error *e)
{
  return report_text(&e->sc->text, e->index, e->offset, e->stream_level, e->message);
}
