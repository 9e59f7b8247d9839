// Package intern makes the equal values of the objects the manager caches
// share one copy. Thousands of instances and bindings carry the same
// user, labels, finalizer, plan names and condition texts; decoded from a
// watch, each carries its own copy of them, and those copies are more than
// half of what each object costs the cache. The informers' transform
// passes each object through a Table before it is stored.
//
// Sharing is safe because nothing writes to a cached object: Get and List
// hand out deep copies, and the event handlers, predicates and indexers,
// which are given the stored object itself, only read it. Code that ever
// writes to an object it did not copy would now change every object that
// shares the value. A Table writes into the objects it is given, so it is
// for freshly decoded objects only; client-go transforms each object once,
// before it is stored.
package intern

import (
	"encoding/binary"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/servicecatalog/service-catalog/api/v1beta1"
)

// defaultLimit is about the most memory a Table holds (see added). When it
// is full the Table starts again empty: objects already stored keep what
// they share, and a tenant who fills it with values of their own costs
// the others some sharing (each value gets one copy more), and the
// manager no more than the limit.
const defaultLimit = 4 << 20

// entryCost is about what an entry costs besides its key: the table's
// slot, the string and slice headers.
const entryCost = 64

// maxLen is the longest string, or key of a list or map, that is shared;
// longer ones are rarely equal. Values are measured before any key is
// built, so a large one (a Secret with thousands of labels) costs one pass
// over it under the Table's lock, no more.
const maxLen = 1 << 10

// Table holds one copy of each value seen; it is safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	limit int // defaultLimit; tests lower it
	held  int
	strs  map[string]string
	lists map[string][]string
	maps  map[string]map[string]string
	raws  map[string][]byte
	users map[string]*v1beta1.UserInfo
	// key and keys are scratch buffers. Only the functions that build a
	// key use them (list, stringMap, user), and none of those calls
	// another while its own key is still needed.
	key  []byte
	keys []string
}

// NewTable is an empty Table.
func NewTable() *Table {
	t := &Table{limit: defaultLimit}
	t.reset()
	return t
}

func (t *Table) reset() {
	t.held = 0
	t.strs = map[string]string{}
	t.lists = map[string][]string{}
	t.maps = map[string]map[string]string{}
	t.raws = map[string][]byte{}
	t.users = map[string]*v1beta1.UserInfo{}
}

// added counts an entry of size bytes and empties the Table once it is
// full. A shared map or user costs about its key again (its strings are
// counted as strings of their own).
func (t *Table) added(size int) {
	if t.held += size + entryCost; t.held >= t.limit {
		t.reset()
	}
}

// str is the Table's copy of s.
func (t *Table) str(s string) string {
	if s == "" || len(s) > maxLen {
		return s
	}
	if c, ok := t.strs[s]; ok {
		return c
	}
	t.strs[s] = s
	t.added(len(s))
	return s
}

// strp shares the string *p points to.
func (t *Table) strp(p *string) { *p = t.str(*p) }

// list is the Table's copy of l, its items shared too.
func (t *Table) list(l []string) []string {
	if len(l) == 0 || listSize(l) > maxLen {
		return l
	}
	t.key = appendList(t.key[:0], l)
	if c, ok := t.lists[string(t.key)]; ok {
		return c
	}
	l = slices.Clip(l)
	for i := range l {
		t.strp(&l[i])
	}
	t.lists[string(t.key)] = l
	t.added(len(t.key))
	return l
}

// stringMap is the Table's copy of m, its keys and values shared too.
func (t *Table) stringMap(m map[string]string) map[string]string {
	if len(m) == 0 || mapSize(m, func(v string) int { return len(v) }) > maxLen {
		return m
	}
	t.keys = sortedKeys(t.keys[:0], m)
	t.key = binary.AppendUvarint(t.key[:0], uint64(len(m)))
	for _, k := range t.keys {
		t.key = appendString(appendString(t.key, k), m[k])
	}
	if c, ok := t.maps[string(t.key)]; ok {
		return c
	}
	shared := make(map[string]string, len(m))
	for _, k := range t.keys {
		shared[t.str(k)] = t.str(m[k])
	}
	t.maps[string(t.key)] = shared
	t.added(2 * len(t.key))
	return shared
}

// raw shares the JSON of a RawExtension (parameters, attributes).
func (t *Table) raw(r *runtime.RawExtension) {
	if r == nil || len(r.Raw) == 0 || len(r.Raw) > maxLen {
		return
	}
	if c, ok := t.raws[string(r.Raw)]; ok {
		r.Raw = c
		return
	}
	r.Raw = slices.Clip(r.Raw)
	t.raws[string(r.Raw)] = r.Raw
	t.added(len(r.Raw))
}

// user is the Table's copy of u: the user who asked is the same on many
// objects, and on the spec and status of each.
func (t *Table) user(u *v1beta1.UserInfo) *v1beta1.UserInfo {
	if u == nil || len(u.Username)+len(u.UID)+listSize(u.Groups)+mapSize(u.Extra, listSize) > maxLen {
		return u
	}
	t.key = appendString(appendString(t.key[:0], u.Username), u.UID)
	t.key = appendList(t.key, u.Groups)
	t.keys = sortedKeys(t.keys[:0], u.Extra)
	t.key = binary.AppendUvarint(t.key, uint64(len(u.Extra)))
	for _, k := range t.keys {
		t.key = appendList(appendString(t.key, k), u.Extra[k])
	}
	if c, ok := t.users[string(t.key)]; ok {
		return c
	}
	key := string(t.key)
	t.strp(&u.Username)
	t.strp(&u.UID)
	u.Groups = t.list(u.Groups)
	for k, v := range u.Extra {
		u.Extra[k] = t.list(v)
	}
	t.users[key] = u
	t.added(2 * len(key))
	return u
}

// Keys are written with each string's length before it, and each list's
// length plus one before it (0 for none: an extra value of null is not
// one of []), so that two different values never have the same key: a
// shared user or map stands for every object whose key matches. The one
// exception is harmless: no groups and an empty list of them, no extra and
// an empty map, have one key each, and are written alike (omitempty).

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendList[L ~[]string](b []byte, l L) []byte {
	if l == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(l))+1)
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// listSize and mapSize are about the bytes of a key, measured before it is
// built (each string adds at least one byte of length).
func listSize[L ~[]string](l L) int {
	n := len(l)
	for _, s := range l {
		n += len(s)
	}
	return n
}

func mapSize[V any](m map[string]V, size func(V) int) int {
	n := len(m)
	for k, v := range m {
		n += len(k) + size(v)
	}
	return n
}
