{{- define "bit-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bit-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bit-operator.labels" -}}
app.kubernetes.io/name: {{ include "bit-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bit-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bit-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bit-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bit-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- /* The scrape job the operator's series carry: the metrics Service's name, as a ServiceMonitor names its job. */ -}}
{{- define "bit-operator.operatorSelector" -}}
{{- default (printf "job=\"%s-metrics\"" (include "bit-operator.fullname" .)) .Values.prometheusRule.operatorSelector -}}
{{- end -}}

{{- define "bit-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- /* Not the operator's selector labels plus one: the operator's Deployment, Service and PDB must not select these pods. */ -}}
{{- define "bit-operator.tensorboardSelectorLabels" -}}
app.kubernetes.io/name: bit-tensorboard
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
