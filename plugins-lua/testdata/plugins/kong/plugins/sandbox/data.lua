return { inside = true }
