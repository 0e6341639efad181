# Compiles, but every evaluation errors: to_number("GET") is not a number,
# and built-in errors are strict.
package custom.broken

allow if to_number(input.request.method) > 0
