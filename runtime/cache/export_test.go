package cache

// FrontSet is the front table's set of a lookup, for tests that need two
// keys in one set.
func FrontSet(field, value string) uint64 { return frontHash(field, value) & (frontSets - 1) }

// Wait waits for ristretto's buffered writes to be applied.
func (c *Cache) Wait() { c.rc.Wait() }
