{{/* Common labels and names. */}}
{{- define "kubestack.fullname" -}}
{{- if contains "kubestack" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-kubestack" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- define "kubestack.labels" -}}
app.kubernetes.io/name: kubestack
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "kubestack.selector" -}}
app.kubernetes.io/name: kubestack
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{- define "kubestack.image" -}}
{{ printf "%s/%s:%s" .root.Values.image.registry .name (default .root.Chart.AppVersion .root.Values.image.tag) }}
{{- end -}}
{{- define "kubestack.kinds" -}}
- virtualmachines
- virtualmachinedisks
- virtualmachinediskimages
- virtualmachinedisksnapshots
- virtualmachineimages
- virtualmachinenetworks
- virtualmachinepools
- virtualmachinesnapshots
{{- end -}}
{{- define "kubestack.kindStatus" -}}
- virtualmachines/status
- virtualmachinedisks/status
- virtualmachinediskimages/status
- virtualmachinedisksnapshots/status
- virtualmachineimages/status
- virtualmachinenetworks/status
- virtualmachinepools/status
- virtualmachinesnapshots/status
{{- end -}}
{{- define "kubestack.tracingEnv" -}}
{{- if .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.tracing.otlpEndpoint | quote }}
{{- end }}
{{- end -}}
