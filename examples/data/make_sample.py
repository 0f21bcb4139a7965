#!/usr/bin/env python3
"""Builds examples/data/cloudtrail-sample.json.gz, the sample the README's
main command (scripts/demo.sh) scans with the built-in RDS rules.

    python3 examples/data/make_sample.py [--check]

The file is one CloudTrail log file as CloudTrail writes it to S3: a single
gzip member holding {"Records":[...]}. It holds
  * real traffic copied byte for byte from the shared corpus
    (../shared/data/cloudtrail/records.ndjson; see SOURCES.md beside this
    script for the provenance and licence of every copied line), including
    two real risky RDS calls (a snapshot shared with a foreign account, a
    database deleted without a final snapshot);
  * a hand-written afternoon in two accounts (documentation account ids,
    TEST-NET addresses): routine RDS administration, AWS Backup housekeeping,
    and an intruder who disables deletion protection and backups, shares a
    snapshot out, exports it to S3 and deletes the database.

Deterministic: the same input gives the same bytes (gzip mtime 0). --check
rebuilds in memory and compares with the committed file (exit 1 if they
differ).
"""
import gzip
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "cloudtrail", "records.ndjson"))
OUT = os.path.join(HERE, "cloudtrail-sample.json.gz")

# Lines of records.ndjson copied as they are (see SOURCES.md).
REAL_LINES = (
    list(range(1068, 1112))      # criblpacks/cribl-aws-cloudtrail-logs: a day of one account, 13 services
    + list(range(1127, 1140))    # log2timeline/plaso: EC2 LookupEvents records
    + list(range(1153, 1159))    # flosell/trailscraper: small log files
    + [806, 809]                 # DataDog/stratus-red-team: SSH opened to a /0; RDS snapshot shared out
)

ORG = "123456789012"        # the Cribl sample's account: the intruder's story happens there too
OTHER = "111122223333"      # a second account (eu-west-1)
FOREIGN = "444455556666"

CLI = ("aws-cli/2.17.2 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-1009-aws md/arch#x86_64 lang/python#3.11.9 "
       "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#rds.{cmd}")
BOTO = ("Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#6.1.0-18-amd64 md/arch#x86_64 lang/python#3.12.3 "
        "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.131")


def user(account, name):
    return {"type": "IAMUser", "principalId": "AIDA" + uuid.uuid5(uuid.NAMESPACE_URL, account + name).hex[:17].upper(),
            "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account,
            "accessKeyId": "AKIA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:16].upper(), "userName": name}


def role(account, name, session, invoked_by=None):
    rid = "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, account + name).hex[:17].upper()
    u = {"type": "AssumedRole", "principalId": f"{rid}:{session}",
         "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}", "accountId": account,
         "accessKeyId": "ASIA" + uuid.uuid5(uuid.NAMESPACE_URL, session).hex[:16].upper(),
         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": rid,
                                              "arn": f"arn:aws:iam::{account}:role/{name}", "accountId": account,
                                              "userName": name},
                            "attributes": {"creationDate": "2025-07-10T15:58:02Z", "mfaAuthenticated": "false"}}}
    if invoked_by:
        u["invokedBy"] = invoked_by
    return u


DBA = (user(ORG, "dba-carol"), "198.51.100.40", CLI)
INTRUDER = (role(ORG, "DevOpsDeployRole", "mallory"), "203.0.113.77", BOTO)
BACKUP = (role(ORG, "AWSServiceRoleForBackup", "AWSBackup-AWSServiceRoleForBackup", "backup.amazonaws.com"),
          "backup.amazonaws.com", "backup.amazonaws.com")
EU_ADMIN = (role(OTHER, "AWSReservedSSO_AdministratorAccess_5c4e2a0b7d1f9e36", "bob@example.com"), "198.51.100.61",
            "AWS Internal")
EU_INTERN = (user(OTHER, "intern-dave"), "192.0.2.81", CLI)


def kebab(name):
    import re
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def ev(time, who, event, request, response=None, region="us-east-1", error=None, read_only=False):
    identity, ip, agent = who
    r = {"eventVersion": "1.10", "userIdentity": identity, "eventTime": time, "eventSource": "rds.amazonaws.com",
         "eventName": event, "awsRegion": region, "sourceIPAddress": ip, "userAgent": agent.replace("{cmd}", kebab(event))}
    if error:
        r["errorCode"] = "AccessDenied"
        r["errorMessage"] = (f"User: {identity['arn']} is not authorized to perform: rds:{event} on resource: "
                             f"arn:aws:rds:{region}:{identity['accountId']}:db:{request.get('dBInstanceIdentifier', '*')} "
                             f"because no identity-based policy allows the rds:{event} action")
    seed = f"{time}|{event}|{json.dumps(request, sort_keys=True)}"
    r.update({"requestParameters": request, "responseElements": None if error else response,
              "requestID": str(uuid.uuid5(uuid.NAMESPACE_OID, "req" + seed)),
              "eventID": str(uuid.uuid5(uuid.NAMESPACE_OID, "evt" + seed)),
              "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
              "recipientAccountId": identity["accountId"], "eventCategory": "Management"})
    if not ip.endswith(".amazonaws.com"):
        r["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": f"rds.{region}.amazonaws.com"}
    return r


def instance(ident, account=ORG, region="us-east-1", **over):
    d = {"dBInstanceIdentifier": ident, "dBInstanceClass": "db.r6g.large", "engine": "postgres",
         "dBInstanceStatus": "available", "masterUsername": "dbadmin", "allocatedStorage": 200,
         "backupRetentionPeriod": 7, "multiAZ": True, "engineVersion": "16.3", "publiclyAccessible": False,
         "storageEncrypted": True, "pendingModifiedValues": {}, "deletionProtection": True,
         "dBInstanceArn": f"arn:aws:rds:{region}:{account}:db:{ident}",
         "dbiResourceId": "db-" + uuid.uuid5(uuid.NAMESPACE_DNS, ident).hex[:26].upper()}
    d.update(over)
    return d


def snapshot(ident, inst, **over):
    d = {"dBSnapshotIdentifier": ident, "dBInstanceIdentifier": inst, "engine": "postgres", "allocatedStorage": 200,
         "status": "creating", "snapshotType": "manual", "encrypted": True, "percentProgress": 0,
         "dBSnapshotArn": f"arn:aws:rds:us-east-1:{ORG}:snapshot:{ident}"}
    d.update(over)
    return d


def story():
    snap = "orders-prod-adhoc-0710"
    return [
        # Routine work in the morning of the Cribl day.
        ev("2025-07-10T15:05:12Z", DBA, "DescribeDBInstances", {"dBInstanceIdentifier": "orders-prod"}, None, read_only=True),
        ev("2025-07-10T15:06:40Z", DBA, "ModifyDBInstance",
           {"dBInstanceIdentifier": "orders-prod", "allocatedStorage": 300, "applyImmediately": False},
           instance("orders-prod", pendingModifiedValues={"allocatedStorage": 300})),
        ev("2025-07-10T15:20:03Z", BACKUP, "CreateDBSnapshot",
           {"dBSnapshotIdentifier": "awsbackup:job-5c9e1a2b-3d4f-4e5a-8b6c-7d8e9f0a1b2c", "dBInstanceIdentifier": "orders-prod"},
           snapshot("awsbackup:job-5c9e1a2b-3d4f-4e5a-8b6c-7d8e9f0a1b2c", "orders-prod", snapshotType="awsbackup")),
        ev("2025-07-10T15:21:47Z", BACKUP, "DeleteDBSnapshot",
           {"dBSnapshotIdentifier": "awsbackup:job-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"},
           snapshot("awsbackup:job-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "orders-prod", status="deleted",
                    snapshotType="awsbackup")),
        # The intruder (DevOpsDeployRole session from an unknown address).
        ev("2025-07-10T16:02:11Z", INTRUDER, "DescribeDBSnapshots", {"includeShared": True, "includePublic": False},
           None, read_only=True),
        ev("2025-07-10T16:03:58Z", INTRUDER, "ModifyDBInstance",
           {"dBInstanceIdentifier": "orders-prod", "deletionProtection": False, "applyImmediately": True},
           instance("orders-prod", deletionProtection=False)),
        ev("2025-07-10T16:04:30Z", INTRUDER, "CreateDBSnapshot",
           {"dBSnapshotIdentifier": snap, "dBInstanceIdentifier": "orders-prod"}, snapshot(snap, "orders-prod")),
        ev("2025-07-10T16:19:02Z", INTRUDER, "ModifyDBSnapshotAttribute",
           {"dBSnapshotIdentifier": snap, "attributeName": "restore", "valuesToAdd": [FOREIGN]},
           {"dBSnapshotIdentifier": snap, "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": [FOREIGN]}]}),
        ev("2025-07-10T16:21:44Z", INTRUDER, "StartExportTask",
           {"exportTaskIdentifier": "orders-export-0710", "sourceArn": f"arn:aws:rds:us-east-1:{ORG}:snapshot:{snap}",
            "s3BucketName": "ext-data-drop-7731", "iamRoleArn": f"arn:aws:iam::{ORG}:role/rds-s3-export",
            "kmsKeyId": f"arn:aws:kms:us-east-1:{ORG}:key/2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c"},
           {"exportTaskIdentifier": "orders-export-0710", "status": "STARTING", "percentProgress": 0}),
        ev("2025-07-10T16:40:09Z", INTRUDER, "ModifyDBInstance",
           {"dBInstanceIdentifier": "orders-prod", "backupRetentionPeriod": 0, "applyImmediately": True},
           instance("orders-prod", deletionProtection=False, pendingModifiedValues={"backupRetentionPeriod": 0})),
        ev("2025-07-10T16:41:55Z", INTRUDER, "DeleteDBInstance",
           {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": True, "deleteAutomatedBackups": True},
           instance("orders-prod", dBInstanceStatus="deleting", deletionProtection=False)),
        # Meanwhile, in the second account.
        ev("2025-07-10T16:10:31Z", EU_INTERN, "ModifyDBInstance",
           {"dBInstanceIdentifier": "billing-reports", "publiclyAccessible": True}, None, region="eu-west-1", error=True),
        ev("2025-07-10T16:12:20Z", EU_ADMIN, "ModifyDBInstance",
           {"dBInstanceIdentifier": "billing-reports", "publiclyAccessible": True, "applyImmediately": True},
           instance("billing-reports", account=OTHER, region="eu-west-1", engine="mysql", publiclyAccessible=True),
           region="eu-west-1"),
        ev("2025-07-10T16:13:02Z", EU_ADMIN, "ModifyDBInstance",
           {"dBInstanceIdentifier": "billing-reports", "masterUserPassword": "****", "applyImmediately": True},
           instance("billing-reports", account=OTHER, region="eu-west-1", engine="mysql", publiclyAccessible=True,
                    pendingModifiedValues={"masterUserPassword": "****"}), region="eu-west-1"),
    ]


def build():
    with open(CORPUS, encoding="utf-8") as f:
        lines = f.read().split("\n")
    records = []
    for n in REAL_LINES:
        rec = json.loads(lines[n - 1])
        if '"..."' in lines[n - 1]:
            sys.exit(f"records.ndjson line {n} has placeholders; pick another")
        records.append((rec["eventTime"], lines[n - 1]))
    for rec in story():
        records.append((rec["eventTime"], json.dumps(rec, separators=(",", ":"))))
    records.sort(key=lambda r: r[0])  # CloudTrail writes a file in (roughly) time order
    body = '{"Records":[' + ",".join(text for _, text in records) + "]}"
    return gzip.compress(body.encode("utf-8"), compresslevel=9, mtime=0), len(records)


def main():
    data, n = build()
    if "--check" in sys.argv[1:]:
        with open(OUT, "rb") as f:
            old = gzip.decompress(f.read())
        if old != gzip.decompress(data):
            print(f"{OUT} is out of date: run examples/data/make_sample.py")
            return 1
        print(f"{os.path.basename(OUT)} up to date ({n} records)")
        return 0
    with open(OUT, "wb") as f:
        f.write(data)
    print(f"wrote {OUT}: {n} records, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
