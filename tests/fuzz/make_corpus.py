#!/usr/bin/env python3
"""Builds the seed corpora of the libFuzzer targets.

usage: make_corpus.py OUTDIR [SHARED_DATA_DIR]

Writes OUTDIR/{rules,condition,render,saved,scanner,walk,frame}/ from the repository's rules
files and test data, the committed seeds in tests/fuzz/seeds/, and the real
CloudTrail data in SHARED_DATA_DIR (default ../shared/data/cloudtrail next to
the repository). Seeds are named by content hash, so re-running is
idempotent. Only the standard library is used.
"""
import gzip
import hashlib
import pathlib
import re
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_SEED = 60000  # stay under the smallest -max_len used by scripts/fuzz.sh


def write(outdir, target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > MAX_SEED:
        return
    d = outdir / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def rules_files():
    files = sorted((ROOT / "libctrule" / "rules").glob("*.yaml"))
    files += sorted((ROOT / "tests").glob("cases/*/rules.yaml"))
    files += sorted((ROOT / "examples").rglob("*.yaml"))
    return files


def yaml_items(text):
    """Top-level `- ` items of a rules file, each as its own text."""
    items, cur = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("- ") and cur:
            items.append("".join(cur))
            cur = []
        cur.append(line)
    if cur:
        items.append("".join(cur))
    return items


def scalar_values(text, key):
    """Values of `key:` in a rules file, plain or as a block scalar."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:- )?" + key + r":\s*(.*)$", line)
        if not m:
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        if value in (">", "|", ">-", "|-", ">+", "|+"):
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt.strip())
            value = " ".join(body) if value.startswith(">") else "\n".join(body)
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if value:
            out.append(value)
    return out


def sigma_documents(text):
    """The `---`-separated documents of a file that holds several (Sigma)."""
    docs = re.split(r"(?m)^---\s*$", text)
    return [d.lstrip("\n") for d in docs] if len(docs) > 1 else []


def correlation_streams():
    """Streams that feed the built-in correlations: their fixtures, and the
    same records out of order, with odd or missing eventTime / eventID, and
    one group's records repeated (fuzz_scanner's ruleset has correlations
    with upper bounds, decided when windows close or at finish)."""
    import json
    import random
    fixtures = sorted((ROOT / "libctrule" / "rules" / "correlation_tests").glob("*.ndjson"))
    sets = [[json.loads(l) for l in ndjson_lines(f, 1000)] for f in fixtures]
    dump = lambda recs: b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in recs)
    out = [f.read_bytes() for f in fixtures]
    rng = random.Random(21)
    odd_times = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z",
                 "2025-07-10T10:00:00.999999999Z", "2025-07-10T10:00:00+14:00", "2025-07-10T10:00:00-12:00",
                 "2262-04-11T23:47:16Z", "2262-04-11T23:47:17Z", "1677-09-21T00:12:43Z", "2025-02-30T25:61:61Z",
                 "", "not a time", 1752141600, -1, None, 1e308, ["2025-07-10T10:00:00Z"]]
    for recs in sets:
        out.append(dump(list(reversed(recs))))
        shuffled = list(recs)
        rng.shuffle(shuffled)
        out.append(dump(shuffled))
        odd = [dict(r) for r in recs]
        for i, r in enumerate(odd):
            r["eventTime"] = odd_times[i % len(odd_times)]
        out.append(dump(odd))
        no_id = [dict(r) for r in recs]
        for i, r in enumerate(no_id):
            if i % 2 == 0:
                r.pop("eventID", None)
            else:
                r["eventID"] = {"odd": i} if i % 3 else "x" * 3000
        out.append(dump(no_id))
        no_time = [dict(r) for r in recs]
        for r in no_time[::2]:
            r.pop("eventTime", None)
        out.append(dump(no_time))
        # One group over and over, a second apart and then hours later: windows open,
        # close on event time and lateness, and a late one arrives after the decision.
        if recs:
            base = recs[0]
            rep = []
            for i in range(40):
                r = dict(base)
                r["eventTime"] = "2025-07-10T%02d:%02d:%02dZ" % (10 + (i // 10) * 3, (i % 10) // 6, (i * 7) % 60)
                r["eventID"] = "rep-%d" % i
                rep.append(r)
            rep.append(dict(base))  # the earliest again, after its window was decided
            out.append(dump(rep))
    out.append(b"".join(b"".join(f.read_bytes().splitlines(True)[:6]) for f in fixtures))  # every fixture's start, one stream
    out.append(json.dumps({"Records": sets[0] if sets else []}).encode())
    return out


def ndjson_lines(path, limit):
    with open(path, "rb") as f:
        return [line for _, line in zip(range(limit), f) if line.strip()]


def scanner_seed(opts, seed, bound, stream):
    """fuzz_scanner's layout: options byte, 4 seed bytes, bound byte, stream."""
    return bytes([opts]) + struct.pack("<I", seed) + bytes([bound]) + stream


def fast_seed_numbers():
    """fuzz_scanner's fast scans pick their ruleset by (seed * 0x9e3779b1) >> 27
    (one fast rule alone, or all of them): a seed number for each of the 32."""
    found = {}
    n = 1
    while len(found) < 32:
        found.setdefault(((n * 0x9E3779B1) & 0xFFFFFFFF) >> 27, n)
        n += 1
    return [found[c] for c in sorted(found)]


def fast_streams(shared):
    """Records that reach the prefilter's and the walk's fast paths: the
    committed seeds/fast/ streams (plain members and near misses, escapes in
    the compared members and elsewhere, repeated keys, values of other types,
    escaped keys) and the shared records the fast rules look at."""
    streams = [p.read_bytes() for p in sorted((ROOT / "tests" / "fuzz" / "seeds" / "fast").glob("*.ndjson"))]
    if shared.is_dir():
        records = ndjson_lines(shared / "records.ndjson", 100000)
        for needle in (b'"type":"Root"', b'"203.0.113.', b'"errorCode":"AccessDenied"', b'"errorCode":"Client.',
                       b"\\u", b'Exception"'):
            hits = [r for r in records if needle in r][:6]
            if hits:
                streams.append(b"".join(hits))
    return streams


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir = pathlib.Path(sys.argv[1])
    shared = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "data" / "cloudtrail"

    for target in ("rules", "condition", "render", "scanner"):
        for seed in sorted((ROOT / "tests" / "fuzz" / "seeds" / target).glob("*")):
            write(outdir, target, seed.read_bytes())

    sample_records = []
    for path in sorted((ROOT / "tests" / "cases").glob("*/events.ndjson")):
        sample_records += ndjson_lines(path, 3)
    for path in sorted((ROOT / "libctrule" / "rules" / "tests").glob("*.ndjson")):
        sample_records += ndjson_lines(path, 2)

    for path in rules_files():
        text = path.read_text()
        write(outdir, "rules", text)
        for item in yaml_items(text):
            write(outdir, "rules", item)
        for doc in sigma_documents(text):
            write(outdir, "rules", doc)
        for cond in scalar_values(text, "condition"):
            write(outdir, "condition", cond)
        outputs = scalar_values(text, "output")
        for n, out in enumerate(outputs):
            write(outdir, "render", out)
            if sample_records:
                write(outdir, "render", out.encode() + b"\0" + sample_records[n % len(sample_records)])

    # Scanner: every framing, plain and gzipped, with a spread of chunkings.
    streams = [b"".join(sample_records[i:i + 4]) for i in range(0, len(sample_records), 4)]
    if shared.is_dir():
        records = ndjson_lines(shared / "records.ndjson", 40)
        streams += [b"".join(records[i:i + 8]) for i in range(0, len(records), 8)]
        import json
        objs = [json.loads(r) for r in records[:6]]
        streams.append(json.dumps({"Records": objs}).encode())
        streams.append(json.dumps(objs).encode())
        streams.append(b"".join(ndjson_lines(shared / "partial.ndjson", 30)))
        for env in sorted((shared / "envelopes").glob("*.ndjson")):
            for line in ndjson_lines(env, 4):
                streams.append(line)
    for i, stream in enumerate(streams):
        bound = (3, 7, 12, 16)[i % 4]
        write(outdir, "scanner", scanner_seed(0, i + 1, bound, stream))
        write(outdir, "scanner", scanner_seed(2 | 4, i * 7919 + 3, bound, stream))  # harness gzips
        write(outdir, "scanner", scanner_seed(1, i + 11, 16, gzip.compress(stream, 6)))
        if i % 4 == 0:  # gzip inside gzip: the harness compresses a gzip stream again
            write(outdir, "scanner", scanner_seed(2 | 4, i + 29, bound, gzip.compress(stream, 6)))
    # Walk: single records (options byte first), and the adversarial ones.
    walk_records = list(sample_records)
    if shared.is_dir():
        walk_records += ndjson_lines(shared / "records.ndjson", 40)
        walk_records += ndjson_lines(shared / "partial.ndjson", 30)
    walk_records += ndjson_lines(ROOT / "tests" / "bench" / "adversarial.ndjson", 1000)
    for i, record in enumerate(walk_records):
        write(outdir, "walk", bytes([i & 1]) + record.strip())
    # Frame: records cut at spread positions, then good lines, bare or as
    # the elements of an array (options byte first: the chunk size seed).
    frame_records = [r.strip() for r in walk_records if r.strip().startswith(b"{")]
    for i in range(0, max(len(frame_records) - 2, 0), 3):
        rec, good = frame_records[i], frame_records[i + 1] + b"\n" + frame_records[i + 2] + b"\n"
        cut = 1 + (i * 7919) % max(len(rec) - 1, 1)
        write(outdir, "frame", bytes([i & 0xFF]) + rec[:cut] + b"\n" + good)
        write(outdir, "frame", bytes([(i + 1) & 0xFF]) + b"[\n" + rec[:cut] + b"\n" + good.replace(b"\n", b",\n", 1) + b"]\n")
    # Correlations: plain, with small limits (bit 3), with each correlation flag
    # (bits 6-7), a reset prefix (bit 2), and gzipped by the harness.
    for i, stream in enumerate(correlation_streams()):
        bound = (5, 9, 12, 16)[i % 4]
        write(outdir, "scanner", scanner_seed(0, i + 101, 16, stream))
        write(outdir, "scanner", scanner_seed(8, (i * 2654435761 + 7) & 0xFFFFFFFF, bound, stream))
        write(outdir, "scanner", scanner_seed(0x40 | (i & 1), i + 3, bound, stream))
        write(outdir, "scanner", scanner_seed(0x80 | 8, (i * 40503 + 11) & 0xFFFFFFFF, bound, stream))
        write(outdir, "scanner", scanner_seed(4 | 8, i * 7919 + 5, bound, stream))
        write(outdir, "scanner", scanner_seed(2 | 0x80, i + 17, bound, stream))
    # The fast paths: each stream under every ruleset the fast scans pick,
    # now and then gzipped by the harness (bit 1) or the fast scan chunked
    # (bit 5, chunks of at most 128 bytes).
    for i, stream in enumerate(fast_streams(shared)):
        for c, n in enumerate(fast_seed_numbers()):
            opts, bound = {7: (2, 16), 3: (32, 7)}.get((i + c) % 8, (0, 16))
            write(outdir, "scanner", scanner_seed(opts, n, bound, stream))
    if len(streams) >= 2:  # two gzip members back to back, as `cat a.gz b.gz`
        two = gzip.compress(streams[0]) + gzip.compress(streams[1])
        write(outdir, "scanner", scanner_seed(0, 5, 9, two))
    # Saved matches (fuzz_saved.c): each sample block whole, cut, and with
    # its words' bytes changed (opts odd: damage; byte 1 picks the block).
    for k in range(16):
        write(outdir, "saved", bytes([0xFF, k]))
        write(outdir, "saved", bytes([0x81, k]))
        write(outdir, "saved", bytes([0xFF, k, 0, 8 * (k % 9), 0x80, 0, 16 + k, 0xFF]))
    for target in ("rules", "condition", "render", "saved", "scanner", "walk", "frame"):
        n = len(list((outdir / target).glob("*"))) if (outdir / target).is_dir() else 0
        print(f"{target}: {n} seeds in {outdir / target}")


if __name__ == "__main__":
    main()
