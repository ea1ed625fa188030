#!/usr/bin/env python3
"""The soak test's driver (run it through scripts/soak.sh, whose header says what it does).

Standard library only. Threads make the load; every process started here (servers, the
miner, `ballotchain vote`/`approve`/`codes`/`verify`) is killed on the way out, whatever the
way out (end, error, Ctrl-C, SIGTERM); on Linux they also die with this process if it is
itself killed.
"""

import collections
import csv
import ctypes
import http.client as httpclient
import json
import os
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BIN = os.environ.get("BALLOTCHAIN_BIN", "target/debug/ballotchain")
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
VOTE_RATE = float(os.environ.get("SOAK_VOTE_RATE", "5"))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", "10"))
DIFFICULTY = int(os.environ.get("SOAK_DIFFICULTY", "16"))
DRAIN_SECONDS = float(os.environ.get("SOAK_DRAIN_SECONDS", "60"))
MAX_GROWTH_PCT = float(os.environ.get("SOAK_MAX_GROWTH_PCT", "10"))
KEEP = bool(os.environ.get("SOAK_KEEP"))
WARM_UP = min(60.0, SECONDS / 10)
VOTERS = 2  # voter threads; together they cast VOTE_RATE votes a second
READERS = 2  # reader threads, each about five requests a second
RECEIPT = re.compile(r"[0-9a-f]{64}")


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- child processes

# Looked up once here, not in the forked child (where another thread may hold a lock).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL if this process dies without cleaning up.
    if _prctl is not None:
        _prctl(1, signal.SIGKILL, 0, 0, 0)


children = set()
children_lock = threading.Lock()


def spawn(args, **kw):
    p = subprocess.Popen(args, preexec_fn=_die_with_parent, **kw)
    with children_lock:
        children.add(p)
    return p


def reap(p):
    with children_lock:
        children.discard(p)


def kill_children():
    with children_lock:
        procs = list(children)
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def run(args, timeout=120):
    """Runs a CLI command to the end; (exit code or None on time-out, stdout, stderr)."""
    p = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err
    finally:
        reap(p)


# ---------------------------------------------------------------- shared state


class Soak:
    def __init__(self, work):
        self.work = work
        self.lock = threading.Lock()
        self.base = None  # http://127.0.0.1:PORT of the running server
        self.server = None  # its Popen
        self.up = threading.Event()  # set while a server listens
        self.load_stop = threading.Event()  # stops voters, readers, abuse
        self.chain_stop = threading.Event()  # stops the miner and the validators
        self.started = time.monotonic()
        self.outage = []  # (from, to) monotonic times the server was down, around the kill
        self.election = None
        self.candidates = []
        self.counts = collections.Counter()  # (kind, status) -> n
        self.server_errors = collections.Counter()  # (kind, status) for 5xx
        self.conn_errors = collections.Counter()  # kind -> connection errors outside the restart
        self.unexpected = []  # first few odd answers, for the report
        self.acked = []  # (receipt, candidate_id, t)
        self.acked_file = open(os.path.join(work, "acked-votes.txt"), "a", buffering=1)
        self.stored_unanswered = 0  # retries of an unanswered vote that found it stored
        self.decoys = []  # another election's codes: unknown here
        self.miner_restarts = 0
        self.approvals = collections.Counter()

    def t(self):
        return time.monotonic() - self.started

    def in_outage(self, at):
        # From a second before the kill to two seconds after the restart listens.
        return not self.up.is_set() or any(
            a - 1 <= at <= (b if b is not None else float("inf")) + 2 for a, b in self.outage)

    def note(self, kind, status, body=b"", path=""):
        with self.lock:
            self.counts[(kind, status)] += 1
            if status is None:
                if not self.in_outage(time.monotonic()):
                    self.conn_errors[kind] += 1
            elif status >= 500:
                self.server_errors[(kind, status)] += 1
                if len(self.unexpected) < 20:
                    self.unexpected.append(f"{kind} {path}: {status} {body[:200]!r}")

    def odd(self, text):
        with self.lock:
            if len(self.unexpected) < 20:
                self.unexpected.append(text)

    def ack(self, receipt, candidate):
        with self.lock:
            self.acked.append((receipt, candidate, self.t()))
            self.acked_file.write(f"{receipt} {candidate} {self.t():.1f}\n")


S = None  # the Soak


def http(method, path, body=None, content_type="application/json", headers=None, timeout=20):
    """One request to the current server: (status or None, body bytes, headers)."""
    base = S.base
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if method == "POST":
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
    except (OSError, httpclient.HTTPException) as e:  # refused, reset, time-out: no answer
        return None, str(e).encode(), None


def json_of(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


# ---------------------------------------------------------------- the server


def start_server(addr, demo):
    """Starts `serve` on `addr`; returns once it listens, or None if it exits first."""
    db = os.path.join(S.work, "soak.db")
    args = [BIN, "serve", "--db", db, "--addr", addr]
    if demo:
        args += ["--demo", "--demo-codes", os.path.join(S.work, "demo-voter-codes.csv")]
    n = sum(1 for f in os.listdir(S.work) if f.startswith("server-"))
    stderr = open(os.path.join(S.work, f"server-{n + 1}.log"), "w")
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    p = spawn(args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    lines = queue.Queue()

    def drain():
        for line in p.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    startup = []
    deadline = time.monotonic() + 180  # start-up re-verifies every chain
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            p.wait()
            reap(p)
            return None, startup
        m = re.match(r"ballotchain listening on (\S+)", line)
        if m:
            S.server = p
            S.base = m.group(1).rstrip("/")
            S.up.set()
            return p, startup
        startup.append(line.rstrip("\n"))
    p.kill()
    return None, startup


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def kill_and_restart():
    port = S.base.rsplit(":", 1)[1]
    old = S.server
    down = time.monotonic()
    S.up.clear()
    S.outage.append((down, None))
    os.kill(old.pid, signal.SIGKILL)
    old.wait()
    reap(old)
    log(f"t={S.t():.0f}s server {old.pid} killed with SIGKILL; restarting on the same database")
    p, startup = start_server(f"127.0.0.1:{port}", demo=False)
    if p is None:
        log(f"  port {port} not free again ({' / '.join(startup[-2:])}); using a new port")
        p, startup = start_server("127.0.0.1:0", demo=False)
    if p is None:
        raise SystemExit("soak: the server did not start again: " + " / ".join(startup))
    S.outage[-1] = (down, time.monotonic())
    log(f"t={S.t():.0f}s server {p.pid} listening on {S.base} after {time.monotonic() - down:.1f} s")


# ---------------------------------------------------------------- set-up


def set_up():
    """An election of the soak's own: candidates, a roll for the whole run, the demo's
    validators, open. Returns the voters' codes."""
    p, startup = start_server("127.0.0.1:0", demo=True)
    if p is None:
        raise SystemExit("soak: the server did not start: " + " / ".join(startup))
    text = "\n".join(startup)
    password = re.search(r"admin / (\S+)", text).group(1)
    with open(os.path.join(S.work, "demo-voter-codes.csv")) as f:
        S.decoys = [row["code"] for row in csv.DictReader(f)]

    status, body, headers = http("POST", "/api/session", {"username": "admin", "password": password})
    if status != 200:
        raise SystemExit(f"soak: admin sign-in: {status} {body!r}")
    cookie = "; ".join(c.split(";")[0] for c in headers.get_all("Set-Cookie"))

    def call(path, body=None, expected=201, content_type="application/json"):
        status, answer, _ = http("POST", path, {} if body is None else body, content_type, {"Cookie": cookie})
        if status != expected:
            raise SystemExit(f"soak: POST {path}: {status} {answer[:300]!r}")
        return json_of(answer)

    election = call("/api/elections", {"title": "Soak election", "difficulty_bits": DIFFICULTY, "quorum": 2})
    S.election = election["id"]
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        S.candidates.append(call(f"/api/elections/{S.election}/candidates", {"name": name})["id"])
    count = int(VOTE_RATE * SECONDS * 1.2) + 100
    roll, codes_sheet, keys = (os.path.join(S.work, f) for f in ("roll.csv", "codes.csv", "keys.csv"))
    with open(roll, "w") as f:
        f.write("name,external_id\n" + "".join(f"Soak voter {i},S{i:06}\n" for i in range(count)))
    code, out, err = run([BIN, "codes", "--roll", roll, "--election", str(S.election), "--out", codes_sheet, "--keys", keys])
    if code != 0:
        raise SystemExit(f"soak: ballotchain codes: {err}")
    with open(keys, "rb") as f:
        call(f"/api/elections/{S.election}/voters", f.read(), content_type="text/csv")
    for v in ("validator1", "validator2", "validator3"):
        call(f"/api/elections/{S.election}/validators", {"username": v})
    call(f"/api/elections/{S.election}/open", expected=200)
    with open(codes_sheet) as f:
        codes = [row["code"] for row in csv.DictReader(f)]
    log(f"election {S.election} open on {S.base}: {len(codes)} voters, 3 candidates, "
        f"3 validators (quorum 2), difficulty {DIFFICULTY} bits")
    # The load runs on a server started on the database the set-up left, like the one after
    # the kill: both measured processes then start alike (the set-up's own memory, the
    # demo's and the admin's argon2 hashes and the roll import, is not in the figures).
    port = S.base.rsplit(":", 1)[1]
    S.up.clear()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        log("soak: the set-up server did not stop on SIGTERM within 30 s; killing it")
        p.kill()
        p.wait()
    reap(p)
    p, startup = start_server(f"127.0.0.1:{port}", demo=False)
    if p is None:
        p, startup = start_server("127.0.0.1:0", demo=False)
    if p is None:
        raise SystemExit("soak: the server did not start again: " + " / ".join(startup))
    log(f"set-up server stopped (SIGTERM); the load runs on server {p.pid} at {S.base}")
    return codes


# ---------------------------------------------------------------- the load


def pause(seconds):
    """Sleeps, and says whether the load is to go on."""
    return not S.load_stop.wait(seconds)


def voter(n, codes, code_file):
    interval = VOTERS / VOTE_RATE
    while pause(interval * random.uniform(0.5, 1.5)):
        if not S.up.wait(1):
            continue
        try:
            code, retried = codes.popleft()
        except IndexError:
            S.odd(f"voter {n}: the roll is used up")
            return
        candidate = random.choice(S.candidates)
        e = S.election
        if random.random() < 0.1:
            kind = "vote (cli)"
            with open(code_file, "w") as f:
                f.write(code + "\n")
            rc, out, err = run([BIN, "vote", "--server", S.base, "--election", str(e), "--code-file", code_file,
                                "--candidate", str(candidate)], timeout=60)
            m = RECEIPT.search(out) if rc == 0 else None
            status = 202 if m else None if "reach the server" in err or rc is None else \
                409 if "already_voted" in err else 429 if "rate_limited" in err else 400
            receipt = m.group(0) if m else None
            body = (out + err).encode()
        else:
            kind = "vote (api)"
            status, body, _ = http("POST", f"/api/elections/{e}/votes", {"code": code, "candidate_id": candidate})
            receipt = (json_of(body) or {}).get("receipt") if status == 202 else None
        S.note(kind, status, body, f"/api/elections/{e}/votes")
        if status == 202 and receipt and RECEIPT.fullmatch(receipt):
            S.ack(receipt, candidate)
            if random.random() < 0.05:  # the same voter again: must be refused
                again, body, _ = http("POST", f"/api/elections/{e}/votes",
                                      {"code": code, "candidate_id": random.choice(S.candidates)})
                S.note("vote again", again, body)
                if again not in (409, None):
                    S.odd(f"a second vote with a used code got {again}: {body[:200]!r}")
        elif status == 409 and retried:
            with S.lock:
                S.stored_unanswered += 1  # its first try was stored, but the answer was lost
        elif status is None or status == 429 or status >= 500:
            codes.appendleft((code, True))  # try this voter again
        else:
            S.odd(f"{kind}: {status} {body[:200]!r}")


def reader(n):
    e = S.election
    pages = ["/", f"/e/{e}", f"/e/{e}/chain", f"/e/{e}/mine", "/login", f"/e/{e}/block/{{height}}",
             f"/e/{e}/receipt/{{receipt}}"]
    api = ["/api/elections", f"/api/elections/{e}", f"/api/elections/{e}/tally", f"/api/elections/{e}/blocks",
           f"/api/elections/{e}/blocks?status=awaiting", f"/api/elections/{e}/blocks/{{height}}",
           f"/api/elections/{e}/receipts/{{receipt}}"]
    height = 0  # as last read; blocks are 1 to height (0 is the genesis, not a block here)
    while pause(random.uniform(0.1, 0.3)):
        if not S.up.is_set():
            continue
        kind = "page" if random.random() < 0.5 else "api read"
        path = random.choice(pages if kind == "page" else api)
        with S.lock:
            receipt = random.choice(S.acked)[0] if S.acked else None
        if ("{receipt}" in path and receipt is None) or ("{height}" in path and height < 1):
            continue
        path = path.format(height=random.randint(1, max(1, height)), receipt=receipt)
        status, body, _ = http("GET", path)
        S.note(kind, status, body, path)
        if status == 200 and path == f"/api/elections/{e}":
            height = (json_of(body) or {}).get("height") or 0
        elif status not in (200, None):
            S.odd(f"{kind} {path}: {status} {body[:200]!r}")


def work_poller():
    """A browser miner's page: the template every second with If-None-Match, the export every
    five seconds."""
    e, etag, tick = S.election, None, 0
    while pause(1):
        if not S.up.is_set():
            continue
        status, body, headers = http("GET", f"/api/elections/{e}/work", headers={"If-None-Match": etag} if etag else {})
        S.note("work", status, body)
        if status == 200:
            etag = headers.get("ETag")
        elif status not in (304, 409, None):
            S.odd(f"work: {status} {body[:200]!r}")
        tick += 1
        if tick % 5 == 0:
            status, body, _ = http("GET", f"/api/elections/{e}/export", timeout=60)
            S.note("export", status, body)
            if status == 200 and json_of(body) is None:
                S.odd("export: not JSON")


def abuse():
    """Failed sign-ins (401, then 429 past 10 a minute) and unknown codes (403)."""
    tick = 0
    while pause(4):
        if not S.up.is_set():
            continue
        status, body, _ = http("POST", "/api/session", {"username": "admin", "password": "not the password!"})
        S.note("failed sign-in", status, body)
        if status not in (401, 429, None):
            S.odd(f"failed sign-in: {status} {body[:200]!r}")
        tick += 1
        if tick % 3 == 0:
            status, body, _ = http("POST", f"/api/elections/{S.election}/votes",
                                   {"code": random.choice(S.decoys), "candidate_id": S.candidates[0]})
            S.note("unknown code", status, body)
            if status not in (403, None):
                S.odd(f"unknown code: {status} {body[:200]!r}")


def miner():
    out = open(os.path.join(S.work, "miner.log"), "a")
    while not S.chain_stop.is_set():
        if not S.up.wait(1):
            continue
        p = spawn([BIN, "mine", "--server", S.base, "--election", str(S.election), "--threads", "1", "--tag", "soak"],
                  stdout=out, stderr=subprocess.STDOUT)
        while p.poll() is None and not S.chain_stop.wait(0.5):
            pass
        if p.poll() is None:
            p.kill()
            p.wait()
        reap(p)
        if not S.chain_stop.is_set():
            with S.lock:
                S.miner_restarts += 1
            S.chain_stop.wait(1)


def validators():
    """Two of the three validators (in turn) approve the awaiting block with the most votes."""
    keys = [os.path.join(S.work, f"demo-validator{i}.key") for i in (1, 2, 3)]
    passphrase = os.path.join(S.work, "demo-validator-passphrase.txt")
    turn = 0
    while not S.chain_stop.wait(0.3):
        if not S.up.is_set():
            continue
        status, body, _ = http("GET", f"/api/elections/{S.election}/blocks?status=awaiting")
        S.note("awaiting", status, body)
        blocks = json_of(body) if status == 200 else None
        if not blocks:
            continue
        block = max(blocks, key=lambda b: (b["index"], b["votes"], b["submitted_at"]))
        turn += 1
        for key in (keys[turn % 3], keys[(turn + 1) % 3]):
            rc, out, err = run([BIN, "approve", "--server", S.base, "--election", str(S.election),
                                "--block", block["hash"], "--key", key, "--passphrase-file", passphrase])
            what = "approved" if rc == 0 else "unreachable" if "reach the server" in err else \
                "refused 409" if "(409" in err else "failed"
            with S.lock:
                S.approvals[what] += 1
            if what == "failed":
                S.odd(f"approve {block['hash'][:12]}: {rc} {err.strip()[:300]}")
            if rc != 0:
                break


# ---------------------------------------------------------------- figures


def detail():
    status, body, _ = http("GET", f"/api/elections/{S.election}")
    return json_of(body) if status == 200 else None


def sample(samples):
    pid = S.server.pid
    rss = rss_mib(pid)
    d = detail() or {}
    with S.lock:
        acked = len(S.acked)
    if rss is not None:
        samples.append((S.t(), rss, pid))
    shown = f"{rss:.1f}" if rss is not None else "?"
    log(f"t={S.t():.0f}s rss={shown}MiB votes_acked={acked} blocks_appended={d.get('height', '?')} "
        f"pending={d.get('pending_votes', '?')} awaiting={d.get('awaiting_blocks', '?')}")


def memory_report(samples):
    """Prints the memory summary; says whether it stayed flat."""
    warm = [(t, r) for t, r, _ in samples if t >= WARM_UP]
    if len(warm) < 2:
        log("memory: too few samples after warm-up to judge")
        return True
    rss = [r for _, r in warm]
    log(f"memory after warm-up ({WARM_UP:.0f} s): first {rss[0]:.1f} MiB, max {max(rss):.1f} MiB, "
        f"last {rss[-1]:.1f} MiB ({len(rss)} samples)")
    quarters = []
    for q in range(4):
        part = [r for t, r in warm if min(3, int(4 * t / SECONDS)) == q]
        quarters.append(statistics.median(part) if part else None)
    log("memory quarter medians: " + ", ".join(f"q{i + 1} {m:.1f}" if m else f"q{i + 1} -" for i, m in enumerate(quarters))
        + " MiB (the kill is between q2 and q3)")
    for pid in dict.fromkeys(p for _, _, p in samples):
        mine = [r for t, r, p in samples if p == pid]
        log(f"  server {pid}: {len(mine)} samples, first {mine[0]:.1f}, max {max(mine):.1f}, last {mine[-1]:.1f} MiB")
    q2, q4 = quarters[1], quarters[3]
    if not q2 or not q4:
        log("memory growth: not enough samples in the second and last quarters")
        return True
    growth = q4 - q2
    pct = 100 * growth / q2
    flat = pct <= MAX_GROWTH_PCT
    log(f"memory growth, second to last quarter median: {growth:+.1f} MiB ({pct:+.1f}%) -> "
        + ("flat" if flat else f"GROWING (more than {MAX_GROWTH_PCT:g}%)"))
    return flat


def check_receipts():
    """Looks every acknowledged receipt up; returns (lost, statuses)."""
    statuses = collections.Counter()
    lost = []
    for receipt, candidate, _ in S.acked:
        for attempt in range(5):
            status, body, _ = http("GET", f"/api/elections/{S.election}/receipts/{receipt}")
            if status is not None and status < 500:
                break
            time.sleep(1)
        report = json_of(body) if status == 200 else None
        if status == 404:
            statuses["not found"] += 1
            lost.append(receipt)
        elif report is None:
            statuses[f"unchecked ({status})"] += 1
            lost.append(receipt)
        elif report.get("candidate_id") != candidate:
            statuses["another candidate"] += 1
            lost.append(receipt)
        else:
            statuses[report.get("status")] += 1
    return lost, statuses


def server_log_problems():
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    found = []
    for f in sorted(os.listdir(S.work)):
        if f.startswith("server-"):
            with open(os.path.join(S.work, f), errors="replace") as lines:
                for line in lines:
                    line = ansi.sub("", line)
                    if " ERROR " in line or "panicked" in line:
                        found.append(f"{f}: {line.strip()[:300]}")
    return found


# ---------------------------------------------------------------- the run


def main():
    global S, BIN
    work = tempfile.mkdtemp(prefix="ballotchain-soak-")
    S = Soak(work)
    # This run's own link to the binary (a copy across file systems): a rebuild replaces
    # the file at BIN, not the one the run started with.
    own = os.path.join(work, "ballotchain")
    try:
        os.link(BIN, own)
    except OSError:
        shutil.copy2(BIN, own)
    shown, BIN = BIN, own
    ok = False

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        log(f"soak: {SECONDS:.0f} s of load with {shown}, kill -9 at {SECONDS / 2:.0f} s; files in {work}")
        codes = collections.deque((c, False) for c in set_up())
        S.started = time.monotonic()
        code_files = [os.path.join(work, f"code-{n}.txt") for n in range(VOTERS)]
        load = [threading.Thread(target=voter, args=(n, codes, code_files[n]), daemon=True) for n in range(VOTERS)]
        load += [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(READERS)]
        load += [threading.Thread(target=work_poller, daemon=True), threading.Thread(target=abuse, daemon=True)]
        chain = [threading.Thread(target=miner, daemon=True), threading.Thread(target=validators, daemon=True)]
        for t in load + chain:
            t.start()

        samples, killed = [], False
        next_sample = 0.0
        while S.t() < SECONDS:
            if not killed and S.t() >= SECONDS / 2:
                kill_and_restart()
                killed = True
            if S.t() >= next_sample:
                sample(samples)
                next_sample = max(next_sample + SAMPLE_SECONDS, S.t())
            time.sleep(0.2)
        sample(samples)
        S.load_stop.set()
        for t in load:
            t.join(timeout=90)
        log(f"t={S.t():.0f}s load stopped; up to {DRAIN_SECONDS:.0f} s for the pending votes to be appended")
        drain_end = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < drain_end:
            d = detail() or {}
            if d.get("pending_votes") == 0 and d.get("awaiting_blocks") == 0:
                break
            time.sleep(1)
        S.chain_stop.set()
        for t in chain:
            t.join(timeout=60)
        d = detail() or {}
        log(f"t={S.t():.0f}s chain: height {d.get('height')}, votes {d.get('votes')}, "
            f"pending {d.get('pending_votes')}, awaiting {d.get('awaiting_blocks')}")

        lost, statuses = check_receipts()
        log("")
        log("answers by kind (status x count; 'none' = no answer, mostly during the restart):")
        for kind in sorted({k for k, _ in S.counts}):
            by = sorted((str(s).lower(), n) for (k, s), n in S.counts.items() if k == kind)
            log(f"  {kind}: " + ", ".join(f"{s} x{n}" for s, n in by))
        log(f"miner restarts: {S.miner_restarts}; approvals: {dict(S.approvals)}")
        log(f"5xx answers: {sum(S.server_errors.values())} {dict(S.server_errors) or ''}")
        log(f"connection errors outside the restart: {sum(S.conn_errors.values())} {dict(S.conn_errors) or ''}")
        for line in S.unexpected:
            log(f"  unexpected: {line}")
        problems = server_log_problems()
        log(f"server log ERROR/panic lines: {len(problems)}")
        for line in problems[:10]:
            log(f"  {line}")
        rc, out, err = run([BIN, "verify", f"{S.base}/api/elections/{S.election}/export"], timeout=300)
        verified = rc == 0
        first = (out + err).strip().splitlines()[:1]
        log(f"ballotchain verify of the export: {'ok' if verified else f'FAILED ({rc})'}: {first[0] if first else ''}")
        log(f"acknowledged votes: {len(S.acked)}; their receipts now: {dict(statuses)}; "
            f"votes stored whose answer was lost (409 on retry): {S.stored_unanswered}; "
            f"votes the node counts: {d.get('votes')}")
        flat = memory_report(samples)
        log(f"acknowledged votes lost: {len(lost)}")
        for r in lost[:10]:
            log(f"  lost: {r}")
        ok = not lost and flat and verified and not problems and not S.server_errors
        log("soak: " + ("PASSED" if ok else "FAILED"))
    except KeyboardInterrupt as e:
        log(f"soak: interrupted ({e or 'Ctrl-C'})")
    finally:
        S.load_stop.set()
        S.chain_stop.set()
        kill_children()
        if ok and not KEEP:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"soak: logs, database and acknowledged votes kept in {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
