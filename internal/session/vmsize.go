package session

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/suggest"
)

// VMSize is an Azure VM size a serverless compute session can run on.
type VMSize struct {
	Name     string  `json:"name"`
	VCPUs    int     `json:"vcpus"`
	MemoryGB float64 `json:"memory_gb"` // GiB, as Azure lists it
}

// DefaultVMSize is the size pfz proposes for a serverless session when the
// user names none. The compute-session guide does not fix one: when a submit
// carries no vmSize the service picks a size "based on quota, cost,
// performance and disk size". Standard_E4ds_v4 (4 vCPUs, 32 GiB) is the size
// the studio has offered by default for compute sessions; that is product
// knowledge, not something the guide states. A run submitted without
// resources.instance_type should still send no vmSize, as pfazure does.
const DefaultVMSize = "Standard_E4ds_v4"

// DefaultIdleTime is how long a session started from the command line may be
// idle before it shuts down (compute-session guide: one hour for CLI/SDK).
const DefaultIdleTime = time.Hour

// vmSizes is a catalog of the sizes commonly used for compute sessions:
// general purpose (A, D, DS), memory optimised (E), compute optimised (F)
// and GPU (NC, ND, NV). It is not every size Azure has; see LookupVMSize.
var vmSizes = []VMSize{
	{"Standard_A1_v2", 1, 2.0},
	{"Standard_A2_v2", 2, 4.0},
	{"Standard_A4_v2", 4, 8.0},
	{"Standard_A8_v2", 8, 16.0},
	{"Standard_A2m_v2", 2, 16.0},
	{"Standard_A4m_v2", 4, 32.0},
	{"Standard_A8m_v2", 8, 64.0},
	{"Standard_D1", 1, 3.5},
	{"Standard_D2", 2, 7.0},
	{"Standard_D3", 4, 14.0},
	{"Standard_D4", 8, 28.0},
	{"Standard_D11", 2, 14.0},
	{"Standard_D12", 4, 28.0},
	{"Standard_D13", 8, 56.0},
	{"Standard_D14", 16, 112.0},
	{"Standard_DS1", 1, 3.5},
	{"Standard_DS2", 2, 7.0},
	{"Standard_DS3", 4, 14.0},
	{"Standard_DS4", 8, 28.0},
	{"Standard_DS11", 2, 14.0},
	{"Standard_DS12", 4, 28.0},
	{"Standard_DS13", 8, 56.0},
	{"Standard_DS14", 16, 112.0},
	{"Standard_D1_v2", 1, 3.5},
	{"Standard_D2_v2", 2, 7.0},
	{"Standard_D3_v2", 4, 14.0},
	{"Standard_D4_v2", 8, 28.0},
	{"Standard_D5_v2", 16, 56.0},
	{"Standard_D11_v2", 2, 14.0},
	{"Standard_D12_v2", 4, 28.0},
	{"Standard_D13_v2", 8, 56.0},
	{"Standard_D14_v2", 16, 112.0},
	{"Standard_D15_v2", 20, 140.0},
	{"Standard_DS1_v2", 1, 3.5},
	{"Standard_DS2_v2", 2, 7.0},
	{"Standard_DS3_v2", 4, 14.0},
	{"Standard_DS4_v2", 8, 28.0},
	{"Standard_DS5_v2", 16, 56.0},
	{"Standard_DS11_v2", 2, 14.0},
	{"Standard_DS12_v2", 4, 28.0},
	{"Standard_DS13_v2", 8, 56.0},
	{"Standard_DS14_v2", 16, 112.0},
	{"Standard_DS15_v2", 20, 140.0},
	{"Standard_D2_v3", 2, 8.0},
	{"Standard_D4_v3", 4, 16.0},
	{"Standard_D8_v3", 8, 32.0},
	{"Standard_D16_v3", 16, 64.0},
	{"Standard_D32_v3", 32, 128.0},
	{"Standard_D48_v3", 48, 192.0},
	{"Standard_D64_v3", 64, 256.0},
	{"Standard_D2s_v3", 2, 8.0},
	{"Standard_D4s_v3", 4, 16.0},
	{"Standard_D8s_v3", 8, 32.0},
	{"Standard_D16s_v3", 16, 64.0},
	{"Standard_D32s_v3", 32, 128.0},
	{"Standard_D48s_v3", 48, 192.0},
	{"Standard_D64s_v3", 64, 256.0},
	{"Standard_E2_v3", 2, 16.0},
	{"Standard_E4_v3", 4, 32.0},
	{"Standard_E8_v3", 8, 64.0},
	{"Standard_E16_v3", 16, 128.0},
	{"Standard_E20_v3", 20, 160.0},
	{"Standard_E32_v3", 32, 256.0},
	{"Standard_E48_v3", 48, 384.0},
	{"Standard_E64_v3", 64, 432.0},
	{"Standard_E2s_v3", 2, 16.0},
	{"Standard_E4s_v3", 4, 32.0},
	{"Standard_E8s_v3", 8, 64.0},
	{"Standard_E16s_v3", 16, 128.0},
	{"Standard_E20s_v3", 20, 160.0},
	{"Standard_E32s_v3", 32, 256.0},
	{"Standard_E48s_v3", 48, 384.0},
	{"Standard_E64s_v3", 64, 432.0},
	{"Standard_D2_v4", 2, 8.0},
	{"Standard_D4_v4", 4, 16.0},
	{"Standard_D8_v4", 8, 32.0},
	{"Standard_D16_v4", 16, 64.0},
	{"Standard_D32_v4", 32, 128.0},
	{"Standard_D48_v4", 48, 192.0},
	{"Standard_D64_v4", 64, 256.0},
	{"Standard_D2d_v4", 2, 8.0},
	{"Standard_D4d_v4", 4, 16.0},
	{"Standard_D8d_v4", 8, 32.0},
	{"Standard_D16d_v4", 16, 64.0},
	{"Standard_D32d_v4", 32, 128.0},
	{"Standard_D48d_v4", 48, 192.0},
	{"Standard_D64d_v4", 64, 256.0},
	{"Standard_D2s_v4", 2, 8.0},
	{"Standard_D4s_v4", 4, 16.0},
	{"Standard_D8s_v4", 8, 32.0},
	{"Standard_D16s_v4", 16, 64.0},
	{"Standard_D32s_v4", 32, 128.0},
	{"Standard_D48s_v4", 48, 192.0},
	{"Standard_D64s_v4", 64, 256.0},
	{"Standard_D2ds_v4", 2, 8.0},
	{"Standard_D4ds_v4", 4, 16.0},
	{"Standard_D8ds_v4", 8, 32.0},
	{"Standard_D16ds_v4", 16, 64.0},
	{"Standard_D32ds_v4", 32, 128.0},
	{"Standard_D48ds_v4", 48, 192.0},
	{"Standard_D64ds_v4", 64, 256.0},
	{"Standard_E2_v4", 2, 16.0},
	{"Standard_E4_v4", 4, 32.0},
	{"Standard_E8_v4", 8, 64.0},
	{"Standard_E16_v4", 16, 128.0},
	{"Standard_E20_v4", 20, 160.0},
	{"Standard_E32_v4", 32, 256.0},
	{"Standard_E48_v4", 48, 384.0},
	{"Standard_E64_v4", 64, 504.0},
	{"Standard_E2d_v4", 2, 16.0},
	{"Standard_E4d_v4", 4, 32.0},
	{"Standard_E8d_v4", 8, 64.0},
	{"Standard_E16d_v4", 16, 128.0},
	{"Standard_E20d_v4", 20, 160.0},
	{"Standard_E32d_v4", 32, 256.0},
	{"Standard_E48d_v4", 48, 384.0},
	{"Standard_E64d_v4", 64, 504.0},
	{"Standard_E2s_v4", 2, 16.0},
	{"Standard_E4s_v4", 4, 32.0},
	{"Standard_E8s_v4", 8, 64.0},
	{"Standard_E16s_v4", 16, 128.0},
	{"Standard_E20s_v4", 20, 160.0},
	{"Standard_E32s_v4", 32, 256.0},
	{"Standard_E48s_v4", 48, 384.0},
	{"Standard_E64s_v4", 64, 504.0},
	{"Standard_E2ds_v4", 2, 16.0},
	{"Standard_E4ds_v4", 4, 32.0},
	{"Standard_E8ds_v4", 8, 64.0},
	{"Standard_E16ds_v4", 16, 128.0},
	{"Standard_E20ds_v4", 20, 160.0},
	{"Standard_E32ds_v4", 32, 256.0},
	{"Standard_E48ds_v4", 48, 384.0},
	{"Standard_E64ds_v4", 64, 504.0},
	{"Standard_E80ids_v4", 80, 504.0},
	{"Standard_D2_v5", 2, 8.0},
	{"Standard_D4_v5", 4, 16.0},
	{"Standard_D8_v5", 8, 32.0},
	{"Standard_D16_v5", 16, 64.0},
	{"Standard_D32_v5", 32, 128.0},
	{"Standard_D48_v5", 48, 192.0},
	{"Standard_D64_v5", 64, 256.0},
	{"Standard_D96_v5", 96, 384.0},
	{"Standard_D2d_v5", 2, 8.0},
	{"Standard_D4d_v5", 4, 16.0},
	{"Standard_D8d_v5", 8, 32.0},
	{"Standard_D16d_v5", 16, 64.0},
	{"Standard_D32d_v5", 32, 128.0},
	{"Standard_D48d_v5", 48, 192.0},
	{"Standard_D64d_v5", 64, 256.0},
	{"Standard_D96d_v5", 96, 384.0},
	{"Standard_D2s_v5", 2, 8.0},
	{"Standard_D4s_v5", 4, 16.0},
	{"Standard_D8s_v5", 8, 32.0},
	{"Standard_D16s_v5", 16, 64.0},
	{"Standard_D32s_v5", 32, 128.0},
	{"Standard_D48s_v5", 48, 192.0},
	{"Standard_D64s_v5", 64, 256.0},
	{"Standard_D96s_v5", 96, 384.0},
	{"Standard_D2ds_v5", 2, 8.0},
	{"Standard_D4ds_v5", 4, 16.0},
	{"Standard_D8ds_v5", 8, 32.0},
	{"Standard_D16ds_v5", 16, 64.0},
	{"Standard_D32ds_v5", 32, 128.0},
	{"Standard_D48ds_v5", 48, 192.0},
	{"Standard_D64ds_v5", 64, 256.0},
	{"Standard_D96ds_v5", 96, 384.0},
	{"Standard_E2_v5", 2, 16.0},
	{"Standard_E4_v5", 4, 32.0},
	{"Standard_E8_v5", 8, 64.0},
	{"Standard_E16_v5", 16, 128.0},
	{"Standard_E20_v5", 20, 160.0},
	{"Standard_E32_v5", 32, 256.0},
	{"Standard_E48_v5", 48, 384.0},
	{"Standard_E64_v5", 64, 512.0},
	{"Standard_E96_v5", 96, 672.0},
	{"Standard_E2d_v5", 2, 16.0},
	{"Standard_E4d_v5", 4, 32.0},
	{"Standard_E8d_v5", 8, 64.0},
	{"Standard_E16d_v5", 16, 128.0},
	{"Standard_E20d_v5", 20, 160.0},
	{"Standard_E32d_v5", 32, 256.0},
	{"Standard_E48d_v5", 48, 384.0},
	{"Standard_E64d_v5", 64, 512.0},
	{"Standard_E96d_v5", 96, 672.0},
	{"Standard_E2s_v5", 2, 16.0},
	{"Standard_E4s_v5", 4, 32.0},
	{"Standard_E8s_v5", 8, 64.0},
	{"Standard_E16s_v5", 16, 128.0},
	{"Standard_E20s_v5", 20, 160.0},
	{"Standard_E32s_v5", 32, 256.0},
	{"Standard_E48s_v5", 48, 384.0},
	{"Standard_E64s_v5", 64, 512.0},
	{"Standard_E96s_v5", 96, 672.0},
	{"Standard_E2ds_v5", 2, 16.0},
	{"Standard_E4ds_v5", 4, 32.0},
	{"Standard_E8ds_v5", 8, 64.0},
	{"Standard_E16ds_v5", 16, 128.0},
	{"Standard_E20ds_v5", 20, 160.0},
	{"Standard_E32ds_v5", 32, 256.0},
	{"Standard_E48ds_v5", 48, 384.0},
	{"Standard_E64ds_v5", 64, 512.0},
	{"Standard_E96ds_v5", 96, 672.0},
	{"Standard_E104i_v5", 104, 672.0},
	{"Standard_E104id_v5", 104, 672.0},
	{"Standard_E104is_v5", 104, 672.0},
	{"Standard_E104ids_v5", 104, 672.0},
	{"Standard_F1", 1, 2.0},
	{"Standard_F1s", 1, 2.0},
	{"Standard_F2", 2, 4.0},
	{"Standard_F2s", 2, 4.0},
	{"Standard_F4", 4, 8.0},
	{"Standard_F4s", 4, 8.0},
	{"Standard_F8", 8, 16.0},
	{"Standard_F8s", 8, 16.0},
	{"Standard_F16", 16, 32.0},
	{"Standard_F16s", 16, 32.0},
	{"Standard_F2s_v2", 2, 4.0},
	{"Standard_F4s_v2", 4, 8.0},
	{"Standard_F8s_v2", 8, 16.0},
	{"Standard_F16s_v2", 16, 32.0},
	{"Standard_F32s_v2", 32, 64.0},
	{"Standard_F48s_v2", 48, 96.0},
	{"Standard_F64s_v2", 64, 128.0},
	{"Standard_F72s_v2", 72, 144.0},
	{"Standard_NC6", 6, 56.0},
	{"Standard_NC12", 12, 112.0},
	{"Standard_NC24", 24, 224.0},
	{"Standard_NC24r", 24, 224.0},
	{"Standard_NC6s_v3", 6, 112.0},
	{"Standard_NC12s_v3", 12, 224.0},
	{"Standard_NC24s_v3", 24, 448.0},
	{"Standard_NC24rs_v3", 24, 448.0},
	{"Standard_NC4as_T4_v3", 4, 28.0},
	{"Standard_NC8as_T4_v3", 8, 56.0},
	{"Standard_NC16as_T4_v3", 16, 110.0},
	{"Standard_NC64as_T4_v3", 64, 440.0},
	{"Standard_NC24ads_A100_v4", 24, 220.0},
	{"Standard_NC48ads_A100_v4", 48, 440.0},
	{"Standard_NC96ads_A100_v4", 96, 880.0},
	{"Standard_NC40ads_H100_v5", 40, 320.0},
	{"Standard_NC80adis_H100_v5", 80, 640.0},
	{"Standard_ND40rs_v2", 40, 672.0},
	{"Standard_ND96asr_v4", 96, 900.0},
	{"Standard_ND96amsr_A100_v4", 96, 1900.0},
	{"Standard_ND96isr_H100_v5", 96, 1900.0},
	{"Standard_NV6", 6, 56.0},
	{"Standard_NV12", 12, 112.0},
	{"Standard_NV24", 24, 224.0},
	{"Standard_NV12s_v3", 12, 112.0},
	{"Standard_NV24s_v3", 24, 224.0},
	{"Standard_NV48s_v3", 48, 448.0},
	{"Standard_NV6ads_A10_v5", 6, 55.0},
	{"Standard_NV12ads_A10_v5", 12, 110.0},
	{"Standard_NV18ads_A10_v5", 18, 220.0},
	{"Standard_NV36ads_A10_v5", 36, 440.0},
	{"Standard_NV72ads_A10_v5", 72, 880.0},
}

// VMSizes returns the catalog, sorted by name (case-insensitive).
func VMSizes() []VMSize {
	out := append([]VMSize(nil), vmSizes...)
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// LookupVMSize finds a size by name, ignoring case; the "Standard_" prefix may
// be left out ("e4ds_v4"). An unknown name is a *fault.Error of kind
// Validation whose hint names the three nearest known sizes.
func LookupVMSize(name string) (VMSize, error) {
	want := strings.ToLower(strings.TrimSpace(name))
	short := strings.TrimPrefix(want, "standard_")
	for _, s := range vmSizes {
		l := strings.ToLower(s.Name)
		if l == want || l == "standard_"+short {
			return s, nil
		}
	}
	// Equally near sizes are named in alphabetical order.
	names := make([]string, 0, len(vmSizes))
	for _, s := range vmSizes {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	near := suggest.Nearest("standard_"+short, names, 3, -1)
	return VMSize{}, fault.New(fault.Validation, "unknown VM size %q", name).
		WithHint("did you mean %s, %s or %s? pfz knows %d common sizes; check the spelling, or the sizes your region and quota offer",
			near[0], near[1], near[2], len(vmSizes))
}

var vmSizeShape = regexp.MustCompile(`^(?i:standard|basic)_[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*$`)

// WellFormedVMSize reports whether name is written the way Azure writes VM
// sizes (Standard_ + series, size and version: Standard_D2als_v6). The
// catalog cannot know every size, and sizes are added all the time, so a
// well-formed name the catalog lacks is for Azure to accept or refuse.
func WellFormedVMSize(name string) bool { return vmSizeShape.MatchString(name) }

// String renders a size as "Standard_E4ds_v4 (4 vCPUs, 32 GiB)".
func (s VMSize) String() string {
	return fmt.Sprintf("%s (%d vCPUs, %g GiB)", s.Name, s.VCPUs, s.MemoryGB)
}
