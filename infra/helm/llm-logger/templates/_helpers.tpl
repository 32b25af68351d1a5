{{/* Labels every llm-logger object carries. */}}
{{- define "llm-logger.labels" -}}
app.kubernetes.io/part-of: llm-logger
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* A role's labels: name llm-logger-<role>, component <role>. Call with (dict "root" $ "role" "gateway"). */}}
{{- define "llm-logger.roleLabels" -}}
app.kubernetes.io/name: llm-logger-{{ .role }}
app.kubernetes.io/component: {{ .role }}
{{ include "llm-logger.labels" .root }}
{{- end }}

{{- define "llm-logger.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}

{{/* The URL of the search cluster: the one given, or ECK's Service. */}}
{{- define "llm-logger.searchUrl" -}}
{{- if .Values.search.url }}{{ .Values.search.url }}{{ else }}https://{{ .Values.kafka.cluster }}-es-http:9200{{ end }}
{{- end }}

{{/* The Secret holding the search cluster's CA, or "" (ECK's when ECK runs it). */}}
{{- define "llm-logger.searchCaSecret" -}}
{{- if .Values.search.caSecret }}{{ .Values.search.caSecret }}{{ else if and .Values.search.eck.enabled (not .Values.search.url) }}{{ .Values.kafka.cluster }}-es-http-certs-public{{ end }}
{{- end }}

{{/*
The pod spec every role shares: service account, security, the container with its common
environment (Kafka over TLS + SCRAM as the role's Strimzi user, the registry, graceful
shutdown), probes on the role's port, volumes. Call with
(dict "root" $ "role" "indexer" "port" 9464 "graceSeconds" 30 "env" (list ...) "mounts" (list ...) "volumes" (list ...) "resources" ... "dataVolume" true|false)
*/}}
{{- define "llm-logger.podSpec" -}}
{{- $v := .root.Values -}}
serviceAccountName: llm-logger-{{ .role }}
automountServiceAccountToken: false
# preStop sleep (5 s) + LLM_LOGGER_SHUTDOWN_GRACE_MS + 10 s to flush the log.
terminationGracePeriodSeconds: {{ add 15 .graceSeconds }}
securityContext:
  runAsNonRoot: true
  runAsUser: 1000
  runAsGroup: 1000
  fsGroup: 1000
  seccompProfile:
    type: RuntimeDefault
{{- if .spread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector: { matchLabels: { app.kubernetes.io/name: llm-logger-{{ .role }} } }
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector: { matchLabels: { app.kubernetes.io/name: llm-logger-{{ .role }} } }
{{- end }}
containers:
  - name: llm-logger
    image: {{ include "llm-logger.image" .root }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args: [{{ .role }}]
    ports:
      - { name: http, containerPort: {{ .port }} }
      {{- if eq .role "console" }}
      # /metrics for Prometheus without a console identity (the console port wants one).
      - { name: metrics, containerPort: 9464 }
      {{- end }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
    env:
      - name: LLM_LOGGER_CONFIG
        value: /etc/llm-logger/config.yaml
      - name: LLM_LOGGER_DATA_DIR
        value: /data
      - name: LLM_LOGGER_INSTANCE
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
      - name: LLM_LOGGER_SHUTDOWN_GRACE_MS
        value: {{ mul .graceSeconds 1000 | quote }}
      - name: LLM_LOGGER_KAFKA_BROKERS
        value: {{ $v.kafka.cluster }}-kafka-bootstrap:9093
      - name: LLM_LOGGER_KAFKA_TLS
        value: "true"
      - name: LLM_LOGGER_KAFKA_TLS_CA_FILE
        value: /etc/llm-logger/kafka-ca/ca.crt
      - name: LLM_LOGGER_KAFKA_SASL_MECHANISM
        value: scram-sha-512
      - name: LLM_LOGGER_KAFKA_SASL_USERNAME
        value: llm-logger-{{ .role }}
      - name: LLM_LOGGER_KAFKA_SASL_PASSWORD
        valueFrom:
          secretKeyRef: { name: llm-logger-{{ .role }}, key: password }
      - name: LLM_LOGGER_SCHEMA_REGISTRY_URL
        value: http://llm-logger-schema-registry:8080/apis/ccompat/v7
      {{- with .env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    # Endpoints are removed while the pod gets SIGTERM: keep serving for a moment so no new
    # call lands on a pod that already got SIGTERM.
    lifecycle:
      preStop:
        sleep:
          seconds: 5
    startupProbe:
      httpGet: { path: /healthz, port: http }
      periodSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet: { path: /healthz, port: http }
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet: { path: /readyz, port: http }
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 2
    resources:
      {{- toYaml .resources | nindent 6 }}
    volumeMounts:
      - name: data
        mountPath: /data
      - name: tmp
        mountPath: /tmp
      - name: config
        mountPath: /etc/llm-logger/config.yaml
        subPath: config.yaml
        readOnly: true
      - name: kafka-ca
        mountPath: /etc/llm-logger/kafka-ca
        readOnly: true
      {{- with .mounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  {{- if .dataVolume }}
  - name: data
    emptyDir:
      sizeLimit: {{ .dataSize | default "1Gi" }}
  {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  - name: config
    configMap:
      name: llm-logger-config
  # The cluster CA Strimzi generates for the Kafka cluster.
  - name: kafka-ca
    secret:
      secretName: {{ $v.kafka.cluster }}-cluster-ca-cert
      items:
        - key: ca.crt
          path: ca.crt
  {{- with .volumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* The search settings of the indexer (write key) or the console (read key), and the CA mount. */}}
{{- define "llm-logger.searchEnv" -}}
{{- $v := .root.Values -}}
- name: LLM_LOGGER_ELASTICSEARCH_URL
  value: {{ include "llm-logger.searchUrl" .root }}
- name: LLM_LOGGER_ELASTICSEARCH_API_KEY
  valueFrom:
    secretKeyRef: { name: {{ .secret }}, key: api-key }
- name: LLM_LOGGER_ELASTICSEARCH_INDEX_PREFIX
  value: {{ $v.search.indexPrefix }}
{{- if include "llm-logger.searchCaSecret" .root }}
- name: NODE_EXTRA_CA_CERTS
  value: /etc/llm-logger/elasticsearch-ca/ca.crt
{{- end }}
{{- end }}

{{- define "llm-logger.searchCaMount" -}}
{{- if include "llm-logger.searchCaSecret" . }}
- name: elasticsearch-ca
  mountPath: /etc/llm-logger/elasticsearch-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "llm-logger.searchCaVolume" -}}
{{- with include "llm-logger.searchCaSecret" . }}
- name: elasticsearch-ca
  secret:
    secretName: {{ . }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}
