//go:build tools

// Package tools pins the Pulumi CLI main package as a dependency of this
// module so that `go mod tidy` keeps go.mod/go.sum complete for
// `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
