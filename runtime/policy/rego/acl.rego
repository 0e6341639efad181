# The acl decision Gatehouse ships, after Kong's acl plugin: with a
# (non-empty) deny list, a request whose groups meet it is refused and
# every other passes; otherwise only a request in one of the allowed
# groups passes. input.groups are the groups the plugin resolved (the
# consumer's acls, or the authenticated groups); input.config is the
# plugin instance's configuration.
package gatehouse.acl

default allow := false

allow if {
	count(list("deny")) > 0
	not member_of(list("deny"))
}

allow if {
	count(list("deny")) == 0
	member_of(list("allow"))
}

# list is a configured group list; absent or null is empty.
list(name) := l if {
	l := object.get(input.config, name, [])
	is_array(l)
} else := []

member_of(groups) if {
	some g in groups
	g in input.groups
}
