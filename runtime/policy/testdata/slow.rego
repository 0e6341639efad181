# Counts nine million pairs: far longer than any policy_timeout.
package custom.slow

allow if count([1 |
	some i in numbers.range(1, 3000)
	some j in numbers.range(1, 3000)
]) > 0
