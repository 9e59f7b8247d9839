package injector

import (
	"fmt"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// appendOnlyPatch builds the JSON patch of a first injection directly.
// Projection only appends to lists and adds map keys, so the patch is a
// handful of "add" operations; diffing two whole pods would cost the
// webhook several times its decode. It returns false when injected is not
// original plus additions (a re-admission that removed an earlier
// projection), and the caller diffs instead.
func appendOnlyPatch(original, injected *corev1.Pod) ([]jsonpatch.Operation, bool) {
	var ops []jsonpatch.Operation
	ok := true
	appendList := func(path string, before, after int, item func(int) any) {
		switch {
		case after < before:
			ok = false
		case after == before:
		case before == 0:
			items := make([]any, 0, after)
			for i := range after {
				items = append(items, item(i))
			}
			ops = append(ops, jsonpatch.NewOperation("add", path, items))
		default:
			for i := before; i < after; i++ {
				ops = append(ops, jsonpatch.NewOperation("add", path+"/-", item(i)))
			}
		}
	}
	addKeys := func(path string, before, after map[string]string) {
		if len(before) == 0 && len(after) > 0 {
			ops = append(ops, jsonpatch.NewOperation("add", path, after))
			return
		}
		for k, v := range after {
			if old, had := before[k]; !had || old != v {
				ops = append(ops, jsonpatch.NewOperation("add", path+"/"+escape(k), v))
			}
		}
		for k := range before {
			if _, kept := after[k]; !kept {
				ok = false
			}
		}
	}
	if len(original.Spec.Containers) != len(injected.Spec.Containers) || len(original.Spec.InitContainers) != len(injected.Spec.InitContainers) {
		return nil, false
	}
	addKeys("/metadata/annotations", original.Annotations, injected.Annotations)
	addKeys("/metadata/labels", original.Labels, injected.Labels)
	appendList("/spec/volumes", len(original.Spec.Volumes), len(injected.Spec.Volumes), func(i int) any { return injected.Spec.Volumes[i] })
	appendList("/spec/schedulingGates", len(original.Spec.SchedulingGates), len(injected.Spec.SchedulingGates), func(i int) any { return injected.Spec.SchedulingGates[i] })
	for kind, lists := range map[string][2][]corev1.Container{
		"initContainers": {original.Spec.InitContainers, injected.Spec.InitContainers},
		"containers":     {original.Spec.Containers, injected.Spec.Containers},
	} {
		for i := range lists[1] {
			before, after := &lists[0][i], &lists[1][i]
			base := fmt.Sprintf("/spec/%s/%d", kind, i)
			appendList(base+"/volumeMounts", len(before.VolumeMounts), len(after.VolumeMounts), func(j int) any { return after.VolumeMounts[j] })
			appendList(base+"/env", len(before.Env), len(after.Env), func(j int) any { return after.Env[j] })
			appendList(base+"/envFrom", len(before.EnvFrom), len(after.EnvFrom), func(j int) any { return after.EnvFrom[j] })
		}
	}
	return ops, ok
}

// escape turns a map key into a JSON pointer segment.
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
