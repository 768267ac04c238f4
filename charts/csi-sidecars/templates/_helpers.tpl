{{- define "csi-sidecars.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "csi-sidecars.fullname" -}}
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

{{- define "csi-sidecars.selectorLabels" -}}
app.kubernetes.io/name: {{ include "csi-sidecars.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "csi-sidecars.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "csi-sidecars.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "csi-sidecars.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "csi-sidecars.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- /* Name of a cluster-scoped or per-sidecar object: <fullname>-<suffix>, within 63 characters. */ -}}
{{- define "csi-sidecars.objectName" -}}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "csi-sidecars.fullname" (index . 0) | trunc (int (sub 62 (len $suffix)))) $suffix | trimSuffix "-" }}
{{- end }}

{{- /* repository[:tag][@digest] of an image block; the tag defaults to the chart's appVersion. */ -}}
{{- define "csi-sidecars.imageRef" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- $ref := $image.repository }}
{{- $tag := default $root.Chart.AppVersion $image.tag }}
{{- if $tag }}{{ $ref = printf "%s:%s" $ref $tag }}{{ end }}
{{- if $image.digest }}{{ $ref = printf "%s@%s" $ref $image.digest }}{{ end }}
{{- $ref }}
{{- end }}

{{- /* The enabled sidecars, in a fixed order, as a JSON list of names. */ -}}
{{- define "csi-sidecars.enabled" -}}
{{- $names := list }}
{{- range $name := list "provisioner" "attacher" "resizer" }}
{{- if (index $.Values $name).enabled }}{{ $names = append $names $name }}{{ end }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{- /*
The command-line arguments for a sidecar's flags values: every flag whose value prints
differently from the Go default, in the order of the generated table (templates/_flags.tpl).
*/ -}}
{{- define "csi-sidecars.flagArgs" -}}
{{- $name := index . 0 }}
{{- $flags := index . 1 | default dict }}
{{- range $row := include (printf "csi-sidecars.flagTable.%s" $name) . | fromJsonArray }}
{{- if hasKey $flags $row.key }}
{{- $v := index $flags $row.key }}
{{- if not (kindIs "invalid" $v) }}
{{- $s := "" }}
{{- if eq $row.kind "int" }}
{{- $s = $v | int64 | toString }}
{{- else if and (eq $row.kind "float") (eq (float64 $v) (floor $v)) }}
{{- /* Whole numbers as integers: 1000000, not 1e+06. */}}
{{- $s = $v | int64 | toString }}
{{- else if eq $row.kind "map" }}
{{- $parts := list }}
{{- range $k := keys $v | sortAlpha }}
{{- $parts = append $parts (printf "%s%s%v" $k $row.sep (index $v $k)) }}
{{- end }}
{{- $s = join "," $parts }}
{{- else }}
{{- $s = toString $v }}
{{- end }}
{{- if ne $s $row.default }}
- {{ printf "--%s=%s" $row.flag $s | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- /* The namespace of a sidecar's leader-election Lease (and so of its leases Role). */ -}}
{{- define "csi-sidecars.leaseNamespace" -}}
{{- $root := index . 0 }}
{{- $flags := (index $root.Values (index . 1)).flags | default dict }}
{{- default $root.Release.Namespace $flags.leaderElectionNamespace }}
{{- end }}

{{- /* A sidecar container. Argument: list root name binary. */ -}}
{{- define "csi-sidecars.sidecarContainer" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $v := index $root.Values $name }}
{{- $program := printf "csi-%s" $name }}
{{- $flags := $v.flags | default dict }}
- name: {{ $program }}
  {{- if $root.Values.allInOneImage.enabled }}
  image: {{ include "csi-sidecars.imageRef" (list $root.Values.allInOneImage $root) | quote }}
  imagePullPolicy: {{ $root.Values.allInOneImage.pullPolicy }}
  command:
    - /nodejs/bin/node
    - {{ printf "/app/packages/%s/dist/cmd/%s.js" $name $program | quote }}
  {{- else }}
  image: {{ include "csi-sidecars.imageRef" (list $v.image $root) | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- end }}
  args:
    - "--csi-address=/csi/csi.sock"
    - {{ printf "--http-endpoint=:%d" (int $v.httpPort) | quote }}
    {{- if $root.Values.leaderElection.enabled }}
    - "--leader-election"
    {{- end }}
    {{- with include "csi-sidecars.flagArgs" (list $name $flags) | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- range $v.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  env:
    # Lease namespace when --leader-election-namespace is empty.
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    {{- if eq $name "provisioner" }}
    # --enable-capacity: where CSIStorageCapacity objects go and which pod owns them.
    - name: NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    # --node-deployment: this node.
    - name: NODE_NAME
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: {{ $name }}
      containerPort: {{ $v.httpPort }}
      protocol: TCP
  {{- if $v.livenessProbe.enabled }}
  livenessProbe:
    httpGet:
      # /healthz/leader-election fails when this replica leads but could not renew its Lease.
      path: {{ ternary "/healthz/leader-election" "/healthz" $root.Values.leaderElection.enabled }}
      port: {{ $name }}
    initialDelaySeconds: {{ $v.livenessProbe.initialDelaySeconds }}
    periodSeconds: {{ $v.livenessProbe.periodSeconds }}
    timeoutSeconds: {{ $v.livenessProbe.timeoutSeconds }}
    failureThreshold: {{ $v.livenessProbe.failureThreshold }}
  {{- end }}
  {{- with $v.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- mergeOverwrite (deepCopy $root.Values.containerSecurityContext) $v.securityContext | toYaml | nindent 4 }}
  # The reason of a fatal exit is written here, for kubectl describe.
  terminationMessagePolicy: FallbackToLogsOnError
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
    {{- with $v.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
