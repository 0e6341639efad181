// Command noregister links the SDK but registers no plugin: the host
// refuses it at describe.
package main

import _ "github.com/gatehouse/gatehouse/sdk"

func main() {}
