{{/* Names, labels and the pieces every b24rules pod shares. */}}

{{- define "b24rules.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "b24rules.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "b24rules.selectorLabels" -}}
app.kubernetes.io/name: {{ include "b24rules.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "b24rules.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "b24rules.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: b24rules
{{- end }}

{{/* The pod that answers HTTP: `serve` in sqlite mode, `web` in postgresql mode. */}}
{{- define "b24rules.httpComponent" -}}
{{- if eq .Values.database.mode "sqlite" }}serve{{ else }}web{{ end }}
{{- end }}

{{- define "b24rules.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "b24rules.secretName" -}}
{{- default (include "b24rules.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "b24rules.rulesConfigMapName" -}}
{{- default (printf "%s-rules" (include "b24rules.fullname" .)) .Values.rules.existingConfigMap }}
{{- end }}

{{- define "b24rules.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "b24rules.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Rule files: filename -> content, from values or the chart's files/rules/. */}}
{{- define "b24rules.ruleFiles" -}}
{{- if .Values.rules.files }}
{{- toYaml .Values.rules.files }}
{{- else }}
{{- $files := dict }}
{{- range $path, $_ := .Files.Glob "files/rules/*.yaml" }}
{{- $_ := set $files (base $path) ($.Files.Get $path) }}
{{- end }}
{{- toYaml $files }}
{{- end }}
{{- end }}

{{/* A portal rule file's key in the flat <fullname>-portal-rules ConfigMap: <portal>--<filename>. */}}
{{- define "b24rules.portalRuleKey" -}}
{{- printf "%s--%s" (index . 0) (index . 1) }}
{{- end }}

{{/* Per-portal rule files as the ConfigMap's data: <portal>--<filename> -> content. */}}
{{- define "b24rules.portalRuleFiles" -}}
{{- $data := dict }}
{{- range $portal, $files := .Values.rules.portals }}
{{- range $name, $text := $files }}
{{- $_ := set $data (include "b24rules.portalRuleKey" (list $portal $name)) $text }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/*
Refuse shapes that cannot work. SQLite has one writer: a second pod (replica, HPA, separate worker)
would corrupt nothing only by luck, so the chart does not render it.
*/}}
{{- define "b24rules.validate" -}}
{{- if eq .Values.database.mode "sqlite" }}
{{- if or (gt (int .Values.web.replicas) 1) (gt (int .Values.worker.replicas) 1) }}
{{- fail "database.mode=sqlite runs exactly one pod: set web.replicas=1 and worker.replicas=1, or use database.mode=postgresql to scale" }}
{{- end }}
{{- if or .Values.web.autoscaling.enabled .Values.worker.autoscaling.enabled }}
{{- fail "database.mode=sqlite runs exactly one pod: autoscaling needs database.mode=postgresql" }}
{{- end }}
{{- end }}
{{- if and .Values.application.enabled (not .Values.application.clientId) }}
{{- fail "application.enabled needs application.clientId" }}
{{- end }}
{{- if and .Values.application.enabled (not .Values.existingSecret) (or (not .Values.application.clientSecret) (not .Values.application.encryptionKey)) }}
{{- fail "application.enabled needs application.clientSecret and application.encryptionKey, or existingSecret with B24_APP_CLIENT_SECRET and B24_ENCRYPTION_KEY" }}
{{- end }}
{{- if and .Values.application.enabled (eq .Values.application.delivery "online") (not .Values.application.publicUrl) }}
{{- fail "application.delivery=online needs application.publicUrl (the portals post events there)" }}
{{- end }}
{{- if and (eq .Values.database.mode "postgresql") (not .Values.existingSecret) (not .Values.database.postgresql.url) }}
{{- fail "database.mode=postgresql needs database.postgresql.url, or existingSecret with a B24_DATABASE_URL key" }}
{{- end }}
{{- end }}

{{/* Environment shared by every b24rules container. */}}
{{- define "b24rules.env" -}}
{{- if .Values.application.enabled }}
- name: B24_APP_CLIENT_ID
  value: {{ .Values.application.clientId | quote }}
- name: B24_APP_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: B24_APP_CLIENT_SECRET
- name: B24_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: B24_ENCRYPTION_KEY
- name: B24_PUBLIC_URL
  value: {{ .Values.application.publicUrl | quote }}
- name: B24_DELIVERY
  value: {{ .Values.application.delivery | quote }}
{{- with .Values.application.oauthUrl }}
- name: B24_OAUTH_URL
  value: {{ . | quote }}
{{- end }}
{{- else }}
- name: B24_WEBHOOK_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: B24_WEBHOOK_URL
- name: B24_APPLICATION_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: B24_APPLICATION_TOKEN
{{- end }}
{{- if .Values.bitrix24.memberId }}
- name: B24_MEMBER_ID
  value: {{ .Values.bitrix24.memberId | quote }}
{{- end }}
- name: B24_DATABASE_URL
{{- if eq .Values.database.mode "postgresql" }}
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: B24_DATABASE_URL
{{- else }}
  value: "sqlite:////var/lib/b24rules/b24rules.sqlite3"
{{- end }}
- name: B24_RULES_DIR
  value: /etc/b24rules/rules
- name: B24_DRY_RUN
  value: {{ .Values.settings.dryRun | quote }}
- name: B24_RATE_LIMIT
  value: {{ .Values.settings.rateLimit | quote }}
- name: B24_RATE_BURST
  value: {{ .Values.settings.rateBurst | quote }}
- name: B24_SWEEP_INTERVAL
  value: {{ .Values.settings.sweepInterval | quote }}
- name: B24_RESCAN_HOURS
  value: {{ .Values.settings.rescanHours | quote }}
{{- if not (kindIs "invalid" .Values.settings.maxDeletionsPerHour) }}
- name: B24_MAX_DELETIONS_PER_HOUR
  value: {{ .Values.settings.maxDeletionsPerHour | quote }}
{{- end }}
- name: B24_LOG_FORMAT
  value: {{ .Values.settings.logFormat | quote }}
- name: PORT
  value: {{ .Values.settings.port | quote }}
- name: PROMETHEUS_MULTIPROC_DIR
  value: {{ .Values.metrics.multiprocDir | quote }}
- name: SENTRY_DSN
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: SENTRY_DSN
      optional: true
{{- with .Values.sentry.environment }}
- name: SENTRY_ENVIRONMENT
  value: {{ . | quote }}
{{- end }}
- name: SENTRY_RELEASE
  value: {{ default (printf "b24rules@%s" (default .Chart.AppVersion .Values.image.tag)) .Values.sentry.release | quote }}
- name: SENTRY_TRACES_SAMPLE_RATE
  value: {{ .Values.sentry.tracesSampleRate | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod template annotations: secret checksum always, rules checksum on request. */}}
{{- define "b24rules.podAnnotations" -}}
{{- if not .Values.existingSecret }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- if and .Values.rules.rollOnChange (not .Values.rules.existingConfigMap) }}
checksum/rules: {{ print (include "b24rules.ruleFiles" .) (include "b24rules.portalRuleFiles" .) | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every pod (scheduling, identity, security). */}}
{{- define "b24rules.podSpecCommon" -}}
serviceAccountName: {{ include "b24rules.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Volume mounts of a b24rules container: rules, /tmp, metrics dir (+ data in sqlite mode). */}}
{{- define "b24rules.volumeMounts" -}}
- name: rules
  mountPath: /etc/b24rules/rules
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: {{ .Values.metrics.multiprocDir }}
{{- if eq .Values.database.mode "sqlite" }}
- name: data
  mountPath: /var/lib/b24rules
{{- end }}
{{- end }}

{{- define "b24rules.volumes" -}}
# Mounted as a directory (no subPath) so the kubelet's atomic ..data swap reaches the hot reloader.
# A projected volume: the shared files at the top, each portal's own files (rules.portals, one flat
# ConfigMap) placed at portals/<domain>/ by `items`, all swapped together in one ..data update.
- name: rules
  projected:
    sources:
      - configMap:
          name: {{ include "b24rules.rulesConfigMapName" . }}
      {{- if .Values.rules.portals }}
      - configMap:
          name: {{ include "b24rules.fullname" . }}-portal-rules
          items:
            {{- range $portal, $files := .Values.rules.portals }}
            {{- range $name, $_ := $files }}
            - key: {{ include "b24rules.portalRuleKey" (list $portal $name) | quote }}
              path: {{ printf "portals/%s/%s" $portal $name | quote }}
            {{- end }}
            {{- end }}
      {{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
- name: metrics
  emptyDir:
    sizeLimit: 64Mi
{{- if eq .Values.database.mode "sqlite" }}
- name: data
{{- if .Values.database.sqlite.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-data" (include "b24rules.fullname" .)) .Values.database.sqlite.persistence.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}
{{- end }}

{{/* The status page's settings, for the pods that answer HTTP only (the token is optional in the Secret:
without it the page stays off). */}}
{{- define "b24rules.uiEnv" -}}
- name: B24_UI_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "b24rules.secretName" . }}
      key: B24_UI_TOKEN
      optional: true
- name: B24_UI_COOKIE_SECURE
  value: {{ .Values.ui.cookieSecure | quote }}
{{- end }}
