// Command tour is sdk/internal/tour compiled to Wasm for the SDK's tests.
package main

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/internal/tour"
)

func init() { sdk.Register(tour.Plugin) }

func main() {}
