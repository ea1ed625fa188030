#!/usr/bin/env bash
# Checks the container files where no container engine runs, after the build:
#  - compose.yaml parses, and holds the topology: PostgreSQL, three instances of this
#    image on it, and nginx with deploy/nginx/nginx.conf, the only address the instances
#    trust as a proxy;
#  - `nginx -t` passes on deploy/nginx/nginx.conf with compose's upstream and listen files
#    (its service names read as 127.0.0.1, which is all this machine can resolve);
#  - every COPY source of the Dockerfile exists: from the build context (and not left out
#    by .dockerignore), or from the build stage, whose /src is this tree after the build.
#    The build stage makes the release profile; CI builds the debug profile only, so
#    target/release/ is looked for in the debug build (the same files by the same names).
#    The site must hold both mining bundles.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d /tmp/ballotchain-deploy-XXXXXX)
trap 'rm -rf "$work"' EXIT
TARGET_DIR=$target_dir WORK=$work python3 - <<'PY'
import fnmatch, os, re, sys, yaml

def fail(why):
    sys.exit(f"check-deploy: {why}")

compose = yaml.safe_load(open("compose.yaml"))
services = compose["services"]
for name in ["postgres", "app1", "app2", "app3", "nginx"]:
    if name not in services:
        fail(f"compose.yaml has no service {name}")
nginx = services["nginx"]
proxy = nginx["networks"]["backend"]["ipv4_address"]
for name in ["app1", "app2", "app3"]:
    app = services[name]
    if app.get("build") != ".":
        fail(f"{name} is not built from this Dockerfile")
    url = app["environment"]["DATABASE_URL"]
    if not re.match(r"postgres://[^@]+@postgres/", url):
        fail(f"{name} does not use the postgres service: {url}")
    command = app["command"]
    if command[command.index("--trusted-proxy") + 1] != proxy:
        fail(f"{name} trusts another proxy than nginx ({proxy})")
    if app["depends_on"]["postgres"]["condition"] != "service_healthy":
        fail(f"{name} may start before PostgreSQL is ready")
mounts = [v.split(":") for v in nginx["volumes"]]
if ["./deploy/nginx/nginx.conf", "/etc/nginx/nginx.conf", "ro"] not in mounts:
    fail("nginx does not use deploy/nginx/nginx.conf")
work = os.environ["WORK"]
for config in nginx["configs"]:
    content = compose["configs"][config["source"]]["content"]
    for name in ["app1", "app2", "app3"]:
        content = content.replace(f"{name}:", "127.0.0.1:")
    with open(os.path.join(work, os.path.basename(config["target"])), "w") as f:
        f.write(content)
upstream = compose["configs"]["upstream"]["content"]
for name in ["app1", "app2", "app3"]:
    if f"server {name}:3000" not in upstream:
        fail(f"nginx's upstream misses {name}")

# The Dockerfile's COPY lines, continuation lines joined.
text = open("Dockerfile").read().replace("\\\n", " ")
ignored = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]

def left_out(path):
    out = False
    for pattern in ignored:
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts)))
        if hit:
            out = not keep
    return out

target_dir = os.environ["TARGET_DIR"]
copies = 0
for line in text.splitlines():
    words = line.split()
    if not words or words[0] != "COPY":
        continue
    args = [w for w in words[1:] if not w.startswith("--")]
    stage = next((w.split("=", 1)[1] for w in words[1:] if w.startswith("--from=")), None)
    for source in args[:-1]:
        if stage is None:
            if not os.path.exists(source):
                fail(f"COPY {source}: no such file in the build context")
            if left_out(source):
                fail(f"COPY {source}: .dockerignore leaves it out")
        else:
            if not source.startswith("/src/"):
                fail(f"COPY --from={stage} {source}: not from the build stage's tree")
            path = source[len("/src/"):]
            if path.startswith("target/release/"):
                path = os.path.join(target_dir, "debug", path[len("target/release/"):])
            if not os.path.exists(path):
                fail(f"COPY --from={stage} {source}: {path} does not exist after the build")
        copies += 1
for bundle in ["miner/miner_simd_bg.wasm", "miner/miner_scalar_bg.wasm", "miner/worker.js", "pkg/ballotchain.wasm"]:
    if not os.path.exists(os.path.join("target/site", bundle)):
        fail(f"the built site has no {bundle}")
print(f"check-deploy: compose.yaml holds the topology; {copies} COPY sources exist")
PY
ln -s "$PWD/deploy/nginx/nginx.conf" "$work/nginx.conf"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -t -q -p "$work" -c "$work/nginx.conf" -g "pid $work/nginx.pid;"
echo "check-deploy: nginx -t passes on deploy/nginx/nginx.conf with compose's upstream and listen"
