# Reads one header and the consumer's username.
package custom.team

allow if input.request.headers["x-team"] == input.consumer.username
