package schema

import (
	"container/list"
	"crypto/sha256"
	"sync"
)

// Cache remembers checkers by schema content, so a schema is compiled and
// analysed once however often a catalog is relisted or an instance
// admitted. It holds at most its capacity, dropping the least recently used.
type Cache struct {
	mu       sync.Mutex
	capacity int
	order    *list.List
	entries  map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	key     [sha256.Size]byte
	checker *Checker
	err     error
}

// NewCache returns a cache of at most capacity schemas.
func NewCache(capacity int) *Cache {
	return &Cache{capacity: capacity, order: list.New(), entries: map[[sha256.Size]byte]*list.Element{}}
}

// Compile returns the checker of raw, made by NewChecker on first use. A
// schema that fails to compile, or is too costly, is remembered with its
// error.
func (c *Cache) Compile(raw []byte) (*Checker, error) {
	key := sha256.Sum256(raw)
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.order.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		c.mu.Unlock()
		return e.checker, e.err
	}
	c.mu.Unlock()

	compiled, err := NewChecker(raw)

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok {
		c.entries[key] = c.order.PushFront(&cacheEntry{key: key, checker: compiled, err: err})
		for c.order.Len() > c.capacity {
			oldest := c.order.Back()
			c.order.Remove(oldest)
			delete(c.entries, oldest.Value.(*cacheEntry).key)
		}
	}
	return compiled, err
}

// Len is the number of schemas held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
