#!/usr/bin/env python3
"""Writes tests/fuzz/seeds/fast/*.ndjson: records that reach the prefilter's
and the walk's fast paths under fuzz_scanner's fast_rules. Every record is
one neutral record (no fast rule matches it) with one change, so that the
change alone decides whether a rule is a candidate: a record wrongly skipped
is then an alert missing, not hidden by another rule's candidacy.

    python3 tests/fuzz/make_fast_seeds.py
"""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "seeds" / "fast"

BASE = {"eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice",
                         "arn": "arn:aws:sts::111122223333:assumed-role/DevOpsDeployRole/alice",
                         "accountId": "111122223333",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "DevOpsDeployRole",
                                                              "arn": "arn:aws:iam::111122223333:role/DevOpsDeployRole"}}},
        "eventTime": "2024-11-03T09:56:02Z", "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.18.0.1", "userAgent": "curl/8",
        "requestParameters": {"dBInstanceIdentifier": "test-db-1", "functionName": "fn-one", "key": "b.txt"},
        "responseElements": None, "eventID": "e1", "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}
DROP = object()


def rec(**kw):
    """BASE with members replaced (ui_X: userIdentity's X; DROP: removed), compact."""
    r = json.loads(json.dumps(BASE))
    for k, v in kw.items():
        where, k = (r["userIdentity"], k[3:]) if k.startswith("ui_") else (r, k)
        if v is DROP:
            where.pop(k, None)
        else:
            where[k] = v
    return json.dumps(r, separators=(",", ":"))


def with_member(raw):
    """BASE with one member written as raw JSON text (its key's earlier value removed)."""
    r = json.loads(json.dumps(BASE))
    r.pop(raw.split('"')[1], None)
    return json.dumps(r, separators=(",", ":"))[:-1] + "," + raw + "}"


def repeated(first, **kw):
    """rec(**kw) with `first` (raw members) written before its own, so the last counts."""
    return "{" + ",".join(first) + "," + rec(**kw)[1:]


PLAIN = [  # each fast rule's hit and its near misses: the literal further in, shorter, longer, folded
    rec(), rec(ui_type="Root", ui_arn="arn:aws:iam::111122223333:root"), rec(ui_type="RootUser"), rec(ui_type="root"),
    rec(sourceIPAddress="203.0.113.5"), rec(sourceIPAddress="10.203.0.113.9"), rec(sourceIPAddress="203.0.113"),
    rec(sourceIPAddress="203.0.113."), rec(sourceIPAddress="host.internal"), rec(sourceIPAddress="192.0.2.1"),
    rec(sourceIPAddress="192.0.2.10"), rec(sourceIPAddress="198.51.100.77"), rec(sourceIPAddress="1.2.3.4"),
    rec(sourceIPAddress="10.0.0.5"), rec(awsRegion="eu-west-1"), rec(awsRegion="eu-west-10"),
    rec(awsRegion="ap-southeast-2"), rec(awsRegion="lab/one"), rec(awsRegion="US-GOV-WEST-1"),
    rec(awsRegion="us-gov-west-1x"), rec(awsRegion="us-west-2"),
    rec(eventName="DeleteDBInstance", eventSource="rds.amazonaws.com"),
    rec(eventName="DELETEDBCluster", eventSource="rds.amazonaws.com"),
    rec(eventName="PutEventSelectors", eventSource="cloudtrail.amazonaws.com"), rec(eventName="XPutEventSelectors"),
    rec(errorCode="AccessDenied"), rec(errorCode="AccessDenied", awsRegion="eu-west-3"),
    rec(errorCode="Client.UnauthorizedOperation", errorMessage="no"), rec(errorCode="ThrottlingException"),
    rec(errorCode="RequestThrottled"), rec(errorCode="Denied."), rec(errorCode="Denie"),
    rec(eventTime="2025-06-30T23:59:59Z"), rec(eventTime="2025-07-01T00:00:00Z"),
    rec(eventSource="signin.amazonaws.com", eventName="ConsoleLogin", sourceIPAddress="198.51.100.1"),
    rec(eventSource="signin.amazonaws.com"), rec(userAgent="aws-cli/2.15.0 Python/3.11"),
    rec(userAgent="Boto3/1.34.131 md/Botocore#1.34"), rec(userAgent="Boto3/1.29"),
    rec(eventName="AssumeRole", eventSource="sts.amazonaws.com"),
    rec(eventName="PutBucketLifecycle", eventSource="s3.amazonaws.com"),
    rec(eventName="PutObject", eventSource="s3.amazonaws.com", requestParameters={"bucketName": "b", "key": "a/b/c.txt"}),
    rec(eventName="UpdateFunctionConfiguration20150331v2", eventSource="lambda.amazonaws.com"),
    rec(eventSource="kms.amazonaws.com", eventName="Decrypt", userAgent="aws-internal/3"),
    rec(ui_arn="arn:aws:iam::111122223333:user/MALLORY"), rec(ui_arn="arn:aws:iam::1:user/mallory2"),
    rec(requestParameters={"dBInstanceIdentifier": "prod-db-1"}), rec(requestParameters={"dBInstanceIdentifier": 7}),
]

ESCAPED = [  # the compared member escaped (searched, not compared), and escapes elsewhere only
    with_member(r'"sourceIPAddress":"203.0.113\u002e5"'), with_member(r'"sourceIPAddress":"203\/0.113.5"'),
    with_member(r'"sourceIPAddress":"203.0.113.\"5"'), with_member(r'"sourceIPAddress":"\u0032\u00303.0.113.5"'),
    with_member(r'"awsRegion":"lab\/one"'), with_member(r'"awsRegion":"eu\u002dwest-1"'),
    with_member(r'"awsRegion":"\u0065u-west-1"'), with_member(r'"awsRegion":"US-GOV-WEST\u002d1"'),
    with_member(r'"eventName":"Delete\u0044BInstance"'), with_member(r'"eventName":"PutEvent\u0053electors"'),
    with_member(r'"errorCode":"Access\u0044enied"'), with_member(r'"errorCode":"Access\/Denied"'),
    with_member(r'"errorCode":"AccessDenied\n"'), with_member(r'"eventTime":"2025\u002d06-03T09:56:02Z"'),
    with_member(r'"userAgent":"say \"Boto3/1.34\" aws-cli\/2"'), with_member(r'"userAgent":"\u0061ws-cli/2.1"'),
    with_member(r'"userIdentity":{"type":"R\u006fot"}'), with_member(r'"userIdentity":{"type":"Ro\/ot"}'),
    with_member(r'"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/\u004dALLORY"}'),
    with_member(r'"requestParameters":{"dBInstanceIdentifier":"pro\u0064-1"}'),
    rec(sourceIPAddress="203.0.113.5", userAgent='tool "quoted" \\ slash/'),
    rec(awsRegion="eu-west-1", userAgent="caf\u00e9"),
]

REPEATED = [  # repeated top-level keys: jansson keeps the last
    repeated(['"sourceIPAddress":"203.0.113.5"']), repeated(['"sourceIPAddress":"1.1.1.1"'], sourceIPAddress="203.0.113.7"),
    repeated(['"awsRegion":"eu-west-1"']), repeated(['"awsRegion":"us-west-2"'], awsRegion="ap-southeast-2"),
    repeated(['"errorCode":"AccessDenied"'], errorCode="Fine"), repeated(['"errorCode":"Fine"'], errorCode="AccessDenied"),
    repeated(['"requestParameters":{"dBInstanceIdentifier":"prod-x","key":"a/1"}']),
    repeated(['"requestParameters":{"dBInstanceIdentifier":"test"}'], requestParameters={"dBInstanceIdentifier": "prod-y"}),
    repeated(['"userIdentity":{"type":"Root"}']), repeated(['"userAgent":"aws-cli/2.1"']),
    repeated(['"responseElements":{"publiclyAccessible":true}', '"responseElements":{"x":1}']),
    repeated(['"a/b":"one"', '"a/b":"two"']), repeated(['"eventName":"DeleteDBInstance"']),
    repeated(['"eventTime":"2025-06-01T00:00:00Z"']),
]

ODD = [  # values of other types, absent members, escaped keys, whitespace, non-ASCII
    rec(sourceIPAddress=203), rec(sourceIPAddress=None), rec(sourceIPAddress={"ip": "203.0.113.5"}),
    rec(sourceIPAddress=["203.0.113.5"]), rec(sourceIPAddress=DROP), rec(awsRegion=["eu-west-1"]),
    rec(errorCode=True), rec(errorCode={"c": "AccessDenied"}), rec(userAgent=DROP), rec(ui_type=DROP),
    rec(ui_type=["Root"]), rec(sourceIPAddress="203.0.113.5").replace('"sourceIPAddress"', '"source\\u0049PAddress"'),
    rec(awsRegion="eu-west-1").replace('"awsRegion"', '"aws\\u0052egion"'),
    json.dumps(json.loads(rec(sourceIPAddress="203.0.113.5")), indent=1).replace("\n", " "),
    json.dumps(json.loads(rec(awsRegion="lab/one")), separators=(" , ", " : ")),
    rec(sourceIPAddress="203.0.113.5\u00e9"), rec(awsRegion="eu-west-1", requestParameters={"a/b": "\U0001F600"}),
]

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, lines in (("plain_members", PLAIN), ("escaped_members", ESCAPED), ("repeated_keys", REPEATED),
                        ("odd_members", ODD)):
        for line in lines:
            json.loads(line)
        (OUT / f"{name}.ndjson").write_text("\n".join(lines) + "\n")
