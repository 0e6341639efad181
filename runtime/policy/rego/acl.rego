# The acl decision Gatehouse ships, after Kong's acl plugin: with a
# non-empty deny list, a request whose groups meet it is refused and every
# other passes; otherwise only a request in one of the allowed groups
# passes. input.groups are the groups the plugin resolved (the consumer's
# acls, or the authenticated groups); input.config is the plugin
# instance's configuration, whose allow and deny are always arrays.
package gatehouse.acl

default allow := false

allow if {
	count(input.config.deny) == 0
	some g in input.config.allow
	g in input.groups
}

allow if {
	count(input.config.deny) > 0
	not denied
}

denied if {
	some g in input.config.deny
	g in input.groups
}
