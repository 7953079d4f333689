package local

import (
	"github.com/pfz-cli/pfz/internal/session"
)

// vmSize is a catalog entry: it sets a local session's worker count (one
// per vCPU) and each worker's memory limit.
type vmSize session.VMSize

const defaultVMSize = session.DefaultVMSize

// lookupVMSize finds a size in the catalog; an unknown one is a Validation
// fault naming the nearest sizes.
func lookupVMSize(name string) (vmSize, error) {
	v, err := session.LookupVMSize(name)
	return vmSize(v), err
}

// limits are the worker count and per-worker memory (MB) of a size.
func (v vmSize) limits() (workers, memMB int) {
	workers = max(1, v.VCPUs)
	return workers, int(v.MemoryGB*1024) / workers
}
