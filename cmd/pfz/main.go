// Command pfz is the prompt flow CLI. Everything happens in internal/app.
package main

import (
	"os"

	"github.com/pfz-cli/pfz/internal/app"
)

func main() { os.Exit(app.Main()) }
