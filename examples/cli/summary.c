/* summary.c - the --summary drill-down: account -> region -> rule with
 * counts, and the top principals and resources of each region.
 *
 * Rule outputs differ from rule to rule, so the account, region, principal
 * and resource of an alert are not read from its output: a tiny probe
 * ruleset (one rule that matches every record, whose output names the fields
 * we need) is run over the raw bytes of the matching record. The library
 * extracts the fields, so the CLI needs no JSON parser. */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOP_N 5

static const char probe_yaml[] =
    "- rule: ctrule summary probe\n"
    "  desc: Extracts the fields of the --summary drill-down from one record.\n"
    "  condition: evt.num > 0\n"
    "  output: >\n"
    "    %ct.user.accountid %ct.recipientaccountid %ct.region %ct.user.arn %ct.user\n"
    "    %ct.user.principalid %rds.resource %s3.bucket %iam.role %ecr.repository\n"
    "    %ct.request.functionname %ct.request.username %ct.request.groupname %ct.request.name\n"
    "    %json.value[/requestParameters/sourceArn] %json.value[/requestParameters/resourceArn]\n"
    "    %json.value[/requestParameters/groupId]\n"
    "  priority: DEBUG\n"
    "  source: aws_cloudtrail\n";

/* First field present (and non-empty) among the names, in order. */
static const char *const account_fields[] = {"ct.user.accountid", "ct.recipientaccountid"};
static const char *const principal_fields[] = {"ct.user.arn", "ct.user", "ct.user.principalid"};
static const char *const resource_fields[] = {"rds.resource", "s3.bucket", "iam.role", "ecr.repository",
                                              "ct.request.functionname", "ct.request.username",
                                              "ct.request.groupname", "ct.request.name",
                                              "json.value[/requestParameters/sourceArn]",
                                              "json.value[/requestParameters/resourceArn]",
                                              "json.value[/requestParameters/groupId]"};

typedef struct region {
  strcount rules; /* rule name -> alerts */
  strcount principals;
  strcount resources;
  uint64_t alerts;
} region;

typedef struct account {
  strcount regions; /* data: region */
  uint64_t alerts;
} account;

struct summary {
  /* `scan -j N` adds from every worker: the probe runs outside the lock (it
   * reads the record's bytes), the tables are updated under it. */
  pthread_mutex_t mu;
  ctr_ruleset *probe;
  bool probe_failed;
  strcount accounts;   /* data: account */
  strcount rule_prio;  /* rule name -> priority */
  uint64_t total;
  uint64_t by_priority[8];
  size_t regions_seen;
};

typedef struct probe_result {
  char *account, *region, *principal, *resource;
  bool out_of_memory; /* a field could not be rendered */
} probe_result;

summary *summary_new(void)
{
  summary *s = xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  ctr_compiler *c = NULL;
  if (ctr_compiler_new(&c) == CTR_OK && ctr_compiler_add_string(c, probe_yaml, sizeof probe_yaml - 1, "<summary probe>") == CTR_OK &&
      ctr_compiler_compile(c, &s->probe) == CTR_OK) {
    /* ready */
  } else {
    /* The drill-down then groups everything under "unknown"; say why once. */
    for (size_t i = 0; c && i < ctr_compiler_diag_count(c); i++)
      warnf("summary probe: %s", ctr_diag_text(ctr_compiler_diag(c, i)));
    s->probe_failed = true;
  }
  ctr_compiler_free(c);
  return s;
}

static char *first_field(const ctr_match *m, const char *const *names, size_t n, probe_result *r)
{
  for (size_t i = 0; i < n; i++) {
    const char *v = NULL;
    int rc = ctr_match_field(m, names[i], &v);
    r->out_of_memory |= rc == CTR_ENOMEM;
    if (rc == CTR_OK && v && *v)
      return xstrdup(v);
  }
  return NULL;
}

static int on_probe(const ctr_match *m, void *ud)
{
  probe_result *r = ud;
  r->account = first_field(m, account_fields, sizeof account_fields / sizeof account_fields[0], r);
  r->region = first_field(m, (const char *const[]){"ct.region"}, 1, r);
  r->principal = first_field(m, principal_fields, sizeof principal_fields / sizeof principal_fields[0], r);
  r->resource = first_field(m, resource_fields, sizeof resource_fields / sizeof resource_fields[0], r);
  return 1; /* one record, one match: stop */
}

/* A Sigma correlation's alert is on a record the library makes (no
 * userIdentity, no awsRegion): its group-by fields, output fields of the
 * alert, say whose it is. The account, else, is the principal ARN's. */
static void from_group(const ctr_match *m, probe_result *r)
{
  if (!r->region)
    r->region = first_field(m, (const char *const[]){"awsRegion"}, 1, r);
  if (!r->principal)
    r->principal = first_field(m, (const char *const[]){"userIdentity.arn"}, 1, r);
  if (!r->resource)
    r->resource = first_field(m,
                              (const char *const[]){"requestParameters.dBSnapshotIdentifier",
                                                    "requestParameters.dBInstanceIdentifier",
                                                    "requestParameters.dBClusterIdentifier"},
                              3, r);
  if (!r->account)
    r->account = first_field(m, (const char *const[]){"recipientAccountId", "userIdentity.accountId"}, 2, r);
  if (!r->account && r->principal && strncmp(r->principal, "arn:", 4) == 0) {
    /* arn:PARTITION:SERVICE:REGION:ACCOUNT:... */
    const char *p = r->principal;
    for (int colons = 0; *p && colons < 4; p++)
      colons += *p == ':';
    size_t n = strcspn(p, ":");
    if (n && p[n] == ':') {
      r->account = xmalloc(n + 1);
      memcpy(r->account, p, n);
      r->account[n] = '\0';
    }
  }
}

static void free_region(void *p)
{
  region *r = p;
  strcount_free(&r->rules, NULL);
  strcount_free(&r->principals, NULL);
  strcount_free(&r->resources, NULL);
  free(r);
}

static void free_account(void *p)
{
  account *a = p;
  strcount_free(&a->regions, free_region);
  free(a);
}

int summary_add(summary *s, const ctr_match *m)
{
  probe_result r = {0};
  if (s->probe) {
    size_t len = 0;
    const char *raw = ctr_match_event(m, &len);
    if (ctr_scan_buffer(s->probe, raw, len, 0, on_probe, &r) == CTR_ENOMEM)
      r.out_of_memory = true;
  }
  if (!r.out_of_memory)
    from_group(m, &r);
  if (r.out_of_memory) {
    free(r.account), free(r.region), free(r.principal), free(r.resource);
    return CTR_ENOMEM;
  }
  const char *acct = r.account ? r.account : "(unknown account)";
  const char *reg = r.region ? r.region : "(unknown region)";
  const char *rule = ctr_match_rule(m);
  int prio = ctr_match_priority(m);

  pthread_mutex_lock(&s->mu);
  strcount_entry *ae = strcount_get(&s->accounts, acct);
  if (!ae->data)
    ae->data = xcalloc(1, sizeof(account));
  account *a = ae->data;
  ae->count++;
  a->alerts++;
  strcount_entry *re = strcount_get(&a->regions, reg);
  if (!re->data) {
    re->data = xcalloc(1, sizeof(region));
    s->regions_seen++;
  }
  region *rg = re->data;
  re->count++;
  rg->alerts++;
  strcount_add(&rg->rules, rule, 1);
  strcount_add(&rg->principals, r.principal ? r.principal : "(unknown principal)", 1);
  strcount_add(&rg->resources, r.resource ? r.resource : "(no resource id)", 1);
  strcount_get(&s->rule_prio, rule)->count = (uint64_t)prio;
  s->total++;
  if (prio >= 0 && prio < 8)
    s->by_priority[prio]++;
  pthread_mutex_unlock(&s->mu);
  free(r.account);
  free(r.region);
  free(r.principal);
  free(r.resource);
  return CTR_OK;
}

static const summary *sort_ctx;

static int by_rule_order(const void *x, const void *y)
{
  const strcount_entry *a = *(const strcount_entry *const *)x;
  const strcount_entry *b = *(const strcount_entry *const *)y;
  uint64_t pa = strcount_get((strcount *)&sort_ctx->rule_prio, a->key)->count;
  uint64_t pb = strcount_get((strcount *)&sort_ctx->rule_prio, b->key)->count;
  if (pa != pb)
    return pa < pb ? -1 : 1; /* more severe (lower number) first */
  if (a->count != b->count)
    return a->count > b->count ? -1 : 1;
  return strcmp(a->key, b->key);
}

static void print_top(FILE *out, const char *label, const strcount *t, bool color)
{
  strcount_entry **v = strcount_sorted(t);
  fprintf(out, "    %s%-11s%s", color_dim(color), label, color_reset(color));
  size_t shown = t->n < TOP_N ? t->n : TOP_N;
  for (size_t i = 0; i < shown; i++)
    fprintf(out, "%s%s (%llu)", i ? ", " : "", v[i]->key, (unsigned long long)v[i]->count);
  if (t->n > shown)
    fprintf(out, ", ... (+%zu more)", t->n - shown);
  fputc('\n', out);
  free(v);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

void summary_print(summary *s, FILE *out, bool color)
{
  fprintf(out, "\n%s== Summary: %llu %s", color_bold(color), (unsigned long long)s->total,
          plural(s->total, "alert", "alerts"));
  if (s->total) {
    fputs(" (", out);
    bool first = true;
    for (int p = 0; p < 8; p++) {
      if (!s->by_priority[p])
        continue;
      fprintf(out, "%s%llu %s", first ? "" : ", ", (unsigned long long)s->by_priority[p], ctr_priority_name(p));
      first = false;
    }
    fprintf(out, ") in %zu %s, %zu %s, %zu %s", s->accounts.n, plural(s->accounts.n, "account", "accounts"),
            s->regions_seen, plural(s->regions_seen, "region", "regions"), s->rule_prio.n,
            plural(s->rule_prio.n, "rule", "rules"));
  }
  fprintf(out, "%s\n", color_reset(color));
  if (s->probe_failed)
    fputs("   (account, region, principal and resource could not be extracted)\n", out);

  strcount_entry **accts = strcount_sorted(&s->accounts);
  for (size_t i = 0; i < s->accounts.n; i++) {
    account *a = accts[i]->data;
    fprintf(out, "\n%saccount %s%s  %llu %s\n", color_bold(color), accts[i]->key, color_reset(color),
            (unsigned long long)a->alerts, plural(a->alerts, "alert", "alerts"));
    strcount_entry **regs = strcount_sorted(&a->regions);
    for (size_t j = 0; j < a->regions.n; j++) {
      region *rg = regs[j]->data;
      fprintf(out, "  region %s  %llu %s\n", regs[j]->key, (unsigned long long)rg->alerts,
              plural(rg->alerts, "alert", "alerts"));
      strcount_entry **rules = strcount_sorted(&rg->rules);
      sort_ctx = s;
      qsort(rules, rg->rules.n, sizeof *rules, by_rule_order);
      for (size_t k = 0; k < rg->rules.n; k++) {
        int prio = (int)strcount_get(&s->rule_prio, rules[k]->key)->count;
        const char *pname = ctr_priority_name(prio);
        fprintf(out, "    %s%-9s%s %5llu  %s\n", color_priority(color, prio), pname ? pname : "?",
                color_reset(color), (unsigned long long)rules[k]->count, rules[k]->key);
      }
      free(rules);
      print_top(out, "principals", &rg->principals, color);
      print_top(out, "resources", &rg->resources, color);
    }
    free(regs);
  }
  free(accts);
}

void summary_free(summary *s)
{
  if (!s)
    return;
  ctr_ruleset_unref(s->probe);
  strcount_free(&s->accounts, free_account);
  strcount_free(&s->rule_prio, NULL);
  pthread_mutex_destroy(&s->mu);
  free(s);
}
