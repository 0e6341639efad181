// Command bench is the hook of the round-trip benchmark written with the
// SDK: two request header reads and one upstream header write.
package main

import "github.com/gatehouse/gatehouse/sdk"

func init() {
	sdk.Register(sdk.Plugin[struct{}]{Access: func(k sdk.Kong, _ *struct{}) error {
		a := k.Request().Header("x-a")
		_ = k.Request().Header("x-b")
		k.ServiceRequest().SetHeader("x-c", a)
		return nil
	}})
}

func main() {}
