/* merge_version.c - the `required_engine_version` and
 * `required_plugin_versions` items of a rules file, checked as Falco checks
 * them (same major, at least the required version) against the engine and
 * plugin versions whose fields this library implements. Its own file: a
 * version requirement defines nothing; merge.c only dispatches to it. */
#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_semver(const char *s, unsigned v[3])
{
  char *end;
  for (int i = 0; i < 3; i++) {
    if (*s < '0' || *s > '9')
      return false;
    unsigned long n = strtoul(s, &end, 10);
    if (n > 1000000)
      return false;
    v[i] = (unsigned)n;
    s = end;
    if (i < 2) {
      if (*s != '.')
        return false;
      s++;
    }
  }
  return *s == '\0';
}

/* Falco's compatibility: same major, and at least the required version. */
static bool compatible(const unsigned have[3], const unsigned need[3])
{
  if (have[0] != need[0])
    return false;
  if (have[1] != need[1])
    return have[1] > need[1];
  return have[2] >= need[2];
}

int ctr__merge_engine_version(ctr__mitem *x, const ctr__ynode *v)
{
  if (!ctr__is_scalar(v))
    return ctr__merge_err(x, v, "LOAD_ERR_YAML_VALIDATE", "required_engine_version must be a number or a version string");
  unsigned need[3], have[3];
  char buf[64];
  const char *s = v->value;
  bool digits = *s != '\0';
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9')
      digits = false;
  if (digits) {
    snprintf(buf, sizeof buf, "0.%s.0", s);
    s = buf;
  }
  if (!parse_semver(s, need))
    return ctr__merge_err(x, v, "LOAD_ERR_VALIDATE", "unable to parse required_engine_version '%s' as a version", v->value);
  parse_semver(CTR_ENGINE_VERSION_STRING, have);
  if (!compatible(have, need)) {
    ctr__merge_err(x, v, "LOAD_ERR_VALIDATE", "rules require engine version %s, but this engine implements " CTR_ENGINE_VERSION_STRING, s);
    return CTR_EVERSION;
  }
  return CTR_OK;
}

static const char *plugin_version(const char *name)
{
  if (strcmp(name, "cloudtrail") == 0)
    return CTR_CLOUDTRAIL_PLUGIN_VERSION_STRING;
  if (strcmp(name, "json") == 0)
    return CTR_JSON_PLUGIN_VERSION_STRING;
  return NULL;
}

/* One requirement is met if it, or one of its alternatives, names a plugin
 * whose fields we implement at a compatible version. */
int ctr__merge_plugin_versions(ctr__mitem *x, const ctr__ynode *seq)
{
  if (!seq || seq->kind != CTR__Y_SEQ)
    return ctr__merge_err(x, seq, "LOAD_ERR_YAML_VALIDATE", "required_plugin_versions must be a sequence of maps");
  for (size_t i = 0; i < seq->n; i++) {
    const ctr__ynode *req = seq->items[i];
    if (req->kind != CTR__Y_MAP)
      return ctr__merge_err(x, req, "LOAD_ERR_YAML_VALIDATE", "required_plugin_versions must be a sequence of maps");
    const ctr__ynode *cands[33];
    size_t nc = 0;
    cands[nc++] = req;
    const ctr__ynode *alts = ctr__ymap_get(req, "alternatives");
    if (alts && alts->kind == CTR__Y_SEQ)
      for (size_t a = 0; a < alts->n && nc < 33; a++)
        cands[nc++] = alts->items[a];
    bool met = false;
    const char *first_name = NULL;
    for (size_t c = 0; c < nc; c++) {
      const ctr__ynode *nm = ctr__ymap_get(cands[c], "name"), *ver = ctr__ymap_get(cands[c], "version");
      if (!ctr__is_scalar(nm) || !ctr__is_scalar(ver))
        return ctr__merge_err(x, cands[c], "LOAD_ERR_YAML_VALIDATE", "plugin requirement needs 'name' and 'version'");
      for (size_t d = 1; d < c; d++) {
        const ctr__ynode *other = ctr__ymap_get(cands[d], "name");
        if (c > 0 && ctr__is_scalar(other) && strcmp(other->value, nm->value) == 0)
          return ctr__merge_err(x, nm, "LOAD_ERR_VALIDATE", "plugin '%s' is named twice in one alternatives group", nm->value);
      }
      unsigned need[3], have[3];
      if (!parse_semver(ver->value, need))
        return ctr__merge_err(x, ver, "LOAD_ERR_VALIDATE", "unable to parse plugin version '%s'", ver->value);
      if (!first_name)
        first_name = nm->value;
      const char *hv = plugin_version(nm->value);
      if (hv && parse_semver(hv, have) && compatible(have, need))
        met = true;
    }
    if (!met) {
      const ctr__ynode *ver = ctr__ymap_get(req, "version");
      ctr__merge_err(x, req, "LOAD_ERR_VALIDATE", "plugin '%s' version %s is required by these rules, but this engine implements only cloudtrail " CTR_CLOUDTRAIL_PLUGIN_VERSION_STRING " and json " CTR_JSON_PLUGIN_VERSION_STRING " fields", first_name, ver->value);
      return CTR_EVERSION;
    }
  }
  return CTR_OK;
}
