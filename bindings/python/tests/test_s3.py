"""s3:// sources (ctrule.s3) against a moto server this test starts on 127.0.0.1.

The bucket holds 3 accounts x 2 regions x 5 days x 20 objects in CloudTrail's
layout (the third account under an organization trail's o-ORG/ folder),
digests (a digest folder, and a digest-named object in a day folder that
would fail if it were scanned), a corrupt object, an object the hunting user
is denied (IAM policy) and an event delivered after midnight. Every fifth
object holds one CreateAccessKey record: the alerts expected are computed
from that plan. CTRULE_REQUIRE_S3=1 makes a missing moto a failure.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any, Iterator

import pytest

import ctrule

if not os.environ.get("CTRULE_REQUIRE_S3"):
    pytest.importorskip("moto", reason="moto[server] and boto3 are not installed")
    pytest.importorskip("boto3")
import boto3  # noqa: E402

from ctrule import s3 as cts3  # noqa: E402

BUCKET = "hunt-trail"
ORG = "o-abcde12345"
ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
REGIONS = ["eu-west-1", "us-east-1"]
DAYS = [dt.date(2024, 4, 30) + dt.timedelta(days=i) for i in range(5)]  # 04-30 .. 05-04
PER_DAY = 20
ALERT_EVERY = 5
CORRUPT = (ACCOUNTS[0], "us-east-1", dt.date(2024, 5, 2), 7)
DENIED = (ACCOUNTS[1], "eu-west-1", dt.date(2024, 5, 2), 3)
LATE = (ACCOUNTS[2], "us-east-1", dt.date(2024, 5, 4))  # an event of 05-03 23:58 delivered 05-04

RULES = """
- rule: Access Key Created
  desc: an access key was created
  condition: ct.name = "CreateAccessKey"
  output: "%ct.user created an access key in %ct.region (id=%ct.id)"
  priority: warning
  source: aws_cloudtrail
"""


def day_prefix(acct: str, region: str, day: dt.date) -> str:
    owner = f"AWSLogs/{ORG}/" if acct == ACCOUNTS[2] else "AWSLogs/"
    return f"{owner}{acct}/CloudTrail/{region}/{day:%Y/%m/%d}/"


def key(acct: str, region: str, day: dt.date, i: int) -> str:
    return (f"{day_prefix(acct, region, day)}{acct}_CloudTrail_{region}_{day:%Y%m%d}T{i:02d}00Z_"
            f"{i:04d}.json.gz")


def event_id(acct: str, region: str, when: dt.datetime, i: int) -> str:
    return f"{acct}-{region}-{when:%Y%m%dT%H%M}-{i}"


def record(acct: str, region: str, when: dt.datetime, name: str, eid: str) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": region,
            "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
            "userIdentity": {"type": "IAMUser", "accountId": acct, "userName": "mallory",
                             "arn": f"arn:aws:iam::{acct}:user/mallory"},
            "eventID": eid, "eventType": "AwsApiCall", "recipientAccountId": acct}


def log_file(acct: str, region: str, day: dt.date, i: int) -> bytes:
    when = dt.datetime(day.year, day.month, day.day, i, 0, tzinfo=dt.timezone.utc)
    recs = [record(acct, region, when + dt.timedelta(minutes=k), "DescribeInstances",
                   f"noise-{k}") for k in range(1, 5)]
    if i % ALERT_EVERY == 0:
        recs.insert(0, record(acct, region, when, "CreateAccessKey",
                              event_id(acct, region, when, i)))
    return gzip.compress(json.dumps({"Records": recs}).encode())


def plan() -> Iterator[tuple[str, bytes]]:
    """Every object of the bucket: (key, body)."""
    for acct in ACCOUNTS:
        for region in REGIONS:
            for day in DAYS:
                for i in range(PER_DAY):
                    body = log_file(acct, region, day, i)
                    if (acct, region, day, i) == CORRUPT:
                        body = body[:len(body) // 2]
                    yield key(acct, region, day, i), body
    acct, region, day = LATE
    when = dt.datetime(2024, 5, 3, 23, 58, tzinfo=dt.timezone.utc)
    late = record(acct, region, when, "CreateAccessKey", event_id(acct, region, when, 99))
    yield (f"{day_prefix(acct, region, day)}{acct}_CloudTrail_{region}_20240504T0005Z_late.json.gz",
           gzip.compress(json.dumps({"Records": [late]}).encode()))
    digest = f"AWSLogs/{ACCOUNTS[0]}/CloudTrail-Digest/us-east-1/2024/05/01/"
    yield digest + f"{ACCOUNTS[0]}_CloudTrail-Digest_us-east-1_t_20240501T010000Z.json.gz", b"\x1f\x8bbad"
    yield (day_prefix(ACCOUNTS[0], "us-east-1", dt.date(2024, 5, 1)) +
           f"{ACCOUNTS[0]}_CloudTrail-Digest_us-east-1_t_20240501T020000Z.json.gz", b"\x1f\x8bbad")


def expected(since: dt.date, until: dt.date, accounts: list[str], regions: list[str]) -> set[str]:
    """The eventIDs of the alerts a hunt of [since, until] must find."""
    out = set()
    for acct in accounts:
        for region in regions:
            for day in DAYS:
                if not since <= day <= until:
                    continue
                for i in range(0, PER_DAY, ALERT_EVERY):
                    when = dt.datetime(day.year, day.month, day.day, i, tzinfo=dt.timezone.utc)
                    out.add(event_id(acct, region, when, i))
    acct, region, _ = LATE
    if acct in accounts and region in regions and since <= dt.date(2024, 5, 3) <= until:
        out.add(event_id(acct, region, dt.datetime(2024, 5, 3, 23, 58), 99))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(no_auth: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """A moto server on a free 127.0.0.1 port (also used by tests/bench/hunt_bench.py)."""
    port = _free_port()
    # IAM is enforced after the first 4 calls: those create the admin user.
    env = dict(os.environ) if no_auth else dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("moto.server exited") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto.server did not start")


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def populate(url: str, objects: Iterator[tuple[str, bytes]]) -> dict[str, str]:
    """Creates the users and the bucket; returns the hunter's environment."""
    anon = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                aws_secret_access_key="setup")
    iam = boto3.client("iam", **anon)
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all",
                        PolicyDocument=policy({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    ak = iam.create_access_key(UserName="admin")["AccessKey"]
    iam.create_user(UserName="hunter")
    admin = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id=ak["AccessKeyId"],
                 aws_secret_access_key=ak["SecretAccessKey"])
    iam = boto3.client("iam", **admin)
    acct, region, day, i = DENIED
    iam.put_user_policy(UserName="hunter", PolicyName="read", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{BUCKET}/{key(acct, region, day, i)}"}))
    hk = iam.create_access_key(UserName="hunter")["AccessKey"]
    s3 = boto3.client("s3", **admin)
    s3.create_bucket(Bucket=BUCKET)
    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), objects))
    return {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": hk["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": hk["SecretAccessKey"], "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@pytest.fixture(scope="session")
def hunter_env() -> Iterator[dict[str, str]]:
    """The environment of a user of the bucket (boto3's standard chain)."""
    proc, url = start_moto()
    try:
        yield populate(url, plan())
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture()
def aws(hunter_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    for k, v in hunter_env.items():
        monkeypatch.setenv(k, v)
    return hunter_env


@pytest.fixture(scope="module")
def rules() -> ctrule.Ruleset:
    return ctrule.loads(RULES)


def ids(alerts: list[ctrule.Alert]) -> list[str]:
    return [a.event["eventID"] for a in alerts]


def test_sub_range_finds_exactly_the_expected_alerts(aws: dict[str, str], rules: ctrule.Ruleset) -> None:
    accounts, regions = [ACCOUNTS[0], ACCOUNTS[2]], ["us-east-1"]
    scan = rules.scan(f"s3://{BUCKET}", since="2024-05-02", until="2024-05-03",
                      accounts=accounts, regions=regions, threads=4)
    found = ids(list(scan))
    want = expected(dt.date(2024, 5, 2), dt.date(2024, 5, 3), accounts, regions)
    assert sorted(found) == sorted(want) and len(want) == 17  # each once, the late one too
    assert isinstance(scan, cts3.S3Scan)
    # 2 accounts x 1 region x 2 days x 20; of 05-04 (late deliveries) the files delivered in
    # the hour after until: 00:00 and the late one
    assert len(scan.objects) == 2 * (2 * PER_DAY + 1) + 1
    assert [(f.where, f.kind) for f in scan.failures] == [
        (f"s3://{BUCKET}/{key(*CORRUPT)}", "corrupt")]
    assert scan.stats.matches == len(want) + 2  # 05-04T00:00's alerts: matched, out of range
    assert len(scan.errors) == 1  # the corrupt stream, as the library reports it
    assert "truncated gzip stream" in scan.errors[0].text


def test_whole_range_reports_denied_and_corrupt_and_goes_on(aws: dict[str, str],
                                                            rules: ctrule.Ruleset) -> None:
    scan = ctrule.scan(f"s3://{BUCKET}/AWSLogs/", rules=rules, since=DAYS[0], until=DAYS[-1])
    found = ids(list(scan))
    assert sorted(found) == sorted(expected(DAYS[0], DAYS[-1], ACCOUNTS, REGIONS))
    assert isinstance(scan, cts3.S3Scan)
    assert len(scan.objects) == len(ACCOUNTS) * len(REGIONS) * len(DAYS) * PER_DAY + 1  # no digest
    kinds = sorted((f.kind, f.where) for f in scan.failures)
    assert kinds == [("corrupt", f"s3://{BUCKET}/{key(*CORRUPT)}"),
                     ("denied", f"s3://{BUCKET}/{key(*DENIED)}")]
    denied = [f for f in scan.failures if f.kind == "denied"][0]
    assert "AccessDenied" in denied.message


def test_only_day_prefixes_are_listed(aws: dict[str, str]) -> None:
    s3 = cts3.client()
    calls: list[dict[str, Any]] = []
    s3.meta.events.register("provide-client-params.s3.ListObjectsV2",
                            lambda params, **_: calls.append(dict(params)))
    objs = cts3.list_objects(f"s3://{BUCKET}", since="2024-05-01T06:00:00Z",
                             until="2024-05-01T12:00:00Z", regions=["eu-west-1"], s3=s3)
    assert {(o.account, o.region) for o in objs} == {(a, "eu-west-1") for a in ACCOUNTS}
    # Of that day prefix, the files delivered from 06:00 to an hour after 12:00.
    assert all("/2024/05/01/" in o.key for o in objs) and len(objs) == 3 * 8
    assert {int(o.key.rsplit("_", 1)[1][:4]) for o in objs} == set(range(6, 14))
    flat = [c["Prefix"] for c in calls if "Delimiter" not in c]
    assert sorted(flat) == sorted(day_prefix(a, "eu-west-1", dt.date(2024, 5, 1)) for a in ACCOUNTS)
    # The rest walk one level at a time: the bucket root, AWSLogs/ and the org's folder.
    assert sorted(c["Prefix"] for c in calls if "Delimiter" in c) == [
        "", "AWSLogs/", "AWSLogs/", f"AWSLogs/{ORG}/"]


def test_org_trail_url_and_url_days(aws: dict[str, str], rules: ctrule.Ruleset) -> None:
    acct = ACCOUNTS[2]
    scan = rules.scan(f"s3://{BUCKET}/AWSLogs/{ORG}/{acct}/CloudTrail/eu-west-1/2024/05/01/")
    found = ids(list(scan))
    assert sorted(found) == sorted(expected(DAYS[1], DAYS[1], [acct], ["eu-west-1"]))
    assert isinstance(scan, cts3.S3Scan)
    assert len(scan.objects) == PER_DAY  # the URL's day bounds the late-delivery slack too
    objs = cts3.list_objects(f"s3://{BUCKET}/AWSLogs/{ORG}/", since="2024-05-03", until="2024-05-03")
    assert {o.account for o in objs} == {acct}


def test_an_object_url_is_that_object(aws: dict[str, str], rules: ctrule.Ruleset) -> None:
    k = key(ACCOUNTS[0], "us-east-1", dt.date(2024, 5, 1), 5)
    assert len(ids(list(rules.scan(f"s3://{BUCKET}/{k}")))) == 1


def test_missing_object_and_bucket_are_failures_not_exceptions(aws: dict[str, str],
                                                                rules: ctrule.Ruleset) -> None:
    s3 = cts3.client()
    [r] = cts3.scan_objects(rules, [cts3.S3Object(BUCKET, "AWSLogs/nothing.json.gz")], s3=s3)
    assert r.failure is not None and r.failure.kind == "missing" and not r.alerts
    failures: list[cts3.Failure] = []
    with pytest.raises(Exception, match="NoSuchBucket"):
        cts3.list_objects("s3://no-such-bucket-here", since="2024-05-01", s3=s3, failures=failures)


@pytest.mark.parametrize("url, options, message", [
    (f"s3://{BUCKET}", {}, "give since="),
    (f"s3://{BUCKET}/elsewhere/", {"since": "2024-05-01"}, "no AWSLogs/ folder here"),
    (f"s3://{BUCKET}", {"since": "2024-05-01", "accounts": ["12345"]}, "not an AWS account id"),
    (f"s3://{BUCKET}", {"since": "2024-05-01", "regions": ["mars"]}, "not an AWS region"),
    (f"s3://{BUCKET}", {"since": "May 1st"}, "not a date or ISO 8601 time"),
    (f"s3://{BUCKET}", {"since": "2024-05-02", "until": "2024-05-01"}, "is after until"),
    (f"s3://{BUCKET}/AWSLogs/{ACCOUNTS[0]}/CloudTrail-Digest/", {"since": "2024-05-01"},
     "only the CloudTrail/ folder"),
])
def test_usage_errors_say_what(aws: dict[str, str], rules: ctrule.Ruleset, url: str,
                               options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.scan(url, **options)


def test_local_and_s3_items_share_the_engine(aws: dict[str, str], rules: ctrule.Ruleset,
                                             tmp_path: Any) -> None:
    local = tmp_path / "one.json.gz"
    local.write_bytes(log_file(ACCOUNTS[0], "us-east-1", dt.date(2024, 5, 1), 0))
    items: list[Any] = [str(local), str(tmp_path / "absent.json"),
                        cts3.S3Object(BUCKET, key(ACCOUNTS[0], "us-east-1", dt.date(2024, 5, 1), 10))]
    progress = cts3.Progress()
    results = list(cts3.scan_objects(rules, items, threads=2, progress=progress))
    by = {str(r.item): r for r in results}
    assert len(by[str(local)].alerts) == 1 and by[str(tmp_path / "absent.json")].failure.kind == "missing"  # type: ignore[union-attr]
    assert len(by[str(items[2])].alerts) == 1
    assert progress.objects == 3 and progress.records == 10


class _FlakyBody:
    """A body whose connection drops after its first chunk, the first time."""

    def __init__(self, data: bytes, drop: bool) -> None:
        self.data, self.drop = data, drop

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        from botocore.exceptions import ResponseStreamingError

        for at in range(0, len(self.data), 7):
            yield self.data[at:at + 7]
            if self.drop:
                raise ResponseStreamingError(error="connection reset")

    def close(self) -> None:
        pass


class _FlakyS3:
    def __init__(self, data: bytes) -> None:
        self.data, self.calls = data, []  # type: ignore[var-annotated]

    def get_object(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(kw)
        start = int(kw["Range"][6:-1]) if "Range" in kw else 0
        return {"ETag": '"e1"', "Body": _FlakyBody(self.data[start:], len(self.calls) == 1)}


def test_a_dropped_connection_resumes_where_it_broke(rules: ctrule.Ruleset) -> None:
    data = log_file(ACCOUNTS[0], "us-east-1", dt.date(2024, 5, 1), 0)
    s3 = _FlakyS3(data)
    [r] = cts3.scan_objects(rules, [cts3.S3Object(BUCKET, "k.json.gz")], s3=s3, threads=1)
    assert r.failure is None and len(r.alerts) == 1 and r.stats.bytes == len(data)
    assert s3.calls[1] == {"Bucket": BUCKET, "Key": "k.json.gz", "Range": "bytes=7-", "IfMatch": '"e1"'}
