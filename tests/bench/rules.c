/* rules.c - the rule sets of ctrule-bench, compiled once before any case
 * runs, and what compiling many rules costs. */
#include "bench.h"
#include "corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The two one-rule sets of issue 18: no eventName to key them on. */
static const char k_root_rule[] = "- rule: Root activity\n"
                                  "  desc: anything the root user does\n"
                                  "  condition: ct.user.identitytype = Root\n"
                                  "  output: root activity (%ct.name by %ct.user from %ct.srcip)\n"
                                  "  priority: WARNING\n"
                                  "  source: aws_cloudtrail\n";
/* A rule keyed on an eventName no record has: the prefilter skips every
 * record after the walk has vouched for it, so the case measures what
 * reading and checking every record costs, the floor of every rule set. */
static const char k_floor_rule[] = "- rule: Nothing\n"
                                   "  desc: an eventName no record has\n"
                                   "  condition: ct.name = NoSuchEventNameAnywhere\n"
                                   "  output: never (%ct.name)\n"
                                   "  priority: WARNING\n"
                                   "  source: aws_cloudtrail\n";
static const char k_srcip_rule[] = "- rule: Calls from the test network\n"
                                   "  desc: any call from 203.0.113.0/24\n"
                                   "  condition: ct.srcip startswith \"203.0.113.\"\n"
                                   "  output: call from the test network (%ct.name by %ct.user from %ct.srcip)\n"
                                   "  priority: WARNING\n"
                                   "  source: aws_cloudtrail\n";

/* A hunt for anything opened to the world: a literal inside a member that
 * the field gives as compact JSON (before stop 24 it parsed every record). */
static const char k_request_rule[] = "- rule: Opened to the world\n"
                                     "  desc: any call whose parameters name 0.0.0.0/0\n"
                                     "  condition: ct.request contains \"0.0.0.0/0\"\n"
                                     "  output: opened to the world (%ct.name by %ct.user from %ct.srcip)\n"
                                     "  priority: WARNING\n"
                                     "  source: aws_cloudtrail\n";

typedef struct rules_spec {
  int builtin;          /* the built-in RDS rules first */
  const char *file;     /* then a rules file */
  const char *yaml;     /* then these rules */
  size_t generated;     /* then ctb_generated_rules(generated) */
  size_t realistic;     /* then ctb_realistic_rules(realistic) */
} rules_spec;

/* Compiles a rule set; NULL with the first error diagnostic in err. */
static ctr_ruleset *compile(const rules_spec *s, char *err, size_t errlen, double *seconds)
{
  ctr_compiler *c;
  ctr_ruleset *rs = NULL;
  char *yaml = NULL;
  size_t len = 0;
  if (s->generated)
    yaml = ctb_generated_rules(s->generated, &len);
  else if (s->realistic)
    yaml = ctb_realistic_rules(s->realistic, &len);
  if ((s->generated || s->realistic) && !yaml)
    ctb_die("out of memory");
  if (ctr_compiler_new(&c) != CTR_OK)
    ctb_die("out of memory");
  double t0 = ctb_cpu_now();
  int ok = (!s->builtin || ctr_compiler_add_builtin(c, "rds") == CTR_OK) &&
           (!s->file || ctr_compiler_add_file(c, s->file) == CTR_OK) &&
           (!s->yaml || ctr_compiler_add_string(c, s->yaml, strlen(s->yaml), "bench.yaml") == CTR_OK) &&
           (!yaml || ctr_compiler_add_string(c, yaml, len, "generated.yaml") == CTR_OK);
  ok = ok && ctr_compiler_compile(c, &rs) == CTR_OK;
  if (seconds)
    *seconds = ctb_cpu_now() - t0;
  if (!ok && err) {
    snprintf(err, errlen, "compile failed");
    for (size_t i = 0; i < ctr_compiler_diag_count(c); i++) {
      const ctr_diag *d = ctr_compiler_diag(c, i);
      if (ctr_diag_severity(d) == CTR_SEVERITY_ERROR) {
        snprintf(err, errlen, "%s", ctr_diag_text(d));
        break;
      }
    }
  }
  ctr_compiler_free(c);
  free(yaml);
  return ok ? rs : NULL;
}

static ctr_ruleset *must(const rules_spec *s, const char *what)
{
  char err[512];
  ctr_ruleset *rs = compile(s, err, sizeof err, NULL);
  if (!rs) {
    fprintf(stderr, "ctrule-bench: the %s rules do not compile: %s\n", what, err);
    exit(1);
  }
  return rs;
}

/* Best of three compiles of the realistic rules alone, CPU time. */
static double compile_time(size_t n)
{
  double best = 0;
  for (int i = 0; i < 3; i++) {
    double t;
    char err[512];
    rules_spec s = {.realistic = n};
    ctr_ruleset *rs = compile(&s, err, sizeof err, &t);
    if (!rs)
      return -1;
    ctr_ruleset_unref(rs);
    if (i == 0 || t < best)
      best = t;
  }
  return best;
}

void ctb_rules_compile(bench_rules *r)
{
  memset(r, 0, sizeof *r);
  r->rds20 = must(&(rules_spec){.builtin = 1, .file = CTR_BENCH_RULES}, "RDS + 20");
}

void ctb_rules_compile_rest(bench_rules *r)
{
  r->rds = must(&(rules_spec){.builtin = 1}, "built-in");
  r->rds20_1k = must(&(rules_spec){.builtin = 1, .file = CTR_BENCH_RULES, .generated = 1000}, "RDS + 20 + 1,000");
  r->rds22 = must(&(rules_spec){.builtin = 1, .file = CTR_BENCH_FALCO_RULES}, "RDS + Falco's 22");
  r->root = must(&(rules_spec){.yaml = k_root_rule}, "identitytype = Root");
  r->srcip = must(&(rules_spec){.yaml = k_srcip_rule}, "srcip startswith");
  r->request = must(&(rules_spec){.yaml = k_request_rule}, "request contains");
  r->floor = must(&(rules_spec){.yaml = k_floor_rule}, "an eventName no record has");
  r->real1k = must(&(rules_spec){.realistic = 1000}, "1,000 realistic");
  r->real10k = must(&(rules_spec){.realistic = 10000}, "10,000 realistic");
  r->compile_1k_s = compile_time(1000);
  r->compile_10k_s = compile_time(10000);
  /* With the default limits: does an account's 10,000 rules load next to
   * the built-in ones? */
  ctr_ruleset *both = compile(&(rules_spec){.builtin = 1, .realistic = 10000}, r->builtin_10k_error,
                              sizeof r->builtin_10k_error, NULL);
  r->builtin_10k_loads = both != NULL;
  if (both)
    ctr_ruleset_unref(both);
}

void ctb_rules_report(const bench_rules *r)
{
  printf("rules (enabled): built-in RDS %zu; RDS + 20 %zu; RDS + 20 + 1,000 generated %zu; RDS + Falco's 22 %zu; "
         "realistic 1,000 %zu and 10,000 %zu\n",
         ctr_ruleset_enabled_count(r->rds), ctr_ruleset_enabled_count(r->rds20), ctr_ruleset_enabled_count(r->rds20_1k),
         ctr_ruleset_enabled_count(r->rds22), ctr_ruleset_enabled_count(r->real1k),
         ctr_ruleset_enabled_count(r->real10k));
  printf("compile (realistic rules alone, best of 3, CPU): 1,000 %.3f s, 10,000 %.3f s; built-in + 10,000 with the "
         "default limits: %s%s\n",
         r->compile_1k_s, r->compile_10k_s, r->builtin_10k_loads ? "loads" : "REFUSED: ",
         r->builtin_10k_loads ? "" : r->builtin_10k_error);
}

void ctb_rules_free(bench_rules *r)
{
  ctr_ruleset *all[] = {r->rds,    r->rds20,  r->rds20_1k, r->rds22, r->root,
                        r->srcip, r->request, r->real1k,  r->real10k, r->floor};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if (all[i])
      ctr_ruleset_unref(all[i]);
}
