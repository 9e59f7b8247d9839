package injector

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Where files go, as the servicebinding.io layout has it.
const (
	BindingRoot       = "/bindings"
	BindingRootEnvVar = "SERVICE_BINDING_ROOT"
)

// Binding is what projection needs to know of one ServiceBinding.
type Binding struct {
	// Name is the ServiceBinding's name.
	Name string
	// SecretName is the credentials Secret (spec.secretName).
	SecretName string
	// EnvSecretName is the Secret keyed by variable names (status.envSecretName).
	EnvSecretName string
}

// record is what a projection added, stored in AnnotationInjected so the
// next admission can remove exactly that.
type record struct {
	Volumes    []string                   `json:"volumes,omitempty"`
	Containers map[string]containerRecord `json:"containers,omitempty"`
}

type containerRecord struct {
	Mounts  []string `json:"mounts,omitempty"`
	Env     []string `json:"env,omitempty"`
	EnvFrom []string `json:"envFrom,omitempty"`
}

// ClashError lists every place the injection would overwrite what the pod's
// author wrote.
type ClashError struct{ Clashes []string }

func (e *ClashError) Error() string {
	return "the injected credentials would overwrite what the pod sets: " + strings.Join(e.Clashes, "; ") +
		". Rename or remove these, or narrow the injection with " + AnnotationContainers + " or " + AnnotationAs
}

// TargetError names a container the annotations ask for that the pod lacks.
type TargetError struct{ Missing []string }

func (e *TargetError) Error() string {
	return fmt.Sprintf("annotation %s names containers the pod does not have: %s", AnnotationContainers, strings.Join(e.Missing, ", "))
}

// VolumeName is the volume holding a binding's files; volume names are at
// most 63 characters, so long binding names are shortened with a hash.
func VolumeName(binding string) string {
	name := "binding-" + binding
	if len(name) <= 63 && !strings.Contains(name, ".") {
		return name
	}
	sum := sha256.Sum256([]byte(binding))
	short := strings.ReplaceAll(binding, ".", "-")
	if len(short) > 40 {
		short = short[:40]
	}
	return strings.TrimRight("binding-"+short, "-") + "-" + hex.EncodeToString(sum[:])[:10]
}

// Unproject removes what an earlier projection recorded, and the record.
func Unproject(pod *corev1.Pod) error {
	raw, ok := pod.Annotations[AnnotationInjected]
	if !ok {
		return nil
	}
	var rec record
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return fmt.Errorf("annotation %s is not the injector's record; remove it: %w", AnnotationInjected, err)
	}
	pod.Spec.Volumes = slices.DeleteFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return slices.Contains(rec.Volumes, v.Name) })
	for _, c := range allContainers(pod) {
		r, ok := rec.Containers[c.Name]
		if !ok {
			continue
		}
		c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return slices.Contains(r.Mounts, m.MountPath) })
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return slices.Contains(r.Env, e.Name) })
		c.EnvFrom = slices.DeleteFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
			return e.SecretRef != nil && slices.Contains(r.EnvFrom, e.SecretRef.Name)
		})
		if len(c.VolumeMounts) == 0 {
			c.VolumeMounts = nil
		}
		if len(c.Env) == 0 {
			c.Env = nil
		}
		if len(c.EnvFrom) == 0 {
			c.EnvFrom = nil
		}
	}
	if len(pod.Spec.Volumes) == 0 {
		pod.Spec.Volumes = nil
	}
	delete(pod.Annotations, AnnotationInjected)
	return nil
}

// Project adds the bindings' credentials to the pod as req asks and records
// what it added. It first removes an earlier projection, so projecting
// twice equals projecting once. bindings holds every binding req names.
func Project(pod *corev1.Pod, req Request, bindings map[string]Binding) error {
	if err := Unproject(pod); err != nil {
		return err
	}
	targets, err := targetContainers(pod, req.Containers)
	if err != nil {
		return err
	}
	rec := record{Containers: map[string]containerRecord{}}
	var clashes []string
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = true
	}
	if req.Files {
		for _, name := range req.Bindings {
			vol := VolumeName(name)
			if volumes[vol] {
				clashes = append(clashes, fmt.Sprintf("volume %q already exists", vol))
				continue
			}
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: bindings[name].SecretName},
			}})
			rec.Volumes = append(rec.Volumes, vol)
		}
	}
	for _, c := range targets {
		cr, cc := projectContainer(c, req, bindings)
		clashes = append(clashes, cc...)
		if len(cr.Mounts)+len(cr.Env)+len(cr.EnvFrom) > 0 {
			rec.Containers[c.Name] = cr
		}
	}
	if len(clashes) > 0 {
		sort.Strings(clashes)
		return &ClashError{Clashes: clashes}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationInjected] = string(raw)
	return nil
}

// projectContainer adds mounts and variables to one container and returns
// what it added and what clashed.
func projectContainer(c *corev1.Container, req Request, bindings map[string]Binding) (containerRecord, []string) {
	var rec containerRecord
	var clashes []string
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	if req.Files {
		for _, name := range req.Bindings {
			path := BindingRoot + "/" + name
			if mounts[path] {
				clashes = append(clashes, fmt.Sprintf("container %q already mounts %s", c.Name, path))
				continue
			}
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: VolumeName(name), MountPath: path, ReadOnly: true})
			rec.Mounts = append(rec.Mounts, path)
		}
		if !env[BindingRootEnvVar] {
			c.Env = append(c.Env, corev1.EnvVar{Name: BindingRootEnvVar, Value: BindingRoot})
			rec.Env = append(rec.Env, BindingRootEnvVar)
		}
	}
	if req.Env {
		for _, name := range req.Bindings {
			secret := bindings[name].EnvSecretName
			c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}})
			rec.EnvFrom = append(rec.EnvFrom, secret)
		}
	}
	for _, v := range req.Variables {
		if env[v.Name] {
			clashes = append(clashes, fmt.Sprintf("container %q already sets variable %s", c.Name, v.Name))
			continue
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: v.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: bindings[v.Binding].SecretName}, Key: v.Key,
		}}})
		rec.Env = append(rec.Env, v.Name)
	}
	return rec, clashes
}

// targetContainers are the named containers (init containers included when
// named), or every regular container. Ephemeral containers never are.
func targetContainers(pod *corev1.Pod, names []string) ([]*corev1.Container, error) {
	if len(names) == 0 {
		out := make([]*corev1.Container, len(pod.Spec.Containers))
		for i := range pod.Spec.Containers {
			out[i] = &pod.Spec.Containers[i]
		}
		return out, nil
	}
	byName := map[string]*corev1.Container{}
	for _, c := range allContainers(pod) {
		byName[c.Name] = c
	}
	var out []*corev1.Container
	var missing []string
	for _, n := range names {
		if c, ok := byName[n]; ok {
			out = append(out, c)
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, &TargetError{Missing: missing}
	}
	return out, nil
}

func allContainers(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}
