/* corpus.c - deterministic synthetic CloudTrail corpora and rule sets.
 *
 * The mix follows what a real account's trail looks like: read-only
 * Describe/List/Get calls dominate, then AssumeRole, KMS and S3 data events;
 * a few percent are RDS calls and a handful are the risky writes rules look
 * for. Records carry what real ones carry (session context, resources,
 * tlsDetails, long SDK user agents) so that their size, about 1.6 KB, and
 * their shape load the parser the way real data does. */
#include "corpus.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool failed;
} sbuf;

__attribute__((format(printf, 2, 3))) static void put(sbuf *b, const char *fmt, ...)
{
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = b->failed ? 0 : vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
    va_end(ap);
    if (b->failed || n < 0) {
      b->failed = true;
      return;
    }
    if (b->p && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 1u << 20;
    while (cap < b->len + (size_t)n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->failed = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

static char *finish(sbuf *b, size_t *len)
{
  if (b->failed) {
    free(b->p);
    return NULL;
  }
  *len = b->len;
  return b->p;
}

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t next(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n) { return (unsigned)(next(s) % n); }

typedef enum { P_EC2, P_S3, P_KMS, P_IAM, P_IAM_USER, P_STS, P_RDS, P_RDS_PUBLIC, P_RDS_SHARE, P_GENERIC, P_LOGIN } params_kind;

typedef struct api {
  const char *src; /* service prefix of eventSource */
  const char *name;
  unsigned weight; /* per 100,000 records */
  bool read_only, data_event;
  params_kind kind;
} api;

static const api k_apis[] = {
  {"ec2", "DescribeInstances", 11000, true, false, P_EC2},
  {"ec2", "DescribeSecurityGroups", 5000, true, false, P_EC2},
  {"ec2", "DescribeVolumes", 4000, true, false, P_EC2},
  {"ec2", "DescribeSubnets", 3000, true, false, P_EC2},
  {"ssm", "DescribeInstanceInformation", 6000, true, false, P_GENERIC},
  {"ssm", "GetParameters", 3000, true, false, P_GENERIC},
  {"iam", "ListRoles", 2000, true, false, P_IAM},
  {"iam", "GetRole", 2500, true, false, P_IAM},
  {"iam", "ListPolicies", 1500, true, false, P_IAM},
  {"iam", "GetPolicy", 1500, true, false, P_IAM},
  {"s3", "GetObject", 10000, true, true, P_S3},
  {"s3", "HeadObject", 3000, true, true, P_S3},
  {"s3", "ListObjects", 2000, true, false, P_S3},
  {"s3", "GetBucketAcl", 1500, true, false, P_S3},
  {"kms", "Decrypt", 8000, true, false, P_KMS},
  {"kms", "GenerateDataKey", 4000, true, false, P_KMS},
  {"kms", "DescribeKey", 1500, true, false, P_KMS},
  {"sts", "GetCallerIdentity", 2000, true, false, P_GENERIC},
  {"sts", "AssumeRole", 7000, true, false, P_STS},
  {"lambda", "ListFunctions20150331", 1500, true, false, P_GENERIC},
  {"lambda", "GetFunction20150331v2", 1000, true, false, P_GENERIC},
  {"monitoring", "DescribeAlarms", 2000, true, false, P_GENERIC},
  {"logs", "DescribeLogGroups", 1500, true, false, P_GENERIC},
  {"dynamodb", "DescribeTable", 1500, true, false, P_GENERIC},
  {"secretsmanager", "GetSecretValue", 1500, true, false, P_GENERIC},
  {"cloudtrail", "LookupEvents", 500, true, false, P_GENERIC},
  {"rds", "DescribeDBInstances", 2000, true, false, P_RDS},
  {"rds", "DescribeDBClusters", 1000, true, false, P_RDS},
  {"rds", "ListTagsForResource", 500, true, false, P_RDS},
  {"rds", "DescribeDBSnapshots", 500, true, false, P_RDS},
  {"s3", "PutObject", 5000, false, true, P_S3},
  {"logs", "CreateLogStream", 1500, false, false, P_GENERIC},
  {"ec2", "CreateTags", 800, false, false, P_EC2},
  {"ec2", "RunInstances", 300, false, false, P_EC2},
  {"ec2", "TerminateInstances", 200, false, false, P_EC2},
  {"ec2", "CreateSnapshot", 200, false, false, P_EC2},
  {"ec2", "AuthorizeSecurityGroupIngress", 150, false, false, P_EC2},
  {"kms", "CreateGrant", 200, false, false, P_KMS},
  {"signin", "ConsoleLogin", 500, false, false, P_LOGIN},
  {"iam", "AttachRolePolicy", 100, false, false, P_IAM},
  {"iam", "AttachUserPolicy", 100, false, false, P_IAM_USER},
  {"iam", "CreateUser", 50, false, false, P_IAM},
  {"iam", "CreateAccessKey", 50, false, false, P_IAM},
  {"iam", "PutRolePolicy", 50, false, false, P_IAM},
  {"lambda", "UpdateFunctionCode20150331v2", 100, false, false, P_GENERIC},
  {"lambda", "CreateFunction20150331", 50, false, false, P_GENERIC},
  {"s3", "PutBucketPolicy", 50, false, false, P_S3},
  {"s3", "PutBucketAcl", 30, false, false, P_S3},
  {"s3", "DeleteBucketPublicAccessBlock", 20, false, false, P_S3},
  {"cloudtrail", "StopLogging", 10, false, false, P_GENERIC},
  {"cloudtrail", "DeleteTrail", 10, false, false, P_GENERIC},
  {"cloudtrail", "CreateTrail", 10, false, false, P_GENERIC},
  {"rds", "ModifyDBInstance", 100, false, false, P_RDS_PUBLIC},
  {"rds", "ModifyDBCluster", 50, false, false, P_RDS_PUBLIC},
  {"rds", "CreateDBSnapshot", 100, false, false, P_RDS},
  {"rds", "CreateDBInstance", 30, false, false, P_RDS_PUBLIC},
  {"rds", "DeleteDBInstance", 30, false, false, P_RDS},
  {"rds", "StopDBInstance", 30, false, false, P_RDS},
  {"rds", "ModifyDBSnapshotAttribute", 30, false, false, P_RDS_SHARE},
  {"rds", "AuthorizeDBSecurityGroupIngress", 10, false, false, P_RDS},
};

static const char *const k_regions[] = {"us-east-1", "us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1",
                                        "ap-southeast-2"};
static const char *const k_agents[] = {
  "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/%s#1.141.0",
  "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6 "
  "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34 resource api/%s",
  "aws-cli/2.15.17 Python/3.11.6 Linux/6.1.72-96.166.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/%s",
  "aws-sdk-java/2.21.29 Linux/5.10.201 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. "
  "io/sync http/Apache cfg/retry-mode/standard api/%s",
  "console.amazonaws.com",
};
static const char *const k_roles[] = {"ci-deployer", "app-backend", "data-pipeline", "ReadOnlyAuditor", "karpenter-node",
                                      "lambda-exec-orders"};

static void hex(sbuf *b, uint64_t *rng, int n)
{
  static const char digits[] = "0123456789abcdef";
  char tmp[64];
  uint64_t v = next(rng);
  for (int i = 0; i < n; i++, v >>= 4) {
    if (i % 16 == 15)
      v = next(rng);
    tmp[i] = digits[v & 15];
  }
  put(b, "%.*s", n, tmp);
}

static void uuid(sbuf *b, uint64_t *rng)
{
  hex(b, rng, 8);
  put(b, "-");
  hex(b, rng, 4);
  put(b, "-4");
  hex(b, rng, 3);
  put(b, "-a");
  hex(b, rng, 3);
  put(b, "-");
  hex(b, rng, 12);
}

static void params(sbuf *b, uint64_t *rng, const api *a, const char *region, const char *acct)
{
  unsigned id = below(rng, 5000);
  switch (a->kind) {
  case P_EC2:
    put(b, "\"requestParameters\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-0%06x%09x\"}]},"
           "\"filterSet\":{\"items\":[{\"name\":\"tag:team\",\"valueSet\":{\"items\":[{\"value\":\"payments\"}]}}]},"
           "\"maxResults\":100},\"responseElements\":null",
        id, id * 7919u);
    break;
  case P_S3:
    put(b, "\"requestParameters\":{\"bucketName\":\"acme-%s-data-%u\",\"Host\":\"acme-%s-data-%u.s3.%s.amazonaws.com\","
           "\"key\":\"ingest/2026/11/%02u/part-%05u.parquet\",\"x-id\":\"%s\"},\"responseElements\":null,"
           "\"additionalEventData\":{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\","
           "\"bytesTransferredIn\":0,\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"",
        region, id % 40, region, id % 40, region, 1 + id % 28, id, a->name);
    hex(b, rng, 48);
    put(b, "\",\"bytesTransferredOut\":%u}", 1000 + id * 13);
    break;
  case P_KMS:
    put(b, "\"requestParameters\":{\"encryptionContext\":{\"aws:s3:arn\":\"arn:aws:s3:::acme-%s-data-%u/ingest\"},"
           "\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"keyId\":\"arn:aws:kms:%s:%s:key/",
        region, id % 40, region, acct);
    uuid(b, rng);
    put(b, "\"},\"responseElements\":null");
    break;
  case P_IAM:
    put(b, "\"requestParameters\":{\"roleName\":\"%s\",\"policyArn\":\"arn:aws:iam::%s:policy/team-%u\"},"
           "\"responseElements\":null",
        k_roles[id % 6], acct, id % 90);
    break;
  case P_IAM_USER: {
    static const char *const policies[] = {"ReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AdministratorAccess",
                                           "IAMFullAccess"};
    put(b, "\"requestParameters\":{\"userName\":\"dev-%u\",\"policyArn\":\"arn:aws:iam::aws:policy/%s\"},"
           "\"responseElements\":null",
        id % 40, policies[id % 4]);
    break;
  }
  case P_STS:
    put(b, "\"requestParameters\":{\"roleArn\":\"arn:aws:iam::%s:role/%s\",\"roleSessionName\":\"session-%u\","
           "\"durationSeconds\":3600},\"responseElements\":{\"credentials\":{\"accessKeyId\":\"ASIA",
        acct, k_roles[id % 6], id);
    hex(b, rng, 16);
    put(b, "\",\"sessionToken\":\"");
    hex(b, rng, 60);
    put(b, "\",\"expiration\":\"Nov 29, 2026, 4:%02u:00 AM\"},\"assumedRoleUser\":{\"assumedRoleId\":\"AROA%u:session-%u\","
           "\"arn\":\"arn:aws:sts::%s:assumed-role/%s/session-%u\"}}",
        id % 60, id, id, acct, k_roles[id % 6], id);
    break;
  case P_RDS:
    put(b, "\"requestParameters\":{\"dBInstanceIdentifier\":\"orders-db-%u\",\"dBSnapshotIdentifier\":\"orders-snap-%u\","
           "\"skipFinalSnapshot\":%s},\"responseElements\":null",
        id % 30, id, id % 3 ? "false" : "true");
    break;
  case P_RDS_PUBLIC:
    put(b, "\"requestParameters\":{\"dBInstanceIdentifier\":\"orders-db-%u\",\"dBClusterIdentifier\":\"orders-%u\","
           "\"publiclyAccessible\":%s,\"applyImmediately\":true,\"deletionProtection\":%s},"
           "\"responseElements\":{\"dBInstanceIdentifier\":\"orders-db-%u\",\"dBInstanceStatus\":\"modifying\","
           "\"engine\":\"postgres\",\"publiclyAccessible\":%s}",
        id % 30, id % 30, id % 4 ? "false" : "true", id % 5 ? "true" : "false", id % 30, id % 4 ? "false" : "true");
    break;
  case P_RDS_SHARE:
    put(b, "\"requestParameters\":{\"dBSnapshotIdentifier\":\"orders-snap-%u\",\"attributeName\":\"restore\","
           "\"valuesToAdd\":[\"%s\"]},\"responseElements\":null",
        id, id % 2 ? "all" : "444455556666");
    break;
  case P_LOGIN:
    put(b, "\"requestParameters\":null,\"responseElements\":{\"ConsoleLogin\":\"%s\"},"
           "\"additionalEventData\":{\"LoginTo\":\"https://console.aws.amazon.com/console/home\","
           "\"MobileVersion\":\"No\",\"MFAUsed\":\"%s\"}",
        id % 10 ? "Success" : "Failure", id % 3 ? "Yes" : "No");
    break;
  default:
    put(b, "\"requestParameters\":{\"name\":\"/acme/%s/config-%u\",\"withDecryption\":true,\"maxResults\":50},"
           "\"responseElements\":null",
        a->src, id % 200);
    break;
  }
}

static void record(sbuf *b, uint64_t *rng, size_t i, const api *a)
{
  unsigned u = below(rng, 1000);
  const char *region = k_regions[below(rng, 7)];
  const char *acct = u % 17 ? "111122223333" : "777788889999";
  const char *role = k_roles[below(rng, 6)];
  unsigned sess = below(rng, 100000);
  put(b, "{\"eventVersion\":\"1.09\",\"userIdentity\":{");
  if (u < 5) {
    put(b, "\"type\":\"Root\",\"principalId\":\"%s\",\"arn\":\"arn:aws:iam::%s:root\",\"accountId\":\"%s\","
           "\"accessKeyId\":\"ASIAROOT%08u\"",
        acct, acct, acct, sess);
  } else if (u < 150) {
    put(b, "\"type\":\"IAMUser\",\"principalId\":\"AIDA%012u\",\"arn\":\"arn:aws:iam::%s:user/dev-%u\","
           "\"accountId\":\"%s\",\"accessKeyId\":\"AKIA%012u\",\"userName\":\"dev-%u\"",
        sess, acct, sess % 40, acct, sess, sess % 40);
  } else if (u < 250) {
    put(b, "\"type\":\"AWSService\",\"invokedBy\":\"%s.amazonaws.com\"", a->src);
  } else {
    put(b, "\"type\":\"AssumedRole\",\"principalId\":\"AROA6EXAMPLE%05u:session-%u\","
           "\"arn\":\"arn:aws:sts::%s:assumed-role/%s/session-%u\",\"accountId\":\"%s\",\"accessKeyId\":\"ASIA%012u\","
           "\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"AROA6EXAMPLE%05u\","
           "\"arn\":\"arn:aws:iam::%s:role/%s\",\"accountId\":\"%s\",\"userName\":\"%s\"},\"webIdFederationData\":{},"
           "\"attributes\":{\"creationDate\":\"2026-11-28T%02u:%02u:00Z\",\"mfaAuthenticated\":\"false\"}}",
        sess % 97, sess, acct, role, sess, acct, sess, sess % 97, acct, role, acct, role, sess % 24, sess % 60);
  }
  put(b, "},\"eventTime\":\"2026-11-28T%02u:%02u:%02uZ\",\"eventSource\":\"%s.amazonaws.com\",\"eventName\":\"%s\","
         "\"awsRegion\":\"%s\",\"sourceIPAddress\":\"%s\",\"userAgent\":\"",
      (unsigned)(i / 3600 % 24), (unsigned)(i / 60 % 60), (unsigned)(i % 60), a->src, a->name, region,
      u >= 150 && u < 250 ? "AWS Internal" : u % 2 ? "198.51.100.23" : "10.20.3.41");
  if (u % 100 == 7) {
    /* A few clients put quotes in their user agent: escapes on the hot path. */
    put(b, "Mozilla/5.0 (X11; Linux x86_64) \\\"custom-tool\\\" api/%s", a->src);
  } else {
    put(b, k_agents[u % 5], a->src);
  }
  put(b, "\",");
  if (u % 33 == 5)
    put(b, "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User is not authorized to perform: %s:%s\",", a->src,
        a->name);
  params(b, rng, a, region, acct);
  put(b, ",\"requestID\":\"");
  uuid(b, rng);
  put(b, "\",\"eventID\":\"");
  uuid(b, rng);
  put(b, "\",\"readOnly\":%s,\"resources\":[{\"accountId\":\"%s\",\"type\":\"AWS::%s::Resource\","
         "\"ARN\":\"arn:aws:%s:%s:%s:resource/r-%u\"},{\"accountId\":\"%s\",\"type\":\"AWS::IAM::Role\","
         "\"ARN\":\"arn:aws:iam::%s:role/%s\"}],\"eventType\":\"%s\",\"managementEvent\":%s,"
         "\"recipientAccountId\":\"%s\",\"vpcEndpointId\":\"vpce-0a1b2c3d4e5f6%05u\",\"eventCategory\":\"%s\","
         "\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\","
         "\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"%s.%s.amazonaws.com\"}}",
      a->read_only ? "true" : "false", acct, a->src, a->src, region, acct, sess, acct, acct, role,
      strcmp(a->src, "signin") == 0 ? "AwsConsoleSignIn" : "AwsApiCall", a->data_event ? "false" : "true", acct,
      sess, a->data_event ? "Data" : "Management", a->src, region);
}

static const api *pick(uint64_t *rng)
{
  static unsigned total;
  if (!total)
    for (size_t k = 0; k < sizeof k_apis / sizeof *k_apis; k++)
      total += k_apis[k].weight;
  unsigned r = below(rng, total);
  for (size_t k = 0;; k++) {
    if (r < k_apis[k].weight)
      return &k_apis[k];
    r -= k_apis[k].weight;
  }
}

static char *corpus(size_t n, uint64_t seed, size_t *len, const char *head, const char *sep, const char *tail)
{
  sbuf b = {0};
  uint64_t rng = seed;
  put(&b, "%s", head);
  for (size_t i = 0; i < n && !b.failed; i++) {
    if (i)
      put(&b, "%s", sep);
    record(&b, &rng, i, pick(&rng));
  }
  put(&b, "%s", tail);
  return finish(&b, len);
}

char *ctb_corpus_ndjson(size_t n, uint64_t seed, size_t *len) { return corpus(n, seed, len, "", "\n", "\n"); }
char *ctb_corpus_logfile(size_t n, uint64_t seed, size_t *len) { return corpus(n, seed, len, "{\"Records\":[", ",", "]}\n"); }
char *ctb_corpus_elements(size_t n, uint64_t seed, size_t *len) { return corpus(n, seed, len, "", ",", ""); }

/* Write APIs of the services rules usually watch: verb x noun per service. */
static const char *const k_verbs[] = {"Create", "Delete", "Put", "Update", "Modify", "Attach", "Detach", "Disable",
                                      "Enable", "Stop", "Start", "Authorize", "Revoke", "Restore", "Copy", "Run",
                                      "Terminate", "Remove", "Add", "Reset"};
static const struct {
  const char *src;
  const char *nouns[6];
} k_nouns[] = {
  {"ec2", {"Instances", "SecurityGroupIngress", "Snapshot", "Volume", "Tags", "NetworkAcl"}},
  {"iam", {"User", "RolePolicy", "AccessKey", "LoginProfile", "Group", "Policy"}},
  {"s3", {"BucketPolicy", "BucketAcl", "BucketPublicAccessBlock", "BucketEncryption", "Object", "BucketLogging"}},
  {"rds", {"DBInstance", "DBCluster", "DBSnapshot", "DBSnapshotAttribute", "DBSecurityGroupIngress", "DBProxy"}},
  {"kms", {"Grant", "Key", "KeyPolicy", "Alias", "KeyRotation", "CustomKeyStore"}},
  {"cloudtrail", {"Trail", "Logging", "EventSelectors", "InsightSelectors", "Channel", "EventDataStore"}},
  {"lambda", {"Function20150331", "FunctionCode20150331v2", "Permission", "Alias", "EventSourceMapping", "Layer"}},
  {"logs", {"LogGroup", "LogStream", "RetentionPolicy", "SubscriptionFilter", "MetricFilter", "Destination"}},
};

char *ctb_generated_rules(size_t n, size_t *len)
{
  static const char *const extras[] = {
    "not ct.error exists",
    "ct.user.identitytype = \"Root\"",
    "ct.region in (\"ap-east-1\", \"me-south-1\", \"af-south-1\")",
    "ct.user.accountid != \"111122223333\"",
    "json.value[/requestParameters/publiclyAccessible] = \"true\"",
    "ct.srcip startswith \"203.0.113.\"",
  };
  size_t nverbs = sizeof k_verbs / sizeof *k_verbs, nsvc = sizeof k_nouns / sizeof *k_nouns;
  sbuf b = {0};
  for (size_t i = 0; i < n && !b.failed; i++) {
    size_t svc = i % nsvc, combo = i / nsvc;
    const char *verb = k_verbs[combo % nverbs], *noun = k_nouns[svc].nouns[combo / nverbs % 6];
    put(&b,
        "- rule: Generated %zu %s%s\n"
        "  desc: generated rule %zu\n"
        "  condition: ct.src = \"%s.amazonaws.com\" and ct.name = \"%s%s\" and %s\n"
        "  output: generated %zu %s%s by %%ct.user (account %%ct.user.accountid, region %%ct.region)\n"
        "  priority: WARNING\n"
        "  source: aws_cloudtrail\n"
        "  tags: [generated]\n\n",
        i, verb, noun, i, k_nouns[svc].src, verb, noun, extras[i % (sizeof extras / sizeof *extras)], i, verb, noun);
  }
  return finish(&b, len);
}

/* Rules as an account's security team writes them in bulk: watch lists on
 * frequent calls, each rule keyed on one eventName and naming the resource
 * or principal it guards by a request-field literal. A few of each name's
 * literals occur in the generated corpus (its buckets, instance ids, roles,
 * users) and one in the shared real records; the rest never do. Half of
 * them also require a successful call, as Falco's upstream rules do. */
static void realistic_condition(sbuf *b, size_t kind, size_t j)
{
  /* By j % 4; the generator gives user dev-k policy k % 4 of its own list,
   * whose 2 and 3 are AdministratorAccess and IAMFullAccess: half of the
   * dev-k rules fire. */
  static const char *const policies[] = {"PowerUserAccess", "AmazonS3FullAccess", "AdministratorAccess",
                                         "IAMFullAccess"};
  switch (kind) {
  case 0:
    if (j == 40)
      put(b, "ct.name = \"PutBucketPolicy\" and s3.bucket = \"example-bucket\"");
    else
      put(b, "ct.name = \"PutBucketPolicy\" and s3.bucket = \"%s%zu\"", j < 40 ? "acme-us-east-1-data-" : "acme-archive-",
          j);
    break;
  case 1: { /* the corpus's instance ids are i-0 %06x %09x of id and id * 7919, id < 5000 */
    unsigned id = (unsigned)(j * 25 % 5000);
    if (j == 1)
      put(b, "ct.name = \"TerminateInstances\" and "
             "json.value[/requestParameters/instancesSet/items/0/instanceId] = \"i-0abcdef1234567890\"");
    else
      put(b, "ct.name = \"TerminateInstances\" and "
             "json.value[/requestParameters/instancesSet/items/0/instanceId] = \"i-0%06x%09x\"",
          id, id * 7919u);
    break;
  }
  case 2:
    if (j == 0)
      put(b, "ct.name = \"AssumeRole\" and json.value[/requestParameters/roleArn] = "
             "\"arn:aws:iam::777788889999:role/ReadOnlyAuditor\"");
    else if (j == 1)
      put(b, "ct.name = \"AssumeRole\" and json.value[/requestParameters/roleArn] = "
             "\"arn:aws:iam::123456789012:role/FullAdminRole\"");
    else
      put(b, "ct.name = \"AssumeRole\" and json.value[/requestParameters/roleArn] = "
             "\"arn:aws:iam::111122223333:role/breakglass-%zu\"", j);
    break;
  case 3:
    if (j == 40)
      put(b, "ct.name = \"AttachUserPolicy\" and ct.request.username = \"new-user\" and "
             "json.value[/requestParameters/policyArn] = \"arn:aws:iam::aws:policy/AdministratorAccess\"");
    else
      put(b, "ct.name = \"AttachUserPolicy\" and ct.request.username = \"%s%zu\" and "
             "json.value[/requestParameters/policyArn] = \"arn:aws:iam::aws:policy/%s\"",
          j < 40 ? "dev-" : "contractor-", j, policies[j % 4]);
    break;
  default:
    if (j == 1)
      put(b, "ct.name = \"Decrypt\" and json.value[/requestParameters/encryptionContext/aws:s3:arn] startswith "
             "\"arn:aws:s3:::dummy.streamalert\"");
    else /* j == 0 names a bucket of the generated corpus */
      put(b, "ct.name = \"Decrypt\" and json.value[/requestParameters/encryptionContext/aws:s3:arn] startswith "
             "\"arn:aws:s3:::%s%zu/\"", j == 0 ? "acme-eu-west-1-data-" : "vault-", j == 0 ? (size_t)7 : j);
    break;
  }
}

char *ctb_realistic_rules(size_t n, size_t *len)
{
  static const char *const names[] = {"PutBucketPolicy", "TerminateInstances", "AssumeRole", "AttachUserPolicy",
                                      "Decrypt"};
  sbuf b = {0};
  for (size_t i = 0; i < n && !b.failed; i++) {
    size_t kind = i % 5, j = i / 5;
    put(&b, "- rule: Watched %s %zu\n  desc: watch list entry %zu\n  condition: >\n    ", names[kind], j, i);
    realistic_condition(&b, kind, j);
    put(&b, "%s\n  output: %s on a watched resource by %%ct.user (account %%ct.user.accountid, region %%ct.region)\n"
            "  priority: WARNING\n  source: aws_cloudtrail\n  tags: [watchlist]\n\n",
        j % 2 ? "" : " and not ct.error exists", names[kind]);
  }
  return finish(&b, len);
}

char *ctb_replicate_lines(const char *data, size_t len, size_t n, size_t *out_len)
{
  sbuf b = {0};
  size_t got = 0;
  while (got < n && !b.failed) {
    size_t before = got;
    for (const char *p = data, *end = data + len; p < end && got < n;) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
      if (l) {
        put(&b, "%.*s\n", (int)l, p);
        got++;
      }
      p += l + 1;
    }
    if (got == before) /* no record in the input */
      b.failed = true;
  }
  return finish(&b, out_len);
}

char *ctb_logfile_of_lines(const char *ndjson, size_t len, size_t *out_len)
{
  sbuf b = {0};
  put(&b, "{\"Records\":[");
  bool first = true;
  for (const char *p = ndjson, *end = ndjson + len; p < end && !b.failed;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (l) {
      put(&b, "%s%.*s", first ? "" : ",", (int)l, p);
      first = false;
    }
    p += l + 1;
  }
  put(&b, "]}\n");
  return finish(&b, out_len);
}
