package local

import (
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// vmSize is a catalog entry: it sets a local session's worker count (one
// per vCPU) and each worker's memory limit.
type vmSize struct {
	Name     string
	VCPUs    int
	MemoryGB float64
}

// TODO(local): replace with internal/session.LookupVMSize once it lands.
var stubCatalog = []vmSize{
	{"Standard_D2", 2, 7}, {"Standard_D2s_v3", 2, 8}, {"Standard_D4s_v3", 4, 16},
	{"Standard_D8s_v3", 8, 32}, {"Standard_E4s_v3", 4, 32},
}

const defaultVMSize = "Standard_D4s_v3"

func lookupVMSize(name string) (vmSize, error) {
	for _, v := range stubCatalog {
		if strings.EqualFold(v.Name, name) {
			return v, nil
		}
	}
	return vmSize{}, fault.New(fault.Usage, "unknown VM size %q", name)
}

// workers and per-worker memory (MB) for a size.
func (v vmSize) limits() (workers, memMB int) {
	workers = max(1, v.VCPUs)
	return workers, int(v.MemoryGB*1024) / workers
}
