"""Hunting S3 history: how it scales with cores, and where the time goes (issue 20).

    python hunt_bench.py [--objects 2000] [--records 100] [--worker PATH] [--data RECORDS.ndjson]

Starts a moto server on 127.0.0.1, fills a bucket in CloudTrail's layout
(2 accounts x 2 regions x days x objects; each object a gzipped log file of
--records records drawn from the shared real records), then measures:

- the hunt (ctrule.s3, the built-in RDS rules) with 1, 2 and 4 threads, and
  with 2 processes of one thread each: wall time, objects/s, records/s, the
  speed-up over one thread, and the CPU this process and moto used;
- where one thread's time goes: downloading every object (GetObject, read)
  versus scanning the same bytes already in memory;
- with --worker (a built ctrule-sqs-worker), the backfill of the whole range
  and the time 1 and 2 workers take to drain the queue.

A program that prints figures, not a test: nothing here fails on a figure.
Goal of the issue: 2 cores >= 1.7x one core. On one machine moto serves every
byte from the same cores, so its CPU share is printed too.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gzip
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

import ctrule
from ctrule import s3 as cts3

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python" / "tests"))
from test_s3 import start_moto  # noqa: E402  (the tests' moto launcher)

BUCKET = "bench-trail"
ACCOUNTS = ["111111111111", "222222222222"]
REGIONS = ["eu-west-1", "us-east-1"]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    """This process's CPU and its finished children's (the 2-process run)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def fill(s3: Any, objects: int, per_object: int, records: list[bytes]) -> tuple[int, int]:
    days = max(1, objects // (len(ACCOUNTS) * len(REGIONS) * 100))
    per_day = -(-objects // (len(ACCOUNTS) * len(REGIONS) * days))
    rnd = random.Random(20)
    keys: list[str] = []
    for acct in ACCOUNTS:
        for region in REGIONS:
            for d in range(days):
                for i in range(per_day):
                    if len(keys) < objects:
                        keys.append(f"AWSLogs/{acct}/CloudTrail/{region}/2024/05/{d + 1:02d}/"
                                    f"{acct}_CloudTrail_{region}_202405{d + 1:02d}T{i % 24:02d}00Z_{i:05d}.json.gz")
    total = 0

    def put(k: str) -> int:
        body = gzip.compress(b'{"Records":[' + b",".join(rnd.choice(records) for _ in range(per_object))
                             + b"]}", 6)
        s3.put_object(Bucket=BUCKET, Key=k, Body=body)
        return len(body)

    with cf.ThreadPoolExecutor(8) as pool:
        total = sum(pool.map(put, keys))
    return days, total


def hunt(rules: ctrule.Ruleset, objs: list[cts3.S3Object], threads: int) -> tuple[int, int, int]:
    records = alerts = failures = 0
    for r in cts3.scan_objects(rules, objs, threads=threads):
        records += r.stats.records
        alerts += len(r.alerts)
        failures += r.failure is not None
    return records, alerts, failures


def _process_part(keys: list[tuple[str, int]]) -> tuple[int, int, int]:
    rules = ctrule.builtin("rds")
    return hunt(rules, [cts3.S3Object(BUCKET, k, n) for k, n in keys], 1)


def measure(label: str, fn: Any, moto_pid: int, base: float | None, objects: int) -> float:
    c0, m0, t0 = self_cpu(), cpu_seconds(moto_pid), time.perf_counter()
    records, alerts, failures = fn()
    wall = time.perf_counter() - t0
    c1, m1 = self_cpu(), cpu_seconds(moto_pid)
    speed = f"{base / wall:4.2f}x" if base else "1.00x"
    print(f"  {label:<22} {wall:6.2f} s  {objects / wall:7.0f} objects/s  {records / wall:9.0f} records/s"
          f"  {speed}  hunt CPU {c1 - c0:5.2f} s  moto CPU {m1 - m0:5.2f} s  alerts {alerts}"
          f"  failures {failures}")
    return wall


def where_time_goes(s3: Any, rules: ctrule.Ruleset, objs: list[cts3.S3Object]) -> None:
    t0 = time.perf_counter()
    bodies = [s3.get_object(Bucket=o.bucket, Key=o.key)["Body"].read() for o in objs]
    download = time.perf_counter() - t0
    t0 = time.perf_counter()
    for b in bodies:
        rules.count(b)
    scan = time.perf_counter() - t0
    print(f"  one thread, {len(objs)} objects: download {download:.2f} s "
          f"({download / len(objs) * 1e3:.2f} ms/object), scan from memory {scan:.2f} s "
          f"({scan / len(objs) * 1e3:.2f} ms/object): scanning is {scan / (scan + download):.0%} of the work")


def backfill(worker: str, env: dict[str, str], days: int, objects: int, moto_pid: int) -> None:
    sqs = boto3.client("sqs", **{k: v for k, v in _boto(env).items()})
    base = None
    for n in (1, 2):
        q = sqs.create_queue(QueueName=f"bench-{n}-{os.getpid()}")["QueueUrl"]
        t0 = time.perf_counter()
        subprocess.run([worker, "backfill", "-queue-url", q, "-bucket", BUCKET, "-s3-path-style",
                        "-since", "2024-05-01", "-until", f"2024-05-{days:02d}"], env=env, check=True,
                       stderr=subprocess.DEVNULL)
        enqueue = time.perf_counter() - t0
        m0 = cpu_seconds(moto_pid)
        t0 = time.perf_counter()
        procs = [subprocess.Popen([worker, "-queue-url", q, "-s3-path-style", "-wait-time", "1s",
                                   "-listen", "", "-concurrency", "4"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
        while True:
            a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            if int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]) == 0:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        for p in procs:
            p.terminate()
            p.wait(60)
        speed = f"{base / wall:4.2f}x" if base else "1.00x"
        base = base or wall
        print(f"  backfill + {n} worker(s): enqueue {enqueue:.2f} s, drained in {wall:.2f} s "
              f"({objects / wall:.0f} objects/s, {speed}), moto CPU {cpu_seconds(moto_pid) - m0:.2f} s")


def _boto(env: dict[str, str]) -> dict[str, str]:
    return {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": env["AWS_DEFAULT_REGION"],
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=2000)
    ap.add_argument("--records", type=int, default=100, help="records per object")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "cloudtrail" / "records.ndjson"))
    ap.add_argument("--worker", help="a built ctrule-sqs-worker, for the backfill figures")
    args = ap.parse_args()
    records = [ln for ln in Path(args.data).read_bytes().splitlines() if ln.strip()]
    proc, url = start_moto(no_auth=True)
    try:
        env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                   AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        os.environ.update(env)
        s3 = cts3.client(8)
        s3.create_bucket(Bucket=BUCKET)
        t0 = time.perf_counter()
        days, size = fill(s3, args.objects, args.records, records)
        print(f"bucket: {args.objects} objects x {args.records} records ({size / 1e6:.1f} MB gzipped), "
              f"{days} days, filled in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs")
        objs = cts3.list_objects(f"s3://{BUCKET}", since="2024-05-01", until=f"2024-05-{days:02d}", s3=s3)
        rules = ctrule.builtin("rds")
        print("hunt (ctrule.s3.scan_objects, built-in RDS rules):")
        hunt(rules, objs[:50], 2)  # warm: connections, the ruleset
        base = measure("1 thread", lambda: hunt(rules, objs, 1), proc.pid, None, len(objs))
        for n in (2, 4):
            measure(f"{n} threads", lambda n=n: hunt(rules, objs, n), proc.pid, base, len(objs))
        halves = [[(o.key, o.size) for o in objs[i::2]] for i in range(2)]

        def two_processes() -> tuple[int, int, int]:
            with cf.ProcessPoolExecutor(2) as pool:
                parts = list(pool.map(_process_part, halves))
            return tuple(sum(p[i] for p in parts) for i in range(3))  # type: ignore[return-value]

        measure("2 processes x 1 thread", two_processes, proc.pid, base, len(objs))
        print("where the time goes:")
        where_time_goes(s3, rules, objs)
        if args.worker:
            print("backfill (ctrule-sqs-worker):")
            backfill(args.worker, env, days, len(objs), proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
