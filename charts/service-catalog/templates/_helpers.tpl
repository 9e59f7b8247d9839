{{/* Name of the chart, overridable. */}}
{{- define "service-catalog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: the release name, plus the chart name unless the
release name already contains it. */}}
{{- define "service-catalog.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "service-catalog.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "service-catalog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: service-catalog
{{- end }}

{{/* Selector of the manager pods. */}}
{{- define "service-catalog.managerSelector" -}}
app.kubernetes.io/name: {{ include "service-catalog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/* Selector of the sample broker pods. */}}
{{- define "service-catalog.sampleBrokerSelector" -}}
app.kubernetes.io/name: {{ include "service-catalog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: sample-broker
{{- end }}

{{- define "service-catalog.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "service-catalog.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name the existing ServiceAccount to use when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Service the API server sends admission requests to. */}}
{{- define "service-catalog.webhookService" -}}
{{- printf "%s-webhook" (include "service-catalog.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Secret holding the webhook serving certificate. */}}
{{- define "service-catalog.webhookSecret" -}}
{{- if .Values.certManager.enabled }}
{{- printf "%s-webhook-tls" (include "service-catalog.fullname" .) }}
{{- else }}
{{- required "webhook.tls.secretName: with certManager.enabled=false, create a kubernetes.io/tls Secret for the webhook Service and name it here (see the chart README)" .Values.webhook.tls.secretName }}
{{- end }}
{{- end }}

{{/* namespace/name of the webhook Certificate, for cert-manager.io/inject-ca-from. */}}
{{- define "service-catalog.certificateRef" -}}
{{- printf "%s/%s-webhook" .Release.Namespace (include "service-catalog.fullname" .) }}
{{- end }}

{{/* clientConfig of one webhook; the argument is a dict with the root context and the path. */}}
{{- define "service-catalog.clientConfig" -}}
{{- $root := .root -}}
clientConfig:
  service:
    name: {{ include "service-catalog.webhookService" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ .path }}
  {{- if not $root.Values.certManager.enabled }}
  caBundle: {{ required "webhook.tls.caBundle: with certManager.enabled=false, give the base64-encoded PEM CA that signed webhook.tls.secretName's certificate" $root.Values.webhook.tls.caBundle }}
  {{- end }}
{{- end }}

{{- define "service-catalog.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}
