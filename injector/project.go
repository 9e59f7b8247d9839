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
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
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
// next admission recognises its own entries rather than clash with them.
// It names entries only; projection trusts a name only for an entry equal
// to what it adds, because anyone can write the annotation.
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

// projection is what projecting a request adds. Every targeted container
// gets the same mounts and variables.
type projection struct {
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	// root is SERVICE_BINDING_ROOT, added unless the container sets it.
	root    *corev1.EnvVar
	env     []corev1.EnvVar
	envFrom []corev1.EnvFromSource
}

func projectionOf(req Request, bindings map[string]Binding) projection {
	var p projection
	if req.Files {
		for _, name := range req.Bindings {
			vol := VolumeName(name)
			p.volumes = append(p.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: bindings[name].SecretName},
			}})
			p.mounts = append(p.mounts, corev1.VolumeMount{Name: vol, MountPath: BindingRoot + "/" + name, ReadOnly: true})
		}
		// An explicit variable of that name is what the author asked for.
		if !slices.ContainsFunc(req.Variables, func(v Variable) bool { return v.Name == BindingRootEnvVar }) {
			p.root = &corev1.EnvVar{Name: BindingRootEnvVar, Value: BindingRoot}
		}
	}
	if req.Env {
		for _, name := range req.Bindings {
			p.envFrom = append(p.envFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: bindings[name].EnvSecretName},
			}})
		}
	}
	for _, v := range req.Variables {
		p.env = append(p.env, corev1.EnvVar{Name: v.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: bindings[v.Binding].SecretName}, Key: v.Key,
		}}})
	}
	return p
}

// recordOf reads the pod's injection record; an absent one is empty. The
// record only claims entries: anyone can write the annotation, so an entry
// counts as the injector's own only when it also equals what projection
// adds (see locate).
func recordOf(pod *corev1.Pod) (record, error) {
	var rec record
	raw, ok := pod.Annotations[AnnotationInjected]
	if !ok {
		return rec, nil
	}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return rec, fmt.Errorf("annotation %s is not the injector's record; remove it: %w", AnnotationInjected, err)
	}
	return rec, nil
}

// locate looks for want's key in list. mine is the index of the injector's
// own entry (-1 when none): claimed by the record and equal to want, so a
// forged record can only claim what projection adds anyway. taken says
// another entry holds the key: the author's, never to be touched.
func locate[T any](list []T, want T, claimed bool, key func(T) string, same func(a, b T) bool) (mine int, taken bool) {
	mine = -1
	for i, e := range list {
		switch {
		case key(e) != key(want):
		case claimed && mine < 0 && same(e, want):
			mine = i
		default:
			taken = true
		}
	}
	return mine, taken
}

func volumeKey(v corev1.Volume) string     { return v.Name }
func mountKey(m corev1.VolumeMount) string { return m.MountPath }
func envKey(e corev1.EnvVar) string        { return e.Name }
func sameEntry[T any](a, b T) bool         { return equality.Semantic.DeepEqual(a, b) }
func envFromKey(e corev1.EnvFromSource) string {
	if e.SecretRef == nil {
		return ""
	}
	return e.SecretRef.Name
}

// sameVolume compares volumes as the API server stores them: it defaults a
// Secret volume's mode after every webhook, so a re-admitted pod's injected
// volume carries 0644 where projection left it unset.
func sameVolume(a, b corev1.Volume) bool {
	return equality.Semantic.DeepEqual(withDefaultMode(a), withDefaultMode(b))
}

func withDefaultMode(v corev1.Volume) corev1.Volume {
	if v.Secret != nil && v.Secret.DefaultMode == nil {
		s := *v.Secret
		s.DefaultMode = ptr.To[int32](corev1.SecretVolumeSourceDefaultMode)
		v.Secret = &s
	}
	return v
}

// without removes list's entry of want's key when it is the injector's own.
func without[T any](list []T, want T, claimed bool, key func(T) string, same func(a, b T) bool) []T {
	if mine, _ := locate(list, want, claimed, key, same); mine >= 0 {
		list = slices.Delete(list, mine, mine+1)
	}
	if len(list) == 0 {
		return nil
	}
	return list
}

// Unproject removes what projecting req added, and the record. It removes
// only entries the record claims that equal what projection adds: what
// the pod's author wrote stays, whatever the record says.
func Unproject(pod *corev1.Pod, req Request, bindings map[string]Binding) error {
	rec, err := recordOf(pod)
	if err != nil {
		return err
	}
	p := projectionOf(req, bindings)
	for _, v := range p.volumes {
		pod.Spec.Volumes = without(pod.Spec.Volumes, v, slices.Contains(rec.Volumes, v.Name), volumeKey, sameVolume)
	}
	for _, c := range allContainers(pod) {
		cr := rec.Containers[c.Name]
		for _, m := range p.mounts {
			c.VolumeMounts = without(c.VolumeMounts, m, slices.Contains(cr.Mounts, m.MountPath), mountKey, sameEntry)
		}
		for _, e := range slices.Concat(rootOf(p), p.env) {
			c.Env = without(c.Env, e, slices.Contains(cr.Env, e.Name), envKey, sameEntry)
		}
		for _, e := range p.envFrom {
			c.EnvFrom = without(c.EnvFrom, e, slices.Contains(cr.EnvFrom, envFromKey(e)), envFromKey, sameEntry)
		}
	}
	delete(pod.Annotations, AnnotationInjected)
	return nil
}

func rootOf(p projection) []corev1.EnvVar {
	if p.root == nil {
		return nil
	}
	return []corev1.EnvVar{*p.root}
}

// Project adds the bindings' credentials to the pod as req asks and records
// what the pod holds of them. It only ever appends: entries an earlier
// projection added stay where they are, so projecting twice equals
// projecting once and a re-admission moves nothing, and entries the author
// wrote are never removed or changed, even when the record names them; a
// clash with them is refused instead. bindings holds every binding req
// names.
func Project(pod *corev1.Pod, req Request, bindings map[string]Binding) error {
	claimed, err := recordOf(pod)
	if err != nil {
		return err
	}
	targets, err := targetContainers(pod, req.Containers)
	if err != nil {
		return err
	}
	p := projectionOf(req, bindings)
	rec := record{Containers: map[string]containerRecord{}}
	var clashes []string
	for _, v := range p.volumes {
		mine, taken := locate(pod.Spec.Volumes, v, slices.Contains(claimed.Volumes, v.Name), volumeKey, sameVolume)
		switch {
		case taken:
			clashes = append(clashes, fmt.Sprintf("volume %q already exists", v.Name))
		case mine < 0:
			pod.Spec.Volumes = append(pod.Spec.Volumes, v)
			fallthrough
		default:
			rec.Volumes = append(rec.Volumes, v.Name)
		}
	}
	for _, c := range targets {
		cr, cc := projectContainer(c, p, claimed.Containers[c.Name])
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

// projectContainer adds the mounts and variables to one container, keeps
// those it added before, and returns what the container holds of the
// projection and what clashed.
func projectContainer(c *corev1.Container, p projection, claimed containerRecord) (containerRecord, []string) {
	var rec containerRecord
	var clashes []string
	for _, m := range p.mounts {
		mine, taken := locate(c.VolumeMounts, m, slices.Contains(claimed.Mounts, m.MountPath), mountKey, sameEntry)
		switch {
		case taken:
			clashes = append(clashes, fmt.Sprintf("container %q already mounts %s", c.Name, m.MountPath))
		case mine < 0:
			c.VolumeMounts = append(c.VolumeMounts, m)
			fallthrough
		default:
			rec.Mounts = append(rec.Mounts, m.MountPath)
		}
	}
	if p.root != nil {
		mine, taken := locate(c.Env, *p.root, slices.Contains(claimed.Env, BindingRootEnvVar), envKey, sameEntry)
		switch {
		case taken:
			// The author sets the root: theirs wins, and nothing is removed,
			// not even an entry the record claims.
		case mine < 0:
			c.Env = append(c.Env, *p.root)
			fallthrough
		default:
			rec.Env = append(rec.Env, BindingRootEnvVar)
		}
	}
	for _, e := range p.envFrom {
		// Not a clash: a second source of the same Secret overwrites nothing.
		if mine, _ := locate(c.EnvFrom, e, slices.Contains(claimed.EnvFrom, envFromKey(e)), envFromKey, sameEntry); mine < 0 {
			c.EnvFrom = append(c.EnvFrom, e)
		}
		rec.EnvFrom = append(rec.EnvFrom, envFromKey(e))
	}
	for _, e := range p.env {
		mine, taken := locate(c.Env, e, slices.Contains(claimed.Env, e.Name), envKey, sameEntry)
		switch {
		case taken:
			clashes = append(clashes, fmt.Sprintf("container %q already sets variable %s", c.Name, e.Name))
		case mine < 0:
			c.Env = append(c.Env, e)
			fallthrough
		default:
			rec.Env = append(rec.Env, e.Name)
		}
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
