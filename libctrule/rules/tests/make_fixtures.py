#!/usr/bin/env python3
"""Writes the fixtures of the built-in RDS rules (libctrule/rules/tests/).

    python3 libctrule/rules/tests/make_fixtures.py [--check]

For every rule of aws_rds_rules.yaml: <slug>.ndjson (CloudTrail records, one
per line) and <slug>.expect (what the rule must do with each record; see
`ctrule test --help`). The output is committed; re-run this script after
editing it. --check compares instead of writing (exit 1 on a difference).

Records are of two kinds:
  * real records, copied byte for byte from the shared corpus
    (../shared/data/cloudtrail/records.ndjson, see SOURCES.md there); their
    line number and source are noted in the .expect file;
  * records written here, shaped like what CloudTrail writes for RDS
    (eventVersion 1.09/1.10, flat responseElements with the RDS API's
    camelCase keys, redacted passwords, AccessDenied messages). Accounts,
    keys and addresses are documentation values (111122223333 is "us",
    444455556666 a foreign account, 198.51.100.0/24 and 203.0.113.0/24 are
    TEST-NET ranges).

Every rule gets at least one `alert` record and two `quiet` ones: the same
call made harmlessly (or, for rules that key on the call alone, its harmless
counterpart such as StartDBInstance for StopDBInstance) and the same call
that failed.
"""
import json
import os
import re
import sys
import uuid
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "cloudtrail", "records.ndjson"))

ACCOUNT = "111122223333"
FOREIGN = "444455556666"
FOREIGN2 = "555566667777"

# ------------------------------------------------------------------ sources of real records

SOURCES = [
    # (first line, last line, source, licence line)
    (1, 541, "panther-labs/panther-analysis", "Apache-2.0"),
    (542, 900, "DataDog/stratus-red-team", "Apache-2.0; NOTICE: Stratus Red Team, Copyright 2021-Present Datadog, Inc."),
    (901, 1003, "OTRF/Security-Datasets", "MIT; Copyright (c) 2021 Open Threat Research Forge"),
    (1004, 1067, "airbnb/streamalert", "Apache-2.0"),
    (1068, 1111, "criblpacks/cribl-aws-cloudtrail-logs", "Apache-2.0"),
]

_corpus = None


def real(line, event_name):
    """The corpus record at `line` (1-based), byte for byte, and its provenance."""
    global _corpus
    if _corpus is None:
        with open(CORPUS, "rb") as f:
            _corpus = f.read().decode("utf-8").split("\n")
    text = _corpus[line - 1]
    got = json.loads(text)["eventName"]
    if got != event_name:
        sys.exit(f"records.ndjson line {line} is {got}, expected {event_name}")
    src = next(f"{s} ({lic})" for a, b, s, lic in SOURCES if a <= line <= b)
    return {"raw": text, "note": f"real record: shared records.ndjson line {line}, {src}"}


# ------------------------------------------------------------------ identities

def iam_user(name, ip, agent, account=ACCOUNT, key="AKIAIOSFODNN7EXAMPLE"):
    return {
        "identity": {
            "type": "IAMUser",
            "principalId": "AIDA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper(),
            "arn": f"arn:aws:iam::{account}:user/{name}",
            "accountId": account,
            "accessKeyId": key,
            "userName": name,
        },
        "ip": ip,
        "agent": agent,
        "account": account,
    }


def assumed_role(role, session, ip, agent, account=ACCOUNT, console=False, invoked_by=None):
    rid = "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, role).hex[:17].upper()
    ident = {
        "type": "AssumedRole",
        "principalId": f"{rid}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIA" + uuid.uuid5(uuid.NAMESPACE_URL, session).hex[:16].upper(),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": rid,
                "arn": f"arn:aws:iam::{account}:role/{role.replace('AWSReservedSSO', 'aws-reserved/sso.amazonaws.com/AWSReservedSSO') if role.startswith('AWSReservedSSO') else role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2025-06-03T08:58:11Z", "mfaAuthenticated": "false"},
        },
    }
    if invoked_by:
        ident["invokedBy"] = invoked_by
    return {"identity": ident, "ip": ip, "agent": agent, "account": account, "console": console}


CLI = "aws-cli/2.17.2 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-1009-aws md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#rds.{cmd}"
BOTO = "Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#6.1.0-18-amd64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.131"
TERRAFORM = "APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.54.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.27.2 ua/2.0 os/linux lang/go#1.22.4 md/GOOS#linux md/GOARCH#amd64 api/rds#1.79.6"
CONSOLE = "AWS Internal"

ALICE = iam_user("alice", "198.51.100.23", CLI)
MALLORY = assumed_role("DevOpsDeployRole", "mallory", "203.0.113.77", BOTO)
BOB_SSO = assumed_role("AWSReservedSSO_AdministratorAccess_5c4e2a0b7d1f9e36", "bob@example.com", "198.51.100.61", CONSOLE, console=True)
TERRAFORM_CI = assumed_role("terraform-ci", "gha-run-9912345678", "192.0.2.44", TERRAFORM)
BACKUP = assumed_role("AWSServiceRoleForBackup", "AWSBackup-AWSServiceRoleForBackup", "backup.amazonaws.com",
                      "backup.amazonaws.com", invoked_by="backup.amazonaws.com")


def with_agent(who, agent):
    w = dict(who)
    w["agent"] = agent
    return w


# ------------------------------------------------------------------ records

_clock = [datetime(2025, 6, 3, 9, 12, 44, tzinfo=timezone.utc)]


def tick(minutes=7, seconds=13):
    _clock[0] += timedelta(minutes=minutes, seconds=seconds)
    return _clock[0].strftime("%Y-%m-%dT%H:%M:%SZ")


def kebab(name):
    """ModifyDBInstance -> modify-db-instance (the AWS CLI's command names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def record(event, request, response=None, who=ALICE, region="us-east-1", error=None, message=None,
           source="rds.amazonaws.com", read_only=False, version="1.10", resource=None, api_version=None):
    """A CloudTrail record as CloudTrail writes it, keys in CloudTrail's order."""
    t = tick()
    seed = f"{event}|{t}|{json.dumps(request, sort_keys=True)}"
    r = {
        "eventVersion": version,
        "userIdentity": who["identity"],
        "eventTime": t,
        "eventSource": source,
        "eventName": event,
        "awsRegion": region,
        "sourceIPAddress": who["ip"],
        "userAgent": who["agent"].replace("{cmd}", kebab(event)),
    }
    if error:
        r["errorCode"] = error
        if message is None:
            action = source.split(".")[0]
            arn = resource or f"arn:aws:{action}:{region}:{who['account']}:db:*"
            message = (f"User: {who['identity']['arn']} is not authorized to perform: {action}:{event} on resource: "
                       f"{arn} because no identity-based policy allows the {action}:{event} action")
        r["errorMessage"] = message
    r["requestParameters"] = request
    r["responseElements"] = None if error else response
    r["requestID"] = str(uuid.uuid5(uuid.NAMESPACE_OID, "req|" + seed))
    r["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_OID, "evt|" + seed))
    r["readOnly"] = read_only
    r["eventType"] = "AwsApiCall"
    if api_version:
        r["apiVersion"] = api_version
    r["managementEvent"] = True
    r["recipientAccountId"] = who["account"] if who["account"] else ACCOUNT
    r["eventCategory"] = "Management"
    if not who["ip"].endswith(".amazonaws.com"):
        r["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
        }
    if who.get("console"):
        r["sessionCredentialFromConsole"] = "true"
    return {"raw": json.dumps(r, separators=(",", ":")), "note": None}


def db_instance(ident, **over):
    """responseElements of an RDS call returning a DBInstance (CloudTrail writes it flat)."""
    d = {
        "dBInstanceIdentifier": ident,
        "dBInstanceClass": "db.r6g.large",
        "engine": "postgres",
        "dBInstanceStatus": "available",
        "masterUsername": "dbadmin",
        "dBName": "orders",
        "endpoint": {"address": f"{ident}.c9akciq32xyz.us-east-1.rds.amazonaws.com", "port": 5432,
                     "hostedZoneId": "Z2R2ITUGPM61AM"},
        "allocatedStorage": 200,
        "instanceCreateTime": "Jan 14, 2024, 10:21:05 AM",
        "preferredBackupWindow": "03:00-03:30",
        "backupRetentionPeriod": 7,
        "dBSecurityGroups": [],
        "vpcSecurityGroups": [{"vpcSecurityGroupId": "sg-0b7c1e2d3f4a5b6c7", "status": "active"}],
        "dBParameterGroups": [{"dBParameterGroupName": "orders-pg16", "parameterApplyStatus": "in-sync"}],
        "availabilityZone": "us-east-1b",
        "dBSubnetGroup": {"dBSubnetGroupName": "orders-db-subnets", "dBSubnetGroupDescription": "orders database",
                          "vpcId": "vpc-0a1b2c3d4e5f60718", "subnetGroupStatus": "Complete"},
        "preferredMaintenanceWindow": "sun:05:00-sun:05:30",
        "pendingModifiedValues": {},
        "latestRestorableTime": "Jun 3, 2025, 9:05:00 AM",
        "multiAZ": True,
        "engineVersion": "16.3",
        "autoMinorVersionUpgrade": True,
        "readReplicaDBInstanceIdentifiers": [],
        "licenseModel": "postgresql-license",
        "optionGroupMemberships": [{"optionGroupName": "default:postgres-16", "status": "in-sync"}],
        "publiclyAccessible": False,
        "storageType": "gp3",
        "dbInstancePort": 0,
        "storageEncrypted": True,
        "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c",
        "dbiResourceId": "db-" + uuid.uuid5(uuid.NAMESPACE_DNS, ident).hex[:26].upper(),
        "cACertificateIdentifier": "rds-ca-rsa2048-g1",
        "domainMemberships": [],
        "copyTagsToSnapshot": True,
        "monitoringInterval": 60,
        "dBInstanceArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:db:{ident}",
        "iAMDatabaseAuthenticationEnabled": True,
        "performanceInsightsEnabled": True,
        "deletionProtection": True,
        "associatedRoles": [],
        "tagList": [],
        "customerOwnedIpEnabled": False,
        "backupTarget": "region",
        "networkType": "IPV4",
        "storageThroughput": 125,
        "dedicatedLogVolume": False,
        "isStorageConfigUpgradeAvailable": False,
        "engineLifecycleSupport": "open-source-rds-extended-support",
    }
    d.update(over)
    return d


def db_cluster(ident, **over):
    d = {
        "allocatedStorage": 1,
        "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "backupRetentionPeriod": 7,
        "dBClusterIdentifier": ident,
        "dBClusterParameterGroup": "default.aurora-postgresql16",
        "dBSubnetGroup": "ledger-db-subnets",
        "status": "available",
        "endpoint": f"{ident}.cluster-c9akciq32xyz.us-east-1.rds.amazonaws.com",
        "readerEndpoint": f"{ident}.cluster-ro-c9akciq32xyz.us-east-1.rds.amazonaws.com",
        "multiAZ": False,
        "engine": "aurora-postgresql",
        "engineVersion": "16.2",
        "port": 5432,
        "masterUsername": "ledgeradmin",
        "preferredBackupWindow": "04:00-04:30",
        "preferredMaintenanceWindow": "sat:06:00-sat:06:30",
        "readReplicaIdentifiers": [],
        "dBClusterMembers": [{"dBInstanceIdentifier": f"{ident}-1", "isClusterWriter": True,
                              "dBClusterParameterGroupStatus": "in-sync", "promotionTier": 1}],
        "vpcSecurityGroups": [{"vpcSecurityGroupId": "sg-0c8d2e3f4a5b6c7d8", "status": "active"}],
        "hostedZoneId": "Z2R2ITUGPM61AM",
        "storageEncrypted": True,
        "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
        "dbClusterResourceId": "cluster-" + uuid.uuid5(uuid.NAMESPACE_DNS, ident).hex[:26].upper(),
        "dBClusterArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{ident}",
        "associatedRoles": [],
        "iAMDatabaseAuthenticationEnabled": True,
        "clusterCreateTime": "Feb 2, 2024, 4:12:51 PM",
        "engineMode": "provisioned",
        "deletionProtection": True,
        "httpEndpointEnabled": False,
        "copyTagsToSnapshot": True,
        "crossAccountClone": False,
        "domainMemberships": [],
        "tagList": [],
        "autoMinorVersionUpgrade": True,
        "networkType": "IPV4",
        "engineLifecycleSupport": "open-source-rds-extended-support",
    }
    d.update(over)
    return d


def multi_az_cluster(ident, **over):
    """A Multi-AZ DB cluster (non-Aurora): the kind that has publiclyAccessible."""
    base = dict(engine="postgres", engineVersion="16.3", dBClusterInstanceClass="db.m6gd.large", storageType="io1",
                iops=3000, allocatedStorage=400, publiclyAccessible=False, dBClusterParameterGroup="default.postgres16",
                multiAZ=True)
    base.update(over)
    return db_cluster(ident, **base)


def db_snapshot(ident, instance, **over):
    d = {
        "dBSnapshotIdentifier": ident,
        "dBInstanceIdentifier": instance,
        "snapshotCreateTime": "Jun 2, 2025, 3:04:19 AM",
        "engine": "postgres",
        "allocatedStorage": 200,
        "status": "available",
        "port": 5432,
        "availabilityZone": "us-east-1b",
        "vpcId": "vpc-0a1b2c3d4e5f60718",
        "instanceCreateTime": "Jan 14, 2024, 10:21:05 AM",
        "masterUsername": "dbadmin",
        "engineVersion": "16.3",
        "licenseModel": "postgresql-license",
        "snapshotType": "manual",
        "optionGroupName": "default:postgres-16",
        "percentProgress": 100,
        "storageType": "gp3",
        "encrypted": True,
        "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c",
        "dBSnapshotArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:{ident}",
        "iAMDatabaseAuthenticationEnabled": True,
        "processorFeatures": [],
        "dbiResourceId": "db-" + uuid.uuid5(uuid.NAMESPACE_DNS, instance).hex[:26].upper(),
        "tagList": [],
        "snapshotTarget": "region",
        "storageThroughput": 125,
        "dedicatedLogVolume": False,
    }
    d.update(over)
    return d


def db_cluster_snapshot(ident, cluster, **over):
    d = {
        "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "dBClusterSnapshotIdentifier": ident,
        "dBClusterIdentifier": cluster,
        "snapshotCreateTime": "Jun 2, 2025, 4:09:33 AM",
        "engine": "aurora-postgresql",
        "engineMode": "provisioned",
        "allocatedStorage": 0,
        "status": "available",
        "port": 0,
        "vpcId": "vpc-0a1b2c3d4e5f60718",
        "clusterCreateTime": "Feb 2, 2024, 4:12:51 PM",
        "masterUsername": "ledgeradmin",
        "engineVersion": "16.2",
        "licenseModel": "postgresql-license",
        "snapshotType": "manual",
        "percentProgress": 100,
        "storageEncrypted": True,
        "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
        "dBClusterSnapshotArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:{ident}",
        "iAMDatabaseAuthenticationEnabled": True,
        "tagList": [],
    }
    d.update(over)
    return d


def snapshot_attrs(ident, values, cluster=False):
    key = "dBClusterSnapshot" if cluster else "dBSnapshot"
    return {f"{key}Identifier": ident,
            f"{key}Attributes": [{"attributeName": "restore", "attributeValues": values}]}


def db_security_group(name, ip_ranges=(), ec2_groups=(), **over):
    d = {
        "ownerId": ACCOUNT,
        "dBSecurityGroupName": name,
        "dBSecurityGroupDescription": "legacy reporting database access",
        "eC2SecurityGroups": list(ec2_groups),
        "iPRanges": list(ip_ranges),
        "dBSecurityGroupArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:secgrp:{name}",
    }
    d.update(over)
    return d


def rds_arn(kind, ident, region="us-east-1", account=ACCOUNT):
    return f"arn:aws:rds:{region}:{account}:{kind}:{ident}"


# ------------------------------------------------------------------ fixtures

FIXTURES = []


def fixture(rule, cases, outputs=()):
    """cases: (verdict, description, record); outputs: (case number, text)."""
    FIXTURES.append((rule, cases, list(outputs)))


def A(desc, rec):
    return ("alert", desc, rec)


def Q(desc, rec):
    return ("quiet", desc, rec)


# ---- exposure

fixture("RDS Instance Made Public", [
    A("ModifyDBInstance with publiclyAccessible true (CLI)",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "publiclyAccessible": True, "applyImmediately": True},
             db_instance("orders-prod", dBInstanceStatus="modifying", publiclyAccessible=True))),
    A("same change from the console by an SSO administrator",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "billing-reports", "publiclyAccessible": True, "applyImmediately": False,
                                  "allowMajorVersionUpgrade": False},
             db_instance("billing-reports", engine="mysql", publiclyAccessible=False,
                         pendingModifiedValues={"publiclyAccessible": True}), who=BOB_SSO)),
    Q("harmless: publiclyAccessible false (made private)",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "publiclyAccessible": False, "applyImmediately": True},
             db_instance("orders-prod", dBInstanceStatus="modifying"))),
    Q("harmless: storage grown on an already public instance (the response says publiclyAccessible true, the request does not ask for it)",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "public-demo", "allocatedStorage": 300, "applyImmediately": True},
             db_instance("public-demo", publiclyAccessible=True, pendingModifiedValues={"allocatedStorage": 300}))),
    Q("harmless: storage change", real(1090, "ModifyDBInstance")),
    Q("failed: AccessDenied", record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "publiclyAccessible": True},
                                     who=MALLORY, error="AccessDenied", resource=rds_arn("db", "orders-prod"))),
], outputs=[(1, "instance=orders-prod"), (1, "engine=postgres"), (1, "user=alice"),
            (1, "arn=arn:aws:iam::111122223333:user/alice"), (1, "account=111122223333"), (1, "region=us-east-1"),
            (1, "ip=198.51.100.23"), (1, "agent=aws-cli/2.17.2"), (2, "user=AWSReservedSSO_AdministratorAccess")])

fixture("RDS Cluster Made Public", [
    A("ModifyDBCluster with publiclyAccessible true on a Multi-AZ DB cluster",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-maz", "publiclyAccessible": True, "applyImmediately": True},
             multi_az_cluster("ledger-maz", status="modifying", publiclyAccessible=True), who=MALLORY)),
    Q("harmless: publiclyAccessible false",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-maz", "publiclyAccessible": False, "applyImmediately": True},
             multi_az_cluster("ledger-maz", status="modifying"))),
    Q("harmless: backup window change on a public cluster (response says public, request does not)",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-maz", "preferredBackupWindow": "02:00-02:30"},
             multi_az_cluster("ledger-maz", publiclyAccessible=True))),
    Q("failed: AccessDenied", record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-maz", "publiclyAccessible": True},
                                     who=MALLORY, error="AccessDenied", resource=rds_arn("cluster", "ledger-maz"))),
], outputs=[(1, "cluster=ledger-maz"), (1, "user=DevOpsDeployRole"),
            (1, "arn=arn:aws:sts::111122223333:assumed-role/DevOpsDeployRole/mallory"), (1, "ip=203.0.113.77")])

fixture("RDS Instance Created Public", [
    A("CreateDBInstance with publiclyAccessible true",
      record("CreateDBInstance", {"dBInstanceIdentifier": "analytics-tmp", "dBInstanceClass": "db.t4g.medium", "engine": "mysql",
                                  "masterUsername": "admin", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                  "allocatedStorage": 50, "publiclyAccessible": True},
             db_instance("analytics-tmp", engine="mysql", dBInstanceStatus="creating", publiclyAccessible=True), who=MALLORY)),
    A("CreateDBInstance that left publiclyAccessible to the default: public in the response",
      record("CreateDBInstance", {"dBInstanceIdentifier": "scratch-db", "dBInstanceClass": "db.t4g.micro", "engine": "postgres",
                                  "masterUsername": "postgres", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                  "allocatedStorage": 20},
             db_instance("scratch-db", dBInstanceStatus="creating", publiclyAccessible=True))),
    A("CreateDBInstanceReadReplica of production, public",
      record("CreateDBInstanceReadReplica", {"dBInstanceIdentifier": "orders-replica-ext", "sourceDBInstanceIdentifier": "orders-prod",
                                             "publiclyAccessible": True},
             db_instance("orders-replica-ext", dBInstanceStatus="creating", publiclyAccessible=True,
                         readReplicaSourceDBInstanceIdentifier="orders-prod"), who=MALLORY)),
    Q("harmless: real CreateDBInstance, nothing public", real(1080, "CreateDBInstance")),
    Q("harmless: publiclyAccessible false",
      record("CreateDBInstance", {"dBInstanceIdentifier": "orders-staging", "dBInstanceClass": "db.r6g.large", "engine": "postgres",
                                  "masterUsername": "dbadmin", "manageMasterUserPassword": True, "allocatedStorage": 200,
                                  "publiclyAccessible": False, "storageEncrypted": True},
             db_instance("orders-staging", dBInstanceStatus="creating"), who=TERRAFORM_CI)),
    Q("failed: AccessDenied",
      record("CreateDBInstance", {"dBInstanceIdentifier": "analytics-tmp", "dBInstanceClass": "db.t4g.medium", "engine": "mysql",
                                  "masterUsername": "admin", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                  "allocatedStorage": 50, "publiclyAccessible": True},
             who=MALLORY, error="AccessDenied", resource=rds_arn("db", "analytics-tmp"))),
], outputs=[(1, "instance=analytics-tmp"), (1, "engine=mysql"), (3, "source_instance=orders-prod"),
            (3, "event=CreateDBInstanceReadReplica")])

fixture("RDS Instance Restored Public", [
    A("RestoreDBInstanceFromDBSnapshot that says nothing in the request, public in the response",
      record("RestoreDBInstanceFromDBSnapshot", {"dBInstanceIdentifier": "orders-restore", "dBSnapshotIdentifier": "orders-prod-2025-06-01"},
             db_instance("orders-restore", dBInstanceStatus="creating", publiclyAccessible=True), who=MALLORY)),
    A("RestoreDBInstanceToPointInTime with publiclyAccessible true",
      record("RestoreDBInstanceToPointInTime", {"sourceDBInstanceIdentifier": "orders-prod", "targetDBInstanceIdentifier": "orders-pitr",
                                                "useLatestRestorableTime": True, "publiclyAccessible": True},
             db_instance("orders-pitr", dBInstanceStatus="creating", publiclyAccessible=True))),
    Q("harmless: restore into a private instance",
      record("RestoreDBInstanceFromDBSnapshot", {"dBInstanceIdentifier": "orders-dr-test", "dBSnapshotIdentifier": "orders-prod-2025-06-01",
                                                 "dBSubnetGroupName": "orders-db-subnets", "publiclyAccessible": False},
             db_instance("orders-dr-test", dBInstanceStatus="creating"))),
    Q("failed: AccessDenied",
      record("RestoreDBInstanceFromDBSnapshot", {"dBInstanceIdentifier": "orders-restore", "dBSnapshotIdentifier": "orders-prod-2025-06-01",
                                                 "publiclyAccessible": True},
             who=MALLORY, error="AccessDenied", resource=rds_arn("db", "orders-restore"))),
], outputs=[(1, "instance=orders-restore"), (1, "snapshot=orders-prod-2025-06-01"),
            (2, "source_instance=orders-prod"), (2, "event=RestoreDBInstanceToPointInTime")])

fixture("RDS Cluster Created Public", [
    A("CreateDBCluster (Multi-AZ) with publiclyAccessible true",
      record("CreateDBCluster", {"dBClusterIdentifier": "metrics-maz", "engine": "postgres", "dBClusterInstanceClass": "db.m6gd.large",
                                 "storageType": "io1", "iops": 3000, "allocatedStorage": 400, "masterUsername": "metrics",
                                 "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS", "publiclyAccessible": True},
             multi_az_cluster("metrics-maz", status="creating", publiclyAccessible=True), who=MALLORY)),
    Q("harmless: Aurora cluster, private",
      record("CreateDBCluster", {"dBClusterIdentifier": "ledger-aurora", "engine": "aurora-postgresql", "engineVersion": "16.2",
                                 "masterUsername": "ledgeradmin", "manageMasterUserPassword": True, "storageEncrypted": True,
                                 "dBSubnetGroupName": "ledger-db-subnets"},
             db_cluster("ledger-aurora", status="creating"), who=TERRAFORM_CI)),
    Q("failed: AccessDenied",
      record("CreateDBCluster", {"dBClusterIdentifier": "metrics-maz", "engine": "postgres", "dBClusterInstanceClass": "db.m6gd.large",
                                 "masterUsername": "metrics", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                 "publiclyAccessible": True},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster", "metrics-maz"))),
], outputs=[(1, "cluster=metrics-maz"), (1, "engine=postgres")])

fixture("RDS Cluster Restored Public", [
    A("RestoreDBClusterFromSnapshot (Multi-AZ) public",
      record("RestoreDBClusterFromSnapshot", {"dBClusterIdentifier": "ledger-copy", "snapshotIdentifier": "ledger-maz-2025-06-01",
                                              "engine": "postgres", "dBClusterInstanceClass": "db.m6gd.large", "publiclyAccessible": True},
             multi_az_cluster("ledger-copy", status="creating", publiclyAccessible=True), who=MALLORY)),
    A("RestoreDBClusterToPointInTime, public in the response only",
      record("RestoreDBClusterToPointInTime", {"dBClusterIdentifier": "ledger-pitr", "sourceDBClusterIdentifier": "ledger-maz",
                                               "useLatestRestorableTime": True, "dBClusterInstanceClass": "db.m6gd.large"},
             multi_az_cluster("ledger-pitr", status="creating", publiclyAccessible=True))),
    Q("harmless: private restore",
      record("RestoreDBClusterFromSnapshot", {"dBClusterIdentifier": "ledger-dr-test", "snapshotIdentifier": "ledger-aurora-2025-06-01",
                                              "engine": "aurora-postgresql"},
             db_cluster("ledger-dr-test", status="creating"))),
    Q("failed: AccessDenied",
      record("RestoreDBClusterFromSnapshot", {"dBClusterIdentifier": "ledger-copy", "snapshotIdentifier": "ledger-maz-2025-06-01",
                                              "engine": "postgres", "publiclyAccessible": True},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster", "ledger-copy"))),
], outputs=[(1, "cluster=ledger-copy"), (1, "snapshot=ledger-maz-2025-06-01"), (2, "source_cluster=ledger-maz")])

# ---- snapshot sharing

fixture("RDS Snapshot Made Public", [
    A("restore attribute gains all",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore", "valuesToAdd": ["all"]},
             snapshot_attrs("orders-prod-2025-06-01", ["all"]), who=MALLORY)),
    A("all together with a foreign account",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": [FOREIGN, "all"]},
             snapshot_attrs("orders-prod-2025-06-01", [FOREIGN, "all"]), who=MALLORY)),
    Q("harmless: all removed (made private again)",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore", "valuesToRemove": ["all"]},
             snapshot_attrs("orders-prod-2025-06-01", []))),
    Q("shared with a foreign account only (reported by the foreign-account rule)", real(809, "ModifyDBSnapshotAttribute")),
    Q("failed: AccessDenied",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore", "valuesToAdd": ["all"]},
             who=MALLORY, error="AccessDenied", resource=rds_arn("snapshot", "orders-prod-2025-06-01"))),
], outputs=[(1, "snapshot=orders-prod-2025-06-01"), (1, "accounts=(all)"), (2, f"accounts=({FOREIGN},all)")])

fixture("RDS Cluster Snapshot Made Public", [
    A("real: cluster snapshot restore attribute gains all", real(1049, "ModifyDBClusterSnapshotAttribute")),
    A("restore attribute gains all",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToAdd": ["all"]},
             snapshot_attrs("ledger-aurora-2025-06-01", ["all"], cluster=True), who=MALLORY)),
    Q("harmless: all removed",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToRemove": ["all"]},
             snapshot_attrs("ledger-aurora-2025-06-01", [], cluster=True))),
    Q("real: shared with one foreign account only (reported by the foreign-account rule)", real(1048, "ModifyDBClusterSnapshotAttribute")),
    Q("failed: AccessDenied",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToAdd": ["all"]},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01"))),
], outputs=[(1, "snapshot=mysnapshot"), (1, "accounts=(all)"), (2, "snapshot=ledger-aurora-2025-06-01")])

fixture("RDS Snapshot Shared With Foreign Account", [
    A("real: Stratus Red Team shares a snapshot with an unknown account", real(809, "ModifyDBSnapshotAttribute")),
    A("two foreign accounts",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": [FOREIGN, FOREIGN2]},
             snapshot_attrs("orders-prod-2025-06-01", [FOREIGN, FOREIGN2]), who=MALLORY)),
    A("a foreign account together with all",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": ["all", FOREIGN]},
             snapshot_attrs("orders-prod-2025-06-01", ["all", FOREIGN]), who=MALLORY)),
    A("the caller's own account and a foreign one: only the foreign one is named",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": [ACCOUNT, FOREIGN2]},
             snapshot_attrs("orders-prod-2025-06-01", [ACCOUNT, FOREIGN2]), who=MALLORY)),
    Q("public only (reported by RDS Snapshot Made Public)",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore", "valuesToAdd": ["all"]},
             snapshot_attrs("orders-prod-2025-06-01", ["all"]), who=MALLORY)),
    Q("harmless: the foreign account removed",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToRemove": [FOREIGN]},
             snapshot_attrs("orders-prod-2025-06-01", []))),
    Q("harmless: the caller's own account added",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": [ACCOUNT]},
             snapshot_attrs("orders-prod-2025-06-01", [ACCOUNT]))),
    Q("failed: AccessDenied",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": [FOREIGN]},
             who=MALLORY, error="AccessDenied", resource=rds_arn("snapshot", "orders-prod-2025-06-01"))),
], outputs=[(1, "snapshot=exfiltration"), (1, "accounts=(503161813013)"), (1, "user=christophe"),
            (1, "account=171471557522"), (1, "ip=204.10.215.184"), (1, "agent=stratus-red-team_"),
            (2, f"accounts=({FOREIGN},{FOREIGN2})"), (3, f"accounts=({FOREIGN})"), (4, f"accounts=({FOREIGN2})")])

fixture("RDS Cluster Snapshot Shared With Foreign Account", [
    A("real: cluster snapshot shared with another account", real(1048, "ModifyDBClusterSnapshotAttribute")),
    A("shared with a foreign account",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToAdd": [FOREIGN]},
             snapshot_attrs("ledger-aurora-2025-06-01", [FOREIGN], cluster=True), who=MALLORY)),
    Q("real: public only (reported by RDS Cluster Snapshot Made Public)", real(1049, "ModifyDBClusterSnapshotAttribute")),
    Q("harmless: the foreign account removed",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToRemove": [FOREIGN]},
             snapshot_attrs("ledger-aurora-2025-06-01", [], cluster=True))),
    Q("failed: AccessDenied",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToAdd": [FOREIGN]},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01"))),
], outputs=[(1, "accounts=(123456789013)"), (1, "snapshot=mysnapshot"), (2, f"accounts=({FOREIGN})")])

fixture("RDS Snapshot Attribute Modified", [
    A("an account removed from the restore attribute",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToRemove": [FOREIGN]},
             snapshot_attrs("orders-prod-2025-06-01", []), who=MALLORY)),
    Q("harmless: AWS Backup ends the share of its cross-account copy",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "awsbackup-job-8f2c1d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
                                           "attributeName": "restore", "valuesToRemove": [FOREIGN]},
             snapshot_attrs("awsbackup-job-8f2c1d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", []), who=BACKUP)),
    Q("real: a foreign share (reported by the foreign-account rule)", real(809, "ModifyDBSnapshotAttribute")),
    Q("failed: AccessDenied",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToRemove": [FOREIGN]},
             who=MALLORY, error="AccessDenied", resource=rds_arn("snapshot", "orders-prod-2025-06-01"))),
], outputs=[(1, "snapshot=orders-prod-2025-06-01"), (1, f"removed=({FOREIGN})"), (1, "added=<NA>")])

fixture("RDS Cluster Snapshot Attribute Modified", [
    A("an account removed from the restore attribute",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToRemove": [FOREIGN]},
             snapshot_attrs("ledger-aurora-2025-06-01", [], cluster=True), who=MALLORY)),
    Q("harmless: AWS Backup ends the share of its cross-account copy",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "awsbackup-job-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
                                                  "attributeName": "restore", "valuesToRemove": [FOREIGN]},
             snapshot_attrs("awsbackup-job-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809", [], cluster=True), who=BACKUP)),
    Q("real: public share (reported by RDS Cluster Snapshot Made Public)", real(1049, "ModifyDBClusterSnapshotAttribute")),
    Q("failed: AccessDenied",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToRemove": [FOREIGN]},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01"))),
], outputs=[(1, f"removed=({FOREIGN})")])

# ---- DB security groups

fixture("RDS DB Security Group Ingress Authorized", [
    A("the whole internet (CIDRIP 0.0.0.0/0)",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "cIDRIP": "0.0.0.0/0"},
             db_security_group("reporting-db", ip_ranges=[{"status": "authorizing", "cIDRIP": "0.0.0.0/0"}]), who=MALLORY, version="1.09")),
    A("an EC2 security group of another account",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "bastion",
                                                 "eC2SecurityGroupOwnerId": FOREIGN},
             db_security_group("reporting-db", ec2_groups=[{"status": "authorizing", "eC2SecurityGroupName": "bastion",
                                                            "eC2SecurityGroupOwnerId": FOREIGN}]), who=MALLORY, version="1.09")),
    Q("harmless: an EC2 security group of the same account",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "reporting-app",
                                                 "eC2SecurityGroupOwnerId": ACCOUNT},
             db_security_group("reporting-db", ec2_groups=[{"status": "authorizing", "eC2SecurityGroupName": "reporting-app",
                                                            "eC2SecurityGroupOwnerId": ACCOUNT}]), version="1.09")),
    Q("harmless: an EC2 security group named without owner (the caller's account)",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "etl-workers"},
             db_security_group("reporting-db", ec2_groups=[{"status": "authorizing", "eC2SecurityGroupName": "etl-workers",
                                                            "eC2SecurityGroupOwnerId": ACCOUNT}]), version="1.09")),
    Q("failed: AccessDenied",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "cIDRIP": "0.0.0.0/0"},
             who=MALLORY, error="AccessDenied", resource=rds_arn("secgrp", "reporting-db"), version="1.09")),
], outputs=[(1, "security_group=reporting-db"), (1, "cidr=0.0.0.0/0"), (2, f"ec2_group_owner={FOREIGN}"),
            (2, "ec2_group=bastion")])

fixture("RDS DB Security Group Ingress Revoked", [
    A("the application's EC2 security group cut off",
      record("RevokeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "reporting-app",
                                              "eC2SecurityGroupOwnerId": ACCOUNT},
             db_security_group("reporting-db", ec2_groups=[{"status": "revoking", "eC2SecurityGroupName": "reporting-app",
                                                            "eC2SecurityGroupOwnerId": ACCOUNT}]), who=MALLORY, version="1.09")),
    A("an office range removed",
      record("RevokeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "cIDRIP": "198.51.100.0/24"},
             db_security_group("reporting-db", ip_ranges=[{"status": "revoking", "cIDRIP": "198.51.100.0/24"}]), version="1.09")),
    Q("harmless: remediation, 0.0.0.0/0 closed",
      record("RevokeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "cIDRIP": "0.0.0.0/0"},
             db_security_group("reporting-db", ip_ranges=[{"status": "revoking", "cIDRIP": "0.0.0.0/0"}]), version="1.09")),
    Q("failed: AccessDenied",
      record("RevokeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "reporting-app"},
             who=MALLORY, error="AccessDenied", resource=rds_arn("secgrp", "reporting-db"), version="1.09")),
], outputs=[(1, "ec2_group=reporting-app"), (2, "cidr=198.51.100.0/24")])

fixture("RDS DB Security Group Created", [
    A("CreateDBSecurityGroup",
      record("CreateDBSecurityGroup", {"dBSecurityGroupName": "reporting-db", "dBSecurityGroupDescription": "legacy reporting database access"},
             db_security_group("reporting-db"), who=MALLORY, version="1.09")),
    Q("harmless counterpart: real EC2 CreateSecurityGroup (a VPC security group, not an RDS call)",
      real(1093, "CreateSecurityGroup")),
    Q("failed: AccessDenied",
      record("CreateDBSecurityGroup", {"dBSecurityGroupName": "reporting-db", "dBSecurityGroupDescription": "x"},
             who=MALLORY, error="AccessDenied", resource=rds_arn("secgrp", "reporting-db"), version="1.09")),
    Q("failed: EC2-Classic retired",
      record("CreateDBSecurityGroup", {"dBSecurityGroupName": "reporting-db-2", "dBSecurityGroupDescription": "legacy"},
             error="InvalidParameterValue",
             message="EC2-Classic is not supported for this account: DB security groups cannot be created",
             version="1.09")),
], outputs=[(1, "security_group=reporting-db"), (1, "description=legacy reporting database access")])

fixture("RDS DB Security Group Deleted", [
    A("DeleteDBSecurityGroup",
      record("DeleteDBSecurityGroup", {"dBSecurityGroupName": "reporting-db"}, None, who=MALLORY, version="1.09")),
    Q("harmless counterpart: real EC2 DeleteSecurityGroup", real(1106, "DeleteSecurityGroup")),
    Q("failed: the group is in use",
      record("DeleteDBSecurityGroup", {"dBSecurityGroupName": "reporting-db"}, error="InvalidDBSecurityGroupState",
             message="DB security group reporting-db is in use by DB instance reporting-legacy", version="1.09")),
], outputs=[(1, "security_group=reporting-db")])

# ---- lifecycle

fixture("RDS Cluster Created", [
    A("Aurora cluster created by an unexpected principal",
      record("CreateDBCluster", {"dBClusterIdentifier": "miner-cache", "engine": "aurora-mysql", "masterUsername": "admin",
                                 "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS"},
             db_cluster("miner-cache", engine="aurora-mysql", engineVersion="8.0.mysql_aurora.3.05.2", status="creating",
                        port=3306, masterUsername="admin"), who=MALLORY)),
    A("a secondary cluster joining a global database",
      record("CreateDBCluster", {"dBClusterIdentifier": "ledger-eu", "engine": "aurora-postgresql",
                                 "globalClusterIdentifier": "ledger-global", "dBSubnetGroupName": "ledger-db-subnets"},
             db_cluster("ledger-eu", status="creating", globalWriteForwardingRequested=False), region="eu-west-1",
             who=TERRAFORM_CI)),
    Q("created public (reported by RDS Cluster Created Public)",
      record("CreateDBCluster", {"dBClusterIdentifier": "metrics-maz", "engine": "postgres", "dBClusterInstanceClass": "db.m6gd.large",
                                 "masterUsername": "metrics", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                 "publiclyAccessible": True},
             multi_az_cluster("metrics-maz", status="creating", publiclyAccessible=True), who=MALLORY)),
    Q("harmless counterpart: CreateDBInstance adding a writer to an existing cluster",
      record("CreateDBInstance", {"dBInstanceIdentifier": "ledger-aurora-2", "dBInstanceClass": "db.r6g.large",
                                  "engine": "aurora-postgresql", "dBClusterIdentifier": "ledger-aurora"},
             db_instance("ledger-aurora-2", engine="aurora-postgresql", dBInstanceStatus="creating",
                         dBClusterIdentifier="ledger-aurora"), who=TERRAFORM_CI)),
    Q("failed: AccessDenied",
      record("CreateDBCluster", {"dBClusterIdentifier": "miner-cache", "engine": "aurora-mysql", "masterUsername": "admin",
                                 "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS"},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster", "miner-cache"))),
], outputs=[(1, "cluster=miner-cache"), (1, "engine=aurora-mysql"), (2, "global_cluster=ledger-global"),
            (2, "region=eu-west-1")])

fixture("RDS Cluster Deleted", [
    A("real: cluster deleted with skipFinalSnapshot", real(1012, "DeleteDBCluster")),
    A("cluster deleted with a final snapshot",
      record("DeleteDBCluster", {"dBClusterIdentifier": "ledger-aurora", "skipFinalSnapshot": False,
                                 "finalDBSnapshotIdentifier": "ledger-aurora-final"},
             db_cluster("ledger-aurora", status="deleting", deletionProtection=False), who=MALLORY)),
    A("real: the same deletion, every value a placeholder (even eventTime)", real(1059, "DeleteDBCluster")),
    Q("harmless: a cross-region read-replica cluster deleted (its source keeps the data)",
      record("DeleteDBCluster", {"dBClusterIdentifier": "ledger-replica-eu", "skipFinalSnapshot": True},
             db_cluster("ledger-replica-eu", status="deleting", deletionProtection=False,
                        replicationSourceIdentifier=rds_arn("cluster", "ledger-aurora")), region="eu-west-1")),
    Q("failed: deletion protection on",
      record("DeleteDBCluster", {"dBClusterIdentifier": "ledger-aurora", "skipFinalSnapshot": True}, who=MALLORY,
             error="InvalidParameterCombination",
             message="Cannot delete protected Cluster, please disable deletion protection and try again.")),
    Q("harmless: AWS Backup (its service-linked role) deletes a cluster it restored for a restore test",
      record("DeleteDBCluster", {"dBClusterIdentifier": "awsbackup-restore-test-ledger", "skipFinalSnapshot": True},
             db_cluster("awsbackup-restore-test-ledger", status="deleting", deletionProtection=False), who=BACKUP)),
], outputs=[(1, "skip_final_snapshot=true"), (2, "cluster=ledger-aurora"), (2, "final_snapshot=ledger-aurora-final"),
            (2, "skip_final_snapshot=false")])

fixture("RDS Instance Stopped", [
    A("StopDBInstance",
      record("StopDBInstance", {"dBInstanceIdentifier": "orders-prod"}, db_instance("orders-prod", dBInstanceStatus="stopping"),
             who=MALLORY)),
    A("StopDBInstance taking a snapshot first",
      record("StopDBInstance", {"dBInstanceIdentifier": "billing-reports", "dBSnapshotIdentifier": "billing-before-stop"},
             db_instance("billing-reports", engine="mysql", dBInstanceStatus="stopping"))),
    Q("harmless counterpart: StartDBInstance",
      record("StartDBInstance", {"dBInstanceIdentifier": "orders-prod"}, db_instance("orders-prod", dBInstanceStatus="starting"))),
    Q("failed: Multi-AZ SQL Server cannot be stopped",
      record("StopDBInstance", {"dBInstanceIdentifier": "erp-sqlserver"}, who=MALLORY, error="InvalidParameterCombination",
             message="Cannot stop or start a SQL Server Multi-AZ DB instance.")),
    Q("failed: AccessDenied",
      record("StopDBInstance", {"dBInstanceIdentifier": "orders-prod"}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("db", "orders-prod"))),
], outputs=[(1, "instance=orders-prod"), (2, "snapshot=billing-before-stop")])

fixture("RDS Cluster Stopped", [
    A("StopDBCluster",
      record("StopDBCluster", {"dBClusterIdentifier": "ledger-aurora"}, db_cluster("ledger-aurora", status="stopping"), who=MALLORY)),
    Q("harmless counterpart: StartDBCluster",
      record("StartDBCluster", {"dBClusterIdentifier": "ledger-aurora"}, db_cluster("ledger-aurora", status="starting"))),
    Q("failed: AccessDenied",
      record("StopDBCluster", {"dBClusterIdentifier": "ledger-aurora"}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("cluster", "ledger-aurora"))),
], outputs=[(1, "cluster=ledger-aurora")])

fixture("RDS Instance Deleted", [
    A("DeleteDBInstance with a final snapshot",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": False,
                                  "finalDBSnapshotIdentifier": "orders-prod-final", "deleteAutomatedBackups": False},
             db_instance("orders-prod", dBInstanceStatus="deleting", deletionProtection=False), who=MALLORY)),
    Q("harmless: a read replica deleted",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-replica-1", "skipFinalSnapshot": True},
             db_instance("orders-replica-1", dBInstanceStatus="deleting", deletionProtection=False, multiAZ=False,
                         readReplicaSourceDBInstanceIdentifier="orders-prod"))),
    Q("harmless: an Aurora cluster member deleted (the cluster volume keeps the data)",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "ledger-aurora-2"},
             db_instance("ledger-aurora-2", engine="aurora-postgresql", dBInstanceStatus="deleting", deletionProtection=False,
                         dBClusterIdentifier="ledger-aurora"), who=TERRAFORM_CI)),
    Q("real: deleted without a final snapshot (reported by the sharper rule)", real(1099, "DeleteDBInstance")),
    Q("failed: deletion protection on",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": False,
                                  "finalDBSnapshotIdentifier": "orders-prod-final"}, who=MALLORY,
             error="InvalidParameterCombination",
             message="Cannot delete protected DB Instance, please disable deletion protection and try again.")),
    Q("harmless: AWS Backup deletes an instance it restored for a restore test",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "awsbackup-restore-test-orders", "skipFinalSnapshot": False,
                                  "finalDBSnapshotIdentifier": "awsbackup-restore-test-orders-final"},
             db_instance("awsbackup-restore-test-orders", dBInstanceStatus="deleting", deletionProtection=False), who=BACKUP)),
], outputs=[(1, "instance=orders-prod"), (1, "final_snapshot=orders-prod-final"), (1, "delete_automated_backups=false")])

fixture("RDS Instance Deleted Without Final Snapshot", [
    A("real: DeleteDBInstance with skipFinalSnapshot and deleteAutomatedBackups", real(1099, "DeleteDBInstance")),
    A("skipFinalSnapshot by an assumed role",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": True, "deleteAutomatedBackups": True},
             db_instance("orders-prod", dBInstanceStatus="deleting", deletionProtection=False), who=MALLORY)),
    Q("harmless: deleted with a final snapshot",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-staging", "skipFinalSnapshot": False,
                                  "finalDBSnapshotIdentifier": "orders-staging-final"},
             db_instance("orders-staging", dBInstanceStatus="deleting", deletionProtection=False), who=TERRAFORM_CI)),
    Q("harmless: a read replica deleted with skipFinalSnapshot",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-replica-1", "skipFinalSnapshot": True},
             db_instance("orders-replica-1", dBInstanceStatus="deleting", deletionProtection=False,
                         readReplicaSourceDBInstanceIdentifier="orders-prod"))),
    Q("failed: deletion protection on",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "orders-prod", "skipFinalSnapshot": True}, who=MALLORY,
             error="InvalidParameterCombination",
             message="Cannot delete protected DB Instance, please disable deletion protection and try again.")),
    Q("harmless: AWS Backup deletes an instance it restored for a restore test, no final snapshot",
      record("DeleteDBInstance", {"dBInstanceIdentifier": "awsbackup-restore-test-orders", "skipFinalSnapshot": True},
             db_instance("awsbackup-restore-test-orders", dBInstanceStatus="deleting", deletionProtection=False), who=BACKUP)),
], outputs=[(1, "instance=mydbinstance"), (1, "delete_automated_backups=true"), (1, "user=Bob"),
            (2, "instance=orders-prod")])

fixture("RDS Global Cluster Deleted", [
    A("DeleteGlobalCluster",
      record("DeleteGlobalCluster", {"globalClusterIdentifier": "ledger-global"},
             {"globalClusterIdentifier": "ledger-global", "globalClusterResourceId": "cluster-7d3a9c1e5b2f4a6d",
              "globalClusterArn": f"arn:aws:rds::{ACCOUNT}:global-cluster:ledger-global", "status": "available",
              "engine": "aurora-postgresql", "engineVersion": "16.2", "storageEncrypted": True, "deletionProtection": False,
              "globalClusterMembers": []}, who=MALLORY)),
    Q("harmless counterpart: CreateGlobalCluster",
      record("CreateGlobalCluster", {"globalClusterIdentifier": "ledger-global", "sourceDBClusterIdentifier": rds_arn("cluster", "ledger-aurora")},
             {"globalClusterIdentifier": "ledger-global", "status": "creating", "engine": "aurora-postgresql"}, who=TERRAFORM_CI)),
    Q("failed: members remain",
      record("DeleteGlobalCluster", {"globalClusterIdentifier": "ledger-global"}, who=MALLORY, error="InvalidGlobalClusterStateFault",
             message="The global cluster ledger-global is not empty")),
    Q("harmless: the call made by AWS Backup's service-linked role",
      record("DeleteGlobalCluster", {"globalClusterIdentifier": "awsbackup-restore-test-global"},
             {"globalClusterIdentifier": "awsbackup-restore-test-global", "status": "available",
              "engine": "aurora-postgresql", "globalClusterMembers": []}, who=BACKUP)),
], outputs=[(1, "global_cluster=ledger-global")])

# ---- backups and snapshots

fixture("RDS Snapshot Deleted", [
    A("a manual snapshot deleted",
      record("DeleteDBSnapshot", {"dBSnapshotIdentifier": "orders-prod-2025-06-01"},
             db_snapshot("orders-prod-2025-06-01", "orders-prod", status="deleted"), who=MALLORY)),
    Q("harmless: AWS Backup lifecycle deletes an expired recovery point",
      record("DeleteDBSnapshot", {"dBSnapshotIdentifier": "awsbackup:job-5c9e1a2b-3d4f-4e5a-8b6c-7d8e9f0a1b2c"},
             db_snapshot("awsbackup:job-5c9e1a2b-3d4f-4e5a-8b6c-7d8e9f0a1b2c", "orders-prod", status="deleted",
                         snapshotType="awsbackup"), who=BACKUP)),
    Q("failed: AccessDenied",
      record("DeleteDBSnapshot", {"dBSnapshotIdentifier": "orders-prod-2025-06-01"}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("snapshot", "orders-prod-2025-06-01"))),
], outputs=[(1, "snapshot=orders-prod-2025-06-01")])

fixture("RDS Cluster Snapshot Deleted", [
    A("a manual cluster snapshot deleted",
      record("DeleteDBClusterSnapshot", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01"},
             db_cluster_snapshot("ledger-aurora-2025-06-01", "ledger-aurora", status="deleted"), who=MALLORY)),
    Q("harmless: AWS Backup lifecycle deletes an expired recovery point",
      record("DeleteDBClusterSnapshot", {"dBClusterSnapshotIdentifier": "awsbackup:job-9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"},
             db_cluster_snapshot("awsbackup:job-9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "ledger-aurora", status="deleted",
                                 snapshotType="awsbackup"), who=BACKUP)),
    Q("failed: AccessDenied",
      record("DeleteDBClusterSnapshot", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01"}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01"))),
], outputs=[(1, "snapshot=ledger-aurora-2025-06-01"), (1, "cluster=ledger-aurora")])

fixture("RDS Automated Backups Disabled", [
    A("backupRetentionPeriod 0",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "backupRetentionPeriod": 0, "applyImmediately": True},
             db_instance("orders-prod", dBInstanceStatus="modifying", pendingModifiedValues={"backupRetentionPeriod": 0}),
             who=MALLORY)),
    Q("harmless: backupRetentionPeriod 14",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "backupRetentionPeriod": 14, "applyImmediately": True},
             db_instance("orders-prod", backupRetentionPeriod=14))),
    Q("failed: a read replica source needs backups",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "backupRetentionPeriod": 0, "applyImmediately": True},
             who=MALLORY, error="InvalidParameterCombination",
             message="Cannot disable automatic backups on a DB instance that has read replicas")),
    Q("harmless: AWS Backup takes over continuous backups and sets the retention itself",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "backupRetentionPeriod": 0, "applyImmediately": True},
             db_instance("orders-prod", dBInstanceStatus="modifying"), who=BACKUP)),
], outputs=[(1, "instance=orders-prod"), (1, "retention=0"), (1, "event=ModifyDBInstance")])

fixture("RDS Automated Backups Deleted", [
    A("retained automated backups of a deleted instance deleted",
      record("DeleteDBInstanceAutomatedBackup", {"dbiResourceId": "db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA"},
             {"dBInstanceIdentifier": "orders-prod", "dbiResourceId": "db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA",
              "region": "us-east-1", "status": "deleting", "engine": "postgres", "backupRetentionPeriod": 7,
              "dBInstanceAutomatedBackupsArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:auto-backup:ab-7kq2zraq3nwv5guhtmcwoslmk7"},
             who=MALLORY)),
    A("retained automated backups of a deleted cluster deleted",
      record("DeleteDBClusterAutomatedBackup", {"dbClusterResourceId": "cluster-JZ6CHK3QRN2TXKUVPG5L7WDMEA"},
             {"dBClusterIdentifier": "ledger-aurora", "dbClusterResourceId": "cluster-JZ6CHK3QRN2TXKUVPG5L7WDMEA",
              "region": "us-east-1", "status": "deleting", "engine": "aurora-postgresql", "backupRetentionPeriod": 7},
             who=MALLORY)),
    Q("harmless counterpart: DescribeDBInstanceAutomatedBackups",
      record("DescribeDBInstanceAutomatedBackups", {"dbiResourceId": "db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA"}, None, read_only=True)),
    Q("failed: AccessDenied",
      record("DeleteDBInstanceAutomatedBackup", {"dbiResourceId": "db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA"}, who=MALLORY, error="AccessDenied",
             resource=f"arn:aws:rds:us-east-1:{ACCOUNT}:auto-backup:ab-7kq2zraq3nwv5guhtmcwoslmk7")),
    Q("harmless: AWS Backup deletes a continuous-backup recovery point it manages",
      record("DeleteDBInstanceAutomatedBackup", {"dbiResourceId": "db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA"},
             {"dBInstanceIdentifier": "orders-prod", "dbiResourceId": "db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA",
              "region": "us-east-1", "status": "deleting", "engine": "postgres"}, who=BACKUP)),
], outputs=[(1, "instance=orders-prod"), (1, "resource_id=db-RQ3NWV5GUHTMCWOSLMK7KQ2ZRA"),
            (2, "cluster=ledger-aurora"), (2, "event=DeleteDBClusterAutomatedBackup")])

EXPORT_REQ = {"exportTaskIdentifier": "orders-export-0603", "sourceArn": rds_arn("snapshot", "orders-prod-2025-06-01"),
              "s3BucketName": "ext-data-drop-7731", "s3Prefix": "orders/",
              "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rds-s3-export",
              "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c"}

fixture("RDS Snapshot Exported To S3", [
    A("StartExportTask of a production snapshot",
      record("StartExportTask", EXPORT_REQ,
             dict(EXPORT_REQ, status="STARTING", percentProgress=0, totalExtractedDataInGB=0,
                  snapshotTime="Jun 1, 2025, 3:04:19 AM", sourceType="SNAPSHOT"), who=MALLORY)),
    Q("harmless counterpart: Application Discovery Service StartExportTask (same name, another service)",
      record("StartExportTask", {"exportDataFormat": ["CSV"], "filters": [{"name": "agentIds", "values": ["o-4c3b2a1d0e"],
                                                                           "condition": "EQUALS"}]},
             {"exportId": "export-1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"}, source="discovery.amazonaws.com", region="us-west-2")),
    Q("failed: AccessDenied", record("StartExportTask", EXPORT_REQ, who=MALLORY, error="AccessDenied",
                                     resource=rds_arn("snapshot", "orders-prod-2025-06-01"))),
], outputs=[(1, "task=orders-export-0603"), (1, "bucket=ext-data-drop-7731"),
            (1, "source=arn:aws:rds:us-east-1:111122223333:snapshot:orders-prod-2025-06-01")])

fixture("RDS Snapshot Copied Cross-Region Or With Foreign Key", [
    A("copy pulled from another region (source given as an ARN)",
      record("CopyDBSnapshot", {"sourceDBSnapshotIdentifier": rds_arn("snapshot", "orders-prod-2025-06-01", region="us-west-2"),
                                "targetDBSnapshotIdentifier": "orders-copy", "kmsKeyId": "alias/aws/rds", "copyTags": True},
             db_snapshot("orders-copy", "orders-prod", status="pending", percentProgress=0,
                         sourceDBSnapshotIdentifier=rds_arn("snapshot", "orders-prod-2025-06-01", region="us-west-2"),
                         sourceRegion="us-west-2"), who=MALLORY)),
    A("copy with sourceRegion set by the SDK",
      record("CopyDBSnapshot", {"sourceDBSnapshotIdentifier": rds_arn("snapshot", "billing-2025-06-01", region="eu-central-1"),
                                "targetDBSnapshotIdentifier": "billing-copy", "sourceRegion": "eu-central-1",
                                "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c"},
             db_snapshot("billing-copy", "billing-reports", status="pending", percentProgress=0))),
    A("same-region copy encrypted with another account's KMS key",
      record("CopyDBSnapshot", {"sourceDBSnapshotIdentifier": "orders-prod-2025-06-01", "targetDBSnapshotIdentifier": "orders-rekeyed",
                                "kmsKeyId": f"arn:aws:kms:us-east-1:{FOREIGN}:key/0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"},
             db_snapshot("orders-rekeyed", "orders-prod", status="pending", percentProgress=0,
                         kmsKeyId=f"arn:aws:kms:us-east-1:{FOREIGN}:key/0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"), who=MALLORY)),
    Q("harmless: same-region copy with the account's own key",
      record("CopyDBSnapshot", {"sourceDBSnapshotIdentifier": "rds:orders-prod-2025-06-02-03-05", "targetDBSnapshotIdentifier": "orders-keep-june",
                                "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2f1e7c3a-9b8d-4e6f-a1c2-3d4e5f6a7b8c"},
             db_snapshot("orders-keep-june", "orders-prod", status="pending", percentProgress=0))),
    Q("harmless: AWS Backup cross-region copy job",
      record("CopyDBSnapshot", {"sourceDBSnapshotIdentifier": rds_arn("snapshot", "awsbackup:job-5c9e1a2b-3d4f-4e5a-8b6c-7d8e9f0a1b2c", region="us-west-2"),
                                "targetDBSnapshotIdentifier": "awsbackup:copyjob-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
                                "sourceRegion": "us-west-2", "copyTags": True},
             db_snapshot("awsbackup:copyjob-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "orders-prod", status="pending",
                         snapshotType="awsbackup"), who=BACKUP)),
    Q("failed: AccessDenied",
      record("CopyDBSnapshot", {"sourceDBSnapshotIdentifier": rds_arn("snapshot", "orders-prod-2025-06-01", region="us-west-2"),
                                "targetDBSnapshotIdentifier": "orders-copy"}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("snapshot", "orders-copy"))),
], outputs=[(1, "source=arn:aws:rds:us-west-2:111122223333:snapshot:orders-prod-2025-06-01"), (1, "target=orders-copy"),
            (2, "source_region=eu-central-1"), (3, f"kms_key=arn:aws:kms:us-east-1:{FOREIGN}:key/")])

fixture("RDS Cluster Snapshot Copied Cross-Region Or With Foreign Key", [
    A("cluster snapshot pulled from another region",
      record("CopyDBClusterSnapshot", {"sourceDBClusterSnapshotIdentifier": rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01", region="us-west-2"),
                                       "targetDBClusterSnapshotIdentifier": "ledger-copy", "sourceRegion": "us-west-2",
                                       "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"},
             db_cluster_snapshot("ledger-copy", "ledger-aurora", status="copying", percentProgress=0), who=MALLORY)),
    A("same-region copy with another account's KMS key",
      record("CopyDBClusterSnapshot", {"sourceDBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01",
                                       "targetDBClusterSnapshotIdentifier": "ledger-rekeyed",
                                       "kmsKeyId": f"arn:aws:kms:us-east-1:{FOREIGN}:key/0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"},
             db_cluster_snapshot("ledger-rekeyed", "ledger-aurora", status="copying", percentProgress=0), who=MALLORY)),
    Q("harmless: same-region copy",
      record("CopyDBClusterSnapshot", {"sourceDBClusterSnapshotIdentifier": "rds:ledger-aurora-2025-06-02-04-09",
                                       "targetDBClusterSnapshotIdentifier": "ledger-keep-june"},
             db_cluster_snapshot("ledger-keep-june", "ledger-aurora", status="copying", percentProgress=0))),
    Q("failed: AccessDenied",
      record("CopyDBClusterSnapshot", {"sourceDBClusterSnapshotIdentifier": rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01", region="us-west-2"),
                                       "targetDBClusterSnapshotIdentifier": "ledger-copy", "sourceRegion": "us-west-2"},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster-snapshot", "ledger-copy"))),
], outputs=[(1, "target=ledger-copy"), (1, "source_region=us-west-2")])

# ---- credentials and defences

fixture("RDS Master Password Changed", [
    A("ModifyDBInstance with a new master password",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "masterUserPassword": "****", "applyImmediately": True},
             db_instance("orders-prod", pendingModifiedValues={"masterUserPassword": "****"}), who=MALLORY)),
    A("ModifyDBCluster with a new master password",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-aurora", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                 "applyImmediately": True},
             db_cluster("ledger-aurora", pendingModifiedValues={"masterUserPassword": "****"}), who=BOB_SSO)),
    Q("harmless: real ModifyDBInstance that only grows storage", real(1090, "ModifyDBInstance")),
    Q("harmless: instance class change",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "dBInstanceClass": "db.r6g.xlarge", "applyImmediately": False},
             db_instance("orders-prod", pendingModifiedValues={"dBInstanceClass": "db.r6g.xlarge"}), who=TERRAFORM_CI)),
    Q("failed: AccessDenied",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "masterUserPassword": "****", "applyImmediately": True},
             who=MALLORY, error="AccessDenied", resource=rds_arn("db", "orders-prod"))),
], outputs=[(1, "instance=orders-prod"), (1, "apply_immediately=true"), (2, "cluster=ledger-aurora"),
            (2, "event=ModifyDBCluster")])

fixture("RDS Deletion Protection Disabled", [
    A("ModifyDBInstance deletionProtection false",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "deletionProtection": False, "applyImmediately": True},
             db_instance("orders-prod", deletionProtection=False), who=MALLORY)),
    A("ModifyDBCluster deletionProtection false",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-aurora", "deletionProtection": False},
             db_cluster("ledger-aurora", deletionProtection=False), who=MALLORY)),
    A("ModifyGlobalCluster deletionProtection false",
      record("ModifyGlobalCluster", {"globalClusterIdentifier": "ledger-global", "deletionProtection": False},
             {"globalClusterIdentifier": "ledger-global", "status": "available", "engine": "aurora-postgresql",
              "deletionProtection": False}, who=MALLORY)),
    Q("harmless: deletionProtection true",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-staging", "deletionProtection": True},
             db_instance("orders-staging", deletionProtection=True), who=TERRAFORM_CI)),
    Q("failed: AccessDenied",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "deletionProtection": False}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("db", "orders-prod"))),
], outputs=[(1, "instance=orders-prod"), (2, "cluster=ledger-aurora"), (3, "global_cluster=ledger-global")])

fixture("RDS IAM Database Authentication Disabled", [
    A("ModifyDBInstance enableIAMDatabaseAuthentication false",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "enableIAMDatabaseAuthentication": False, "applyImmediately": True},
             db_instance("orders-prod", iAMDatabaseAuthenticationEnabled=False), who=MALLORY)),
    A("ModifyDBCluster enableIAMDatabaseAuthentication false",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-aurora", "enableIAMDatabaseAuthentication": False},
             db_cluster("ledger-aurora", iAMDatabaseAuthenticationEnabled=False), who=MALLORY)),
    Q("harmless: enableIAMDatabaseAuthentication true",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "billing-reports", "enableIAMDatabaseAuthentication": True},
             db_instance("billing-reports", engine="mysql"))),
    Q("failed: AccessDenied",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "enableIAMDatabaseAuthentication": False}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("db", "orders-prod"))),
], outputs=[(1, "instance=orders-prod"), (2, "cluster=ledger-aurora")])

fixture("RDS IAM Role Added", [
    A("AddRoleToDBCluster for S3 export",
      record("AddRoleToDBCluster", {"dBClusterIdentifier": "ledger-aurora", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aurora-s3-export",
                                    "featureName": "s3Export"}, None, who=MALLORY)),
    A("AddRoleToDBInstance for S3 integration",
      record("AddRoleToDBInstance", {"dBInstanceIdentifier": "orders-prod", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/rds-s3-import",
                                     "featureName": "s3Import"}, None)),
    Q("harmless counterpart: RemoveRoleFromDBInstance",
      record("RemoveRoleFromDBInstance", {"dBInstanceIdentifier": "orders-prod", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/rds-s3-import",
                                          "featureName": "s3Import"}, None)),
    Q("failed: AccessDenied (iam:PassRole)",
      record("AddRoleToDBCluster", {"dBClusterIdentifier": "ledger-aurora", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aurora-s3-export",
                                    "featureName": "s3Export"}, who=MALLORY, error="AccessDenied",
             message=f"User: {MALLORY['identity']['arn']} is not authorized to perform: iam:PassRole on resource: "
                     f"arn:aws:iam::{ACCOUNT}:role/aurora-s3-export")),
], outputs=[(1, f"role=arn:aws:iam::{ACCOUNT}:role/aurora-s3-export"), (1, "feature=s3Export"),
            (1, "cluster=ledger-aurora"), (2, "instance=orders-prod")])

fixture("RDS Activity Stream Stopped", [
    A("StopActivityStream",
      record("StopActivityStream", {"resourceArn": rds_arn("cluster", "ledger-aurora"), "applyImmediately": True},
             {"kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
              "kinesisStreamName": "aws-rds-das-cluster-JZ6CHK3QRN2TXKUVPG5L7WDMEA", "status": "stopping"}, who=MALLORY)),
    Q("harmless counterpart: StartActivityStream",
      record("StartActivityStream", {"resourceArn": rds_arn("cluster", "ledger-aurora"), "mode": "async", "applyImmediately": True,
                                     "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"},
             {"kinesisStreamName": "aws-rds-das-cluster-JZ6CHK3QRN2TXKUVPG5L7WDMEA", "status": "starting", "mode": "async",
              "applyImmediately": True})),
    Q("failed: AccessDenied",
      record("StopActivityStream", {"resourceArn": rds_arn("cluster", "ledger-aurora"), "applyImmediately": True}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("cluster", "ledger-aurora"))),
], outputs=[(1, "resource=arn:aws:rds:us-east-1:111122223333:cluster:ledger-aurora")])

fixture("RDS Log Exports Disabled", [
    A("audit log export turned off",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-aurora",
                                 "cloudwatchLogsExportConfiguration": {"enableLogTypes": [], "disableLogTypes": ["postgresql"]}},
             db_cluster("ledger-aurora"), who=MALLORY)),
    A("several log types turned off on an instance",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "billing-reports",
                                  "cloudwatchLogsExportConfiguration": {"disableLogTypes": ["audit", "error"]}},
             db_instance("billing-reports", engine="mysql"), who=MALLORY)),
    Q("harmless: log types turned on",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "billing-reports",
                                  "cloudwatchLogsExportConfiguration": {"enableLogTypes": ["audit", "slowquery"], "disableLogTypes": []}},
             db_instance("billing-reports", engine="mysql", enabledCloudwatchLogsExports=["audit", "slowquery"]))),
    Q("failed: AccessDenied",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-aurora",
                                 "cloudwatchLogsExportConfiguration": {"disableLogTypes": ["postgresql"]}},
             who=MALLORY, error="AccessDenied", resource=rds_arn("cluster", "ledger-aurora"))),
], outputs=[(1, 'disabled=["postgresql"]'), (1, "cluster=ledger-aurora"), (2, 'disabled=["audit","error"]')])

# ---- beyond the peers

fixture("RDS Public Exposure Attempt Denied", [
    A("denied: ModifyDBInstance publiclyAccessible true",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "publiclyAccessible": True}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("db", "orders-prod"))),
    A("denied: snapshot share with a foreign account",
      record("ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "orders-prod-2025-06-01", "attributeName": "restore",
                                           "valuesToAdd": [FOREIGN]}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("snapshot", "orders-prod-2025-06-01"))),
    A("denied: public cluster snapshot",
      record("ModifyDBClusterSnapshotAttribute", {"dBClusterSnapshotIdentifier": "ledger-aurora-2025-06-01", "attributeName": "restore",
                                                  "valuesToAdd": ["all"]}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("cluster-snapshot", "ledger-aurora-2025-06-01"))),
    Q("harmless attempt: denied storage change",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "allocatedStorage": 400}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("db", "orders-prod"))),
    Q("the call succeeded (reported by RDS Instance Made Public)",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "publiclyAccessible": True, "applyImmediately": True},
             db_instance("orders-prod", publiclyAccessible=True), who=MALLORY)),
    Q("failed for an operational reason, not denied",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "publiclyAccessible": True},
             error="InvalidDBInstanceState", message="Database instance is not in available state.")),
], outputs=[(1, "error=AccessDenied"), (1, "instance=orders-prod"), (2, f"accounts=({FOREIGN})"),
            (3, "event=ModifyDBClusterSnapshotAttribute")])

fixture("RDS Database Port Opened To The Internet", [
    A("PostgreSQL port open to 0.0.0.0/0",
      record("AuthorizeSecurityGroupIngress",
             {"groupId": "sg-0b7c1e2d3f4a5b6c7",
              "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "groups": {},
                                           "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {},
                                           "prefixListIds": {}}]}},
             {"requestId": "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9", "_return": True,
              "securityGroupRuleSet": {"items": [{"groupOwnerId": ACCOUNT, "groupId": "sg-0b7c1e2d3f4a5b6c7",
                                                  "securityGroupRuleId": "sgr-0f1e2d3c4b5a69788", "isEgress": False,
                                                  "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                                  "cidrIpv4": "0.0.0.0/0"}]}},
             who=MALLORY, source="ec2.amazonaws.com", version="1.09")),
    A("real: all traffic opened to 0.0.0.0/0 and ::/0", real(1043, "AuthorizeSecurityGroupIngress")),
    A("MySQL port in the CLI's flat form",
      record("AuthorizeSecurityGroupIngress", {"groupId": "sg-0d1c2b3a49586f7e6", "ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306,
                                               "cidrIp": "0.0.0.0/0"},
             {"requestId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "_return": True}, who=MALLORY, source="ec2.amazonaws.com",
             version="1.09")),
    Q("harmless: real SSH opened to a /0 (not a database port)", real(806, "AuthorizeSecurityGroupIngress")),
    Q("harmless: real all traffic from 10.0.0.0/8", real(1044, "AuthorizeSecurityGroupIngress")),
    Q("harmless: PostgreSQL from the VPC only",
      record("AuthorizeSecurityGroupIngress",
             {"groupId": "sg-0b7c1e2d3f4a5b6c7",
              "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "groups": {},
                                           "ipRanges": {"items": [{"cidrIp": "10.20.0.0/16"}]}, "ipv6Ranges": {},
                                           "prefixListIds": {}}]}},
             {"requestId": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f90a", "_return": True}, who=TERRAFORM_CI,
             source="ec2.amazonaws.com", version="1.09")),
    Q("failed: UnauthorizedOperation",
      record("AuthorizeSecurityGroupIngress",
             {"groupId": "sg-0b7c1e2d3f4a5b6c7",
              "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                           "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
             who=MALLORY, source="ec2.amazonaws.com", error="Client.UnauthorizedOperation",
             message="You are not authorized to perform this operation.", version="1.09")),
], outputs=[(1, "group=sg-0b7c1e2d3f4a5b6c7"), (3, "group=sg-0d1c2b3a49586f7e6")])


# ---- DB security group ingress from the caller's own EC2 groups (lower priority)

fixture("RDS DB Security Group Ingress From Own Account", [
    A("an EC2 security group of the same account",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "reporting-app",
                                                 "eC2SecurityGroupOwnerId": ACCOUNT},
             db_security_group("reporting-db", ec2_groups=[{"status": "authorizing", "eC2SecurityGroupName": "reporting-app",
                                                            "eC2SecurityGroupOwnerId": ACCOUNT}]), version="1.09")),
    A("an EC2 security group named by id, without owner (the caller's account)",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupId": "sg-0e1f2a3b4c5d6e7f8"},
             db_security_group("reporting-db", ec2_groups=[{"status": "authorizing", "eC2SecurityGroupId": "sg-0e1f2a3b4c5d6e7f8",
                                                            "eC2SecurityGroupOwnerId": ACCOUNT}]), version="1.09")),
    Q("an IP range (reported by RDS DB Security Group Ingress Authorized)",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "cIDRIP": "203.0.113.0/24"},
             db_security_group("reporting-db", ip_ranges=[{"status": "authorizing", "cIDRIP": "203.0.113.0/24"}]), who=MALLORY,
             version="1.09")),
    Q("another account's EC2 security group (reported by RDS DB Security Group Ingress Authorized)",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "bastion",
                                                 "eC2SecurityGroupOwnerId": FOREIGN},
             db_security_group("reporting-db", ec2_groups=[{"status": "authorizing", "eC2SecurityGroupName": "bastion",
                                                            "eC2SecurityGroupOwnerId": FOREIGN}]), who=MALLORY, version="1.09")),
    Q("harmless counterpart: RevokeDBSecurityGroupIngress of the same group",
      record("RevokeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "reporting-app",
                                              "eC2SecurityGroupOwnerId": ACCOUNT},
             db_security_group("reporting-db"), version="1.09")),
    Q("failed: EC2-Classic is not supported",
      record("AuthorizeDBSecurityGroupIngress", {"dBSecurityGroupName": "reporting-db", "eC2SecurityGroupName": "reporting-app"},
             error="InvalidParameterValue", message="EC2-Classic is not supported for this account.", version="1.09")),
], outputs=[(1, "security_group=reporting-db"), (1, "ec2_group=reporting-app"), (1, f"ec2_group_owner={ACCOUNT}"),
            (1, "user=alice"), (2, "ec2_group_id=sg-0e1f2a3b4c5d6e7f8")])

# ---- availability

fixture("RDS Database Rebooted", [
    A("RebootDBInstance with a forced failover",
      record("RebootDBInstance", {"dBInstanceIdentifier": "orders-prod", "forceFailover": True},
             db_instance("orders-prod", dBInstanceStatus="rebooting"), who=MALLORY)),
    A("RebootDBCluster",
      record("RebootDBCluster", {"dBClusterIdentifier": "ledger-maz"},
             multi_az_cluster("ledger-maz", status="rebooting"))),
    A("RebootDBShardGroup (Aurora Limitless)",
      record("RebootDBShardGroup", {"dBShardGroupIdentifier": "ledger-limitless-shards"},
             {"dBShardGroupIdentifier": "ledger-limitless-shards", "dBClusterIdentifier": "ledger-limitless",
              "status": "rebooting", "maxACU": 768.0, "computeRedundancy": 1})),
    Q("harmless counterpart: StartDBInstance",
      record("StartDBInstance", {"dBInstanceIdentifier": "orders-prod"}, db_instance("orders-prod", dBInstanceStatus="starting"))),
    Q("failed: the instance is not available",
      record("RebootDBInstance", {"dBInstanceIdentifier": "orders-prod"}, who=MALLORY, error="InvalidDBInstanceState",
             message="DB instance is not in available state.")),
    Q("failed: AccessDenied",
      record("RebootDBCluster", {"dBClusterIdentifier": "ledger-maz"}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("cluster", "ledger-maz"))),
], outputs=[(1, "instance=orders-prod"), (1, "force_failover=true"), (1, "event=RebootDBInstance"),
            (1, "user=DevOpsDeployRole"), (2, "cluster=ledger-maz"), (3, "shard_group=ledger-limitless-shards")])

fixture("RDS Failover Or Switchover", [
    A("FailoverDBCluster to a chosen instance",
      record("FailoverDBCluster", {"dBClusterIdentifier": "ledger-aurora", "targetDBInstanceIdentifier": "ledger-aurora-2"},
             db_cluster("ledger-aurora", status="failing-over"), who=MALLORY)),
    A("FailoverGlobalCluster: the primary region moves",
      record("FailoverGlobalCluster", {"globalClusterIdentifier": "ledger-global",
                                       "targetDbClusterIdentifier": rds_arn("cluster", "ledger-eu", region="eu-west-1"),
                                       "allowDataLoss": True},
             {"globalClusterIdentifier": "ledger-global", "status": "failing-over", "engine": "aurora-postgresql"})),
    A("SwitchoverBlueGreenDeployment",
      record("SwitchoverBlueGreenDeployment", {"blueGreenDeploymentIdentifier": "bgd-2f4a6c8e0b1d3f57", "switchoverTimeout": 300},
             {"blueGreenDeployment": {"blueGreenDeploymentIdentifier": "bgd-2f4a6c8e0b1d3f57", "status": "SWITCHOVER_IN_PROGRESS"}},
             who=TERRAFORM_CI)),
    Q("harmless counterpart: DescribeGlobalClusters",
      record("DescribeGlobalClusters", {"globalClusterIdentifier": "ledger-global"}, None, read_only=True)),
    Q("failed: the cluster has one instance only",
      record("FailoverDBCluster", {"dBClusterIdentifier": "ledger-dev"}, error="InvalidDBClusterStateFault",
             message="Cannot failover a cluster with only one instance.")),
    Q("failed: AccessDenied",
      record("SwitchoverBlueGreenDeployment", {"blueGreenDeploymentIdentifier": "bgd-2f4a6c8e0b1d3f57"}, who=MALLORY,
             error="AccessDenied")),
], outputs=[(1, "cluster=ledger-aurora"), (1, "target_instance=ledger-aurora-2"), (2, "global_cluster=ledger-global"),
            (2, "target=arn:aws:rds:eu-west-1:"), (3, "blue_green=bgd-2f4a6c8e0b1d3f57"),
            (3, "event=SwitchoverBlueGreenDeployment")])

# ---- protections weakened

def pg_params(*triples):
    return [dict(zip(("parameterName", "parameterValue", "applyMethod"), t)) for t in triples]


fixture("RDS Parameter Group Protections Weakened", [
    A("PostgreSQL: rds.force_ssl 0 (TLS no longer required)",
      record("ModifyDBParameterGroup", {"dBParameterGroupName": "orders-pg16",
                                        "parameters": pg_params(("rds.force_ssl", "0", "immediate"))},
             {"dBParameterGroupName": "orders-pg16"}, who=MALLORY)),
    A("MySQL cluster group: require_secure_transport OFF and server_audit_logging 0",
      record("ModifyDBClusterParameterGroup", {"dBClusterParameterGroupName": "billing-aurora-mysql80",
                                               "parameters": pg_params(("require_secure_transport", "OFF", "immediate"),
                                                                       ("server_audit_logging", "0", "immediate"))},
             {"dBClusterParameterGroupName": "billing-aurora-mysql80"}, who=BOB_SSO)),
    A("PostgreSQL: pgaudit.log none and log_connections off",
      record("ModifyDBParameterGroup", {"dBParameterGroupName": "ledger-pg16",
                                        "parameters": pg_params(("pgaudit.log", "none", "immediate"),
                                                                ("log_connections", "off", "immediate"))},
             {"dBParameterGroupName": "ledger-pg16"})),
    A("ResetDBParameterGroup of rds.force_ssl (back to the engine default)",
      record("ResetDBParameterGroup", {"dBParameterGroupName": "orders-pg16", "resetAllParameters": False,
                                       "parameters": [{"parameterName": "rds.force_ssl", "applyMethod": "pending-reboot"}]},
             {"dBParameterGroupName": "orders-pg16"}, who=MALLORY)),
    A("ResetDBClusterParameterGroup of every parameter",
      record("ResetDBClusterParameterGroup", {"dBClusterParameterGroupName": "billing-aurora-mysql80", "resetAllParameters": True},
             {"dBClusterParameterGroupName": "billing-aurora-mysql80"})),
    Q("harmless: rds.force_ssl 1 and log_disconnections on",
      record("ModifyDBParameterGroup", {"dBParameterGroupName": "orders-pg16",
                                        "parameters": pg_params(("rds.force_ssl", "1", "pending-reboot"),
                                                                ("log_disconnections", "1", "immediate"))},
             {"dBParameterGroupName": "orders-pg16"}, who=TERRAFORM_CI)),
    Q("harmless: an unrelated parameter (max_connections, work_mem)",
      record("ModifyDBParameterGroup", {"dBParameterGroupName": "orders-pg16",
                                        "parameters": pg_params(("max_connections", "500", "pending-reboot"),
                                                                ("work_mem", "65536", "immediate"))},
             {"dBParameterGroupName": "orders-pg16"})),
    Q("harmless: an unrelated parameter reset",
      record("ResetDBParameterGroup", {"dBParameterGroupName": "orders-pg16", "resetAllParameters": False,
                                       "parameters": [{"parameterName": "work_mem", "applyMethod": "immediate"}]},
             {"dBParameterGroupName": "orders-pg16"})),
    Q("failed: AccessDenied",
      record("ModifyDBParameterGroup", {"dBParameterGroupName": "orders-pg16",
                                        "parameters": pg_params(("rds.force_ssl", "0", "immediate"))},
             who=MALLORY, error="AccessDenied", resource=rds_arn("pg", "orders-pg16"))),
], outputs=[(1, "group=orders-pg16"), (1, "params=(rds.force_ssl)"), (1, "rds.force_ssl=0"), (1, "user=DevOpsDeployRole"),
            (2, "group=billing-aurora-mysql80"), (2, "require_secure_transport=OFF"), (2, "server_audit_logging=0"),
            (3, "pgaudit.log=none"), (3, "log_connections=off"), (4, "event=ResetDBParameterGroup"),
            (5, "reset_all=true")])

fixture("RDS Event Subscription Removed Or Disabled", [
    A("DeleteEventSubscription",
      record("DeleteEventSubscription", {"subscriptionName": "rds-security-events"},
             {"customerAwsId": ACCOUNT, "custSubscriptionId": "rds-security-events",
              "snsTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:rds-security", "status": "deleting",
              "sourceType": "db-instance", "enabled": True,
              "eventSubscriptionArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:es:rds-security-events"}, who=MALLORY)),
    A("ModifyEventSubscription with enabled false",
      record("ModifyEventSubscription", {"subscriptionName": "rds-security-events", "enabled": False},
             {"customerAwsId": ACCOUNT, "custSubscriptionId": "rds-security-events", "status": "modifying",
              "enabled": False}, who=MALLORY)),
    A("RemoveSourceIdentifierFromSubscription",
      record("RemoveSourceIdentifierFromSubscription", {"subscriptionName": "rds-security-events", "sourceIdentifier": "orders-prod"},
             {"customerAwsId": ACCOUNT, "custSubscriptionId": "rds-security-events", "status": "active",
              "sourceIdsList": [], "enabled": True})),
    Q("harmless: ModifyEventSubscription adding event categories (still enabled)",
      record("ModifyEventSubscription", {"subscriptionName": "rds-security-events",
                                         "eventCategories": ["deletion", "failover", "configuration change"], "enabled": True},
             {"customerAwsId": ACCOUNT, "custSubscriptionId": "rds-security-events", "status": "modifying",
              "enabled": True}, who=TERRAFORM_CI)),
    Q("harmless counterpart: AddSourceIdentifierToSubscription",
      record("AddSourceIdentifierToSubscription", {"subscriptionName": "rds-security-events", "sourceIdentifier": "orders-prod"},
             {"customerAwsId": ACCOUNT, "custSubscriptionId": "rds-security-events", "status": "active",
              "sourceIdsList": ["orders-prod"], "enabled": True})),
    Q("failed: AccessDenied",
      record("DeleteEventSubscription", {"subscriptionName": "rds-security-events"}, who=MALLORY, error="AccessDenied",
             resource=rds_arn("es", "rds-security-events"))),
], outputs=[(1, "subscription=rds-security-events"), (1, "event=DeleteEventSubscription"), (1, "user=DevOpsDeployRole"),
            (2, "enabled=false"), (3, "source_id=orders-prod")])

fixture("RDS Database Created Unencrypted", [
    A("CreateDBInstance with storageEncrypted false",
      record("CreateDBInstance", {"dBInstanceIdentifier": "analytics-tmp", "dBInstanceClass": "db.t4g.medium", "engine": "mysql",
                                  "masterUsername": "admin", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                  "allocatedStorage": 50, "storageEncrypted": False},
             db_instance("analytics-tmp", engine="mysql", dBInstanceStatus="creating", storageEncrypted=False), who=MALLORY)),
    A("CreateDBCluster that left encryption to the default: unencrypted in the response",
      record("CreateDBCluster", {"dBClusterIdentifier": "ledger-scratch", "engine": "aurora-postgresql",
                                 "masterUsername": "ledgeradmin", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS"},
             db_cluster("ledger-scratch", status="creating", storageEncrypted=False))),
    A("RestoreDBInstanceFromDBSnapshot of an unencrypted snapshot (said in the response only)",
      record("RestoreDBInstanceFromDBSnapshot", {"dBInstanceIdentifier": "orders-restore", "dBSnapshotIdentifier": "orders-legacy-2019"},
             db_instance("orders-restore", dBInstanceStatus="creating", storageEncrypted=False)), ),
    Q("harmless: CreateDBInstance encrypted",
      record("CreateDBInstance", {"dBInstanceIdentifier": "orders-staging", "dBInstanceClass": "db.r6g.large", "engine": "postgres",
                                  "masterUsername": "dbadmin", "manageMasterUserPassword": True, "allocatedStorage": 200,
                                  "storageEncrypted": True},
             db_instance("orders-staging", dBInstanceStatus="creating"), who=TERRAFORM_CI)),
    Q("harmless: an instance added to an unencrypted Aurora cluster (inherits the cluster's storage)",
      record("CreateDBInstance", {"dBInstanceIdentifier": "ledger-scratch-2", "dBInstanceClass": "db.r6g.large",
                                  "engine": "aurora-postgresql", "dBClusterIdentifier": "ledger-scratch"},
             db_instance("ledger-scratch-2", engine="aurora-postgresql", dBInstanceStatus="creating", storageEncrypted=False,
                         dBClusterIdentifier="ledger-scratch"), who=TERRAFORM_CI)),
    Q("harmless: an encrypted restore",
      record("RestoreDBClusterFromSnapshot", {"dBClusterIdentifier": "ledger-restore", "snapshotIdentifier": "ledger-aurora-2025-06-01",
                                              "engine": "aurora-postgresql"},
             db_cluster("ledger-restore", status="creating"))),
    Q("failed: AccessDenied",
      record("CreateDBInstance", {"dBInstanceIdentifier": "analytics-tmp", "dBInstanceClass": "db.t4g.medium", "engine": "mysql",
                                  "allocatedStorage": 50, "storageEncrypted": False},
             who=MALLORY, error="AccessDenied", resource=rds_arn("db", "analytics-tmp"))),
], outputs=[(1, "instance=analytics-tmp"), (1, "engine=mysql"), (1, "event=CreateDBInstance"), (2, "cluster=ledger-scratch"),
            (3, "snapshot=orders-legacy-2019"), (3, "event=RestoreDBInstanceFromDBSnapshot")])

fixture("RDS Auto Minor Version Upgrade Disabled", [
    A("ModifyDBInstance with autoMinorVersionUpgrade false",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "autoMinorVersionUpgrade": False, "applyImmediately": True},
             db_instance("orders-prod", autoMinorVersionUpgrade=False), who=MALLORY)),
    A("CreateDBInstance with autoMinorVersionUpgrade false",
      record("CreateDBInstance", {"dBInstanceIdentifier": "billing-reports", "dBInstanceClass": "db.r6g.large", "engine": "mysql",
                                  "masterUsername": "admin", "manageMasterUserPassword": True, "allocatedStorage": 100,
                                  "autoMinorVersionUpgrade": False, "storageEncrypted": True},
             db_instance("billing-reports", engine="mysql", dBInstanceStatus="creating", autoMinorVersionUpgrade=False),
             who=TERRAFORM_CI)),
    Q("harmless: autoMinorVersionUpgrade true",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "orders-prod", "autoMinorVersionUpgrade": True},
             db_instance("orders-prod"))),
    Q("harmless: another change on an instance whose upgrades are already off (response only)",
      record("ModifyDBInstance", {"dBInstanceIdentifier": "legacy-reports", "allocatedStorage": 300},
             db_instance("legacy-reports", autoMinorVersionUpgrade=False, pendingModifiedValues={"allocatedStorage": 300}))),
    Q("failed: AccessDenied",
      record("ModifyDBCluster", {"dBClusterIdentifier": "ledger-maz", "autoMinorVersionUpgrade": False}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("cluster", "ledger-maz"))),
], outputs=[(1, "instance=orders-prod"), (1, "event=ModifyDBInstance"), (2, "engine=mysql"), (2, "user=terraform-ci")])

# ---- hunting signals

fixture("RDS Manual Snapshot Created", [
    A("CreateDBSnapshot (manual)",
      record("CreateDBSnapshot", {"dBSnapshotIdentifier": "orders-prod-adhoc", "dBInstanceIdentifier": "orders-prod"},
             db_snapshot("orders-prod-adhoc", "orders-prod", status="creating", percentProgress=0), who=MALLORY)),
    A("CreateDBClusterSnapshot (manual)",
      record("CreateDBClusterSnapshot", {"dBClusterSnapshotIdentifier": "ledger-aurora-adhoc", "dBClusterIdentifier": "ledger-aurora"},
             db_cluster_snapshot("ledger-aurora-adhoc", "ledger-aurora", status="creating", percentProgress=0))),
    Q("harmless: AWS Backup's own snapshot (snapshotType awsbackup, service-linked role)",
      record("CreateDBSnapshot", {"dBSnapshotIdentifier": "awsbackup:job-3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
                                  "dBInstanceIdentifier": "orders-prod"},
             db_snapshot("awsbackup:job-3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", "orders-prod", status="creating",
                         snapshotType="awsbackup"), who=BACKUP)),
    Q("harmless counterpart: DescribeDBSnapshots of the instance's own snapshots",
      record("DescribeDBSnapshots", {"dBInstanceIdentifier": "orders-prod"}, None, read_only=True)),
    Q("failed: AccessDenied",
      record("CreateDBSnapshot", {"dBSnapshotIdentifier": "orders-prod-adhoc", "dBInstanceIdentifier": "orders-prod"}, who=MALLORY,
             error="AccessDenied", resource=rds_arn("snapshot", "orders-prod-adhoc"))),
], outputs=[(1, "snapshot=orders-prod-adhoc"), (1, "instance=orders-prod"), (1, "event=CreateDBSnapshot"),
            (2, "snapshot=ledger-aurora-adhoc"), (2, "cluster=ledger-aurora")])

fixture("RDS Snapshot Enumeration", [
    A("DescribeDBSnapshots with includeShared and includePublic",
      record("DescribeDBSnapshots", {"includeShared": True, "includePublic": True}, None, who=MALLORY, read_only=True)),
    A("DescribeDBClusterSnapshots of public snapshots",
      record("DescribeDBClusterSnapshots", {"snapshotType": "public", "includePublic": True}, None, who=MALLORY, read_only=True)),
    Q("harmless: DescribeDBSnapshots of the account's own snapshots",
      record("DescribeDBSnapshots", {"dBInstanceIdentifier": "orders-prod", "includeShared": False, "includePublic": False},
             None, read_only=True)),
    Q("failed: AccessDenied",
      record("DescribeDBSnapshots", {"includeShared": True, "includePublic": True}, who=MALLORY, error="AccessDenied",
             read_only=True)),
], outputs=[(1, "include_public=true"), (1, "include_shared=true"), (1, "user=DevOpsDeployRole"),
            (2, "event=DescribeDBClusterSnapshots")])

fixture("RDS Log File Downloaded", [
    A("DownloadDBLogFilePortion of the PostgreSQL log",
      record("DownloadDBLogFilePortion", {"dBInstanceIdentifier": "orders-prod",
                                          "logFileName": "error/postgresql.log.2025-06-03-09", "marker": "0"},
             None, who=MALLORY, read_only=True)),
    A("DownloadCompleteDBLogFile of the MySQL audit log",
      record("DownloadCompleteDBLogFile", {"dBInstanceIdentifier": "billing-reports", "logFileName": "audit/server_audit.log"},
             None, read_only=True)),
    Q("harmless counterpart: DescribeDBLogFiles",
      record("DescribeDBLogFiles", {"dBInstanceIdentifier": "orders-prod"}, None, read_only=True)),
    Q("failed: AccessDenied",
      record("DownloadDBLogFilePortion", {"dBInstanceIdentifier": "orders-prod", "logFileName": "error/postgresql.log.2025-06-03-09"},
             who=MALLORY, error="AccessDenied", read_only=True)),
], outputs=[(1, "instance=orders-prod"), (1, "log_file=error/postgresql.log.2025-06-03-09"),
            (2, "event=DownloadCompleteDBLogFile")])


# ------------------------------------------------------------------ writing

def slug(rule):
    return re.sub(r"[^a-z0-9]+", "_", rule.lower()).strip("_")


def render(rule, cases, outputs):
    lines = [json.loads(c[2]["raw"]) and c[2]["raw"] for c in cases]
    exp = [f"# Fixtures of the built-in rule \"{rule}\" (generated by make_fixtures.py: edit that, not this).",
           f"# Records: {slug(rule)}.ndjson, one per line; N below is the line.",
           f"rule: {rule}"]
    for i, (verdict, desc, rec) in enumerate(cases, 1):
        exp.append(f"{i} {verdict}  {desc}")
        if rec["note"]:
            exp.append(f"#   {rec['note']}")
    for n, text in outputs:
        if not (1 <= n <= len(cases)) or cases[n - 1][0] != "alert":
            sys.exit(f"{rule}: output check on record {n}, which is not an alert")
        exp.append(f"{n} output {text}")
    return "\n".join(lines) + "\n", "\n".join(exp) + "\n"


def sync_files(here, expected, check):
    """The names in `expected` (name -> text) whose file in `here` differs;
    unless `check`, those files are written."""
    differ = []
    for name, text in sorted(expected.items()):
        path = os.path.join(here, name)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            differ.append(name)
            if not check:
                with open(path, "w") as f:
                    f.write(text)
    return differ


def main():
    check = "--check" in sys.argv[1:]
    rules_yaml = os.path.join(HERE, "..", "aws_rds_rules.yaml")
    with open(rules_yaml) as f:
        names = re.findall(r"^- rule: (.+)$", f.read(), re.M)
    fixtures = {r for r, _, _ in FIXTURES}
    missing = [n for n in names if n not in fixtures]
    extra = [r for r in fixtures if r not in names]
    if missing or extra:
        sys.exit(f"rules without fixtures: {missing}; fixtures without rules: {extra}")
    expected = {}
    for rule, cases, outputs in FIXTURES:
        n_alert = sum(1 for c in cases if c[0] == "alert")
        n_quiet = sum(1 for c in cases if c[0] == "quiet")
        if n_alert < 1 or n_quiet < 2:
            sys.exit(f"{rule}: needs at least 1 alert and 2 quiet records")
        nd, ex = render(rule, cases, outputs)
        expected[slug(rule) + ".ndjson"] = nd
        expected[slug(rule) + ".expect"] = ex
    stale = sorted(f for f in os.listdir(HERE) if f.endswith((".ndjson", ".expect")) and f not in expected)
    differ = sync_files(HERE, expected, check)
    if check:
        if differ or stale:
            print("fixtures out of date: " + ", ".join(differ + stale) + " (run make_fixtures.py)")
            return 1
        print(f"fixtures up to date: {len(FIXTURES)} rules")
        return 0
    for name in stale:
        os.remove(os.path.join(HERE, name))
    print(f"wrote {len(differ)} files, removed {len(stale)}; {len(FIXTURES)} rules, "
          f"{sum(len(c) for _, c, _ in FIXTURES)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
